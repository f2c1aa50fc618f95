/* SPDX-License-Identifier: MIT */
/*
 * test_crash_nexudus.c: kill -9 while changes flow to a flapping Nexudus;
 * after a restart and a drain the mock Nexudus holds every change porter
 * confirmed exactly once: per person, the check-in records opened and
 * closed are the confirmed sequence, with the door times, and no visit is
 * open twice.
 *
 * The webhook crash test's shape (test_crash_backend.c) with backend
 * "nexudus": crash_host (porter.so on host_loop, mode "paced") checks a few
 * members in and out, each again 200 ms after their answer, printing each
 * confirmation. Meanwhile the mock Nexudus (tests/backend/mock_nexudus.py,
 * under fixture.py --nexudus) is told to misbehave on the check-in records
 * API: 500s, connection resets, replies lost after the write was applied,
 * 409 with Retry-After, or nothing, changed at the start of each round and
 * halfway through it. The test SIGKILLs the host at a pseudo-random moment
 * (0.3 to 0.8 s in), several rounds on the same database; after each round
 * every confirmed change is in presence_log, in order. Then the faults
 * stop, this process loads porter.so on a host_loop of its own and runs it
 * until porter's outbox watermark reaches the last change. Then:
 *   - nothing went to the dead letters;
 *   - per person, the mock's check-in records (in the order Nexudus made
 *     them) are presence_log's visits: each check-in's time as FromTime,
 *     the check-out after it as ToTime, the last one open if the person is
 *     in; nothing more (a record made twice would show), nothing less.
 *
 * Few people and short rounds (some 40 changes at most): porter paces
 * itself inside Nexudus's published budgets (116 requests and 58 writes a
 * minute), and every change needs a read or two and a write, so past about
 * 40 changes the drain waits a minute for its budget. The mock's own rate limits are off
 * (a restarted porter starts its windows afresh while the mock's would
 * remember the last run's requests); 409s come as faults instead.
 *
 * CRASH_SEED replays a run; the seed used is printed. CRASH_ROUNDS sets the
 * number of rounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "crash_harness.h"
#include "loaded_porter.h"
#include "porter_fixture.h"

#define N_PEOPLE       3
#define FIRST_ID       101 /* the members' Nexudus Ids: 101, 102, ... */
#define DEFAULT_ROUNDS 3
#define MIN_RUN_US     300000 /* a round runs this long at least, */
#define MAX_RUN_US     800000 /* and at most this, then the kill */
#define LOG_MAX        512    /* changes per person we can hold */
/* The drain made no progress this long: a failure. Past a minute: porter
 * may wait out its minute's request budget (a change recorded before a
 * start costs up to three requests: two looks and the write). */
#define STALL_MS 70000
#define SYNC_MS  30000 /* the first directory sync */

struct crash_site {
	char dir[FX_PATH_MAX];
	char config_path[FX_PATH_MAX + 32];
	char people_path[FX_PATH_MAX + 32];
	char db_path[FX_PATH_MAX + 32];
	char cache_path[FX_PATH_MAX + 32];
	struct crash_child child;
	char confirmed[N_PEOPLE][LOG_MAX + 1]; /* this round's, 'i' or 'o' */
	unsigned total_confirmed;
};

/* ---- the mock's control endpoint ---------------------------------------------------- */

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

static json_object *control(const char *method, const char *path, const char *body)
{
	char url[1024];
	struct buf b = {0};
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", fx_env("MOCK_NEXUDUS_URL"), path);
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
		fail_msg("mock control %s %s: %s, HTTP %ld", method, path, curl_easy_strerror(rc),
		         status);
	json_object *j = json_tokener_parse(b.data ? b.data : "");
	free(b.data);
	assert_non_null(j);
	return j;
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in the mock's answer", key);
	return v;
}

/* Nexudus flaps on the check-in records API: a random fault (or none) from
 * now on, described in `spec`. */
