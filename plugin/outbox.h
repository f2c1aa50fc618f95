/* SPDX-License-Identifier: MIT */
/*
 * outbox.h: every durable presence change reaches the backend, at least
 * once, in the order it was recorded.
 *
 * The changes live in presence_log (outbox_store.h); nothing is confirmed
 * to a person before its row is durable (the recorder), and nothing leaves
 * the outbox before the backend has taken it or refused it for good. A
 * porter-owned thread reads the rows after the watermark and writes the
 * watermark back; the loop thread hands the rows to the backend's sink one
 * at a time (so order per person holds, and the event_key, made when the
 * change was decided, is the idempotency key of every attempt).
 *
 * Failures: a delivery the sink says to retry is tried again after
 * exponential backoff with full jitter (a random delay between 0 and
 * min(retry_max, retry_first * 2^attempt)), or after the backend's
 * Retry-After when that is longer. A change the backend refuses for good
 * (e.g. Nexudus's 400 with Errors[]) is moved to dead_letters with the
 * backend's reason, logged, and raised by diagnostics() (PORTER-D006);
 * delivery goes on with the next change. While deliveries fail,
 * diagnostics() says since when (PORTER-D005).
 *
 * Bounds: the backlog is capped (max_backlog changes not yet delivered).
 * At the cap porter refuses new check-ins and check-outs at the door
 * ("backlog_full": the person is told to see the front desk) rather than
 * record changes the backend may never get; nothing already confirmed is
 * ever dropped. A full disk fails the commit, so the person is refused
 * ("record_failed") and nothing is confirmed.
 *
 * Everything here runs on the loop thread except the outbox's own thread.
 */
#ifndef PORTER_OUTBOX_H
#define PORTER_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "porter.h"

#define OUTBOX_WINDOW 32 /* rows read at a time */

struct outbox_options {
	const char *database_path;
	int64_t max_backlog;     /* 0: no cap */
	uint64_t retry_first_us; /* first backoff step */
	uint64_t retry_max_us;   /* backoff cap */
	int64_t (*wall_clock_us)(void);
	/* Random numbers for the jitter; NULL: porter's own. Tests set it. */
	uint64_t (*random)(void *userdata);
	void *random_userdata;
};

struct outbox_status {
	int64_t backlog;               /* changes recorded and not yet delivered */
	int64_t dead;                  /* dead letters of this backend */
	int64_t last_delivery_unix_us; /* this run; 0: none yet */
	int64_t failing_since_unix_us; /* 0: the last attempt worked */
	unsigned attempts;             /* of the change at the head */
	char last_error[DELIVERY_REASON_MAX];
};

struct outbox;

/* Open the outbox of `backend` (whose deliver must not be NULL) on the
 * database store_open made. Reads and counts on the calling thread (init).
 * Nothing is delivered before outbox_begin(). */
int outbox_start(const struct porter_host_services *services, const struct outbox_options *options,
                 const struct backend *backend, struct outbox **ret, char *err, size_t errlen);

/* Start delivering (the last step of init: nothing after it fails). */
void outbox_begin(struct outbox *outbox);

/* A change became durable: deliver it when its turn comes. */
void outbox_recorded(struct outbox *outbox);

/* The config was reloaded: the backend refreshes its directory now, from
 * `settings` (backend.h; NULL: as before). */
void outbox_refresh(struct outbox *outbox, const struct backend_settings *settings);

/* True when the backlog reached max_backlog: new changes are refused. */
bool outbox_full(const struct outbox *outbox);

void outbox_status(const struct outbox *outbox, struct outbox_status *ret);

/* PORTER-D005 (deliveries failing, since when) and PORTER-D006 (dead
 * letters). Returns the number reported; `report` may be NULL. */
int outbox_diagnostics(const struct outbox *outbox, porter_report_fn report, void *userdata);

/* Cancel the delivery in flight, write the watermark of what was delivered,
 * join the thread. No callback afterwards. NULL is fine. */
struct outbox *outbox_stop(struct outbox *outbox);

#endif
