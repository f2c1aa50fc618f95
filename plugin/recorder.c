/* SPDX-License-Identifier: MIT */
/* recorder.c: the group-commit thread. See recorder.h. */
#include "recorder.h"

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* A host that refuses an invoke (its queue is full) is asked again after
 * 1 ms, 2 ms, 4 ms ... at most every second, until it takes it or porter
 * stops: decided changes never wait for some other event to be delivered. */
#define RETRY_FIRST_US 1000
#define RETRY_MAX_US   1000000

struct batch_error {
	struct batch_error *next;
	struct recorder_item *last; /* the error applies up to this item */
	char text[256];
};

struct recorder {
	struct store *store;
	const struct porter_host_services *services;
	recorder_done_fn done;
	void *userdata;
	pthread_t thread;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct recorder_item *queue, *queue_tail; /* submitted, not yet taken */
	size_t queued;
	bool stopping;

	/* Decided items waiting for the loop thread, and the commit errors among them. */
	struct recorder_item *decided, *decided_tail;
	struct batch_error *errors, *errors_tail;
	bool delivery_scheduled;
	unsigned invoke_refusals; /* since the last delivery, for one log line */

	struct store_change **changes; /* thread-private scratch */
	size_t changes_cap;
};

static void deliver(void *userdata)
{
	struct recorder *r = userdata;
	pthread_mutex_lock(&r->lock);
	struct recorder_item *item = r->decided;
	struct batch_error *err = r->errors;
	r->decided = r->decided_tail = NULL;
	r->errors = r->errors_tail = NULL;
	r->delivery_scheduled = false;
	unsigned refusals = r->invoke_refusals;
	r->invoke_refusals = 0;
	pthread_mutex_unlock(&r->lock);

	if (refusals)
		plog(r->services, PORTER_LOG_WARNING,
		     "the host refused porter's invoke %u times (is its queue full?); recorded "
		     "changes were answered late",
		     refusals);

	while (item) {
		struct recorder_item *next = item->next;
		const char *text = item->status < 0 && err ? err->text : NULL;
		bool last_of_batch = err && item == err->last;
		r->done(r->userdata, item, text);
		if (last_of_batch) {
			struct batch_error *e = err;
			err = err->next;
			free(e);
		}
		item = next;
	}
	while (err) {
		struct batch_error *e = err;
		err = err->next;
		free(e);
	}
}

static size_t take_batch(struct recorder *r, struct recorder_item **ret_first,
                         struct recorder_item **ret_last)
{
	/* O(1) under the lock: the loop thread may be waiting to submit. */
	size_t n = r->queued;
	*ret_first = r->queue;
	*ret_last = r->queue_tail;
	r->queue = r->queue_tail = NULL;
	r->queued = 0;
	return n;
}

static int commit_batch(struct recorder *r, struct recorder_item *first, size_t n,
                        struct batch_error **ret_err)
{
	char text[256];
	*ret_err = NULL;
	if (n > r->changes_cap) {
		struct store_change **c = realloc(r->changes, n * sizeof(*c));
		if (!c) {
			snprintf(text, sizeof(text), "out of memory for a batch of %zu changes", n);
			goto fail;
		}
		r->changes = c;
		r->changes_cap = n;
	}
	size_t k = 0;
	for (struct recorder_item *i = first; i; i = i->next)
		r->changes[k++] = &i->change;
	/* The idempotency key is made once, when the change is first written,
	 * and stays with the row for every later delivery. */
	if (store_make_event_keys(r->changes, n) < 0) {
		snprintf(text, sizeof(text), "no randomness for event keys");
		goto fail;
	}
	if (store_record(r->store, (const struct store_change *const *)r->changes, n, text,
	                 sizeof(text)) == 0)
		return 0;
fail:
	*ret_err = calloc(1, sizeof(**ret_err));
	if (*ret_err)
		memcpy((*ret_err)->text, text, sizeof(text));
	return -EIO;
}

