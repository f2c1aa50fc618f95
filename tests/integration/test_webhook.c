/* SPDX-License-Identifier: MIT */
/*
 * test_webhook.c: the webhook backend end to end. porter.so is loaded
 * through porter.h by the recording host (recording_host.h) with backend
 * "webhook", and delivers to tests/backend/webhook_receiver.py over real
 * HTTPS on loopback (run under tests/backend/fixture.py --webhook, which
 * sets MOCK_WEBHOOK_URL, MOCK_WEBHOOK_CONTROL, MOCK_WEBHOOK_SECRET, MOCK_CA).
 *
 * Each test asserts what the receiver recorded: only deliveries whose
 * Standard Webhooks signature verified are recorded, one per webhook-id,
 * with a count of copies; its request log says when each attempt came and
 * what it was answered. The receiver is told to misbehave through its
 * control endpoint (faults: 500s, resets, 429/409 with Retry-After, 400,
 * a reply lost after it recorded the change, a slow reply).
 *
 * The test talks to the receiver with libcurl from the loop thread while
 * the loop is not running (porter's deliveries wait meanwhile), so nothing
 * here races porter. The secret is never printed.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "recording_host.h"

#define DRAIN_MS 15000 /* everything delivered by then, backoff included */

/* ---- the receiver's control endpoint ------------------------------------------ */

struct buf {
	char *data;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	char *grown = realloc(b->data, b->len + size * n + 1);

	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, p, size * n);
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

/* `method` `path` (under MOCK_WEBHOOK_CONTROL) with a JSON `body` or NULL;
 * the reply parsed (the caller puts it). Fails the test on any error. */
static json_object *control(const char *method, const char *path, const char *body)
{
	char url[1024];
	struct buf b = {0};
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", fx_env("MOCK_WEBHOOK_CONTROL"), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, fx_env("MOCK_CA"));
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L); /* valgrind: the first handshake is slow */
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK || status != 200)
		fail_msg("receiver control %s %s: %s, HTTP %ld", method, path,
		         curl_easy_strerror(rc), status);
	json_object *j = json_tokener_parse(b.data ? b.data : "");
	free(b.data);
	assert_non_null(j);
	return j;
}

static void fault(const char *spec)
{
	json_object_put(control("POST", "/faults", spec));
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in the receiver's answer", key);
	return v;
}

static const char *str(json_object *o, const char *key)
{
	return json_object_get_string(member(o, key));
}

/* The verified deliveries, one per webhook-id, in arrival order. */
static json_object *deliveries(void)
{
	return control("GET", "/deliveries", NULL);
}

static size_t n_deliveries(void)
{
	json_object *d = deliveries();
	size_t n = json_object_array_length(member(d, "deliveries"));

	json_object_put(d);
	return n;
}

/* The receiver's request log (attempts, with status or "reset"/"lost(200)"). */
static json_object *requests(void)
{
	json_object *r = control("GET", "/requests", NULL);
	json_object *list = NULL;

	/* Either a bare list or {"requests": [...]}. */
	if (json_object_is_type(r, json_type_array))
		return r;
	list = json_object_get(member(r, "requests"));
	json_object_put(r);
	return list;
}

static size_t n_requests(void)
{
	json_object *r = requests();
	size_t n = json_object_array_length(r);

	json_object_put(r);
	return n;
}

/* A fresh receiver for each test: no deliveries, faults or log. */
static void receiver_reset(void)
{
	json_object_put(control("POST", "/reset", "{}"));
}

/* ---- the site ------------------------------------------------------------------- */

struct wsite {
	struct site *s;
	char secret_path[FX_PATH_MAX + 32];
};

static int setup(void **state)
{
	if (!fx_env("MOCK_WEBHOOK_URL") || !fx_env("MOCK_WEBHOOK_SECRET") || !fx_env("MOCK_CA")) {
		fprintf(stderr, "run under tests/backend/fixture.py --webhook\n");
		return -1;
	}
	receiver_reset(); /* before the site: a failed setup has no teardown */
	if (site_open(state, &(struct site_options){.people = FX_ANA | FX_BEN,
	                                            .echo_level = PORTER_LOG_ERROR}) < 0)
		return -1;
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/webhook.secret", s->dir);
	if (fx_write_file(path, fx_env("MOCK_WEBHOOK_SECRET")) < 0)
		return -1;
	return 0;
}

