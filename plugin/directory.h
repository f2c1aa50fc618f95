/* SPDX-License-Identifier: MIT */
/*
 * directory.h: the people porter knows, and the PIN index the door asks.
 *
 * A directory is built once (from the backend: the local directory file
 * today) and then only read, on the loop thread. A reload builds a new one and
 * swaps it in whole, so a half-read file never decides anything.
 */
#ifndef PORTER_DIRECTORY_H
#define PORTER_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pin_hash.h"

#define PERSON_ID_MAX        64
#define PERSON_NAME_MAX      128
#define DIRECTORY_MAX_PEOPLE 200000

enum person_kind {
	PERSON_MEMBER = 0,
	PERSON_VISITOR,
};

struct person {
	char id[PERSON_ID_MAX + 1];
	char name[PERSON_NAME_MAX + 1];
	enum person_kind kind;
	bool has_pin;
	uint8_t pin_hash[PIN_HASH_LEN];
	int64_t valid_from;  /* unix seconds; INT64_MIN: no start */
	int64_t valid_until; /* unix seconds; INT64_MAX: no end */
};

struct directory;

/* Up to this many people sharing one PIN are reported; more is still "ambiguous". */
#define PIN_MATCH_MAX 4

struct pin_match {
	size_t n; /* people whose PIN matched */
	const struct person *people[PIN_MATCH_MAX];
};

/* Build a directory owning a copy of `people`. Returns NULL on ENOMEM. */
struct directory *directory_new(const struct person *people, size_t n);
struct directory *directory_free(struct directory *directory);

size_t directory_size(const struct directory *directory);
const struct person *directory_person(const struct directory *directory, size_t index);
const struct person *directory_find_id(const struct directory *directory, const char *id);

/* Everyone whose PIN hash equals `hash`. Each candidate is compared in
 * constant time; the index is keyed by the HMAC itself, which leaks nothing
 * about the PIN without the site key. */
void directory_match_pin(const struct directory *directory, const uint8_t hash[PIN_HASH_LEN],
                         struct pin_match *ret);

/* Call `fn` once for each pair of people who share a PIN (a directory
 * problem the admin should fix). Returns the number of pairs. */
size_t directory_foreach_shared_pin(const struct directory *directory,
                                    void (*fn)(void *userdata, const struct person *a,
                                               const struct person *b),
                                    void *userdata);

#endif