static void hand_back(struct recorder *r, struct recorder_item *first, struct recorder_item *last,
                      struct batch_error *err)
{
	pthread_mutex_lock(&r->lock);
	if (r->decided_tail)
		r->decided_tail->next = first;
	else
		r->decided = first;
	r->decided_tail = last;
	if (err) {
		err->last = last;
		if (r->errors_tail)
			r->errors_tail->next = err;
		else
			r->errors = err;
		r->errors_tail = err;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Ask the host to run deliver() on its loop thread, unless it is asked
 * already or nothing waits. False when the host refused. */
static bool schedule_delivery(struct recorder *r)
{
	pthread_mutex_lock(&r->lock);
	bool ask = r->decided && !r->delivery_scheduled && !r->stopping;
	r->delivery_scheduled = r->delivery_scheduled || ask;
	pthread_mutex_unlock(&r->lock);
	if (!ask || r->services->invoke(r->services->host, deliver, r) == 0)
		return true;
	pthread_mutex_lock(&r->lock);
	r->delivery_scheduled = false;
	r->invoke_refusals++;
	pthread_mutex_unlock(&r->lock);
	return false;
}

static void deadline_after(struct timespec *ts, uint64_t us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(us / 1000000);
	ts->tv_nsec += (long)(us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void *recorder_thread(void *userdata)
{
	struct recorder *r = userdata;
	uint64_t backoff_us = 0; /* 0: no refused invoke to retry */
	struct timespec retry_at;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		bool retry = false;
		while (!r->queue && !r->stopping && !retry) {
			if (!backoff_us)
				pthread_cond_wait(&r->wake, &r->lock);
			else
				retry = pthread_cond_timedwait(&r->wake, &r->lock, &retry_at) ==
				        ETIMEDOUT;
		}
		if (r->queue) {
			struct recorder_item *first, *last;
			size_t n = take_batch(r, &first, &last);
			pthread_mutex_unlock(&r->lock);

			struct batch_error *err;
			int status = commit_batch(r, first, n, &err);
			for (struct recorder_item *i = first; i; i = i->next)
				i->status = status;
			hand_back(r, first, last, err);
		} else if (r->stopping) {
			break; /* everything queued is committed; stop delivers it */
		} else {
			pthread_mutex_unlock(&r->lock);
		}

		if (schedule_delivery(r)) {
			backoff_us = 0;
		} else {
			backoff_us = !backoff_us                     ? RETRY_FIRST_US
			             : backoff_us * 2 > RETRY_MAX_US ? RETRY_MAX_US
			                                             : backoff_us * 2;
			deadline_after(&retry_at, backoff_us);
		}
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int recorder_start(struct store *store, const struct porter_host_services *services,
                   recorder_done_fn done, void *userdata, struct recorder **ret)
{
	struct recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->store = store;
	r->services = services;
	r->done = done;
	r->userdata = userdata;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* retries ignore wall-clock steps */
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, &attr);
	pthread_condattr_destroy(&attr);
	int e = pthread_create(&r->thread, NULL, recorder_thread, r);
	if (e != 0) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		free(r);
		return -e;
	}
	*ret = r;
	return 0;
}

void recorder_submit(struct recorder *r, struct recorder_item *item)
{
	item->next = NULL;
	item->status = 0;
	pthread_mutex_lock(&r->lock);
	bool was_empty = !r->queue;
	if (r->queue_tail)
		r->queue_tail->next = item;
	else
		r->queue = item;
	r->queue_tail = item;
	r->queued++;
	pthread_mutex_unlock(&r->lock);
	/* Only an idle thread needs waking; a busy one takes the queue next. */
	if (was_empty)
		pthread_cond_signal(&r->wake);
}

bool recorder_withdraw(struct recorder *r, struct recorder_item *item)
{
	bool found = false;
	pthread_mutex_lock(&r->lock);
	struct recorder_item *prev = NULL;
	for (struct recorder_item *i = r->queue; i; prev = i, i = i->next) {
		if (i != item)
			continue;
		if (prev)
			prev->next = i->next;
		else
			r->queue = i->next;
		if (r->queue_tail == i)
			r->queue_tail = prev;
		r->queued--;
		found = true;
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

struct recorder *recorder_stop(struct recorder *r)
{
	if (!r)
		return NULL;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	deliver(r); /* a pending invoke, if any, is dropped by the host after shutdown */
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	free(r->changes);
	free(r);
	return NULL;
}