/* A webhook config for the site: `url` (NULL: the receiver's), `webhook_extra`
 * inside "webhook" and `outbox_extra` inside "outbox" (each "" or starting
 * with a comma), `extra` at the top level (the same). Deliveries are
 * retried within a second (retry_max_s 1). */
#define WEBHOOK_CONFIG                                                       \
	"{\"backend\":\"webhook\",\"local\":{"                               \
	"\"directory\":\"%s/directory.json\","                               \
	"\"database\":\"%s/presence.db\","                                   \
	"\"pin_key_file\":\"%s/pin.key\"},"                                  \
	"\"webhook\":{\"url\":\"%s\",\"secret_file\":\"%s/webhook.secret\"," \
	"\"ca_file\":\"%s\",\"timeout_ms\":2000%s},"                         \
	"\"outbox\":{\"retry_max_s\":1%s},"                                  \
	"\"repeat_window_ms\":0%s}"

static char *webhook_config_for(struct site *s, const char *url, const char *webhook_extra,
                                const char *outbox_extra, const char *extra)
{
	char *text = NULL;

	if (asprintf(&text, WEBHOOK_CONFIG, s->dir, s->dir, s->dir,
	             url ? url : fx_env("MOCK_WEBHOOK_URL"), s->dir, fx_env("MOCK_CA"),
	             webhook_extra, outbox_extra, extra) < 0)
		return NULL;
	return text;
}

static int init_with(struct site *s, const struct porter_host_services *services,
                     const char *config)
{
	s->shut_down = false;
	s->in_call = true;
	int r = api->init(services, config, strlen(config), rec_report, s, &s->porter);
	s->in_call = false;
	return r;
}

static void start_webhook_with(struct site *s, const char *url, const char *outbox_extra,
                               const char *extra)
{
	char *config = webhook_config_for(s, url, "", outbox_extra, extra);

	assert_non_null(config);
	int r = init_with(s, &s->services, config);
	free(config);
	if (r != 0)
		fail_msg("init with the webhook backend: %d (%s)", r,
		         s->n_reports ? s->reports[0].message : "no report");
	assert_non_null(s->porter);
}

static void start_webhook(struct site *s, const char *url, const char *outbox_extra)
{
	start_webhook_with(s, url, outbox_extra ? outbox_extra : "", "");
}

/* Present `pin` at `reader` and wait for the decision; its code. */
static const char *present(struct site *s, const char *reader, const char *pin)
{
	uint64_t id;
	int rc = hook_pin(s, reader, pin, strlen(pin), &id);

	if (rc != PORTER_VERDICT_PENDING) {
		wait_feedback(s, s->n_feedback + 1);
		return s->last_code;
	}
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	return r->code;
}

/* Run the loop until the receiver holds `n` deliveries (or `ms` passed). */
static bool wait_deliveries(struct site *s, size_t n, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (n_deliveries() >= n)
			return true;
		run_for(s, 100);
	}
	return n_deliveries() >= n;
}

static bool wait_requests(struct site *s, size_t n, int ms)
{
	for (int waited = 0; waited < ms; waited += 50) {
		if (n_requests() >= n)
			return true;
		run_for(s, 50);
	}
	return n_requests() >= n;
}

/* ---- diagnostics ---------------------------------------------------------------- */

struct diag {
	int n;
	char codes[8][32];
	char messages[8][TEXT_MAX];
};

static void record_diag(void *userdata, const struct porter_report *r)
{
	struct diag *d = userdata;

	if (d->n < 8) {
		snprintf(d->codes[d->n], sizeof(d->codes[0]), "%s", r->code);
		snprintf(d->messages[d->n], sizeof(d->messages[0]), "%s",
		         r->message ? r->message : "");
		d->n++;
	}
}

