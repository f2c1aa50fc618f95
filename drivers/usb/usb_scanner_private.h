/* SPDX-License-Identifier: MIT */
/*
 * usb_scanner_private.h: the driver's state, shared by its files:
 * usb_scanner_context.c (libusb on the host loop, hotplug, rescan, the
 * lifecycle) and usb_scanner_device.c (one attached scanner's transfers).
 */
#ifndef PORTER_USB_SCANNER_PRIVATE_H
#define PORTER_USB_SCANNER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <libusb.h>

#include "scan_decoder.h"
#include "usb_scanner.h"
#include "usb_scanner_match.h"

#define USB_WATCHES_MAX  32 /* libusb's pollfds: its own two, one per open device */
#define USB_PROBLEMS_MAX 16
#define USB_PENDING_MAX  16 /* arrivals waiting to be opened */
#define USB_TEXT_MAX     512

/* One attached scanner. */
struct usb_scanner {
	struct usb_scanners *owner;
	struct usb_scanner *next;
	libusb_device *device; /* a reference, held while attached */
	libusb_device_handle *handle;
	struct libusb_transfer *transfer; /* the one interrupt IN transfer */
	struct scan_decoder *decoder;
	struct usb_scanner_entry entry; /* the match line that attached it */
	struct usb_scanner_iface iface;
	int64_t deadline_timer; /* the decoder's partial scan; 0: none */
	bool in_flight;         /* the transfer is submitted */
	bool closing;           /* let go: waiting for the transfer to come back */
	bool claimed;
	unsigned errors; /* transfer errors in a row */
	char name[80];   /* "0c2e:0b61 at port 1-1.4 (on bus 1 device 5)", for the log */
	uint8_t buffer[SCAN_MAX_REPORT];
};

/* A device porter cannot read, and what to change. */
struct usb_problem {
	const char *code; /* DIAG_USB_* */
	uint32_t severity;
	uint8_t bus, address; /* bus 0: not about one device (D012) */
	size_t entry;         /* the match line, usb_scanners.devices[entry] */
	char path[64];
	char message[USB_TEXT_MAX];
	char fix[USB_TEXT_MAX];
};

struct usb_watch {
	int fd;
	int64_t id;
};

struct usb_scanners {
	const struct porter_host_services *services;
	struct usb_scanners_config config;
	usb_scan_fn scan;
	void *userdata;
	libusb_context *ctx;
	bool hotplug;
	libusb_hotplug_callback_handle hotplug_handle;
	bool stopping;
	struct usb_watch watches[USB_WATCHES_MAX];
	size_t n_watches;
	int64_t timeout_timer;     /* libusb's next timeout, where it has no timerfd */
	int64_t rescan_timer;      /* only without hotplug */
	int64_t attach_timer;      /* arrivals to open, soon after the hotplug event */
	int64_t reap_timer;        /* scanners let go, to be freed */
	bool enumerate_after_reap; /* a reload let scanners go: match them again */
	libusb_device *pending[USB_PENDING_MAX];
	unsigned pending_tries[USB_PENDING_MAX];
	size_t n_pending;
	struct usb_scanner *scanners;
	struct usb_problem problems[USB_PROBLEMS_MAX];
	size_t n_problems;
	/* Scanners at a port no line names (bus, address): logged once each,
	 * until a reload. */
	struct {
		uint8_t bus, address;
	} elsewhere[USB_PROBLEMS_MAX];
	size_t n_elsewhere;
};

/* usb_scanner_device.c */

/* Open, claim and start reading `device` for entry `entry` of the config.
 * Returns 0, or a libusb error (LIBUSB_ERROR_*): the caller says what it
 * means (usb_scanner_problem). */
int usb_scanner_attach(struct usb_scanners *owner, libusb_device *device, size_t entry);

/* Let the scanner go: the partial scan is dropped, the transfer cancelled;
 * it is freed by usb_scanner_reap once the transfer has come back. */
void usb_scanner_detach(struct usb_scanner *scanner);

/* Free the scanners let go whose transfer is back. Never from inside
 * libusb's event handling (its callbacks): libusb_close() would deadlock. */
void usb_scanner_reap(struct usb_scanners *owner);

struct usb_scanner *usb_scanner_find(struct usb_scanners *owner, libusb_device *device);

/* usb_scanner_context.c */

/* Record (and log) why the device on bus/address cannot be read. */
void usb_scanner_problem(struct usb_scanners *owner, const char *code, uint8_t bus, uint8_t address,
                         size_t entry, const char *message, const char *fix);
void usb_scanner_forget_problems(struct usb_scanners *owner, uint8_t bus, uint8_t address);
/* Run usb_scanner_reap from a zero-delay timer, outside event handling. */
void usb_scanners_reap_soon(struct usb_scanners *owner);

#endif
