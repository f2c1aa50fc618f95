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
#include <sqlite3.h>

#include "config.h"
#include "cutoff.h"
#include "fake_host.h"
#include "keypad.h"
#include "plugin.h"

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

/* ---- the check-out, with a fake wall clock ------------------------------ */

static int64_t fake_wall_us;

static int64_t fake_wall(void)
{
	return fake_wall_us;
}

struct env {
	struct fake_host host;
	struct fake_site site;
	porter_plugin *plugin;
	uint64_t next_request;
};

/* A site whose wall clock reads `wall_s`; the daily check-out at `hhmm` in
 * `zone`. The timer porter armed at init (on the real clock) is re-armed on
 * the fake one. */
static struct env *env_start_repeat(int64_t wall_s, const char *hhmm, const char *zone,
                                    unsigned repeat_window_ms)
{
	struct env *env = calloc(1, sizeof(*env));
	char extra[256];
	fake_host_init(&env->host);
	struct fake_person people[] = {
	        {"m-ana", "member", "Ana Souza", "1234", NULL, NULL},
	        {"m-ben", "member", "Ben Okafor", "5678", NULL, NULL},
	};
	snprintf(extra, sizeof(extra),
	         "\"repeat_window_ms\": %u, \"daily_checkout\": {\"enabled\": true, \"time\": "
	         "\"%s\", \"time_zone\": \"%s\"}",
	         repeat_window_ms, hhmm, zone);
	fake_site_create(&env->site, people, 2, extra);
	assert_int_equal(plugin_init(&env->host.services, env->site.config,
	                             strlen(env->site.config), NULL, NULL, &env->plugin),
	                 0);
	fake_wall_us = wall_s * 1000000;
	env->plugin->engine.wall_clock_us = fake_wall;
	daily_checkout_arm(&env->plugin->daily);
	return env;
}

static struct env *env_start(int64_t wall_s, const char *hhmm, const char *zone)
{
	return env_start_repeat(wall_s, hhmm, zone, 0);
}

static void env_free(struct env *env)
{
	if (env->plugin)
		plugin_shutdown(env->plugin);
	fake_site_destroy(&env->site);
	fake_host_destroy(&env->host);
	free(env);
}

/* Both clocks move together, as they do on a controller. */
static void advance_to(struct env *env, int64_t wall_s)
{
	uint64_t delta = (uint64_t)(wall_s * 1000000 - fake_wall_us);
	fake_wall_us = wall_s * 1000000;
	fake_host_advance(&env->host, delta);
}

static const char *pin(struct env *env, const char *digits)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++env->next_request,
	        .reader_id = "front",
	        .pin = digits,
	        .pin_len = strlen(digits),
	};
	int r = keypad_on_pin(env->plugin, &ev);
	if (r == PORTER_VERDICT_PENDING) {
		assert_true(fake_host_wait_completions(&env->host, env->host.n_completions + 1));
		return env->host.completions[env->host.n_completions - 1].code;
	}
	return fake_host_last_code(&env->host);
}

/* The cut-off's changes are written by the recorder thread: run its answer. */
static void settle(struct env *env)
{
	assert_true(fake_host_run_next_invokes(&env->host));
}

