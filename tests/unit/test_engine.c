/* SPDX-License-Identifier: MIT */
/*
 * test_engine.c: the decision engine as a person at the door sees it: who is
 * recognised, in or out, repeats, readers' rules, visitors' passes, the Salto
 * KS diagnostic, and that nothing is confirmed before it is durable.
 */
#include <errno.h>
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

#include "fake_host.h"
#include "keypad.h"
#include "plugin.h"

struct env {
	struct fake_host host;
	struct fake_site site;
	porter_plugin *plugin;
	uint64_t next_request;
	char times[4][32];
};

static struct env *env_new(const char *extra)
{
	struct env *env = calloc(1, sizeof(*env));
	fake_host_init(&env->host);
	struct fake_person people[] = {
		{"m-ana", "member", "Ana Souza", "1234", NULL, NULL},
		{"m-ben", "member", "Ben Okafor", "5678", NULL, NULL},
		{"v-vera", "visitor", "Vera Visitor", "2468", fake_time(-3600, env->times[0]),
		 fake_time(3600, env->times[1])},
		{"v-otto", "visitor", "Otto Late", "1357", NULL, fake_time(-60, env->times[2])},
		{"v-nina", "visitor", "Nina Early", "9753", fake_time(7200, env->times[3]), NULL},
	};
	/* Nina's window needs an end: reuse a time after her start. */
	char until[32];
	people[4].valid_until = fake_time(9000, until);
	fake_site_create(&env->site, people, 5, extra);
	return env;
}

static int env_start(struct env *env)
{
	return plugin_init(&env->host.services, env->site.config, strlen(env->site.config), NULL, NULL,
			   &env->plugin);
}

static void env_free(struct env *env)
{
	if (env->plugin)
		plugin_shutdown(env->plugin);
	fake_site_destroy(&env->site);
	fake_host_destroy(&env->host);
	free(env);
}

static int pin_at(struct env *env, const char *reader, const char *pin)
{
	struct porter_pin_event ev = {
		.size = sizeof(ev), .request_id = ++env->next_request, .reader_id = reader,
		.pin = pin, .pin_len = strlen(pin),
	};
	return keypad_on_pin(env->plugin, &ev);
}

static const struct fake_completion *last_completion(struct env *env)
{
	return &env->host.completions[env->host.n_completions - 1];
}

static int db_count(struct env *env, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(env->site.database_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Take the database's write lock, as a stuck disk or an admin's open sqlite3
 * shell would: the recorder waits for it (up to its busy timeout). */
static sqlite3 *hold_database(struct env *env)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(env->site.database_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static void release_database(sqlite3 *db)
{
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* ---- toggling ---------------------------------------------------------- */

static void test_member_is_checked_in_only_once_durable(void **state)
{
	struct env *env = env_new("");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING);
	/* Nothing is confirmed from inside the hook. */
	assert_int_equal(env->host.n_completions, 0);
	assert_int_equal(env->host.n_doors, 0);
	assert_true(fake_host_wait_completions(&env->host, 1));
	const struct fake_completion *c = last_completion(env);
	assert_int_equal(c->verdict, PORTER_VERDICT_GRANT);
	assert_int_equal(c->direction, PORTER_DIRECTION_IN);
	assert_string_equal(c->code, "checked_in");
	assert_string_equal(c->person, "m-ana");
	assert_int_equal(env->host.n_doors, 1);
	assert_string_equal(env->host.doors[0].reader, "front");
	assert_int_equal(env->host.doors[0].ms, 5000);
	assert_non_null(strstr(env->host.feedback[0].text, "Ana Souza"));
	assert_int_equal(env->host.feedback[0].led, PORTER_LED_GREEN);
	/* By the time the person is told, the row is on disk. */
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence WHERE person_id='m-ana' AND state='in'"), 1);
	env_free(env);
}

static void test_second_pin_after_the_window_checks_out(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 3000");
	assert_int_equal(env_start(env), 0);
	pin_at(env, "front", "1234");
	assert_true(fake_host_wait_completions(&env->host, 1));
	fake_host_advance(&env->host, 3000000);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 2));
	assert_int_equal(last_completion(env)->direction, PORTER_DIRECTION_OUT);
	assert_string_equal(last_completion(env)->code, "checked_out");
	assert_non_null(strstr(env->host.feedback[1].text, "Goodbye, Ana Souza"));
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log WHERE person_id='m-ana'"), 2);
	env_free(env);
}

static void test_repeat_within_the_window_is_not_a_second_toggle(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 3000");
	assert_int_equal(env_start(env), 0);
	pin_at(env, "front", "1234");
	assert_true(fake_host_wait_completions(&env->host, 1));
	fake_host_advance(&env->host, 2999000);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_GRANT);
	assert_string_equal(fake_host_last_code(&env->host), "already_in");
	assert_int_equal(env->host.n_doors, 2); /* the door opens again */
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log"), 1);
	env_free(env);
}