/* The message of diagnostic `code` now, or NULL. */
static const char *diagnostic(struct site *s, struct diag *d, const char *code)
{
	memset(d, 0, sizeof(*d));
	api->diagnostics(s->porter, record_diag, d);
	for (int i = 0; i < d->n; i++)
		if (strcmp(d->codes[i], code) == 0)
			return d->messages[i];
	return NULL;
}

/* ---- what the receiver holds against what porter recorded ------------------------ */

/* The receiver holds exactly porter's presence_log rows from `first` on
 * (0-based), in order, each verified once (count 1 unless `dups_ok`),
 * each with the row's event key, person, direction, reader, cause and `at`
 * equal to the row's recorded_at (the time of the decision). */
static void assert_receiver_holds_log(struct site *s, size_t first, bool dups_ok)
{
	struct log_row rows[256];
	size_t n = db_log(s->db_path, NULL, rows, 256);
	json_object *d = deliveries();
	json_object *list = member(d, "deliveries");

	assert_int_equal(json_object_get_int(member(d, "rejected")), 0);
	assert_int_equal(json_object_array_length(list), n - first);
	for (size_t i = first; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i - first);
		json_object *p = member(e, "payload"), *data = member(p, "data");
		bool in = strcmp(rows[i].direction, "in") == 0;

		assert_string_equal(str(e, "id"), rows[i].event_key);
		assert_string_equal(str(data, "event_key"), rows[i].event_key);
		assert_string_equal(str(data, "person_id"), rows[i].person);
		assert_string_equal(str(data, "direction"), rows[i].direction);
		assert_string_equal(str(data, "reader_id"), rows[i].reader);
		assert_string_equal(str(data, "cause"), rows[i].cause);
		assert_string_equal(str(data, "at"), rows[i].recorded_at);
		assert_string_equal(str(p, "timestamp"), rows[i].recorded_at);
		assert_string_equal(str(p, "type"),
		                    in ? "presence.checked_in" : "presence.checked_out");
		if (!dups_ok)
			assert_int_equal(json_object_get_int(member(e, "count")), 1);
	}
	json_object_put(d);
}

/* ---- journeys ------------------------------------------------------------------- */

static void pin_journeys_land_verified_in_order_once_with_the_time_at_the_door(void **state)
{
	struct site *s = *state;

	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "side", PIN_BEN), "checked_in");
	assert_string_equal(present(s, "front", PIN_ANA), "checked_out");
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "side", PIN_BEN), "checked_out");
	assert_true(wait_deliveries(s, 5, DRAIN_MS));
	run_for(s, 300); /* a sixth (wrong) delivery would show now */
	assert_int_equal(count_rows(s->db_path, NULL), 5);
	assert_receiver_holds_log(s, 0, false);

	struct diag d;
	assert_null(diagnostic(s, &d, "PORTER-D005"));
	assert_null(diagnostic(s, &d, "PORTER-D006"));
	stop(s);
}

