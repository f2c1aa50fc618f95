/* SPDX-License-Identifier: MIT */
/*
 * test_admin_outbox.c: `porter-admin outbox`, what is still to reach the
 * backend, as an operator and a monitoring script ask for it: the backlog,
 * the oldest change not delivered, the last delivery, the dead letters and
 * the exit status that says whether there are any.
 *
 * The database is made by porter's own code (store_open, store_record,
 * outbox_store_open, outbox_store_ack), so the command reads what porter
 * really writes; porter-admin is run as a program ($PORTER_ADMIN).
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "admin_run.h"
#include "outbox_store.h"
#include "porter_fixture.h"
#include "store.h"

/* 2026-11-25T08:00:00Z and minutes after it. */
#define T0         INT64_C(1795593600000000)
#define MINUTES(n) (T0 + INT64_C(60000000) * (n))

struct site {
	char dir[FX_PATH_MAX];
	char db[FX_PATH_MAX + 32];
	char config[FX_PATH_MAX + 32];
	struct admin_run run;
};

static int site_setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));
	if (!s || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	snprintf(s->db, sizeof(s->db), "%s/presence.db", s->dir);
	snprintf(s->config, sizeof(s->config), "%s/config.json", s->dir);
	*state = s;
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;
	fx_rmrf(s->dir);
	free(s);
	return 0;
}

static int open_store(struct site *s, struct store **ret)
{
	struct store_open_report report;
	int r = store_open(s->db, ret, &report);
	if (r < 0)
		fprintf(stderr, "store_open: %s\n", report.error);
	return r;
}

/* Changes k..k+n-1: people m-ana and m-ben in turn, `in` on odd keys. */
static void record(struct store *st, int from, int n)
{
	char err[256];
	for (int k = from; k < from + n; k++) {
		struct store_change c = {.person_id = k % 2 ? "m-ana" : "m-ben",
		                         .reader_id = "front",
		                         .in = k % 2,
		                         .at_unix_us = MINUTES(k),
		                         .cause = "credential"};
		snprintf(c.event_key, sizeof(c.event_key), "0197a000-0000-7000-8000-%012d", k);
		const struct store_change *one = &c;
		assert_int_equal(store_record(st, &one, 1, err, sizeof(err)), 0);
	}
}

/*
 * The site: change 1 recorded before the webhook backend was configured
 * (history, never sent); changes 2..6 after it. 2 and 3 delivered, 3
 * refused for good with `reason`; 4, 5, 6 still to go.
 */
static void make_outbox(struct site *s, const char *reason)
{
	char err[256];
	struct store *st;
	struct outbox_store *ob;
	assert_int_equal(open_store(s, &st), 0);
	record(st, 1, 1);
	assert_int_equal(outbox_store_open(s->db, "webhook", &ob, err, sizeof(err)), 0);
	assert_int_equal(outbox_store_watermark(ob), 1); /* history stays local */
	record(st, 2, 5);
	struct outbox_dead dead = {.seq = 3,
	                           .event_key = "0197a000-0000-7000-8000-000000000003",
	                           .at_unix_us = MINUTES(10)};
	snprintf(dead.reason, sizeof(dead.reason), "%s", reason);
	assert_int_equal(outbox_store_ack(ob, 3, &dead, 1, MINUTES(11), err, sizeof(err)), 0);
	outbox_store_close(ob);
	store_close(st);
}

static void outbox(struct site *s, ...)
{
	va_list ap;
	const char *a[8] = {0};
	va_start(ap, s);
	for (int i = 0; i < 7 && (a[i] = va_arg(ap, const char *)); i++)
		;
	va_end(ap);
	assert_int_equal(admin_run(s->dir, &s->run, "outbox", a[0], a[1], a[2], a[3], a[4], a[5],
	                           a[6], NULL),
	                 0);
}

/* ---- the text form ------------------------------------------------------- */

static void text_shows_backlog_oldest_last_delivery_and_dead_letters_and_exits_1(void **state)
{
	struct site *s = *state;
	char want[16384];

	make_outbox(s, "HTTP 400: person unknown");
	outbox(s, "--database", s->db, NULL);
	snprintf(want, sizeof(want),
	         "Outbox in %s\n"
	         "webhook: 3 changes to deliver, 1 dead letter\n"
	         "  oldest undelivered: seq 4, m-ben out at 2026-11-25T08:04:00.000000Z\n"
	         "  last delivery: 2026-11-25T08:11:00.000000Z\n"
	         "  dead letters, newest first:\n"
	         "    2026-11-25T08:10:00.000000Z  seq 3 0197a000-0000-7000-8000-000000000003  "
	         "m-ana in at 2026-11-25T08:03:00.000000Z: HTTP 400: person unknown\n",
	         s->db);
	assert_string_equal(s->run.out, want);
	assert_string_equal(s->run.err, "");
	assert_int_equal(s->run.status, 1); /* a monitoring script alerts */
}

