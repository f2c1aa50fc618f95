/* SPDX-License-Identifier: MIT */
/*
 * engine.h: the decision engine.
 *
 * credential -> person (member or visitor) -> allowed here? -> in or out ->
 * verdict, door action and feedback. Everything it needs is in memory, so a
 * hook gets its answer in microseconds; a presence change is handed to the
 * recorder and the person is told only once it is durable.
 */
#ifndef PORTER_ENGINE_H
#define PORTER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "directory.h"
#include "feedback_text.h"
#include "pin_hash.h"
#include "pool.h"
#include "porter.h"
#include "presence.h"
#include "reader.h"
#include "recorder.h"

#define ENGINE_MAX_IN_FLIGHT 16384

struct pending_change;
struct waiter;

/* Buckets of the index of pending requests: a power of two. */
#define ENGINE_REQUEST_BUCKETS 4096

struct outbox;

struct engine {
	const struct porter_host_services *services;
	const struct config *config;
	const struct directory *directory;
	struct pin_hasher *hasher;
	struct presence *presence;
	struct recorder *recorder;
	struct readers *readers;
	bool visitor_checkin_blocked;     /* a diagnostic refuses visitor check-in */
	bool stopping;                    /* shutdown: the recorder takes no more */
	struct pending_change *in_flight; /* changes not yet durable, for cancel */
	struct pool changes;              /* where pending changes live (engine.c) */
	/* The requests of the changes in flight, by request id, so a hook can
	 * refuse a reused id (-EEXIST) in O(1) however many wait for the disk. */
	struct waiter *pending_requests[ENGINE_REQUEST_BUCKETS];
	/* Reversals decided while stopping, when the recorder takes no more:
	 * written by engine_record_reversals() once it has stopped. */
	struct pending_change *reversals;
	size_t n_in_flight;
	/* Past this many changes waiting for the disk, new ones are refused
	 * ("busy") instead of queueing memory without bound behind a hung disk. */
	size_t max_in_flight;
	/* Told (loop thread) when a reader's lockout starts; may be NULL. */
	void (*lockout_locked)(void *userdata, struct reader_state *reader);
	void *lockout_userdata;
	/* Wall clock in unix microseconds; replaceable by tests. */
	int64_t (*wall_clock_us)(void);
	/* The daily check-out's changes still being written, and its tally. */
	size_t cutoff_in_flight, cutoff_done, cutoff_failed;
	/* The person a PIN identified while admit() decides, for the record of
	 * a refusal; NULL otherwise (an unknown PIN names nobody). */
	const char *deciding_person_id;
	/* The BLE token's time step counter while engine_submit_person decides
	 * for a phone (0 otherwise): the change it makes consumes the token in
	 * the same transaction (store.h ble_counter). */
	uint64_t deciding_ble_counter;
	/* Where durable changes go next (NULL: they stay local); at its
	 * backlog cap new changes are refused ("backlog_full"). */
	struct outbox *outbox;
	/* Offline policy, for a backend that owns the directory: past
	 * offline_max_age_us since the directory was last in step with the
	 * backend, check-ins are refused ("directory_outdated"); checking out
	 * always works. 0: no such policy. */
	int64_t offline_max_age_us;
	int64_t directory_synced_unix_us;
	/* A single-use visitor pass names the person engine_submit_person
	 * decides for (set around that call; NULL otherwise): a check-in it
	 * makes records the pass as used in the same transaction, and
	 * pass_used is told (loop thread) once that is durable. */
	const char *deciding_pass_id;
	int64_t deciding_pass_until;
	void (*pass_used)(void *userdata, const char *pass_id, int64_t valid_until);
	/* The reversal of such a check-in (cancel, door_failed) gives the pass
	 * back in its own transaction; pass_returned is told once that is
	 * durable. May be NULL. */
	void (*pass_returned)(void *userdata, const char *pass_id);
	void *pass_userdata;
};

/* A reader is locked out now: refuses with feedback and returns true (no credential looked at). */
bool engine_reader_locked_out(struct engine *engine, struct reader_state *reader, uint64_t now);

