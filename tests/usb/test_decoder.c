/* SPDX-License-Identifier: MIT */
/*
 * test_decoder.c: a tiny scan_decoder.h for the USB driver's tests while
 * the real decoder (drivers/usb/scan_decoder.c) is not in the tree. Never
 * part of porter.so. Keyboard protocol, US layout, letters, digits and
 * space; Enter or Tab ends a scan; a key counts when it was not held in the
 * previous report.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scan_decoder.h"

struct scan_decoder {
	struct scan_decoder_options o;
	scan_done_fn done;
	scan_error_fn error;
	void *userdata;
	uint8_t held[6];
	uint8_t scan[SCAN_MAX_BYTES];
	size_t len;
	uint64_t deadline;
};

struct scan_decoder *scan_decoder_new(const struct scan_decoder_options *options, scan_done_fn done,
                                      scan_error_fn error, void *userdata)
{
	struct scan_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->o = *options;
	d->done = done;
	d->error = error;
	d->userdata = userdata;
	return d;
}

void scan_decoder_free(struct scan_decoder *d)
{
	free(d);
}

static void finish(struct scan_decoder *d)
{
	if (d->len)
		d->done(d->userdata, d->scan, d->len);
	d->len = 0;
	d->deadline = 0;
}

static int character(uint8_t usage, bool shift)
{
	if (usage >= 0x04 && usage <= 0x1d)
		return (shift ? 'A' : 'a') + usage - 0x04;
	if (usage >= 0x1e && usage <= 0x26)
		return '1' + usage - 0x1e;
	if (usage == 0x27)
		return '0';
	if (usage == 0x2c)
		return ' ';
	return -1;
}

void scan_decoder_feed(struct scan_decoder *d, const uint8_t *report, size_t len, uint64_t now)
{
	if (d->o.report_id && len) {
		report++;
		len--;
	}
	if (len != 8) {
		d->error(d->userdata, "report of the wrong size");
		return;
	}
	bool shift = report[0] & 0x22;
	for (int i = 2; i < 8; i++) {
		uint8_t u = report[i];
		if (!u || memchr(d->held, u, 6))
			continue;
		if (u == 0x28 || u == 0x2b) {
			finish(d);
			continue;
		}
		int c = character(u, shift);
		if (c >= 0 && d->len < SCAN_MAX_BYTES) {
			d->scan[d->len++] = (uint8_t)c;
			d->deadline = now + d->o.char_timeout_us;
		}
	}
	memcpy(d->held, report + 2, 6);
}

uint64_t scan_decoder_deadline(const struct scan_decoder *d)
{
	return d->len ? d->deadline : 0;
}

void scan_decoder_expire(struct scan_decoder *d, uint64_t now)
{
	if (d->len && now >= d->deadline)
		finish(d);
}

void scan_decoder_reset(struct scan_decoder *d)
{
	d->len = 0;
	d->deadline = 0;
	memset(d->held, 0, sizeof(d->held));
}
