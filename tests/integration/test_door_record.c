/* SPDX-License-Identifier: MIT */
/*
 * test_door_record.c: what happened at the door is on record (issue 6, item
 * 7), through the built porter.so and the real porter-admin: every refused
 * PIN is a door_events row with reader, time and reason, and no PIN is
 * anywhere in the database's files; lockouts starting, ending and lifted by
 * an admin are rows too; a refused person is named only where the PIN
 * identified one; records.denied_max_rows bounds the table; porter-admin
 * attempts shows it all in words.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include <sqlite3.h>

#include "host_loop.h"
#include "porter.h"
#include "loaded_porter.h"
#include "porter_fixture.h"

#define PIN_ANA  "48291307"
#define PIN_OLD  "73920461" /* Olga: membership ended */
#define MAX_SEEN 128
#define TEXT_MAX 512

struct site {
	char dir[FX_PATH_MAX];
	struct host_loop *loop;
	porter_plugin *porter;
	pthread_t loop_thread;
	uint64_t last_request_id;
	bool shut_down;
	char logs[MAX_SEEN][TEXT_MAX];
	uint32_t log_levels[MAX_SEEN];
	size_t n_logs;
	char last_code[64];
	uint32_t last_verdict;
	bool completed;
	char reports[MAX_SEEN][64];
	size_t n_reports;
	int n_violations;
	char violation[TEXT_MAX];
};


static void violation(struct site *s, const char *what)
{
	if (s->n_violations++ == 0)
		snprintf(s->violation, sizeof(s->violation), "%s", what);
}

static void check_call(struct site *s, const char *service)
{
	if (!pthread_equal(pthread_self(), s->loop_thread))
		violation(s, service);
	if (s->shut_down)
		violation(s, "a service call after shutdown() returned");
}

static void rec_log(void *userdata, uint32_t level, const char *message)
{
	struct site *s = userdata;
	check_call(s, "log off the loop thread");
	if (strstr(message, PIN_ANA) || strstr(message, "9753"))
		violation(s, "a log line shows a PIN");
	if (s->n_logs < MAX_SEEN) {
		s->log_levels[s->n_logs] = level;
		snprintf(s->logs[s->n_logs++], TEXT_MAX, "%s", message);
	}
	if (level <= PORTER_LOG_NOTICE || fx_env("PORTER_TEST_VERBOSE"))
		fprintf(stderr, "  porter %s: %s\n", host_loop_level_name(level), message);
}

static int rec_feedback(void *userdata, const struct porter_feedback *fb)
{
	struct site *s = userdata;
	check_call(s, "feedback off the loop thread");
	snprintf(s->last_code, sizeof(s->last_code), "%s", fb->code ? fb->code : "");
	return 0;
}

static int rec_door(void *userdata, const char *reader_id, uint32_t ms)
{
	check_call(userdata, "door_unlock off the loop thread");
	return 0;
}

static void rec_complete(void *userdata, uint64_t request_id, const struct porter_result *res)
{
	struct site *s = userdata;
	check_call(s, "complete off the loop thread");
	s->completed = true;
	s->last_verdict = res->verdict;
	snprintf(s->last_code, sizeof(s->last_code), "%s", res->code ? res->code : "");
}

static void rec_report(void *userdata, const struct porter_report *r)
{
	struct site *s = userdata;
	if (s->n_reports < MAX_SEEN)
		snprintf(s->reports[s->n_reports++], 64, "%s", r->code ? r->code : "");
}

/* The index of the first log line at `level` containing `needle`, or -1. */
static int logged(const struct site *s, uint32_t level, const char *needle)
{
	for (size_t i = 0; i < s->n_logs; i++)
		if (s->log_levels[i] == level && strstr(s->logs[i], needle))
			return (int)i;
	return -1;
}

static void run_for(struct site *s, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;
	for (uint64_t now; (now = host_loop_now_us(s->loop)) < end;)
		host_loop_run_once(s->loop, (int)((end - now + 999) / 1000));
}

/* Run the loop until `needle` is logged at `level`, at most `ms`. */
static bool wait_log(struct site *s, uint32_t level, const char *needle, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;
	while (logged(s, level, needle) < 0 && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	return logged(s, level, needle) >= 0;
}

/* Present a PIN; returns the feedback code once decided. */
static const char *present(struct site *s, const char *reader, const char *pin)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = reader,
	        .pin = pin,
	        .pin_len = strlen(pin),
	};
	s->completed = false;
	s->last_code[0] = '\0';
	int rc = api->on_pin(s->porter, &ev);
	if (rc == PORTER_VERDICT_PENDING) {
		uint64_t end = host_loop_now_us(s->loop) + 5000000u;
		while (!s->completed && host_loop_now_us(s->loop) < end)
			host_loop_run_once(s->loop, 20);
		assert_true(s->completed);
	}
	run_for(s, 10);
	return s->last_code;
}

static void start(struct site *s, const char *extra)
{
	char *config = fx_config(s->dir, extra);
	assert_non_null(config);
	s->shut_down = false;
	int r = api->init(host_loop_services(s->loop), config, strlen(config), rec_report, s,
	                  &s->porter);
	free(config);
	assert_int_equal(r, 0);
}

