/* SPDX-License-Identifier: MIT */
/*
 * usb_scanner_device.c: one attached scanner. Its HID interface is claimed
 * (the kernel's usbhid let go of it by libusb's auto-detach), one interrupt
 * IN transfer waits in the kernel and is resubmitted on every completion,
 * and each report goes to the scanner's decoder. Unplugged (NO_DEVICE) or
 * let go, the transfer is cancelled and everything freed only once it has
 * come back: libusb must not close a device with a transfer in flight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "usb_scanner_private.h"

/* Transfer errors in a row (stall, babble) before porter lets a scanner
 * go: a device that keeps failing must not keep the loop busy. */
#define TRANSFER_ERRORS_MAX 8

static const struct porter_host_services *svc(const struct usb_scanner *s)
{
	return s->owner->services;
}

static void on_scan(void *userdata, const uint8_t *data, size_t len)
{
	struct usb_scanner *s = userdata;
	s->owner->scan(s->owner->userdata, s->entry.reader_id, data, len);
}

static void on_decode_error(void *userdata, const char *what)
{
	struct usb_scanner *s = userdata;
	/* `what` never holds scanned content (scan_decoder.h). */
	plog(svc(s), PORTER_LOG_NOTICE, "USB scanner %s (reader %s): input refused: %s", s->name,
	     s->entry.reader_id, what);
}

static void disarm_deadline(struct usb_scanner *s)
{
	if (s->deadline_timer > 0)
		svc(s)->timer_remove(svc(s)->host, s->deadline_timer);
	s->deadline_timer = 0;
}

static void on_deadline(void *userdata);

/* A timer only while a scan is partly read: an idle scanner arms none. */
static void arm_deadline(struct usb_scanner *s)
{
	disarm_deadline(s);
	uint64_t deadline = scan_decoder_deadline(s->decoder);
	if (!deadline)
		return;
	uint64_t now = svc(s)->now_us(svc(s)->host);
	int64_t id = svc(s)->timer_add(svc(s)->host, deadline > now ? deadline - now : 0,
	                               on_deadline, s);
	/* Without the timer the partial scan ends at the next report instead. */
	s->deadline_timer = id > 0 ? id : 0;
}

static void on_deadline(void *userdata)
{
	struct usb_scanner *s = userdata;
	s->deadline_timer = 0; /* fired: one-shot */
	scan_decoder_expire(s->decoder, svc(s)->now_us(svc(s)->host));
	arm_deadline(s);
}

static void free_scanner(struct usb_scanner *s)
{
	/* Never from a libusb callback: libusb_close() takes a lock event
	 * handling holds (usb_scanner_reap runs from a timer instead). */
	struct usb_scanner **link = &s->owner->scanners;
	while (*link && *link != s)
		link = &(*link)->next;
	if (*link)
		*link = s->next;
	disarm_deadline(s);
	if (s->claimed)
		libusb_release_interface(s->handle,
		                         s->iface.number); /* unplugged: fails, harmless */
	if (s->handle)
		libusb_close(s->handle);
	libusb_free_transfer(s->transfer);
	scan_decoder_free(s->decoder);
	libusb_unref_device(s->device);
	free(s);
}

static void on_transfer(struct libusb_transfer *t);

/* Let go of it: freed by usb_scanner_reap once no transfer is in flight. */
static void retire(struct usb_scanner *s)
{
	s->closing = true;
	disarm_deadline(s);
	scan_decoder_reset(s->decoder); /* a partial scan is not a scan */
	usb_scanners_reap_soon(s->owner);
}

static int submit(struct usb_scanner *s)
{
	libusb_fill_interrupt_transfer(s->transfer, s->handle, s->iface.endpoint, s->buffer,
	                               s->iface.max_packet, on_transfer, s, 0 /* no timeout */);
	int r = libusb_submit_transfer(s->transfer);
	s->in_flight = r == 0;
	return r;
}

static void on_transfer(struct libusb_transfer *t)
{
	struct usb_scanner *s = t->user_data;
	s->in_flight = false;
	if (s->closing) {
		retire(s);
		return;
	}
	switch (t->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		s->errors = 0;
		scan_decoder_feed(s->decoder, t->buffer, (size_t)t->actual_length,
		                  svc(s)->now_us(svc(s)->host));
		arm_deadline(s);
		break;
	case LIBUSB_TRANSFER_NO_DEVICE:
		plog(svc(s), PORTER_LOG_NOTICE, "USB scanner %s (reader %s): unplugged", s->name,
		     s->entry.reader_id);
		retire(s);
		return;
	default:
		plog(svc(s), PORTER_LOG_WARNING, "USB scanner %s (reader %s): transfer failed: %s",
		     s->name, s->entry.reader_id,
		     libusb_error_name(t->status == LIBUSB_TRANSFER_STALL ? LIBUSB_ERROR_PIPE
		                       : t->status == LIBUSB_TRANSFER_OVERFLOW
		                               ? LIBUSB_ERROR_OVERFLOW
		                               : LIBUSB_ERROR_IO));
		if (++s->errors >= TRANSFER_ERRORS_MAX) {
			plog(svc(s), PORTER_LOG_ERROR,
			     "USB scanner %s (reader %s): let go after %u failed transfers in a "
			     "row; unplug it and plug it in again",
			     s->name, s->entry.reader_id, s->errors);
			retire(s);
			return;
		}
		break;
	}
	int r = submit(s);
	if (r < 0) {
		if (r != LIBUSB_ERROR_NO_DEVICE)
			plog(svc(s), PORTER_LOG_ERROR,
			     "USB scanner %s (reader %s): cannot read it any more: %s", s->name,
			     s->entry.reader_id, libusb_error_name(r));
		else
			plog(svc(s), PORTER_LOG_NOTICE, "USB scanner %s (reader %s): unplugged",
			     s->name, s->entry.reader_id);
		retire(s);
	}
}

