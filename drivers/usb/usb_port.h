/* SPDX-License-Identifier: MIT */
/*
 * usb_port.h: a USB port path as Linux names it ("1-1.4": bus 1, port 1 of
 * the root hub, port 4 of the hub there), what sysfs, udev and `lsusb -t`
 * show. Plain code without libusb, so config.c can check what an admin
 * wrote and the driver can match and log a device's place.
 */
#ifndef PORTER_USB_PORT_H
#define PORTER_USB_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USB_PORT_DEPTH_MAX 7  /* libusb_get_port_numbers: USB's tiers below the root */
#define USB_PORT_TEXT_MAX  31 /* "255-255.255.255.255.255.255.255" */

struct usb_port {
	uint8_t bus;   /* 0: no port given (any) */
	uint8_t depth; /* how many of ports[] are used, 1 to USB_PORT_DEPTH_MAX */
	uint8_t ports[USB_PORT_DEPTH_MAX];
};

/* Parse "<bus>-<port>[.<port>...]": decimal numbers 1 to 255 without
 * leading zeros, at most USB_PORT_DEPTH_MAX ports. Returns 0 and *ret, or
 * -EINVAL and *ret_why, what is wrong (a static string). */
int usb_port_parse(const char *text, struct usb_port *ret, const char **ret_why);

/* "1-1.4" into buf (at least USB_PORT_TEXT_MAX + 1 bytes to hold any);
 * "" for a port not given. */
void usb_port_format(const struct usb_port *port, char *buf, size_t size);

/* The same place (two "any" are equal too). */
bool usb_port_equal(const struct usb_port *a, const struct usb_port *b);

#endif
