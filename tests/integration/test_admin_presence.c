/* SPDX-License-Identifier: MIT */
/*
 * test_admin_presence.c: `porter-admin presence`, what happened at the door
 * as an operator asks for it: who is in now and since when, and one local
 * day's check-ins and check-outs with names, readers and causes in words.
 *
 * One test makes the database the real way: the reference host
 * ($PORTER_HOST) loads porter.so and PINs are typed into it through a pipe.
 * The others write rows with SQLite directly, with porter's schema
 * (plugin/store.c), at chosen instants around midnight and a daylight saving
 * change, so that local days and times can be checked exactly. The database
 * is only read: never created, never changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "admin_run.h"
#include "porter_fixture.h"

extern char **environ;

#define PIN_ANA "482913"
#define PIN_BEN "736150"

/* plugin/store.c's schema, as porter creates it. */
static const char schema_sql[] = "PRAGMA journal_mode=WAL;"
                                 "CREATE TABLE presence_log("
                                 "  seq INTEGER PRIMARY KEY,"
                                 "  event_key TEXT NOT NULL UNIQUE,"
                                 "  person_id TEXT NOT NULL,"
                                 "  direction TEXT NOT NULL CHECK(direction IN ('in','out')),"
                                 "  reader_id TEXT NOT NULL,"
                                 "  recorded_at TEXT NOT NULL,"
                                 "  cause TEXT NOT NULL);"
                                 "CREATE TABLE presence("
                                 "  person_id TEXT PRIMARY KEY,"
                                 "  state TEXT NOT NULL CHECK(state IN ('in','out')),"
                                 "  since TEXT NOT NULL,"
                                 "  last_seq INTEGER NOT NULL);"
                                 "CREATE TABLE porter_meta("
                                 "  key TEXT PRIMARY KEY,"
                                 "  value TEXT NOT NULL);";

/*
 * 29 March 2026: Europe/Berlin goes from CET (+01:00) to CEST (+02:00) at
 * 01:00 UTC, so its local day is 23 hours, 2026-03-28T23:00Z to
 * 2026-03-29T22:00Z. Rows on both sides of both ends.
 */
static const char rows_sql[] =
        "INSERT INTO presence_log VALUES"
        "(1,'k1','m-ana','in','front','2026-03-28T22:59:59.999999Z','credential'),"
        "(2,'k2','m-ben','in','front','2026-03-28T23:00:00.000000Z','credential'),"
        "(3,'k3','m-ben','out','front','2026-03-29T01:30:00.500000Z','credential'),"
        "(4,'k4','v-vera','in','side','2026-03-29T10:00:00.000000Z','day_cutoff'),"
        "(5,'k5','m-gone','in','side','2026-03-29T11:00:00.000000Z','credential'),"
        "(6,'k6','m-ana','out','front','2026-03-29T21:59:59.999999Z','host_cancelled'),"
        "(7,'k7','m-ana','in','front','2026-03-29T22:00:00.000000Z','door_failed');"
        "INSERT INTO presence VALUES"
        "('m-ana','in','2026-03-29T22:00:00.000000Z',7),"
        "('m-ben','out','2026-03-29T01:30:00.500000Z',3),"
        "('v-vera','in','2026-03-29T10:00:00.000000Z',4),"
        "('m-gone','in','2026-03-29T11:00:00.000000Z',5);";

struct site {
	char dir[FX_PATH_MAX];
	char db[FX_PATH_MAX + 32];
	char directory[FX_PATH_MAX + 32];
	char config[FX_PATH_MAX + 32];
	struct admin_run run;
};