static void test_repeat_while_recording_is_answered_with_the_first(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING);
	assert_int_equal(pin_at(env, "side", "1234"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 2));
	assert_string_equal(env->host.completions[0].code, "checked_in");
	assert_string_equal(env->host.completions[1].code, "already_in");
	assert_int_equal(env->host.completions[1].request_id, 2);
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log"), 1);
	env_free(env);
}

static void test_presence_survives_a_restart(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0");
	assert_int_equal(env_start(env), 0);
	pin_at(env, "front", "1234");
	assert_true(fake_host_wait_completions(&env->host, 1));
	plugin_shutdown(env->plugin);
	assert_int_equal(env_start(env), 0);
	pin_at(env, "front", "1234");
	assert_true(fake_host_wait_completions(&env->host, 2));
	assert_string_equal(last_completion(env)->code, "checked_out");
	env_free(env);
}

/* ---- who may use which reader ----------------------------------------- */

static void test_unknown_pin_is_denied_without_opening(void **state)
{
	struct env *env = env_new("");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "0000"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "unknown_pin");
	assert_int_equal(env->host.feedback[0].led, PORTER_LED_RED);
	assert_int_equal(env->host.n_doors, 0);
	env_free(env);
}

static void test_visitor_with_a_current_pass_checks_in(void **state)
{
	struct env *env = env_new("");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "2468"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_string_equal(last_completion(env)->person, "v-vera");
	assert_string_equal(last_completion(env)->code, "checked_in");
	env_free(env);
}

static void test_visitor_pass_expired_or_not_yet_valid_is_denied(void **state)
{
	struct env *env = env_new("");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "1357"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "visitor_pass_expired");
	assert_non_null(strstr(env->host.feedback[0].text, "expired"));
	assert_int_equal(pin_at(env, "front", "9753"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "visitor_pass_not_yet_valid");
	assert_int_equal(env->host.n_doors, 0);
	/* "Not valid" tells a guesser the PIN is real: each counts as a failed attempt. */
	assert_int_equal(plugin_reader(env->plugin, "front")->lockout.failures, 2);
	env_free(env);
}

static int64_t three_hours_later(void)
{
	return ((int64_t)time(NULL) + 3 * 3600) * 1000000;
}

