/* SPDX-License-Identifier: MIT */
/*
 * fake_scanner.h: emulated USB scanners for the driver's tests, under
 * umockdev (run the test with LD_PRELOAD=libumockdev-preload.so.0, as
 * umockdev-wrapper does). The real libusb talks to them: sysfs and the
 * udev uevents are umockdev's testbed, and usbdevfs ioctls on the device
 * node are answered here, in process (TEST-INFRA.md (a)).
 *
 * Unlike a plain umockdev node (a regular file: always "ready", which an
 * epoll loop refuses and a poll loop spins on), each node is a FIFO whose
 * writability follows the kernel's: writable (POLLOUT, what usbfs signals)
 * only while an URB waits to be reaped. So an idle scanner is idle here.
 */
#ifndef FAKE_SCANNER_H
#define FAKE_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_usb;
struct fake_device;

struct fake_device_desc {
	uint16_t vendor_id;
	uint16_t product_id;
	uint8_t device_class;    /* 0: per interface; 2: CDC (serial) */
	uint8_t interface_class; /* 3: HID; 2: CDC (serial mode) */
	int claim_errno;         /* claiming fails with this (EBUSY), 0: works */
	bool open_denied;        /* open() of the node fails with EACCES */
	bool hid_pos;            /* a HID POS scanner: 64-byte reports, no boot keyboard */
	/* Where it is plugged in, as sysfs names it ("1-1.4": bus 1, behind the
	 * hub at 1-1, which is plugged in too), or NULL: bus 1, port 1-<devnum>. */
	const char *port;
};

/* A testbed, or NULL when not under umockdev's preload (the test skips). */
struct fake_usb *fake_usb_new(void);
void fake_usb_free(struct fake_usb *usb);

/* Plug a scanner in (an "add" uevent). Each gets the next device number.
 * With desc.port, the hubs on its way are plugged in first (once each; no
 * ioctl handler: nothing opens a hub), as sysfs nests them. */
struct fake_device *fake_usb_plug(struct fake_usb *usb, const struct fake_device_desc *desc);

/* Unplug it: URBs in flight complete with -ESHUTDOWN, every ioctl after
 * that fails with ENODEV, and a "remove" uevent is sent. */
void fake_usb_unplug(struct fake_device *device);

/* The scanner sends one input report (queued until an URB takes it). */
void fake_usb_report(struct fake_device *device, const uint8_t *report, size_t len);

/* The scanner types `text` ('a'-'z', 'A'-'Z', '0'-'9', '-', '_', '.',
 * '\n' for Enter) as a keyboard-emulation scanner set to US does: per
 * character a key-down report (with Shift where needed), then an
 * all-keys-up report. */
void fake_usb_type(struct fake_device *device, const char *text);

/* A HID POS scanner (desc.hid_pos) reads `text` from a QR code: 64-byte
 * reports of at most 56 bytes each, the last without the more-data bit. */
void fake_usb_pos_scan(struct fake_device *device, const char *text);

/* Interrupt IN URBs submitted and not reaped; reports not taken yet. */
unsigned fake_usb_urbs_in_flight(struct fake_device *device);
unsigned fake_usb_reports_queued(struct fake_device *device);
/* Whether the interface is claimed (CLAIM or DISCONNECT_CLAIM, no RELEASE). */
bool fake_usb_claimed(struct fake_device *device);
/* "/dev/bus/usb/001/005" */
const char *fake_usb_devnode(struct fake_device *device);

#endif
