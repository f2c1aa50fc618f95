/* SPDX-License-Identifier: MIT */
/*
 * test_lockouts.c: PIN-guessing lockouts as an admin meets them, through the
 * built porter.so (loaded by host_loop, porter.h only) and the real
 * porter-admin: every lockout is a warning in the log, `porter-admin
 * lockouts` shows it, `porter-admin unlock` lifts it while porter runs, a
 * restart keeps it; and PORTER-D002 when a random PIN guess is too likely to
 * match someone.
 *
 * The host checks the contract as it goes (recording_host.h): services on
 * the loop thread only (porter's control thread must hand everything over
 * through invoke), nothing after shutdown, no watch or timer left behind, no
 * PIN in a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "recording_host.h"

static bool reported(const struct site *s, const char *code)
{
	return find_report(s, code) != NULL;
}

/* Present a PIN; returns the feedback code once decided. */
static const char *present(struct site *s, const char *reader, const char *pin)
{
	uint64_t id;

	s->last_code[0] = '\0';
	if (hook_pin(s, reader, pin, strlen(pin), &id) == PORTER_VERDICT_PENDING)
		assert_non_null(wait_result(s, id));
	run_for(s, 10);
	return s->last_code;
}

/* Five wrong PINs at `reader` (the default max_attempts). */
static void lock(struct site *s, const char *reader)
{
	static const char *const guesses[] = {"111111", "222222", "333333", "444444", "555555"};
	for (size_t i = 0; i < 5; i++)
		present(s, reader, guesses[i]);
	assert_string_equal(s->last_code, "locked_out");
}

/* porter-admin ARGS with stdout captured into `out`; returns its exit status. */
static int admin(char *out, size_t size, const char *a1, const char *a2, const char *a3,
                 const char *a4, const char *a5, const char *a6)
{
	return fx_admin(out, size, a1, a2, a3, a4, a5, a6, NULL);
}

/* `porter-admin lockouts` until its output contains `needle` (porter
 * writes lockouts.json from its own thread, moments after the change). */
static bool lockouts_show(struct site *s, const char *needle, char *out, size_t size)
{
	for (int i = 0; i < 100; i++) {
		if (admin(out, size, "lockouts", "--state-dir", s->dir, NULL, NULL, NULL) == 0 &&
		    strstr(out, needle))
			return true;
		run_for(s, 20);
	}
	return false;
}

/* Ana alone; notices in the log are shown too. */
static int site_setup(void **state)
{
	return site_open(state, &(struct site_options){
	                                .people = FX_ANA,
	                                .echo_level = PORTER_LOG_NOTICE,
	                        });
}

/* ---- lockouts ------------------------------------------------------------ */

static void every_lockout_is_a_warning_naming_reader_length_and_level(void **state)
{
	struct site *s = *state;
	start(s, ",\"lockout\":{\"base_lockout_s\":1}");
	lock(s, "front");
	assert_true(logged(s, PORTER_LOG_WARNING,
	                   "reader front: locked out for 1 s after 5 wrong PINs (lockout 1)") >= 0);
	assert_string_equal(present(s, "front", PIN_ANA), "locked_out");
	assert_true(wait_log(s, PORTER_LOG_NOTICE,
	                     "reader front: lockout ended after 1 s (lockout 1)", 3000));
	/* On probation: one more wrong PIN locks again, twice as long. */
	assert_string_equal(present(s, "front", "666666"), "locked_out");
	assert_true(logged(s, PORTER_LOG_WARNING,
	                   "reader front: locked out for 2 s after 6 wrong PINs (lockout 2)") >= 0);
	stop(s);
}

static void porter_admin_shows_a_lockout_and_lifts_it_while_porter_runs(void **state)
{
	struct site *s = *state;
	char out[4096];
	start(s, "");
	lock(s, "front");
	assert_true(lockouts_show(s, "1 reader locked", out, sizeof(out)));
	assert_non_null(strstr(out, "front"));
	assert_non_null(strstr(out, "locked until"));
	assert_non_null(strstr(out, "lockout level 1, 5 wrong PINs"));
	char path[FX_PATH_MAX + 32];
	struct stat st;
	snprintf(path, sizeof(path), "%s/lockouts.json", s->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600); /* who was where, when: owner only */

	/* porter's own thread takes the request; the loop lifts the lockout. */
	assert_int_equal(
	        admin(out, sizeof(out), "unlock", "--state-dir", s->dir, "--reader", "front", NULL),
	        0);
	assert_true(
	        wait_log(s, PORTER_LOG_NOTICE, "reader front: lockout lifted by an admin", 2000));
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_true(lockouts_show(s, "0 readers locked", out, sizeof(out)));
	stop(s);
}

