/* SPDX-License-Identifier: MIT */
/*
 * usb_scanner.h: porter's own USB barcode/QR scanner driver.
 *
 * For door controllers without scanner support: porter finds scanners from
 * the config's match list, claims their HID interface and reads them with
 * libusb on the host's loop (fd watches and timers: no thread of porter's,
 * no busy loop). Each complete scan is handed to `scan` with the reader id
 * the config gives that scanner; plugin.c passes it on to the QR hook's
 * path. Scanners may be plugged and unplugged at any time.
 *
 * An idle attached scanner costs nothing: one interrupt transfer waits in
 * the kernel, no timer of porter's is armed (the decoder's deadline only
 * while a scan is partly read, the rescan only where libusb has no hotplug).
 *
 * Everything runs on the host's loop thread.
 */
#ifndef PORTER_USB_SCANNER_H
#define PORTER_USB_SCANNER_H

#include <stddef.h>
#include <stdint.h>

#include "porter.h"
#include "usb_scanner_config.h"

/* Runtime diagnostics (README "Diagnostics"). */
#define DIAG_USB_ACCESS  "PORTER-D009" /* the device node may not be opened */
#define DIAG_USB_BUSY    "PORTER-D010" /* another driver or program holds it */
#define DIAG_USB_SERIAL  "PORTER-D011" /* the scanner is in serial (CDC ACM) mode */
#define DIAG_USB_MISSING "PORTER-D012" /* no scanner for a reader is plugged in */

/* A whole scan (len 1..SCAN_MAX_BYTES) from the scanner feeding reader_id.
 * A credential: never logged. */
typedef void (*usb_scan_fn)(void *userdata, const char *reader_id, const uint8_t *data, size_t len);

struct usb_scanners;

/* Start the driver and attach every matching scanner plugged in. Needs the
 * host's fd watches. Returns 0 and *ret, or a negative errno, logged with
 * what to do (-ENOTSUP: the host has no fd watches). */
int usb_scanners_start(const struct porter_host_services *services,
                       const struct usb_scanners_config *config, usb_scan_fn scan, void *userdata,
                       struct usb_scanners **ret);

/* A new config (enabled): scanners whose match line is unchanged stay
 * attached; the others are let go and matched again. Devices porter could
 * not open are tried again. */
void usb_scanners_reload(struct usb_scanners *scanners, const struct usb_scanners_config *config);

/* Cancel every transfer and wait for each to come back, close every
 * device, remove every watch and timer. Accepts NULL; returns NULL. */
struct usb_scanners *usb_scanners_stop(struct usb_scanners *scanners);

/* The runtime diagnostics that apply now (PORTER-D009..D012), one report
 * each; returns how many (`report` may be NULL). */
int usb_scanners_diagnostics(const struct usb_scanners *scanners, porter_report_fn report,
                             void *userdata);

/* How many scanners are attached (claimed, reading). */
size_t usb_scanners_attached(const struct usb_scanners *scanners);

#endif
