/* SPDX-License-Identifier: MIT */
/*
 * test_nexudus_reload.c: a reload never silently ignores a setting under
 * the Nexudus backend. The settings outside the backend's own sections that
 * the Nexudus driver builds its directory cache from are either applied by
 * a reload or refused by it with the setting named, the old config staying
 * whole (README "Reload"):
 *   - keypad.pin_min_length / pin_max_length: applied. The keypad takes the
 *     new rule at once, and the sync the reload starts keeps the members
 *     whose PIN fits it, so a PIN the new rule allows is known.
 *   - daily_checkout.time / time_zone: applied. A visitor is valid on the
 *     site's day of their expected arrival, as the reloaded rule cuts days.
 *   - local.pin_key_file naming another key: refused (PORTER-RESTART at
 *     $.local.pin_key_file); the cache is hashed under the key in force.
 *     The same key under another path is taken.
 *   - local.directory: refused (PORTER-RESTART at $.local.directory); the
 *     driver writes its cache where it started.
 *
 * porter.so runs on the recording host (dlopen, porter.h alone) against the
 * mock Nexudus over real TLS on loopback, started by this process through
 * tests/backend/fixture.py --nexudus (so valgrind checks porter). Each test
 * asserts what a person at the door sees before and after the reload.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "mock_nexudus_fixture.h"
#include "recording_host.h"

#define NORA        701 /* a member with a 7-digit PIN */
#define OMAR        702 /* a member with a 6-digit PIN */
#define VIC         801 /* a visitor of Omar's */
#define PIN_NORA    "6402718"
#define PIN_OMAR    "738164"
#define CODE_VIC    "815926"
#define ID_NORA     "nx-c-701"
#define ID_OMAR     "nx-c-702"
#define ID_VIC      "nx-v-801"
#define BUSINESS    1
#define CONVERGE_MS 20000 /* the first sync */
#define RELOAD_MS   10000 /* a reload's sync: a few requests, paced 100 ms apart */

static struct mock_nexudus mock;
static bool mock_up;
/* Looked for in every log line and display text (recording_host.h). */
static const char *secrets[] = {PIN_NORA, PIN_OMAR, CODE_VIC, NULL, NULL};

/* ---- the mock ------------------------------------------------------------------ */

