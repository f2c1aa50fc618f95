/* SPDX-License-Identifier: MIT */
/*
 * test_directory_watch.c: directory edits take effect without a reload.
 *
 * porter.so runs on host_loop (porter.h only) while the test edits its
 * directory file the ways an admin does: porter-admin (write a temp file,
 * rename it over), an editor saving in place, a broken edit, a delete and
 * re-create, the whole folder replaced, a burst of saves; and a config
 * reload racing a watch-load, a check-in in flight while the directory
 * changes, shutdown while a load is pending.
 *
 * The host checks the contract as it goes: services on the loop thread only
 * (the load runs on porter's thread and comes back through invoke), nothing
 * after shutdown, no watch or timer left behind, no PIN in a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

#include "host_loop.h"
#include "porter.h"
#include "loaded_porter.h"
#include "porter_fixture.h"

#define PIN_ANA  "482913"
#define PIN_BEN  "736150"
#define MAX_SEEN 256
#define TEXT_MAX 1024
/* An edit must be in force within this long (the debounce is 200 ms; this
 * is a bound for slow runs under valgrind, not what it takes). */
#define EDIT_WAIT_MS 10000

struct seen_report {
	uint32_t severity;
	char code[64];
	char message[TEXT_MAX];
};

struct site {
	char dir[FX_PATH_MAX];
	char file[FX_PATH_MAX + 64]; /* the directory file porter watches */
	char *config;
	struct host_loop *loop;
	struct porter_host_services services; /* the loop's, maybe with a service taken away */
	porter_plugin *porter;
	pthread_t loop_thread;
	uint64_t last_request_id;
	bool shut_down;
	char logs[MAX_SEEN][TEXT_MAX];
	uint32_t log_levels[MAX_SEEN];
	size_t n_logs;
	char last_code[64];
	char last_text[TEXT_MAX];
	char last_person[72];
	bool completed;
	struct seen_report reports[16];
	size_t n_reports;
	int n_violations;
	char violation[TEXT_MAX];
};


/* ---- recording host ------------------------------------------------------ */

static void violation(struct site *s, const char *what)
{
	if (s->n_violations++ == 0)
		snprintf(s->violation, sizeof(s->violation), "%s", what);
}

static void check_call(struct site *s, const char *service)
{
	if (!pthread_equal(pthread_self(), s->loop_thread))
		violation(s, service);
	if (s->shut_down)
		violation(s, "a service call after shutdown() returned");
}

static void rec_log(void *userdata, uint32_t level, const char *message)
{
	struct site *s = userdata;
	check_call(s, "log off the loop thread");
	if (strstr(message, PIN_ANA) || strstr(message, PIN_BEN))
		violation(s, "a log line shows a PIN");
	if (s->n_logs < MAX_SEEN) {
		s->log_levels[s->n_logs] = level;
		snprintf(s->logs[s->n_logs++], TEXT_MAX, "%s", message);
	}
	if (level <= PORTER_LOG_NOTICE || fx_env("PORTER_TEST_VERBOSE"))
		fprintf(stderr, "  porter %s: %s\n", host_loop_level_name(level), message);
}

static int rec_feedback(void *userdata, const struct porter_feedback *fb)
{
	struct site *s = userdata;
	check_call(s, "feedback off the loop thread");
	snprintf(s->last_code, sizeof(s->last_code), "%s", fb->code ? fb->code : "");
	snprintf(s->last_text, sizeof(s->last_text), "%s", fb->text ? fb->text : "");
	return 0;
}

static int rec_door(void *userdata, const char *reader_id, uint32_t ms)
{
	check_call(userdata, "door_unlock off the loop thread");
	return 0;
}

static void rec_complete(void *userdata, uint64_t request_id, const struct porter_result *res)
{
	struct site *s = userdata;
	check_call(s, "complete off the loop thread");
	s->completed = true;
	snprintf(s->last_code, sizeof(s->last_code), "%s", res->code ? res->code : "");
	snprintf(s->last_person, sizeof(s->last_person), "%s",
	         res->person_id ? res->person_id : "");
}

static void rec_report(void *userdata, const struct porter_report *r)
{
	struct site *s = userdata;
	if (s->n_reports == sizeof(s->reports) / sizeof(s->reports[0]))
		return;
	struct seen_report *seen = &s->reports[s->n_reports++];
	seen->severity = r->severity;
	snprintf(seen->code, sizeof(seen->code), "%s", r->code ? r->code : "");
	snprintf(seen->message, sizeof(seen->message), "%s", r->message ? r->message : "");
}

