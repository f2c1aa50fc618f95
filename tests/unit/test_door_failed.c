/* SPDX-License-Identifier: MIT */
/*
 * test_door_failed.c: a door that does not open (BB-1 of issue 5). The
 * person is told at once; the host's complete(DENY) comes only once the
 * reversal is durable, and says "record_failed" when the reversal could not
 * be written (the record then still holds the change).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fake_host.h"
#include "keypad.h"
#include "plugin.h"

static struct fake_host host;
static struct fake_site site;
static porter_plugin *plugin;
static int presence_in_at_complete = -1; /* m-ana's presence row when told */
static void (*record_completion)(void *, uint64_t, const struct porter_result *);

static int door_fails(void *h, const char *reader_id, uint32_t ms)
{
	(void)h;
	(void)reader_id;
	(void)ms;
	return -EIO;
}

static int sql_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;
	assert_int_equal(sqlite3_open(site.database_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void exec_sql(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(site.database_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* What the store says the moment the host is told. */
static void complete_and_look(void *h, uint64_t request_id, const struct porter_result *res)
{
	presence_in_at_complete =
	        sql_int("SELECT state = 'in' FROM presence WHERE person_id = 'm-ana'");
	record_completion(h, request_id, res);
}

static int setup(void **state)
{
	(void)state;
	fake_host_init(&host);
	host.services.door_unlock = door_fails;
	record_completion = host.services.complete;
	host.services.complete = complete_and_look;
	struct fake_person ana = {"m-ana", "member", "Ana Souza", "1234", NULL, NULL};
	fake_site_create(&site, &ana, 1, "\"repeat_window_ms\": 3000");
	presence_in_at_complete = -1;
	return plugin_init(&host.services, site.config, strlen(site.config), NULL, NULL, &plugin);
}

static int teardown(void **state)
{
	(void)state;
	plugin_shutdown(plugin);
	plugin = NULL;
	fake_site_destroy(&site);
	fake_host_destroy(&host);
	return 0;
}

static int present(uint64_t id)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = id,
	        .reader_id = "front",
	        .pin = "1234",
	        .pin_len = 4,
	};
	return keypad_on_pin(plugin, &ev);
}

static void door_failed_is_completed_once_the_reversal_is_durable(void **state)
{
	(void)state;
	assert_int_equal(present(1), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&host, 1));
	assert_string_equal(host.completions[0].code, "door_failed");
	assert_int_equal(host.completions[0].verdict, PORTER_VERDICT_DENY);
	assert_string_equal(host.feedback[0].code, "door_failed");
	assert_int_equal(presence_in_at_complete, 0); /* the reversal was already written */
	assert_int_equal(sql_int("SELECT count(*) FROM presence_log WHERE cause = 'door_failed'"),
	                 1);
	/* Decided afresh at once: not the repeat window, not busy. */
	assert_int_equal(present(2), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&host, 2));
	assert_string_equal(host.completions[1].code, "door_failed");
}

static void a_reversal_that_cannot_be_recorded_completes_record_failed(void **state)
{
	(void)state;
	exec_sql("CREATE TRIGGER no_reverse BEFORE INSERT ON presence_log"
	         " WHEN NEW.cause = 'door_failed' BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
	assert_int_equal(present(1), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&host, 1));
	assert_int_equal(host.completions[0].verdict, PORTER_VERDICT_DENY);
	assert_string_equal(host.completions[0].code, "record_failed");
	assert_int_equal(presence_in_at_complete, 1); /* the record still holds the change */
	assert_true(fake_host_logged(&host, "could not record the reverse"));
	assert_int_equal(host.n_completions, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                door_failed_is_completed_once_the_reversal_is_durable, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_reversal_that_cannot_be_recorded_completes_record_failed, setup,
	                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
