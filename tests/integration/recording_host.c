/* SPDX-License-Identifier: MIT */
/*
 * recording_host.c: the recording host and site of the dlopen() integration
 * tests (see recording_host.h).
 */
#include "recording_host.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* The invoke wrapper's site: porter's invoke() gets the loop, not the site,
 * and cmocka runs one test at a time. */
static struct site *current;

/* The cast's PINs, to look for in log lines and display texts. */
static const struct {
	unsigned person;
	const char *pin;
} cast_pins[] = {
        {FX_ANA, PIN_ANA},
        {FX_BEN, PIN_BEN},
        {FX_VERA, PIN_VERA},
        {FX_OTTO, PIN_OTTO},
};

/* ---- recording host ------------------------------------------------------ */

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void violation(struct site *s, const char *what, const char *detail)
{
	if (s->n_violations++ == 0)
		snprintf(s->violation, sizeof(s->violation), "%s%s", what, detail ? detail : "");
}

static bool shows_a_pin(const struct site *s, const char *text)
{
	if (!text)
		return false;
	for (size_t i = 0; i < sizeof(cast_pins) / sizeof(cast_pins[0]); i++)
		if ((s->people & cast_pins[i].person) && strstr(text, cast_pins[i].pin))
			return true;
	for (size_t i = 0; s->more_pins && s->more_pins[i]; i++)
		if (strstr(text, s->more_pins[i]))
			return true;
	return false;
}

/* Every service call: on the loop thread, and never after shutdown. */
static void check_call(struct site *s, const char *service)
{
	if (!pthread_equal(pthread_self(), s->loop_thread))
		violation(s, "service called off the loop thread: ", service);
	if (s->shut_down)
		violation(s, "service called after shutdown() returned: ", service);
}

void rec_log(void *userdata, uint32_t level, const char *message)
{
	struct site *s = userdata;

	check_call(s, "log");
	if (shows_a_pin(s, message))
		violation(s, "a log line shows a PIN", NULL);
	if (s->n_logs < MAX_LOGS) {
		s->logs[s->n_logs].level = level;
		copy(s->logs[s->n_logs++].text, TEXT_MAX, message);
	}
	if (level <= PORTER_LOG_ERROR && s->n_error_logs < MAX_SEEN)
		copy(s->error_logs[s->n_error_logs++], TEXT_MAX, message);
	if ((int)level <= s->echo_level || fx_env("PORTER_TEST_VERBOSE"))
		fprintf(stderr, "  porter %s: %s\n", host_loop_level_name(level), message);
}

int rec_door(void *userdata, const char *reader_id, uint32_t duration_ms)
{
	struct site *s = userdata;

	check_call(s, "door_unlock");
	if (s->door_result < 0) {
		s->n_door_failures++;
		return s->door_result;
	}
	if (s->n_doors == MAX_SEEN) {
		violation(s, "too many door unlocks", NULL);
		return 0;
	}
	struct seen_door *d = &s->doors[s->n_doors++];
	copy(d->reader, sizeof(d->reader), reader_id);
	d->ms = duration_ms;
	return 0;
}

int rec_feedback(void *userdata, const struct porter_feedback *fb)
{
	struct site *s = userdata;
	const char *code = PORTER_HAS_FIELD(fb, struct porter_feedback, code) ? fb->code : NULL;

	check_call(s, "feedback");
	if (shows_a_pin(s, fb->text))
		violation(s, "a display text shows a PIN", NULL);
	copy(s->last_code, sizeof(s->last_code), code);
	if (s->n_feedback == MAX_SEEN) {
		violation(s, "too much feedback", NULL);
		return 0;
	}
	struct seen_feedback *f = &s->feedback[s->n_feedback++];
	copy(f->reader, sizeof(f->reader), fb->reader_id);
	copy(f->text, sizeof(f->text), fb->text);
	copy(f->code, sizeof(f->code), code);
	f->led = fb->led;
	f->beep = fb->beep;
	return 0;
}

