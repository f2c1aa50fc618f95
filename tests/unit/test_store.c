/* SPDX-License-Identifier: MIT */
/* test_store.c: presence changes are durable, in order, and never doubled. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static char dir[64], path[128], marker[160];
static struct store_open_report report;

/* Open `path`, which must succeed; store_open's words are in `report`. */
static struct store *open_store(void)
{
	struct store *s = NULL;
	memset(&report, 0, sizeof(report));
	int r = store_open(path, &s, &report);
	if (r < 0)
		fail_msg("store_open: %d: %s (fix: %s)", r, report.error, report.fix);
	return s;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/porter-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/presence.db", dir);
	store_marker_path(path, marker, sizeof(marker));
	return 0;
}

static int teardown(void **state)
{
	char p[160];
	const char *suffix[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	unlink(marker);
	chmod(dir, 0700);
	rmdir(dir);
	return 0;
}

static struct store_change change(const char *person, bool in)
{
	struct store_change c = {.person_id = person,
	                         .reader_id = "front",
	                         .in = in,
	                         .at_unix_us = 1795593600123456,
	                         .cause = "credential"};
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
	struct store *s = open_store();
	char err[256];
	struct store_change a = change("m-1", true), b = change("m-2", true),
	                    c = change("m-2", false);
	const struct store_change *batch[] = {&a, &b, &c};
	assert_int_equal(store_record(s, batch, 3, err, sizeof(err)), 0);
	store_close(s);

	s = open_store();
	struct loaded l = {0};
	assert_int_equal(store_load_presence(s, on_presence, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n_in, 1);
	assert_string_equal(l.last, "m-1");
	store_close(s);
	assert_int_equal(count_rows("SELECT count(*) FROM presence_log"), 3);
	assert_int_equal(count_rows("SELECT count(*) FROM presence_log WHERE recorded_at="
	                            "'2026-11-25T08:00:00.123456Z'"),
	                 3);
	assert_int_equal(count_rows("PRAGMA journal_mode='wal'") >= 0, 1);
}

static void test_recorded_at_is_exact_across_seconds_in_one_batch(void **state)
{
	struct store *s = open_store();
	char err[256];
	struct store_change a = change("m-1", true), b = change("m-2", true),
	                    c = change("m-1", false);
	a.at_unix_us = 1795593600999999;
	b.at_unix_us = 1795593601000001;
	c.at_unix_us = 1795593600000000;
	const struct store_change *batch[] = {&a, &b, &c};
	assert_int_equal(store_record(s, batch, 3, err, sizeof(err)), 0);
	store_close(s);
	assert_int_equal(
	        count_rows("SELECT count(*) FROM presence_log WHERE"
	                   " (person_id='m-1' AND direction='in' AND"
	                   "  recorded_at='2026-11-25T08:00:00.999999Z') OR"
	                   " (person_id='m-2' AND recorded_at='2026-11-25T08:00:01.000001Z') OR"
	                   " (person_id='m-1' AND direction='out' AND"
	                   "  recorded_at='2026-11-25T08:00:00.000000Z')"),
	        3);
}

static void test_the_same_event_key_is_never_recorded_twice(void **state)
{
	struct store *s = open_store();
	char err[256];
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

static void test_event_keys_are_uuid_v7_ordered_by_the_time_of_the_change(void **state)
{
	/* Time-ordered keys: each batch adds to the end of the event_key index
	 * instead of touching pages all over it. */
	struct store_change c[4] = {
	        {.at_unix_us = 1795593600123456},
	        {.at_unix_us = 1795593600124456},
	        {.at_unix_us = 1795593601000000},
	        {.at_unix_us = 1795593601000000, .event_key = "kept-as-it-was"},
	};
	struct store_change *batch[] = {&c[0], &c[1], &c[2], &c[3]};
	assert_int_equal(store_make_event_keys(batch, 4), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(strlen(c[i].event_key), 36);
		assert_int_equal(c[i].event_key[14], '7');
		assert_non_null(strchr("89ab", c[i].event_key[19]));
	}
	/* 1795593600123 ms = 0x01a211b7fc7b */
	assert_memory_equal(c[0].event_key, "01a211b7-fc7b-7", 15);
	assert_true(strcmp(c[0].event_key, c[1].event_key) < 0);
	assert_true(strcmp(c[1].event_key, c[2].event_key) < 0);
	assert_string_equal(c[3].event_key, "kept-as-it-was");

	char a[EVENT_KEY_LEN + 1], b[EVENT_KEY_LEN + 1];
	assert_int_equal(store_new_event_key(a), 0);
	assert_int_equal(store_new_event_key(b), 0);
	assert_int_equal(a[14], '7');
	assert_string_not_equal(a, b);
}

static void test_keys_made_in_one_millisecond_differ(void **state)
{
	struct store_change c[300];
	struct store_change *batch[300];
	for (int i = 0; i < 300; i++) {
		c[i] = (struct store_change){.at_unix_us = 1795593600123456};
		batch[i] = &c[i];
	}
	assert_int_equal(store_make_event_keys(batch, 300), 0);
	for (int i = 0; i < 300; i++)
		for (int j = i + 1; j < 300; j++)
			assert_string_not_equal(c[i].event_key, c[j].event_key);
}

static mode_t mode_of(const char *p)
{
	struct stat st;
	if (stat(p, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void file_of(const char *suffix, char ret[160])
{
	snprintf(ret, 160, "%s%s", path, suffix);
}

static void record_one_change(struct store *s, const char *person, bool in, int expect)
{
	char err[512];
	struct store_change c = change(person, in);
	const struct store_change *batch[] = {&c};
	assert_int_equal(store_record(s, batch, 1, err, sizeof(err)), expect);
}

static void remove_database_files(void)
{
	char p[160];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		file_of(suffix[i], p);
		unlink(p);
	}
}

/* ---- file modes ---------------------------------------------------------- */

static void test_a_new_database_and_its_wal_and_shm_are_readable_by_the_owner_only(void **state)
{
	char p[160];
	mode_t old = umask(022); /* a daemon's usual umask would give 0644 */
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0);
	assert_int_equal(mode_of(path), 0600);
	file_of("-wal", p);
	assert_int_equal(mode_of(p), 0600);
	file_of("-shm", p);
	assert_int_equal(mode_of(p), 0600);
	assert_string_equal(report.warning, "");
	store_close(s);
	umask(old);
}

static void test_an_existing_database_others_can_read_is_tightened_with_a_warning(void **state)
{
	sqlite3 *db;
	char p[160];
	mode_t old = umask(022);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	        sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x)", NULL, NULL, NULL),
	        SQLITE_OK);
	file_of("-wal", p);
	assert_int_equal(mode_of(path), 0644);
	assert_int_equal(mode_of(p), 0644); /* the connection is still open: -wal is there */

	struct store *s = open_store();
	assert_non_null(strstr(report.warning, path));
	assert_non_null(strstr(report.warning, "0644"));
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(p), 0600);
	record_one_change(s, "m-1", true, 0);
	store_close(s);
	sqlite3_close(db);
	umask(old);
}

/* ---- a first start, told apart from lost state ---------------------------- */

static void test_a_first_start_creates_the_database_and_its_marker(void **state)
{
	assert_int_equal(access(marker, F_OK), -1);
	struct store *s = open_store();
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(access(marker, F_OK), 0);
	/* The marker is beside the database but not matched by presence.db*. */
	assert_non_null(strstr(marker, "/.presence.db"));
	store_close(s);
}

static void test_a_missing_database_porter_made_before_is_refused_with_the_fix(void **state)
{
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0);
	store_close(s);
	remove_database_files(); /* rm presence.db* */

	memset(&report, 0, sizeof(report));
	s = (struct store *)&report; /* must be reset to NULL */
	assert_int_equal(store_open(path, &s, &report), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(report.error, path));
	assert_non_null(strstr(report.error, "missing"));
	assert_non_null(strstr(report.fix, "backup"));
	assert_non_null(strstr(report.fix, marker));
	/* Refusing created nothing: a restored file can be put back as it was. */
	assert_int_equal(access(path, F_OK), -1);
}

