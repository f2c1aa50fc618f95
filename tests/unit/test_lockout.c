/* SPDX-License-Identifier: MIT */
/* test_lockout.c: wrong PINs lock a reader for a growing time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lockout.h"

#define S 1000000ull

static const struct lockout_policy policy = {
	.max_attempts = 3, .window_us = 600 * S, .base_us = 30 * S, .max_us = 100 * S,
};

static void fail_n(struct lockout *l, int n, uint64_t *now)
{
	for (int i = 0; i < n; i++, *now += S)
		lockout_record_failure(l, &policy, *now);
}

static void test_locks_after_max_attempts(void **state)
{
	struct lockout l = {0};
	uint64_t now = 5 * S;
	assert_int_equal(lockout_record_failure(&l, &policy, now), 0);
	assert_int_equal(lockout_record_failure(&l, &policy, now + S), 0);
	assert_int_equal(lockout_remaining(&l, now + S), 0);
	assert_int_equal(lockout_record_failure(&l, &policy, now + 2 * S), 30 * S);
	assert_int_equal(lockout_remaining(&l, now + 2 * S), 30 * S);
	assert_int_equal(lockout_remaining(&l, now + 32 * S), 0);
}

static void test_each_lockout_doubles_up_to_the_cap(void **state)
{
	struct lockout l = {0};
	uint64_t now = S;
	uint64_t expect[] = {30 * S, 60 * S, 100 * S, 100 * S};
	for (int i = 0; i < 4; i++) {
		fail_n(&l, 2, &now);
		assert_int_equal(lockout_record_failure(&l, &policy, now), expect[i]);
		now += expect[i];
	}
}

static void test_failures_spread_beyond_the_window_do_not_lock(void **state)
{
	struct lockout l = {0};
	uint64_t now = S;
	for (int i = 0; i < 10; i++, now += 301 * S)
		assert_int_equal(lockout_record_failure(&l, &policy, now), 0);
}

static void test_a_quiet_window_forgives_the_escalation(void **state)
{
	struct lockout l = {0};
	uint64_t now = S;
	fail_n(&l, 3, &now); /* first lockout: 30 s */
	now += 30 * S + 600 * S;
	fail_n(&l, 2, &now);
	assert_int_equal(lockout_record_failure(&l, &policy, now), 30 * S); /* not 60 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locks_after_max_attempts),
		cmocka_unit_test(test_each_lockout_doubles_up_to_the_cap),
		cmocka_unit_test(test_failures_spread_beyond_the_window_do_not_lock),
		cmocka_unit_test(test_a_quiet_window_forgives_the_escalation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
