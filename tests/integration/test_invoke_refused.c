/* SPDX-License-Identifier: MIT */
/*
 * test_invoke_refused.c: porter.h's promise for a refused invoke(), through
 * the built porter.so on every path that hands work back to the loop from
 * porter's own threads and has no such test elsewhere: the directory watch
 * (an edit by porter-admin) and the lockout control (porter-admin unlock).
 * The recorder's path is test_blackbox.c's invoke_fails_*; the outbox's is
 * test_webhook_reversals.c's.
 *
 * The host refuses porter's next invokes (refusing_invoke.h), noting when
 * each came: porter must ask again after 1 ms, then 2, 4 ... ms, at most a
 * second apart, and the work must be done once the host takes it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "admin_run.h"
#include "recording_host.h"
#include "refusing_invoke.h"

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
	refusing_invoke_install(&services);
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
	refusing_invoke_arm(REFUSALS);
	assert_int_equal(fx_add_person(fx_env("PORTER_ADMIN"), s->dir, "m-ben", "member",
	                               "Ben Okafor", PIN_BEN, NULL, NULL),
	                 0);
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 2 people", 15000));
	assert_int_equal(assert_refused_with_backoff(REFUSALS), 1); /* the watch's path */
	refusing_invoke_arm(0);
	assert_string_equal(present(s, "side", PIN_BEN), "checked_in");
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
	refusing_invoke_arm(REFUSALS);
	assert_int_equal(
	        admin_run(s->dir, &run, "unlock", "--state-dir", s->dir, "--reader", "front", NULL),
	        0);
	assert_int_equal(run.status, 0);
	assert_true(
	        wait_log(s, PORTER_LOG_NOTICE, "reader front: lockout lifted by an admin", 15000));
	assert_int_equal(assert_refused_with_backoff(REFUSALS), 1); /* the control's path */
	refusing_invoke_arm(0);
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
