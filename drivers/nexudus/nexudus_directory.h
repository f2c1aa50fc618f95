/* SPDX-License-Identifier: MIT */
/*
 * nexudus_directory.h: coworkers and visitors synced from Nexudus, written
 * as porter's own directory file (directory_file.h), so the loader, the
 * directory watch and `porter-admin check --directory` work on the cache
 * unchanged, and a field engineer reads it like the local backend's file.
 *
 * THREADS: everything here hashes, allocates and writes files. It runs on a
 * sync worker thread, never on the host's loop thread. One instance belongs
 * to one thread (its PIN hasher is not thread-safe).
 *
 * Use: nexudus_directory_new(), then for every record of every page
 * nexudus_directory_add() (it fits nexudus_page_parse's callback through
 * nexudus_directory_add_record), then nexudus_directory_write(), then free.
 * A sync that fails half-way frees the instance without writing: the last
 * good file stays in place.
 *
 * Decisions (README "Nexudus directory"):
 *  - Ids: "nx-c-<Id>" for a coworker, "nx-v-<Id>" for a visitor. Nexudus
 *    ids are positive integers, so these are printable ASCII of at most 24
 *    bytes, and the two kinds can never collide.
 *  - PINs: a coworker's AccessPincode and a visitor's VisitorCode are the
 *    keypad credential. They are hashed under the site key the moment they
 *    are added (pin_hash.h) and the clear text is never kept or written. A
 *    PIN that does not fit the keypad (digits only, pin_min_length to
 *    pin_max_length) is a PIN no one can type: the person is left out with
 *    a counted warning naming the person id, never the PIN. Leaving them in
 *    without a PIN would look like "no PIN set" to the admin.
 *  - No PIN: a coworker without AccessPincode is kept without a PIN (the
 *    directory knows them; no PIN credential matches them).
 *  - Inactive or archived coworkers (Active false, Archived true; both
 *    inferred field names) are left out: a cache must not let them in.
 *  - Visitors are valid on the site's local day of their ExpectedArrival,
 *    from the start of that day to the start of the next (in the site's
 *    zone, through cutoff.h with the day starting at `day->minute_of_day`).
 *    Why the day and not a window around the time: visitors arrive early
 *    or late, the invitation in Nexudus is for a day, and the daily
 *    check-out ends that day for everyone anyway. A visitor without
 *    ExpectedArrival has no day: left out with a counted warning. Visitors
 *    whose day ended before `now` are left out silently (counted): the
 *    list holds every past visitor. DepartureDate does not shorten the day:
 *    a visitor who checks out for lunch comes back with the same code.
 *  - A person id twice (a record that moved between pages while the sync
 *    paged): the record with the later UpdatedOn is kept (the first on a
 *    tie), counted as a duplicate.
 *  - Names are for displays and logs: control and bidirectional formatting
 *    characters become spaces, a name is cut to PERSON_NAME_MAX bytes at a
 *    character boundary, an empty name becomes the person id.
 */
#ifndef PORTER_NEXUDUS_DIRECTORY_H
#define PORTER_NEXUDUS_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "cutoff.h"
#include "nexudus_reply.h"
#include "pin_hash.h"

struct nexudus_directory_options {
	uint32_t pin_min_length, pin_max_length; /* the keypad's (config keypad.*) */
	const struct cutoff_rule *day; /* the site's zone; the day starts at minute_of_day */
	int64_t now;                   /* unix seconds: visitors whose day ended are left out */
	/* Called once per person left out for a reason the admin should fix,
	 * with one line naming the person id and the reason (never a PIN). */
	void (*warn)(void *userdata, const char *message);
	void *userdata;
};

struct nexudus_directory_stats {
	size_t members, visitors; /* written */
	size_t without_pin;       /* written without a PIN credential */
	size_t bad_pin;           /* left out: the PIN does not fit the keypad (warned) */
	size_t no_arrival;        /* visitors left out: no ExpectedArrival (warned) */
	size_t expired;           /* visitors left out: their day is over */
	size_t inactive;          /* coworkers left out: inactive or archived */
	size_t duplicates;        /* records whose id came again (one kept) */
};

struct nexudus_directory;

/* Returns NULL on ENOMEM or an invalid option (no `day`, min > max). */
struct nexudus_directory *nexudus_directory_new(const uint8_t key[PIN_KEY_LEN],
                                                const struct nexudus_directory_options *options);
/* Cleanses the hashes and the key. NULL is fine; returns NULL. */
struct nexudus_directory *nexudus_directory_free(struct nexudus_directory *d);

/* Add a coworker or visitor record (a check-in record is refused:
 * -EINVAL). Returns 0 when the record was taken or left out by a rule
 * above, -ENOMEM, -E2BIG past DIRECTORY_MAX_PEOPLE, -EIO when hashing
 * fails. The record's secrets are not kept. */
int nexudus_directory_add(struct nexudus_directory *d, const struct nexudus_record *record);

/* nexudus_directory_add as a nexudus_record_fn (userdata: the directory). */
int nexudus_directory_add_record(void *userdata, const struct nexudus_record *record);

/*
 * Write the directory to `path` atomically: a temporary file in the same
 * folder, fsync, rename over `path`, fsync of the folder. So a reader
 * (the directory watch, porter-admin) sees the old file or the new one,
 * never a mix, and a power cut leaves one of the two. The text is first
 * parsed back with directory_parse: a file the loader would refuse never
 * replaces a good one. Returns 0, or a negative errno with the reason in
 * err (-E2BIG over DIRECTORY_FILE_MAX_BYTES); on error `path` is unchanged
 * and no temporary file is left.
 */
int nexudus_directory_write(struct nexudus_directory *d, const char *path, char *err,
                            size_t errlen);

const struct nexudus_directory_stats *nexudus_directory_stats(const struct nexudus_directory *d);

#endif
