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

#include "receiver_client.h"
#include "recording_host.h"
#include "webhook_site.h"

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

	json_object *d = receiver_deliveries();
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

	receiver_fault("[{\"kind\":\"500\",\"count\":3},{\"kind\":\"reset\",\"count\":2}]");
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
	assert_int_equal(receiver_n_deliveries(), 0);

	assert_true(wait_deliveries(s, 3, DRAIN_MS));
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, false);
	assert_null(diagnostic(s, &d, "PORTER-D005"));
	/* Five failed attempts, then the three that worked. */
	assert_int_equal(receiver_n_requests(), 8);
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
	json_object *r = receiver_requests();

	assert_true(json_object_array_length(r) >= 2);
	double a = json_object_get_double(member(json_object_array_get_idx(r, 0), "time"));
	double b = json_object_get_double(member(json_object_array_get_idx(r, 1), "time"));
	json_object_put(r);
	return b - a;
}

static void retry_after_is_honoured(struct site *s, const char *spec)
{
	receiver_fault(spec);
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

	receiver_fault("{\"kind\":\"status\",\"status\":400}");
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_string_equal(present(s, "front", PIN_BEN), "checked_in");
	assert_true(wait_deliveries(s, 1, DRAIN_MS));
	run_for(s, 300);
	assert_int_equal(db_log(s->db_path, NULL, rows, 4), 2);

	json_object *dl = receiver_deliveries();
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

	receiver_fault("{\"kind\":\"lost_reply\"}");
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_true(wait_requests(s, 2, DRAIN_MS));
	run_for(s, 300);

	json_object *r = receiver_requests();
	assert_int_equal(json_object_array_length(r), 2);
	assert_string_equal(str(json_object_array_get_idx(r, 0), "webhook_id"),
	                    str(json_object_array_get_idx(r, 1), "webhook_id"));
	json_object_put(r);
	json_object *d = receiver_deliveries();
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
	receiver_fault("{\"kind\":\"slow\",\"delay\":3,\"apply_first\":false}");
	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	run_for(s, 500); /* sent, unanswered */
	assert_int_equal(receiver_n_deliveries(), 0);
	stop(s); /* cancels the request in flight */

	start_webhook(s, NULL, NULL);
	assert_true(wait_deliveries(s, 1, DRAIN_MS));
	assert_true(wait_requests(s, 2, 5000)); /* the slow copy lands too: counted, once */
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, true);
	json_object *r = receiver_requests();
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

	receiver_fault("{\"kind\":\"500\",\"count\":100000}");
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

	json_object_put(receiver_control("DELETE", "/faults", NULL));
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
#define T(f) cmocka_unit_test_setup_teardown(f, webhook_site_setup, site_close)
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