static void check_completion(struct site *s, uint64_t request_id)
{
	if (s->in_hook)
		violation(s, "complete() called from inside the hook", NULL);
	for (size_t i = 0; i < s->n_cancelled; i++)
		if (s->cancelled[i] == request_id)
			violation(s, "complete() after cancel()", NULL);
	for (size_t i = 0; i < s->n_results; i++)
		if (s->results[i].request_id == request_id)
			violation(s, "complete() twice for one request", NULL);
}

void rec_complete(void *userdata, uint64_t request_id, const struct porter_result *res)
{
	struct site *s = userdata;

	check_call(s, "complete");
	check_completion(s, request_id);
	copy(s->last_code, sizeof(s->last_code), res->code);
	if (s->n_results == MAX_SEEN) {
		violation(s, "too many completions", NULL);
		return;
	}
	struct seen_result *r = &s->results[s->n_results++];
	r->request_id = request_id;
	r->verdict = res->verdict;
	r->direction = res->direction;
	copy(r->code, sizeof(r->code), res->code);
	copy(r->person, sizeof(r->person), res->person_id);
	if (s->count_rows_when_told && res->person_id)
		r->rows_when_told = count_rows(s->db_path, res->person_id);
}

void rec_report(void *userdata, const struct porter_report *report)
{
	struct site *s = userdata;

	/* porter.h: reports come on the caller's thread, during the call. */
	if (!pthread_equal(pthread_self(), s->loop_thread))
		s->report_off_thread = true;
	if (!s->in_call)
		s->report_after_call = true;
	if (s->n_reports == MAX_SEEN)
		return;
	struct seen_report *r = &s->reports[s->n_reports++];
	r->severity = report->severity;
	copy(r->code, sizeof(r->code), report->code);
	copy(r->path, sizeof(r->path), report->path);
	copy(r->message, sizeof(r->message), report->message);
	copy(r->fix, sizeof(r->fix), report->fix);
}

const struct seen_report *find_report(const struct site *s, const char *code)
{
	for (size_t i = 0; i < s->n_reports; i++)
		if (strcmp(s->reports[i].code, code) == 0)
			return &s->reports[i];
	return NULL;
}

int logged(const struct site *s, uint32_t level, const char *needle)
{
	for (size_t i = 0; i < s->n_logs; i++)
		if (s->logs[i].level == level && strstr(s->logs[i].text, needle))
			return (int)i;
	return -1;
}

/* ---- held invokes ------------------------------------------------------------ */

/* porter's invoke: passed on to the loop, or held until the test says. */
static int wrap_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	struct site *s = current;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (s->hold && s->n_held < MAX_HELD)
		s->held[s->n_held++] = (struct held_invoke){cb, userdata};
	else
		r = host_loop_invoke(host, cb, userdata);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void hold_invokes(struct site *s, bool hold)
{
	pthread_mutex_lock(&s->lock);
	s->hold = hold;
	pthread_mutex_unlock(&s->lock);
}

void run_held(struct site *s)
{
	struct held_invoke batch[MAX_HELD];

	pthread_mutex_lock(&s->lock);
	size_t n = s->n_held;
	memcpy(batch, s->held, n * sizeof(batch[0]));
	s->n_held = 0;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		batch[i].cb(batch[i].userdata);
}

bool wait_held(struct site *s, size_t n)
{
	for (int i = 0; i < WAIT_MS; i++) {
		pthread_mutex_lock(&s->lock);
		bool enough = s->n_held >= n;
		pthread_mutex_unlock(&s->lock);
		if (enough)
			return true;
		usleep(1000);
	}
	return false;
}

/* ---- the database, as an operator reads it ---------------------------------- */

sqlite3 *db_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static void column(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	copy(dst, size, (const char *)sqlite3_column_text(st, i));
}

