/* SPDX-License-Identifier: MIT */
/*
 * test_multibyte_config.c: lengths in the config count characters, as the
 * host's admin UI (any JSON Schema validator) counts them, and porter keeps
 * every byte of what it accepts (issue 10, item 1). Through the built
 * porter.so and the real porter-admin:
 *
 * a 22-character Japanese reader id (66 bytes) and "Haupteingang Süd –
 * Tastatur links neben der Tür zum Großraumbüro" (64 characters, 70 bytes)
 * pass check_config as reader ids and display texts; one character more
 * than maxLength is refused at its path; at the door the ids reach
 * door_unlock, presence_log and door_events whole, and the texts reach the
 * display whole. A path over the file system's byte limit is refused by
 * porter's own rule, PORTER-CFG-BYTES, never as maxLength.
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

#include <cmocka.h>
#include <sqlite3.h>

#include "host_loop.h"
#include "loaded_porter.h"
#include "porter.h"
#include "porter_fixture.h"

#define PIN_ANA   "48291307"
#define PIN_WRONG "97530001"
#define TEXT_MAX  1024
#define MAX_SEEN  64

/* 東京本社正面入口テンキー左側受付用第一号機器: 22 characters, 66 bytes */
#define JAPANESE                                                                               \
	"\xe6\x9d\xb1\xe4\xba\xac\xe6\x9c\xac\xe7\xa4\xbe\xe6\xad\xa3\xe9\x9d\xa2\xe5\x85\xa5" \
	"\xe5\x8f\xa3\xe3\x83\x86\xe3\x83\xb3\xe3\x82\xad\xe3\x83\xbc\xe5\xb7\xa6\xe5\x81\xb4" \
	"\xe5\x8f\x97\xe4\xbb\x98\xe7\x94\xa8\xe7\xac\xac\xe4\xb8\x80\xe5\x8f\xb7\xe6\xa9\x9f" \
	"\xe5\x99\xa8"
/* 64 characters, 70 bytes: readers[].id's maxLength exactly */
#define GERMAN                                                                            \
	"Haupteingang S\xc3\xbc"                                                          \
	"d \xe2\x80\x93 Tastatur links neben der T\xc3\xbcr zum Gro\xc3\x9fraumb\xc3\xbc" \
	"ro"

struct site {
	char dir[FX_PATH_MAX];
	struct host_loop *loop;
	porter_plugin *porter;
	uint64_t last_request_id;
	bool completed;
	char text[TEXT_MAX]; /* the last feedback shown */
	char door[TEXT_MAX]; /* the last door_unlock's reader */
	uint32_t door_ms;
	char report_codes[MAX_SEEN][64];
	char report_paths[MAX_SEEN][128];
	size_t n_reports;
};

static void rec_log(void *userdata, uint32_t level, const char *message)
{
	(void)userdata;
	if (level <= PORTER_LOG_WARNING || fx_env("PORTER_TEST_VERBOSE"))
		fprintf(stderr, "  porter %s: %s\n", host_loop_level_name(level), message);
}

static int rec_feedback(void *userdata, const struct porter_feedback *fb)
{
	struct site *s = userdata;
	snprintf(s->text, sizeof(s->text), "%s", fb->text ? fb->text : "");
	return 0;
}

static int rec_door(void *userdata, const char *reader_id, uint32_t ms)
{
	struct site *s = userdata;
	snprintf(s->door, sizeof(s->door), "%s", reader_id);
	s->door_ms = ms;
	return 0;
}

static void rec_complete(void *userdata, uint64_t request_id, const struct porter_result *res)
{
	struct site *s = userdata;
	(void)request_id;
	(void)res;
	s->completed = true;
}

static void rec_report(void *userdata, const struct porter_report *r)
{
	struct site *s = userdata;
	if (r->severity != PORTER_SEVERITY_ERROR || s->n_reports == MAX_SEEN)
		return;
	fprintf(stderr, "  report %s at %s: %s\n", r->code, r->path, r->message);
	snprintf(s->report_codes[s->n_reports], 64, "%s", r->code ? r->code : "");
	snprintf(s->report_paths[s->n_reports++], 128, "%s", r->path ? r->path : "");
}

static bool reported(const struct site *s, const char *code, const char *path)
{
	for (size_t i = 0; i < s->n_reports; i++)
		if (strcmp(s->report_codes[i], code) == 0 && strcmp(s->report_paths[i], path) == 0)
			return true;
	return false;
}

static void run_for(struct site *s, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;
	for (uint64_t now; (now = host_loop_now_us(s->loop)) < end;)
		host_loop_run_once(s->loop, (int)((end - now + 999) / 1000));
}

static void present(struct site *s, const char *reader, const char *pin)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = reader,
	        .pin = pin,
	        .pin_len = strlen(pin),
	};
	s->completed = false;
	s->text[0] = '\0';
	int rc = api->on_pin(s->porter, &ev);
	assert_true(rc >= 0);
	if (rc == PORTER_VERDICT_PENDING) {
		uint64_t end = host_loop_now_us(s->loop) + 5000000u;
		while (!s->completed && host_loop_now_us(s->loop) < end)
			host_loop_run_once(s->loop, 20);
		assert_true(s->completed);
	}
	run_for(s, 10);
}