static void stop(struct site *s)
{
	api->shutdown(s->porter);
	s->porter = NULL;
	s->shut_down = true;
	host_loop_drop_invokes(s->loop);
	assert_int_equal(host_loop_n_watches(s->loop), 0);
	assert_int_equal(host_loop_n_timers(s->loop), 0);
	run_for(s, 20);
	if (s->n_violations)
		fail_msg("host contract broken (%d times), first: %s", s->n_violations,
		         s->violation);
}

/* porter-admin ARGS with stdout captured into `out`; returns its exit status. */
static int admin(char *out, size_t size, const char *a1, const char *a2, const char *a3,
                 const char *a4, const char *a5, const char *a6)
{
	return fx_admin(out, size, a1, a2, a3, a4, a5, a6, NULL);
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
	s->loop_thread = pthread_self();
	cb.userdata = s;
	s->loop = host_loop_new(&cb);
	if (!s->loop || fx_keygen(admin_path, s->dir) != 0 ||
	    fx_add_person(admin_path, s->dir, "m-ana", "member", "Ana Souza", PIN_ANA, NULL,
	                  NULL) != 0)
		return -1;
	char until[32];
	fx_timestamp((int64_t)time(NULL) - 86400, until);
	if (fx_add_person(admin_path, s->dir, "m-olga", "member", "Olga Ended", PIN_OLD, NULL,
	                  until) != 0)
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

/* Wrong PINs the tests type: "9753" never appears in a time or key. */
static const char *const guesses[] = {"97530001", "97530002", "97530003", "97530004"};

static void db_path(const struct site *s, char ret[FX_PATH_MAX + 32])
{
	snprintf(ret, FX_PATH_MAX + 32, "%s/presence.db", s->dir);
}

/* One integer from the database, read-only, as a field engineer would. */
static int64_t db_int(const struct site *s, const char *sql)
{
	char path[FX_PATH_MAX + 32];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	db_path(s, path);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Run the loop until `sql` gives `want` (rows are written moments later). */
static bool wait_rows(struct site *s, const char *sql, int64_t want)
{
	for (int i = 0; i < 200 && db_int(s, sql) != want; i++)
		run_for(s, 20);
	return db_int(s, sql) == want;
}

/* No byte sequence of `pin` in the database, its -wal or -shm. */
static void assert_pin_nowhere(const struct site *s, const char *pin)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char path[FX_PATH_MAX + 40];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/presence.db%s", s->dir, suffix[i]);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		size_t cap = 1 << 20, len = 0, n;
		char *buf = malloc(cap);
		assert_non_null(buf);
		while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
			len += n;
			if (len == cap) {
				cap *= 2;
				buf = realloc(buf, cap);
				assert_non_null(buf);
			}
		}
		fclose(f);
		assert_null(memmem(buf, len, pin, strlen(pin)));
		free(buf);
	}
}

static void wrong_pins_are_recorded_with_reader_time_and_reason_never_the_pin(void **state)
{
	struct site *s = *state;
	time_t before = time(NULL);
	start(s, ",\"lockout\":{\"max_attempts\":3,\"base_lockout_s\":1}");
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "front", guesses[0]), "unknown_pin");
	assert_string_equal(present(s, "side", guesses[1]), "unknown_pin");
	assert_string_equal(present(s, "front", guesses[2]), "unknown_pin");
	assert_string_equal(present(s, "front", guesses[3]), "locked_out"); /* the 3rd at front */
	assert_string_equal(present(s, "front", PIN_ANA), "locked_out");    /* not even looked at */
	assert_true(wait_log(s, PORTER_LOG_NOTICE, "reader front: lockout ended", 3000));
	assert_true(wait_rows(s, "SELECT count(*) FROM door_events", 7));
	stop(s);

	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events WHERE code='unknown_pin'"
	                           " AND reader_id='front' AND person_id IS NULL"),
	                 3);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events WHERE code='unknown_pin'"
	                           " AND reader_id='side'"),
	                 1);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events WHERE code='lockout_started'"
	                           " AND reader_id='front'"
	                           " AND detail='locked for 1 s after 3 wrong PINs (lockout 1)'"),
	                 1);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events WHERE code='locked_out'"
	                           " AND reader_id='front'"),
	                 1);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events WHERE code='lockout_ended'"),
	                 1);
	/* In order, in UTC, when it happened. */
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events WHERE person_id IS NOT NULL"),
	                 0);
	int64_t first = db_int(s, "SELECT strftime('%s', min(at)) FROM door_events");
	int64_t last = db_int(s, "SELECT strftime('%s', max(at)) FROM door_events");
	assert_true(first >= before && last <= time(NULL) && first <= last);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events a JOIN door_events b"
	                           " ON b.seq > a.seq AND b.at < a.at"),
	                 0);
	for (size_t i = 0; i < 4; i++)
		assert_pin_nowhere(s, guesses[i]);
	assert_pin_nowhere(s, PIN_ANA);
}

