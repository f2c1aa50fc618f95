/* SPDX-License-Identifier: MIT */
/*
 * directory.c: an immutable set of people with two open-addressing indexes:
 * by PIN hash (the door's question) and by id (presence, admin).
 */
#include "directory.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define EMPTY SIZE_MAX

struct directory {
	struct person *people;
	size_t n;
	size_t cap;     /* slots in each index, a power of two, >= 2n */
	size_t *by_pin; /* person index or EMPTY */
	size_t *by_id;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static uint64_t pin_slot_hash(const uint8_t hash[PIN_HASH_LEN])
{
	uint64_t h; /* the HMAC is already uniformly distributed */
	memcpy(&h, hash, sizeof(h));
	return h;
}

static void index_insert(size_t *slots, size_t cap, uint64_t h, size_t value)
{
	size_t i = h & (cap - 1);
	while (slots[i] != EMPTY)
		i = (i + 1) & (cap - 1);
	slots[i] = value;
}

struct directory *directory_new(const struct person *people, size_t n)
{
	struct directory *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cap = 16;
	while (d->cap < 2 * n)
		d->cap *= 2;
	d->people = calloc(n ? n : 1, sizeof(*people));
	d->by_pin = malloc(d->cap * sizeof(size_t));
	d->by_id = malloc(d->cap * sizeof(size_t));
	if (!d->people || !d->by_pin || !d->by_id)
		return directory_free(d);
	memcpy(d->people, people, n * sizeof(*people));
	d->n = n;
	memset(d->by_pin, 0xff, d->cap * sizeof(size_t)); /* EMPTY */
	memset(d->by_id, 0xff, d->cap * sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		if (people[i].has_pin)
			index_insert(d->by_pin, d->cap, pin_slot_hash(people[i].pin_hash), i);
		index_insert(d->by_id, d->cap, fnv1a(people[i].id), i);
	}
	return d;
}

struct directory *directory_free(struct directory *d)
{
	if (!d)
		return NULL;
	if (d->people)
		OPENSSL_cleanse(d->people, d->n * sizeof(*d->people));
	free(d->people);
	free(d->by_pin);
	free(d->by_id);
	free(d);
	return NULL;
}

size_t directory_size(const struct directory *d)
{
	return d ? d->n : 0;
}

const struct person *directory_person(const struct directory *d, size_t index)
{
	return index < d->n ? &d->people[index] : NULL;
}

const struct person *directory_find_id(const struct directory *d, const char *id)
{
	if (!d)
		return NULL;
	for (size_t i = fnv1a(id) & (d->cap - 1); d->by_id[i] != EMPTY; i = (i + 1) & (d->cap - 1))
		if (strcmp(d->people[d->by_id[i]].id, id) == 0)
			return &d->people[d->by_id[i]];
	return NULL;
}

void directory_match_pin(const struct directory *d, const uint8_t hash[PIN_HASH_LEN],
                         struct pin_match *ret)
{
	ret->n = 0;
	if (!d)
		return;
	for (size_t i = pin_slot_hash(hash) & (d->cap - 1); d->by_pin[i] != EMPTY;
	     i = (i + 1) & (d->cap - 1)) {
		const struct person *p = &d->people[d->by_pin[i]];
		if (CRYPTO_memcmp(p->pin_hash, hash, PIN_HASH_LEN) != 0)
			continue;
		if (ret->n < PIN_MATCH_MAX)
			ret->people[ret->n] = p;
		ret->n++;
	}
}

size_t directory_foreach_shared_pin(const struct directory *d,
                                    void (*fn)(void *, const struct person *,
                                               const struct person *),
                                    void *userdata)
{
	size_t pairs = 0;
	for (size_t i = 0; i < directory_size(d); i++) {
		const struct person *p = &d->people[i];
		struct pin_match m;
		if (!p->has_pin)
			continue;
		directory_match_pin(d, p->pin_hash, &m);
		for (size_t k = 0; k < m.n && k < PIN_MATCH_MAX; k++) {
			if (m.people[k] <= p)
				continue; /* each pair once */
			pairs++;
			fn(userdata, p, m.people[k]);
		}
	}
	return pairs;
}
