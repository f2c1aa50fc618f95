/* SPDX-License-Identifier: MIT */
/*
 * test_utc_time.c: porter's one UTC timestamp writer (plugin/utc_time.c)
 * writes what glibc's gmtime_r + strftime write, to the character, across
 * leap days and centuries, pads microseconds, and refuses times whose text
 * would not read back; its readers take back what it writes and read what
 * glibc's timegm reads, refusing every other text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static void milliseconds_are_nexudus_form_rounded_down(void **state)
{
	char out[UTC_TIME_MS_LEN + 1] = "x";
	assert_int_equal(utc_time_format_ms(1764057600123999LL, out), UTC_TIME_MS_LEN);
	assert_string_equal(out, "2025-11-25T08:00:00.123Z");
	utc_time_format_ms(1764057600000999LL, out);
	assert_string_equal(out, "2025-11-25T08:00:00.000Z");
	utc_time_format_ms(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	/* Before 1970 too, rounded towards the past as gmtime_r's second is. */
	utc_time_format_ms(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	utc_time_format_ms(-1000000, out);
	assert_string_equal(out, "1969-12-31T23:59:59.000Z");
	utc_time_format_ms(-62135596800000000LL, out);
	assert_string_equal(out, "0001-01-01T00:00:00.000Z");
	utc_time_format_ms(253402300799999999LL, out);
	assert_string_equal(out, "9999-12-31T23:59:59.999Z");
	assert_int_equal(strlen(out), UTC_TIME_MS_LEN);

	const int64_t bad[] = {-62135596800000001LL, INT64_MIN, 253402300800000000LL, INT64_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(out, "x", 2);
		assert_int_equal(utc_time_format_ms(bad[i], out), -ERANGE);
		assert_string_equal(out, "");
	}
}

/* The reader porter had before utc_time_parse_s (sscanf + timegm, the day
 * checked by timegm leaving it as it was): the reference it must match. */
static int libc_parse(const char *text, int64_t *ret)
{
	struct tm tm = {0};
	int consumed = 0;
	if (strlen(text) != 20 || text[10] != 'T' || text[19] != 'Z')
		return -EINVAL;
	for (int i = 0; i < 19; i++)
		if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
		    (text[i] < '0' || text[i] > '9'))
			return -EINVAL;
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
	    consumed != 20)
		return -EINVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	int mday = tm.tm_mday;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (tm.tm_mday != mday)
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

static void seconds_read_back_what_is_written(void **state)
{
	char text[UTC_TIME_S_LEN + 1];
	int64_t t;
	for (int64_t s = -62135596800LL; s < 253402300800LL; s += 86400 * 97 + 3671) {
		assert_int_equal(utc_time_format_s(s, text), UTC_TIME_S_LEN);
		assert_int_equal(utc_time_parse_s(text, &t), 0);
		assert_true(t == s);
	}
}

static void seconds_are_read_as_timegm_reads_them(void **state)
{
	static const char *const texts[] = {
	        "2026-11-25T08:00:00Z",
	        "0000-01-01T00:00:00Z",
	        "0000-02-29T12:00:00Z",
	        "0001-01-01T00:00:00Z",
	        "9999-12-31T23:59:59Z",
	        "2024-02-29T00:00:00Z",
	        "2023-02-29T00:00:00Z",
	        "2100-02-29T00:00:00Z",
	        "2000-02-29T00:00:00Z",
	        "2026-04-31T00:00:00Z",
	        "2026-04-30T00:00:00Z",
	        "2026-02-31T00:00:00Z",
	        "2026-11-25T12:00:60Z",
	        "2026-11-25T23:59:60Z",
	        "2026-11-25T23:58:60Z",
	        "2026-11-25T24:00:00Z",
	        "2026-11-25T08:60:00Z",
	        "2026-11-25T08:00:61Z",
	        "2026-00-25T08:00:00Z",
	        "2026-13-25T08:00:00Z",
	        "2026-11-00T08:00:00Z",
	        "2026-11-32T08:00:00Z",
	        "2026-11-25 08:00:00Z",
	        "2026-11-25T08:00:00+01",
	        "2026/11/25T08:00:00Z",
	        "2026-11-25T08-00:00Z",
	        "2026-11-25T08:00.00Z",
	        "2026-11-25T08:00:00z",
	        "2026-11-25T08:00:00ZZ",
	        "2026-11-25T08:00:0Z",
	        "+026-11-25T08:00:00Z",
	        " 026-11-25T08:00:00Z",
	        "2026-1a-25T08:00:00Z",
	        "20261-1-25T08:00:00Z",
	        "",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		int64_t mine = 7, libc = 7;
		int want = libc_parse(texts[i], &libc);
		assert_int_equal(utc_time_parse_s(texts[i], &mine), want);
		if (want == 0 && mine != libc)
			fail_msg("%s: %lld, timegm says %lld", texts[i], (long long)mine,
			         (long long)libc);
		if (want < 0)
			assert_true(mine == 7); /* untouched */
	}
	/* Every day and hour of two leap cycles, month ends included. */
	char text[32];
	for (int y = 1999; y <= 2001; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 27; d <= 32; d++)
				for (int h = 0; h < 24; h += 23) {
					int64_t mine = 7, libc = 7;
					snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:59:60Z",
					         y, m, d, h);
					int want = libc_parse(text, &libc);
					assert_int_equal(utc_time_parse_s(text, &mine), want);
					assert_true(mine == libc);
				}
}

static void microseconds_read_back_exactly(void **state)
{
	char text[UTC_TIME_US_LEN + 1];
	int64_t t;
	const int64_t cases[] = {
	        0, 1, 999999, 1764057600000005LL, 1764057600120000LL, 253402300799999999LL};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(utc_time_format_us(cases[i], text), UTC_TIME_US_LEN);
		assert_int_equal(utc_time_parse_us(text, &t), 0);
		assert_true(t == cases[i]);
	}
	static const char *const bad[] = {
	        "2026-11-25T08:00:00Z",         "2026-11-25T08:00:00.12345Z",
	        "2026-11-25T08:00:00.1234567Z", "2026-11-25T08:00:00.123456",
	        "2026-11-25T08:00:00,123456Z",  "2026-11-25T08:00:00.12345aZ",
	        "2026-11-25T08:00:00.-12345Z",  "2026-02-30T08:00:00.123456Z",
	        "2026-11-25T08:00:00.123456ZZ", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 7;
		assert_int_equal(utc_time_parse_us(bad[i], &t), -EINVAL);
		assert_true(t == 7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(leap_days_and_centuries_are_right),
	        cmocka_unit_test(every_day_of_four_centuries_matches_libc),
	        cmocka_unit_test(microseconds_are_padded_to_six_digits),
	        cmocka_unit_test(negative_and_huge_times_are_refused),
	        cmocka_unit_test(milliseconds_are_nexudus_form_rounded_down),
	        cmocka_unit_test(seconds_read_back_what_is_written),
	        cmocka_unit_test(seconds_are_read_as_timegm_reads_them),
	        cmocka_unit_test(microseconds_read_back_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
