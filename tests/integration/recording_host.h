/* SPDX-License-Identifier: MIT */
/*
 * recording_host.h: the host the dlopen() integration tests run porter.so
 * on (test_journeys.c, test_contract.c, test_lockouts.c, test_database.c).
 *
 * A site is a temp dir made with the real porter-admin (porter_fixture.h),
 * a host_loop whose door, feedback, complete, log and report services record
 * what porter did, and helpers that drive the loop and present PINs and keys
 * the way a door controller would.
 *
 * The recorders check the host contract as they go: services on the loop
 * thread only and never after shutdown() returned, complete() never inside
 * a hook, never twice for one request, never after cancel(), and no PIN of
 * the site's people in a log line or a display text. stop() fails the test
 * when any of that happened, or when shutdown() left a watch or a timer.
 *
 * What only some tests need is an option of site_open(): invoke() callbacks
 * a test holds back and runs when it chooses, presence_log rows counted at
 * each complete(), more people than the cast. The plugin is loaded once per
 * test group and reached through `api` (loaded_porter.h).
 */
#ifndef RECORDING_HOST_H
#define RECORDING_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "host_loop.h"
#include "loaded_porter.h"
#include "porter.h"
#include "porter_fixture.h"

/* The site's people (fx_make_site()). */
#define PIN_ANA  FX_PIN_ANA
#define PIN_BEN  FX_PIN_BEN
#define PIN_VERA FX_PIN_VERA
#define PIN_OTTO FX_PIN_OTTO

#define MAX_SEEN 64   /* feedback, completions, doors, reports, cancels a site records */
#define MAX_LOGS 128  /* log lines a site records */
#define MAX_HELD 64   /* invoke() callbacks a site can hold */
#define TEXT_MAX 1024 /* a recorded text: longer ones are cut */
#define WAIT_MS  5000 /* a decision that takes longer fails the test */

struct seen_feedback {
	char reader[72];
	char text[TEXT_MAX];
	char code[64];
	uint32_t led;
	uint32_t beep;
};

struct seen_result {
	uint64_t request_id;
	uint32_t verdict;
	uint32_t direction;
	char code[64];
	char person[72];
	int rows_when_told; /* presence_log rows for the person at complete(), if counted */
};

struct seen_door {
	char reader[72];
	uint32_t ms;
};

struct seen_report {
	uint32_t severity;
	char code[64];
	char path[128];
	char message[TEXT_MAX];
	char fix[TEXT_MAX];
};

struct seen_log {
	uint32_t level;
	char text[TEXT_MAX];
};

struct held_invoke {
	porter_invoke_fn cb;
	void *userdata;
};

/* One site: a temp dir with key, directory and database, and the host. */
struct site {
	char dir[FX_PATH_MAX];
	char db_path[FX_PATH_MAX + 32];
	char marker_path[FX_PATH_MAX + 32]; /* porter's note that it made the database */
	struct host_loop *loop;
	struct porter_host_services services; /* host_loop's, invoke wrapped if holdable */
	porter_plugin *porter;
	pthread_t loop_thread;
	uint64_t last_request_id;
	bool in_hook, in_call, shut_down;
	const void *prestate; /* cmocka's initial state for the test, if any */

	/* Options (site_open). */
	unsigned people;              /* FX_ANA | ... */
	const char *const *more_pins; /* NULL-terminated, or NULL */
	int echo_level;               /* log lines this severe or more go to stderr; -1: none */
	bool count_rows_when_told;

	int door_result; /* what door_unlock returns: a test may make the door fail */

	/* invoke() callbacks held back (hold_invokes), from porter's thread. */
	pthread_mutex_t lock;
	bool hold;
	struct held_invoke held[MAX_HELD];
	size_t n_held;

	sqlite3 *db_lock; /* the database's write lock, held by the test, or NULL */

	struct seen_feedback feedback[MAX_SEEN];
	size_t n_feedback;
	struct seen_result results[MAX_SEEN];
	size_t n_results;
	struct seen_door doors[MAX_SEEN];
	size_t n_doors, n_door_failures;
	struct seen_report reports[MAX_SEEN];
	size_t n_reports;
	bool report_off_thread, report_after_call;
	uint64_t cancelled[MAX_SEEN];
	size_t n_cancelled;
	struct seen_log logs[MAX_LOGS];
	size_t n_logs;
	char error_logs[MAX_SEEN][TEXT_MAX];
	size_t n_error_logs;
	char last_code[64]; /* of the last feedback or completion */

