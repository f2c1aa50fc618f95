/* SPDX-License-Identifier: MIT */
/*
 * test_utc_time.c: porter's one UTC timestamp writer (plugin/utc_time.c)
 * writes what glibc's gmtime_r + strftime write, to the character, across
 * leap days and centuries, pads microseconds, and refuses times whose text
 * would not read back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "utc_time.h"

/* What libc says, as the reference the arithmetic must match. */
static void libc_format(int64_t unix_s, char out[32])
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

static void leap_days_and_centuries_are_right(void **state)
{
	static const struct {
		int64_t s;
		const char *text;
	} cases[] = {
	        {0, "1970-01-01T00:00:00"},
	        {951782400, "2000-02-29T00:00:00"}, /* 2000: divisible by 400, leap */
	        {951868800, "2000-03-01T00:00:00"},
	        {1709164800, "2024-02-29T00:00:00"}, /* ordinary leap year */
	        {1735689599, "2024-12-31T23:59:59"}, /* day 366 */
	        {1677628800, "2023-03-01T00:00:00"}, /* 2023: no 29 February */
	        {4107456000, "2100-02-28T00:00:00"}, /* 2100: century, not leap */
	        {4107542400, "2100-03-01T00:00:00"},
	        {253402300799, "9999-12-31T23:59:59"},
	};
	char us[UTC_TIME_US_LEN + 1], s[UTC_TIME_S_LEN + 1], want[40];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(utc_time_format_us(cases[i].s * 1000000, us), UTC_TIME_US_LEN);
		snprintf(want, sizeof(want), "%s.000000Z", cases[i].text);
		assert_string_equal(us, want);
		assert_int_equal(utc_time_format_s(cases[i].s, s), UTC_TIME_S_LEN);
		snprintf(want, sizeof(want), "%sZ", cases[i].text);
		assert_string_equal(s, want);
	}
}

static void every_day_of_four_centuries_matches_libc(void **state)
{
	/* 1600-03-01 .. 2400-03-01 in steps of a day and a bit, so every hour,
	 * minute and second field takes many values and every leap rule fires. */
	char mine[UTC_TIME_S_LEN + 1], libc[32];
	for (int64_t t = -11670912000LL; t < 13574563200LL; t += 86400 + 3671) {
		assert_int_equal(utc_time_format_s(t, mine), UTC_TIME_S_LEN);
		libc_format(t, libc);
		strcat(libc, "Z");
		assert_string_equal(mine, libc);
	}
}

static void microseconds_are_padded_to_six_digits(void **state)
{
	char out[UTC_TIME_US_LEN + 1];
	utc_time_format_us(1764057600000005LL, out);
	assert_string_equal(out, "2025-11-25T08:00:00.000005Z");
	utc_time_format_us(1764057600120000LL, out);
	assert_string_equal(out, "2025-11-25T08:00:00.120000Z");
	utc_time_format_us(1764057600999999LL, out);
	assert_string_equal(out, "2025-11-25T08:00:00.999999Z");
	utc_time_format_us(1, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000001Z");
	assert_int_equal(strlen(out), UTC_TIME_US_LEN);
}

static void negative_and_huge_times_are_refused(void **state)
{
	char us[UTC_TIME_US_LEN + 1] = "x", s[UTC_TIME_S_LEN + 1] = "x";
	const int64_t bad_us[] = {-1, -1000000, INT64_MIN, 253402300800000000LL, INT64_MAX};
	for (size_t i = 0; i < sizeof(bad_us) / sizeof(bad_us[0]); i++) {
		memcpy(us, "x", 2);
		assert_int_equal(utc_time_format_us(bad_us[i], us), -ERANGE);
		assert_string_equal(us, "");
	}
	assert_int_equal(utc_time_format_us(253402300799999999LL, us), UTC_TIME_US_LEN);
	assert_string_equal(us, "9999-12-31T23:59:59.999999Z");

	/* Seconds reach back to year 1 (Nexudus's DateTime.MinValue), no further. */
	assert_int_equal(utc_time_format_s(-62135596800LL, s), UTC_TIME_S_LEN);
	assert_string_equal(s, "0001-01-01T00:00:00Z");
	const int64_t bad_s[] = {-62135596801LL, INT64_MIN, 253402300800LL, INT64_MAX};
	for (size_t i = 0; i < sizeof(bad_s) / sizeof(bad_s[0]); i++) {
		memcpy(s, "x", 2);
		assert_int_equal(utc_time_format_s(bad_s[i], s), -ERANGE);
		assert_string_equal(s, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(leap_days_and_centuries_are_right),
	        cmocka_unit_test(every_day_of_four_centuries_matches_libc),
	        cmocka_unit_test(microseconds_are_padded_to_six_digits),
	        cmocka_unit_test(negative_and_huge_times_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