/* Decide for `person`, named by a credential at `reader` (after its own checks). A host request is
   answered by complete(); a driver's (host_request false: porter's own scanner or BLE reader) only
   by feedback and the door, never complete(), and its request_id is ignored. */
int engine_submit_person(struct engine *engine, struct reader_state *reader, uint64_t request_id,
                         bool host_request, const struct person *person);

/* True while `person_id`'s check-in with single-use pass `pass_id` is being
 * reversed (not durable yet): the pass is being given back, so presenting it
 * again is decided like a PIN then (the reversal dropped, or "busy"), not
 * refused as used. */
bool engine_pass_being_returned(struct engine *engine, const char *person_id,
                                const char *pass_id);

/* Refuse a credential that names someone but may not be used, or names
 * nobody (a QR code: unknown, forged, expired, used): a failed attempt for
 * the reader's lockout, like a wrong PIN, which it may start. Records the
 * refusal (never the credential) and gives feedback `code`/`text`. */
int engine_refuse_credential(struct engine *engine, struct reader_state *reader, uint64_t now,
                             const char *code, enum feedback_text text);

/* Decide on a complete PIN typed at `reader`. `pin` has been checked to be
 * digits only. Returns a PORTER_VERDICT_* or a negative errno; gives the
 * person feedback either way. */
int engine_submit_pin(struct engine *engine, struct reader_state *reader, uint64_t request_id,
                      const char *pin, size_t len);

/* True when the offline policy refuses check-ins now. */
bool engine_directory_outdated(const struct engine *engine);

/* The backend says `person_id` is in (or out) since `at_unix_us` (a change
 * made at another door): adopted when newer than this door's own. */
void engine_presence_learned(struct engine *engine, const char *person_id, bool in,
                             int64_t at_unix_us);

/* The recorder's callback: a change became durable or failed. */
void engine_change_recorded(void *engine, struct recorder_item *item, const char *error);

/* The host gave up waiting for `request_id`. */
void engine_cancel(struct engine *engine, uint64_t request_id);

/* Show feedback at a reader: text `text` in the site's words (config
 * "texts") or the default, filled from `values` (may be NULL). */
void engine_feedback(struct engine *engine, const char *reader_id, uint32_t led, uint32_t beep,
                     const char *code, enum feedback_text text,
                     const struct feedback_values *values);

/*
 * The daily check-out (config daily_checkout): everyone who is in since
 * before `at_unix_us` is checked out, recorded at that instant with cause
 * "daily_cutoff", through the recorder like any change (in memory they are
 * out at once; a change that cannot be recorded puts them back in, and the
 * next run tries again). Nobody
 * is at a reader: no feedback, one log line with the count. A person whose
 * own change is still being written is left as that change leaves them: it
 * was decided at the door and they are being told so. Returns how many
 * changes were submitted.
 */
size_t engine_daily_cutoff(struct engine *engine, int64_t at_unix_us);

/* Adopt the time of the change that checked `person_id` in (store). */
int engine_load_since(void *engine, const char *person_id, int64_t since_unix_us);
/* Record what happened at `reader_id` in door_events (loop thread): a
 * denied attempt (`code` is its deny code) or a lockout. Queued to the
 * recorder, never waits; dropped once the recorder stopped. `person_id`
 * may be NULL; `fmt` (the detail) must never format a PIN. */
void engine_record_door_event(struct engine *engine, const char *reader_id, const char *code,
                              const char *person_id, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Hand config's retention of door_events to the recorder (start, reload). */
void engine_apply_retention(struct engine *engine);

/* Adopt a presence state loaded from the store. */
int engine_load_presence(void *engine, const char *person_id, bool in);

/* Shutdown, after the recorder stopped and before the store closes: write
 * the reversals of changes nobody was let through for (cancelled or the door
 * failed) that were decided while stopping, synchronously. */
void engine_record_reversals(struct engine *engine, struct store *store);

/* Free every change still in flight (shutdown, after the recorder stopped). */
void engine_release(struct engine *engine);

#endif