static void a_restart_keeps_an_active_lockout(void **state)
{
	struct site *s = *state;
	char out[4096];
	start(s, "");
	lock(s, "front");
	stop(s);
	start(s, "");
	assert_true(logged(s, PORTER_LOG_WARNING, "reader front: still locked out for") >= 0);
	assert_string_equal(present(s, "front", PIN_ANA), "locked_out");
	assert_true(lockouts_show(s, "1 reader locked", out, sizeof(out)));
	stop(s);
}

static void an_unlock_asked_while_porter_is_down_applies_when_it_starts(void **state)
{
	struct site *s = *state;
	char out[4096];
	start(s, "");
	lock(s, "front");
	stop(s);
	/* Nobody takes it: porter-admin says so, and the request stays. */
	assert_int_equal(admin(out, sizeof(out), "unlock", "--database", "/nonexistent/x.db",
	                       "--all", "--wait", "0"),
	                 1);
	assert_int_equal(
	        admin(out, sizeof(out), "unlock", "--state-dir", s->dir, "--all", "--wait", "0"),
	        1);
	start(s, "");
	assert_true(
	        wait_log(s, PORTER_LOG_NOTICE, "reader front: lockout lifted by an admin", 2000));
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	stop(s);
}

static void the_end_of_a_lockout_is_a_notice(void **state)
{
	struct site *s = *state;
	start(s, ",\"lockout\":{\"max_attempts\":2,\"base_lockout_s\":1}");
	present(s, "front", "111111");
	present(s, "front", "222222");
	assert_string_equal(s->last_code, "locked_out");
	assert_true(wait_log(s, PORTER_LOG_NOTICE,
	                     "reader front: lockout ended after 1 s (lockout 1)", 3000));
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	stop(s);
}

static void a_request_porter_cannot_use_is_refused_and_logged(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 64];
	start(s, "");
	lock(s, "front");
	snprintf(path, sizeof(path), "%s/unlock-by-hand.json", s->dir);
	assert_int_equal(
	        fx_write_file(path, "{\"porter_unlock\":1,\"reader\":\"front\",\"all\":true}"), 0);
	assert_true(wait_log(s, PORTER_LOG_WARNING, "unlock request refused", 2000));
	assert_int_equal(access(path, F_OK), -1); /* taken, not read again and again */
	assert_string_equal(present(s, "front", PIN_ANA), "locked_out");
	stop(s);
}

/* ---- PORTER-D002 ----------------------------------------------------------- */

static void a_directory_too_large_for_its_pin_length_is_flagged(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];
	size_t size = 128 * 200, len = 0;
	char *text = malloc(size);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, size - len, "{\"porter_directory\":1,\"people\":[");
	for (int i = 0; i < 120; i++) /* 120 people, 4-digit PINs: 1.2 % a guess */
		len += (size_t)snprintf(text + len, size - len,
		                        "%s{\"id\":\"m-%d\",\"kind\":\"member\",\"name\":\"M %d\","
		                        "\"pin_hmac\":\"%064x\"}",
		                        i ? "," : "", i, i, i + 1);
	snprintf(text + len, size - len, "]}");
	snprintf(path, sizeof(path), "%s/directory.json", s->dir);
	assert_int_equal(fx_write_file(path, text), 0);
	free(text);

	start(s, "");
	assert_true(reported(s, "PORTER-D002")); /* at init, through report */
	assert_true(logged(s, PORTER_LOG_WARNING, "PORTER-D002") >= 0);
	s->n_reports = 0;
	assert_true(api->diagnostics(s->porter, rec_report, s) >= 1);
	assert_true(reported(s, "PORTER-D002"));
	stop(s);

	s->n_reports = 0;
	start(s, ",\"keypad\":{\"pin_min_length\":5}"); /* 0.12 %: fine */
	assert_false(reported(s, "PORTER-D002"));
	assert_int_equal(api->diagnostics(s->porter, rec_report, s), 0);
	stop(s);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        CASE(every_lockout_is_a_warning_naming_reader_length_and_level),
	        CASE(porter_admin_shows_a_lockout_and_lifts_it_while_porter_runs),
	        CASE(a_restart_keeps_an_active_lockout),
	        CASE(an_unlock_asked_while_porter_is_down_applies_when_it_starts),
	        CASE(the_end_of_a_lockout_is_a_notice),
	        CASE(a_request_porter_cannot_use_is_refused_and_logged),
	        CASE(a_directory_too_large_for_its_pin_length_is_flagged),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must be set (meson test sets them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