static void test_a_visitor_whose_pass_expired_inside_can_still_check_out(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "2468"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	env->plugin->engine.wall_clock_us = three_hours_later; /* Vera's pass ended 2 h ago */
	assert_int_equal(pin_at(env, "front", "2468"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 2));
	assert_string_equal(last_completion(env)->code, "checked_out");
	/* Out now: coming back in needs a valid pass. */
	assert_int_equal(pin_at(env, "front", "2468"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "visitor_pass_expired");
	env_free(env);
}

static void test_member_only_reader_refuses_a_visitor(void **state)
{
	struct env *env = env_new("\"readers\": [{\"id\": \"staff\", \"pin_holders\": \"members\"}]");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "staff", "2468"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "wrong_keypad");
	assert_non_null(strstr(env->host.feedback[0].text, "members only"));
	assert_int_equal(pin_at(env, "staff", "1234"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	env_free(env);
}

static void test_entry_only_reader_never_checks_out(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0, "
				  "\"readers\": [{\"id\": \"in\", \"direction\": \"entry\"},"
				  "{\"id\": \"out\", \"direction\": \"exit\"}]");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "out", "1234"), PORTER_VERDICT_GRANT); /* not in: nothing to undo */
	assert_string_equal(fake_host_last_code(&env->host), "already_out");
	assert_int_equal(pin_at(env, "in", "1234"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_int_equal(pin_at(env, "in", "1234"), PORTER_VERDICT_GRANT);
	assert_string_equal(fake_host_last_code(&env->host), "already_in");
	assert_int_equal(pin_at(env, "out", "1234"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 2));
	assert_string_equal(last_completion(env)->code, "checked_out");
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log"), 2);
	env_free(env);
}

/* ---- a PIN that several people have ----------------------------------- */

static struct env *collision_env(const char *extra)
{
	struct env *env = calloc(1, sizeof(*env));
	fake_host_init(&env->host);
	struct fake_person people[] = {
		{"m-ana", "member", "Ana Souza", "4444", NULL, NULL},
		{"v-vera", "visitor", "Vera Visitor", "4444", NULL, fake_time(3600, env->times[0])},
	};
	fake_site_create(&env->site, people, 2, extra);
	return env;
}

static void test_pin_of_member_and_visitor_is_refused_by_default(void **state)
{
	struct env *env = collision_env("");
	assert_int_equal(env_start(env), 0);
	assert_true(fake_host_logged(&env->host, "m-ana and v-vera have the same PIN"));
	assert_int_equal(pin_at(env, "front", "4444"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "ambiguous_pin");
	env_free(env);
}

static void test_a_pin_that_is_not_unique_counts_towards_the_lockout(void **state)
{
	struct env *env = collision_env("\"lockout\": {\"max_attempts\": 2}");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "4444"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "ambiguous_pin");
	assert_int_equal(pin_at(env, "front", "4444"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "locked_out");
	env_free(env);
}

static void test_pin_collision_policy_and_reader_rules_pick_one(void **state)
{
	struct env *env = collision_env("\"pin_collision\": \"member\", \"readers\": "
					"[{\"id\": \"guests\", \"pin_holders\": \"visitors\"}]");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "4444"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_string_equal(last_completion(env)->person, "m-ana");
	assert_int_equal(pin_at(env, "guests", "4444"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 2));
	assert_string_equal(last_completion(env)->person, "v-vera");
	env_free(env);
}

/* ---- unsupported setups ------------------------------------------------ */

static void count_report(void *userdata, const struct porter_report *r)
{
	if (r->code && strcmp(r->code, "PORTER-D001") == 0)
		(*(int *)userdata)++;
}

static void test_salto_visitor_access_refuses_visitor_checkin_only(void **state)
{
	struct env *env = env_new("\"access_control\": {\"salto_ks\": {\"enabled\": true, "
				  "\"visitor_access\": true}}");
	assert_int_equal(env_start(env), 0);
	int n = 0;
	assert_int_equal(plugin_diagnostics(env->plugin, count_report, &n), 1);
	assert_int_equal(n, 1);
	assert_true(fake_host_logged(&env->host, "PORTER-D001"));
	assert_int_equal(pin_at(env, "front", "2468"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "visitor_checkin_unsupported");
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING); /* members still work */
	assert_true(fake_host_wait_completions(&env->host, 1));
	env_free(env);
}

/* ---- lockout through the whole path ----------------------------------- */

static void test_wrong_pins_lock_the_reader_even_for_a_good_pin(void **state)
{
	struct env *env = env_new("\"lockout\": {\"max_attempts\": 3, \"base_lockout_s\": 10}");
	assert_int_equal(env_start(env), 0);
	assert_int_equal(pin_at(env, "front", "0001"), PORTER_VERDICT_DENY);
	assert_int_equal(pin_at(env, "front", "0002"), PORTER_VERDICT_DENY);
	assert_int_equal(pin_at(env, "front", "0003"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "locked_out");
	assert_true(fake_host_logged(&env->host, "locked out for 10 s"));
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "locked_out");
	assert_non_null(strstr(env->host.feedback[env->host.n_feedback - 1].text, "10 s"));
	/* Another reader is not locked. */
	assert_int_equal(pin_at(env, "side", "1234"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	fake_host_advance(&env->host, 10000000);
	assert_int_equal(pin_at(env, "front", "5678"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 2));
	/* No PIN ever reaches a log line. */
	for (size_t i = 0; i < env->host.n_logs; i++)
		assert_null(strstr(env->host.logs[i], "000"));
	env_free(env);
}

/* ---- when the disk or the host says no -------------------------------- */

static void exec_sql(struct env *env, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(env->site.database_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_a_change_that_cannot_be_recorded_is_denied_and_undone(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0");
	assert_int_equal(env_start(env), 0);
	exec_sql(env, "CREATE TRIGGER no_ben BEFORE INSERT ON presence_log WHEN NEW.person_id='m-ben'"
		      " BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
	assert_int_equal(pin_at(env, "front", "5678"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_int_equal(last_completion(env)->verdict, PORTER_VERDICT_DENY);
	assert_string_equal(last_completion(env)->code, "record_failed");
	assert_int_equal(env->host.n_doors, 0);
	assert_true(fake_host_logged(&env->host, "disk full"));
	exec_sql(env, "DROP TRIGGER no_ben");
	/* Ben was never in, so the next try checks him in. */
	assert_int_equal(pin_at(env, "front", "5678"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 2));
	assert_string_equal(last_completion(env)->code, "checked_in");
	env_free(env);
}

static void test_cancelled_requests_leave_presence_as_the_door_saw_it(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0");
	assert_int_equal(env_start(env), 0);
	/* Hold the database so the recorder is stuck on Ana's change while Ben's waits. */
	sqlite3 *db = hold_database(env);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING); /* request 1 */
	usleep(100000); /* the recorder takes Ana's change and waits for the lock */
	assert_int_equal(pin_at(env, "front", "5678"), PORTER_VERDICT_PENDING); /* request 2 */
	plugin_cancel(env->plugin, 2); /* still queued: withdrawn */
	plugin_cancel(env->plugin, 1); /* being written: reversed after */
	release_database(db);
	assert_true(fake_host_run_next_invokes(&env->host)); /* Ana's change is durable... */
	assert_true(fake_host_run_next_invokes(&env->host)); /* ...and so is its reversal */
	plugin_shutdown(env->plugin);
	env->plugin = NULL;
	assert_int_equal(env->host.n_completions, 0);
	assert_int_equal(env->host.n_doors, 0);
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log WHERE person_id='m-ben'"), 0);
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence WHERE state='in'"), 0);
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log WHERE person_id='m-ana' "
				       "AND cause='host_cancelled' AND direction='out'"), 1);
	env_free(env);
}

static void test_a_hung_disk_refuses_new_changes_instead_of_queueing_forever(void **state)
{
	struct env *env = env_new("");
	assert_int_equal(env_start(env), 0);
	env->plugin->engine.max_in_flight = 1;
	sqlite3 *db = hold_database(env);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING);
	assert_int_equal(pin_at(env, "front", "5678"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "busy");
	assert_true(fake_host_logged(&env->host, "waiting for the disk"));
	release_database(db);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_int_equal(pin_at(env, "front", "5678"), PORTER_VERDICT_PENDING); /* room again */
	assert_true(fake_host_wait_completions(&env->host, 2));
	env_free(env);
}

static void test_repeats_of_one_change_are_bounded(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0");
	assert_int_equal(env_start(env), 0);
	sqlite3 *db = hold_database(env);
	for (int i = 0; i < 16; i++)
		assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "busy");
	release_database(db);
	assert_true(fake_host_wait_completions(&env->host, 16));
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log"), 1);
	env_free(env);
}

static void test_presenting_again_while_a_cancelled_change_is_reversed(void **state)
{
	struct env *env = env_new("\"repeat_window_ms\": 0");
	assert_int_equal(env_start(env), 0);
	sqlite3 *db = hold_database(env);
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_PENDING); /* request 1 */
	usleep(100000);
	plugin_cancel(env->plugin, 1); /* the host gave up: Ana was told no */
	release_database(db);
	assert_true(fake_host_wait_queued(&env->host)); /* Ana's check-in is durable */
	/* Keep the recorder busy with Ben so the reversal of Ana's stays queued. */
	db = hold_database(env);
	assert_int_equal(pin_at(env, "front", "5678"), PORTER_VERDICT_PENDING);
	usleep(100000);
	assert_true(fake_host_run_next_invokes(&env->host)); /* queues the reversal */
	/* Ana tries again: she is in, as the record already says, not "checked out". */
	assert_int_equal(pin_at(env, "front", "1234"), PORTER_VERDICT_GRANT);
	assert_string_equal(fake_host_last_code(&env->host), "checked_in");
	assert_int_equal(env->host.n_doors, 1);
	release_database(db);
	assert_true(fake_host_wait_completions(&env->host, 1)); /* Ben */
	plugin_shutdown(env->plugin);
	env->plugin = NULL;
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence_log WHERE person_id='m-ana'"), 1);
	assert_int_equal(db_count(env, "SELECT count(*) FROM presence WHERE person_id='m-ana' AND state='in'"), 1);
	env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_is_checked_in_only_once_durable),
		cmocka_unit_test(test_second_pin_after_the_window_checks_out),
		cmocka_unit_test(test_repeat_within_the_window_is_not_a_second_toggle),
		cmocka_unit_test(test_repeat_while_recording_is_answered_with_the_first),
		cmocka_unit_test(test_presence_survives_a_restart),
		cmocka_unit_test(test_unknown_pin_is_denied_without_opening),
		cmocka_unit_test(test_visitor_with_a_current_pass_checks_in),
		cmocka_unit_test(test_visitor_pass_expired_or_not_yet_valid_is_denied),
		cmocka_unit_test(test_a_visitor_whose_pass_expired_inside_can_still_check_out),
		cmocka_unit_test(test_member_only_reader_refuses_a_visitor),
		cmocka_unit_test(test_entry_only_reader_never_checks_out),
		cmocka_unit_test(test_pin_of_member_and_visitor_is_refused_by_default),
		cmocka_unit_test(test_a_pin_that_is_not_unique_counts_towards_the_lockout),
		cmocka_unit_test(test_pin_collision_policy_and_reader_rules_pick_one),
		cmocka_unit_test(test_salto_visitor_access_refuses_visitor_checkin_only),
		cmocka_unit_test(test_wrong_pins_lock_the_reader_even_for_a_good_pin),
		cmocka_unit_test(test_a_change_that_cannot_be_recorded_is_denied_and_undone),
		cmocka_unit_test(test_cancelled_requests_leave_presence_as_the_door_saw_it),
		cmocka_unit_test(test_presenting_again_while_a_cancelled_change_is_reversed),
		cmocka_unit_test(test_a_hung_disk_refuses_new_changes_instead_of_queueing_forever),
		cmocka_unit_test(test_repeats_of_one_change_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
