/* SPDX-License-Identifier: MIT */
/* outbox.c: delivery of durable presence changes. See outbox.h. */
#include "outbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "invoke_retry.h"
#include "log.h"
#include "outbox_store.h"
#include "utc_time.h"

/* A failed read of the outbox is tried again this long after. */
#define READ_RETRY_US 1000000
/* While deliveries keep failing, one warning per this many attempts. */
#define WARN_EVERY_ATTEMPTS 10

/* A queued deliver_loaded holds the outbox's id, not the outbox:
 * outbox_stop() cannot take back a callback the host already queued, and a
 * host may run it after the stop (porter.h only promises it is dropped once
 * shutdown() returns). The callback finds a live outbox by its id, or none.
 * An id, not a reference: a callback the host drops holds nothing to free. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct outbox *live; /* the started outboxes, newest first */
static uintptr_t live_last_id;

struct outbox {
	const struct porter_host_services *services;
	uintptr_t id;             /* its key in `live` */
	struct outbox *live_next; /* under live_lock */
	struct outbox_options options;
	struct backend backend;
	struct outbox_store *store; /* the thread's */
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	/* loop -> thread */
	bool load_requested;
	int64_t load_after;
	bool ack_pending;
	bool ack_urgent; /* wake the thread for it (else it rides with the next read) */
	int64_t ack_through;
	int64_t ack_delivered_at;
	struct outbox_dead dead[OUTBOX_WINDOW];
	size_t n_dead;
	/* thread -> loop */
	bool loaded_ready, invoke_scheduled;
	struct delivery loaded[OUTBOX_WINDOW];
	int n_loaded;
	char thread_error[256];
	unsigned invoke_refusals;

	/* loop thread only */
	/* Rows read, head first; the next window is read while the last half
	 * of this one is delivered, so the sink never waits for the thread. */
	struct delivery window[2 * OUTBOX_WINDOW];
	size_t n, head;
	int64_t cursor; /* seq of the last row read */
	int64_t loaded_last_seq;
	bool load_pending; /* asked the thread, no answer yet */
	bool more;         /* recorded since the last read asked */
	bool last_full;    /* the last read filled the window */
	bool in_flight;
	bool begun;
	int64_t retry_timer;
	uint64_t rng;
	struct outbox_status status;
};

/* ---- the thread ---------------------------------------------------------- */

static void deliver_loaded(void *userdata);

/* Thread, lock held: write what the loop acknowledged. Unlocks meanwhile. */
static void write_acks(struct outbox *o)
{
	struct outbox_dead dead[OUTBOX_WINDOW];
	size_t n_dead = o->n_dead;
	int64_t through = o->ack_through, at = o->ack_delivered_at;
	memcpy(dead, o->dead, n_dead * sizeof(dead[0]));
	o->n_dead = 0;
	o->ack_pending = false;
	o->ack_urgent = false;
	o->ack_delivered_at = 0;
	pthread_mutex_unlock(&o->lock);
	char err[256];
	/* A watermark that cannot be written leaves the rows to be delivered
	 * again after a restart: the event key makes that harmless. Dead
	 * letters are kept for the next try. */
	int r = outbox_store_ack(o->store, through, dead, n_dead, at, err, sizeof(err));
	pthread_mutex_lock(&o->lock);
	if (r < 0) {
		snprintf(o->thread_error, sizeof(o->thread_error), "%s", err);
		for (size_t i = 0; i < n_dead && o->n_dead < OUTBOX_WINDOW; i++)
			o->dead[o->n_dead++] = dead[i];
	}
}

/* Thread, lock held: read the next window. Unlocks meanwhile. The backlog
 * is not counted again here (that is O(backlog) per window): the loop
 * keeps it from the count at start, +1 per recorded change, -1 per ack. */
static void read_window(struct outbox *o)
{
	int64_t after = o->load_after;
	o->load_requested = false;
	pthread_mutex_unlock(&o->lock);
	struct delivery rows[OUTBOX_WINDOW];
	char err[256] = "";
	int n = outbox_store_read(o->store, after, rows, OUTBOX_WINDOW, err, sizeof(err));
	pthread_mutex_lock(&o->lock);
	o->n_loaded = n < 0 ? 0 : n;
	if (n > 0)
		memcpy(o->loaded, rows, (size_t)n * sizeof(rows[0]));
	if (n < 0)
		snprintf(o->thread_error, sizeof(o->thread_error), "%s", err);
	else
		o->thread_error[0] = '\0';
	o->loaded_ready = true;
}

