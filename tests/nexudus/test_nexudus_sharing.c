/* SPDX-License-Identifier: MIT */
/*
 * test_nexudus_sharing.c: doors sharing one Nexudus account share its
 * budgets (nexudus_options.doors_sharing_account, config
 * nexudus.doors_sharing_account).
 *
 * Nexudus counts requests per account. A porter told that two doors use the
 * account keeps to half of every budget, so the two together stay inside.
 * The backend drains a burst of check-ins against the mock Nexudus (real
 * TLS on loopback, rate limits on at the published budgets, every window
 * divided by SCALE, porter's pacing by the same). What is asserted is what
 * the mock saw, by the times it received each request: consecutive
 * requests at least two 100 ms intervals apart, at most half of the
 * published writes and requests in any (scaled) minute, and never a 409.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "host_loop.h"
#include "mock_nexudus_fixture.h"
#include "nexudus.h"

#define SCALE       20.0
#define DOORS       2
#define CHECK_INS   60    /* past one (scaled) minute's write budget of one door */
#define INTERVAL_MS 100.0 /* published: 1 request / 100 ms */
#define MINUTE_MS   60000.0
#define WRITES_MIN  60 /* published writes a minute */
#define REQS_MIN    120

static struct {
	struct mock_nexudus mock;
	struct host_loop *loop;
	char dir[64], creds[128], cache[128];
	struct cutoff_rule day;
} T;

struct outcome {
	bool done;
	struct delivery_result r;
};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_log(void *userdata, uint32_t level, const char *message)
{
	if (getenv("NEXUDUS_TEST_LOG"))
		fprintf(stderr, "log: %s\n", message);
}

static void done_cb(void *userdata, const struct delivery_result *r)
{
	struct outcome *o = userdata;
	assert_false(o->done);
	o->done = true;
	o->r = *r;
}

static void deliver_in(struct backend *b, int64_t seq, int coworker, int64_t at_us)
{
	struct delivery d = {.seq = seq, .in = true, .at_unix_us = at_us};
	struct outcome o = {0};
	snprintf(d.event_key, sizeof(d.event_key), "00000000-0000-4000-8000-%012" PRId64, seq);
	snprintf(d.person_id, sizeof(d.person_id), "nx-c-%d", coworker);
	snprintf(d.reader_id, sizeof(d.reader_id), "front");
	snprintf(d.cause, sizeof(d.cause), "credential");
	assert_int_equal(b->deliver(b->impl, &d, done_cb, &o), 0);
	uint64_t end = host_loop_now_us(T.loop) + 60000000u;
	while (!o.done && host_loop_now_us(T.loop) < end)
		host_loop_run_once(T.loop, 50);
	assert_true(o.done);
	if (o.r.outcome != DELIVERY_DELIVERED)
		fail_msg("check-in %" PRId64 ": %d %s", seq, o.r.outcome, o.r.reason);
}

/* The times (ms) the mock received API requests (writes only, or all). */
static size_t request_times(bool writes_only, double *out, size_t max)
{
	json_object *root = NULL, *list, *v;
	size_t n = 0;
	assert_int_equal(mock_nexudus_call(&T.mock, "GET", "/_control/requests", NULL, &root), 200);
	assert_true(json_object_object_get_ex(root, "requests", &list));
	for (size_t i = 0; i < json_object_array_length(list) && n < max; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *method =
		        json_object_object_get_ex(e, "method", &v) ? json_object_get_string(v) : "";
		const char *path =
		        json_object_object_get_ex(e, "path", &v) ? json_object_get_string(v) : "";
		if (strncmp(path, "/api/", 5) != 0)
			continue;
		if (writes_only &&
		    (strcmp(method, "GET") == 0 || strncmp(path, "/api/token", 10) == 0))
			continue;
		assert_true(json_object_object_get_ex(e, "time", &v));
		out[n++] = json_object_get_double(v) * 1000.0;
	}
	json_object_put(root);
	return n;
}

/* The most of `t` (sorted) inside any window of `window_ms`. */
static size_t most_in_window(const double *t, size_t n, double window_ms)
{
	size_t most = 0, first = 0;
	for (size_t i = 0; i < n; i++) {
		while (t[i] - t[first] >= window_ms)
			first++;
		if (i - first + 1 > most)
			most = i - first + 1;
	}
	return most;
}