static void sql_exec(struct site *s, const char *statement, const char *arg)
{
	sqlite3 *db = db_open(s->db_path);
	sqlite3_stmt *st;

	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db, statement, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The daily check-out reaches the receiver like any change, at the cut-off
 * (a cut-off two hours ago, missed while porter was down, is caught up at
 * start; test_daily_checkout.c does the same on the local backend). */
static void a_daily_checkout_lands_at_the_time_of_the_cutoff(void **state)
{
	struct site *s = *state;
	char extra[160], hhmm[8], before[40];
	int64_t cutoff = ((int64_t)time(NULL) - 7200) / 60 * 60;
	time_t tt = (time_t)cutoff;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
	snprintf(extra, sizeof(extra),
	         ",\"daily_checkout\":{\"enabled\":true,\"time\":\"%s\",\"time_zone\":\"UTC\"}",
	         hhmm);
	tt = (time_t)(cutoff - 3600);
	gmtime_r(&tt, &tm);
	strftime(before, sizeof(before), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);

	start_webhook_with(s, NULL, "", extra);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	stop(s);
	/* Ana came in an hour before the cut-off. */
	sql_exec(s, "UPDATE presence SET since = ?1 WHERE person_id = 'm-ana'", before);
	start_webhook_with(s, NULL, "", extra);
	assert_true(wait_deliveries(s, 2, DRAIN_MS));
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, false);

	json_object *d = deliveries();
	json_object *e = json_object_array_get_idx(member(d, "deliveries"), 1);
	json_object *data = member(member(e, "payload"), "data");
	char at[40];
	tt = (time_t)cutoff;
	gmtime_r(&tt, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
	assert_string_equal(str(data, "person_id"), "m-ana");
	assert_string_equal(str(data, "direction"), "out");
	assert_string_equal(str(data, "cause"), "daily_cutoff");
	assert_string_equal(str(data, "reader_id"), "");
	assert_string_equal(str(data, "at"), at);
	json_object_put(d);
	stop(s);
}

/* 500s then resets: nothing arrives meanwhile, D005 says since when; then
 * everything arrives in order, once, and D005 is gone. */
static void receiver_failing_then_back_gets_everything_in_order_once(void **state)
{
	struct site *s = *state;
	struct diag d;

	fault("[{\"kind\":\"500\",\"count\":3},{\"kind\":\"reset\",\"count\":2}]");
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "front", PIN_BEN), "checked_in");
	assert_string_equal(present(s, "front", PIN_ANA), "checked_out");
	assert_true(wait_requests(s, 1, 5000));
	run_for(s, 100);
	const char *m = diagnostic(s, &d, "PORTER-D005");
	assert_non_null(m);
	assert_non_null(strstr(m, " since 20")); /* since a UTC time */
	assert_non_null(strstr(m, "HTTP 500"));
	assert_int_equal(n_deliveries(), 0);

	assert_true(wait_deliveries(s, 3, DRAIN_MS));
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, false);
	assert_null(diagnostic(s, &d, "PORTER-D005"));
	/* Five failed attempts, then the three that worked. */
	assert_int_equal(n_requests(), 8);
	stop(s);
}

/* A free loopback port nobody listens on. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Connection refused: D005 names it; a restart at the right address
 * delivers what waited, in order, once. */
static void connection_refused_then_restart_at_the_receiver_delivers(void **state)
{
	struct site *s = *state;
	struct diag d;
	char url[128];

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/hook", closed_port());
	start_webhook(s, url, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "front", PIN_BEN), "checked_in");
	const char *m = NULL;
	for (int i = 0; i < 40 && !m; i++) {
		run_for(s, 50);
		m = diagnostic(s, &d, "PORTER-D005");
	}
	assert_non_null(m);
	assert_non_null(strstr(m, "since"));
	stop(s);

	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_out");
	assert_true(wait_deliveries(s, 3, DRAIN_MS));
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, false);
	assert_null(diagnostic(s, &d, "PORTER-D005"));
	stop(s);
}

/* The seconds between the receiver's first two requests. */
static double first_retry_gap(void)
{
	json_object *r = requests();

	assert_true(json_object_array_length(r) >= 2);
	double a = json_object_get_double(member(json_object_array_get_idx(r, 0), "time"));
	double b = json_object_get_double(member(json_object_array_get_idx(r, 1), "time"));
	json_object_put(r);
	return b - a;
}

static void retry_after_is_honoured(struct site *s, const char *spec)
{
	fault(spec);
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_true(wait_deliveries(s, 1, DRAIN_MS));
	/* Retry-After: 2 and the backoff's first step is at most 1 s: only
	 * Retry-After explains a gap of 2 s. */
	double gap = first_retry_gap();
	if (gap < 1.95)
		fail_msg("retried %.3f s after a Retry-After of 2 s", gap);
	assert_receiver_holds_log(s, 0, false);
	stop(s);
}

static void a_429_with_retry_after_is_not_retried_before_it(void **state)
{
	retry_after_is_honoured(*state, "{\"kind\":\"status\",\"status\":429,\"retry_after\":2}");
}

static void a_409_with_retry_after_is_not_retried_before_it(void **state)
{
	retry_after_is_honoured(*state, "{\"kind\":\"409\",\"retry_after\":2}");
}

/* A 400 is for good: a dead letter with the reason, D006, and the next
 * change is delivered. */
