/* SPDX-License-Identifier: MIT */
/* presence.c: an open-addressing map of person id -> presence_entry. */
#include "presence.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct presence {
	struct presence_entry **slots;
	size_t cap; /* power of two */
	size_t n;
	/* Entries come from slabs: a person's first presentation must not pay
	 * a first-touch page fault in the hook, and entries never move. */
	struct pool entries;
};

static uint64_t id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

struct presence *presence_new(void)
{
	struct presence *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cap = 64;
	pool_init(&p->entries, sizeof(struct presence_entry), 256);
	p->slots = calloc(p->cap, sizeof(*p->slots));
	if (!p->slots)
		return presence_free(p);
	return p;
}

struct presence *presence_free(struct presence *p)
{
	if (!p)
		return NULL;
	pool_release(&p->entries);
	free(p->slots);
	free(p);
	return NULL;
}

static size_t find_slot(struct presence_entry **slots, size_t cap, const char *id)
{
	size_t i = id_hash(id) & (cap - 1);
	while (slots[i] && strcmp(slots[i]->person_id, id) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct presence *p)
{
	size_t cap = p->cap * 2;
	struct presence_entry **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < p->cap; i++)
		if (p->slots[i])
			slots[find_slot(slots, cap, p->slots[i]->person_id)] = p->slots[i];
	free(p->slots);
	p->slots = slots;
	p->cap = cap;
	return 0;
}

struct presence_entry *presence_get(struct presence *p, const char *person_id, bool create)
{
	size_t i = find_slot(p->slots, p->cap, person_id);
	if (p->slots[i] || !create)
		return p->slots[i];
	if (strlen(person_id) > PERSON_ID_MAX)
		return NULL;
	if (2 * (p->n + 1) > p->cap) {
		if (grow(p) < 0)
			return NULL;
		i = find_slot(p->slots, p->cap, person_id);
	}
	struct presence_entry *e = pool_get(&p->entries);
	if (!e)
		return NULL;
	strcpy(e->person_id, person_id);
	p->slots[i] = e;
	p->n++;
	return e;
}

void presence_foreach(struct presence *p, void (*fn)(void *, struct presence_entry *),
                      void *userdata)
{
	for (size_t i = 0; i < p->cap; i++)
		if (p->slots[i])
			fn(userdata, p->slots[i]);
}

size_t presence_count_in(const struct presence *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->cap; i++)
		n += p->slots[i] && p->slots[i]->in;
	return n;
}