size_t db_log(const char *path, const char *person_id, struct log_row *rows, size_t max)
{
	sqlite3 *db = db_open(path);
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	if (!db)
		return 0;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT seq, person_id, direction, reader_id, event_key, recorded_at,"
	            " cause FROM presence_log WHERE ?1 IS NULL OR person_id = ?1"
	            " ORDER BY seq",
	            -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, person_id, -1, SQLITE_STATIC);
		while (n < max && sqlite3_step(st) == SQLITE_ROW) {
			struct log_row *r = &rows[n++];
			r->seq = sqlite3_column_int64(st, 0);
			column(st, 1, r->person, sizeof(r->person));
			column(st, 2, r->direction, sizeof(r->direction));
			column(st, 3, r->reader, sizeof(r->reader));
			column(st, 4, r->event_key, sizeof(r->event_key));
			column(st, 5, r->recorded_at, sizeof(r->recorded_at));
			column(st, 6, r->cause, sizeof(r->cause));
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int count_rows(const char *db_path, const char *person_id)
{
	struct log_row rows[MAX_SEEN];

	return (int)db_log(db_path, person_id, rows, MAX_SEEN);
}

bool db_presence(const char *path, const char *person_id, char state[8], int64_t *last_seq)
{
	sqlite3 *db = db_open(path);
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (!db)
		return false;
	if (sqlite3_prepare_v2(db, "SELECT state, last_seq FROM presence WHERE person_id = ?1", -1,
	                       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, person_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			column(st, 0, state, 8);
			*last_seq = sqlite3_column_int64(st, 1);
			found = true;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

int db_int(const char *path, const char *sql, const char *person)
{
	sqlite3 *db = db_open(path);
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, person, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

void hold_database(struct site *s)
{
	s->db_lock = db_open(s->db_path);
	assert_non_null(s->db_lock);
	assert_int_equal(sqlite3_exec(s->db_lock, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
}

void release_database(struct site *s)
{
	if (!s->db_lock)
		return;
	assert_int_equal(sqlite3_exec(s->db_lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s->db_lock);
	s->db_lock = NULL;
}

/* ---- driving porter --------------------------------------------------------- */

void run_for(struct site *s, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;

	for (uint64_t now; (now = host_loop_now_us(s->loop)) < end;)
		host_loop_run_once(s->loop, (int)((end - now + 999) / 1000));
}

const struct seen_result *find_result(const struct site *s, uint64_t request_id)
{
	for (size_t i = 0; i < s->n_results; i++)
		if (s->results[i].request_id == request_id)
			return &s->results[i];
	return NULL;
}

const struct seen_result *wait_result(struct site *s, uint64_t request_id)
{
	uint64_t end = host_loop_now_us(s->loop) + WAIT_MS * 1000u;

	while (!find_result(s, request_id) && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	return find_result(s, request_id);
}

void wait_feedback(struct site *s, size_t n)
{
	uint64_t end = host_loop_now_us(s->loop) + 1000000u;

	while (s->n_feedback < n && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
}

bool wait_log(struct site *s, uint32_t level, const char *needle, int ms)
{
	uint64_t end = host_loop_now_us(s->loop) + (uint64_t)ms * 1000u;

	while (logged(s, level, needle) < 0 && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	return logged(s, level, needle) >= 0;
}

int hook_pin(struct site *s, const char *reader, const char *pin, size_t len, uint64_t *ret_id)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = reader,
	        .pin = pin,
	        .pin_len = len,
	};

	s->in_hook = true;
	int r = api->on_pin(s->porter, &ev);
	s->in_hook = false;
	if (ret_id)
		*ret_id = ev.request_id;
	return r;
}

int hook_key(struct site *s, const char *reader, char key, uint64_t *ret_id)
{
	struct porter_key_event ev = {
	        .size = sizeof(ev),
	        .key = (uint32_t)(unsigned char)key,
	        .request_id = ++s->last_request_id,
	        .reader_id = reader,
	};

	s->in_hook = true;
	int r = api->on_key(s->porter, &ev);
	s->in_hook = false;
	if (ret_id)
		*ret_id = ev.request_id;
	return r;
}

void type_keys(struct site *s, const char *reader, const char *keys)
{
	for (const char *k = keys; *k; k++)
		assert_int_equal(hook_key(s, reader, *k, NULL), PORTER_VERDICT_NO_OPINION);
}

void cancel(struct site *s, uint64_t id)
{
	s->cancelled[s->n_cancelled++] = id;
	api->cancel(s->porter, id);
}

/* ---- site lifecycle ------------------------------------------------------- */

int start_with(struct site *s, const struct porter_host_services *services, const char *extra)
{
	char *config = fx_config(s->dir, extra);

	assert_non_null(config);
	s->shut_down = false;
	s->in_call = true;
	int r = api->init(services, config, strlen(config), rec_report, s, &s->porter);
	s->in_call = false;
	free(config);
	return r;
}

void start(struct site *s, const char *extra)
{
	assert_int_equal(start_with(s, &s->services, extra), 0);
	assert_non_null(s->porter);
}

void assert_contract_kept(const struct site *s)
{
	if (s->n_violations)
		fail_msg("host contract broken (%d times), first: %s", s->n_violations,
		         s->violation);
}

void shutdown_porter(struct site *s)
{
	api->shutdown(s->porter);
	s->porter = NULL;
	s->shut_down = true;
	hold_invokes(s, false);
	s->n_held = 0; /* held invokes for porter are dropped, as porter.h says */
	host_loop_drop_invokes(s->loop);
}

void stop(struct site *s)
{
	release_database(s);
	shutdown_porter(s);
	assert_int_equal(host_loop_n_watches(s->loop), 0);
	assert_int_equal(host_loop_n_timers(s->loop), 0);
	run_for(s, 20); /* nothing may run any more */
	assert_contract_kept(s);
}

int site_open(void **state, const struct site_options *o)
{
	const char *admin = fx_env("PORTER_ADMIN");
	struct site *s = calloc(1, sizeof(*s));
	struct host_loop_callbacks cb = {
	        .log = rec_log,
	        .door_unlock = rec_door,
	        .feedback = rec_feedback,
	        .complete = rec_complete,
	};

	if (!s || !admin || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	s->prestate = *state;
	*state = s;
	current = s;
	pthread_mutex_init(&s->lock, NULL);
	s->people = o->people;
	s->more_pins = o->more_pins;
	s->echo_level = o->echo_level;
	s->count_rows_when_told = o->count_rows_when_told;
	snprintf(s->db_path, sizeof(s->db_path), "%s/presence.db", s->dir);
	snprintf(s->marker_path, sizeof(s->marker_path), "%s/.presence.db.marker", s->dir);
	s->loop_thread = pthread_self();
	cb.userdata = s;
	s->loop = host_loop_new(&cb);
	if (!s->loop || fx_make_site(admin, s->dir, o->people) != 0 ||
	    (o->add_people && o->add_people(admin, s->dir) != 0)) {
		fprintf(stderr, "site setup failed in %s (porter-admin: %s)\n", s->dir, admin);
		return -1;
	}
	s->services = *host_loop_services(s->loop);
	if (o->holdable_invokes)
		s->services.invoke = wrap_invoke;
	return 0;
}

int site_close(void **state)
{
	struct site *s = *state;

	if (!s)
		return 0;
	if (s->db_lock) {
		sqlite3_exec(s->db_lock, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(s->db_lock);
	}
	if (s->porter)
		api->shutdown(s->porter);
	host_loop_drop_invokes(s->loop);
	host_loop_free(s->loop);
	pthread_mutex_destroy(&s->lock);
	fx_rmrf(s->dir);
	free(s);
	current = NULL;
	return 0;
}