static int site_setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));
	const char *admin = fx_env("PORTER_ADMIN");

	if (!s || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	snprintf(s->db, sizeof(s->db), "%s/presence.db", s->dir);
	snprintf(s->directory, sizeof(s->directory), "%s/directory.json", s->dir);
	snprintf(s->config, sizeof(s->config), "%s/config.json", s->dir);
	*state = s;
	char *config = fx_config(s->dir, ",\"repeat_window_ms\":0");
	int r = config ? fx_write_file(s->config, config) : -ENOMEM;
	free(config);
	if (r < 0 || fx_keygen(admin, s->dir) != 0 ||
	    fx_add_person(admin, s->dir, "m-ana", "member", "Ana Souza", PIN_ANA, NULL, NULL) !=
	            0 ||
	    fx_add_person(admin, s->dir, "m-ben", "member", "Ben Brown", PIN_BEN, NULL, NULL) !=
	            0 ||
	    fx_add_person(admin, s->dir, "v-vera", "visitor", "Vera Visitor", "905827",
	                  "2026-03-29T08:00:00Z", "2026-03-29T20:00:00Z") != 0)
		return -1;
	unsetenv("TZ");
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;

	fx_rmrf(s->dir);
	free(s);
	unsetenv("TZ");
	return 0;
}

static void make_database(struct site *s, const char *more_sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(s->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, schema_sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, rows_sql, NULL, NULL, NULL), SQLITE_OK);
	if (more_sql)
		assert_int_equal(sqlite3_exec(db, more_sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void presence(struct site *s, const char *tz, bool json)
{
	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, "--directory",
	                           s->directory, "--tz", tz, "--date", "2026-03-29",
	                           json ? "--json" : NULL, NULL),
	                 0);
}

/* ---- the text form ------------------------------------------------------- */

static void a_local_day_with_a_clock_change_in_local_times_and_names(void **state)
{
	struct site *s = *state;
	char want[8192];

	make_database(s, NULL);
	presence(s, "Europe/Berlin", false);
	assert_int_equal(s->run.status, 0);
	snprintf(want, sizeof(want),
	         "Presence in %s, times in Europe/Berlin\n"
	         "In now: 3\n"
	         "  Vera Visitor (v-vera), in since 2026-03-29 12:00:00\n"
	         "  m-gone (not in the directory), in since 2026-03-29 13:00:00\n"
	         "  Ana Souza (m-ana), in since 2026-03-30 00:00:00\n"
	         "On 2026-03-29: 5 changes\n"
	         "  00:00:00  in   Ben Brown (m-ben) at reader front: credential presented\n"
	         "  03:30:00  out  Ben Brown (m-ben) at reader front: credential presented\n"
	         "  12:00:00  in   Vera Visitor (v-vera) at reader side: day cutoff\n"
	         "  13:00:00  in   m-gone (not in the directory) at reader side: credential "
	         "presented\n"
	         "  23:59:59  out  Ana Souza (m-ana) at reader front: reversed: the host gave up "
	         "on the decision\n",
	         s->db);
	assert_string_equal(s->run.out, want);
	assert_string_equal(s->run.err, "");
}

static void the_local_day_follows_the_time_zone(void **state)
{
	struct site *s = *state;
	char line[512];

	make_database(s, NULL);
	setenv("TZDIR", "/nonexistent", 1); /* UTC needs no tzdata */
	presence(s, "UTC", false);
	unsetenv("TZDIR");
	assert_int_equal(s->run.status, 0);
	assert_true(admin_line(s->run.out, "On 2026-03-29: ", line, sizeof(line)));
	assert_string_equal(line, "On 2026-03-29: 5 changes"); /* rows 3 to 7 */
	assert_non_null(strstr(s->run.out, "  01:30:00  out  Ben Brown (m-ben) at reader front"));
	assert_non_null(strstr(s->run.out, "  22:00:00  in   Ana Souza (m-ana) at reader front: "
	                                   "reversed: the door did not open\n"));
	assert_null(strstr(s->run.out, "22:59:59")); /* the 28th */

	/* Without --tz: the machine's zone, here from TZ. */
	setenv("TZ", "America/New_York", 1);
	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, "--date",
	                           "2026-03-29", NULL),
	                 0);
	assert_int_equal(s->run.status, 0);
	assert_true(admin_line(s->run.out, "Presence in ", line, sizeof(line)));
	assert_non_null(strstr(line, "times in America/New_York"));
	/* EDT (-04:00): the day is 04:00Z to 04:00Z next day, rows 4 to 7. */
	assert_true(admin_line(s->run.out, "On 2026-03-29: ", line, sizeof(line)));
	assert_string_equal(line, "On 2026-03-29: 4 changes");
	assert_non_null(strstr(s->run.out, "  18:00:00  in   m-ana at reader front: reversed: the "
	                                   "door did not open\n"));
	assert_non_null(strstr(s->run.out, "  m-ana, in since 2026-03-29 18:00:00\n"));
	assert_null(strstr(s->run.out, "21:30:00")); /* Ben left on the 28th, New York time */
}