static void test_removing_the_marker_starts_again_with_nobody_in(void **state)
{
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0);
	store_close(s);
	remove_database_files();
	assert_int_equal(unlink(marker), 0);

	s = open_store();
	struct loaded l = {0};
	char err[256];
	assert_int_equal(store_load_presence(s, on_presence, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n_in, 0);
	assert_int_equal(access(marker, F_OK), 0);
	store_close(s);
}

static void test_a_database_from_before_the_marker_gets_one(void **state)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct store *s = open_store();
	assert_int_equal(access(marker, F_OK), 0);
	store_close(s);
}

/* ---- the database vanishes while porter runs ------------------------------ */

static void assert_batch_fails_as_gone(struct store *s)
{
	char err[512];
	struct store_change c = change("m-2", true);
	const struct store_change *batch[] = {&c};
	assert_false(store_gone(s));
	assert_int_equal(store_record(s, batch, 1, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "deleted or replaced"));
	assert_true(store_gone(s));
	/* Every later batch fails too: the files it would go to are not there. */
	assert_int_equal(store_record(s, batch, 1, err, sizeof(err)), -EIO);
}

static void test_a_database_deleted_while_open_fails_the_batch(void **state)
{
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0);
	remove_database_files();
	assert_batch_fails_as_gone(s);
	store_close(s);
}