static void a_400_is_a_dead_letter_and_the_next_change_still_goes(void **state)
{
	struct site *s = *state;
	struct diag d;
	struct log_row rows[4];

	fault("{\"kind\":\"status\",\"status\":400}");
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "front", PIN_BEN), "checked_in");
	assert_true(wait_deliveries(s, 1, DRAIN_MS));
	run_for(s, 300);
	assert_int_equal(db_log(s->db_path, NULL, rows, 4), 2);

	json_object *dl = deliveries();
	json_object *list = member(dl, "deliveries");
	assert_int_equal(json_object_array_length(list), 1);
	assert_string_equal(str(json_object_array_get_idx(list, 0), "id"), rows[1].event_key);
	json_object_put(dl);

	sqlite3 *db = db_open(s->db_path);
	sqlite3_stmt *st;
	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT event_key, backend, reason FROM dead_letters",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), rows[0].event_key);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "webhook");
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 2), "HTTP 400"));
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);

	assert_non_null(diagnostic(s, &d, "PORTER-D006"));
	assert_null(diagnostic(s, &d, "PORTER-D005"));
	stop(s);
}

/* The receiver recorded the change but the reply was lost: porter sends it
 * again with the same webhook-id; the receiver records it once and counts
 * the copy. */
static void a_lost_reply_is_sent_again_with_the_same_webhook_id(void **state)
{
	struct site *s = *state;

	fault("{\"kind\":\"lost_reply\"}");
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_true(wait_requests(s, 2, DRAIN_MS));
	run_for(s, 300);

	json_object *r = requests();
	assert_int_equal(json_object_array_length(r), 2);
	assert_string_equal(str(json_object_array_get_idx(r, 0), "webhook_id"),
	                    str(json_object_array_get_idx(r, 1), "webhook_id"));
	json_object_put(r);
	json_object *d = deliveries();
	json_object *list = member(d, "deliveries");
	assert_int_equal(json_object_array_length(list), 1);
	assert_int_equal(json_object_get_int(member(json_object_array_get_idx(list, 0), "count")),
	                 2);
	json_object_put(d);
	assert_receiver_holds_log(s, 0, true);
	stop(s);
}

/* shutdown() while the receiver holds the request: after a restart the
 * change arrives, with the same webhook-id. */
static void a_delivery_in_flight_at_shutdown_arrives_after_restart(void **state)
{
	struct site *s = *state;

	/* The receiver sits on the request 3 s before it records and answers. */
	fault("{\"kind\":\"slow\",\"delay\":3,\"apply_first\":false}");
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	run_for(s, 500); /* sent, unanswered */
	assert_int_equal(n_deliveries(), 0);
	stop(s); /* cancels the request in flight */

	start_webhook(s, NULL, NULL);
	assert_true(wait_deliveries(s, 1, DRAIN_MS));
	assert_true(wait_requests(s, 2, 5000)); /* the slow copy lands too: counted, once */
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, true);
	json_object *r = requests();
	size_t n = json_object_array_length(r);
	assert_int_equal(n, 2);
	assert_string_equal(str(json_object_array_get_idx(r, 1), "webhook_id"),
	                    str(json_object_array_get_idx(r, 0), "webhook_id"));
	json_object_put(r);
	stop(s);
}

/* ---- the backlog cap ------------------------------------------------------------ */

static int count_log(struct site *s)
{
	sqlite3 *db = db_open(s->db_path);
	sqlite3_stmt *st;
	int n = -1;

	assert_non_null(db);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM presence_log", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/* Forget what the host recorded (more changes than MAX_SEEN are made). */
static void forget(struct site *s)
{
	s->n_results = s->n_feedback = s->n_doors = 0;
}

static void at_the_backlog_cap_the_next_pin_is_refused_and_nothing_confirmed_is_lost(void **state)
{
	struct site *s = *state;
	int confirmed = 0;

	fault("{\"kind\":\"500\",\"count\":100000}");
	start_webhook(s, NULL, ",\"max_backlog\":100");
	for (int i = 0; i < 100; i++) {
		const char *code = present(s, "front", i % 2 ? PIN_BEN : PIN_ANA);
		assert_true(strcmp(code, "checked_in") == 0 || strcmp(code, "checked_out") == 0);
		confirmed++;
		if (s->n_results > MAX_SEEN / 2)
			forget(s);
	}
	forget(s);
	assert_string_equal(present(s, "front", PIN_ANA), "backlog_full");
	assert_int_equal(count_log(s), confirmed);

	json_object_put(control("DELETE", "/faults", NULL));
	assert_true(wait_deliveries(s, 100, 30000));
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, false);
	/* Room again: the door takes changes. */
	forget(s);
	const char *code = present(s, "front", PIN_ANA);
	assert_true(strcmp(code, "checked_in") == 0 || strcmp(code, "checked_out") == 0);
	stop(s);
}