static void without_a_directory_people_are_shown_by_id(void **state)
{
	struct site *s = *state;

	make_database(s, NULL);
	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, "--tz",
	                           "Europe/Berlin", "--date", "2026-03-29", NULL),
	                 0);
	assert_int_equal(s->run.status, 0);
	assert_non_null(strstr(s->run.out, "  v-vera, in since 2026-03-29 12:00:00\n"));
	assert_non_null(strstr(s->run.out, "  00:00:00  in   m-ben at reader front: "));
	assert_null(strstr(s->run.out, "Ben Brown"));
	assert_null(strstr(s->run.out, "not in the directory"));
}

static void text_from_the_database_cannot_drive_the_terminal(void **state)
{
	struct site *s = *state;

	make_database(s, "INSERT INTO presence_log VALUES(8,'k8','m-\x1b[2J','in',"
	                 "'front\x1b]0;x\x07','2026-03-29T12:00:00Z','credential')");
	presence(s, "Europe/Berlin", false);
	assert_int_equal(s->run.status, 0);
	assert_null(strchr(s->run.out, '\x1b'));
	assert_null(strchr(s->run.out, '\x07'));
	assert_non_null(strstr(s->run.out, "14:00:00  in   m-?[2J (not in the directory) at "
	                                   "reader front?]0;x?: credential presented"));
}

/* ---- mistakes ------------------------------------------------------------ */

static void a_missing_database_is_an_error_and_is_not_created(void **state)
{
	struct site *s = *state;

	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, NULL), 0);
	assert_int_equal(s->run.status, 1);
	assert_non_null(strstr(s->run.err, s->db));
	assert_non_null(strstr(s->run.err, "No such file"));
	assert_string_equal(s->run.out, "");
	assert_int_equal(access(s->db, F_OK), -1);

	/* A database porter made before and that is gone now: lost, not new. */
	char marker[FX_PATH_MAX + 64];
	snprintf(marker, sizeof(marker), "%s/.presence.db.marker", s->dir);
	assert_int_equal(fx_write_file(marker, "porter\n"), 0);
	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, NULL), 0);
	assert_int_equal(s->run.status, 1);
	assert_non_null(strstr(s->run.err, "restore it from a backup"));
	assert_int_equal(unlink(marker), 0);

	/* Its config's database too. */
	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--config", s->config, NULL), 0);
	assert_int_equal(s->run.status, 1);
	assert_non_null(strstr(s->run.err, s->db));
	assert_int_equal(access(s->db, F_OK), -1);
}

static void a_file_that_is_not_porters_database_is_named(void **state)
{
	struct site *s = *state;

	assert_int_equal(fx_write_file(s->db, "not a database, just some text in a file\n"), 0);
	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, NULL), 0);
	assert_int_equal(s->run.status, 1);
	assert_non_null(strstr(s->run.err, "not porter's presence database"));
}

