/* SPDX-License-Identifier: MIT */
/*
 * test_crash_backend.c: kill -9 while changes flow to a flapping webhook
 * receiver; after a restart and a drain the receiver holds every change
 * porter confirmed, exactly once, in order per person.
 *
 * crash_host (porter.so on host_loop, backend "webhook", mode "paced") checks
 * 20 people in and out, each again 200 ms after their answer, printing each
 * confirmation (a
 * completion with GRANT and a direction). Meanwhile the receiver
 * (tests/backend/webhook_receiver.py, under fixture.py --webhook) is told to
 * misbehave through its control endpoint: 500s, connection resets, replies
 * lost after it recorded the change, slow replies, or nothing, changed at
 * the start of each round and again halfway through it. The test SIGKILLs
 * the host at a pseudo-random moment (0.3 to 1.5 s in), several rounds on
 * the same database; after each round every confirmed change is in
 * presence_log, in order (as in test_crash.c). Then the faults stop, this
 * process loads porter.so on a host_loop of its own, and runs it until the
 * receiver holds as many deliveries as presence_log has rows. Then:
 *   - every presence_log row was delivered, verified (the receiver rejected
 *     nothing), with its event key as webhook-id and its person, direction,
 *     reader, cause and time; nothing else was delivered;
 *   - each webhook-id is recorded once: copies (after a kill, a reset or a
 *     lost reply) only raise its count;
 *   - per person, the deliveries arrived in presence_log's order.
 *
 * CRASH_SEED replays a run; the seed used is printed. CRASH_ROUNDS sets the
 * number of rounds (a longer soak); the default keeps the test near 30 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "crash_harness.h"
#include "loaded_porter.h"
#include "porter_fixture.h"
#include "receiver_client.h"

#define N_PEOPLE       20
#define DEFAULT_ROUNDS 6
#define MIN_RUN_US     300000  /* a round runs this long at least, */
#define MAX_RUN_US     1500000 /* and at most this, then the kill */
#define LOG_MAX        2048    /* changes per person we can hold */
#define STALL_MS       30000   /* the drain made no progress this long: a failure */

struct crash_site {
	char dir[FX_PATH_MAX];
	char config_path[FX_PATH_MAX + 32];
	char people_path[FX_PATH_MAX + 32];
	char db_path[FX_PATH_MAX + 32];
	struct crash_child child;
	char confirmed[N_PEOPLE][LOG_MAX + 1]; /* this round's, 'i' or 'o' */
	unsigned total_confirmed;
};

/* ---- the receiver ------------------------------------------------------------ */

/* The receiver flaps: a random fault (or none) from now on, described in
 * `spec`. */
static void flap(char spec[CRASH_FAULT_MAX])
{
	static const char *const faults[] = {
	        NULL,
	        "{\"kind\":\"500\",\"count\":%d}",
	        "{\"kind\":\"reset\",\"count\":%d}",
	        "{\"kind\":\"lost_reply\",\"count\":%d}",
	        "{\"kind\":\"slow\",\"delay\":0.3,\"count\":%d}",
	        "{\"kind\":\"status\",\"status\":503,\"count\":%d}",
	};
	const char *f = faults[rand() % (int)(sizeof(faults) / sizeof(faults[0]))];

	json_object_put(receiver_control("DELETE", "/faults", NULL));
	if (!f) {
		snprintf(spec, CRASH_FAULT_MAX, "none");
		return;
	}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(spec, CRASH_FAULT_MAX, f, 1 + rand() % 6);
#pragma GCC diagnostic pop
	receiver_fault(spec);
}

/* ---- the database ------------------------------------------------------------------- */

static int person_index(const char *id)
{
	int n;

	if (sscanf(id, "p%d", &n) != 1 || n < 1 || n > N_PEOPLE)
		return -1;
	return n - 1;
}

static const struct crash_people everyone = {N_PEOPLE, LOG_MAX, person_index};

/* Each person's logged directions in order ("ioi"). */
static void db_logs(const char *path, char logs[N_PEOPLE][LOG_MAX + 1])
{
	crash_db_logs(path, &everyone, logs[0], NULL, NULL, false);
}

