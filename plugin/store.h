/* SPDX-License-Identifier: MIT */
/*
 * store.h: the durable presence log, in SQLite (WAL).
 *
 * Tables (a field engineer can open the file with sqlite3 and read them):
 *   presence_log(seq, event_key UNIQUE, person_id, direction 'in'|'out',
 *                reader_id, recorded_at, cause)  -- every change, in order
 *   presence(person_id PRIMARY KEY, state, since, last_seq) -- who is in now
 *   door_events(seq, at, reader_id, code, person_id NULL, detail)
 *                -- denied attempts and lockouts: what happened at the door
 *   visitor_pass_uses(pass_id PRIMARY KEY, person_id, used_at, valid_until)
 *                -- single-use visitor passes whose check-in is durable,
 *                   written in the check-in's own transaction, deleted in
 *                   the transaction of that check-in's reversal
 * event_key is made when the change is decided and doubles as the backend's
 * idempotency key, so a retried write can never record a change twice.
 * door_events never holds a PIN: a row says which reader refused, when, and
 * why (the deny code); person_id only where a person was identified.
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
	/* A check-in by a single-use visitor pass: its id (NULL: none), so
	 * the pass is used exactly when the check-in is durable. A check-out
	 * with a pass_id is the reversal of such a check-in (nobody was let
	 * in): it gives the pass back, deleting the use that check-in made
	 * (pass_used_at_unix_us, its at_unix_us) in the same transaction. */
	const char *pass_id;
	int64_t pass_valid_until;     /* unix seconds: the row can go after it */
	int64_t pass_used_at_unix_us; /* a reversal: when the check-in used it */
	/* > 0: the person's BLE token of this time step made the change; kept
	 * in ble_consumed(person_id, counter) in the same transaction, so the
	 * token is used exactly when the change is durable (ble_replay.h). */
	uint64_t ble_counter;
};

#define DOOR_CODE_MAX   40
#define DOOR_DETAIL_MAX 160
#define DOOR_ID_MAX     64  /* PERSON_ID_MAX: ASCII */
#define DOOR_READER_MAX 256 /* CONFIG_ID_MAX: 64 characters of up to 4 bytes */

/* One row of door_events, copied by value so the loop thread can queue it
 * and forget it. Empty person_id: none identified. */
struct store_door_event {
	int64_t at_unix_us;
	char reader_id[DOOR_READER_MAX + 1];
	char code[DOOR_CODE_MAX + 1];
	char person_id[DOOR_ID_MAX + 1];
	char detail[DOOR_DETAIL_MAX + 1];
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

/* Call `fn` for each single-use visitor pass used, still valid after
 * `now_s`. Returns 0 or a negative errno. */
int store_load_pass_uses(struct store *store,
                         int (*fn)(void *userdata, const char *pass_id, int64_t valid_until),
                         void *userdata, int64_t now_s, char *err, size_t errlen);
/* Call `fn` for each person's last used BLE token counter (ble_consumed).
 * Returns 0 or a negative errno. */
int store_load_ble_consumed(struct store *store,
                            int (*fn)(void *userdata, const char *person_id, uint64_t counter),
                            void *userdata, char *err, size_t errlen);

/* Record `n` changes in one transaction (group commit): all or none are
 * durable when this returns 0. */
int store_record(struct store *store, const struct store_change *const *changes, size_t n,
                 char *err, size_t errlen);

/* Like store_record, with `m` door events in the same transaction. The
 * events are written under a savepoint: if they cannot be, they are left
 * out (*ret_events_failed is set) and the changes are still committed. */
int store_record_with_events(struct store *store, const struct store_change *const *changes,
                             size_t n, const struct store_door_event *events, size_t m,
                             bool *ret_events_failed, char *err, size_t errlen);

/* Retention of door_events: delete at most `limit` of the oldest rows that
 * are older than `before_unix_us` (0: no age bound) or beyond the newest
 * `max_rows` (0: no count bound), in one transaction. Returns the number of
 * rows deleted (== limit: call again) or a negative errno. */
int store_prune_door_events(struct store *store, int64_t before_unix_us, int64_t max_rows,
                            int limit, char *err, size_t errlen);

/* Give each change without an event key a new one: a UUID v7 (RFC 9562),
 * the change's time in milliseconds then 74 random bits. Keys in time order
 * make each batch add to the end of the event_key index instead of touching
 * pages all over it; one call to the random generator serves a whole batch. */
int store_make_event_keys(struct store_change *const *changes, size_t n);

/* One new event key for a change made now. */
int store_new_event_key(char ret[EVENT_KEY_LEN + 1]);

#endif
