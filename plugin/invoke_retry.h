/* SPDX-License-Identifier: MIT */
/*
 * invoke_retry.h: porter.h's promise for a refused invoke(), kept in one
 * place. A host whose queue is full refuses; porter's thread asks again after
 * 1 ms, then 2, 4 ... ms, at most once a second, until the host takes it or
 * porter stops. The recorder, the directory watch, the lockout control and
 * the outbox each have a thread that hands results to the loop this way.
 *
 * The state is the thread's own (no lock): the thread records each invoke's
 * result and, while one is refused, waits no longer than the next try.
 */
#ifndef PORTER_INVOKE_RETRY_H
#define PORTER_INVOKE_RETRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define INVOKE_RETRY_FIRST_US 1000    /* the first try again, after a refusal */
#define INVOKE_RETRY_MAX_US   1000000 /* the longest wait between tries */

struct invoke_retry {
	uint64_t delay_us;   /* 0: nothing refused, nothing to ask again */
	struct timespec due; /* CLOCK_MONOTONIC */
};

/* After an invoke that returned `invoke_result`: 0 (taken) clears the retry;
 * a negative errno doubles the delay (1 ms first, 1 s at most) from now. */
void invoke_retry_note(struct invoke_retry *r, int invoke_result);

/* Whether a refused invoke waits to be asked again. */
bool invoke_retry_pending(const struct invoke_retry *r);

/* With `lock` held: wait on `wake` until it is signalled or, while a retry
 * is pending, until it is due. True when it woke because the retry is due
 * (ask again now). A pthread_cond_t made with invoke_retry_cond_init. */
bool invoke_retry_wait(const struct invoke_retry *r, pthread_cond_t *wake, pthread_mutex_t *lock);

/* For a thread that poll()s instead: the timeout until the retry is due, in
 * ms rounded up (0 when due now), or -1 (wait for ever) when none pending. */
int invoke_retry_poll_ms(const struct invoke_retry *r);

/* Whether the retry is due now (after a poll() that timed out, say). */
bool invoke_retry_due(const struct invoke_retry *r);

/* A condition variable on CLOCK_MONOTONIC, the clock `due` is on: a wall
 * clock set back must not stretch a 1 ms retry. 0 or a positive errno. */
int invoke_retry_cond_init(pthread_cond_t *wake);

#endif
