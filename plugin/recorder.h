/* SPDX-License-Identifier: MIT */
/*
 * recorder.h: makes presence changes durable off the host's thread.
 *
 * The loop thread submits items; a porter-owned thread commits everything
 * queued so far in one SQLite transaction (group commit: one fsync for many
 * changes), then hands the batch back to the loop thread through the host's
 * invoke, in submission order. Nothing on the loop thread waits for the disk.
 *
 * Door events (denied attempts, lockouts) ride along: they are copied into a
 * bounded queue, written in the next batch's transaction and never answered.
 * They are best-effort durable: the person was told at once, and a kill
 * loses the ones not yet committed. Past RECORDER_DOOR_EVENTS_MAX waiting,
 * further ones are only counted and the batch records one "not_recorded"
 * row saying how many, so a guesser cannot grow porter's memory.
 */
#ifndef PORTER_RECORDER_H
#define PORTER_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "porter.h"
#include "store.h"

struct recorder_item {
	struct recorder_item *next; /* owned by the recorder while queued */
	struct store_change change;
	int status; /* after the commit: 0 durable, <0 failed */
};

/* Runs on the loop thread for every item, in order, once it is decided. */
typedef void (*recorder_done_fn)(void *userdata, struct recorder_item *item, const char *error);

struct recorder;

#define RECORDER_DOOR_EVENTS_MAX 256
#define RECORDER_PRUNE_LIMIT     1000 /* rows one pruning transaction deletes */

/* How long door_events keeps its rows; 0 fields: no bound of that kind. */
struct recorder_retention {
	int64_t max_age_us;
	int64_t max_rows;
	uint64_t every_us;              /* prune at most this often (0: every batch) */
	int64_t (*wall_clock_us)(void); /* unix microseconds; NULL: no age bound */
};

/* Start the thread. The recorder uses `store` exclusively from now on. */
int recorder_start(struct store *store, const struct porter_host_services *services,
                   recorder_done_fn done, void *userdata, struct recorder **ret);

/* Queue `item` (loop thread). Never waits for I/O. */
void recorder_submit(struct recorder *recorder, struct recorder_item *item);

/* Queue a copy of `event` (loop thread). Never waits for I/O; never fails
 * (past the bound it is counted instead). */
void recorder_note(struct recorder *recorder, const struct store_door_event *event);

/* Set the retention of door_events (loop thread; at start and reload).
 * The thread prunes after its first batch and then at most every every_us. */
void recorder_set_retention(struct recorder *recorder, const struct recorder_retention *retention);

/* Take `item` back if the thread has not started committing it. */
bool recorder_withdraw(struct recorder *recorder, struct recorder_item *item);

/* Commit what is queued, join the thread, deliver every outstanding item
 * through `done` now (loop thread), and free the recorder. */
struct recorder *recorder_stop(struct recorder *recorder);

#endif
