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
#include "porter.h"
#include "presence.h"
#include "reader.h"
#include "recorder.h"

#define ENGINE_MAX_IN_FLIGHT 16384

struct pending_change;

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
};

/* Decide on a complete PIN typed at `reader`. `pin` has been checked to be
 * digits only. Returns a PORTER_VERDICT_* or a negative errno; gives the
 * person feedback either way. */
int engine_submit_pin(struct engine *engine, struct reader_state *reader, uint64_t request_id,
                      const char *pin, size_t len);

/* The recorder's callback: a change became durable or failed. */
void engine_change_recorded(void *engine, struct recorder_item *item, const char *error);

/* The host gave up waiting for `request_id`. */
void engine_cancel(struct engine *engine, uint64_t request_id);

/* Show feedback at a reader: text `text` in the site's words (config
 * "texts") or the default, filled from `values` (may be NULL). */
void engine_feedback(struct engine *engine, const char *reader_id, uint32_t led, uint32_t beep,
                     const char *code, enum feedback_text text,
                     const struct feedback_values *values);

/* Adopt a presence state loaded from the store. */
int engine_load_presence(void *engine, const char *person_id, bool in);

/* Shutdown, after the recorder stopped and before the store closes: write
 * the reversals of changes nobody was let through for (cancelled or the door
 * failed) that were decided while stopping, synchronously. */
void engine_record_reversals(struct engine *engine, struct store *store);

/* Free every change still in flight (shutdown, after the recorder stopped). */
void engine_release(struct engine *engine);

#endif
