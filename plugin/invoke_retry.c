/* SPDX-License-Identifier: MIT */
/* invoke_retry.c: asking a host that refused an invoke again. See invoke_retry.h. */
#include "invoke_retry.h"

#include <errno.h>

void invoke_retry_note(struct invoke_retry *r, int invoke_result)
{
	if (invoke_result >= 0) {
		r->delay_us = 0;
		return;
	}
	r->delay_us = !r->delay_us                            ? INVOKE_RETRY_FIRST_US
	              : r->delay_us * 2 > INVOKE_RETRY_MAX_US ? INVOKE_RETRY_MAX_US
	                                                      : r->delay_us * 2;
	clock_gettime(CLOCK_MONOTONIC, &r->due);
	r->due.tv_sec += (time_t)(r->delay_us / 1000000);
	r->due.tv_nsec += (long)(r->delay_us % 1000000) * 1000;
	if (r->due.tv_nsec >= 1000000000) {
		r->due.tv_sec++;
		r->due.tv_nsec -= 1000000000;
	}
}

bool invoke_retry_pending(const struct invoke_retry *r)
{
	return r->delay_us != 0;
}

bool invoke_retry_wait(const struct invoke_retry *r, pthread_cond_t *wake, pthread_mutex_t *lock)
{
	if (!r->delay_us) {
		pthread_cond_wait(wake, lock);
		return false;
	}
	return pthread_cond_timedwait(wake, lock, &r->due) == ETIMEDOUT;
}

static int64_t us_until_due(const struct invoke_retry *r)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(r->due.tv_sec - now.tv_sec) * 1000000 +
	       (r->due.tv_nsec - now.tv_nsec) / 1000;
}

int invoke_retry_poll_ms(const struct invoke_retry *r)
{
	if (!r->delay_us)
		return -1;
	int64_t us = us_until_due(r);
	return us <= 0 ? 0 : (int)((us + 999) / 1000);
}

bool invoke_retry_due(const struct invoke_retry *r)
{
	return r->delay_us && us_until_due(r) <= 0;
}

int invoke_retry_cond_init(pthread_cond_t *wake)
{
	pthread_condattr_t attr;
	int r = pthread_condattr_init(&attr);
	if (r)
		return r;
	/* Retries ignore wall-clock steps. */
	r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(wake, &attr);
	pthread_condattr_destroy(&attr);
	return r;
}
