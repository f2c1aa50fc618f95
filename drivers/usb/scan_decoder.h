/* SPDX-License-Identifier: MIT */
/*
 * scan_decoder.h: a scanner's HID input reports in, whole scans out.
 *
 * One decoder per attached scanner. It is fed every input report the scanner
 * sends and calls `done` once per complete scan: on Enter or Tab (as
 * configured), or when no new character arrived for `char_timeout_us`.
 * Keyboard-emulation scanners send boot keyboard reports that must be
 * decoded with the scanner's keyboard layout; HID POS scanners (usage page
 * 0x8C) send the scanned bytes in chunks and need no layout.
 *
 * Pure code: no I/O, no clock of its own (the caller passes now_us), no
 * timer. The driver arms a timer only while scan_decoder_deadline() says a
 * scan is partly read, so an idle scanner costs nothing.
 *
 * A scan is a credential: neither callback ever passes its content to a log.
 */
#ifndef PORTER_SCAN_DECODER_H
#define PORTER_SCAN_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest scan passed on; a QR code holds at most 2953 bytes. Longer
 * input is refused whole (error "scan too long"), up to its terminator. */
#define SCAN_MAX_BYTES 4096
/* The longest input report accepted; longer ones are refused ("report too long"). */
#define SCAN_MAX_REPORT 64

enum scan_protocol {
	SCAN_PROTOCOL_KEYBOARD = 0, /* boot keyboard reports (keyboard emulation) */
	SCAN_PROTOCOL_HID_POS,      /* HID POS barcode scanner, usage page 0x8C */
};

enum scan_layout {
	SCAN_LAYOUT_US = 0,
	SCAN_LAYOUT_UK,
	SCAN_LAYOUT_DE,
	SCAN_LAYOUT_FR,
};

/* Which keys end a scan (keyboard protocol); a bit set. */
#define SCAN_END_ENTER 0x1u
#define SCAN_END_TAB   0x2u

struct scan_decoder_options {
	enum scan_protocol protocol;
	enum scan_layout layout;   /* keyboard protocol only */
	bool report_id;            /* every report starts with a report id byte */
	unsigned terminators;      /* SCAN_END_*; 0 means Enter and Tab */
	uint64_t char_timeout_us;  /* a partial scan ends after this much silence */
};

/* A complete scan: `len` bytes (1..SCAN_MAX_BYTES), not NUL-terminated. */
typedef void (*scan_done_fn)(void *userdata, const uint8_t *data, size_t len);
/* Input that was refused, with what was wrong ("report too long", "scan too
 * long", "report id 3 unexpected", ...). Never contains scanned content. */
typedef void (*scan_error_fn)(void *userdata, const char *what);

struct scan_decoder;

/* NULL on ENOMEM or an option out of range (errno EINVAL). */
struct scan_decoder *scan_decoder_new(const struct scan_decoder_options *options,
                                      scan_done_fn done, scan_error_fn error, void *userdata);
void scan_decoder_free(struct scan_decoder *decoder);

/* One input report as read from the interrupt endpoint, at now_us
 * (monotonic). May call `done` and `error`, each any number of times. */
void scan_decoder_feed(struct scan_decoder *decoder, const uint8_t *report, size_t len,
                       uint64_t now_us);

/* When the partial scan times out (monotonic µs), or 0 when no scan is
 * partly read: the driver's timer is armed only when this is not 0. */
uint64_t scan_decoder_deadline(const struct scan_decoder *decoder);

/* The timer fired: ends the partial scan (calling `done`) if its deadline
 * has passed at now_us; otherwise does nothing. */
void scan_decoder_expire(struct scan_decoder *decoder, uint64_t now_us);

/* The device went away: a partial scan is dropped, keys are all up. */
void scan_decoder_reset(struct scan_decoder *decoder);

/* Added by the decoder (drivers/usb/scan_decoder.c says how reports are read):
 * char_timeout_us 0 means this default; more than SCAN_CHAR_TIMEOUT_MAX_US
 * is out of range. */
#define SCAN_CHAR_TIMEOUT_DEFAULT_US 200000u
#define SCAN_CHAR_TIMEOUT_MAX_US     60000000u
/* With report_id, the ids accepted: a keyboard's input report, a HID POS
 * scanner's scanned-data report; any other id is refused ("report id N
 * unexpected"). */
#define SCAN_KEYBOARD_REPORT_ID 0x01
#define SCAN_HID_POS_REPORT_ID  0x02

/* A layout's config name ("us", "uk", "de", "fr") to its value: 0, or
 * -EINVAL for any other name. */
int scan_layout_from_name(const char *name, enum scan_layout *ret);

#endif
