/* SPDX-License-Identifier: MIT */
/*
 * usb_scanner_config.h: what config "usb_scanners" says, as plain types.
 *
 * Kept apart from the driver so config.c can fill it without libusb: the
 * match list (which USB devices are scanners, and which reader each feeds)
 * and how each one's reports are decoded.
 */
#ifndef PORTER_USB_SCANNER_CONFIG_H
#define PORTER_USB_SCANNER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan_decoder.h"
#include "usb_port.h"

#define USB_SCANNERS_MAX     16   /* entries in usb_scanners.devices (plugin.json maxItems) */
#define USB_READER_ID_MAX    256  /* bytes of a reader id: 64 characters of UTF-8 */
#define USB_ID_ANY           (-1) /* vendor_id/product_id null: any */
#define USB_CLASS_HID        3
#define USB_DEFAULT_RESCAN_S 5

/* One line of the match list: a device it matches feeds `reader_id`. */
struct usb_scanner_entry {
	char reader_id[USB_READER_ID_MAX + 1];
	int32_t vendor_id;       /* USB_ID_ANY: any of the scanner makers porter knows */
	int32_t product_id;      /* USB_ID_ANY: any product */
	uint8_t interface_class; /* the interface read (3: HID) */
	struct usb_port port;    /* bus 0: at any port; else only a device there */
	struct scan_decoder_options decoder;
};

struct usb_scanners_config {
	bool enabled;
	uint32_t rescan_interval_s; /* only where libusb has no hotplug */
	size_t n_devices;
	struct usb_scanner_entry devices[USB_SCANNERS_MAX];
};

static inline bool usb_scanner_entry_equal(const struct usb_scanner_entry *a,
                                           const struct usb_scanner_entry *b)
{
	/* Field by field: the struct has padding, and reader_id bytes past the
	 * NUL are not meaningful. */
	return __builtin_strcmp(a->reader_id, b->reader_id) == 0 && a->vendor_id == b->vendor_id &&
	       a->product_id == b->product_id && a->interface_class == b->interface_class &&
	       usb_port_equal(&a->port, &b->port) && a->decoder.protocol == b->decoder.protocol &&
	       a->decoder.layout == b->decoder.layout &&
	       a->decoder.report_id == b->decoder.report_id &&
	       a->decoder.terminators == b->decoder.terminators &&
	       a->decoder.char_timeout_us == b->decoder.char_timeout_us;
}

#endif