static void an_empty_outbox_says_so_in_one_line_and_exits_0(void **state)
{
	struct site *s = *state;
	char err[256], want[16384];
	struct store *st;
	struct outbox_store *ob;

	assert_int_equal(open_store(s, &st), 0);
	record(st, 1, 3); /* before the backend: history, not backlog */
	assert_int_equal(outbox_store_open(s->db, "webhook", &ob, err, sizeof(err)), 0);
	outbox_store_close(ob);
	store_close(st);

	outbox(s, "--database", s->db, NULL);
	snprintf(want, sizeof(want),
	         "Outbox in %s\n"
	         "webhook: outbox empty, everything delivered (through seq 3); last delivery "
	         "never\n",
	         s->db);
	assert_string_equal(s->run.out, want);
	assert_int_equal(s->run.status, 0);
}

static void a_database_no_delivering_backend_ran_on_has_no_outbox(void **state)
{
	struct site *s = *state;
	char want[16384];
	struct store *st;

	assert_int_equal(open_store(s, &st), 0);
	record(st, 1, 2);
	store_close(st);
	outbox(s, "--database", s->db, NULL);
	snprintf(want, sizeof(want), "No outbox in %s: no backend that delivers has run on it.\n",
	         s->db);
	assert_string_equal(s->run.out, want);
	assert_int_equal(s->run.status, 0);
}

static void dead_n_shows_the_newest_n_and_counts_them_all(void **state)
{
	struct site *s = *state;
	char err[256];
	struct outbox_store *ob;

	make_outbox(s, "first refusal");
	struct outbox_dead more[2] = {
	        {.seq = 4,
	         .event_key = "0197a000-0000-7000-8000-000000000004",
	         .at_unix_us = MINUTES(20)},
	        {.seq = 5,
	         .event_key = "0197a000-0000-7000-8000-000000000005",
	         .at_unix_us = MINUTES(21)},
	};
	snprintf(more[0].reason, sizeof(more[0].reason), "second");
	snprintf(more[1].reason, sizeof(more[1].reason), "third");
	assert_int_equal(outbox_store_open(s->db, "webhook", &ob, err, sizeof(err)), 0);
	assert_int_equal(outbox_store_ack(ob, 5, more, 2, 0, err, sizeof(err)), 0);
	outbox_store_close(ob);

	outbox(s, "--database", s->db, "--dead", "2", NULL);
	assert_int_equal(s->run.status, 1);
	assert_non_null(strstr(s->run.out, "webhook: 1 change to deliver, 3 dead letters\n"));
	assert_non_null(strstr(s->run.out, "  dead letters, newest 2 of 3 (--dead N shows more):\n"
	                                   "    2026-11-25T08:21:00.000000Z  seq 5 "));
	assert_non_null(strstr(s->run.out, "m-ana in at 2026-11-25T08:05:00.000000Z: third\n"
	                                   "    2026-11-25T08:20:00.000000Z  seq 4 "));
	assert_null(strstr(s->run.out, "first refusal"));
	/* --dead 0: how many, no list. */
	outbox(s, "--database", s->db, "--dead", "0", NULL);
	assert_int_equal(s->run.status, 1);
	assert_non_null(strstr(s->run.out, "\n  dead letters: 3 (--dead N lists the newest N)\n"));
	assert_null(strstr(s->run.out, "third"));
	outbox(s, "--database", s->db, "--dead", "2", NULL);
	/* The last delivery is the one before: an ack of refusals only keeps it. */
	assert_non_null(strstr(s->run.out, "  last delivery: 2026-11-25T08:11:00.000000Z\n"));
}

static void text_from_the_backend_cannot_drive_the_terminal(void **state)
{
	struct site *s = *state;

	make_outbox(s, "bad\x1b[2J\x07 request");
	outbox(s, "--database", s->db, NULL);
	assert_null(strchr(s->run.out, '\x1b'));
	assert_null(strchr(s->run.out, '\x07'));
	assert_non_null(strstr(s->run.out, ": bad?[2J? request\n"));
}

/* ---- JSON ---------------------------------------------------------------- */

static const char *jget(json_object *o, const char *key)
{
	json_object *v;
	assert_true(json_object_object_get_ex(o, key, &v));
	return v ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;
	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_int64(v);
}

