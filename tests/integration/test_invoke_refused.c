/* SPDX-License-Identifier: MIT */
/*
 * test_invoke_refused.c: porter.h's promise for a refused invoke(), through
 * the built porter.so on every path that hands work back to the loop from
 * porter's own threads and has no such test elsewhere: the directory watch
 * (an edit by porter-admin) and the lockout control (porter-admin unlock).
 * The recorder's path is test_blackbox.c's invoke_fails_*; the outbox's is
 * test_webhook_reversals.c's.
 *
 * The host refuses porter's next invokes, noting when each came: porter
 * must ask again after 1 ms, then 2, 4 ... ms, at most a second apart, and
 * the work must be done once the host takes it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "admin_run.h"
#include "recording_host.h"

#define MAX_REFUSED 64
/* Lateness allowed on a retry: a loaded machine or valgrind delays a
 * thread's wake-up, never advances it. */
#define LATE_SLACK_US 1500000

/* porter's invokes that the host refused, in order. */
static struct {
	pthread_mutex_t lock;
	int to_refuse; /* invokes still to refuse */
	size_t n;
	porter_invoke_fn cb[MAX_REFUSED];
	uint64_t at_us[MAX_REFUSED]; /* CLOCK_MONOTONIC */
} refused = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The host's invoke: refuses while to_refuse lasts (its queue is "full"). */
static int refusing_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	pthread_mutex_lock(&refused.lock);
	if (refused.to_refuse > 0 && refused.n < MAX_REFUSED) {
		refused.to_refuse--;
		refused.cb[refused.n] = cb;
		refused.at_us[refused.n++] = mono_us();
		pthread_mutex_unlock(&refused.lock);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&refused.lock);
	return host_loop_invoke(host, cb, userdata);
}

static void refuse_next(int n)
{
	pthread_mutex_lock(&refused.lock);
	refused.to_refuse = n;
	refused.n = 0;
	pthread_mutex_unlock(&refused.lock);
}

/* Every refused invoke was asked again: the k-th time after at least
 * min(2^k ms, 1 s) and not much later, and all `n` refusals came. */
static void assert_backoff(int n)
{
	pthread_mutex_lock(&refused.lock);
	assert_int_equal(refused.n, (size_t)n);
	assert_int_equal(refused.to_refuse, 0);
	uint64_t want_us = 1000;
	for (size_t i = 1; i < refused.n; i++) {
		uint64_t gap = refused.at_us[i] - refused.at_us[i - 1];
		assert_ptr_equal(refused.cb[i], refused.cb[0]); /* the same hand-back */
		if (gap < want_us || gap > want_us + LATE_SLACK_US)
			fail_msg("retry %zu came %llu us after the last, want %llu us", i,
			         (unsigned long long)gap, (unsigned long long)want_us);
		want_us = want_us * 2 > 1000000 ? 1000000 : want_us * 2;
	}
	pthread_mutex_unlock(&refused.lock);
}

static int setup(void **state)
{
	return site_open(state,
	                 &(struct site_options){.people = FX_ANA, .echo_level = PORTER_LOG_ERROR});
}

/* Start porter with the refusing invoke in place of the loop's own. */
static void start_refusing(struct site *s, const char *extra)
{
	static struct porter_host_services services;
	services = s->services;
	services.invoke = refusing_invoke;
	refuse_next(0);
	assert_int_equal(start_with(s, &services, extra), 0);
	assert_non_null(s->porter);
}

static const char *present(struct site *s, const char *reader, const char *pin)
{
	uint64_t id;
	s->last_code[0] = '\0';
	if (hook_pin(s, reader, pin, strlen(pin), &id) == PORTER_VERDICT_PENDING)
		assert_non_null(wait_result(s, id));
	run_for(s, 10);
	return s->last_code;
}

/* 12 refusals: 1 + 2 + ... + 512 ms, then 1 s twice, about 3 s in all. */
#define REFUSALS 12

static void a_directory_edit_reaches_a_host_that_refused_it_for_a_while(void **state)
{
	struct site *s = *state;
	start_refusing(s, "");
	assert_string_equal(present(s, "front", PIN_BEN), "unknown_pin");
	refuse_next(REFUSALS);
	assert_int_equal(fx_add_person(fx_env("PORTER_ADMIN"), s->dir, "m-ben", "member",
	                               "Ben Okafor", PIN_BEN, NULL, NULL),
	                 0);
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 2 people", 15000));
	for (int i = 0; i < 150 && strcmp(present(s, "side", PIN_BEN), "checked_in") != 0; i++)
		run_for(s, 100);
	assert_string_equal(s->last_code, "checked_in");
	assert_backoff(REFUSALS);
	stop(s);
}

static void an_unlock_reaches_a_host_that_refused_it_for_a_while(void **state)
{
	struct site *s = *state;
	static struct admin_run run;
	static const char *const guesses[] = {"111111", "222222", "333333", "444444", "555555"};
	start_refusing(s, "");
	for (size_t i = 0; i < 5; i++)
		present(s, "front", guesses[i]);
	assert_string_equal(s->last_code, "locked_out");
	run_for(s, 200); /* the lockout written by porter's thread */
	refuse_next(REFUSALS);
	assert_int_equal(
	        admin_run(s->dir, &run, "unlock", "--state-dir", s->dir, "--reader", "front", NULL),
	        0);
	assert_int_equal(run.status, 0);
	assert_true(
	        wait_log(s, PORTER_LOG_NOTICE, "reader front: lockout lifted by an admin", 15000));
	assert_backoff(REFUSALS);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                a_directory_edit_reaches_a_host_that_refused_it_for_a_while, setup,
	                site_close),
	        cmocka_unit_test_setup_teardown(
	                an_unlock_reaches_a_host_that_refused_it_for_a_while, setup, site_close),
	};
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
