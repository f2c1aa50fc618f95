/* SPDX-License-Identifier: MIT */
/*
 * reader.h: what porter remembers about each reader (keypad entry in
 * progress, PIN-guessing lockout), created the first time a reader is seen.
 * The number of readers is bounded so a host sending garbage reader ids
 * cannot grow memory without limit.
 */
#ifndef PORTER_READER_H
#define PORTER_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lockout.h"

#define READERS_MAX       256
#define KEYPAD_MAX_DIGITS 16 /* the schema's largest pin_max_length */

struct engine;

struct keypad_entry {
	char digits[KEYPAD_MAX_DIGITS];
	size_t len;
	bool refused; /* refused as too long: keys up to '#', '*' or timeout are its own */
	uint64_t last_key_us;
	int64_t timer_id; /* inter-key timeout on the host loop, 0: none */
};

/* The last QR scan, as its keyed hash: a scanner that beeps twice. */
struct qr_last_scan {
	uint8_t hash[32];
	uint64_t at_us;
	bool seen;
};

struct reader_state {
	char id[CONFIG_ID_MAX + 1];
	const struct reader_config *config; /* refreshed on reload */
	struct lockout lockout;
	struct keypad_entry keypad;
	struct qr_last_scan qr;
	struct engine *engine;
};

struct readers;

struct readers *readers_new(void);
struct readers *readers_free(struct readers *readers);

/* True when `id` is an acceptable reader id: 1..CONFIG_ID_CHARS characters
 * of valid UTF-8 (at most CONFIG_ID_MAX bytes) without control characters
 * (C0, DEL, C1), the same rule as readers[].id in the config: any id an
 * admin can configure, a host can send. */
bool reader_id_valid(const char *id);

/* The state for reader `id` (must be valid), created on first use with its
 * config from `config`. NULL when READERS_MAX readers exist already. */
struct reader_state *readers_get(struct readers *readers, const char *id,
                                 const struct config *config, struct engine *engine);

/* Call `fn` on every reader (reload, shutdown). */
void readers_foreach(struct readers *readers,
                     void (*fn)(struct reader_state *reader, void *userdata), void *userdata);

#endif
