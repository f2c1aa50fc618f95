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
/* A BLE key sealed under the site key (ble_keys.h): nonce, key, tag. */
#define PERSON_BLE_SEALED_LEN 60

enum person_kind {
	PERSON_MEMBER = 0,
	PERSON_VISITOR,
};

/* One person. The strings belong to the directory (packed in one arena, not
 * fixed arrays per person: most ids and names are a fraction of their
 * maximum, and a directory of 10,000 must fit in a few MiB). */
struct person {
	const char *id;      /* 1..PERSON_ID_MAX printable ASCII bytes */
	const char *name;    /* 1..PERSON_NAME_MAX bytes of UTF-8 */
	int64_t valid_from;  /* unix seconds; INT64_MIN: no start */
	int64_t valid_until; /* unix seconds; INT64_MAX: no end */
	uint8_t pin_hash[PIN_HASH_LEN];
	enum person_kind kind;
	bool has_pin;
	/* A visitor code (the code in a registration e-mail, scanned as a QR
	 * code): HMAC-SHA256(site key, "qr:" + code), see qr_credential.h. */
	uint8_t qr_hash[PIN_HASH_LEN];
	bool has_qr;
	bool has_ble_key;
	uint8_t ble_key_sealed[PERSON_BLE_SEALED_LEN];
};

struct directory;

/* Up to this many people sharing one PIN are reported; more is still "ambiguous". */
#define PIN_MATCH_MAX 4

struct pin_match {
	size_t n; /* people whose PIN matched */
	const struct person *people[PIN_MATCH_MAX];
};

/* Build a directory owning a copy of `people` and their strings. Returns
 * NULL on ENOMEM or when two people share an id. */
struct directory *directory_new(const struct person *people, size_t n);
struct directory *directory_free(struct directory *directory);

/* Building one person at a time, for a loader that streams its input. */
struct directory_builder;
struct directory_builder *directory_builder_new(void);
struct directory_builder *directory_builder_free(struct directory_builder *builder);
/* Copies `p` and its strings. Returns 0, -ENOMEM, or -E2BIG past
 * DIRECTORY_MAX_PEOPLE. */
int directory_builder_add(struct directory_builder *builder, const struct person *p);
size_t directory_builder_size(const struct directory_builder *builder);
const struct person *directory_builder_person(const struct directory_builder *builder,
                                              size_t index);
/* Builds the indexes. On 0 the builder has become *ret (do not free it).
 * Otherwise it stays the caller's: -ENOMEM, or -EEXIST when two people share
 * an id (ret_dup[0] < ret_dup[1] are their positions; ret_dup may be NULL). */
int directory_builder_finish(struct directory_builder *builder, struct directory **ret,
                             size_t ret_dup[2]);

size_t directory_size(const struct directory *directory);
const struct person *directory_person(const struct directory *directory, size_t index);
const struct person *directory_find_id(const struct directory *directory, const char *id);

/* Everyone whose PIN hash equals `hash`. Each candidate is compared in
 * constant time; the index is keyed by the HMAC itself, which leaks nothing
 * about the PIN without the site key. */
void directory_match_pin(const struct directory *directory, const uint8_t hash[PIN_HASH_LEN],
                         struct pin_match *ret);

/* The person whose visitor code hashes to `hash` (constant-time compare),
 * or NULL; *ret_n is how many people have it (more than 1: ambiguous). */
const struct person *directory_match_qr(const struct directory *directory,
                                        const uint8_t hash[PIN_HASH_LEN], size_t *ret_n);

/* People who share a PIN (a directory problem the admin should fix): `fn`
 * is called once for every person whose PIN an earlier person in the
 * directory also has, as fn(first holder, this person), in directory order.
 * So k people with one PIN give k - 1 calls, not k * (k - 1) / 2: the
 * report stays as long as the directory. Returns the number of calls. */
size_t directory_foreach_shared_pin(const struct directory *directory,
                                    void (*fn)(void *userdata, const struct person *a,
                                               const struct person *b),
                                    void *userdata);

/* Slots examined in the indexes while building them: linear in the number
 * of people, whatever the PINs (a test holds it to that). */
size_t directory_probes(const struct directory *directory);

#endif