	int n_violations;
	char violation[TEXT_MAX];
};

struct site_options {
	unsigned people; /* who the site is made with (FX_ANA | ...) */
	/* More people after them, and their PINs to look for in texts. */
	int (*add_people)(const char *admin, const char *dir);
	const char *const *more_pins;
	int echo_level;            /* see struct site; PORTER_LOG_WARNING is usual */
	bool holdable_invokes;     /* porter's invoke() goes through hold_invokes() */
	bool count_rows_when_told; /* seen_result.rows_when_told */
};

/* ---- site lifecycle ------------------------------------------------------- */

/* A new site in *state (its previous value kept as prestate), for a test's
 * cmocka setup. 0 or -1. */
int site_open(void **state, const struct site_options *options);
/* The cmocka teardown: shut porter down if it runs, free the host, remove
 * the dir. Returns 0. */
int site_close(void **state);

/* init() on the site's dir with `extra` config members (see fx_config()),
 * through `services`. Returns what init() returned. */
int start_with(struct site *s, const struct porter_host_services *services, const char *extra);
/* The same through the site's services; init() must succeed. */
void start(struct site *s, const char *extra);
/* shutdown() as a host unloads porter, checking nothing. */
void shutdown_porter(struct site *s);
/* shutdown(), then check that porter left no watch or timer, nothing runs
 * any more and the host contract was kept throughout. */
void stop(struct site *s);
void assert_contract_kept(const struct site *s);

/* ---- the recording services ----------------------------------------------- */

void rec_log(void *userdata, uint32_t level, const char *message);
int rec_door(void *userdata, const char *reader_id, uint32_t duration_ms);
int rec_feedback(void *userdata, const struct porter_feedback *fb);
void rec_complete(void *userdata, uint64_t request_id, const struct porter_result *res);
void rec_report(void *userdata, const struct porter_report *report);

/* The first report with `code`, or NULL. */
const struct seen_report *find_report(const struct site *s, const char *code);
/* The index of the first log line at `level` containing `needle`, or -1. */
int logged(const struct site *s, uint32_t level, const char *needle);

/* ---- driving porter ------------------------------------------------------- */

void run_for(struct site *s, int ms);
const struct seen_result *find_result(const struct site *s, uint64_t request_id);
/* Run the loop until request_id is decided; NULL after WAIT_MS. */
const struct seen_result *wait_result(struct site *s, uint64_t request_id);
/* Run the loop until there were `n` feedbacks, at most a second. */
void wait_feedback(struct site *s, size_t n);
/* Run the loop until `needle` is logged at `level`, at most `ms`. */
bool wait_log(struct site *s, uint32_t level, const char *needle, int ms);

/* on_pin() / on_key() as the host calls them, with the next request id
 * (stored in *ret_id unless NULL). Returns what the hook returned. */
int hook_pin(struct site *s, const char *reader, const char *pin, size_t len, uint64_t *ret_id);
int hook_key(struct site *s, const char *reader, char key, uint64_t *ret_id);
/* Each key of `keys`, each answered NO_OPINION. */
void type_keys(struct site *s, const char *reader, const char *keys);
/* The host gives up on request `id`. */
void cancel(struct site *s, uint64_t id);

/* ---- held invokes (site_options.holdable_invokes) --------------------------- */

void hold_invokes(struct site *s, bool hold);
/* Run what was held so far, on this (the loop) thread. */
void run_held(struct site *s);
/* Wait until porter has asked for `n` held invokes (a batch is durable). */
bool wait_held(struct site *s, size_t n);

/* ---- the database, as an operator reads it ---------------------------------- */

struct log_row {
	int64_t seq;
	char person[72];
	char direction[8];
	char reader[72];
	char event_key[72];
	char recorded_at[40];
	char cause[40];
};

/* The database read-write with a busy timeout, or NULL. */
sqlite3 *db_open(const char *path);
/* presence_log rows for `person_id` (NULL: everyone), in order. */
size_t db_log(const char *path, const char *person_id, struct log_row *rows, size_t max);
int count_rows(const char *db_path, const char *person_id);
/* The presence row for `person_id`: true and its state and last_seq. */
bool db_presence(const char *path, const char *person_id, char state[8], int64_t *last_seq);
/* The integer `sql` (with ?1 = `person`) selects, or -1. */
int db_int(const char *path, const char *sql, const char *person);

/* Take the database's write lock (porter's writes wait), and let it go. */
void hold_database(struct site *s);
void release_database(struct site *s);

#endif
