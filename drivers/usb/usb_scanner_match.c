/* SPDX-License-Identifier: MIT */
/* usb_scanner_match.c: the match list and USB-mode checks. See usb_scanner_match.h. */
#include "usb_scanner_match.h"

#include <errno.h>

/* REFERENCE.md "USB barcode / QR scanners". 0x1A86 is a generic USB bridge
 * chip, not a scanner maker: matching it would claim unrelated devices. The
 * same list is in examples/70-porter-scanner.rules. */
static const uint16_t default_vendors[] = {
        0x0C2E, /* Honeywell (Metrologic, Hand Held Products) */
        0x05E0, /* Zebra / Symbol */
        0x05F9, /* Datalogic */
        0x1EAB, /* Newland */
        0x067E, /* Intermec */
        0x27DD, /* Mindeo */
};

#define CLASS_CDC      0x02
#define CLASS_CDC_DATA 0x0A

bool usb_scanner_default_vendor(uint16_t vendor_id)
{
	for (size_t i = 0; i < sizeof(default_vendors) / sizeof(default_vendors[0]); i++) {
		if (default_vendors[i] == vendor_id)
			return true;
	}
	return false;
}

static bool vendor_matches(const struct usb_scanner_entry *e, uint16_t vendor_id)
{
	return e->vendor_id == USB_ID_ANY ? usb_scanner_default_vendor(vendor_id)
	                                  : e->vendor_id == vendor_id;
}

/* A line without a port takes a device at any port; one with a port only
 * a device known to be there. */
static bool port_matches(const struct usb_scanner_entry *e, const struct usb_port *at)
{
	return e->port.bus == 0 || (at && usb_port_equal(&e->port, at));
}

static bool ids_match(const struct usb_scanner_entry *e, uint16_t vendor_id, uint16_t product_id)
{
	return vendor_matches(e, vendor_id) &&
	       (e->product_id == USB_ID_ANY || e->product_id == product_id);
}

int usb_scanner_match_ids(const struct usb_scanners_config *config, uint16_t vendor_id,
                          uint16_t product_id, const struct usb_port *at)
{
	for (size_t i = 0; i < config->n_devices; i++) {
		const struct usb_scanner_entry *e = &config->devices[i];
		if (ids_match(e, vendor_id, product_id) && port_matches(e, at))
			return (int)i;
	}
	return -1;
}

int usb_scanner_match_ids_any_port(const struct usb_scanners_config *config, uint16_t vendor_id,
                                   uint16_t product_id)
{
	for (size_t i = 0; i < config->n_devices; i++) {
		if (ids_match(&config->devices[i], vendor_id, product_id))
			return (int)i;
	}
	return -1;
}

int usb_scanner_match_vendor(const struct usb_scanners_config *config, uint16_t vendor_id,
                             const struct usb_port *at)
{
	for (size_t i = 0; i < config->n_devices; i++) {
		if (vendor_matches(&config->devices[i], vendor_id) &&
		    port_matches(&config->devices[i], at))
			return (int)i;
	}
	return -1;
}

int usb_scanner_device_port(libusb_device *device, struct usb_port *ret)
{
	struct usb_port port = {.bus = libusb_get_bus_number(device)};
	int n = libusb_get_port_numbers(device, port.ports, USB_PORT_DEPTH_MAX);
	if (n < 0)
		return n;
	if (n == 0 || port.bus == 0)
		return LIBUSB_ERROR_NOT_FOUND; /* a root hub: no port */
	port.depth = (uint8_t)n;
	*ret = port;
	return 0;
}

int usb_scanner_find_interface(const struct libusb_config_descriptor *config,
                               uint8_t interface_class, struct usb_scanner_iface *ret)
{
	for (uint8_t i = 0; config && i < config->bNumInterfaces; i++) {
		const struct libusb_interface *itf = &config->interface[i];
		if (itf->num_altsetting < 1)
			continue;
		/* The default alternate setting: porter never switches. */
		const struct libusb_interface_descriptor *alt = &itf->altsetting[0];
		if (alt->bInterfaceClass != interface_class)
			continue;
		for (uint8_t k = 0; k < alt->bNumEndpoints; k++) {
			const struct libusb_endpoint_descriptor *ep = &alt->endpoint[k];
			if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) !=
			            LIBUSB_ENDPOINT_IN ||
			    (ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) !=
			            LIBUSB_TRANSFER_TYPE_INTERRUPT)
				continue;
			uint16_t size = ep->wMaxPacketSize & 0x7FF;
			*ret = (struct usb_scanner_iface){
			        .number = alt->bInterfaceNumber,
			        .endpoint = ep->bEndpointAddress,
			        .max_packet =
			                size && size <= SCAN_MAX_REPORT ? size : SCAN_MAX_REPORT,
			};
			return 0;
		}
	}
	return -ENOENT;
}

bool usb_scanner_serial_mode(const struct libusb_device_descriptor *device,
                             const struct libusb_config_descriptor *config)
{
	bool cdc = device->bDeviceClass == CLASS_CDC;
	for (uint8_t i = 0; config && i < config->bNumInterfaces; i++) {
		const struct libusb_interface *itf = &config->interface[i];
		for (int a = 0; a < itf->num_altsetting; a++) {
			uint8_t c = itf->altsetting[a].bInterfaceClass;
			if (c == USB_CLASS_HID)
				return false;
			cdc = cdc || c == CLASS_CDC || c == CLASS_CDC_DATA;
		}
	}
	return cdc;
}