/* check_config on the site's config plus `extra`; the reports are kept. */
static int check(struct site *s, const char *extra)
{
	char *config = fx_config(s->dir, extra);
	assert_non_null(config);
	s->n_reports = 0;
	int r = api->check_config(config, strlen(config), rec_report, s);
	free(config);
	return r;
}

/* The number of rows `sql` counts in the site's database, read-only. */
static int64_t db_count(const struct site *s, const char *sql)
{
	char path[FX_PATH_MAX + 32];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	snprintf(path, sizeof(path), "%s/presence.db", s->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int site_setup(void **state)
{
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
	cb.userdata = s;
	s->loop = host_loop_new(&cb);
	if (!s->loop || fx_keygen(fx_env("PORTER_ADMIN"), s->dir) != 0 ||
	    fx_add_person(fx_env("PORTER_ADMIN"), s->dir, "m-ana", "member", "Ana Souza", PIN_ANA,
	                  NULL, NULL) != 0)
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

static const char site_extra[] = ",\"readers\":[{\"id\":\"" JAPANESE "\",\"unlock_ms\":1234},"
                                 "{\"id\":\"" GERMAN "\",\"unlock_ms\":4321}],"
                                 "\"texts\":{\"checked_in\":\"" GERMAN "\","
                                 "\"unknown_pin\":\"" JAPANESE "\"}";

static void multibyte_ids_and_texts_pass_check_config(void **state)
{
	struct site *s = *state;
	assert_int_equal(strlen(JAPANESE), 66);
	assert_int_equal(strlen(GERMAN), 70);
	assert_int_equal(check(s, site_extra), 0);
	assert_int_equal(s->n_reports, 0);
}

static void one_character_past_max_length_is_refused_at_its_path(void **state)
{
	struct site *s = *state;
	char extra[2048], text[1024];
	size_t len = 0;

	assert_int_equal(check(s, ",\"readers\":[{\"id\":\"" GERMAN "!\"}]"), -EINVAL);
	assert_true(reported(s, "PORTER-CFG-LENGTH", "$.readers[0].id"));

	/* 160 characters of two bytes each is a text; 161 is not */
	for (int i = 0; i < 160; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "\xc3\xbc");
	snprintf(extra, sizeof(extra), ",\"texts\":{\"busy\":\"%s\"}", text);
	assert_int_equal(check(s, extra), 0);
	snprintf(extra, sizeof(extra), ",\"texts\":{\"busy\":\"%s\xc3\xbc\"}", text);
	assert_int_equal(check(s, extra), -EINVAL);
	assert_true(reported(s, "PORTER-CFG-LENGTH", "$.texts.busy"));
}

static void the_values_arrive_whole_at_the_door_and_in_the_records(void **state)
{
	struct site *s = *state;
	char *config = fx_config(s->dir, site_extra);
	assert_non_null(config);
	assert_int_equal(api->init(host_loop_services(s->loop), config, strlen(config), rec_report,
	                           s, &s->porter),
	                 0);
	free(config);

	present(s, JAPANESE, PIN_ANA);
	assert_string_equal(s->text, GERMAN); /* texts.checked_in */
	assert_string_equal(s->door, JAPANESE);
	assert_int_equal(s->door_ms, 1234); /* its own row in readers[] */

	present(s, GERMAN, PIN_WRONG);
	assert_string_equal(s->text, JAPANESE); /* texts.unknown_pin */

	api->shutdown(s->porter);
	s->porter = NULL;
	assert_int_equal(
	        db_count(s, "SELECT count(*) FROM presence_log WHERE reader_id='" JAPANESE "'"), 1);
	assert_int_equal(db_count(s, "SELECT count(*) FROM door_events WHERE reader_id='" GERMAN
	                             "' AND code='unknown_pin'"),
	                 1);
}

/* maxLength says 1023 characters; a file system counts bytes. */
static void a_path_over_the_byte_limit_is_porters_own_rule(void **state)
{
	struct site *s = *state;
	char extra[4096], path[2048] = "/";
	size_t len = 1;

	for (int i = 0; i < 600; i++) /* 601 characters, 1201 bytes */
		len += (size_t)snprintf(path + len, sizeof(path) - len, "\xc3\xbc");
	snprintf(extra, sizeof(extra),
	         "{\"local\":{\"directory\":\"%s\",\"database\":\"/d\",\"pin_key_file\":\"/k\"}}",
	         path);
	s->n_reports = 0;
	assert_int_equal(api->check_config(extra, strlen(extra), rec_report, s), -EINVAL);
	assert_true(reported(s, "PORTER-CFG-BYTES", "$.local.directory"));
	assert_false(reported(s, "PORTER-CFG-LENGTH", "$.local.directory"));
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        CASE(multibyte_ids_and_texts_pass_check_config),
	        CASE(one_character_past_max_length_is_refused_at_its_path),
	        CASE(the_values_arrive_whole_at_the_door_and_in_the_records),
	        CASE(a_path_over_the_byte_limit_is_porters_own_rule),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN"))
		return 77;
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
