/* SPDX-License-Identifier: MIT */
/*
 * test_door_events.c: denied attempts and lockouts on record (door_events).
 *
 * The store writes them in the presence changes' transaction and keeps them
 * within an age and a count; the recorder queues them without bound on
 * memory (past RECORDER_DOOR_EVENTS_MAX it counts them and writes one
 * not_recorded row) and prunes with its batches, not on every one.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "recorder.h"
#include "store.h"

#define T0     1795593600000000LL /* 2026-11-25T08:00:00Z */
#define DAY_US (86400LL * 1000000)

struct rig {
	char dir[64], path[128];
	struct store *store;
	struct porter_host_services services;
	struct recorder *recorder;
};

static int immediate_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	(void)host;
	(void)cb;
	(void)userdata;
	return 0; /* door events are never handed back: nothing to run */
}

static void on_done(void *userdata, struct recorder_item *item, const char *error)
{
	(void)userdata;
	(void)item;
	(void)error;
}

static int setup(void **state)
{
	struct rig *g = calloc(1, sizeof(*g));
	struct store_open_report rep;
	snprintf(g->dir, sizeof(g->dir), "/tmp/porter-door-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/presence.db", g->dir);
	assert_int_equal(store_open(g->path, &g->store, &rep), 0);
	g->services = (struct porter_host_services){
	        .size = sizeof(g->services), .host = g, .invoke = immediate_invoke};
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct rig *g = *state;
	recorder_stop(g->recorder);
	store_close(g->store);
	char p[160];
	const char *names[] = {"presence.db", "presence.db-wal", "presence.db-shm",
	                       ".presence.db.marker"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", g->dir, names[i]);
		unlink(p);
	}
	rmdir(g->dir);
	free(g);
	return 0;
}

static struct store_door_event event(int64_t at, const char *code, const char *person)
{
	struct store_door_event ev = {.at_unix_us = at};
	snprintf(ev.reader_id, sizeof(ev.reader_id), "front");
	snprintf(ev.code, sizeof(ev.code), "%s", code);
	snprintf(ev.person_id, sizeof(ev.person_id), "%s", person ? person : "");
	return ev;
}

static int64_t query_int(const struct rig *g, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(g->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void
test_events_are_committed_with_the_changes_and_name_a_person_only_when_known(void **state)
{
	struct rig *g = *state;
	struct store_change c = {.person_id = "m-1",
	                         .reader_id = "front",
	                         .in = true,
	                         .at_unix_us = T0,
	                         .cause = "credential"};
	const struct store_change *changes[] = {&c};
	struct store_door_event ev[] = {event(T0 + 1, "unknown_pin", NULL),
	                                event(T0 + 2, "membership_expired", "m-2")};
	char err[256];
	bool failed = true;
	assert_int_equal(store_new_event_key(c.event_key), 0);

	assert_int_equal(
	        store_record_with_events(g->store, changes, 1, ev, 2, &failed, err, sizeof(err)),
	        0);
	assert_false(failed);
	assert_int_equal(query_int(g, "SELECT count(*) FROM presence_log"), 1);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events"), 2);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events WHERE code='unknown_pin'"
	                              " AND person_id IS NULL AND reader_id='front'"
	                              " AND at='2026-11-25T08:00:00.000001Z'"),
	                 1);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events"
	                              " WHERE code='membership_expired' AND person_id='m-2'"),
	                 1);
}

