/* SPDX-License-Identifier: MIT */
/*
 * test_store_pass.c: a single-use visitor pass is used by its check-in and
 * given back by that check-in's reversal (store.h), in the reversal's own
 * transaction, and only the use that check-in made; the memory of used
 * passes forgets a pass given back (qr_credential.h).
 */
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

#include "qr_credential.h"
#include "store.h"

#define CHECK_IN_AT 1795593600123456 /* unix us of the check-in */

static char dir[64], path[128], marker[160];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/porter-pass-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/presence.db", dir);
	store_marker_path(path, marker, sizeof(marker));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[160];
	const char *suffix[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	unlink(marker);
	rmdir(dir);
	return 0;
}

static struct store *open_store(void)
{
	struct store *s = NULL;
	struct store_open_report report = {0};
	int r = store_open(path, &s, &report);
	if (r < 0)
		fail_msg("store_open: %d: %s", r, report.error);
	return s;
}

static struct store_change change(bool in, int64_t at, const char *cause)
{
	struct store_change c = {.person_id = "v-vera",
	                         .reader_id = "lobby",
	                         .in = in,
	                         .at_unix_us = at,
	                         .cause = cause,
	                         .pass_id = "pass-7",
	                         .pass_valid_until = 4102444800};
	assert_int_equal(store_new_event_key(c.event_key), 0);
	return c;
}

static void record(struct store *s, const struct store_change *c)
{
	char err[256];
	const struct store_change *one[] = {c};
	assert_int_equal(store_record(s, one, 1, err, sizeof(err)), 0);
}

static int uses(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	        sqlite3_prepare_v2(db, "SELECT count(*) FROM visitor_pass_uses", -1, &st, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void a_reversed_check_in_gives_its_pass_back(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct store_change in = change(true, CHECK_IN_AT, "credential");
	struct store_change back = change(false, CHECK_IN_AT + 5000, "door_failed");
	back.pass_used_at_unix_us = CHECK_IN_AT;
	record(s, &in);
	assert_int_equal(uses(), 1);
	record(s, &back);
	assert_int_equal(uses(), 0);
	store_close(s);
}

static void a_reversal_gives_back_only_the_use_its_check_in_made(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct store_change in = change(true, CHECK_IN_AT, "credential");
	struct store_change other = change(false, CHECK_IN_AT + 5000, "host_cancelled");
	other.pass_used_at_unix_us = CHECK_IN_AT - 1; /* another check-in's use */
	record(s, &in);
	record(s, &other);
	assert_int_equal(uses(), 1);
	store_close(s);
}

static void a_check_out_without_a_pass_leaves_the_use(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct store_change in = change(true, CHECK_IN_AT, "credential");
	struct store_change out = change(false, CHECK_IN_AT + 5000, "credential");
	out.pass_id = NULL;
	record(s, &in);
	record(s, &out);
	assert_int_equal(uses(), 1);
	store_close(s);
}

static void memory_forgets_a_pass_given_back(void **state)
{
	(void)state;
	struct qr_memory *m = qr_memory_new();
	assert_non_null(m);
	assert_int_equal(qr_pass_mark_used(m, "pass-1", 4102444800, 0), 0);
	assert_int_equal(qr_pass_mark_used(m, "pass-2", 4102444800, 0), 0);
	assert_int_equal(qr_pass_mark_used(m, "pass-3", 4102444800, 0), 0);
	qr_pass_forget(m, "pass-1");
	qr_pass_forget(m, "pass-9"); /* never used: nothing */
	assert_false(qr_pass_used(m, "pass-1"));
	assert_true(qr_pass_used(m, "pass-2"));
	assert_true(qr_pass_used(m, "pass-3"));
	assert_int_equal(qr_pass_used_count(m), 2);
	qr_memory_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(a_reversed_check_in_gives_its_pass_back, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                a_reversal_gives_back_only_the_use_its_check_in_made, setup, teardown),
	        cmocka_unit_test_setup_teardown(a_check_out_without_a_pass_leaves_the_use, setup,
	                                        teardown),
	        cmocka_unit_test(memory_forgets_a_pass_given_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
