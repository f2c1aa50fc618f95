/* SPDX-License-Identifier: MIT */
/*
 * directory.c: an immutable set of people with two open-addressing indexes:
 * by PIN hash (the door's question) and by id (presence, admin).
 *
 * The PIN index holds each distinct hash once, with the people who have it
 * chained in directory order. An index with one slot per person would put
 * 400 people who share a PIN in one probe cluster, and every insert and
 * every lookup would walk it: 20,000 people sharing 50 PINs took seconds.
 * Distinct keys keep every probe sequence short, so building is linear.
 *
 * Memory: people sit in one array, their ids and names in an arena of
 * blocks (pointers into it stay valid while it grows), indexes are 32-bit.
 */
#include "directory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define NONE        UINT32_MAX
#define ARENA_BLOCK (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

struct directory {
	struct person *people;
	size_t n, n_cap;
	struct arena_block *strings;
	size_t cap;          /* slots in each index, a power of two, >= 2n */
	uint32_t *by_id;     /* person index or NONE */
	uint32_t *by_pin;    /* first person with that PIN hash, or NONE */
	uint32_t *pin_count; /* per by_pin slot: people with that hash */
	uint32_t *pin_next;  /* per person: next person with the same hash, or NONE */
	uint32_t *pin_slot;  /* per person with a PIN: its by_pin slot */
	uint32_t *by_qr;     /* person with that visitor code hash, one slot each, or NONE */
	size_t probes;
};

