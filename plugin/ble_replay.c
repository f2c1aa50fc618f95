/* SPDX-License-Identifier: MIT */
/* ble_replay.c: the last used counter per member. See ble_replay.h. */
#include "ble_replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"

struct used {
	char person_id[PERSON_ID_MAX + 1];
	uint64_t counter;
};

/* A flat array: it holds the members of the last minute or so, scanned in
 * nanoseconds, and only when a phone is already next to a reader. */
struct ble_replay {
	struct used *used;
	size_t n, capacity;
};

struct ble_replay *ble_replay_new(size_t capacity)
{
	struct ble_replay *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->capacity = capacity ? capacity : 1;
	r->used = calloc(r->capacity, sizeof(*r->used));
	if (!r->used)
		return ble_replay_free(r);
	return r;
}

struct ble_replay *ble_replay_free(struct ble_replay *r)
{
	if (!r)
		return NULL;
	free(r->used);
	free(r);
	return NULL;
}

size_t ble_replay_size(const struct ble_replay *r)
{
	return r->n;
}

static struct used *find(const struct ble_replay *r, const char *person_id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->used[i].person_id, person_id) == 0)
			return &r->used[i];
	return NULL;
}

bool ble_replay_used(const struct ble_replay *r, const char *person_id, uint64_t counter)
{
	const struct used *u = find(r, person_id);
	return u && counter <= u->counter;
}

int ble_replay_use(struct ble_replay *r, const char *person_id, uint64_t counter,
                   uint64_t oldest_live)
{
	if (strlen(person_id) > PERSON_ID_MAX)
		return -EINVAL;
	struct used *u = find(r, person_id);
	if (u) {
		if (counter > u->counter)
			u->counter = counter;
		return 0;
	}
	if (r->n == r->capacity) {
		size_t kept = 0;
		for (size_t i = 0; i < r->n; i++)
			if (r->used[i].counter >= oldest_live)
				r->used[kept++] = r->used[i];
		r->n = kept;
	}
	if (r->n == r->capacity)
		return -ENOSPC;
	u = &r->used[r->n++];
	strcpy(u->person_id, person_id);
	u->counter = counter;
	return 0;
}
