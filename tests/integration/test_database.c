/* SPDX-License-Identifier: MIT */
/*
 * test_database.c: the presence database, as a host and an operator see it
 * through porter.h (porter.so loaded with dlopen on host_loop).
 *
 *   - deleted while porter runs: nobody is told "checked in", the request is
 *     denied as record_failed, an error is logged and diagnostics() says
 *     what happened and what to do;
 *   - missing at the next start, although porter made it: init refuses,
 *     with the fix, instead of starting with nobody checked in;
 *   - not writable by the user porter runs as: init refuses, naming the
 *     user and the mode (tests run as root, where file modes do not apply,
 *     so that check runs in a child that became nobody);
 *   - created readable by its owner only, with its -wal and -shm.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "recording_host.h"

/* Who file modes apply to, when the tests run as root. */
#define TEST_UID 65534
#define TEST_GID 65534

static bool saw_feedback(const struct site *s, size_t from, const char *code)
{
	for (size_t i = from; i < s->n_feedback; i++)
		if (strcmp(s->feedback[i].code, code) == 0)
			return true;
	return false;
}

/* ---- driving porter ------------------------------------------------------ */

/* init() with no repeat window, the reports of earlier calls forgotten. */
static int start_site(struct site *s)
{
	s->n_reports = 0;
	return start_with(s, host_loop_services(s->loop), ",\"repeat_window_ms\":0");
}

static const struct seen_result *present(struct site *s, const char *pin)
{
	uint64_t id;

	assert_int_equal(hook_pin(s, "front", pin, strlen(pin), &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	if (!r)
		fail_msg("no completion within %d ms", WAIT_MS);
	return r;
}

static void remove_database_files(struct site *s)
{
	const char *suffix[] = {"", "-wal", "-shm"};
	char p[FX_PATH_MAX + 64];
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", s->db_path, suffix[i]);
		unlink(p);
	}
}

static mode_t mode_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* ---- the database vanishes ------------------------------------------------ */

static void a_database_deleted_while_porter_runs_refuses_check_ins_and_says_so(void **state)
{
	struct site *s = *state;
	assert_int_equal(start_site(s), 0);
	const struct seen_result *ana = present(s, PIN_ANA);
	assert_string_equal(ana->code, "checked_in");
	assert_int_equal(api->diagnostics(s->porter, rec_report, s), 0);

	remove_database_files(s); /* rm presence.db* while the host runs */
	size_t fb_mark = s->n_feedback, doors = s->n_doors, errors = s->n_error_logs;
	const struct seen_result *ben = present(s, PIN_BEN);

	assert_int_equal(ben->verdict, PORTER_VERDICT_DENY);
	assert_int_equal(ben->direction, PORTER_DIRECTION_NONE);
	assert_string_equal(ben->code, "record_failed");
	assert_true(saw_feedback(s, fb_mark, "record_failed"));
	assert_false(saw_feedback(s, fb_mark, "checked_in"));
	assert_int_equal(s->n_doors, doors);
	assert_true(s->n_error_logs > errors);
	assert_non_null(strstr(s->error_logs[s->n_error_logs - 1], "deleted or replaced"));

	s->n_reports = 0;
	assert_int_equal(api->diagnostics(s->porter, rec_report, s), 1);
	const struct seen_report *d = find_report(s, "PORTER-D003");
	assert_non_null(d);
	assert_int_equal(d->severity, PORTER_SEVERITY_ERROR);
	assert_non_null(strstr(d->message, s->db_path));
	assert_non_null(strstr(d->fix, "restore"));
	assert_non_null(strstr(d->fix, "restart"));

	/* Ana, who is in, is not told she checked out either. */
	fb_mark = s->n_feedback;
	ana = present(s, PIN_ANA);
	assert_string_equal(ana->code, "record_failed");
	assert_false(saw_feedback(s, fb_mark, "checked_out"));
	shutdown_porter(s);
}

static void a_restart_without_the_database_is_refused_with_the_fix(void **state)
{
	struct site *s = *state;
	assert_int_equal(start_site(s), 0);
	assert_string_equal(present(s, PIN_ANA)->code, "checked_in");
	shutdown_porter(s);
	remove_database_files(s);

	assert_int_equal(start_site(s), -EINVAL);
	assert_null(s->porter);
	const struct seen_report *r = find_report(s, "PORTER-DATABASE");
	assert_non_null(r);
	assert_int_equal(r->severity, PORTER_SEVERITY_ERROR);
	assert_non_null(strstr(r->message, s->db_path));
	assert_non_null(strstr(r->message, "missing"));
	assert_non_null(strstr(r->fix, "backup"));
	assert_non_null(strstr(r->fix, s->marker_path));
	assert_int_equal(access(s->db_path, F_OK), -1); /* no empty database was made */

	/* The admin chooses to start over: Ana is out, her PIN checks her in. */
	assert_int_equal(unlink(s->marker_path), 0);
	assert_int_equal(start_site(s), 0);
	assert_string_equal(present(s, PIN_ANA)->code, "checked_in");
	shutdown_porter(s);
}

/* ---- file modes ----------------------------------------------------------- */

static void the_database_and_its_wal_and_shm_are_owner_only_after_the_first_start(void **state)
{
	struct site *s = *state;
	char p[FX_PATH_MAX + 64];
	mode_t old = umask(022);
	int r = start_site(s);
	umask(old);
	assert_int_equal(r, 0);
	assert_string_equal(present(s, PIN_ANA)->code, "checked_in");
	assert_int_equal(mode_of(s->db_path), 0600);
	snprintf(p, sizeof(p), "%s-wal", s->db_path);
	assert_int_equal(mode_of(p), 0600);
	snprintf(p, sizeof(p), "%s-shm", s->db_path);
	assert_int_equal(mode_of(p), 0600);
	shutdown_porter(s);
}

/* ---- a database porter cannot write ----------------------------------------- */

struct child_outcome {
	int rc;
	uint32_t severity;
	char code[64];
	char message[TEXT_MAX];
	char fix[TEXT_MAX];
};

/* init() as a user file modes apply to, in a child; what it said comes back
 * through a pipe. As root, the site is given to that user first. */
static void init_unprivileged(struct site *s, struct child_outcome *ret)
{
	int fds[2];
	memset(ret, 0, sizeof(*ret));
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		struct child_outcome o = {.rc = -EPERM};
		if (geteuid() != 0 || (setgid(TEST_GID) == 0 && setuid(TEST_UID) == 0)) {
			struct host_loop_callbacks cb = {
			        .userdata = s, .log = rec_log, .complete = rec_complete};
			host_loop_free(s->loop);
			s->loop = host_loop_new(&cb);
			o.rc = start_site(s);
			if (s->n_reports) {
				const struct seen_report *r = &s->reports[0];
				o.severity = r->severity;
				snprintf(o.code, sizeof(o.code), "%s", r->code);
				snprintf(o.message, sizeof(o.message), "%s", r->message);
				snprintf(o.fix, sizeof(o.fix), "%s", r->fix);
			}
			if (o.rc == 0)
				shutdown_porter(s);
		}
		(void)!write(fds[1], &o, sizeof(o));
		_exit(0);
	}
	close(fds[1]);
	size_t got = 0;
	for (ssize_t n;
	     got < sizeof(*ret) && (n = read(fds[0], (char *)ret + got, sizeof(*ret) - got)) > 0;)
		got += (size_t)n;
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(got, sizeof(*ret));
}

