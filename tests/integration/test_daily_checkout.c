/* SPDX-License-Identifier: MIT */
/*
 * test_daily_checkout.c: the daily check-out through the built porter.so
 * (host_loop, porter.h only), on the real clock: a cut-off that passed while
 * porter was down is done when it starts, recorded at the cut-off, for those
 * in since before it only; the first PIN after it is a check-in; a reload
 * that turns it off leaves porter without its timer. The schedule itself
 * (before, at, after, daylight saving) is tested on a fake wall clock in
 * tests/unit/test_cutoff.c.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "host_loop.h"
#include "porter.h"
#include "loaded_porter.h"
#include "porter_fixture.h"

#define PIN_ANA  "482913"
#define PIN_BEN  "736150"
#define MAX_SEEN 128
#define TEXT_MAX 512

struct site {
	char dir[FX_PATH_MAX];
	char db_path[FX_PATH_MAX + 32];
	struct host_loop *loop;
	porter_plugin *porter;
	uint64_t last_request_id;
	char logs[MAX_SEEN][TEXT_MAX];
	size_t n_logs;
	char last_code[64];
	bool completed;
	size_t n_feedback;
};


static void rec_log(void *userdata, uint32_t level, const char *message)
{
	struct site *s = userdata;
	assert_null(strstr(message, PIN_ANA));
	assert_null(strstr(message, PIN_BEN));
	if (s->n_logs < MAX_SEEN)
		snprintf(s->logs[s->n_logs++], TEXT_MAX, "%s", message);
	if (level <= PORTER_LOG_WARNING || fx_env("PORTER_TEST_VERBOSE"))
		fprintf(stderr, "  porter %s: %s\n", host_loop_level_name(level), message);
}

static int rec_feedback(void *userdata, const struct porter_feedback *fb)
{
	struct site *s = userdata;
	s->n_feedback++;
	snprintf(s->last_code, sizeof(s->last_code), "%s", fb->code ? fb->code : "");
	return 0;
}

static int rec_door(void *userdata, const char *reader_id, uint32_t ms)
{
	return 0;
}

static void rec_complete(void *userdata, uint64_t request_id, const struct porter_result *res)
{
	struct site *s = userdata;
	s->completed = true;
	snprintf(s->last_code, sizeof(s->last_code), "%s", res->code ? res->code : "");
}

static bool logged(const struct site *s, const char *needle)
{
	for (size_t i = 0; i < s->n_logs; i++)
		if (strstr(s->logs[i], needle))
			return true;
	return false;
}

static void run_for(struct site *s, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;
	for (uint64_t now; (now = host_loop_now_us(s->loop)) < end;)
		host_loop_run_once(s->loop, (int)((end - now + 999) / 1000));
}

static bool wait_log(struct site *s, const char *needle, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;
	while (!logged(s, needle) && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	return logged(s, needle);
}

static const char *present(struct site *s, const char *pin)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = "front",
	        .pin = pin,
	        .pin_len = strlen(pin),
	};
	s->completed = false;
	s->last_code[0] = '\0';
	if (api->on_pin(s->porter, &ev) == PORTER_VERDICT_PENDING) {
		uint64_t end = host_loop_now_us(s->loop) + 5000000u;
		while (!s->completed && host_loop_now_us(s->loop) < end)
			host_loop_run_once(s->loop, 20);
		assert_true(s->completed);
	}
	return s->last_code;
}

static void start(struct site *s, const char *extra)
{
	char *config = fx_config(s->dir, extra);
	assert_non_null(config);
	int r = api->init(host_loop_services(s->loop), config, strlen(config), NULL, NULL,
	                  &s->porter);
	free(config);
	assert_int_equal(r, 0);
}

static void stop(struct site *s)
{
	api->shutdown(s->porter);
	s->porter = NULL;
	host_loop_drop_invokes(s->loop);
	assert_int_equal(host_loop_n_timers(s->loop), 0);
}

static void sql(struct site *s, const char *statement, const char *arg, char *out, size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(s->db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, statement, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
	if (out) {
		out[0] = '\0';
		if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void iso(int64_t t, char ret[40])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(ret, 40, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

/* ---- tests --------------------------------------------------------------- */