static void a_wrong_zone_date_or_option_is_a_usage_error(void **state)
{
	struct site *s = *state;

	make_database(s, NULL);
	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, "--tz",
	                           "Mars/Olympus_Mons", NULL),
	                 0);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "Mars/Olympus_Mons"));

	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--database", s->db, "--date",
	                           "2026-02-30", NULL),
	                 0);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "2026-02-30"));

	assert_int_equal(
	        admin_run(s->dir, &s->run, "presence", "--database", s->db, "--frob", NULL), 0);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "--frob"));

	assert_int_equal(admin_run(s->dir, &s->run, "presence", NULL), 0);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "--database"));
}

static void the_database_is_only_read(void **state)
{
	struct site *s = *state;
	static char before[1 << 16], after[1 << 16];
	struct stat st;

	make_database(s, NULL);
	size_t n = admin_read_text(s->db, before, sizeof(before));
	assert_int_equal(chmod(s->db, 0400), 0);
	presence(s, "Europe/Berlin", false);
	assert_int_equal(s->run.status, 0);
	assert_int_equal(admin_read_text(s->db, after, sizeof(after)), n);
	assert_memory_equal(before, after, n);
	assert_int_equal(stat(s->db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
}

/* ---- the JSON form ------------------------------------------------------- */

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	return v ? json_object_get_string(v) : NULL;
}

static json_object *array(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_array));
	return v;
}

static void json_gives_the_same_view(void **state)
{
	struct site *s = *state;

	make_database(s, NULL);
	presence(s, "Europe/Berlin", true);
	assert_int_equal(s->run.status, 0);
	json_object *doc = json_tokener_parse(s->run.out);
	if (!doc)
		fail_msg("not JSON:\n%s", s->run.out);
	assert_string_equal(str(doc, "database"), s->db);
	assert_string_equal(str(doc, "time_zone"), "Europe/Berlin");
	assert_string_equal(str(doc, "date"), "2026-03-29");

	json_object *in = array(doc, "in_now");
	assert_int_equal(json_object_array_length(in), 3);
	json_object *vera = json_object_array_get_idx(in, 0);
	assert_string_equal(str(vera, "id"), "v-vera");
	assert_string_equal(str(vera, "name"), "Vera Visitor");
	assert_string_equal(str(vera, "since"), "2026-03-29T12:00:00+02:00");
	assert_string_equal(str(vera, "since_utc"), "2026-03-29T10:00:00.000000Z");
	assert_null(str(json_object_array_get_idx(in, 1), "name")); /* m-gone */

	json_object *log = array(doc, "history");
	assert_int_equal(json_object_array_length(log), 5);
	json_object *first = json_object_array_get_idx(log, 0);
	assert_int_equal(json_object_get_int(json_object_object_get(first, "seq")), 2);
	assert_string_equal(str(first, "time"), "2026-03-29T00:00:00+01:00");
	assert_string_equal(str(first, "time_utc"), "2026-03-28T23:00:00.000000Z");
	assert_string_equal(str(first, "id"), "m-ben");
	assert_string_equal(str(first, "name"), "Ben Brown");
	assert_string_equal(str(first, "direction"), "in");
	assert_string_equal(str(first, "reader"), "front");
	assert_string_equal(str(first, "cause"), "credential");
	assert_string_equal(str(first, "cause_text"), "credential presented");
	json_object *second = json_object_array_get_idx(log, 1);
	assert_string_equal(str(second, "time"),
	                    "2026-03-29T03:30:00+02:00"); /* after the change */
	json_object *last = json_object_array_get_idx(log, 4);
	assert_string_equal(str(last, "cause"), "host_cancelled");
	assert_string_equal(str(last, "cause_text"), "reversed: the host gave up on the decision");
	json_object_put(doc);
}

/* ---- a real day at the door ---------------------------------------------- */

/* The reference host with porter.so on the site's config, `pins` typed in
 * through a pipe; EOF shuts it down. */
