/* SPDX-License-Identifier: MIT */
/*
 * usb_scanner_match.h: which USB devices are scanners porter reads, and
 * what to tell the admin when one cannot be read.
 *
 * Pure functions over descriptors libusb already holds (no I/O), so they
 * run anywhere, the hotplug path included.
 */
#ifndef PORTER_USB_SCANNER_MATCH_H
#define PORTER_USB_SCANNER_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libusb.h>

#include "usb_scanner_config.h"

/* The interface porter reads on a matched device. */
struct usb_scanner_iface {
	uint8_t number;
	uint8_t endpoint;    /* interrupt IN endpoint address */
	uint16_t max_packet; /* its wMaxPacketSize, at most SCAN_MAX_REPORT */
};

/* True for the vendor ids of the scanner makers porter matches by default
 * (Honeywell, Zebra/Symbol, Datalogic, Newland, Intermec, Mindeo). */
bool usb_scanner_default_vendor(uint16_t vendor_id);

/* The first entry of `config` whose vendor and product ids match, and
 * whose port (if it names one) is `at`, or -1. `at` NULL: the device's
 * port is not known, so only entries without a port match. */
int usb_scanner_match_ids(const struct usb_scanners_config *config, uint16_t vendor_id,
                          uint16_t product_id, const struct usb_port *at);

/* The first entry whose vendor and product ids match, whatever port it
 * names, or -1: a scanner that would be a line's but for its port. */
int usb_scanner_match_ids_any_port(const struct usb_scanners_config *config, uint16_t vendor_id,
                                   uint16_t product_id);

/* The first entry whose vendor id (and port, as above) matches, whatever
 * the product id (a scanner switched to another USB mode changes its
 * product id), or -1. */
int usb_scanner_match_vendor(const struct usb_scanners_config *config, uint16_t vendor_id,
                             const struct usb_port *at);

/* Where `device` is plugged in (libusb_get_bus_number and
 * libusb_get_port_numbers): 0 and *ret, or a libusb error (a root hub, or
 * a backend that does not know). */
int usb_scanner_device_port(libusb_device *device, struct usb_port *ret);

/* The first interface of class `interface_class` with an interrupt IN
 * endpoint: 0 and *ret, or -ENOENT. */
int usb_scanner_find_interface(const struct libusb_config_descriptor *config,
                               uint8_t interface_class, struct usb_scanner_iface *ret);

/* True when the device is a serial port (CDC ACM: class 0x02 or 0x0A at the
 * device or an interface) and has no HID interface: a scanner in a USB mode
 * porter cannot read. */
bool usb_scanner_serial_mode(const struct libusb_device_descriptor *device,
                             const struct libusb_config_descriptor *config);

#endif