/* The cut-off was two hours ago, in UTC, and porter was down over it: Ana
 * came in before it, Ben after. At start Ana is checked out, recorded at the
 * cut-off; Ben stays in; Ana's next PIN checks her in. */
static void a_cutoff_missed_while_down_is_done_at_start(void **state)
{
	struct site *s = *state;
	char extra[160], hhmm[8], cut[40], before[40], got[256];
	int64_t cutoff = (time(NULL) - 7200) / 60 * 60;
	time_t tt = (time_t)cutoff;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
	snprintf(extra, sizeof(extra),
	         ",\"daily_checkout\":{\"enabled\":true,\"time\":\"%s\",\"time_zone\":\"UTC\"}",
	         hhmm);
	iso(cutoff, cut);
	iso(cutoff - 3600, before);

	start(s, extra);
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	assert_string_equal(present(s, PIN_BEN), "checked_in");
	stop(s);
	/* Ana's check-in, as if she had come in an hour before the cut-off. */
	sql(s, "UPDATE presence SET since = ? WHERE person_id = 'm-ana'", before, NULL, 0);

	s->n_logs = 0;
	start(s, extra);
	assert_true(wait_log(s, "daily check-out: 1 person checked out", 5000));
	sql(s,
	    "SELECT direction || ' ' || cause || ' ' || recorded_at FROM presence_log"
	    " WHERE person_id = 'm-ana' ORDER BY seq DESC LIMIT 1",
	    NULL, got, sizeof(got));
	char want[80];
	snprintf(want, sizeof(want), "out daily_cutoff %s", cut);
	assert_string_equal(got, want);
	sql(s, "SELECT state FROM presence WHERE person_id = 'm-ben'", NULL, got, sizeof(got));
	assert_string_equal(got, "in");
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	stop(s);

	/* A second start has nothing to catch up on. */
	s->n_logs = 0;
	start(s, extra);
	run_for(s, 50);
	assert_false(logged(s, "daily check-out"));
	stop(s);
}

/* A named zone, read by porter's own reader: the host process runs in UTC
 * (set in main), the site in Asia/Kolkata (05:30 ahead, no daylight
 * saving). The cut-off written as Kolkata's time of day two hours ago is
 * caught up at start and recorded at that instant. */
static void a_named_zone_gives_the_time_of_day(void **state)
{
	struct site *s = *state;
	char extra[160], hhmm[8], cut[40], before[40], got[256], want[80];
	int64_t cutoff = (time(NULL) - 7200) / 60 * 60;
	time_t kolkata = (time_t)(cutoff + 5 * 3600 + 1800);
	struct tm tm;
	gmtime_r(&kolkata, &tm);
	strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
	snprintf(extra, sizeof(extra),
	         ",\"daily_checkout\":{\"enabled\":true,\"time\":\"%s\","
	         "\"time_zone\":\"Asia/Kolkata\"}",
	         hhmm);
	iso(cutoff, cut);
	iso(cutoff - 3600, before);

	start(s, extra);
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	stop(s);
	sql(s, "UPDATE presence SET since = ? WHERE person_id = 'm-ana'", before, NULL, 0);
	s->n_logs = 0;
	start(s, extra);
	assert_true(wait_log(s, "daily check-out: 1 person checked out", 5000));
	sql(s,
	    "SELECT direction || ' ' || cause || ' ' || recorded_at FROM presence_log"
	    " WHERE person_id = 'm-ana' ORDER BY seq DESC LIMIT 1",
	    NULL, got, sizeof(got));
	snprintf(want, sizeof(want), "out daily_cutoff %s", cut);
	assert_string_equal(got, want);
	stop(s);
}