static void type_at_the_door(struct site *s, const char *pins)
{
	char *argv[] = {(char *)fx_env("PORTER_HOST"),
	                "--plugin",
	                (char *)fx_env("PORTER_SO"),
	                "--config",
	                s->config,
	                "--reader",
	                "front",
	                NULL};
	posix_spawn_file_actions_t fa;
	int in[2], status;
	pid_t pid;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	assert_int_equal(write(in[1], pins, strlen(pins)), (ssize_t)strlen(pins));
	close(in[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void a_day_recorded_by_porter_is_shown_with_names(void **state)
{
	struct site *s = *state;
	char line[512], today[16];
	time_t now = time(NULL);
	struct tm tm;

	type_at_the_door(s, PIN_ANA "\n" PIN_BEN "\n");
	type_at_the_door(s, PIN_BEN "\n"); /* Ben leaves */
	localtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);

	assert_int_equal(admin_run(s->dir, &s->run, "presence", "--config", s->config, NULL), 0);
	assert_int_equal(s->run.status, 0);
	assert_true(admin_line(s->run.out, "In now: ", line, sizeof(line)));
	assert_string_equal(line, "In now: 1");
	assert_true(admin_line(s->run.out, "  Ana Souza (m-ana), in since ", line, sizeof(line)));
	assert_int_equal(strlen(line), strlen("  Ana Souza (m-ana), in since 08:02:11"));
	assert_true(admin_line(s->run.out, "Today, ", line, sizeof(line)));
	char want[64];
	snprintf(want, sizeof(want), "Today, %s: 3 changes", today);
	assert_string_equal(line, want);
	const char *in_ana = strstr(s->run.out, "  in   Ana Souza (m-ana) at reader front: "
	                                        "credential presented\n");
	const char *in_ben = strstr(s->run.out, "  in   Ben Brown (m-ben) at reader front: "
	                                        "credential presented\n");
	const char *out_ben = strstr(s->run.out, "  out  Ben Brown (m-ben) at reader front: "
	                                         "credential presented\n");
	assert_true(in_ana && in_ben && out_ben);
	assert_true(in_ana < in_ben && in_ben < out_ben);
	if (strstr(s->run.out, PIN_ANA) || strstr(s->run.out, PIN_BEN))
		fail_msg("a PIN was shown");

	/* And the same in JSON, from the same database while nobody runs. */
	assert_int_equal(
	        admin_run(s->dir, &s->run, "presence", "--config", s->config, "--json", NULL), 0);
	assert_int_equal(s->run.status, 0);
	json_object *doc = json_tokener_parse(s->run.out);
	assert_non_null(doc);
	assert_string_equal(str(doc, "date"), today);
	assert_int_equal(json_object_array_length(array(doc, "in_now")), 1);
	json_object *log = array(doc, "history");
	assert_int_equal(json_object_array_length(log), 3);
	assert_string_equal(str(json_object_array_get_idx(log, 2), "direction"), "out");
	assert_string_equal(str(json_object_array_get_idx(log, 2), "name"), "Ben Brown");
	json_object_put(doc);
}

#define T(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(a_local_day_with_a_clock_change_in_local_times_and_names),
	        T(the_local_day_follows_the_time_zone),
	        T(without_a_directory_people_are_shown_by_id),
	        T(text_from_the_database_cannot_drive_the_terminal),
	        T(a_missing_database_is_an_error_and_is_not_created),
	        T(a_file_that_is_not_porters_database_is_named),
	        T(a_wrong_zone_date_or_option_is_a_usage_error),
	        T(the_database_is_only_read),
	        T(json_gives_the_same_view),
	        T(a_day_recorded_by_porter_is_shown_with_names),
	};

	if (!fx_env("PORTER_ADMIN") || !fx_env("PORTER_SO") || !fx_env("PORTER_HOST")) {
		fprintf(stderr, "PORTER_ADMIN, PORTER_SO and PORTER_HOST must name the built "
		                "programs (meson test sets them)\n");
		return 1;
	}
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) < 0 ||
	    access("/usr/share/zoneinfo/America/New_York", R_OK) < 0) {
		fprintf(stderr, "these tests show times in Europe/Berlin and America/New_York: "
		                "install the tzdata package\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