/* ---- configs refused ------------------------------------------------------------ */

struct reports {
	int n;
	char paths[8][128];
	char messages[8][TEXT_MAX];
};

static void record_report(void *userdata, const struct porter_report *r)
{
	struct reports *rep = userdata;

	if (rep->n < 8 && r->severity == PORTER_SEVERITY_ERROR) {
		snprintf(rep->paths[rep->n], sizeof(rep->paths[0]), "%s", r->path ? r->path : "");
		snprintf(rep->messages[rep->n], sizeof(rep->messages[0]), "%s",
		         r->message ? r->message : "");
		rep->n++;
	}
}

/* check_config and init refuse `config` naming `path`; the message holds
 * `needle`. */
static void assert_refused(struct site *s, const char *config, const char *path, const char *needle)
{
	struct reports check = {0}, init = {0};
	porter_plugin *p = NULL;

	assert_true(api->check_config(config, strlen(config), record_report, &check) < 0);
	assert_true(check.n >= 1);
	assert_string_equal(check.paths[0], path);
	if (needle && !strstr(check.messages[0], needle))
		fail_msg("check_config said \"%s\", not about \"%s\"", check.messages[0], needle);
	assert_true(api->init(&s->services, config, strlen(config), record_report, &init, &p) < 0);
	assert_null(p);
	assert_true(init.n >= 1);
	assert_string_equal(init.paths[0], path);
	if (needle && !strstr(init.messages[0], needle))
		fail_msg("init said \"%s\", not about \"%s\"", init.messages[0], needle);
	assert_null(strstr(check.messages[0], fx_env("MOCK_WEBHOOK_SECRET") + 6));
}

static void bad_webhook_configs_are_refused_by_check_config_and_init(void **state)
{
	struct site *s = *state;
	char secret[FX_PATH_MAX + 32], *c;

	snprintf(secret, sizeof(secret), "%s/webhook.secret", s->dir);

	assert_int_equal(chmod(secret, 0644), 0);
	c = webhook_config_for(s, NULL, "", "", "");
	assert_refused(s, c, "$.webhook.secret_file", "webhook.secret");
	free(c);
	assert_int_equal(chmod(secret, 0600), 0);

	char moved[FX_PATH_MAX + 32];
	snprintf(moved, sizeof(moved), "%s/webhook.secret.away", s->dir);
	assert_int_equal(rename(secret, moved), 0);
	c = webhook_config_for(s, NULL, "", "", "");
	assert_refused(s, c, "$.webhook.secret_file", "webhook.secret");
	free(c);
	assert_int_equal(rename(moved, secret), 0);

	c = webhook_config_for(s, "http://127.0.0.1:1/hook", "", "", "");
	assert_refused(s, c, "$.webhook.url", NULL);
	free(c);

	c = webhook_config_for(s, NULL, ",\"pinned_public_keys\":[\"sha256//not-a-key\"]", "", "");
	assert_refused(s, c, "$.webhook.pinned_public_keys[0]", NULL);
	free(c);

	/* The same site with the secret back in place starts. */
	c = webhook_config_for(s, NULL, "", "", "");
	struct reports ok = {0};
	assert_int_equal(api->check_config(c, strlen(c), record_report, &ok), 0);
	free(c);
}

