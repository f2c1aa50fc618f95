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
        .max_attempts = 3,
        .window_us = 600 * S,
        .base_us = 30 * S,
        .max_us = 100 * S,
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

static void test_each_further_wrong_pin_on_probation_locks_twice_as_long_up_to_the_cap(void **state)
{
	struct lockout l = {0};
	uint64_t now = S;
	fail_n(&l, 2, &now);
	assert_int_equal(lockout_record_failure(&l, &policy, now), 30 * S);
	uint64_t expect[] = {60 * S, 100 * S, 100 * S};
	for (int i = 0; i < 3; i++) {
		now = l.locked_until_us; /* the first moment a PIN is looked at again */
		assert_int_equal(lockout_record_failure(&l, &policy, now), expect[i]);
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

/* ---- the defaults, against an attacker (README, "PIN guessing: the arithmetic") ---- */

static const struct lockout_policy defaults = {
        .max_attempts = 5,
        .window_us = 600 * S,
        .base_us = 30 * S,
        .max_us = 900 * S,
};

#define DAY (86400 * S)

/* The figures README states for the defaults. */
#define GREEDY_GUESSES_PER_DAY 104
#define MOST_GUESSES_PER_DAY   690

/*
 * An attacker at one reader for 24 hours, starting from a fresh reader, who
 * repeats: `burst` wrong PINs, each as soon as the reader looks at a PIN
 * again (typing takes no time: the worst case), then `pause_us` of waiting
 * after the lockout, if any, ended. Returns the guesses made.
 */
static unsigned attack(const struct lockout_policy *p, unsigned burst, uint64_t pause_us)
{
	struct lockout l = {0};
	uint64_t t = 0;
	unsigned guesses = 0;
	for (;;) {
		for (unsigned i = 0; i < burst; i++) {
			if (t < l.locked_until_us)
				t = l.locked_until_us;
			if (t >= DAY)
				return guesses;
			lockout_record_failure(&l, p, t);
			guesses++;
		}
		if (t < l.locked_until_us)
			t = l.locked_until_us;
		t += pause_us;
	}
}

static void test_a_greedy_attacker_gets_the_guesses_readme_states(void **state)
{
	assert_int_equal(attack(&defaults, 1, 0), GREEDY_GUESSES_PER_DAY);
}

/* Bursts of 1-30 guesses, pauses of 0-80 minutes in 30 s steps: no way of
 * spacing the guesses gets more than README says; the best is 5 guesses,
 * then waiting out the 30 s lockout and one quiet window. */
static void test_no_pacing_beats_the_daily_figure_readme_states(void **state)
{
	unsigned best = 0, best_burst = 0;
	uint64_t best_pause = 0;
	for (unsigned burst = 1; burst <= 30; burst++) {
		for (uint64_t pause = 0; pause <= 80 * 60 * S; pause += 30 * S) {
			unsigned n = attack(&defaults, burst, pause);
			if (n > best) {
				best = n;
				best_burst = burst;
				best_pause = pause;
			}
		}
	}
	assert_int_equal(best, MOST_GUESSES_PER_DAY);
	assert_int_equal(best_burst, 5);
	assert_int_equal(best_pause, 600 * S);
}

/* The reported bug: a 900 s lockout is longer than the 600 s window and
 * used to count as the quiet window, so the escalation reset itself. */
static void test_the_escalation_does_not_fall_back_while_the_attacker_keeps_going(void **state)
{
	struct lockout l = {0};
	uint64_t t = 0, last = 0;
	unsigned lockouts = 0;
	while (t < DAY) {
		if (t < l.locked_until_us)
			t = l.locked_until_us;
		uint64_t len = lockout_record_failure(&l, &defaults, t);
		if (!len)
			continue;
		assert_true(len >= last); /* never back to a shorter lockout */
		if (++lockouts >= 6)
			assert_int_equal(len, 900 * S);
		last = len;
	}
	assert_true(lockouts > 50);
}

static void test_a_quiet_window_after_the_lockout_ends_forgives_it(void **state)
{
	struct lockout l = {0};
	uint64_t t = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(lockout_record_failure(&l, &defaults, t), 0);
	assert_int_equal(lockout_record_failure(&l, &defaults, t), 30 * S);
	t = l.locked_until_us + 600 * S; /* the lockout, then 10 quiet minutes */
	for (int i = 0; i < 4; i++)
		assert_int_equal(lockout_record_failure(&l, &defaults, t), 0);
	assert_int_equal(lockout_record_failure(&l, &defaults, t), 30 * S);
}

static void test_a_pause_shorter_than_the_window_after_the_lockout_does_not_forgive(void **state)
{
	struct lockout l = {0};
	for (int i = 0; i < 5; i++)
		lockout_record_failure(&l, &defaults, 0);
	/* 10 minutes after the last wrong PIN, but only 9.5 after the lockout. */
	assert_int_equal(lockout_record_failure(&l, &defaults, 600 * S), 60 * S);
}

static void test_each_quiet_window_steps_the_escalation_down_one_level(void **state)
{
	struct lockout l = {0};
	uint64_t t = 0;
	for (int i = 0; i < 4; i++)
		lockout_record_failure(&l, &defaults, t);
	for (int i = 0; i < 4; i++) { /* 30, 60, 120, 240 s */
		t = l.locked_until_us;
		assert_true(lockout_record_failure(&l, &defaults, t) > 0);
	}
	assert_int_equal(l.level, 4);
	t = l.locked_until_us + 600 * S; /* one quiet window: level 3 */
	for (int i = 0; i < 4; i++)
		assert_int_equal(lockout_record_failure(&l, &defaults, t), 0);
	assert_int_equal(lockout_record_failure(&l, &defaults, t), 240 * S);
	t = l.locked_until_us + 3 * 600 * S; /* three more: level 1 */
	for (int i = 0; i < 4; i++)
		assert_int_equal(lockout_record_failure(&l, &defaults, t), 0);
	assert_int_equal(lockout_record_failure(&l, &defaults, t), 60 * S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_locks_after_max_attempts),
	        cmocka_unit_test(
	                test_each_further_wrong_pin_on_probation_locks_twice_as_long_up_to_the_cap),
	        cmocka_unit_test(test_failures_spread_beyond_the_window_do_not_lock),
	        cmocka_unit_test(test_a_quiet_window_forgives_the_escalation),
	        cmocka_unit_test(test_a_greedy_attacker_gets_the_guesses_readme_states),
	        cmocka_unit_test(test_no_pacing_beats_the_daily_figure_readme_states),
	        cmocka_unit_test(
	                test_the_escalation_does_not_fall_back_while_the_attacker_keeps_going),
	        cmocka_unit_test(test_a_quiet_window_after_the_lockout_ends_forgives_it),
	        cmocka_unit_test(
	                test_a_pause_shorter_than_the_window_after_the_lockout_does_not_forgive),
	        cmocka_unit_test(test_each_quiet_window_steps_the_escalation_down_one_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