/* A site made by root, then handed to the unprivileged user with its
 * database already created (by a first start). */
static void give_site_to_test_user(struct site *s)
{
	const char *names[] = {"", "/pin.key", "/directory.json", "/presence.db",
	                       "/.presence.db.marker"};
	char p[FX_PATH_MAX + 64];
	assert_int_equal(start_site(s), 0);
	assert_string_equal(present(s, PIN_ANA)->code, "checked_in");
	shutdown_porter(s);
	for (size_t i = 0; geteuid() == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", s->dir, names[i]);
		if (chown(p, TEST_UID, TEST_GID) != 0 && errno != ENOENT)
			fail_msg("chown %s: %s", p, strerror(errno));
	}
}

static void a_read_only_database_is_refused_at_start_naming_the_user_and_mode(void **state)
{
	struct site *s = *state;
	struct child_outcome o;
	give_site_to_test_user(s);
	assert_int_equal(chmod(s->db_path, 0400), 0);

	init_unprivileged(s, &o);
	assert_int_equal(o.rc, -EINVAL);
	assert_int_equal(o.severity, PORTER_SEVERITY_ERROR);
	assert_string_equal(o.code, "PORTER-DATABASE");
	assert_non_null(strstr(o.message, s->db_path));
	assert_non_null(strstr(o.message, "not writable"));
	assert_non_null(strstr(o.message, "0400"));
	assert_non_null(strstr(o.fix, "chmod 0600"));
	if (geteuid() == 0)
		assert_non_null(strstr(o.fix, "chown nobody"));
}

static void the_same_site_writable_starts_for_that_user(void **state)
{
	/* The control for the test above: same user, same site, mode 0600. */
	struct site *s = *state;
	struct child_outcome o;
	give_site_to_test_user(s);
	init_unprivileged(s, &o);
	if (o.rc != 0)
		fail_msg("init as the unprivileged user: %d: %s (%s)", o.rc, o.message, o.code);
}

/* ---- fixture ------------------------------------------------------------------ */

/* Members Ana and Ben; the log is shown with PORTER_TEST_VERBOSE only (the
 * errors here are expected). */
static int site_setup(void **state)
{
	return site_open(state, &(struct site_options){
	                                .people = FX_ANA | FX_BEN,
	                                .echo_level = -1,
	                        });
}

#define T(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(a_database_deleted_while_porter_runs_refuses_check_ins_and_says_so),
	        T(a_restart_without_the_database_is_refused_with_the_fix),
	        T(the_database_and_its_wal_and_shm_are_owner_only_after_the_first_start),
	        T(a_read_only_database_is_refused_at_start_naming_the_user_and_mode),
	        T(the_same_site_writable_starts_for_that_user),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must be set (meson test sets them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
