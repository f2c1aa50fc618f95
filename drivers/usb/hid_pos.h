/* SPDX-License-Identifier: MIT */
/*
 * hid_pos.h: one input report of a HID POS barcode scanner (usage page 0x8C,
 * usage 0x02), in the chunked format Honeywell's scanners send.
 *
 * After the report id (0x02, when the device numbers its reports):
 *   [0]      how many data bytes this chunk carries
 *   [1..3]   the AIM symbology identifier (e.g. "]Q1" for QR Code)
 *   [4..]    the data
 *   ...      zero padding
 *   [n-3]    Honeywell's own code id
 *   [n-2]    reserved
 *   [n-1]    flags: bit 0 set when more reports follow for the same scan
 * In a 64-byte report a chunk carries at most 56 bytes; a longer code comes
 * as several chunks, each but the last with the more-data bit.
 */
#ifndef PORTER_HID_POS_H
#define PORTER_HID_POS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hid_pos_chunk {
	const uint8_t *data; /* into the report */
	size_t len;
	char symbology[4]; /* the AIM identifier, NUL-terminated */
	bool more;         /* another chunk of the same scan follows */
};

/* Reads one report (without its report id). 0, or -EINVAL with what was
 * wrong (never the data) in `why`. */
int hid_pos_parse(const uint8_t *report, size_t len, struct hid_pos_chunk *ret, char *why,
                  size_t why_size);

#endif