/* ---- the drain: porter on a loop of this process ----------------------------------- */

static int64_t log_rows(const char *path)
{
	sqlite3 *db = crash_db_open(path);
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM presence_log", -1, &st, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

struct drain {
	int64_t rows;
};

static int64_t deliveries(void *userdata)
{
	(void)userdata;
	return (int64_t)receiver_n_deliveries();
}

static bool all_delivered(void *userdata)
{
	const struct drain *d = userdata;
	return deliveries(NULL) >= d->rows;
}

/* Start porter on the site and run it until the receiver holds `rows`
 * deliveries, and a little longer (a surplus would show). */
static void drain(struct crash_site *c, int64_t rows)
{
	struct drain d = {rows};
	crash_run_porter(c->config_path, all_delivered, deliveries, &d, STALL_MS);
}

/* ---- the test ------------------------------------------------------------------------ */

static void receiver_holds_every_confirmed_change_once_in_order_after_kills(void **state)
{
	struct crash_site *c = *state;
	char before[N_PEOPLE][LOG_MAX + 1], after[N_PEOPLE][LOG_MAX + 1];
	unsigned seed = crash_seed(" (webhook)");
	unsigned rounds = crash_env_unsigned("CRASH_ROUNDS", DEFAULT_ROUNDS);

	srand(seed);
	receiver_reset();
	for (unsigned round = 0; round < rounds; round++) {
		unsigned run_us = MIN_RUN_US + (unsigned)rand() % (MAX_RUN_US - MIN_RUN_US);
		char faults[2][CRASH_FAULT_MAX];
		db_logs(c->db_path, before);
		crash_paced_round(&c->child, c->config_path, c->people_path, run_us, flap, faults,
		                  &everyone, c->confirmed[0], &c->total_confirmed);
		db_logs(c->db_path, after);
		for (int i = 0; i < N_PEOPLE; i++) {
			char id[16];
			crash_member_id(i, id);
			crash_check_prefix(round, id, before[i], after[i], c->confirmed[i]);
		}
		print_message("round %u: killed after %u ms; receiver: %s, then %s; %zu delivered "
		              "so far\n",
		              round, run_us / 1000, faults[0], faults[1], receiver_n_deliveries());
	}
	json_object_put(receiver_control("DELETE", "/faults", NULL));

	int64_t rows = log_rows(c->db_path);
	drain(c, rows);

	/* presence_log, in order, against the receiver's deliveries. */
	json_object *d = receiver_deliveries();
	json_object *list = member(d, "deliveries");
	size_t n = json_object_array_length(list);
	size_t copies = 0;
	assert_int_equal(json_object_get_int(member(d, "rejected")), 0);
	if ((int64_t)n != rows)
		fail_msg("presence_log has %lld changes, the receiver %zu", (long long)rows, n);

	/* Per person, the receiver's arrival order is presence_log's order. */
	json_object *by_id = json_object_new_object();
	int next[N_PEOPLE] = {0};
	for (size_t k = 0; k < n; k++) {
		json_object *e = json_object_array_get_idx(list, k);
		json_object_object_add(by_id, str(e, "id"), json_object_get(e));
		copies += (size_t)json_object_get_int(member(e, "count")) - 1;
	}
	sqlite3 *db = crash_db_open(c->db_path);
	sqlite3_stmt *st = NULL;
	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT event_key, person_id, direction, reader_id, "
	                                    "cause, recorded_at FROM presence_log ORDER BY seq",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	/* person -> their rows' event keys in order, checked against arrivals */
	char(*keys)[N_PEOPLE][64] = calloc((size_t)rows + 1, sizeof(*keys));
	int count[N_PEOPLE] = {0};
	assert_non_null(keys);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		json_object *e = NULL;
		if (!json_object_object_get_ex(by_id, key, &e))
			fail_msg("change %s of %s is not at the receiver", key,
			         (const char *)sqlite3_column_text(st, 1));
		json_object *data = member(member(e, "payload"), "data");
		assert_string_equal(str(data, "person_id"),
		                    (const char *)sqlite3_column_text(st, 1));
		assert_string_equal(str(data, "direction"),
		                    (const char *)sqlite3_column_text(st, 2));
		assert_string_equal(str(data, "reader_id"),
		                    (const char *)sqlite3_column_text(st, 3));
		assert_string_equal(str(data, "cause"), (const char *)sqlite3_column_text(st, 4));
		assert_string_equal(str(data, "at"), (const char *)sqlite3_column_text(st, 5));
		int i = person_index((const char *)sqlite3_column_text(st, 1));
		assert_true(i >= 0);
		snprintf(keys[count[i]++][i], 64, "%s", key);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (size_t k = 0; k < n; k++) {
		json_object *data =
		        member(member(json_object_array_get_idx(list, k), "payload"), "data");
		int i = person_index(str(data, "person_id"));
		assert_true(i >= 0 && next[i] < count[i]);
		if (strcmp(keys[next[i]][i], str(data, "event_key")) != 0)
			fail_msg("p%02d: delivery %zu arrived out of presence_log's order", i + 1,
			         k);
		next[i]++;
	}
	free(keys);
	json_object_put(by_id);
	json_object_put(d);
	print_message("%u changes confirmed, %lld recorded, all delivered once (%zu copies "
	              "counted as duplicates)\n",
	              c->total_confirmed, (long long)rows, copies);
}

/* ---- fixture -------------------------------------------------------------------------- */

static int site_setup(void **state)
{
	const char *admin = fx_env("PORTER_ADMIN");
	struct crash_site *c = calloc(1, sizeof(*c));
	char secret[FX_PATH_MAX + 32], *config = NULL;

	if (!c || fx_mkdtemp(c->dir) < 0) {
		free(c);
		return -1;
	}
	*state = c;
	c->child.out = -1;
	snprintf(c->config_path, sizeof(c->config_path), "%s/config.json", c->dir);
	snprintf(c->people_path, sizeof(c->people_path), "%s/people.txt", c->dir);
	snprintf(c->db_path, sizeof(c->db_path), "%s/presence.db", c->dir);
	snprintf(secret, sizeof(secret), "%s/webhook.secret", c->dir);
	if (asprintf(&config,
	             "{\"backend\":\"webhook\",\"local\":{\"directory\":\"%s/directory.json\","
	             "\"database\":\"%s/presence.db\",\"pin_key_file\":\"%s/pin.key\"},"
	             "\"webhook\":{\"url\":\"%s\",\"secret_file\":\"%s\",\"ca_file\":\"%s\","
	             "\"timeout_ms\":5000},\"outbox\":{\"retry_max_s\":1},"
	             "\"repeat_window_ms\":0}",
	             c->dir, c->dir, c->dir, fx_env("MOCK_WEBHOOK_URL"), secret,
	             fx_env("MOCK_CA")) < 0)
		return -1;
	int r = fx_write_file(c->config_path, config);
	free(config);
	if (r < 0 || fx_write_file(secret, fx_env("MOCK_WEBHOOK_SECRET")) < 0 ||
	    fx_keygen(admin, c->dir) != 0 ||
	    crash_write_members(admin, c->dir, c->people_path, N_PEOPLE) < 0) {
		fprintf(stderr, "crash test setup failed in %s\n", c->dir);
		return -1;
	}
	return load_porter(NULL);
}

static int site_teardown(void **state)
{
	struct crash_site *c = *state;

	if (!c)
		return 0;
	crash_stop(&c->child);
	unload_porter(NULL);
	fx_rmrf(c->dir);
	free(c);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(receiver_holds_every_confirmed_change_once_in_order_after_kills),
	};

	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN") || !fx_env("CRASH_HOST") ||
	    !fx_env("MOCK_WEBHOOK_URL") || !fx_env("MOCK_WEBHOOK_SECRET") || !fx_env("MOCK_CA")) {
		fprintf(stderr, "PORTER_SO, PORTER_ADMIN, CRASH_HOST and the webhook receiver "
		                "(tests/backend/fixture.py --webhook) are needed\n");
		return 77; /* skipped */
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int r = cmocka_run_group_tests(tests, site_setup, site_teardown);
	curl_global_cleanup();
	return r;
}