static void a_refused_person_is_named_only_when_the_pin_identified_them(void **state)
{
	struct site *s = *state;
	start(s, "");
	assert_string_equal(present(s, "front", PIN_OLD), "membership_expired");
	assert_string_equal(present(s, "front", guesses[0]), "unknown_pin");
	assert_true(wait_rows(s, "SELECT count(*) FROM door_events", 2));
	stop(s);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events"
	                           " WHERE code='membership_expired' AND person_id='m-olga'"),
	                 1);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events"
	                           " WHERE code='unknown_pin' AND person_id IS NULL"),
	                 1);
	assert_pin_nowhere(s, PIN_OLD);
}

static void a_lockout_lifted_by_an_admin_is_recorded(void **state)
{
	struct site *s = *state;
	char out[4096];
	start(s, ",\"lockout\":{\"max_attempts\":2}");
	present(s, "front", guesses[0]);
	assert_string_equal(present(s, "front", guesses[1]), "locked_out");
	assert_int_equal(
	        admin(out, sizeof(out), "unlock", "--state-dir", s->dir, "--reader", "front", NULL),
	        0);
	assert_true(wait_log(s, PORTER_LOG_NOTICE, "lockout lifted by an admin", 2000));
	assert_true(wait_rows(s,
	                      "SELECT count(*) FROM door_events WHERE code='lockout_lifted'"
	                      " AND reader_id='front' AND detail LIKE 'lifted by an admin%'",
	                      1));
	stop(s);
}

static void denied_max_rows_bounds_the_record_keeping_the_newest(void **state)
{
	struct site *s = *state;
	char pin[16];
	const char *cfg =
	        ",\"lockout\":{\"max_attempts\":100},\"records\":{\"denied_max_rows\":10}";
	start(s, cfg);
	for (int i = 0; i < 25; i++) {
		snprintf(pin, sizeof(pin), "975310%02d", i);
		present(s, i < 24 ? "front" : "last", pin);
	}
	/* Pruned after the first batch: the rows of the later batches stay. */
	assert_true(wait_rows(s, "SELECT count(*) FROM door_events WHERE reader_id='last'", 1));
	stop(s);
	int64_t rows = db_int(s, "SELECT count(*) FROM door_events");
	assert_true(rows > 10);
	start(s, cfg); /* pruned again after the first batch of this start */
	present(s, "again", guesses[0]);
	assert_true(wait_rows(s, "SELECT count(*) FROM door_events", 10));
	stop(s);
	assert_int_equal(db_int(s, "SELECT count(*) FROM door_events WHERE reader_id IN"
	                           " ('last', 'again')"),
	                 2);
}

static void porter_admin_attempts_shows_the_record_in_words(void **state)
{
	struct site *s = *state;
	char out[16384], path[FX_PATH_MAX + 32], people[FX_PATH_MAX + 32];
	start(s, ",\"lockout\":{\"max_attempts\":2}");
	present(s, "front", PIN_OLD);
	assert_string_equal(present(s, "front", guesses[0]), "locked_out");
	assert_true(wait_rows(s, "SELECT count(*) FROM door_events", 3));
	db_path(s, path);
	snprintf(people, sizeof(people), "%s/directory.json", s->dir);
	/* While porter runs: the database is only read. */
	assert_int_equal(admin(out, sizeof(out), "attempts", "--database", path, "--directory",
	                       people, NULL),
	                 0);
	assert_non_null(strstr(out, "front"));
	assert_non_null(strstr(out, "membership has ended"));
	assert_non_null(strstr(out, "Olga Ended"));
	assert_non_null(strstr(out, "PIN not recognised"));
	assert_non_null(strstr(out, "keypad locked"));
	assert_null(strstr(out, "T0")); /* local times, not the stored UTC text */
	assert_int_equal(
	        admin(out, sizeof(out), "attempts", "--database", path, "--json", NULL, NULL), 0);
	assert_non_null(strstr(out, "\"code\":\"membership_expired\""));
	assert_non_null(strstr(out, "\"person_id\":\"m-olga\""));
	assert_non_null(strstr(out, "\"code\":\"lockout_started\""));
	assert_null(strstr(out, "9753"));
	/* Nothing since tomorrow. */
	assert_int_equal(admin(out, sizeof(out), "attempts", "--database", path, "--since",
	                       "2999-01-01", NULL),
	                 0);
	assert_null(strstr(out, "front"));
	assert_int_equal(admin(out, sizeof(out), "attempts", "--database", path, "--since",
	                       "yesterday-ish", NULL),
	                 2);
	stop(s);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        CASE(wrong_pins_are_recorded_with_reader_time_and_reason_never_the_pin),
	        CASE(a_refused_person_is_named_only_when_the_pin_identified_them),
	        CASE(a_lockout_lifted_by_an_admin_is_recorded),
	        CASE(denied_max_rows_bounds_the_record_keeping_the_newest),
	        CASE(porter_admin_attempts_shows_the_record_in_words),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN"))
		return 77;
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