/* A host without fd watches cannot run an HTTPS client on its loop. */
static void a_host_without_fd_watches_is_refused_naming_them(void **state)
{
	struct site *s = *state;
	struct porter_host_services services = s->services;
	struct reports init = {0};
	porter_plugin *p = NULL;
	char *c = webhook_config_for(s, NULL, "", "", "");

	services.watch_add = NULL;
	services.watch_update = NULL;
	services.watch_remove = NULL;
	assert_true(api->init(&services, c, strlen(c), record_report, &init, &p) < 0);
	free(c);
	assert_null(p);
	assert_true(init.n >= 1);
	if (!strstr(init.messages[0], "watch_add") || !strstr(init.messages[0], "fd watches"))
		fail_msg("init said \"%s\", not that watch_add (fd watches) is missing",
		         init.messages[0]);
	assert_null(strstr(init.messages[0], "ca_file")); /* not a guess between causes */
}

/* ---- README.md's verification snippet -------------------------------------------- */

extern char **environ;

static size_t read_text(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;

	if (f) {
		n = fread(out, 1, size - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	return n;
}

/* README.md's Python snippet (run by tests/backend/readme_verify.py as the
 * endpoint) accepts porter's real deliveries, and refuses them tampered. */
static void the_readme_snippet_verifies_porters_deliveries(void **state)
{
	struct site *s = *state;
	char script[FX_PATH_MAX], readme[FX_PATH_MAX], port_file[FX_PATH_MAX + 16];
	char result_file[FX_PATH_MAX + 16], text[1024], url[128];
	const char *src = fx_env("PORTER_SOURCE_DIR");
	pid_t pid;

	assert_non_null(src);
	snprintf(script, sizeof(script), "%s/tests/backend/readme_verify.py", src);
	snprintf(readme, sizeof(readme), "%s/README.md", src);
	snprintf(port_file, sizeof(port_file), "%s/verify.port", s->dir);
	snprintf(result_file, sizeof(result_file), "%s/verify.txt", s->dir);
	char *argv[] = {"/usr/bin/python3", script, readme, port_file, result_file, NULL};
	assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ), 0);
	for (int i = 0; i < 200 && access(port_file, F_OK) < 0; i++)
		usleep(50000);
	assert_true(read_text(port_file, text, sizeof(text)) > 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/presence", atoi(text));

	start_webhook(s, url, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "front", PIN_ANA), "checked_out");
	for (int i = 0; i < 100; i++) {
		read_text(result_file, text, sizeof(text));
		if (strstr(text, "refused") || (strchr(text, '\n') && strchr(text, '\n')[1]))
			break;
		run_for(s, 100);
	}
	stop(s);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, NULL, 0), pid);

	struct log_row rows[2];
	char want[256];
	assert_int_equal(db_log(s->db_path, NULL, rows, 2), 2);
	snprintf(want, sizeof(want), "verified %s\nverified %s\n", rows[0].event_key,
	         rows[1].event_key);
	read_text(result_file, text, sizeof(text));
	assert_string_equal(text, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, site_close)
	        T(pin_journeys_land_verified_in_order_once_with_the_time_at_the_door),
	        T(a_daily_checkout_lands_at_the_time_of_the_cutoff),
	        T(receiver_failing_then_back_gets_everything_in_order_once),
	        T(connection_refused_then_restart_at_the_receiver_delivers),
	        T(a_429_with_retry_after_is_not_retried_before_it),
	        T(a_409_with_retry_after_is_not_retried_before_it),
	        T(a_400_is_a_dead_letter_and_the_next_change_still_goes),
	        T(a_lost_reply_is_sent_again_with_the_same_webhook_id),
	        T(a_delivery_in_flight_at_shutdown_arrives_after_restart),
	        T(at_the_backlog_cap_the_next_pin_is_refused_and_nothing_confirmed_is_lost),
	        T(bad_webhook_configs_are_refused_by_check_config_and_init),
	        T(a_host_without_fd_watches_is_refused_naming_them),
	        T(the_readme_snippet_verifies_porters_deliveries),
#undef T
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	int r = cmocka_run_group_tests(tests, load_porter, unload_porter);
	curl_global_cleanup();
	return r;
}
