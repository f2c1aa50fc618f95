/* SPDX-License-Identifier: MIT */
/* refusing_invoke.c: a host that refuses porter's invokes for a while. See refusing_invoke.h. */
#include "refusing_invoke.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#define MAX_PATHS   8  /* callbacks told apart */
#define MAX_REFUSED 64 /* refusals timed per callback */
/* Lateness allowed on a retry: a loaded machine or valgrind delays a
 * thread's wake-up, never advances it. */
#define LATE_SLACK_US 1500000

static struct {
	pthread_mutex_t lock;
	int (*next)(void *host, porter_invoke_fn cb, void *userdata);
	int per_path; /* refusals each callback gets */
	size_t n_paths;
	struct {
		porter_invoke_fn cb;
		size_t n;
		uint64_t at_us[MAX_REFUSED]; /* CLOCK_MONOTONIC */
	} paths[MAX_PATHS];
} R = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int refusing_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	pthread_mutex_lock(&R.lock);
	size_t i = 0;
	while (i < R.n_paths && R.paths[i].cb != cb)
		i++;
	if (i == R.n_paths && R.per_path > 0 && i < MAX_PATHS)
		R.paths[R.n_paths++].cb = cb;
	if (i < R.n_paths && R.paths[i].n < (size_t)R.per_path && R.paths[i].n < MAX_REFUSED) {
		R.paths[i].at_us[R.paths[i].n++] = mono_us();
		pthread_mutex_unlock(&R.lock);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&R.lock);
	return R.next(host, cb, userdata);
}

void refusing_invoke_install(struct porter_host_services *services)
{
	if (services->invoke != refusing_invoke)
		R.next = services->invoke;
	services->invoke = refusing_invoke;
	refusing_invoke_arm(0);
}

void refusing_invoke_arm(int n)
{
	pthread_mutex_lock(&R.lock);
	R.per_path = n;
	R.n_paths = 0;
	pthread_mutex_unlock(&R.lock);
}

int assert_refused_with_backoff(int n)
{
	pthread_mutex_lock(&R.lock);
	for (size_t p = 0; p < R.n_paths; p++) {
		uint64_t want_us = 1000;
		if (R.paths[p].n != (size_t)n)
			fail_msg("path %zu: %zu refusals, want %d", p, R.paths[p].n, n);
		for (size_t i = 1; i < R.paths[p].n; i++) {
			uint64_t gap = R.paths[p].at_us[i] - R.paths[p].at_us[i - 1];
			if (gap < want_us || gap > want_us + LATE_SLACK_US)
				fail_msg("path %zu: retry %zu came %llu us after the last, want "
				         "%llu us",
				         p, i, (unsigned long long)gap,
				         (unsigned long long)want_us);
			want_us = want_us * 2 > 1000000 ? 1000000 : want_us * 2;
		}
	}
	int paths = (int)R.n_paths;
	pthread_mutex_unlock(&R.lock);
	return paths;
}
