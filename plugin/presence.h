/* SPDX-License-Identifier: MIT */
/*
 * presence.h: who is in, in memory, so a toggle is decided without I/O.
 *
 * Loaded from the durable store at start, updated when a change is queued
 * (optimistically, so the next presentation toggles correctly) and put back
 * if the change could not be recorded. Keyed by person id, so it survives a
 * directory reload. Entries never move once created.
 */
#ifndef PORTER_PRESENCE_H
#define PORTER_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory.h"

struct pending_change;

struct presence_entry {
	char person_id[PERSON_ID_MAX + 1];
	bool in;
	bool has_last_change;
	uint64_t last_change_us;        /* monotonic, for the repeat window */
	struct pending_change *pending; /* a change not yet durable, or NULL */
	/* Wall clock (unix us) of the change that made `in` what it is, as
	 * recorded: the daily check-out leaves alone whoever came in after it. */
	int64_t since_unix_us;
};

struct presence;

struct presence *presence_new(void);
struct presence *presence_free(struct presence *presence);

/* The entry for `person_id`; created (out, no history) when `create` and
 * missing. NULL when missing and not created, or on ENOMEM. */
struct presence_entry *presence_get(struct presence *presence, const char *person_id, bool create);

/* Call `fn` for every entry (none may be added meanwhile). */
void presence_foreach(struct presence *presence,
                      void (*fn)(void *userdata, struct presence_entry *entry), void *userdata);

/* How many people are in. */
size_t presence_count_in(const struct presence *presence);

#endif
