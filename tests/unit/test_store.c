/* SPDX-License-Identifier: MIT */
/* test_store.c: presence changes are durable, in order, and never doubled. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static char dir[64], path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/porter-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/presence.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static struct store_change change(const char *person, bool in)
{
	struct store_change c = {.person_id = person, .reader_id = "front", .in = in,
				 .at_unix_us = 1795593600123456, .cause = "credential"};
	assert_int_equal(store_new_event_key(c.event_key), 0);
	return c;
}

struct loaded {
	int n_in;
	char last[64];
};

static int on_presence(void *userdata, const char *person, bool in)
{
	struct loaded *l = userdata;
	if (in) {
		l->n_in++;
		snprintf(l->last, sizeof(l->last), "%s", person);
	}
	return 0;
}

static int count_rows(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_a_batch_is_durable_and_presence_survives_reopening(void **state)
{
	struct store *s;
	char err[256];
	assert_int_equal(store_open(path, &s, err, sizeof(err)), 0);
	struct store_change a = change("m-1", true), b = change("m-2", true), c = change("m-2", false);
	const struct store_change *batch[] = {&a, &b, &c};
	assert_int_equal(store_record(s, batch, 3, err, sizeof(err)), 0);
	store_close(s);

	assert_int_equal(store_open(path, &s, err, sizeof(err)), 0);
	struct loaded l = {0};
	assert_int_equal(store_load_presence(s, on_presence, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n_in, 1);
	assert_string_equal(l.last, "m-1");
	store_close(s);
	assert_int_equal(count_rows("SELECT count(*) FROM presence_log"), 3);
	assert_int_equal(count_rows("SELECT count(*) FROM presence_log WHERE recorded_at="
				    "'2026-11-25T08:00:00.123456Z'"), 3);
	assert_int_equal(count_rows("PRAGMA journal_mode='wal'") >= 0, 1);
}

static void test_the_same_event_key_is_never_recorded_twice(void **state)
{
	struct store *s;
	char err[256];
	assert_int_equal(store_open(path, &s, err, sizeof(err)), 0);
	struct store_change a = change("m-1", true), other = change("m-9", true);
	const struct store_change *first[] = {&a};
	assert_int_equal(store_record(s, first, 1, err, sizeof(err)), 0);
	const struct store_change *again[] = {&other, &a}; /* a retry of a */
	assert_int_equal(store_record(s, again, 2, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "UNIQUE"));
	/* The whole batch rolled back; the store still works. */
	const struct store_change *retry[] = {&other};
	assert_int_equal(store_record(s, retry, 1, err, sizeof(err)), 0);
	store_close(s);
	assert_int_equal(count_rows("SELECT count(*) FROM presence_log"), 2);
}

static void test_event_keys_are_uuid_v4(void **state)
{
	char a[EVENT_KEY_LEN + 1], b[EVENT_KEY_LEN + 1];
	assert_int_equal(store_new_event_key(a), 0);
	assert_int_equal(store_new_event_key(b), 0);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_string_not_equal(a, b);
}

static void test_unopenable_database_is_named(void **state)
{
	struct store *s;
	char err[256];
	assert_int_equal(store_open("/nonexistent/dir/presence.db", &s, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "/nonexistent/dir/presence.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_batch_is_durable_and_presence_survives_reopening,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_same_event_key_is_never_recorded_twice, setup,
						teardown),
		cmocka_unit_test(test_event_keys_are_uuid_v4),
		cmocka_unit_test(test_unopenable_database_is_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