static char *db_text(struct env *env, const char *sql)
{
	static char out[512];
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(env->site.database_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

#define ANA_STATE "SELECT state FROM presence WHERE person_id = 'm-ana'"
#define ANA_LAST                                                                              \
	"SELECT direction || ' ' || cause || ' ' || recorded_at || ' [' || reader_id || ']' " \
	"FROM presence_log WHERE person_id = 'm-ana' ORDER BY seq DESC LIMIT 1"

static void test_everyone_in_is_checked_out_at_the_cutoff_not_before(void **state)
{
	struct env *env = env_start(utc(2026, 11, 26, 22, 0), "23:30", "UTC");
	assert_string_equal(pin(env, "1234"), "checked_in");
	size_t feedback = env->host.n_feedback, completions = env->host.n_completions;
	advance_to(env, utc(2026, 11, 26, 23, 29) + 59);
	assert_string_equal(db_text(env, ANA_STATE), "in");
	assert_false(fake_host_logged(&env->host, "daily check-out"));

	advance_to(env, utc(2026, 11, 26, 23, 30));
	settle(env);
	assert_string_equal(db_text(env, ANA_STATE), "out");
	assert_string_equal(db_text(env, ANA_LAST),
	                    "out daily_cutoff 2026-11-26T23:30:00.000000Z []");
	assert_true(fake_host_logged(&env->host, "daily check-out: 1 person checked out"));
	/* Nobody is at a reader: no feedback, no completion. */
	assert_int_equal(env->host.n_feedback, feedback);
	assert_int_equal(env->host.n_completions, completions);

	/* The next morning's first PIN is a check-in; Ben was never in. */
	advance_to(env, utc(2026, 11, 27, 8, 0));
	assert_string_equal(pin(env, "1234"), "checked_in");
	assert_string_equal(db_text(env, "SELECT count(*) FROM presence_log "
	                                 "WHERE person_id = 'm-ben'"),
	                    "0");
	env_free(env);
	(void)state;
}

/* The timer fires late (the wall clock ran ahead of the monotonic delay):
 * whoever came in after the cut-off instant is not sent out by it. */
static void test_who_came_in_after_the_cutoff_instant_stays_in(void **state)
{
	struct env *env = env_start(utc(2026, 11, 26, 23, 25), "23:30", "UTC");
	assert_string_equal(pin(env, "5678"), "checked_in");
	fake_wall_us = utc(2026, 11, 26, 23, 31) * 1000000; /* no timer has fired yet */
	assert_string_equal(pin(env, "1234"), "checked_in");
	advance_to(env, utc(2026, 11, 26, 23, 40));
	settle(env);
	assert_string_equal(db_text(env, ANA_STATE), "in");
	assert_string_equal(db_text(env, "SELECT state FROM presence WHERE person_id = 'm-ben'"),
	                    "out");
	env_free(env);
	(void)state;
}

/* Ana came in a second before the cut-off and types her PIN again a second
 * after it, within the repeat window: that is a check-in, not "already out". */
static void test_the_first_pin_after_the_cutoff_is_a_check_in_even_at_once(void **state)
{
	struct env *env = env_start_repeat(utc(2026, 11, 26, 23, 29) + 59, "23:30", "UTC", 3000);
	assert_string_equal(pin(env, "1234"), "checked_in");
	advance_to(env, utc(2026, 11, 26, 23, 30));
	settle(env);
	advance_to(env, utc(2026, 11, 26, 23, 30) + 1);
	assert_string_equal(pin(env, "1234"), "checked_in");
	env_free(env);
	(void)state;
}

/* Porter was down at the cut-off (or the clock was): the next run checks
 * out, recorded at the cut-off that passed, whoever is in since before it;
 * a second run changes nothing. */
static void test_a_missed_cutoff_is_caught_up_once(void **state)
{
	struct env *env = env_start(utc(2026, 11, 26, 20, 0), "23:30", "UTC");
	assert_string_equal(pin(env, "1234"), "checked_in");
	plugin_shutdown(env->plugin);
	env->plugin = NULL;
	assert_int_equal(plugin_init(&env->host.services, env->site.config,
	                             strlen(env->site.config), NULL, NULL, &env->plugin),
	                 0);
	env->plugin->engine.wall_clock_us = fake_wall;
	fake_wall_us = utc(2026, 11, 28, 7, 0) * 1000000; /* two cut-offs later */
	daily_checkout_arm(&env->plugin->daily);
	settle(env);
	assert_string_equal(db_text(env, ANA_STATE), "out");
	assert_string_equal(db_text(env, ANA_LAST),
	                    "out daily_cutoff 2026-11-27T23:30:00.000000Z []");
	daily_checkout_arm(&env->plugin->daily);
	assert_string_equal(db_text(env, "SELECT count(*) FROM presence_log"), "2");
	assert_string_equal(pin(env, "1234"), "checked_in");
	env_free(env);
	(void)state;
}

/* A PIN while the check-out is being written is asked to wait a moment
 * (not answered with a check-in the store never saw); the next is a check-in. */
static void test_a_pin_during_the_checkout_write_is_asked_to_wait(void **state)
{
	struct env *env = env_start(utc(2026, 11, 26, 22, 0), "23:30", "UTC");
	assert_string_equal(pin(env, "1234"), "checked_in");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(env->site.database_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	advance_to(env, utc(2026, 11, 26, 23, 31));
	assert_string_equal(pin(env, "1234"), "busy");
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	settle(env);
	assert_string_equal(db_text(env, ANA_LAST),
	                    "out daily_cutoff 2026-11-26T23:30:00.000000Z []");
	assert_string_equal(pin(env, "1234"), "checked_in");
	env_free(env);
	(void)state;
}

/* Europe/Berlin, 02:30: on 2026-03-29 it does not exist (done at 03:00
 * CEST, when the gap ends), on 2026-10-25 it happens twice (done once, at
 * the first). Walked in ten-minute steps, as a controller lives through it. */
static void walk(struct env *env, int64_t to_s)
{
	while (fake_wall_us / 1000000 < to_s) {
		advance_to(env, fake_wall_us / 1000000 + 600);
		while (env->plugin->engine.cutoff_in_flight)
			settle(env);
	}
}

static void test_the_spring_gap_does_not_skip_the_cutoff(void **state)
{
	struct env *env = env_start(utc(2026, 3, 28, 12, 0), "02:30", "local");
	assert_string_equal(pin(env, "1234"), "checked_in");
	walk(env, utc(2026, 3, 29, 0, 50));
	assert_string_equal(db_text(env, ANA_STATE), "in");
	walk(env, utc(2026, 3, 29, 1, 10));
	assert_string_equal(db_text(env, ANA_STATE), "out");
	assert_string_equal(db_text(env, ANA_LAST),
	                    "out daily_cutoff 2026-03-29T01:00:00.000000Z []");
	env_free(env);
	(void)state;
}

static void test_the_autumn_repeat_does_not_repeat_the_cutoff(void **state)
{
	struct env *env = env_start(utc(2026, 10, 24, 12, 0), "02:30", "local");
	assert_string_equal(pin(env, "1234"), "checked_in");
	walk(env, utc(2026, 10, 25, 0, 40));
	assert_string_equal(db_text(env, ANA_LAST),
	                    "out daily_cutoff 2026-10-25T00:30:00.000000Z []");
	/* Back in at 02:10 CET, before 02:30 comes round again. */
	walk(env, utc(2026, 10, 25, 1, 10));
	assert_string_equal(pin(env, "1234"), "checked_in");
	walk(env, utc(2026, 10, 25, 12, 0));
	assert_string_equal(db_text(env, ANA_STATE), "in");
	walk(env, utc(2026, 10, 26, 1, 40)); /* 02:30 CET the next day */
	assert_string_equal(db_text(env, ANA_LAST),
	                    "out daily_cutoff 2026-10-26T01:30:00.000000Z []");
	env_free(env);
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
	        cmocka_unit_test(test_everyone_in_is_checked_out_at_the_cutoff_not_before),
	        cmocka_unit_test(test_who_came_in_after_the_cutoff_instant_stays_in),
	        cmocka_unit_test(test_the_first_pin_after_the_cutoff_is_a_check_in_even_at_once),
	        cmocka_unit_test(test_a_missed_cutoff_is_caught_up_once),
	        cmocka_unit_test(test_a_pin_during_the_checkout_write_is_asked_to_wait),
	        cmocka_unit_test(test_the_spring_gap_does_not_skip_the_cutoff),
	        cmocka_unit_test(test_the_autumn_repeat_does_not_repeat_the_cutoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
