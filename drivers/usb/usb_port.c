/* SPDX-License-Identifier: MIT */
/* usb_port.c: USB port paths ("1-1.4"). See usb_port.h. */
#include "usb_port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One number 1 to 255 at *p, advanced past it; NULL and *why otherwise. */
static const char *number(const char *p, uint8_t *ret, const char *what, const char **why)
{
	unsigned v = 0;
	const char *start = p;
	if (*p < '0' || *p > '9') {
		*why = *p == '\0' ? "it ends where a number belongs"
		                  : "a number is missing (two separators in a row, or a "
		                    "character other than a digit, '-' or '.')";
		return NULL;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 255)
			break;
	}
	if (*start == '0' && p - start > 1) {
		*why = "a number has a leading zero (Linux writes \"1-4\", not \"1-04\")";
		return NULL;
	}
	if (v < 1 || v > 255) {
		*why = strcmp(what, "bus") == 0 ? "the bus number must be 1 to 255"
		                                : "a port number must be 1 to 255";
		return NULL;
	}
	*ret = (uint8_t)v;
	return p;
}

int usb_port_parse(const char *text, struct usb_port *ret, const char **ret_why)
{
	const char *why = NULL;
	struct usb_port port = {0};
	const char *p = text;
	if (!text || !*text) {
		why = "it is empty";
	} else if (strlen(text) > USB_PORT_TEXT_MAX) {
		why = "it is longer than a port path can be (31 characters)";
	} else if (strncmp(text, "usb", 3) == 0) {
		why = "it names a root hub (\"usbN\"), not a port: a scanner's port is like "
		      "\"1-4\"";
	} else if (strchr(text, ':')) {
		why = "it names an interface (\":1.0\"): leave out the part from ':'";
	} else if ((p = number(p, &port.bus, "bus", &why)) && *p != '-') {
		why = "the bus number is not followed by '-'";
	}
	while (!why) {
		p++; /* past '-' or '.' */
		if (port.depth == USB_PORT_DEPTH_MAX) {
			why = "it has more than 7 port numbers (USB allows 7 tiers)";
			break;
		}
		p = number(p, &port.ports[port.depth], "port", &why);
		if (!p)
			break;
		port.depth++;
		if (*p == '\0')
			break;
		if (*p != '.')
			why = "a port number is followed by something other than '.'";
	}
	if (why) {
		if (ret_why)
			*ret_why = why;
		return -EINVAL;
	}
	*ret = port;
	return 0;
}

void usb_port_format(const struct usb_port *port, char *buf, size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	if (!port->bus)
		return;
	size_t n = (size_t)snprintf(buf, size, "%u", port->bus);
	for (uint8_t i = 0; i < port->depth && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%c%u", i ? '.' : '-', port->ports[i]);
}

bool usb_port_equal(const struct usb_port *a, const struct usb_port *b)
{
	if (a->bus != b->bus || a->depth != b->depth)
		return false;
	return memcmp(a->ports, b->ports, a->depth) == 0;
}
