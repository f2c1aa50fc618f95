/* SPDX-License-Identifier: MIT */
/*
 * fuzz_scan_decoder.c: libFuzzer target for the scanner report decoder
 * (drivers/usb/scan_decoder.c): whatever a USB device sends, in whatever
 * order and timing, with every option.
 *
 * Input: byte 0 chooses the options: bit 0 protocol (keyboard, HID POS),
 * bits 1-2 layout, bit 3 report id, bits 4-5 terminators (0: Enter and
 * Tab), bits 6-7 the timeout (default, 1 ms, 50 ms, the maximum). Then
 * records, each starting with a byte c:
 *   0xF0  the driver's timer fires now;  0xF1  it fires at the deadline;
 *   0xF2  the device is unplugged (reset); 0xF3  a second passes;
 *   other c: a report of c % 66 bytes (65 is one too long) after a pause of
 *   (next byte) x 256 us, its bytes following (fewer if the input ends).
 *
 * The decoder must stay inside every report, pass on scans of 1 to
 * SCAN_MAX_BYTES bytes, name errors from its own fixed vocabulary (never
 * the scanned bytes), and keep its deadline promise: after any call at
 * `now`, no deadline, or one still ahead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t sink;

static void on_done(void *userdata, const uint8_t *scan, size_t len)
{
	(void)userdata;
	if (len < 1 || len > SCAN_MAX_BYTES)
		abort();
	for (size_t i = 0; i < len; i++) /* every byte readable (ASan) */
		sink ^= scan[i];
}

/* Every error the decoder may give starts with one of these. */
static const char *const known[] = {
        "report too long (",           "report id ",
        "keyboard report too short (", "HID POS report too short (",
        "HID POS chunk length ",       "HID POS scan incomplete: ",
        "HID POS scan refused: ",      "scan too long",
        "Alt+keypad code over 255",
};

static void on_error(void *userdata, const char *what)
{
	(void)userdata;
	size_t len = strlen(what);
	if (len == 0 || len > 120)
		abort();
	for (size_t i = 0; i < len; i++) /* no scanned byte leaks in */
		if (what[i] < 0x20 || what[i] > 0x7E)
			abort();
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strncmp(what, known[i], strlen(known[i])))
			return;
	abort();
}

static void check_deadline(const struct scan_decoder *d, uint64_t now)
{
	uint64_t deadline = scan_decoder_deadline(d);
	if (deadline != 0 && deadline <= now)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t timeouts[] = {0, 1000, 50000, SCAN_CHAR_TIMEOUT_MAX_US};
	if (size < 1)
		return 0;
	struct scan_decoder_options options = {
	        .protocol = (data[0] & 1) ? SCAN_PROTOCOL_HID_POS : SCAN_PROTOCOL_KEYBOARD,
	        .layout = (enum scan_layout)((data[0] >> 1) & 3),
	        .report_id = (data[0] >> 3) & 1,
	        .terminators = (data[0] >> 4) & 3,
	        .char_timeout_us = timeouts[data[0] >> 6],
	};
	struct scan_decoder *d = scan_decoder_new(&options, on_done, on_error, NULL);
	if (!d)
		abort();
	uint64_t now = 1000000;
	size_t i = 1;
	while (i < size) {
		uint8_t c = data[i++];
		if (c == 0xF0) {
			scan_decoder_expire(d, now);
		} else if (c == 0xF1) {
			uint64_t deadline = scan_decoder_deadline(d);
			if (deadline) {
				now = deadline;
				scan_decoder_expire(d, now);
				check_deadline(d, now);
			}
		} else if (c == 0xF2) {
			scan_decoder_reset(d);
			if (scan_decoder_deadline(d) != 0)
				abort();
		} else if (c == 0xF3) {
			now += 1000000; /* no call: the deadline may pass unnoticed */
			continue;
		} else {
			size_t len = c % (SCAN_MAX_REPORT + 2);
			if (i < size)
				now += (uint64_t)data[i++] * 256;
			if (len > size - i)
				len = size - i;
			/* An exact copy: ASan sees a read past the report's end. */
			uint8_t *report = malloc(len ? len : 1);
			if (!report)
				abort();
			memcpy(report, data + i, len);
			i += len;
			scan_decoder_feed(d, report, len, now);
			free(report);
		}
		check_deadline(d, now);
	}
	scan_decoder_free(d);
	return 0;
}