/* ---- what the admin and the person at the door see ------------------------ */

static int logged(const struct site *s, uint32_t level, const char *needle)
{
	for (size_t i = 0; i < s->n_logs; i++)
		if (s->log_levels[i] == level && strstr(s->logs[i], needle))
			return (int)i;
	return -1;
}

static size_t count_logged(const struct site *s, uint32_t level, const char *needle)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_logs; i++)
		n += s->log_levels[i] == level && strstr(s->logs[i], needle);
	return n;
}

static void run_for(struct site *s, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;
	for (uint64_t now; (now = host_loop_now_us(s->loop)) < end;)
		host_loop_run_once(s->loop, (int)((end - now + 999) / 1000));
}

/* Run the loop until `needle` is logged at `level` for the n-th time. */
static bool wait_logged_n(struct site *s, uint32_t level, const char *needle, size_t n, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;
	while (count_logged(s, level, needle) < n && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	return count_logged(s, level, needle) >= n;
}

static bool wait_log(struct site *s, uint32_t level, const char *needle, int ms)
{
	return wait_logged_n(s, level, needle, 1, ms);
}

static int hook_pin(struct site *s, const char *pin)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = "front",
	        .pin = pin,
	        .pin_len = strlen(pin),
	};
	s->completed = false;
	s->last_code[0] = s->last_person[0] = '\0';
	return api->on_pin(s->porter, &ev);
}

static void wait_completed(struct site *s)
{
	uint64_t end = host_loop_now_us(s->loop) + 5000000u;
	while (!s->completed && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	assert_true(s->completed);
}

/* Present a PIN at the front door; the code the person was answered with. */
static const char *present(struct site *s, const char *pin)
{
	if (hook_pin(s, pin) == PORTER_VERDICT_PENDING)
		wait_completed(s);
	run_for(s, 10);
	return s->last_code;
}

/* The D004 report from diagnostics(), or NULL. */
static const struct seen_report *diagnostic_d004(struct site *s)
{
	s->n_reports = 0;
	api->diagnostics(s->porter, rec_report, s);
	for (size_t i = 0; i < s->n_reports; i++)
		if (strcmp(s->reports[i].code, "PORTER-D004") == 0)
			return &s->reports[i];
	return NULL;
}

/* ---- the files ------------------------------------------------------------ */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *text = calloc(1, 1 << 20);
	assert_non_null(text);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

/* Save as porter-admin and most editors do: a temp file renamed over it. */
static void save_by_rename(const char *path, const char *text)
{
	char tmp[FX_PATH_MAX + 96];
	snprintf(tmp, sizeof(tmp), "%s.tmp.test", path);
	assert_int_equal(fx_write_file(tmp, text), 0);
	assert_int_equal(rename(tmp, path), 0);
}

/* porter-admin add while porter runs. */
static void admin_add_ben(struct site *s)
{
	assert_int_equal(fx_add_person(fx_env("PORTER_ADMIN"), s->dir, "m-ben", "member",
	                               "Ben Okafor", PIN_BEN, NULL, NULL),
	                 0);
}

/* A directory of `n` made-up people (no PIN anyone types), big enough
 * that porter's thread takes a while to read it. */
static char *fillers(int n)
{
	size_t size = (size_t)n * 128 + 64, len = 0;
	char *text = malloc(size);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, size - len, "{\"porter_directory\":1,\"people\":[");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, size - len,
		                        "%s{\"id\":\"f-%d\",\"kind\":\"member\",\"name\":\"F %d\","
		                        "\"pin_hmac\":\"%064x\"}",
		                        i ? "," : "", i, i, i + 1);
	snprintf(text + len, size - len, "]}");
	return text;
}

/* ---- site lifecycle ---------------------------------------------------------- */

static void start_with(struct site *s, const struct porter_host_services *services)
{
	s->shut_down = false;
	int r = api->init(services, s->config, strlen(s->config), NULL, NULL, &s->porter);
	assert_int_equal(r, 0);
}

static void start(struct site *s)
{
	start_with(s, host_loop_services(s->loop));
}

static void stop(struct site *s)
{
	api->shutdown(s->porter);
	s->porter = NULL;
	s->shut_down = true;
	host_loop_drop_invokes(s->loop);
	assert_int_equal(host_loop_n_watches(s->loop), 0);
	assert_int_equal(host_loop_n_timers(s->loop), 0);
	run_for(s, 300); /* past the debounce: nothing may run any more */
	if (s->n_violations)
		fail_msg("host contract broken (%d times), first: %s", s->n_violations,
		         s->violation);
}

