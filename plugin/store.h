/* SPDX-License-Identifier: MIT */
/*
 * store.h: the durable presence log, in SQLite (WAL).
 *
 * Tables (a field engineer can open the file with sqlite3 and read them):
 *   presence_log(seq, event_key UNIQUE, person_id, direction 'in'|'out',
 *                reader_id, recorded_at, cause)  -- every change, in order
 *   presence(person_id PRIMARY KEY, state, since, last_seq) -- who is in now
 * event_key is made when the change is decided and doubles as the backend's
 * idempotency key, so a retried write can never record a change twice.
 *
 * A store is opened on the loop thread at start (schema, presence load) and
 * is then used only by the recorder thread.
 */
#ifndef PORTER_STORE_H
#define PORTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_KEY_LEN 36 /* UUID text */

struct store;

struct store_change {
	char event_key[EVENT_KEY_LEN + 1]; /* made by the recorder when empty */
	const char *person_id;
	const char *reader_id;
	bool in;
	int64_t at_unix_us; /* wall clock when decided */
	const char *cause;  /* "credential", "host_cancelled", ... */
};

/* What store_open found. On failure: what is wrong and what the admin does
 * about it; on success, what it corrected that the admin should know. */
struct store_open_report {
	char error[3072];
	char fix[2560];
	char warning[2048];
};

/* What store_open checks before it creates or opens anything: the folder
 * is usable, an existing file is a regular file porter can read and write,
 * and a missing database is not one porter made before (lost state). For
 * check_config, which must not create files. 0 or a negative errno. */
int store_check(const char *path, struct store_open_report *report);

int store_open(const char *path, struct store **ret, struct store_open_report *report);
struct store *store_close(struct store *store);

/* The marker beside the database at `path` that says porter created it. */
void store_marker_path(const char *path, char *ret, size_t len);

/* True once a batch found the database deleted or replaced (any thread). */
bool store_gone(const struct store *store);

/* Call `fn` for each person recorded as in. Returns 0 or a negative errno. */
int store_load_presence(struct store *store,
                        int (*fn)(void *userdata, const char *person_id, bool in), void *userdata,
                        char *err, size_t errlen);

/* Call `fn` for each person recorded as in, with the wall-clock time (unix
 * us) of the change that checked them in. Returns 0 or a negative errno. */
int store_load_in_since(struct store *store,
                        int (*fn)(void *userdata, const char *person_id, int64_t since_unix_us),
                        void *userdata, char *err, size_t errlen);

/* Record `n` changes in one transaction (group commit): all or none are
 * durable when this returns 0. */
int store_record(struct store *store, const struct store_change *const *changes, size_t n,
                 char *err, size_t errlen);

/* Give each change without an event key a new one: a UUID v7 (RFC 9562),
 * the change's time in milliseconds then 74 random bits. Keys in time order
 * make each batch add to the end of the event_key index instead of touching
 * pages all over it; one call to the random generator serves a whole batch. */
int store_make_event_keys(struct store_change *const *changes, size_t n);

/* One new event key for a change made now. */
int store_new_event_key(char ret[EVENT_KEY_LEN + 1]);

#endif