static void two_doors_on_one_account_each_keep_to_half_the_budgets(void **state)
{
	char seed[16384];
	size_t o = (size_t)snprintf(seed, sizeof(seed), "{\"coworkers\": [");
	for (int i = 0; i < CHECK_INS; i++)
		o += (size_t)snprintf(seed + o, sizeof(seed) - o,
		                      "%s{\"Id\": %d, \"FullName\": \"P%d\"}", i ? "," : "",
		                      100 + i, i);
	snprintf(seed + o, sizeof(seed) - o, "]}");
	mock_nexudus_ok(&T.mock, "POST", "/_control/seed", seed);

	struct backend b;
	char err[512];
	struct nexudus_options no = {.base_url = T.mock.url,
	                             .business_id = 1,
	                             .credentials_file = T.creds,
	                             .ca_file = T.mock.ca,
	                             .pinned_keys = T.mock.pin,
	                             .timeout_ms = 5000,
	                             .cache_path = T.cache,
	                             .pin_min_length = 4,
	                             .pin_max_length = 8,
	                             .day = &T.day,
	                             .sync_interval_s = 3600,
	                             .presence_interval_s = 3600,
	                             .wall_clock_us = wall_us,
	                             .pace_time_scale = SCALE,
	                             .doors_sharing_account = DOORS};
	int r = nexudus_backend_new(host_loop_services(T.loop), &no, NULL, &b, err, sizeof(err));
	if (r < 0)
		fail_msg("nexudus_backend_new: %d %s", r, err);
	int64_t now = wall_us();
	for (int i = 0; i < CHECK_INS; i++)
		deliver_in(&b, 1 + i, 100 + i, now + i);
	b.stop(b.impl);
	host_loop_drop_invokes(T.loop);

	static double all[1024], writes[256];
	size_t n_all = request_times(false, all, 1024);
	size_t n_writes = request_times(true, writes, 256);
	assert_int_equal(n_writes, CHECK_INS);
	double closest = 1e9;
	for (size_t i = 1; i < n_all; i++)
		if (all[i] - all[i - 1] < closest)
			closest = all[i] - all[i - 1];
	size_t most_writes = most_in_window(writes, n_writes, MINUTE_MS / SCALE);
	size_t most_all = most_in_window(all, n_all, MINUTE_MS / SCALE);
	double spacing = DOORS * INTERVAL_MS / SCALE;
	print_message("%d doors sharing: %zu requests, closest %.2f ms apart (budget spacing "
	              "%.2f ms); at most %zu writes (of %d) and %zu requests (of %d) in a "
	              "scaled minute\n",
	              DOORS, n_all, closest, spacing, most_writes, WRITES_MIN, most_all, REQS_MIN);
	assert_true(closest >= spacing);
	assert_true(most_writes <= WRITES_MIN / DOORS);
	assert_true(most_all <= REQS_MIN / DOORS);
	assert_int_equal(mock_nexudus_count(&T.mock, NULL, "/api", 409), 0);
}

static int group_setup(void **state)
{
	char text[512], cfg[256], err[256];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mock_nexudus_start(&T.mock) < 0)
		return -1;
	snprintf(T.dir, sizeof(T.dir), "/tmp/porter-nexudus-share-XXXXXX");
	if (!mkdtemp(T.dir))
		return -1;
	snprintf(T.creds, sizeof(T.creds), "%s/credentials", T.dir);
	snprintf(T.cache, sizeof(T.cache), "%s/directory.json", T.dir);
	snprintf(text, sizeof(text), "%s\n%s\n", T.mock.user, T.mock.password);
	FILE *f = fopen(T.creds, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(T.creds, 0600) != 0)
		return -1;
	if (cutoff_parse_zone("UTC", &T.day, err, sizeof(err)) < 0)
		return -1;
	T.day.minute_of_day = 0;
	mock_nexudus_ok(&T.mock, "POST", "/_control/reset", "{}");
	snprintf(cfg, sizeof(cfg),
	         "{\"rate_limits\": {\"enabled\": true, \"published\": true, \"time_scale\": %g}}",
	         SCALE);
	mock_nexudus_ok(&T.mock, "POST", "/_control/config", cfg);
	T.loop = host_loop_new(&(struct host_loop_callbacks){.log = on_log});
	return T.loop ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];
	T.loop = host_loop_free(T.loop);
	mock_nexudus_stop(&T.mock);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", T.dir);
	if (system(cmd) != 0)
		return -1;
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(two_doors_on_one_account_each_keep_to_half_the_budgets),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