static void json_has_the_same_figures(void **state)
{
	struct site *s = *state;
	json_object *b, *v;

	make_outbox(s, "HTTP 400: person unknown");
	outbox(s, "--database", s->db, "--json", NULL);
	assert_int_equal(s->run.status, 1);
	json_object *doc = json_tokener_parse(s->run.out);
	assert_non_null(doc);
	assert_string_equal(jget(doc, "database"), s->db);
	assert_null(jget(doc, "backend")); /* all backends: none chosen */
	assert_true(json_object_object_get_ex(doc, "backends", &v));
	assert_int_equal(json_object_array_length(v), 1);
	b = json_object_array_get_idx(v, 0);
	assert_string_equal(jget(b, "backend"), "webhook");
	assert_int_equal(jint(b, "delivered_seq"), 3);
	assert_int_equal(jint(b, "backlog"), 3);
	assert_string_equal(jget(b, "last_delivery"), "2026-11-25T08:11:00.000000Z");
	assert_int_equal(jint(b, "dead_letter_count"), 1);

	json_object *oldest;
	assert_true(json_object_object_get_ex(b, "oldest_undelivered", &oldest));
	assert_int_equal(jint(oldest, "seq"), 4);
	assert_string_equal(jget(oldest, "time"), "2026-11-25T08:04:00.000000Z");
	assert_string_equal(jget(oldest, "person_id"), "m-ben");
	assert_string_equal(jget(oldest, "direction"), "out");
	assert_string_equal(jget(oldest, "event_key"), "0197a000-0000-7000-8000-000000000004");

	assert_true(json_object_object_get_ex(b, "dead_letters", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object *d = json_object_array_get_idx(v, 0);
	assert_int_equal(jint(d, "seq"), 3);
	assert_string_equal(jget(d, "failed_at"), "2026-11-25T08:10:00.000000Z");
	assert_string_equal(jget(d, "event_key"), "0197a000-0000-7000-8000-000000000003");
	assert_string_equal(jget(d, "person_id"), "m-ana");
	assert_string_equal(jget(d, "direction"), "in");
	assert_string_equal(jget(d, "recorded_at"), "2026-11-25T08:03:00.000000Z");
	assert_string_equal(jget(d, "reason"), "HTTP 400: person unknown");
	json_object_put(doc);

	/* --dead 0: the count without the list. */
	outbox(s, "--database", s->db, "--json", "--dead", "0", NULL);
	doc = json_tokener_parse(s->run.out);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "backends", &v));
	b = json_object_array_get_idx(v, 0);
	assert_int_equal(jint(b, "dead_letter_count"), 1);
	assert_true(json_object_object_get_ex(b, "dead_letters", &v));
	assert_int_equal(json_object_array_length(v), 0);
	json_object_put(doc);
}

/* ---- --config ------------------------------------------------------------ */

static void write_config(struct site *s, const char *backend)
{
	char text[5 * FX_PATH_MAX + 512];
	snprintf(text, sizeof(text),
	         "{\"backend\":\"%s\",\"local\":{\"directory\":\"%s/directory.json\","
	         "\"database\":\"%s\",\"pin_key_file\":\"%s/pin.key\"},"
	         "\"webhook\":{\"url\":\"https://hooks.example.com/porter\","
	         "\"secret_file\":\"%s/webhook.secret\"}}",
	         backend, s->dir, s->db, s->dir, s->dir);
	assert_int_equal(fx_write_file(s->config, text), 0);
}

static void config_shows_its_backend_in_its_database(void **state)
{
	struct site *s = *state;
	char err[256], want[16384];
	struct outbox_store *ob;

	make_outbox(s, "refused");
	/* Another backend's outbox in the same database is not this config's. */
	assert_int_equal(outbox_store_open(s->db, "nexudus", &ob, err, sizeof(err)), 0);
	outbox_store_close(ob);

	write_config(s, "webhook");
	outbox(s, "--config", s->config, "--json", NULL);
	assert_int_equal(s->run.status, 1);
	json_object *doc = json_tokener_parse(s->run.out), *v;
	assert_non_null(doc);
	assert_string_equal(jget(doc, "backend"), "webhook");
	assert_string_equal(jget(doc, "database"), s->db);
	assert_true(json_object_object_get_ex(doc, "backends", &v));
	assert_int_equal(json_object_array_length(v), 1);
	assert_string_equal(jget(json_object_array_get_idx(v, 0), "backend"), "webhook");
	json_object_put(doc);

	/* Without --config both are shown, by name. */
	outbox(s, "--database", s->db, NULL);
	assert_non_null(strstr(s->run.out, "\nnexudus: outbox empty, everything delivered "
	                                   "(through seq 6); last delivery never\n"));
	assert_non_null(strstr(s->run.out, "\nwebhook: 3 changes to deliver"));

	write_config(s, "local");
	outbox(s, "--config", s->config, NULL);
	assert_int_equal(s->run.status, 0);
	snprintf(want, sizeof(want),
	         "No outbox: the local backend keeps changes on this box (%s).\n", s->db);
	assert_string_equal(s->run.out, want);
}

