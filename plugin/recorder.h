/* SPDX-License-Identifier: MIT */
/*
 * recorder.h: makes presence changes durable off the host's thread.
 *
 * The loop thread submits items; a porter-owned thread commits everything
 * queued so far in one SQLite transaction (group commit: one fsync for many
 * changes), then hands the batch back to the loop thread through the host's
 * invoke, in submission order. Nothing on the loop thread waits for the disk.
 */
#ifndef PORTER_RECORDER_H
#define PORTER_RECORDER_H

#include <stdbool.h>

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

/* Start the thread. The recorder uses `store` exclusively from now on. */
int recorder_start(struct store *store, const struct porter_host_services *services,
                   recorder_done_fn done, void *userdata, struct recorder **ret);

/* Queue `item` (loop thread). Never waits for I/O. */
void recorder_submit(struct recorder *recorder, struct recorder_item *item);

/* Take `item` back if the thread has not started committing it. */
bool recorder_withdraw(struct recorder *recorder, struct recorder_item *item);

/* Commit what is queued, join the thread, deliver every outstanding item
 * through `done` now (loop thread), and free the recorder. */
struct recorder *recorder_stop(struct recorder *recorder);

#endif