static void *outbox_thread(void *userdata)
{
	struct outbox *o = userdata;
	struct invoke_retry retry = {0}; /* a refused invoke, asked again */
	pthread_mutex_lock(&o->lock);
	for (;;) {
		bool due = false;
		while (!o->load_requested && !o->ack_urgent && !o->stopping && !due)
			due = invoke_retry_wait(&retry, &o->wake, &o->lock);
		/* First, and until none came in meanwhile: the count after a
		 * read includes them, and stopping must not leave one behind. */
		while (o->ack_pending)
			write_acks(o);
		if (o->stopping)
			break;
		if (o->load_requested)
			read_window(o);
		if (o->loaded_ready && !o->invoke_scheduled) {
			o->invoke_scheduled = true;
			pthread_mutex_unlock(&o->lock);
			int r = o->services->invoke(o->services->host, deliver_loaded,
			                            (void *)o->id);
			pthread_mutex_lock(&o->lock);
			if (r < 0) {
				o->invoke_scheduled = false;
				o->invoke_refusals++;
			}
			invoke_retry_note(&retry, r);
		}
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

/* ---- the loop thread ------------------------------------------------------ */

static void next(struct outbox *o);

static int64_t now_unix_us(const struct outbox *o)
{
	return o->options.wall_clock_us ? o->options.wall_clock_us() : 0;
}

static uint64_t random_u64(struct outbox *o)
{
	if (o->options.random)
		return o->options.random(o->options.random_userdata);
	/* xorshift64*: the jitter spreads retries, it guards no secret. */
	o->rng ^= o->rng >> 12;
	o->rng ^= o->rng << 25;
	o->rng ^= o->rng >> 27;
	return o->rng * 2685821657736338717ULL;
}

static void request_load(struct outbox *o)
{
	o->load_pending = true;
	o->more = false;
	pthread_mutex_lock(&o->lock);
	o->load_requested = true;
	o->load_after = o->cursor;
	pthread_cond_signal(&o->wake);
	pthread_mutex_unlock(&o->lock);
}

static void read_retry_fired(void *userdata)
{
	struct outbox *o = userdata;
	o->retry_timer = 0;
	request_load(o);
}

static struct outbox *live_find(uintptr_t id)
{
	pthread_mutex_lock(&live_lock);
	struct outbox *o = live;
	while (o && o->id != id)
		o = o->live_next;
	pthread_mutex_unlock(&live_lock);
	return o;
}

static void deliver_loaded(void *userdata)
{
	struct outbox *o = live_find((uintptr_t)userdata);
	if (!o)
		return; /* stopped: the rows stay in the database */
	char error[256];
	pthread_mutex_lock(&o->lock);
	o->invoke_scheduled = false;
	o->loaded_ready = false;
	size_t n = (size_t)o->n_loaded;
	/* Keep what is still to deliver (the head, maybe in flight: the sink
	 * has its own copy), then append the rows read. */
	size_t keep = o->n - o->head;
	memmove(o->window, o->window + o->head, keep * sizeof(o->window[0]));
	memcpy(o->window + keep, o->loaded, n * sizeof(o->window[0]));
	o->head = 0;
	o->n = keep + n;
	if (n)
		o->loaded_last_seq = o->loaded[n - 1].seq;
	snprintf(error, sizeof(error), "%s", o->thread_error);
	unsigned refusals = o->invoke_refusals;
	o->invoke_refusals = 0;
	pthread_mutex_unlock(&o->lock);
	if (refusals)
		plog(o->services, PORTER_LOG_WARNING,
		     "outbox: the host refused porter's invoke %u times (is its queue full?)",
		     refusals);
	o->load_pending = false;
	o->last_full = n == OUTBOX_WINDOW;
	if (n)
		o->cursor = o->loaded_last_seq;
	if (error[0]) {
		plog(o->services, PORTER_LOG_ERROR,
		     "outbox: %s; presence changes stay in the database and porter tries again",
		     error);
		if (!n && !o->retry_timer)
			o->retry_timer = o->services->timer_add(o->services->host, READ_RETRY_US,
			                                        read_retry_fired, o);
		if (!n)
			return;
	}
	next(o);
}

static void acknowledge(struct outbox *o, const struct delivery *d, const char *dead_reason)
{
	int64_t now = now_unix_us(o);
	pthread_mutex_lock(&o->lock);
	o->ack_pending = true;
	o->ack_through = d->seq;
	if (dead_reason && o->n_dead < OUTBOX_WINDOW) {
		struct outbox_dead *x = &o->dead[o->n_dead++];
		x->seq = d->seq;
		memcpy(x->event_key, d->event_key, sizeof(x->event_key));
		snprintf(x->reason, sizeof(x->reason), "%s", dead_reason);
		x->at_unix_us = now;
	} else if (!dead_reason) {
		o->ack_delivered_at = now;
	}
	/* One transaction per window, not per delivery: the watermark is
	 * written with the next read, or now for the window's last row and for
	 * a dead letter. A crash in between re-sends a few changes, each with
	 * its event key, which the backend deduplicates. */
	if (dead_reason || o->head + 1 == o->n) {
		o->ack_urgent = true;
		pthread_cond_signal(&o->wake);
	}
	pthread_mutex_unlock(&o->lock);
	o->head++;
	if (o->status.backlog > 0)
		o->status.backlog--;
}

static void retry_fired(void *userdata)
{
	struct outbox *o = userdata;
	o->retry_timer = 0;
	next(o);
}

/* Full jitter: uniform in [0, min(max, first * 2^(attempts-1))]. */
static uint64_t backoff_us(struct outbox *o, unsigned attempts)
{
	uint64_t cap = o->options.retry_first_us;
	for (unsigned i = 1; i < attempts && cap < o->options.retry_max_us; i++)
		cap *= 2;
	if (cap > o->options.retry_max_us)
		cap = o->options.retry_max_us;
	/* Scaled, not reduced modulo: unbiased, and the largest draw is the cap. */
	return (uint64_t)(((unsigned __int128)random_u64(o) * (cap + 1)) >> 64);
}

static void delivered(void *userdata, const struct delivery_result *result)
{
	struct outbox *o = userdata;
	const struct delivery *d = &o->window[o->head];
	o->in_flight = false;
	switch (result->outcome) {
	case DELIVERY_DELIVERED:
		if (o->status.failing_since_unix_us)
			plog(o->services, PORTER_LOG_INFO,
			     "outbox: %s takes presence changes again (after %u attempts)",
			     o->backend.name, o->status.attempts + 1);
		o->status.failing_since_unix_us = 0;
		o->status.attempts = 0;
		o->status.last_delivery_unix_us = now_unix_us(o);
		acknowledge(o, d, NULL);
		break;
	case DELIVERY_REJECTED:
		plog(o->services, PORTER_LOG_ERROR,
		     "outbox: %s refused the check-%s of %s (event %s) for good: %s; it is kept "
		     "as a dead letter (porter-admin outbox lists it)",
		     o->backend.name, d->in ? "in" : "out", d->person_id, d->event_key,
		     result->reason);
		o->status.dead++;
		o->status.attempts = 0;
		acknowledge(o, d, result->reason[0] ? result->reason : "refused");
		break;
	default: {
		o->status.attempts++;
		if (!o->status.failing_since_unix_us)
			o->status.failing_since_unix_us = now_unix_us(o);
		snprintf(o->status.last_error, sizeof(o->status.last_error), "%s", result->reason);
		uint64_t delay = backoff_us(o, o->status.attempts);
		if (result->retry_after_us > delay)
			delay = result->retry_after_us;
		if (o->status.attempts == 1 || o->status.attempts % WARN_EVERY_ATTEMPTS == 0)
			plog(o->services, PORTER_LOG_WARNING,
			     "outbox: %s did not take the check-%s of %s (attempt %u): %s; kept, "
			     "next attempt in %llu ms",
			     o->backend.name, d->in ? "in" : "out", d->person_id,
			     o->status.attempts, result->reason,
			     (unsigned long long)(delay / 1000));
		int64_t id = o->services->timer_add(o->services->host, delay ? delay : 1,
		                                    retry_fired, o);
		o->retry_timer = id > 0 ? id : 0;
		if (id <= 0) /* no timer: try again when the next change is recorded */
			plog(o->services, PORTER_LOG_WARNING,
			     "outbox: no timer for the retry (%lld); waiting for the next change",
			     (long long)id);
		return;
	}
	}
	next(o);
}

static void next(struct outbox *o)
{
	if (!o->begun || o->in_flight || o->retry_timer)
		return;
	/* Read ahead: half a window left, and more may be there. */
	if (!o->load_pending && o->n - o->head <= OUTBOX_WINDOW / 2 && (o->more || o->last_full))
		request_load(o);
	if (o->head == o->n)
		return; /* the read, or the next recorded change, calls again */
	int r = o->backend.deliver(o->backend.impl, &o->window[o->head], delivered, o);
	if (r < 0) {
		struct delivery_result res = {.outcome = DELIVERY_RETRY};
		snprintf(res.reason, sizeof(res.reason), "the backend could not start: %s",
		         strerror(-r));
		delivered(o, &res);
		return;
	}
	o->in_flight = true;
}

int outbox_start(const struct porter_host_services *services, const struct outbox_options *options,
                 const struct backend *backend, struct outbox **ret, char *err, size_t errlen)
{
	struct outbox *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	pthread_mutex_lock(&live_lock);
	o->id = ++live_last_id;
	o->live_next = live;
	live = o;
	pthread_mutex_unlock(&live_lock);
	o->services = services;
	o->options = *options;
	o->backend = *backend;
	pthread_mutex_init(&o->lock, NULL);
	invoke_retry_cond_init(&o->wake);
	if (RAND_bytes((unsigned char *)&o->rng, sizeof(o->rng)) != 1 || !o->rng)
		o->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)time(NULL);
	int r = outbox_store_open(options->database_path, backend->name, &o->store, err, errlen);
	if (r == 0)
		r = outbox_store_count(o->store, &o->status.backlog, &o->status.dead, err, errlen);
	if (r == 0) {
		o->cursor = outbox_store_watermark(o->store);
		r = -pthread_create(&o->thread, NULL, outbox_thread, o);
		o->thread_started = r == 0;
		if (r < 0)
			snprintf(err, errlen, "outbox: cannot start its thread: %s", strerror(-r));
	}
	if (r < 0) {
		o->backend.stop = NULL; /* the caller owns the backend until we succeed */
		outbox_stop(o);
		return r;
	}
	*ret = o;
	return 0;
}

void outbox_begin(struct outbox *o)
{
	if (!o || o->begun)
		return;
	o->begun = true;
	if (o->status.backlog)
		plog(o->services, PORTER_LOG_INFO, "outbox: %lld presence changes to deliver to %s",
		     (long long)o->status.backlog, o->backend.name);
	request_load(o);
}

void outbox_recorded(struct outbox *o)
{
	if (!o)
		return;
	o->status.backlog++;
	o->more = true;
	if (!o->in_flight && !o->retry_timer)
		next(o);
}

void outbox_refresh(struct outbox *o, const struct backend_settings *settings)
{
	if (o && o->backend.refresh)
		o->backend.refresh(o->backend.impl, settings);
}

bool outbox_full(const struct outbox *o)
{
	return o && o->options.max_backlog > 0 && o->status.backlog >= o->options.max_backlog;
}

void outbox_status(const struct outbox *o, struct outbox_status *ret)
{
	*ret = o->status;
}

int outbox_diagnostics(const struct outbox *o, porter_report_fn report, void *userdata)
{
	if (!o)
		return 0;
	int n = o->backend.diagnostics ? o->backend.diagnostics(o->backend.impl, report, userdata)
	                               : 0;
	char message[768], since[32];
	if (o->status.failing_since_unix_us) {
		utc_time_format_s(o->status.failing_since_unix_us / 1000000, since);
		snprintf(message, sizeof(message),
		         "the %s backend has not taken presence changes since %s (%u attempts; "
		         "last error: %s); %lld changes wait in the outbox and are kept",
		         o->backend.name, since, o->status.attempts, o->status.last_error,
		         (long long)o->status.backlog);
		struct porter_report r = {
		        .size = sizeof(r),
		        .severity = PORTER_SEVERITY_WARNING,
		        .code = "PORTER-D005",
		        .message = message,
		        .fix = "check the network and the backend's address and credentials; "
		               "porter "
		               "retries with backoff and delivers everything in order once it is "
		               "reachable",
		};
		if (report)
			report(userdata, &r);
		n++;
	}
	if (o->status.dead) {
		snprintf(message, sizeof(message),
		         "%lld presence changes were refused by the %s backend for good and were "
		         "not delivered",
		         (long long)o->status.dead, o->backend.name);
		struct porter_report r = {
		        .size = sizeof(r),
		        .severity = PORTER_SEVERITY_WARNING,
		        .code = "PORTER-D006",
		        .message = message,
		        .fix = "`porter-admin outbox --config CONFIG` lists them with the "
		               "backend's "
		               "reason; correct the record at the backend by hand",
		};
		if (report)
			report(userdata, &r);
		n++;
	}
	return n;
}

struct outbox *outbox_stop(struct outbox *o)
{
	if (!o)
		return NULL;
	if (o->in_flight && o->backend.cancel)
		o->backend.cancel(o->backend.impl);
	if (o->retry_timer)
		o->services->timer_remove(o->services->host, o->retry_timer);
	if (o->thread_started) {
		pthread_mutex_lock(&o->lock);
		o->stopping = true; /* the thread writes pending acks first */
		pthread_cond_signal(&o->wake);
		pthread_mutex_unlock(&o->lock);
		pthread_join(o->thread, NULL);
	}
	/* The thread is gone: no new invoke; one already queued finds no outbox. */
	pthread_mutex_lock(&live_lock);
	for (struct outbox **p = &live; *p; p = &(*p)->live_next)
		if (*p == o) {
			*p = o->live_next;
			break;
		}
	pthread_mutex_unlock(&live_lock);
	if (o->backend.stop)
		o->backend.stop(o->backend.impl);
	o->store = outbox_store_close(o->store);
	pthread_cond_destroy(&o->wake);
	pthread_mutex_destroy(&o->lock);
	free(o);
	return NULL;
}