/* ---- while porter writes ------------------------------------------------- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void a_write_transaction_in_progress_does_not_hold_the_answer(void **state)
{
	struct site *s = *state;
	sqlite3 *porter;
	struct timespec t0;

	make_outbox(s, "refused");
	/* porter's recorder in the middle of a batch: a write transaction open. */
	assert_int_equal(sqlite3_open(s->db, &porter), SQLITE_OK);
	assert_int_equal(sqlite3_exec(porter,
	                              "BEGIN IMMEDIATE; INSERT INTO presence_log VALUES(7,"
	                              "'0197a000-0000-7000-8000-000000000007','m-ana','in','front',"
	                              "'2026-11-25T09:00:00.000000Z','credential')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	outbox(s, "--database", s->db, NULL);
	/* Not busy (that is exit 2), and no wait for a lock: WAL readers do
	 * not wait for the writer. The bound leaves room for a loaded machine. */
	assert_true(seconds_since(&t0) < 5.0);
	assert_int_equal(s->run.status, 1);
	/* What was committed; the open transaction's row is not seen. */
	assert_non_null(strstr(s->run.out, "webhook: 3 changes to deliver"));
	assert_int_equal(sqlite3_exec(porter, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	/* And the reader left nothing behind that would hold porter back. */
	assert_int_equal(sqlite3_exec(porter, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(porter);
}

static void a_database_locked_for_good_is_busy_within_the_timeout(void **state)
{
	struct site *s = *state;
	sqlite3 *other;
	struct timespec t0;

	make_outbox(s, "refused");
	/* A program that takes the database exclusively (not porter's way). */
	assert_int_equal(sqlite3_open(s->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other,
	                              "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;"
	                              "DELETE FROM porter_meta WHERE key = 'none'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	outbox(s, "--database", s->db, NULL);
	assert_true(seconds_since(&t0) < 10.0); /* the busy timeout, then an answer */
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, " is busy: "));
	assert_non_null(strstr(s->run.err, s->db));
	assert_string_equal(s->run.out, "");
	sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(other);
}

/* ---- mistakes ------------------------------------------------------------ */

static void mistakes_exit_2_with_what_was_wrong(void **state)
{
	struct site *s = *state;

	outbox(s, NULL);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "missing --database (or --config)"));

	outbox(s, "--database", s->db, "--dead", "-1", NULL);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "--dead takes a count from 0 to 100000, not \"-1\""));

	outbox(s, "--database", s->db, "--since", "today", NULL);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "unknown option \"--since\""));

	/* A missing database: an error, and not created. */
	outbox(s, "--database", s->db, NULL);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, s->db));
	assert_non_null(strstr(s->run.err, "No such file"));
	assert_int_equal(access(s->db, F_OK), -1);

	assert_int_equal(fx_write_file(s->config, "{\"backend\":\"carrier-pigeon\"}"), 0);
	outbox(s, "--config", s->config, NULL);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "is not a config porter accepts"));

	outbox(s, "--help", NULL);
	assert_int_equal(s->run.status, 0);
	assert_non_null(strstr(s->run.out, "usage: porter-admin outbox"));
}

/* ---- the opening shared with presence and attempts (admin_db.c) ------- */

static void every_reading_command_explains_a_missing_database_alike(void **state)
{
	struct site *s = *state;
	static const char *const commands[] = {"outbox", "presence", "attempts"};

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(admin_run(s->dir, &s->run, commands[i], "--database", s->db, NULL),
		                 0);
		assert_int_not_equal(s->run.status, 0);
		assert_non_null(strstr(s->run.err, s->db));
		assert_non_null(strstr(s->run.err, "No such file or directory (porter creates it "
		                                   "at its first start; is this its "
		                                   "local.database?)"));
		assert_int_equal(access(s->db, F_OK), -1);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(text_shows_backlog_oldest_last_delivery_and_dead_letters_and_exits_1),
	        T(an_empty_outbox_says_so_in_one_line_and_exits_0),
	        T(a_database_no_delivering_backend_ran_on_has_no_outbox),
	        T(dead_n_shows_the_newest_n_and_counts_them_all),
	        T(text_from_the_backend_cannot_drive_the_terminal),
	        T(json_has_the_same_figures),
	        T(config_shows_its_backend_in_its_database),
	        T(a_write_transaction_in_progress_does_not_hold_the_answer),
	        T(a_database_locked_for_good_is_busy_within_the_timeout),
	        T(mistakes_exit_2_with_what_was_wrong),
	        T(every_reading_command_explains_a_missing_database_alike),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
