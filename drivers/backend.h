/* SPDX-License-Identifier: MIT */
/*
 * backend.h: the seam between porter's core and the space's backend.
 *
 * A backend has two halves:
 *   - the directory source: who exists, with which credentials and validity.
 *     It always ends up as a file in porter's directory format
 *     (drivers/local/directory_file.h): the admin's file for `local` and
 *     `webhook`, a cache porter writes from the last good sync for a backend
 *     that owns the people (Nexudus). porter loads and watches that file, so
 *     decisions stay local and instant whatever the network does.
 *   - the presence sink: deliver one durable presence change. The outbox
 *     (plugin/outbox.h) calls it one change at a time, in the order the
 *     changes were recorded, and only after they are durable.
 *
 * Adding a backend means one new driver that fills struct backend; the
 * decision engine and the hooks never see which one is in use.
 *
 * Everything here runs on the host's loop thread. A sink never blocks: it
 * starts the delivery (an HTTP request on the host's loop) and answers later.
 */
#ifndef PORTER_BACKEND_H
#define PORTER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "cutoff.h"
#include "porter.h"

#define DELIVERY_ID_MAX     64  /* person ids: PERSON_ID_MAX */
#define DELIVERY_READER_MAX 256 /* reader ids, in bytes (64 characters of UTF-8) */
#define DELIVERY_CAUSE_MAX  32
#define DELIVERY_REASON_MAX 256

/* One row of presence_log, as the backend receives it. */
struct delivery {
	int64_t seq;        /* presence_log.seq: the order of recording */
	char event_key[37]; /* UUID made when the change was decided: the idempotency key */
	char person_id[DELIVERY_ID_MAX + 1];
	char reader_id[DELIVERY_READER_MAX + 1];
	bool in;                            /* checked in (true) or out */
	int64_t at_unix_us;                 /* when the person was at the door (wall clock) */
	char cause[DELIVERY_CAUSE_MAX + 1]; /* "credential", "daily_checkout", ... */
};

enum delivery_outcome {
	DELIVERY_DELIVERED = 0, /* the backend has it (or had it already) */
	DELIVERY_RETRY,         /* not now: network, 5xx, rate limit; try again later */
	DELIVERY_REJECTED,      /* the backend refuses it for good: a dead letter */
};

struct delivery_result {
	enum delivery_outcome outcome;
	/* RETRY: at least this long before the next attempt (Retry-After);
	 * 0 lets the outbox's backoff decide. */
	uint64_t retry_after_us;
	/* RETRY, REJECTED: why, safe to log and show the admin (never a secret,
	 * a PIN or a token). */
	char reason[DELIVERY_REASON_MAX];
};

/* Called exactly once per accepted delivery, on the loop thread, never
 * from inside deliver() itself. */
typedef void (*delivery_done_fn)(void *userdata, const struct delivery_result *result);

/*
 * What a backend may tell porter's core (loop thread). Filled by porter and
 * handed to a backend's constructor; either member may be NULL.
 */
struct backend_core {
	void *userdata;
	/* A person's presence as the backend knows it (a check-in made at
	 * another door, at reception or in the space's app): in or out since
	 * `at_unix_us`. porter adopts it when it is newer than its own last
	 * change for that person, so toggles agree across doors; it is not
	 * recorded as a change of this door and not delivered back. */
	void (*presence_learned)(void *userdata, const char *person_id, bool in,
	                         int64_t at_unix_us);
	/* The directory source is in step with the backend as of `at_unix_us`
	 * (a sync succeeded, whether or not anything changed). The offline
	 * policy counts from the last one. */
	void (*directory_synced)(void *userdata, int64_t at_unix_us);
};

/*
 * porter's settings outside a backend's own sections (those take a restart)
 * that a backend which writes the directory builds it from. A reload hands
 * the new ones over (refresh), so the directory follows them: an operator's
 * change is never silently left out of it.
 */
struct backend_settings {
	uint32_t pin_min_length, pin_max_length; /* keypad.*: which PINs can be typed */
	struct cutoff_rule day; /* daily_checkout.time, .time_zone: the site's day */
};

struct backend {
	const char *name; /* "local", "webhook", "nexudus" */
	void *impl;

	/* The directory file porter loads and watches (NULL: the config's
	 * local.directory). */
	const char *(*directory_path)(void *impl);

	/* The presence sink; NULL: changes stay on this box (local). Starts
	 * delivering `d` (copied) and returns 0, or a negative errno and never
	 * calls done. One delivery at a time. */
	int (*deliver)(void *impl, const struct delivery *d, delivery_done_fn done, void *userdata);
	/* Abandon the delivery in flight, if any: done is not called for it. */
	void (*cancel)(void *impl);

	/* The admin reloaded porter's config: fetch the directory now rather
	 * than at the next scheduled sync, built from `settings` (the reloaded
	 * ones; NULL: as before). May be NULL (nothing to fetch). */
	void (*refresh)(void *impl, const struct backend_settings *settings);

	/* Backend problems for diagnostics() (e.g. a bad password). Returns
	 * the number reported; `report` may be NULL. May be NULL. */
	int (*diagnostics)(void *impl, porter_report_fn report, void *userdata);

	/* Stop everything (no callback afterwards) and free impl. */
	void (*stop)(void *impl);
};

#endif