struct usb_scanner *usb_scanner_find(struct usb_scanners *owner, libusb_device *device)
{
	for (struct usb_scanner *s = owner->scanners; s; s = s->next) {
		if (s->device == device) /* closing too: not opened twice */
			return s;
	}
	return NULL;
}

/* Where the config names the device: which interface, and is it readable. */
static int pick_interface(struct usb_scanner *s, libusb_device *device, size_t entry)
{
	struct usb_scanners *o = s->owner;
	struct libusb_config_descriptor *cfg = NULL;
	struct libusb_device_descriptor dd;
	libusb_get_device_descriptor(device, &dd);
	int r = libusb_get_active_config_descriptor(device, &cfg);
	if (r < 0)
		r = libusb_get_config_descriptor(device, 0, &cfg);
	if (r < 0)
		return r;
	if (usb_scanner_find_interface(cfg, s->entry.interface_class, &s->iface) == 0) {
		libusb_free_config_descriptor(cfg);
		return 0;
	}
	char message[USB_TEXT_MAX], fix[USB_TEXT_MAX];
	if (usb_scanner_serial_mode(&dd, cfg)) {
		snprintf(message, sizeof(message),
		         "USB scanner %s (reader %s) is in serial port emulation mode (USB CDC "
		         "ACM): porter reads scanners that work as a USB keyboard or as a HID "
		         "POS scanner",
		         s->name, s->entry.reader_id);
		snprintf(fix, sizeof(fix),
		         "scan the \"USB HID keyboard\" (keyboard emulation) or \"HID POS\" "
		         "programming barcode from the scanner maker's manual, then unplug the "
		         "scanner and plug it in again%s",
		         o->config.devices[entry].product_id != USB_ID_ANY
		                 ? "; its product id changes with the mode, so set "
		                   "usb_scanners.devices[].product_id to the new one (or null)"
		                 : "");
		usb_scanner_problem(o, DIAG_USB_SERIAL, libusb_get_bus_number(device),
		                    libusb_get_device_address(device), entry, message, fix);
	} else {
		plog(o->services, PORTER_LOG_WARNING,
		     "USB device %s matches usb_scanners.devices[%zu] but has no interface of "
		     "class %u with an interrupt IN endpoint: not read",
		     s->name, entry, s->entry.interface_class);
	}
	libusb_free_config_descriptor(cfg);
	return LIBUSB_ERROR_NOT_SUPPORTED;
}

static int open_and_claim(struct usb_scanner *s)
{
	int r = libusb_open(s->device, &s->handle);
	if (r < 0) {
		s->handle = NULL;
		return r;
	}
	/* libusb detaches usbhid at claim and gives the interface back at
	 * release: detach-then-claim by hand would race with udev. */
	libusb_set_auto_detach_kernel_driver(s->handle, 1);
	r = libusb_claim_interface(s->handle, s->iface.number);
	if (r < 0)
		return r;
	s->claimed = true;
	return 0;
}

int usb_scanner_attach(struct usb_scanners *o, libusb_device *device, size_t entry)
{
	struct usb_scanner *s = calloc(1, sizeof(*s));
	if (!s)
		return LIBUSB_ERROR_NO_MEM;
	struct libusb_device_descriptor dd;
	libusb_get_device_descriptor(device, &dd);
	s->owner = o;
	s->device = libusb_ref_device(device);
	s->entry = o->config.devices[entry];
	/* The port in every line about it: what an admin copies into a line's
	 * "port" to tie this scanner to its reader. */
	struct usb_port port;
	char where[USB_PORT_TEXT_MAX + 1] = "";
	if (usb_scanner_device_port(device, &port) == 0)
		usb_port_format(&port, where, sizeof(where));
	snprintf(s->name, sizeof(s->name), "%04x:%04x %s%s%son bus %u device %u%s", dd.idVendor,
	         dd.idProduct, where[0] ? "at port " : "", where, where[0] ? " (" : "",
	         libusb_get_bus_number(device), libusb_get_device_address(device),
	         where[0] ? ")" : "");
	int r = pick_interface(s, device, entry);
	if (r == 0)
		r = open_and_claim(s);
	if (r == 0) {
		s->transfer = libusb_alloc_transfer(0);
		s->decoder = scan_decoder_new(&s->entry.decoder, on_scan, on_decode_error, s);
		r = s->transfer && s->decoder ? 0 : LIBUSB_ERROR_NO_MEM;
	}
	if (r == 0)
		r = submit(s);
	if (r < 0) {
		free_scanner(s); /* not linked yet: unlinks nothing */
		return r;
	}
	s->next = o->scanners;
	o->scanners = s;
	usb_scanner_forget_problems(o, libusb_get_bus_number(device),
	                            libusb_get_device_address(device));
	plog(o->services, PORTER_LOG_INFO,
	     "USB scanner %s attached: interface %u, endpoint 0x%02x, reader %s", s->name,
	     s->iface.number, s->iface.endpoint, s->entry.reader_id);
	return 0;
}

void usb_scanner_detach(struct usb_scanner *s)
{
	if (s->closing)
		return;
	retire(s);
	/* Its callback comes back CANCELLED (NOT_FOUND: completing already). */
	if (s->in_flight)
		libusb_cancel_transfer(s->transfer);
}

void usb_scanner_reap(struct usb_scanners *o)
{
	for (struct usb_scanner *s = o->scanners, *next; s; s = next) {
		next = s->next;
		if (s->closing && !s->in_flight)
			free_scanner(s);
	}
}