static int site_setup(void **state)
{
	const char *admin_path = fx_env("PORTER_ADMIN");
	struct site *s = calloc(1, sizeof(*s));
	struct host_loop_callbacks cb = {
	        .log = rec_log,
	        .door_unlock = rec_door,
	        .feedback = rec_feedback,
	        .complete = rec_complete,
	};
	if (!s || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	*state = s;
	s->loop_thread = pthread_self();
	cb.userdata = s;
	s->loop = host_loop_new(&cb);
	snprintf(s->file, sizeof(s->file), "%s/directory.json", s->dir);
	s->config = fx_config(s->dir, "");
	if (!s->loop || !s->config || fx_keygen(admin_path, s->dir) != 0 ||
	    fx_add_person(admin_path, s->dir, "m-ana", "member", "Ana Souza", PIN_ANA, NULL,
	                  NULL) != 0)
		return -1;
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;
	if (!s)
		return 0;
	if (s->porter)
		api->shutdown(s->porter);
	host_loop_drop_invokes(s->loop);
	host_loop_free(s->loop);
	fx_rmrf(s->dir);
	free(s->config);
	free(s);
	return 0;
}

/* ---- edits ------------------------------------------------------------------- */

static void a_person_added_with_porter_admin_can_check_in_without_a_reload(void **state)
{
	struct site *s = *state;
	start(s);
	assert_string_equal(present(s, PIN_BEN), "unknown_pin");

	admin_add_ben(s); /* a temp file renamed over the directory */
	uint64_t saved = host_loop_now_us(s->loop);
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 2 people", EDIT_WAIT_MS));
	assert_true(host_loop_now_us(s->loop) - saved < EDIT_WAIT_MS * 1000u);

	assert_string_equal(present(s, PIN_BEN), "checked_in");
	assert_string_equal(s->last_person, "m-ben");
	assert_non_null(strstr(s->last_text, "Ben Okafor"));
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	assert_null(diagnostic_d004(s));
	stop(s);
}

static void an_edit_saved_in_place_is_loaded(void **state)
{
	struct site *s = *state;
	admin_add_ben(s);
	char *both = read_text(s->file);
	assert_int_equal(fx_write_file(s->file, "{\"porter_directory\":1,\"people\":[]}"), 0);
	start(s);
	assert_string_equal(present(s, PIN_ANA), "unknown_pin");

	assert_int_equal(fx_write_file(s->file, both), 0); /* open, truncate, write, close */
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 2 people", EDIT_WAIT_MS));
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	free(both);
	stop(s);
}

static void a_broken_edit_keeps_the_old_directory_says_why_and_is_flagged(void **state)
{
	struct site *s = *state;
	char *good = read_text(s->file);
	start(s);

	assert_int_equal(fx_write_file(s->file,
	                               "{\"porter_directory\":1,\"people\":[{\"id\":"
	                               "\"m-x\",\"kind\":\"member\",\"colour\":\"red\"}]}"),
	                 0);
	assert_true(wait_log(s, PORTER_LOG_ERROR, "not reloaded, the old one stays", EDIT_WAIT_MS));
	int line = logged(s, PORTER_LOG_ERROR, "not reloaded, the old one stays");
	assert_non_null(strstr(s->logs[line], s->file));
	assert_non_null(strstr(s->logs[line], "colour")); /* why */
	assert_string_equal(present(s, PIN_ANA), "checked_in");

	const struct seen_report *d = diagnostic_d004(s);
	assert_non_null(d);
	assert_int_equal(d->severity, PORTER_SEVERITY_ERROR);
	assert_non_null(strstr(d->message, "is invalid"));
	assert_non_null(strstr(d->message, "colour"));
	assert_non_null(strstr(d->message, "the one loaded at 20"));

	save_by_rename(s->file, good); /* fixed */
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 1 people", EDIT_WAIT_MS));
	assert_null(diagnostic_d004(s));
	assert_int_equal(count_logged(s, PORTER_LOG_ERROR, "not reloaded"), 1);
	free(good);
	stop(s);
}

static void a_deleted_file_keeps_the_old_directory_until_it_is_back(void **state)
{
	struct site *s = *state;
	start(s);
	char *good = read_text(s->file);

	assert_int_equal(unlink(s->file), 0);
	assert_true(wait_log(s, PORTER_LOG_WARNING, "is missing", EDIT_WAIT_MS));
	assert_string_equal(present(s, PIN_ANA), "checked_in");
	const struct seen_report *d = diagnostic_d004(s);
	assert_non_null(d);
	assert_non_null(strstr(d->message, "missing"));

	assert_int_equal(fx_write_file(s->file, good), 0); /* re-created */
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 1 people", EDIT_WAIT_MS));
	assert_null(diagnostic_d004(s));

	/* Renamed away counts as deleted; renamed back is loaded. */
	char aside[FX_PATH_MAX + 80];
	snprintf(aside, sizeof(aside), "%s.aside", s->file);
	assert_int_equal(rename(s->file, aside), 0);
	assert_true(wait_logged_n(s, PORTER_LOG_WARNING, "is missing", 2, EDIT_WAIT_MS));
	assert_int_equal(rename(aside, s->file), 0);
	assert_true(
	        wait_logged_n(s, PORTER_LOG_INFO, "directory reloaded: 1 people", 2, EDIT_WAIT_MS));
	assert_string_not_equal(present(s, PIN_ANA), "unknown_pin");
	free(good);
	stop(s);
}

static void a_replaced_folder_is_watched_again(void **state)
{
	struct site *s = *state;
	char etc[FX_PATH_MAX + 16], next[FX_PATH_MAX + 16], old[FX_PATH_MAX + 16];
	char cmd[4 * FX_PATH_MAX];
	snprintf(etc, sizeof(etc), "%s/etc", s->dir);
	snprintf(next, sizeof(next), "%s/etc.new", s->dir);
	snprintf(old, sizeof(old), "%s/etc.old", s->dir);
	assert_int_equal(mkdir(etc, 0700), 0);
	assert_int_equal(mkdir(next, 0700), 0);
	/* The directory in its own folder; the database stays where it is. */
	char *ana = read_text(s->file);
	admin_add_ben(s);
	char *both = read_text(s->file);
	snprintf(s->file, sizeof(s->file), "%s/directory.json", etc);
	assert_int_equal(fx_write_file(s->file, ana), 0);
	free(s->config);
	size_t size = 4 * FX_PATH_MAX;
	s->config = malloc(size);
	assert_non_null(s->config);
	snprintf(s->config, size,
	         "{\"backend\":\"local\",\"local\":{\"directory\":\"%s\",\"database\":\"%s/"
	         "presence.db\",\"pin_key_file\":\"%s/pin.key\"}}",
	         s->file, s->dir, s->dir);
	start(s);
	assert_string_equal(present(s, PIN_BEN), "unknown_pin");

	/* A deploy swaps the folder: the old one moved aside, a new one in place. */
	snprintf(cmd, sizeof(cmd), "%s/directory.json", next);
	assert_int_equal(fx_write_file(cmd, both), 0);
	assert_int_equal(rename(etc, old), 0);
	assert_int_equal(rename(next, etc), 0);
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 2 people", EDIT_WAIT_MS));
	assert_string_equal(present(s, PIN_BEN), "checked_in");

	/* The new folder is the one watched now, not the old one. */
	snprintf(cmd, sizeof(cmd), "%s/directory.json", old);
	save_by_rename(cmd, "{\"porter_directory\":1,\"people\":[]}");
	save_by_rename(s->file, ana);
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 1 people", EDIT_WAIT_MS));
	assert_string_equal(present(s, PIN_BEN), "unknown_pin");
	assert_string_equal(present(s, PIN_ANA), "checked_in");

	/* The folder gone for a while, then back: porter looks for it. */
	fx_rmrf(old);
	assert_int_equal(rename(etc, old), 0);
	assert_true(wait_log(s, PORTER_LOG_WARNING, "is missing", EDIT_WAIT_MS));
	run_for(s, 1200);
	assert_int_equal(rename(old, etc), 0);
	save_by_rename(s->file, both);
	assert_true(
	        wait_logged_n(s, PORTER_LOG_INFO, "directory reloaded: 2 people", 2, EDIT_WAIT_MS));
	assert_null(diagnostic_d004(s));
	free(ana);
	free(both);
	stop(s);
}

static void a_burst_of_saves_is_loaded_once_the_last_one_wins(void **state)
{
	struct site *s = *state;
	char *ana = read_text(s->file);
	admin_add_ben(s);
	char *both = read_text(s->file);
	save_by_rename(s->file, ana);
	start(s);

	for (int i = 0; i < 10; i++) { /* a save every 20 ms for 200 ms, ending with Ben */
		save_by_rename(s->file, i % 2 ? both : ana);
		run_for(s, 20);
	}
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded", EDIT_WAIT_MS));
	run_for(s, 500);
	assert_true(count_logged(s, PORTER_LOG_INFO, "directory reloaded") <= 2);
	assert_true(logged(s, PORTER_LOG_INFO, "directory reloaded: 2 people") >= 0);
	assert_string_equal(present(s, PIN_BEN), "checked_in");
	free(ana);
	free(both);
	stop(s);
}

/* ---- with reloads, changes in flight, shutdown --------------------------------- */

/* Run the loop until porter's debounce timer has fired: its thread is now
 * reading the file, and the result is not delivered yet (invokes run in a
 * later loop turn). */
static void until_the_load_begins(struct site *s)
{
	uint64_t end = host_loop_now_us(s->loop) + EDIT_WAIT_MS * 1000u;
	while (host_loop_n_timers(s->loop) == 0 && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 5);
	assert_int_equal(host_loop_n_timers(s->loop), 1); /* the debounce */
	while (host_loop_n_timers(s->loop) == 1 && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 5);
	assert_int_equal(host_loop_n_timers(s->loop), 0);
}

static void a_reload_during_a_watch_load_wins_and_later_edits_win_over_it(void **state)
{
	struct site *s = *state;
	admin_add_ben(s);
	char *both = read_text(s->file);
	char *big = fillers(5000);
	start(s);

	save_by_rename(s->file, big);
	until_the_load_begins(s);
	save_by_rename(s->file, both);
	assert_int_equal(api->reload(s->porter, s->config, strlen(s->config), NULL, NULL), 0);
	/* The load begun before the reload is dropped (or replaced by the newer
	 * one before it was delivered), never put in force; the rename that came
	 * with the reload is loaded after it. */
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 2 people", EDIT_WAIT_MS));
	run_for(s, 300);
	assert_int_equal(logged(s, PORTER_LOG_INFO, "directory reloaded: 5000 people"), -1);
	assert_string_equal(present(s, PIN_BEN), "checked_in");

	/* An edit after the reload wins over it. */
	assert_int_equal(fx_add_person(fx_env("PORTER_ADMIN"), s->dir, "m-cy", "member", "Cy",
	                               "591736", NULL, NULL),
	                 0);
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 3 people", EDIT_WAIT_MS));
	assert_string_equal(present(s, "591736"), "checked_in");
	free(both);
	free(big);
	stop(s);
}

static void a_reload_naming_another_file_watches_that_one(void **state)
{
	struct site *s = *state;
	char *ana = read_text(s->file);
	admin_add_ben(s);
	char *both = read_text(s->file);
	save_by_rename(s->file, ana);
	start(s);

	char other[FX_PATH_MAX + 32];
	snprintf(other, sizeof(other), "%s/other/people.json", s->dir);
	*strrchr(other, '/') = '\0';
	assert_int_equal(mkdir(other, 0700), 0);
	other[strlen(other)] = '/';
	save_by_rename(other, ana);
	char *config = s->config;
	size_t size = strlen(config) + sizeof(other);
	s->config = malloc(size);
	assert_non_null(s->config);
	snprintf(s->config, size,
	         "{\"backend\":\"local\",\"local\":{\"directory\":\"%s\",\"database\":\"%s/"
	         "presence.db\",\"pin_key_file\":\"%s/pin.key\"}}",
	         other, s->dir, s->dir);
	free(config);
	assert_int_equal(api->reload(s->porter, s->config, strlen(s->config), NULL, NULL), 0);
	run_for(s, 100); /* porter's thread moves the watch */

	save_by_rename(other, both);
	assert_true(wait_log(s, PORTER_LOG_INFO, "people.json changed", EDIT_WAIT_MS));
	assert_true(logged(s, PORTER_LOG_INFO, "directory reloaded: 2 people") >= 0);
	assert_string_equal(present(s, PIN_BEN), "checked_in");

	/* The old file is not porter's any more. */
	save_by_rename(s->file, "{\"porter_directory\":1,\"people\":[]}");
	run_for(s, 600);
	assert_int_equal(logged(s, PORTER_LOG_INFO, "directory reloaded: 0 people"), -1);
	free(ana);
	free(both);
	stop(s);
}

static void a_check_in_in_flight_completes_across_a_directory_swap(void **state)
{
	struct site *s = *state;
	char *ana = read_text(s->file);
	admin_add_ben(s);
	char *both = read_text(s->file);
	save_by_rename(s->file, ana);
	start(s);

	/* Ana's check-in is pending (recorded on porter's thread, answered
	 * through invoke) while a directory without her is swapped in. */
	assert_int_equal(hook_pin(s, PIN_ANA), PORTER_VERDICT_PENDING);
	save_by_rename(s->file, "{\"porter_directory\":1,\"people\":[]}");
	assert_int_equal(api->reload(s->porter, s->config, strlen(s->config), NULL, NULL), 0);
	wait_completed(s);
	assert_string_equal(s->last_code, "checked_in");
	assert_string_equal(s->last_person, "m-ana");
	run_for(s, 20);
	assert_non_null(strstr(s->last_text, "Ana Souza"));
	assert_string_equal(present(s, PIN_ANA), "unknown_pin");

	/* The same through the watch: a PIN pending while the edit is loaded. */
	save_by_rename(s->file, both);
	assert_true(wait_log(s, PORTER_LOG_INFO, "directory reloaded: 2 people", EDIT_WAIT_MS));
	assert_int_equal(hook_pin(s, PIN_BEN), PORTER_VERDICT_PENDING);
	save_by_rename(s->file, ana);
	wait_completed(s);
	assert_string_equal(s->last_person, "m-ben");
	assert_true(
	        wait_logged_n(s, PORTER_LOG_INFO, "directory reloaded: 1 people", 1, EDIT_WAIT_MS));
	assert_string_equal(present(s, PIN_BEN), "unknown_pin");
	free(ana);
	free(both);
	stop(s);
}

static void shutdown_with_a_load_pending_leaves_nothing_behind(void **state)
{
	struct site *s = *state;
	char *big = fillers(5000);

	/* The debounce timer armed, the load not begun. */
	start(s);
	save_by_rename(s->file, big);
	for (int i = 0; i < 200 && host_loop_n_timers(s->loop) == 0; i++)
		host_loop_run_once(s->loop, 5);
	assert_int_equal(host_loop_n_timers(s->loop), 1);
	stop(s);

	/* The load under way on porter's thread. */
	save_by_rename(s->file, big);
	start(s);
	save_by_rename(s->file, big);
	until_the_load_begins(s);
	stop(s);

	/* Its result queued through invoke, not yet run. */
	start(s);
	save_by_rename(s->file, big);
	until_the_load_begins(s);
	usleep(300 * 1000); /* the loop does not run: the result stays queued (or, on a
	                     * slow machine, the load is still under way) */
	stop(s);
	assert_int_equal(logged(s, PORTER_LOG_INFO, "directory reloaded"), -1);
	free(big);
}

static void without_fd_watches_porter_says_edits_need_a_reload(void **state)
{
	struct site *s = *state;
	s->services = *host_loop_services(s->loop);
	s->services.watch_add = NULL;
	start_with(s, &s->services);
	assert_true(logged(s, PORTER_LOG_NOTICE, "take effect at the next config reload") >= 0);

	admin_add_ben(s);
	run_for(s, 500);
	assert_string_equal(present(s, PIN_BEN), "unknown_pin");
	assert_int_equal(api->reload(s->porter, s->config, strlen(s->config), NULL, NULL), 0);
	assert_string_equal(present(s, PIN_BEN), "checked_in");
	stop(s);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        CASE(a_person_added_with_porter_admin_can_check_in_without_a_reload),
	        CASE(an_edit_saved_in_place_is_loaded),
	        CASE(a_broken_edit_keeps_the_old_directory_says_why_and_is_flagged),
	        CASE(a_deleted_file_keeps_the_old_directory_until_it_is_back),
	        CASE(a_replaced_folder_is_watched_again),
	        CASE(a_burst_of_saves_is_loaded_once_the_last_one_wins),
	        CASE(a_reload_during_a_watch_load_wins_and_later_edits_win_over_it),
	        CASE(a_reload_naming_another_file_watches_that_one),
	        CASE(a_check_in_in_flight_completes_across_a_directory_swap),
	        CASE(shutdown_with_a_load_pending_leaves_nothing_behind),
	        CASE(without_fd_watches_porter_says_edits_need_a_reload),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must be set (meson test sets them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