/* A builder is a directory without indexes yet. */
struct directory_builder {
	struct directory d;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* All 32 bytes, mixed: an HMAC is uniform, but a directory file is text an
 * admin (or a test) writes, and hashes alike in their first bytes must not
 * pile up in one cluster. */
static uint64_t pin_slot_hash(const uint8_t hash[PIN_HASH_LEN])
{
	uint64_t w[4], h;
	memcpy(w, hash, sizeof(w));
	h = w[0] ^ (w[1] << 16 | w[1] >> 48) ^ (w[2] << 32 | w[2] >> 32) ^
	    (w[3] << 48 | w[3] >> 16);
	h ^= h >> 33; /* murmur3's finaliser */
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static const char *arena_copy(struct directory *d, const char *s)
{
	size_t len = strlen(s) + 1;
	struct arena_block *b = d->strings;
	if (!b || b->cap - b->used < len) {
		size_t cap = len > ARENA_BLOCK ? len : ARENA_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		*b = (struct arena_block){.next = d->strings, .cap = cap};
		d->strings = b;
	}
	char *out = b->data + b->used;
	memcpy(out, s, len);
	b->used += len;
	return out;
}

struct directory_builder *directory_builder_new(void)
{
	return calloc(1, sizeof(struct directory_builder));
}

struct directory_builder *directory_builder_free(struct directory_builder *b)
{
	if (b)
		directory_free(&b->d);
	return NULL;
}

size_t directory_builder_size(const struct directory_builder *b)
{
	return b->d.n;
}

const struct person *directory_builder_person(const struct directory_builder *b, size_t index)
{
	return directory_person(&b->d, index);
}

int directory_builder_add(struct directory_builder *b, const struct person *p)
{
	struct directory *d = &b->d;
	if (d->n >= DIRECTORY_MAX_PEOPLE)
		return -E2BIG;
	if (d->n == d->n_cap) {
		size_t cap = d->n_cap ? 2 * d->n_cap : 64;
		struct person *people = realloc(d->people, cap * sizeof(*people));
		if (!people)
			return -ENOMEM;
		d->people = people;
		d->n_cap = cap;
	}
	struct person *q = &d->people[d->n];
	*q = *p;
	q->id = arena_copy(d, p->id);
	q->name = arena_copy(d, p->name);
	if (!q->id || !q->name)
		return -ENOMEM;
	d->n++;
	return 0;
}

/* Returns 0, or -EEXIST with the index of the person who has the id. */
static int index_id(struct directory *d, uint32_t i, uint32_t *ret_other)
{
	size_t mask = d->cap - 1;
	size_t s = fnv1a(d->people[i].id) & mask;
	for (;; s = (s + 1) & mask) {
		d->probes++;
		if (d->by_id[s] == NONE)
			break;
		if (strcmp(d->people[d->by_id[s]].id, d->people[i].id) == 0) {
			*ret_other = d->by_id[s];
			return -EEXIST;
		}
	}
	d->by_id[s] = i;
	return 0;
}

/* Building compares hashes in plain memcmp: it runs on the file, not on a
 * guess at the door. Walked from the last person to the first, so each
 * chain comes out in directory order. */
static void index_pin(struct directory *d, uint32_t i)
{
	size_t mask = d->cap - 1;
	const uint8_t *h = d->people[i].pin_hash;
	size_t s = pin_slot_hash(h) & mask;
	for (;; s = (s + 1) & mask) {
		d->probes++;
		if (d->by_pin[s] == NONE ||
		    memcmp(d->people[d->by_pin[s]].pin_hash, h, PIN_HASH_LEN) == 0)
			break;
	}
	d->pin_next[i] = d->by_pin[s];
	d->by_pin[s] = i;
	d->pin_count[s]++;
	d->pin_slot[i] = (uint32_t)s;
}

/* Visitor codes are meant to be unique: one slot per person, people with
 * the same code side by side in one probe sequence (a lookup counts them). */
static void index_qr(struct directory *d, uint32_t i)
{
	size_t mask = d->cap - 1;
	size_t s = pin_slot_hash(d->people[i].qr_hash) & mask;
	while (d->by_qr[s] != NONE) {
		d->probes++;
		s = (s + 1) & mask;
	}
	d->by_qr[s] = i;
}

static int build_indexes(struct directory *d, size_t ret_dup[2])
{
	d->cap = 16;
	while (d->cap < 2 * d->n)
		d->cap *= 2;
	d->by_id = malloc(d->cap * sizeof(uint32_t));
	d->by_pin = malloc(d->cap * sizeof(uint32_t));
	d->pin_count = calloc(d->cap, sizeof(uint32_t));
	d->pin_next = malloc((d->n ? d->n : 1) * sizeof(uint32_t));
	d->pin_slot = malloc((d->n ? d->n : 1) * sizeof(uint32_t));
	d->by_qr = malloc(d->cap * sizeof(uint32_t));
	if (!d->by_id || !d->by_pin || !d->pin_count || !d->pin_next || !d->pin_slot || !d->by_qr)
		return -ENOMEM;
	memset(d->by_id, 0xff, d->cap * sizeof(uint32_t)); /* NONE */
	memset(d->by_pin, 0xff, d->cap * sizeof(uint32_t));
	memset(d->by_qr, 0xff, d->cap * sizeof(uint32_t));
	for (uint32_t i = 0; i < d->n; i++) {
		uint32_t other;
		if (index_id(d, i, &other) < 0) {
			if (ret_dup) {
				ret_dup[0] = other;
				ret_dup[1] = i;
			}
			return -EEXIST;
		}
	}
	for (size_t i = d->n; i-- > 0;) {
		d->pin_slot[i] = NONE;
		if (d->people[i].has_pin)
			index_pin(d, (uint32_t)i);
	}
	for (uint32_t i = 0; i < d->n; i++)
		if (d->people[i].has_qr)
			index_qr(d, i);
	return 0;
}

int directory_builder_finish(struct directory_builder *b, struct directory **ret, size_t ret_dup[2])
{
	struct directory *d = &b->d;
	*ret = NULL;
	if (d->n > 0 && d->n < d->n_cap) { /* give back the growth slack */
		struct person *people = realloc(d->people, d->n * sizeof(*people));
		if (people) {
			d->people = people;
			d->n_cap = d->n;
		}
	}
	int r = build_indexes(d, ret_dup);
	if (r < 0)
		return r;
	*ret = d; /* the builder's first member: the same allocation */
	return 0;
}

struct directory *directory_new(const struct person *people, size_t n)
{
	struct directory_builder *b = directory_builder_new();
	struct directory *d;
	if (!b)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (directory_builder_add(b, &people[i]) < 0) {
			directory_builder_free(b);
			return NULL;
		}
	}
	if (directory_builder_finish(b, &d, NULL) == 0)
		return d;
	directory_builder_free(b);
	return NULL;
}

struct directory *directory_free(struct directory *d)
{
	if (!d)
		return NULL;
	if (d->people)
		OPENSSL_cleanse(d->people, d->n_cap * sizeof(*d->people));
	free(d->people);
	while (d->strings) {
		struct arena_block *next = d->strings->next;
		free(d->strings);
		d->strings = next;
	}
	free(d->by_id);
	free(d->by_pin);
	free(d->pin_count);
	free(d->pin_next);
	free(d->pin_slot);
	free(d->by_qr);
	free(d); /* also a builder: struct directory is its first member */
	return NULL;
}

size_t directory_size(const struct directory *d)
{
	return d ? d->n : 0;
}

size_t directory_probes(const struct directory *d)
{
	return d ? d->probes : 0;
}

const struct person *directory_person(const struct directory *d, size_t index)
{
	return d && index < d->n ? &d->people[index] : NULL;
}

const struct person *directory_find_id(const struct directory *d, const char *id)
{
	if (!d)
		return NULL;
	size_t mask = d->cap - 1;
	for (size_t s = fnv1a(id) & mask; d->by_id[s] != NONE; s = (s + 1) & mask)
		if (strcmp(d->people[d->by_id[s]].id, id) == 0)
			return &d->people[d->by_id[s]];
	return NULL;
}

void directory_match_pin(const struct directory *d, const uint8_t hash[PIN_HASH_LEN],
                         struct pin_match *ret)
{
	ret->n = 0;
	if (!d)
		return;
	size_t mask = d->cap - 1;
	for (size_t s = pin_slot_hash(hash) & mask; d->by_pin[s] != NONE; s = (s + 1) & mask) {
		const struct person *p = &d->people[d->by_pin[s]];
		if (CRYPTO_memcmp(p->pin_hash, hash, PIN_HASH_LEN) != 0)
			continue;
		ret->n = d->pin_count[s];
		uint32_t i = d->by_pin[s];
		for (size_t k = 0; k < PIN_MATCH_MAX && i != NONE; k++, i = d->pin_next[i])
			ret->people[k] = &d->people[i];
		return; /* each hash has one slot */
	}
}

const struct person *directory_match_qr(const struct directory *d, const uint8_t hash[PIN_HASH_LEN],
                                        size_t *ret_n)
{
	const struct person *found = NULL;
	*ret_n = 0;
	if (!d)
		return NULL;
	size_t mask = d->cap - 1;
	for (size_t s = pin_slot_hash(hash) & mask; d->by_qr[s] != NONE; s = (s + 1) & mask) {
		const struct person *p = &d->people[d->by_qr[s]];
		if (CRYPTO_memcmp(p->qr_hash, hash, PIN_HASH_LEN) != 0)
			continue;
		if (!found)
			found = p;
		(*ret_n)++;
	}
	return found;
}

size_t directory_foreach_shared_pin(const struct directory *d,
                                    void (*fn)(void *, const struct person *,
                                               const struct person *),
                                    void *userdata)
{
	size_t pairs = 0;
	for (size_t i = 0; i < directory_size(d); i++) {
		if (!d->people[i].has_pin)
			continue;
		uint32_t first = d->by_pin[d->pin_slot[i]];
		if (first == i)
			continue;
		pairs++;
		fn(userdata, &d->people[first], &d->people[i]);
	}
	return pairs;
}