static void flap(char spec[CRASH_FAULT_MAX])
{
	static const char *const faults[] = {
	        NULL,
	        "{\"kind\":\"500\",\"path\":\"^/api/spaces/checkins\",\"count\":%d}",
	        "{\"kind\":\"reset\",\"path\":\"^/api/spaces/checkins\",\"count\":%d}",
	        "{\"kind\":\"lost_reply\",\"path\":\"^/api/spaces/checkins\",\"count\":%d}",
	        "{\"kind\":\"409\",\"retry_after\":1,\"path\":\"^/api/spaces/checkins\","
	        "\"count\":%d}",
	};
	const char *f = faults[rand() % (int)(sizeof(faults) / sizeof(faults[0]))];

	json_object_put(control("DELETE", "/_control/faults", NULL));
	if (!f) {
		snprintf(spec, CRASH_FAULT_MAX, "none");
		return;
	}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(spec, CRASH_FAULT_MAX, f, 1 + rand() % 4);
#pragma GCC diagnostic pop
	json_object_put(control("POST", "/_control/faults", spec));
}

/* ---- the database ------------------------------------------------------------------- */

static int person_index(const char *id)
{
	int n;

	if (sscanf(id, "nx-c-%d", &n) != 1 || n < FIRST_ID || n >= FIRST_ID + N_PEOPLE)
		return -1;
	return n - FIRST_ID;
}

static const struct crash_people everyone = {N_PEOPLE, LOG_MAX, person_index};

/* Each person's logged directions in order ("ioi"); none before porter made
 * its tables. */
static void db_logs(const char *path, char logs[N_PEOPLE][LOG_MAX + 1])
{
	crash_db_logs(path, &everyone, logs[0], NULL, NULL, true);
}

