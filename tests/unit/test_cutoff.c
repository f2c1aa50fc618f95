/* SPDX-License-Identifier: MIT */
/*
 * test_cutoff.c: the daily cut-off. The schedule arithmetic on ordinary days
 * and across both daylight saving changes (this test process runs in
 * Europe/Berlin: a test is the host and may set its own TZ; porter never
 * does), then the check-out itself with a fake wall clock on the fake host.
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

#include "config.h"
#include "cutoff.h"

/* Unix time of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
	        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
	return (int64_t)timegm(&tm);
}

static struct cutoff_rule rule(const char *hhmm, bool in_utc)
{
	struct cutoff_rule r = {.utc = in_utc};
	assert_int_equal(cutoff_parse_time(hhmm, &r.minute_of_day), 0);
	return r;
}

/* ---- schedule arithmetic ----------------------------------------------- */

static void test_times_and_zones_are_parsed_strictly(void **state)
{
	int m;
	bool u;
	assert_int_equal(cutoff_parse_time("00:00", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(cutoff_parse_time("23:59", &m), 0);
	assert_int_equal(m, 23 * 60 + 59);
	const char *bad[] = {"24:00", "12:60", "7:30",  "07:3",   "07-30",
	                     "0730",  "",      " 7:30", "07:30 ", "a7:30"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cutoff_parse_time(bad[i], &m), -EINVAL);
	assert_int_equal(cutoff_parse_zone("local", &u), 0);
	assert_false(u);
	assert_int_equal(cutoff_parse_zone("UTC", &u), 0);
	assert_true(u);
	assert_int_equal(cutoff_parse_zone("Europe/Berlin", &u), -EINVAL);
	assert_int_equal(cutoff_parse_zone(NULL, &u), -EINVAL);
	(void)state;
}

static void test_before_at_and_after_the_cutoff(void **state)
{
	struct cutoff_rule r = rule("23:30", true);
	int64_t c = utc(2026, 11, 26, 23, 30);
	assert_int_equal(cutoff_next(&r, c - 1), c);         /* before: tonight */
	assert_int_equal(cutoff_next(&r, c), c + 86400);     /* at: it is done, tomorrow */
	assert_int_equal(cutoff_next(&r, c + 1), c + 86400); /* after */
	assert_int_equal(cutoff_previous(&r, c - 1), c - 86400);
	assert_int_equal(cutoff_previous(&r, c), c);
	assert_int_equal(cutoff_previous(&r, c + 3600), c);
	(void)state;
}

static void test_midnight_in_the_local_zone(void **state)
{
	struct cutoff_rule r = rule("00:00", false);
	/* Berlin summer: midnight is 22:00 UTC the day before. */
	assert_int_equal(cutoff_next(&r, utc(2026, 6, 10, 12, 0)), utc(2026, 6, 10, 22, 0));
	/* Winter: 23:00 UTC. */
	assert_int_equal(cutoff_next(&r, utc(2026, 12, 10, 12, 0)), utc(2026, 12, 10, 23, 0));
	(void)state;
}

/* 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 never happens.
 * The cut-off is when the gap ends (03:00 CEST = 01:00 UTC): not skipped. */
static void test_a_cutoff_in_the_spring_gap_happens_when_the_gap_ends(void **state)
{
	struct cutoff_rule r = rule("02:30", false);
	int64_t day_before = utc(2026, 3, 28, 1, 30); /* 02:30 CET */
	int64_t gap_end = utc(2026, 3, 29, 1, 0);     /* 03:00 CEST */
	int64_t day_after = utc(2026, 3, 30, 0, 30);  /* 02:30 CEST */
	assert_int_equal(cutoff_next(&r, day_before), gap_end);
	assert_int_equal(cutoff_next(&r, gap_end - 1), gap_end);
	assert_int_equal(cutoff_next(&r, gap_end), day_after);
	assert_int_equal(cutoff_previous(&r, gap_end + 1), gap_end);
	assert_int_equal(cutoff_previous(&r, gap_end - 1), day_before);
	(void)state;
}

/* 2026-10-25 in Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 happens
 * twice. The first (CEST, 00:30 UTC) is the cut-off; the second is not. */
static void test_a_cutoff_that_happens_twice_is_done_once(void **state)
{
	struct cutoff_rule r = rule("02:30", false);
	int64_t first = utc(2026, 10, 25, 0, 30);
	int64_t second = utc(2026, 10, 25, 1, 30);
	int64_t next_day = utc(2026, 10, 26, 1, 30); /* 02:30 CET */
	assert_int_equal(cutoff_next(&r, first - 1), first);
	assert_int_equal(cutoff_next(&r, first), next_day);
	assert_int_equal(cutoff_next(&r, second), next_day);
	assert_int_equal(cutoff_previous(&r, second), first);
	assert_int_equal(cutoff_previous(&r, second + 60), first);
	(void)state;
}

/* Over two years, at times of day around both changes: exactly one cut-off
 * per local day, 23 to 25 hours apart. */
static void test_one_cutoff_per_day_all_year(void **state)
{
	const char *times[] = {"00:00", "01:59", "02:00", "02:30", "02:59", "03:00", "23:59"};
	for (size_t k = 0; k < sizeof(times) / sizeof(times[0]); k++) {
		struct cutoff_rule r = rule(times[k], false);
		int64_t c = cutoff_next(&r, utc(2026, 1, 1, 12, 0));
		for (int day = 0; day < 730; day++) {
			int64_t n = cutoff_next(&r, c);
			assert_in_range(n - c, 23 * 3600, 25 * 3600);
			assert_int_equal(cutoff_previous(&r, n - 1), c);
			assert_int_equal(cutoff_previous(&r, n), n);
			c = n;
		}
	}
	(void)state;
}

/* ---- config ------------------------------------------------------------ */

#define LOCAL                                                         \
	"\"local\": {\"directory\": \"/etc/porter/directory.json\", " \
	"\"database\": \"/var/lib/porter/porter.db\", "               \
	"\"pin_key_file\": \"/etc/porter/pin.key\"}"

static struct {
	size_t n;
	char code[8][48], path[8][80];
} seen;

static void collect(void *userdata, const struct porter_report *r)
{
	(void)userdata;
	if (seen.n < 8) {
		snprintf(seen.code[seen.n], sizeof(seen.code[0]), "%s", r->code);
		snprintf(seen.path[seen.n], sizeof(seen.path[0]), "%s", r->path ? r->path : "");
		seen.n++;
	}
}

static int parse(const char *text, struct config *c)
{
	seen.n = 0;
	return config_parse(text, strlen(text), c, collect, NULL);
}

static void test_daily_checkout_is_off_by_default(void **state)
{
	struct config *c = malloc(sizeof(*c));
	assert_int_equal(parse("{" LOCAL "}", c), 0);
	assert_false(c->daily_checkout);
	assert_int_equal(c->daily_checkout_at.minute_of_day, 0);
	assert_false(c->daily_checkout_at.utc);
	assert_int_equal(parse("{" LOCAL ", \"daily_checkout\": {\"enabled\": true, "
	                       "\"time\": \"23:30\", \"time_zone\": \"UTC\"}}",
	                       c),
	                 0);
	assert_true(c->daily_checkout);
	assert_int_equal(c->daily_checkout_at.minute_of_day, 23 * 60 + 30);
	assert_true(c->daily_checkout_at.utc);
	free(c);
	(void)state;
}

static void test_a_bad_time_or_zone_is_an_error_at_its_path(void **state)
{
	struct config *c = malloc(sizeof(*c));
	assert_int_equal(parse("{" LOCAL ", \"daily_checkout\": {\"enabled\": true, "
	                       "\"time\": \"24:00\", \"time_zone\": \"Mars/Olympus\"}}",
	                       c),
	                 -EINVAL);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.code[0], "PORTER-CFG-TIME");
	assert_string_equal(seen.path[0], "$.daily_checkout.time");
	assert_string_equal(seen.code[1], "PORTER-CFG-TIME-ZONE");
	assert_string_equal(seen.path[1], "$.daily_checkout.time_zone");
	/* Checked even while off: turning it on later must not surprise. */
	assert_int_equal(parse("{" LOCAL ", \"daily_checkout\": {\"time\": \"7:30\"}}", c),
	                 -EINVAL);
	assert_string_equal(seen.path[0], "$.daily_checkout.time");
	free(c);
	(void)state;
}

int main(void)
{
	/* The test is the host: it may choose its process's zone. */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_times_and_zones_are_parsed_strictly),
	        cmocka_unit_test(test_before_at_and_after_the_cutoff),
	        cmocka_unit_test(test_midnight_in_the_local_zone),
	        cmocka_unit_test(test_a_cutoff_in_the_spring_gap_happens_when_the_gap_ends),
	        cmocka_unit_test(test_a_cutoff_that_happens_twice_is_done_once),
	        cmocka_unit_test(test_one_cutoff_per_day_all_year),
	        cmocka_unit_test(test_daily_checkout_is_off_by_default),
	        cmocka_unit_test(test_a_bad_time_or_zone_is_an_error_at_its_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