static void test_a_database_replaced_while_open_fails_the_batch(void **state)
{
	char other[160];
	sqlite3 *db;
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0);
	snprintf(other, sizeof(other), "%s/other.db", dir);
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(rename(other, path), 0);
	assert_batch_fails_as_gone(s);
	store_close(s);
}

static void test_a_wal_file_deleted_while_open_fails_the_batch(void **state)
{
	char p[160];
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0);
	file_of("-wal", p);
	assert_int_equal(unlink(p), 0); /* the committed changes in it go with it */
	assert_batch_fails_as_gone(s);
	store_close(s);
}

static void test_a_database_behind_a_symbolic_link_is_watched_where_it_is(void **state)
{
	char target[160], wal[200];
	snprintf(target, sizeof(target), "%s/target.db", dir);
	FILE *f = fopen(target, "w"); /* an empty file is a new database to SQLite */
	assert_non_null(f);
	fclose(f);
	assert_int_equal(symlink("target.db", path), 0);
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0); /* the link is not mistaken for a move */
	snprintf(wal, sizeof(wal), "%s-wal", target);
	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(unlink(wal), 0);
	record_one_change(s, "m-2", true, -EIO);
	assert_true(store_gone(s));
	store_close(s);
	unlink(target);
	snprintf(wal, sizeof(wal), "%s-shm", target);
	unlink(wal);
}

/* ---- a database porter cannot write --------------------------------------- */

/* File permissions do not apply to root, and tests run as root: there the
 * check runs in a child that became nobody; as anyone else, directly. */
#define TEST_UID 65534
#define TEST_GID 65534

struct open_result {
	int rc;
	bool opened;
	struct store_open_report report;
};

static void chown_to_test_user(const char *p)
{
	if (geteuid() == 0)
		assert_int_equal(chown(p, TEST_UID, TEST_GID), 0);
}