/* One integer from `sql`, or -1. */
static int64_t db_int(const char *path, const char *sql)
{
	sqlite3 *db = crash_db_open(path);
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	assert_non_null(db);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ---- porter on a loop of this process ----------------------------------------------- */

static int64_t delivered_through(void *userdata)
{
	const struct crash_site *c = userdata;
	return db_int(c->db_path, "SELECT CAST(value AS INTEGER) FROM porter_meta"
	                          " WHERE key = 'outbox.nexudus.delivered_seq'");
}

static bool cache_written(void *userdata)
{
	const struct crash_site *c = userdata;
	struct stat st;
	return stat(c->cache_path, &st) == 0;
}

static int64_t no_progress(void *userdata)
{
	(void)userdata;
	return 0;
}

static bool drained(void *userdata)
{
	struct crash_site *c = userdata;
	int64_t last = db_int(c->db_path, "SELECT max(seq) FROM presence_log");
	return delivered_through(c) >= last;
}

/* ---- the test ------------------------------------------------------------------------ */

/* presence_log's recorded_at ("...T08:00:00.123456Z") as porter writes it to
 * Nexudus ("...T08:00:00.123Z"). */
static void to_millis(const char *recorded_at, char out[40])
{
	assert_true(strlen(recorded_at) >= 23);
	snprintf(out, 40, "%.23sZ", recorded_at);
}

static const char *text_or_empty(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	               ? json_object_get_string(v)
	               : "";
}

/* Per person: presence_log's visits against the mock's records. */
static void check_records(const struct crash_site *c, unsigned *ret_records)
{
	json_object *root = control("GET", "/_control/checkins", NULL);
	json_object *list = member(root, "checkins");
	size_t n = json_object_array_length(list);
	sqlite3 *db = crash_db_open(c->db_path);
	sqlite3_stmt *st = NULL;

	*ret_records = (unsigned)n;
	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT direction, recorded_at FROM presence_log "
	                                    "WHERE person_id = ? ORDER BY seq",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	for (int i = 0; i < N_PEOPLE; i++) {
		char id[32];
		size_t k = 0; /* the next record of this person at the mock */
		snprintf(id, sizeof(id), "nx-c-%d", FIRST_ID + i);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		/* The mock lists records by Id: the order Nexudus made them. */
		json_object *mine[LOG_MAX];
		size_t n_mine = 0;
		for (size_t r = 0; r < n; r++) {
			json_object *e = json_object_array_get_idx(list, r);
			if (json_object_get_int64(member(e, "CoworkerId")) == FIRST_ID + i) {
				assert_true(n_mine < LOG_MAX);
				mine[n_mine++] = e;
			}
		}
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *dir = (const char *)sqlite3_column_text(st, 0);
			char at[40];
			to_millis((const char *)sqlite3_column_text(st, 1), at);
			if (strcmp(dir, "in") == 0) {
				if (k >= n_mine)
					fail_msg("%s: the check-in at %s made no record at Nexudus",
					         id, at);
				const char *from = text_or_empty(mine[k], "FromTime");
				if (strcmp(from, at) != 0)
					fail_msg("%s: record %zu opens at %s, the check-in was at "
					         "%s",
					         id, k + 1, from, at);
				k++;
			} else {
				if (k == 0)
					fail_msg("%s: a check-out at %s before any check-in", id,
					         at);
				const char *to = text_or_empty(mine[k - 1], "ToTime");
				if (strcmp(to, at) != 0)
					fail_msg("%s: record %zu closes at \"%s\", the check-out "
					         "was at "
					         "%s",
					         id, k, to, at);
			}
		}
		if (k != n_mine)
			fail_msg("%s: Nexudus holds %zu records, presence_log makes %zu visits", id,
			         n_mine, k);
		/* Only the last visit may be open (no two open visits). */
		for (size_t r = 0; r + 1 < n_mine; r++)
			if (!text_or_empty(mine[r], "ToTime")[0])
				fail_msg("%s: record %zu is open but not the last", id, r + 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	json_object_put(root);
}

static void nexudus_holds_every_confirmed_change_once_after_kills(void **state)
{
	struct crash_site *c = *state;
	char before[N_PEOPLE][LOG_MAX + 1], after[N_PEOPLE][LOG_MAX + 1];
	unsigned seed = crash_seed(" (nexudus)");
	unsigned rounds = crash_env_unsigned("CRASH_ROUNDS", DEFAULT_ROUNDS);

	srand(seed);
	/* The first sync, so the rounds' PINs are known from the start. */
	crash_run_porter(c->config_path, cache_written, no_progress, c, STALL_MS);
	assert_true(cache_written(c));
	for (unsigned round = 0; round < rounds; round++) {
		unsigned run_us = MIN_RUN_US + (unsigned)rand() % (MAX_RUN_US - MIN_RUN_US);
		char faults[2][CRASH_FAULT_MAX];
		db_logs(c->db_path, before);
		crash_paced_round(&c->child, c->config_path, c->people_path, run_us, flap, faults,
		                  &everyone, c->confirmed[0], &c->total_confirmed);
		db_logs(c->db_path, after);
		for (int i = 0; i < N_PEOPLE; i++) {
			char id[32];
			snprintf(id, sizeof(id), "nx-c-%d", FIRST_ID + i);
			crash_check_prefix(round, id, before[i], after[i], c->confirmed[i]);
		}
		print_message("round %u: killed after %u ms; Nexudus: %s, then %s; delivered "
		              "through change %lld\n",
		              round, run_us / 1000, faults[0], faults[1],
		              (long long)delivered_through(c));
	}
	json_object_put(control("DELETE", "/_control/faults", NULL));

	uint64_t t0 = crash_now_us();
	crash_run_porter(c->config_path, drained, delivered_through, c, STALL_MS);
	int64_t rows = db_int(c->db_path, "SELECT count(*) FROM presence_log");
	if (!drained(c))
		fail_msg("the drain stalled at change %lld of %lld",
		         (long long)delivered_through(c), (long long)rows);
	assert_int_equal(db_int(c->db_path, "SELECT count(*) FROM dead_letters"), 0);
	unsigned records = 0;
	check_records(c, &records);
	print_message("%u changes confirmed, %lld recorded; Nexudus holds %u visits, each once "
	              "(the drain took %.1f s)\n",
	              c->total_confirmed, (long long)rows, records,
	              (double)(crash_now_us() - t0) / 1e6);
}

/* ---- fixture -------------------------------------------------------------------------- */

static int setup_mock(struct crash_site *c)
{
	char seed[N_PEOPLE * 160 + 64], people[N_PEOPLE * 48] = "";
	size_t o = (size_t)snprintf(seed, sizeof(seed), "{\"coworkers\":[");

	for (int i = 0; i < N_PEOPLE; i++) {
		char pin[16];
		crash_pin(i, pin);
		o += (size_t)snprintf(seed + o, sizeof(seed) - o,
		                      "%s{\"Id\":%d,\"FullName\":\"Person %d\",\"AccessPincode\":"
		                      "\"%s\",\"Active\":true}",
		                      i ? "," : "", FIRST_ID + i, i + 1, pin);
		size_t n = strlen(people);
		snprintf(people + n, sizeof(people) - n, "nx-c-%d %s\n", FIRST_ID + i, pin);
	}
	snprintf(seed + o, sizeof(seed) - o, "]}");
	json_object_put(control("POST", "/_control/reset", "{}"));
	json_object_put(
	        control("POST", "/_control/config", "{\"rate_limits\":{\"enabled\":false}}"));
	json_object_put(control("POST", "/_control/seed", seed));
	return fx_write_file(c->people_path, people);
}

static int site_setup(void **state)
{
	const char *admin = fx_env("PORTER_ADMIN");
	struct crash_site *c = calloc(1, sizeof(*c));
	char creds[FX_PATH_MAX + 32], text[512], *config = NULL;

	if (!c || fx_mkdtemp(c->dir) < 0) {
		free(c);
		return -1;
	}
	*state = c;
	c->child.out = -1;
	snprintf(c->config_path, sizeof(c->config_path), "%s/config.json", c->dir);
	snprintf(c->people_path, sizeof(c->people_path), "%s/people.txt", c->dir);
	snprintf(c->db_path, sizeof(c->db_path), "%s/presence.db", c->dir);
	snprintf(c->cache_path, sizeof(c->cache_path), "%s/cache.json", c->dir);
	snprintf(creds, sizeof(creds), "%s/nexudus.credentials", c->dir);
	snprintf(text, sizeof(text), "%s\n%s\n", fx_env("MOCK_NEXUDUS_USER"),
	         fx_env("MOCK_NEXUDUS_PASSWORD"));
	if (asprintf(&config,
	             "{\"backend\":\"nexudus\",\"local\":{\"directory\":\"%s\","
	             "\"database\":\"%s\",\"pin_key_file\":\"%s/pin.key\"},"
	             "\"nexudus\":{\"url\":\"%s\",\"business_id\":1,\"credentials_file\":\"%s\","
	             "\"ca_file\":\"%s\",\"timeout_ms\":2000,\"presence_interval_s\":5},"
	             "\"outbox\":{\"retry_max_s\":1},\"repeat_window_ms\":0}",
	             c->cache_path, c->db_path, c->dir, fx_env("MOCK_NEXUDUS_URL"), creds,
	             fx_env("MOCK_CA")) < 0)
		return -1;
	int r = fx_write_file(c->config_path, config);
	free(config);
	if (r < 0 || fx_write_file(creds, text) < 0 || chmod(creds, 0600) < 0 ||
	    fx_keygen(admin, c->dir) != 0 || setup_mock(c) < 0) {
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
	        cmocka_unit_test(nexudus_holds_every_confirmed_change_once_after_kills),
	};

	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN") || !fx_env("CRASH_HOST") ||
	    !fx_env("MOCK_NEXUDUS_URL") || !fx_env("MOCK_NEXUDUS_USER") ||
	    !fx_env("MOCK_NEXUDUS_PASSWORD") || !fx_env("MOCK_CA")) {
		fprintf(stderr, "PORTER_SO, PORTER_ADMIN, CRASH_HOST and the mock Nexudus "
		                "(tests/backend/fixture.py --nexudus) are needed\n");
		return 77; /* skipped */
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int r = cmocka_run_group_tests(tests, site_setup, site_teardown);
	curl_global_cleanup();
	return r;
}
