/* SPDX-License-Identifier: MIT */
/*
 * hid_pos.c: reads one HID POS chunk (layout in hid_pos.h). The length byte
 * comes from the device: it is checked against the report before any data
 * is read, so a damaged report cannot make porter read past it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hid_pos.h"

/* Length byte and AIM identifier before the data; code id, reserved byte and
 * flags after it. */
#define HEADER  4
#define TRAILER 3

int hid_pos_parse(const uint8_t *report, size_t len, struct hid_pos_chunk *ret, char *why,
                  size_t why_size)
{
	if (len < HEADER + TRAILER) {
		snprintf(why, why_size, "HID POS report too short (%zu bytes, at least %d)", len,
		         HEADER + TRAILER);
		return -EINVAL;
	}
	size_t room = len - HEADER - TRAILER;
	if (report[0] > room) {
		snprintf(why, why_size,
		         "HID POS chunk length %u exceeds its report (at most %zu data bytes)",
		         report[0], room);
		return -EINVAL;
	}
	ret->len = report[0];
	ret->data = report + HEADER;
	memcpy(ret->symbology, report + 1, 3);
	ret->symbology[3] = '\0';
	ret->more = report[len - 1] & 1;
	return 0;
}