static void open_unprivileged(struct open_result *ret)
{
	struct store *s = NULL;
	memset(ret, 0, sizeof(*ret));
	if (geteuid() != 0) {
		ret->rc = store_open(path, &s, &ret->report);
		ret->opened = s != NULL;
		store_close(s);
		return;
	}
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (setgid(TEST_GID) != 0 || setuid(TEST_UID) != 0) {
			ret->rc = -EPERM;
			snprintf(ret->report.error, sizeof(ret->report.error), "setuid failed");
		} else {
			ret->rc = store_open(path, &s, &ret->report);
			ret->opened = s != NULL;
			store_close(s);
		}
		size_t off = 0;
		while (off < sizeof(*ret)) {
			ssize_t n = write(fds[1], (char *)ret + off, sizeof(*ret) - off);
			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	size_t off = 0;
	while (off < sizeof(*ret)) {
		ssize_t n = read(fds[0], (char *)ret + off, sizeof(*ret) - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(off, sizeof(*ret));
}

static void make_database_for_test_user(void)
{
	struct store *s = open_store();
	record_one_change(s, "m-1", true, 0);
	store_close(s);
	chown_to_test_user(dir);
	chown_to_test_user(path);
	chown_to_test_user(marker);
}

static void test_a_read_only_database_file_is_refused_naming_user_and_mode(void **state)
{
	make_database_for_test_user();
	assert_int_equal(chmod(path, 0400), 0);

	struct open_result res;
	open_unprivileged(&res);
	assert_int_equal(res.rc, -EINVAL);
	assert_false(res.opened);
	assert_non_null(strstr(res.report.error, path));
	assert_non_null(strstr(res.report.error, "not writable"));
	assert_non_null(strstr(res.report.error, "0400"));
	assert_non_null(strstr(res.report.fix, "chmod 0600"));
	if (geteuid() == 0)
		assert_non_null(strstr(res.report.fix, "nobody"));
}

static void test_a_database_directory_porter_cannot_write_is_refused(void **state)
{
	make_database_for_test_user();
	if (geteuid() == 0)
		assert_int_equal(chown(dir, 0, 0), 0);
	assert_int_equal(chmod(dir, 0555), 0);

	struct open_result res;
	open_unprivileged(&res);
	assert_int_equal(res.rc, -EINVAL);
	assert_false(res.opened);
	assert_non_null(strstr(res.report.error, dir));
	assert_non_null(strstr(res.report.error, "-wal"));
	assert_non_null(strstr(res.report.fix, dir));
}

static void test_a_writable_database_opens_for_an_unprivileged_user(void **state)
{
	/* The same setup as the refusals, but writable: proves they refuse for
	 * the reason they name, not because the child cannot open anything. */
	make_database_for_test_user();
	struct open_result res;
	open_unprivileged(&res);
	if (res.rc != 0)
		fail_msg("%d: %s", res.rc, res.report.error);
	assert_true(res.opened);
}

static void test_a_database_another_program_keeps_locked_is_named_as_such(void **state)
{
	struct store *s = open_store();
	store_close(s);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

	struct store_open_report r;
	assert_int_equal(store_open(path, &s, &r), -EBUSY); /* after SQLite's 5 s busy wait */
	assert_null(s);
	assert_non_null(strstr(r.error, "locked"));
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
}

static void test_a_missing_database_directory_is_named_with_the_fix(void **state)
{
	struct store *s;
	struct store_open_report r;
	assert_int_equal(store_open("/nonexistent/dir/presence.db", &s, &r), -EINVAL);
	assert_non_null(strstr(r.error, "/nonexistent/dir/presence.db"));
	assert_non_null(strstr(r.fix, "/nonexistent/dir"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_a_batch_is_durable_and_presence_survives_reopening),
	        T(test_recorded_at_is_exact_across_seconds_in_one_batch),
	        T(test_the_same_event_key_is_never_recorded_twice),
	        cmocka_unit_test(test_event_keys_are_uuid_v7_ordered_by_the_time_of_the_change),
	        cmocka_unit_test(test_keys_made_in_one_millisecond_differ),
	        T(test_a_new_database_and_its_wal_and_shm_are_readable_by_the_owner_only),
	        T(test_an_existing_database_others_can_read_is_tightened_with_a_warning),
	        T(test_a_first_start_creates_the_database_and_its_marker),
	        T(test_a_missing_database_porter_made_before_is_refused_with_the_fix),
	        T(test_removing_the_marker_starts_again_with_nobody_in),
	        T(test_a_database_from_before_the_marker_gets_one),
	        T(test_a_database_deleted_while_open_fails_the_batch),
	        T(test_a_database_replaced_while_open_fails_the_batch),
	        T(test_a_wal_file_deleted_while_open_fails_the_batch),
	        T(test_a_database_behind_a_symbolic_link_is_watched_where_it_is),
	        T(test_a_read_only_database_file_is_refused_naming_user_and_mode),
	        T(test_a_database_directory_porter_cannot_write_is_refused),
	        T(test_a_writable_database_opens_for_an_unprivileged_user),
	        T(test_a_database_another_program_keeps_locked_is_named_as_such),
	        cmocka_unit_test(test_a_missing_database_directory_is_named_with_the_fix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