/* Off (the default): nobody is checked out, however long they have been in,
 * and porter keeps no timer for it. */
static void off_by_default_nobody_is_checked_out(void **state)
{
	struct site *s = *state;
	char got[64];
	start(s, "");
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	stop(s);
	sql(s, "UPDATE presence SET since = '2020-01-01T00:00:00.000000Z'", NULL, NULL, 0);
	start(s, "");
	assert_int_equal(host_loop_n_timers(s->loop), 0);
	run_for(s, 50);
	sql(s, "SELECT state FROM presence WHERE person_id = 'm-ana'", NULL, got, sizeof(got));
	assert_string_equal(got, "in");
	stop(s);
}

static void reload(struct site *s, const char *extra)
{
	char *config = fx_config(s->dir, extra);
	assert_non_null(config);
	assert_int_equal(api->reload(s->porter, config, strlen(config), NULL, NULL), 0);
	free(config);
}

/* Turned on by a reload, it catches up at once on the cut-off that passed
 * (anyone in since before it goes out); turned off, its timer goes. */
static void a_reload_turns_it_on_and_off(void **state)
{
	struct site *s = *state;
	char got[64], extra[160], hhmm[8];
	time_t cutoff = time(NULL) - 7200;
	struct tm tm;
	gmtime_r(&cutoff, &tm);
	strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
	snprintf(extra, sizeof(extra),
	         ",\"daily_checkout\":{\"enabled\":true,\"time\":\"%s\",\"time_zone\":\"UTC\"}",
	         hhmm);
	start(s, "");
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	stop(s);
	sql(s, "UPDATE presence SET since = '2020-01-01T00:00:00.000000Z'", NULL, NULL, 0);
	start(s, "");
	size_t timers = host_loop_n_timers(s->loop);
	reload(s, extra);
	assert_true(wait_log(s, "daily check-out: 1 person checked out", 5000));
	sql(s, "SELECT state FROM presence WHERE person_id = 'm-ana'", NULL, got, sizeof(got));
	assert_string_equal(got, "out");
	assert_int_equal(host_loop_n_timers(s->loop), timers + 1);
	reload(s, "");
	assert_int_equal(host_loop_n_timers(s->loop), timers);
	stop(s);
}

static int site_setup(void **state)
{
	const char *admin_path = fx_env("PORTER_ADMIN");
	struct site *s = calloc(1, sizeof(*s));
	struct host_loop_callbacks cb = {
	        .log = rec_log,
	        .door_unlock = rec_door,
	        .feedback = rec_feedback,
	        .complete = rec_complete,
	};
	if (!s || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	*state = s;
	snprintf(s->db_path, sizeof(s->db_path), "%s/presence.db", s->dir);
	cb.userdata = s;
	s->loop = host_loop_new(&cb);
	if (!s->loop || fx_keygen(admin_path, s->dir) != 0 ||
	    fx_add_person(admin_path, s->dir, "m-ana", "member", "Ana Souza", PIN_ANA, NULL,
	                  NULL) != 0 ||
	    fx_add_person(admin_path, s->dir, "m-ben", "member", "Ben Okafor", PIN_BEN, NULL,
	                  NULL) != 0)
		return -1;
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;
	if (!s)
		return 0;
	if (s->porter)
		api->shutdown(s->porter);
	host_loop_drop_invokes(s->loop);
	host_loop_free(s->loop);
	fx_rmrf(s->dir);
	free(s);
	return 0;
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        CASE(a_cutoff_missed_while_down_is_done_at_start),
	        CASE(a_named_zone_gives_the_time_of_day),
	        CASE(off_by_default_nobody_is_checked_out),
	        CASE(a_reload_turns_it_on_and_off),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must be set (meson test sets them)\n");
		return 77;
	}
	/* The host's own zone is not the site's: porter must not use it. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