/* A door event that cannot be written never costs a check-in its commit. */
static void test_an_event_that_cannot_be_written_leaves_the_changes_committed(void **state)
{
	struct rig *g = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(g->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TRIGGER refuse BEFORE INSERT ON door_events"
	                              " BEGIN SELECT RAISE(ABORT, 'refused'); END",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	struct store_change c = {.person_id = "m-1",
	                         .reader_id = "front",
	                         .in = true,
	                         .at_unix_us = T0,
	                         .cause = "credential"};
	const struct store_change *changes[] = {&c};
	struct store_door_event ev = event(T0, "unknown_pin", NULL);
	char err[256];
	bool failed = false;
	assert_int_equal(store_new_event_key(c.event_key), 0);

	assert_int_equal(
	        store_record_with_events(g->store, changes, 1, &ev, 1, &failed, err, sizeof(err)),
	        0);
	assert_true(failed);
	assert_int_equal(query_int(g, "SELECT count(*) FROM presence_log"), 1);
	assert_int_equal(query_int(g, "SELECT count(*) FROM presence WHERE state='in'"), 1);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events"), 0);
}

static void test_events_alone_make_a_transaction(void **state)
{
	struct rig *g = *state;
	struct store_door_event ev = event(T0, "locked_out", NULL);
	char err[256];
	assert_int_equal(
	        store_record_with_events(g->store, NULL, 0, &ev, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events"), 1);
}

static void record_days(struct rig *g, int n)
{
	char err[256];
	for (int i = 0; i < n; i++) {
		struct store_door_event ev = event(T0 + i * DAY_US, "unknown_pin", NULL);
		assert_int_equal(
		        store_record_with_events(g->store, NULL, 0, &ev, 1, NULL, err, sizeof(err)),
		        0);
	}
}

static void test_pruning_deletes_what_is_older_than_the_age_bound(void **state)
{
	struct rig *g = *state;
	char err[256];
	record_days(g, 10); /* one a day, days 0..9 */

	/* Keep 3 days, as seen on day 9: days 6, 7, 8, 9 stay (day 6 is on the line). */
	int n = store_prune_door_events(g->store, T0 + 9 * DAY_US - 3 * DAY_US, 0, 1000, err,
	                                sizeof(err));
	assert_int_equal(n, 6);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events"), 4);
	assert_int_equal(query_int(g, "SELECT min(at) = '2026-12-01T08:00:00.000000Z'"
	                              " FROM door_events"),
	                 1);
}

static void test_pruning_keeps_the_newest_rows_up_to_the_count_in_bounded_steps(void **state)
{
	struct rig *g = *state;
	char err[256];
	record_days(g, 10);

	/* At most 2 deleted per call: the bound is reached over several calls. */
	assert_int_equal(store_prune_door_events(g->store, 0, 5, 2, err, sizeof(err)), 2);
	assert_int_equal(store_prune_door_events(g->store, 0, 5, 2, err, sizeof(err)), 2);
	assert_int_equal(store_prune_door_events(g->store, 0, 5, 2, err, sizeof(err)), 1);
	assert_int_equal(store_prune_door_events(g->store, 0, 5, 2, err, sizeof(err)), 0);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events"), 5);
	assert_int_equal(query_int(g, "SELECT min(at) = '2026-11-30T08:00:00.000000Z'"
	                              " FROM door_events"),
	                 1);
}

static void wait_for_rows(const struct rig *g, const char *sql, int64_t n)
{
	for (int i = 0; i < 500 && query_int(g, sql) != n; i++)
		usleep(10 * 1000);
	assert_int_equal(query_int(g, sql), n);
}

/* A guesser cannot grow porter's memory: while the disk is held, the queue
 * stops at its bound and the rest is counted into one not_recorded row. */
static void test_a_flood_while_the_disk_is_held_is_bounded_and_counted(void **state)
{
	struct rig *g = *state;
	const int flood = 3 * RECORDER_DOOR_EVENTS_MAX;
	sqlite3 *holder;
	assert_int_equal(sqlite3_open(g->path, &holder), SQLITE_OK);
	assert_int_equal(recorder_start(g->store, &g->services, on_done, g, &g->recorder), 0);

	/* The first event goes alone; then another connection holds the write
	 * lock, so the next batch waits while the flood arrives. */
	struct store_door_event first = event(T0, "unknown_pin", NULL);
	recorder_note(g->recorder, &first);
	wait_for_rows(g, "SELECT count(*) FROM door_events", 1);
	assert_int_equal(sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	struct store_door_event one = event(T0 + 1, "unknown_pin", NULL);
	recorder_note(g->recorder, &one);
	usleep(50 * 1000); /* the thread took it and waits for the lock */
	for (int i = 0; i < flood; i++) {
		struct store_door_event ev = event(T0 + 2 + i, "locked_out", NULL);
		recorder_note(g->recorder, &ev);
	}
	assert_int_equal(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(holder);
	g->recorder = recorder_stop(g->recorder); /* commits what waits */

	int64_t written = query_int(g, "SELECT count(*) FROM door_events WHERE code='locked_out'");
	assert_int_equal(written, RECORDER_DOOR_EVENTS_MAX);
	assert_int_equal(query_int(g, "SELECT count(*) FROM door_events WHERE code='not_recorded'"),
	                 1);
	/* The summary says how many, from the first one dropped. */
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(g->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT detail, at FROM door_events"
	                                    " WHERE code='not_recorded'",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	unsigned long dropped = 0;
	assert_int_equal(sscanf((const char *)sqlite3_column_text(st, 0), "%lu", &dropped), 1);
	assert_int_equal(dropped, (unsigned long)(flood - RECORDER_DOOR_EVENTS_MAX));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int64_t fake_now_us;
static int64_t fake_wall_clock(void)
{
	return fake_now_us;
}

static void test_the_recorder_prunes_by_age_and_count_after_a_batch(void **state)
{
	struct rig *g = *state;
	record_days(g, 10);
	fake_now_us = T0 + 10 * DAY_US;
	struct recorder_retention ret = {.max_age_us = 5 * DAY_US,
	                                 .max_rows = 4,
	                                 .every_us = 3600ull * 1000000,
	                                 .wall_clock_us = fake_wall_clock};
	assert_int_equal(recorder_start(g->store, &g->services, on_done, g, &g->recorder), 0);
	recorder_set_retention(g->recorder, &ret);

	struct store_door_event ev = event(fake_now_us, "unknown_pin", NULL);
	recorder_note(g->recorder, &ev);
	/* Days 5..9 are within 5 days; with today's row that is 6, over 4. */
	wait_for_rows(g, "SELECT count(*) FROM door_events", 4);

	/* Not on every batch: within the hour, nothing more is pruned. */
	for (int i = 0; i < 3; i++) {
		ev.at_unix_us++;
		recorder_note(g->recorder, &ev);
		wait_for_rows(g, "SELECT count(*) FROM door_events", 5 + i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                test_events_are_committed_with_the_changes_and_name_a_person_only_when_known,
	                setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_an_event_that_cannot_be_written_leaves_the_changes_committed, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(test_events_alone_make_a_transaction, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                test_pruning_deletes_what_is_older_than_the_age_bound, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_pruning_keeps_the_newest_rows_up_to_the_count_in_bounded_steps, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_flood_while_the_disk_is_held_is_bounded_and_counted, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_the_recorder_prunes_by_age_and_count_after_a_batch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
