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

#include "invoke_retry.h"
#include "log.h"

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

	/* Door events: the loop fills `events` (under the lock); the thread
	 * swaps it with `events_taken` and writes that, so neither waits. */
	struct store_door_event *events, *events_taken; /* +1 slot: the summary */
	size_t n_events;
	unsigned long events_dropped;          /* past the bound, since the last take */
	struct store_door_event first_dropped; /* when and where dropping began */
	unsigned long events_failed;           /* could not be written; logged by deliver */
	struct recorder_retention retention;
	bool retention_set;
	struct timespec last_prune; /* monotonic; zero: not yet */
	bool prune_more;            /* the last prune hit its limit */
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
	unsigned long failed = r->events_failed;
	r->events_failed = 0;
	pthread_mutex_unlock(&r->lock);

	if (failed)
		plog(r->services, PORTER_LOG_ERROR,
		     "%lu denied attempts or lockouts could not be recorded in the presence "
		     "database (it could not be written)",
		     failed);
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

/* Thread, under the lock: take the door events waiting, with one summary
 * row for those that were only counted. */
static size_t take_events(struct recorder *r)
{
	struct store_door_event *taken = r->events;
	size_t m = r->n_events;
	r->events = r->events_taken;
	r->events_taken = taken;
	r->n_events = 0;
	if (r->events_dropped) {
		struct store_door_event *sum = &taken[m++];
		*sum = r->first_dropped;
		snprintf(sum->code, sizeof(sum->code), "not_recorded");
		sum->person_id[0] = '\0';
		snprintf(
		        sum->detail, sizeof(sum->detail),
		        "%lu denied attempts or lockouts from here on were not recorded: more than "
		        "%d were waiting for the disk",
		        r->events_dropped, RECORDER_DOOR_EVENTS_MAX);
		r->events_dropped = 0;
	}
	return m;
}

static int commit_batch(struct recorder *r, struct recorder_item *first, size_t n, size_t n_events,
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
	bool events_failed = false;
	int rc = store_record_with_events(r->store, (const struct store_change *const *)r->changes,
	                                  n, r->events_taken, n_events, &events_failed, text,
	                                  sizeof(text));
	if (rc < 0 || events_failed) {
		pthread_mutex_lock(&r->lock);
		r->events_failed += n_events;
		pthread_mutex_unlock(&r->lock);
	}
	if (rc == 0)
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
	bool ask = (r->decided || r->events_failed) && !r->delivery_scheduled && !r->stopping;
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

static bool prune_due(struct recorder *r, const struct timespec *now)
{
	if (r->prune_more || (!r->last_prune.tv_sec && !r->last_prune.tv_nsec))
		return true;
	uint64_t since = (uint64_t)(now->tv_sec - r->last_prune.tv_sec) * 1000000 +
	                 (uint64_t)((now->tv_nsec - r->last_prune.tv_nsec) / 1000);
	return since >= r->retention.every_us;
}

/* Thread: keep door_events within its bounds, not every batch: after the
 * first batch, then at most every retention.every_us (sooner while a
 * pruning hit its limit). A failure is tried again next time. */
static void prune_if_due(struct recorder *r)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&r->lock);
	struct recorder_retention ret = r->retention;
	bool due = r->retention_set && prune_due(r, &now);
	pthread_mutex_unlock(&r->lock);
	if (!due)
		return;
	int64_t before =
	        ret.max_age_us > 0 && ret.wall_clock_us ? ret.wall_clock_us() - ret.max_age_us : 0;
	char err[256];
	int n = store_prune_door_events(r->store, before, ret.max_rows, RECORDER_PRUNE_LIMIT, err,
	                                sizeof(err));
	r->prune_more = n == RECORDER_PRUNE_LIMIT;
	r->last_prune = now;
}

static void *recorder_thread(void *userdata)
{
	struct recorder *r = userdata;
	/* A host that refuses an invoke (its queue is full) is asked again
	 * (invoke_retry.h): decided changes never wait for some other event to
	 * be delivered. */
	struct invoke_retry retry = {0};
	pthread_mutex_lock(&r->lock);
	for (;;) {
		bool due = false;
		while (!r->queue && !r->n_events && !r->events_dropped && !r->stopping && !due)
			due = invoke_retry_wait(&retry, &r->wake, &r->lock);
		if (r->queue || r->n_events || r->events_dropped) {
			struct recorder_item *first, *last;
			size_t n = take_batch(r, &first, &last);
			size_t n_events = take_events(r);
			pthread_mutex_unlock(&r->lock);

			struct batch_error *err;
			int status = commit_batch(r, first, n, n_events, &err);
			for (struct recorder_item *i = first; i; i = i->next)
				i->status = status;
			if (first)
				hand_back(r, first, last, err);
			else
				free(err);
			prune_if_due(r);
		} else if (r->stopping) {
			break; /* everything queued is committed; stop delivers it */
		} else {
			pthread_mutex_unlock(&r->lock);
		}

		invoke_retry_note(&retry, schedule_delivery(r) ? 0 : -EAGAIN);
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
	r->events = calloc(RECORDER_DOOR_EVENTS_MAX + 1, sizeof(*r->events));
	r->events_taken = calloc(RECORDER_DOOR_EVENTS_MAX + 1, sizeof(*r->events_taken));
	if (!r->events || !r->events_taken) {
		free(r->events);
		free(r->events_taken);
		free(r);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	invoke_retry_cond_init(&r->wake);
	int e = pthread_create(&r->thread, NULL, recorder_thread, r);
	if (e != 0) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		free(r->events);
		free(r->events_taken);
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

void recorder_note(struct recorder *r, const struct store_door_event *event)
{
	pthread_mutex_lock(&r->lock);
	bool was_idle = !r->queue && !r->n_events && !r->events_dropped;
	if (r->n_events < RECORDER_DOOR_EVENTS_MAX)
		r->events[r->n_events++] = *event;
	else if (!r->events_dropped++)
		r->first_dropped = *event;
	pthread_mutex_unlock(&r->lock);
	if (was_idle)
		pthread_cond_signal(&r->wake);
}

void recorder_set_retention(struct recorder *r, const struct recorder_retention *retention)
{
	pthread_mutex_lock(&r->lock);
	r->retention = *retention;
	r->retention_set = true;
	pthread_mutex_unlock(&r->lock);
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
	free(r->events);
	free(r->events_taken);
	free(r);
	return NULL;
}