static void mock_post(const char *path, const char *fmt, ...)
{
	char body[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	mock_nexudus_ok(&mock, "POST", path, body);
}

static void seed_member(int id, const char *name, const char *pin)
{
	mock_post("/_control/seed",
	          "{\"coworkers\":[{\"Id\":%d,\"FullName\":\"%s\",\"Email\":\"%d@example.com\","
	          "\"AccessPincode\":\"%s\",\"Active\":true}]}",
	          id, name, id, pin);
}

static void seed_visitor(int id, int host, const char *code, int64_t expected_arrival)
{
	char at[32];
	fx_timestamp(expected_arrival, at);
	mock_post("/_control/seed",
	          "{\"visitors\":[{\"Id\":%d,\"FullName\":\"Vic Visitor\",\"Email\":\"vic@example."
	          "com\",\"CoworkerId\":%d,\"BusinessId\":%d,\"ExpectedArrival\":\"%s\","
	          "\"VisitorCode\":\"%s\",\"Arrived\":false}]}",
	          id, host, BUSINESS, at, code);
}

/* ---- porter on a site ------------------------------------------------------------ */

static int group_setup(void **state)
{
	if (load_porter(state) != 0 || mock_nexudus_start(&mock) != 0)
		return -1;
	mock_up = true;
	secrets[3] = mock.password;
	return 0;
}

static int group_teardown(void **state)
{
	if (mock_up)
		mock_nexudus_stop(&mock);
	mock_up = false;
	return unload_porter(state);
}

/* A site with a PIN key and no cache yet, the account file in place, and a
 * mock with nothing in it. */
static int open_site(void **state)
{
	mock_nexudus_ok(&mock, "POST", "/_control/reset", NULL);
	if (site_open(state, &(struct site_options){.people = 0,
	                                            .more_pins = secrets,
	                                            .echo_level = PORTER_LOG_WARNING}) < 0)
		return -1;
	struct site *s = *state;
	char path[FX_PATH_MAX + 32], text[512];
	snprintf(path, sizeof(path), "%s/nexudus.credentials", s->dir);
	snprintf(text, sizeof(text), "%s\n%s\n", mock.user, mock.password);
	if (fx_write_file(path, text) < 0 || chmod(path, 0600) < 0)
		return -1;
	return 0;
}

/* The site's local settings an operator may point elsewhere ("": the
 * site's own), and more top-level members in `extra`. */
struct local_files {
	const char *directory, *pin_key;
};

static char *nexudus_config(const struct site *s, const struct local_files *f, const char *extra)
{
	char directory[FX_PATH_MAX + 32], key[FX_PATH_MAX + 32], *text = NULL;
	snprintf(directory, sizeof(directory), "%s/cache.json", s->dir);
	snprintf(key, sizeof(key), "%s/pin.key", s->dir);
	int n = asprintf(&text,
	                 "{\"backend\":\"nexudus\","
	                 "\"nexudus\":{\"url\":\"%s\",\"business_id\":%d,"
	                 "\"credentials_file\":\"%s/nexudus.credentials\",\"ca_file\":\"%s\","
	                 "\"timeout_ms\":3000},"
	                 "\"outbox\":{\"retry_max_s\":1},\"repeat_window_ms\":0,"
	                 "\"local\":{\"directory\":\"%s\",\"database\":\"%s\","
	                 "\"pin_key_file\":\"%s\"}%s}",
	                 mock.url, BUSINESS, s->dir, mock.ca,
	                 f && f->directory ? f->directory : directory, s->db_path,
	                 f && f->pin_key ? f->pin_key : key, extra);
	assert_true(n > 0);
	return text;
}

static void start_nexudus(struct site *s, const char *extra)
{
	char *config = nexudus_config(s, NULL, extra);
	s->shut_down = false;
	s->in_call = true;
	int r = api->init(&s->services, config, strlen(config), rec_report, s, &s->porter);
	s->in_call = false;
	free(config);
	assert_int_equal(r, 0);
}

/* reload() with the site's config; what it returned, its reports in
 * s->reports and its log lines alone in s->logs. */
static int reload(struct site *s, const struct local_files *f, const char *extra)
{
	char *config = nexudus_config(s, f, extra);
	s->n_reports = 0;
	s->n_logs = 0;
	s->in_call = true;
	int r = api->reload(s->porter, config, strlen(config), rec_report, s);
	s->in_call = false;
	free(config);
	return r;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run porter's loop until `needle` follows "nexudus: directory synced" in
 * the log: a sync has written the cache and porter has loaded it. */
static bool synced_and_loaded(struct site *s)
{
	int synced = logged(s, PORTER_LOG_INFO, "nexudus: directory synced");
	for (size_t i = (size_t)synced + 1; synced >= 0 && i < s->n_logs; i++)
		if (s->logs[i].level == PORTER_LOG_INFO &&
		    strstr(s->logs[i].text, "directory reloaded:"))
			return true;
	return false;
}

static void wait_sync(struct site *s, int ms)
{
	int64_t end = mono_ms() + ms;
	while (!synced_and_loaded(s)) {
		assert_true(mono_ms() < end);
		run_for(s, 100);
	}
}

/* What one PIN at the door led to, as the person saw it. */
struct answer {
	int rc;
	uint32_t verdict, direction;
	char code[64], person[72];
};

static struct answer present(struct site *s, const char *pin)
{
	struct answer a = {0};
	uint64_t id;
	a.rc = hook_pin(s, "front", pin, strlen(pin), &id);
	a.verdict = a.rc > 0 ? (uint32_t)a.rc : 0;
	if (a.rc == PORTER_VERDICT_PENDING) {
		const struct seen_result *r = wait_result(s, id);
		assert_non_null(r);
		a.verdict = r->verdict;
		a.direction = r->direction;
		snprintf(a.code, sizeof(a.code), "%s", r->code);
		snprintf(a.person, sizeof(a.person), "%s", r->person);
	} else {
		wait_feedback(s, s->n_feedback + 1);
		snprintf(a.code, sizeof(a.code), "%s", s->last_code);
	}
	return a;
}

#define assert_checked_in(a, person) assert_checked_in_at((a), (person), __FILE__, __LINE__)

static void assert_checked_in_at(const struct answer *a, const char *person, const char *file,
                                 int line)
{
	_assert_int_equal(a->verdict, PORTER_VERDICT_GRANT, file, line);
	_assert_int_equal(a->direction, PORTER_DIRECTION_IN, file, line);
	_assert_string_equal(a->code, "checked_in", file, line);
	_assert_string_equal(a->person, person, file, line);
}

/* The reload was refused with PORTER-RESTART at `path`, a fix given. */
static void assert_restart_refused(const struct site *s, int r, const char *path)
{
	assert_int_equal(r, -EINVAL);
	const struct seen_report *rep = find_report(s, "PORTER-RESTART");
	assert_non_null(rep);
	assert_string_equal(rep->path, path);
	assert_true(rep->fix[0] != '\0');
	assert_true(logged(s, PORTER_LOG_ERROR, "config reload refused") >= 0);
}

/* ---- keypad.pin_* -------------------------------------------------------------- */

static void longer_pins_allowed_by_a_reload_are_known_after_its_sync(void **state)
{
	struct site *s = *state;
	seed_member(NORA, "Nora Nexudus", PIN_NORA);
	seed_member(OMAR, "Omar Nexudus", PIN_OMAR);
	start_nexudus(s, ",\"keypad\":{\"pin_max_length\":6}");
	wait_sync(s, CONVERGE_MS);
	/* Nora's PIN is longer than this keypad takes: refused as such. */
	struct answer too_long = present(s, PIN_NORA);
	assert_int_equal(too_long.rc, -E2BIG);
	assert_string_equal(too_long.code, "pin_too_long");

	/* The admin allows 8 digits: the keypad takes 7 at once, and the sync
	 * the reload starts brings Nora into the cache. */
	assert_int_equal(reload(s, NULL, ",\"keypad\":{\"pin_max_length\":8}"), 0);
	wait_sync(s, RELOAD_MS);
	struct answer nora = present(s, PIN_NORA);
	assert_checked_in(&nora, ID_NORA);
	struct answer omar = present(s, PIN_OMAR);
	assert_checked_in(&omar, ID_OMAR);

	/* Back to 6 at most: the keypad refuses Nora's PIN at once again. */
	assert_int_equal(reload(s, NULL, ",\"keypad\":{\"pin_max_length\":6}"), 0);
	struct answer again = present(s, PIN_NORA);
	assert_int_equal(again.rc, -E2BIG);
	assert_string_equal(again.code, "pin_too_long");
	stop(s);
}

/* ---- daily_checkout.time / time_zone -------------------------------------------- */

/* "HH:MM" in UTC of unix time `t`. */
static void utc_hhmm(int64_t t, char out[8])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(out, 8, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

static void visitors_day_follows_a_reloaded_day_start(void **state)
{
	struct site *s = *state;
	int64_t now = time(NULL);
	char extra[128], hhmm[8];
	/* Vic is expected two hours from now. */
	seed_member(OMAR, "Omar Nexudus", PIN_OMAR);
	seed_visitor(VIC, OMAR, CODE_VIC, now + 2 * 3600);
	/* The site's day starts an hour from now: Vic's is tomorrow's. */
	utc_hhmm(now + 3600, hhmm);
	snprintf(extra, sizeof(extra),
	         ",\"daily_checkout\":{\"time\":\"%s\",\"time_zone\":\"UTC\"}", hhmm);
	start_nexudus(s, extra);
	wait_sync(s, CONVERGE_MS);
	struct answer early = present(s, CODE_VIC);
	assert_int_equal(early.verdict, PORTER_VERDICT_DENY);
	assert_string_equal(early.code, "visitor_pass_not_yet_valid");

	/* The day now starts three hours from now: Vic's day is today's. */
	utc_hhmm(now + 3 * 3600, hhmm);
	snprintf(extra, sizeof(extra),
	         ",\"daily_checkout\":{\"time\":\"%s\",\"time_zone\":\"UTC\"}", hhmm);
	assert_int_equal(reload(s, NULL, extra), 0);
	wait_sync(s, RELOAD_MS);
	struct answer vic = present(s, CODE_VIC);
	assert_checked_in(&vic, ID_VIC);
	stop(s);
}

/* ---- local.pin_key_file ------------------------------------------------------------ */

static void another_site_key_is_refused_by_a_reload_and_the_old_one_stays(void **state)
{
	struct site *s = *state;
	char dir[FX_PATH_MAX + 32], key[FX_PATH_MAX + 48];
	seed_member(OMAR, "Omar Nexudus", PIN_OMAR);
	start_nexudus(s, "");
	wait_sync(s, CONVERGE_MS);

	snprintf(dir, sizeof(dir), "%s/new", s->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(fx_keygen(fx_env("PORTER_ADMIN"), dir), 0);
	snprintf(key, sizeof(key), "%s/pin.key", dir);
	int r = reload(s, &(struct local_files){.pin_key = key}, "");
	assert_restart_refused(s, r, "$.local.pin_key_file");
	/* The cache and the key it is hashed under stay in force. */
	struct answer omar = present(s, PIN_OMAR);
	assert_checked_in(&omar, ID_OMAR);
	stop(s);
}

static void the_same_site_key_moved_is_taken_by_a_reload(void **state)
{
	struct site *s = *state;
	char from[FX_PATH_MAX + 32], to[FX_PATH_MAX + 32], text[128];
	seed_member(OMAR, "Omar Nexudus", PIN_OMAR);
	start_nexudus(s, "");
	wait_sync(s, CONVERGE_MS);

	snprintf(from, sizeof(from), "%s/pin.key", s->dir);
	snprintf(to, sizeof(to), "%s/moved.key", s->dir);
	FILE *f = fopen(from, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_int_equal(fx_write_file(to, text), 0);
	assert_int_equal(chmod(to, 0600), 0);
	assert_int_equal(reload(s, &(struct local_files){.pin_key = to}, ""), 0);
	wait_sync(s, RELOAD_MS);
	struct answer omar = present(s, PIN_OMAR);
	assert_checked_in(&omar, ID_OMAR);
	stop(s);
}

/* ---- local.directory -------------------------------------------------------------- */

static void another_cache_file_is_refused_by_a_reload_and_the_cache_stays(void **state)
{
	struct site *s = *state;
	char other[FX_PATH_MAX + 32];
	seed_member(OMAR, "Omar Nexudus", PIN_OMAR);
	start_nexudus(s, "");
	wait_sync(s, CONVERGE_MS);

	snprintf(other, sizeof(other), "%s/other-cache.json", s->dir);
	int r = reload(s, &(struct local_files){.directory = other}, "");
	assert_restart_refused(s, r, "$.local.directory");
	/* The file is not read: no "nobody is known until the first sync". */
	assert_true(logged(s, PORTER_LOG_INFO, "not there yet") < 0);
	struct answer omar = present(s, PIN_OMAR);
	assert_checked_in(&omar, ID_OMAR);
	/* Nothing was written or watched there. */
	run_for(s, 500);
	assert_int_equal(access(other, F_OK), -1);
	stop(s);
}

#define RELOAD_TEST(f) cmocka_unit_test_setup_teardown(f, open_site, site_close)

/* An argument runs the tests whose names match it. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        RELOAD_TEST(longer_pins_allowed_by_a_reload_are_known_after_its_sync),
	        RELOAD_TEST(visitors_day_follows_a_reloaded_day_start),
	        RELOAD_TEST(another_site_key_is_refused_by_a_reload_and_the_old_one_stays),
	        RELOAD_TEST(the_same_site_key_moved_is_taken_by_a_reload),
	        RELOAD_TEST(another_cache_file_is_refused_by_a_reload_and_the_cache_stays),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
