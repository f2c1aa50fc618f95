/* SPDX-License-Identifier: MIT */
/*
 * test_nexudus.c: the Nexudus backend (drivers/nexudus/nexudus.h) against
 * the mock Nexudus over real TLS on loopback (tests/backend/mock_nexudus.py
 * through fixture.py), driven by the reference host loop
 * (examples/host_loop.c: epoll, timerfd, invoke).
 *
 * Unless a test says otherwise the mock's rate limits are on with the
 * published budgets, its windows divided by 10 and porter's pacing by the
 * same (so a minute is 6 s); every test asserts the mock never answered 409
 * where porter's pacing should have prevented it.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "directory.h"
#include "directory_file.h"
#include "host_loop.h"
#include "mock_nexudus_fixture.h"
#include "nexudus.h"
#include "pin_hash.h"

#define SCALE 10.0

static struct {
	struct mock_nexudus mock;
	struct host_loop *loop;
	char dir[64], creds[128], cache[128];
	uint8_t key[PIN_KEY_LEN];
	struct cutoff_rule day;
	char logs[256][512];
	size_t n_logs;
	/* what the backend told the core */
	int synced;
	int64_t synced_at;
	int learned;
	char learned_id[64];
	bool learned_in;
	int64_t learned_at;
	struct backend live; /* stopped by the next setup if a test failed */
	bool running;
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
	if (T.n_logs < sizeof(T.logs) / sizeof(T.logs[0]))
		snprintf(T.logs[T.n_logs++], sizeof(T.logs[0]), "%s", message);
	if (getenv("NEXUDUS_TEST_LOG"))
		fprintf(stderr, "log: %s\n", message);
}

static void on_synced(void *userdata, int64_t at)
{
	T.synced++;
	T.synced_at = at;
}

static void on_learned(void *userdata, const char *person_id, bool in, int64_t at)
{
	T.learned++;
	snprintf(T.learned_id, sizeof(T.learned_id), "%s", person_id);
	T.learned_in = in;
	T.learned_at = at;
}

static const struct backend_core core = {
        .presence_learned = on_learned,
        .directory_synced = on_synced,
};

static void run_until(bool *flag, int timeout_ms)
{
	uint64_t end = host_loop_now_us(T.loop) + (uint64_t)timeout_ms * 1000;
	while (!*flag && host_loop_now_us(T.loop) < end)
		host_loop_run_once(T.loop, 50);
}

static void run_for(int ms)
{
	bool never = false;
	run_until(&never, ms);
}

static void run_until_count(int *count, int want, int timeout_ms)
{
	uint64_t end = host_loop_now_us(T.loop) + (uint64_t)timeout_ms * 1000;
	while (*count < want && host_loop_now_us(T.loop) < end)
		host_loop_run_once(T.loop, 50);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static void set_password(const char *password)
{
	char text[512];
	snprintf(text, sizeof(text), "%s\n%s\n", T.mock.user, password);
	write_file(T.creds, text, 0600);
}

struct opts {
	double scale;
	uint32_t sync_s, presence_s, auth_retry_s;
};

static struct backend start_backend(const struct opts *o)
{
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
	                             .sync_interval_s = o && o->sync_s ? o->sync_s : 3600,
	                             .presence_interval_s =
	                                     o && o->presence_s ? o->presence_s : 3600,
	                             .wall_clock_us = wall_us,
	                             .pace_time_scale = o && o->scale ? o->scale : SCALE,
	                             .auth_retry_s = o ? o->auth_retry_s : 0};
	memcpy(no.pin_key, T.key, PIN_KEY_LEN);
	T.synced = T.learned = 0;
	int r = nexudus_backend_new(host_loop_services(T.loop), &no, &core, &b, err, sizeof(err));
	if (r < 0)
		fail_msg("nexudus_backend_new: %d %s", r, err);
	assert_string_equal(b.name, "nexudus");
	T.live = b;
	T.running = true;
	return b;
}

static void stop_backend(struct backend *b)
{
	b->stop(b->impl);
	T.running = false;
	/* Nothing of the backend's stays on the loop. */
	assert_int_equal(host_loop_n_timers(T.loop), 0);
	assert_int_equal(host_loop_n_watches(T.loop), 0);
	host_loop_drop_invokes(T.loop);
}

static void done_cb(void *userdata, const struct delivery_result *r)
{
	struct outcome *o = userdata;
	assert_false(o->done); /* exactly once */
	o->done = true;
	o->r = *r;
}

static struct delivery change(int64_t seq, const char *person, bool in, int64_t at_us)
{
	struct delivery d = {.seq = seq, .in = in, .at_unix_us = at_us};
	snprintf(d.event_key, sizeof(d.event_key), "00000000-0000-4000-8000-%012" PRId64, seq);
	snprintf(d.person_id, sizeof(d.person_id), "%s", person);
	snprintf(d.reader_id, sizeof(d.reader_id), "front");
	snprintf(d.cause, sizeof(d.cause), "credential");
	return d;
}

static struct delivery_result deliver(struct backend *b, const struct delivery *d)
{
	struct outcome o = {0};
	assert_int_equal(b->deliver(b->impl, d, done_cb, &o), 0);
	assert_false(o.done); /* never from inside deliver() */
	run_until(&o.done, 30000);
	assert_true(o.done);
	return o.r;
}

static void mock_setup(double scale)
{
	char cfg[256];
	if (T.running) { /* a test failed half-way */
		T.live.stop(T.live.impl);
		T.running = false;
		host_loop_drop_invokes(T.loop);
	}
	mock_nexudus_ok(&T.mock, "POST", "/_control/reset", "{}");
	snprintf(cfg, sizeof(cfg),
	         "{\"rate_limits\": {\"enabled\": true, \"published\": true, \"time_scale\": %g}}",
	         scale);
	mock_nexudus_ok(&T.mock, "POST", "/_control/config", cfg);
	mock_nexudus_ok(&T.mock, "POST", "/_control/seed",
	                "{\"coworkers\": [{\"Id\": 11, \"FullName\": \"Ada Lovelace\", "
	                "\"AccessPincode\": \"4711\"}, {\"Id\": 12, \"FullName\": \"Alan Turing\", "
	                "\"AccessPincode\": \"52525\"}]}");
	set_password(T.mock.password);
	T.n_logs = 0;
}

static int setup(void **state)
{
	mock_setup(SCALE);
	return 0;
}

static int throttled(void)
{
	return mock_nexudus_count(&T.mock, NULL, "/api", 409);
}

/* The check-in records of coworker `id` at the mock, in Id order. */
static json_object *checkins_of(int64_t id)
{
	json_object *root, *list, *out = json_object_new_array();
	assert_int_equal(mock_nexudus_call(&T.mock, "GET", "/_control/checkins", NULL, &root), 200);
	assert_true(json_object_object_get_ex(root, "checkins", &list));
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i), *v;
		if (json_object_object_get_ex(c, "CoworkerId", &v) &&
		    json_object_get_int64(v) == id)
			json_object_array_add(out, json_object_get(c));
	}
	json_object_put(root);
	return out;
}

static const char *field(json_object *o, const char *name)
{
	json_object *v;
	return json_object_object_get_ex(o, name, &v) && v ? json_object_get_string(v) : NULL;
}

static void iso_ms(int64_t us, char out[40])
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%03dZ", (int)(us % 1000000 / 1000));
}

static bool logs_contain(const char *text)
{
	for (size_t i = 0; i < T.n_logs; i++)
		if (strstr(T.logs[i], text))
			return true;
	return false;
}

/* ---- session ------------------------------------------------------------ */

/* Every token request carried this device's client id (the file porter made
 * beside the cache). */
static void assert_token_requests_carry_the_client_id(void)
{
	char path[192], id[80] = {0};
	snprintf(path, sizeof(path), "%s/nexudus-client-id", T.dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(id, sizeof(id), f));
	fclose(f);
	id[strcspn(id, "\n")] = '\0';
	assert_int_equal(strlen(id), 32);
	json_object *root, *list;
	assert_int_equal(mock_nexudus_call(&T.mock, "GET", "/_control/requests", NULL, &root), 200);
	assert_true(json_object_object_get_ex(root, "requests", &list));
	int tokens = 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		if (strcmp(field(e, "path"), "/api/token") != 0)
			continue;
		tokens++;
		assert_non_null(field(e, "client_id"));
		assert_string_equal(field(e, "client_id"), id);
	}
	assert_true(tokens > 0);
	json_object_put(root);
}

static void test_token_is_granted_once_then_refreshed_with_the_client_id(void **state)
{
	/* Tokens of 4 s: short, with a renewal margin (a tenth) that a slow run
	 * (valgrind on a loaded machine) still keeps. */
	mock_nexudus_ok(&T.mock, "POST", "/_control/config", "{\"expires_in\": 4}");
	struct backend b = start_backend(NULL);
	int64_t now = wall_us();
	struct delivery d = change(1, "nx-c-11", true, now);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/token", 200), 1);
	/* The password no longer works: the next token must be a refresh. */
	mock_nexudus_ok(&T.mock, "POST", "/_control/config",
	                "{\"users\": {\"someone\": \"else\"}}");
	run_for(4500); /* the access token expires */
	d = change(2, "nx-c-11", false, now + 1000000);
	struct delivery_result r = deliver(&b, &d);
	assert_int_equal(r.outcome, DELIVERY_DELIVERED);
	/* A refresh at least (more when the run is slow enough, e.g. under
	 * valgrind, for the token to run out again); the password would
	 * have been refused (400), so every later token was a refresh. */
	assert_true(mock_nexudus_count(&T.mock, "POST", "/api/token", 200) >= 2);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/token", 400), 0);
	assert_int_equal(mock_nexudus_count(&T.mock, NULL, "/api/spaces", 401), 0);
	assert_int_equal(throttled(), 0);
	assert_token_requests_carry_the_client_id();
	stop_backend(&b);
}

static void test_401_refreshes_the_token_and_asks_again_once(void **state)
{
	struct backend b = start_backend(NULL);
	run_until_count(&T.synced, 1, 20000); /* the first token is in use */
	mock_nexudus_ok(&T.mock, "POST", "/_control/faults",
	                "{\"kind\": \"401\", \"method\": \"POST\", \"path\": "
	                "\"^/api/spaces/checkins$\"}");
	struct delivery d = change(1, "nx-c-11", true, wall_us());
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/token", 200), 2);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/spaces/checkins", 401), 1);
	json_object *list = checkins_of(11);
	assert_int_equal(json_object_array_length(list), 1);
	json_object_put(list);
	stop_backend(&b);
}

struct reports {
	int n;
	char code[8][32];
	char message[8][768];
};

static void collect_report(void *userdata, const struct porter_report *r)
{
	struct reports *rs = userdata;
	if (rs->n < 8) {
		snprintf(rs->code[rs->n], sizeof(rs->code[0]), "%s", r->code);
		snprintf(rs->message[rs->n], sizeof(rs->message[0]), "%s", r->message);
	}
	rs->n++;
}

static void test_a_bad_password_is_one_clear_error_not_a_storm(void **state)
{
	set_password("wrong-password-123");
	struct backend b =
	        start_backend(&(struct opts){.sync_s = 1, .presence_s = 1, .auth_retry_s = 4});
	for (int i = 0; i < 3; i++) {
		struct delivery d = change(1 + i, "nx-c-11", true, wall_us());
		struct delivery_result r = deliver(&b, &d);
		assert_int_equal(r.outcome, DELIVERY_RETRY);
		assert_non_null(strstr(r.reason, T.mock.user));
		assert_null(strstr(r.reason, "wrong-password-123"));
		assert_true(r.retry_after_us > 2000000u); /* not before the pause is over */
	}
	run_for(3000); /* syncs and polls come due meanwhile */
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/token", 0), 1);
	assert_int_equal(T.synced, 0);
	struct reports rs = {0};
	assert_true(b.diagnostics(b.impl, collect_report, &rs) >= 1);
	assert_string_equal(rs.code[0], "PORTER-D007");
	assert_non_null(strstr(rs.message[0], T.mock.user));
	assert_null(strstr(rs.message[0], "wrong-password-123"));
	int errors = 0;
	for (size_t i = 0; i < T.n_logs; i++) {
		assert_null(strstr(T.logs[i], "wrong-password-123"));
		if (strncmp(T.logs[i], "nexudus: Nexudus refused the password", 37) == 0)
			errors++;
	}
	assert_int_equal(errors, 1);

	/* The admin sets that password at Nexudus: after the pause porter asks
	 * once more, and everything flows again. */
	char users[256];
	snprintf(users, sizeof(users), "{\"users\": {\"%s\": \"wrong-password-123\"}}",
	         T.mock.user);
	mock_nexudus_ok(&T.mock, "POST", "/_control/config", users);
	run_until_count(&T.synced, 1, 20000);
	assert_int_equal(T.synced, 1);
	struct delivery d = change(9, "nx-c-11", true, wall_us());
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/token", 0), 2);
	assert_int_equal(b.diagnostics(b.impl, NULL, NULL), 0);
	stop_backend(&b);
}

static void test_a_reload_reads_the_credentials_again_and_syncs_at_once(void **state)
{
	set_password("wrong-password-123");
	struct backend b = start_backend(NULL); /* next sync in an hour, next ask in 15 min */
	struct delivery d = change(1, "nx-c-11", true, wall_us());
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_RETRY);
	assert_int_equal(b.diagnostics(b.impl, NULL, NULL), 2); /* D007, D008 */
	/* The admin fixes the file and reloads porter. */
	set_password(T.mock.password);
	assert_non_null(b.refresh);
	b.refresh(b.impl, NULL);
	run_until_count(&T.synced, 1, 20000);
	assert_int_equal(T.synced, 1);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	assert_int_equal(b.diagnostics(b.impl, NULL, NULL), 0);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/token", 0), 2);
	/* A reload with nothing changed still fetches the directory now. */
	b.refresh(b.impl, NULL);
	run_until_count(&T.synced, 2, 20000);
	assert_int_equal(T.synced, 2);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/token", 0), 2);
	stop_backend(&b);
}

static void test_a_cancelled_delivery_never_calls_back(void **state)
{
	struct backend b = start_backend(NULL);
	struct outcome o = {0};
	struct delivery d = change(1, "nx-c-11", true, wall_us());
	assert_int_equal(b.deliver(b.impl, &d, done_cb, &o), 0);
	b.cancel(b.impl);
	run_for(1500);
	assert_false(o.done);
	/* The next delivery goes through as usual. */
	d = change(2, "nx-c-12", true, wall_us());
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	stop_backend(&b);
}

/* ---- the sink ------------------------------------------------------------- */

static void
test_checkin_then_checkout_delivered_late_are_one_record_with_the_door_times(void **state)
{
	struct backend b = start_backend(NULL);
	int64_t in_at = wall_us() - 3 * 3600 * 1000000LL + 123000;
	int64_t out_at = wall_us() - 3600 * 1000000LL + 456000;
	struct delivery d = change(1, "nx-c-11", true, in_at);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	d = change(2, "nx-c-11", false, out_at);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	json_object *list = checkins_of(11);
	assert_int_equal(json_object_array_length(list), 1);
	json_object *c = json_object_array_get_idx(list, 0), *v;
	char want_in[40], want_out[40];
	iso_ms(in_at, want_in);
	iso_ms(out_at, want_out);
	assert_string_equal(field(c, "FromTime"), want_in);
	assert_string_equal(field(c, "ToTime"), want_out);
	assert_true(json_object_object_get_ex(c, "Source", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_true(json_object_object_get_ex(c, "BusinessId", &v));
	assert_int_equal(json_object_get_int(v), 1);
	json_object_put(list);
	/* The same changes again (a restart before the watermark was
	 * written): nothing new at Nexudus. */
	d = change(1, "nx-c-11", true, in_at);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	d = change(2, "nx-c-11", false, out_at);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	list = checkins_of(11);
	assert_int_equal(json_object_array_length(list), 1);
	json_object_put(list);
	assert_int_equal(throttled(), 0);
	stop_backend(&b);
}

static void test_a_reply_lost_after_the_write_makes_no_duplicate(void **state)
{
	struct backend b = start_backend(NULL);
	mock_nexudus_ok(&T.mock, "POST", "/_control/faults",
	                "{\"kind\": \"lost_reply\", \"method\": \"POST\", \"path\": "
	                "\"^/api/spaces/checkins$\"}");
	struct delivery d = change(1, "nx-c-12", true, wall_us());
	struct delivery_result r = deliver(&b, &d);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	json_object *list = checkins_of(12);
	assert_int_equal(json_object_array_length(list), 1);
	json_object_put(list);
	/* The check-out's reply is lost too: still one record, closed once. */
	mock_nexudus_ok(&T.mock, "POST", "/_control/faults",
	                "{\"kind\": \"lost_reply\", \"method\": \"PUT\"}");
	d = change(2, "nx-c-12", false, wall_us());
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_RETRY);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	list = checkins_of(12);
	assert_int_equal(json_object_array_length(list), 1);
	assert_non_null(field(json_object_array_get_idx(list, 0), "ToTime"));
	json_object_put(list);
	assert_int_equal(mock_nexudus_count(&T.mock, "PUT", "/api/spaces/checkins", 0), 1);
	stop_backend(&b);
}

static void test_a_409_retry_after_is_honoured(void **state)
{
	struct backend b = start_backend(NULL);
	run_until_count(&T.synced, 1, 20000);
	mock_nexudus_ok(&T.mock, "POST", "/_control/faults",
	                "{\"kind\": \"409\", \"retry_after\": 2, \"method\": \"POST\", \"path\": "
	                "\"^/api/spaces/checkins$\"}");
	struct delivery d = change(1, "nx-c-11", true, wall_us());
	struct delivery_result r = deliver(&b, &d);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_true(r.retry_after_us >= 2000000u);
	/* The pacer waits too: the next request leaves 2 s later at the
	 * earliest, whoever asks. */
	uint64_t t0 = host_loop_now_us(T.loop);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	assert_true(host_loop_now_us(T.loop) - t0 >= 1900000u);
	json_object *list = checkins_of(11);
	assert_int_equal(json_object_array_length(list), 1);
	json_object_put(list);
	stop_backend(&b);
}

static void burst(int n, double scale)
{
	char seed[64 * 1024];
	size_t o = (size_t)snprintf(seed, sizeof(seed), "{\"coworkers\": [");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(seed + o, sizeof(seed) - o,
		                      "%s{\"Id\": %d, \"FullName\": \"P%d\"}", i ? "," : "",
		                      100 + i, i);
	snprintf(seed + o, sizeof(seed) - o, "]}");
	mock_nexudus_ok(&T.mock, "POST", "/_control/seed", seed);
	struct backend b = start_backend(&(struct opts){.scale = scale, .presence_s = 1});
	int64_t now = wall_us();
	uint64_t t0 = host_loop_now_us(T.loop);
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "nx-c-%d", 100 + i);
		struct delivery d = change(1 + i, id, true, now + i);
		struct delivery_result r = deliver(&b, &d);
		if (r.outcome != DELIVERY_DELIVERED)
			fail_msg("delivery %d: %d %s", i, r.outcome, r.reason);
	}
	/* The write rate against the published 60 a minute (in the mock's
	 * scaled minutes); meaningful for n past a few minutes' budget. */
	double minutes = (double)(host_loop_now_us(T.loop) - t0) / 1e6 / (60.0 / scale);
	printf("burst: %d check-ins in %.2f (scaled) minutes: %.1f writes a minute, %.3f of the "
	       "published 60\n",
	       n, minutes, n / minutes, n / minutes / 60.0);
	assert_int_equal(throttled(), 0);
	assert_int_equal(mock_nexudus_count(&T.mock, "POST", "/api/spaces/checkins", 200), n);
	stop_backend(&b);
}

static void test_a_burst_at_the_published_limits_is_never_throttled(void **state)
{
	mock_setup(1.0);
	burst(30, 1.0);
}

static void test_a_burst_past_the_write_budget_waits_instead_of_409(void **state)
{
	/* 80 writes: more than a (scaled) minute's budget of 60. */
	const char *env = getenv("NEXUDUS_BURST"); /* "N SCALE": a longer measured drain */
	int n = 80;
	double scale = 20.0;
	if (env && sscanf(env, "%d %lf", &n, &scale) != 2)
		fail_msg("NEXUDUS_BURST: \"N SCALE\"");
	mock_setup(scale);
	burst(n, scale);
}

static void test_a_400_with_errors_is_rejected_with_the_reason(void **state)
{
	struct backend b = start_backend(NULL);
	struct delivery d = change(1, "nx-c-999999", true, wall_us());
	struct delivery_result r = deliver(&b, &d);
	assert_int_equal(r.outcome, DELIVERY_REJECTED);
	assert_non_null(strstr(r.reason, "CoworkerId"));
	assert_non_null(strstr(r.reason, "Coworker does not exist"));
	d = change(2, "member-7", true, wall_us());
	r = deliver(&b, &d);
	assert_int_equal(r.outcome, DELIVERY_REJECTED);
	assert_non_null(strstr(r.reason, "member-7"));
	stop_backend(&b);
}

static void test_500s_and_resets_are_retried(void **state)
{
	struct backend b = start_backend(NULL);
	mock_nexudus_ok(&T.mock, "POST", "/_control/faults",
	                "{\"kind\": \"500\", \"method\": \"POST\", \"path\": "
	                "\"^/api/spaces/checkins$\"}");
	struct delivery d = change(1, "nx-c-11", true, wall_us());
	struct delivery_result r = deliver(&b, &d);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_non_null(strstr(r.reason, "500"));
	mock_nexudus_ok(&T.mock, "POST", "/_control/faults",
	                "{\"kind\": \"reset\", \"method\": \"POST\", \"path\": "
	                "\"^/api/spaces/checkins$\"}");
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_RETRY);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	json_object *list = checkins_of(11);
	assert_int_equal(json_object_array_length(list), 1);
	json_object_put(list);
	stop_backend(&b);
}

static void test_a_visitor_is_marked_arrived_then_departed(void **state)
{
	char seed[512], at_in[40], at_out[40];
	int64_t in_at = wall_us() - 60 * 1000000LL, out_at = wall_us();
	iso_ms(in_at, at_in);
	iso_ms(out_at, at_out);
	snprintf(seed, sizeof(seed),
	         "{\"visitors\": [{\"Id\": 77, \"FullName\": \"Grace Hopper\", \"CoworkerId\": 11, "
	         "\"VisitorCode\": \"80808\", \"ExpectedArrival\": \"%s\"}]}",
	         at_in);
	mock_nexudus_ok(&T.mock, "POST", "/_control/seed", seed);
	struct backend b = start_backend(NULL);
	struct delivery d = change(1, "nx-v-77", true, in_at);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	json_object *v;
	assert_int_equal(mock_nexudus_call(&T.mock, "GET", "/_control/visitors/77", NULL, &v), 200);
	assert_string_equal(field(v, "Arrived"), "true");
	assert_string_equal(field(v, "ArrivalDate"), at_in);
	assert_string_equal(field(v, "FullName"), "Grace Hopper"); /* put back whole */
	assert_string_equal(field(v, "VisitorCode"), "80808");
	json_object_put(v);
	d = change(2, "nx-v-77", false, out_at);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	assert_int_equal(mock_nexudus_call(&T.mock, "GET", "/_control/visitors/77", NULL, &v), 200);
	assert_string_equal(field(v, "DepartureDate"), at_out);
	json_object_put(v);
	/* Again: nothing more is written. */
	int puts = mock_nexudus_count(&T.mock, "PUT", "/api/spaces/visitors", 0);
	assert_int_equal(deliver(&b, &d).outcome, DELIVERY_DELIVERED);
	assert_int_equal(mock_nexudus_count(&T.mock, "PUT", "/api/spaces/visitors", 0), puts);
	stop_backend(&b);
}

/* ---- directory sync -------------------------------------------------------- */

static const struct person *by_pin(const struct directory *dir, const char *pin)
{
	struct pin_hasher *h = pin_hasher_new(T.key);
	uint8_t hash[PIN_HASH_LEN];
	struct pin_match m;
	assert_int_equal(pin_hasher_hash(h, pin, strlen(pin), hash), 0);
	pin_hasher_free(h);
	directory_match_pin(dir, hash, &m);
	return m.n == 1 ? m.people[0] : NULL;
}

static struct directory *load_cache(void)
{
	struct directory *dir = NULL;
	char err[512];
	int r = directory_file_load(T.cache, &dir, err, sizeof(err));
	if (r < 0)
		fail_msg("directory_file_load: %d %s", r, err);
	return dir;
}

static void test_directory_sync_writes_a_cache_porter_loads_and_drops_removed_members(void **state)
{
	unlink(T.cache);
	struct backend b = start_backend(&(struct opts){.sync_s = 1});
	assert_string_equal(b.directory_path(b.impl), T.cache);
	run_until_count(&T.synced, 1, 20000);
	assert_int_equal(T.synced, 1);
	assert_true(T.synced_at > wall_us() - 60000000);
	struct directory *dir = load_cache();
	const struct person *p = by_pin(dir, "4711");
	assert_non_null(p);
	assert_string_equal(p->id, "nx-c-11");
	assert_string_equal(p->name, "Ada Lovelace");
	p = by_pin(dir, "52525");
	assert_non_null(p);
	assert_string_equal(p->id, "nx-c-12");
	directory_free(dir);
	/* No PIN in clear on disk. */
	char text[8192] = {0};
	FILE *f = fopen(T.cache, "r");
	assert_non_null(f);
	size_t got = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	assert_true(got > 0);
	assert_null(strstr(text, "4711"));

	/* Deleted at Nexudus: gone after the next sync. */
	mock_nexudus_ok(&T.mock, "DELETE", "/_control/coworkers/12", NULL);
	run_until_count(&T.synced, 2, 20000);
	assert_int_equal(T.synced, 2);
	dir = load_cache();
	assert_null(by_pin(dir, "52525"));
	assert_null(directory_find_id(dir, "nx-c-12"));
	assert_non_null(by_pin(dir, "4711"));
	directory_free(dir);
	assert_int_equal(throttled(), 0);
	stop_backend(&b);
}

static void test_a_failed_sync_keeps_the_last_good_cache_and_says_since_when(void **state)
{
	struct backend b = start_backend(&(struct opts){.sync_s = 1});
	run_until_count(&T.synced, 1, 20000);
	struct stat before, after;
	assert_int_equal(stat(T.cache, &before), 0);
	mock_nexudus_ok(&T.mock, "POST", "/_control/faults",
	                "{\"kind\": \"malformed\", \"method\": \"GET\", \"path\": "
	                "\"^/api/spaces/coworkers$\", \"count\": 100}");
	struct reports rs = {0};
	for (int i = 0; i < 200 && rs.n == 0; i++) {
		run_for(50);
		b.diagnostics(b.impl, collect_report, &rs);
	}
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.code[0], "PORTER-D008");
	assert_non_null(strstr(rs.message[0], "since"));
	assert_int_equal(T.synced, 1);
	assert_int_equal(stat(T.cache, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	struct directory *dir = load_cache();
	assert_non_null(by_pin(dir, "4711"));
	directory_free(dir);
	assert_true(logs_contain("directory sync failed"));
	/* Back to normal: the next sync works and the report goes. */
	mock_nexudus_ok(&T.mock, "DELETE", "/_control/faults", NULL);
	run_until_count(&T.synced, 2, 20000);
	assert_int_equal(T.synced, 2);
	rs.n = 0;
	assert_int_equal(b.diagnostics(b.impl, collect_report, &rs), 0);
	stop_backend(&b);
}

/* ---- presence made elsewhere ------------------------------------------------ */

static void test_checkins_made_elsewhere_are_learned(void **state)
{
	char seed[256], from[40];
	int64_t from_us = wall_us() - 600 * 1000000LL;
	iso_ms(from_us, from);
	snprintf(seed, sizeof(seed),
	         "{\"checkins\": [{\"Id\": 500, \"BusinessId\": 1, \"CoworkerId\": 12, "
	         "\"FromTime\": \"%s\", \"ToTime\": null, \"Source\": 1}]}",
	         from);
	mock_nexudus_ok(&T.mock, "POST", "/_control/seed", seed);
	struct backend b = start_backend(&(struct opts){.presence_s = 1});
	run_until_count(&T.learned, 1, 20000);
	assert_int_equal(T.learned, 1);
	assert_string_equal(T.learned_id, "nx-c-12");
	assert_true(T.learned_in);
	assert_int_equal(T.learned_at / 1000000, from_us / 1000000);
	/* Checked out at reception: learned at the next poll. */
	char body[128], to[40];
	int64_t to_us = wall_us();
	iso_ms(to_us, to);
	snprintf(body, sizeof(body), "{\"ToTime\": \"%s\"}", to);
	int before = T.learned;
	run_for(1100); /* the UpdatedOn of the change is after the first poll */
	mock_nexudus_ok(&T.mock, "POST", "/_control/checkins/500", body);
	for (int i = 0; i < 100 && (T.learned == before || T.learned_in); i++)
		run_for(50);
	assert_string_equal(T.learned_id, "nx-c-12");
	assert_false(T.learned_in);
	assert_int_equal(T.learned_at / 1000000, to_us / 1000000);
	assert_int_equal(throttled(), 0);
	stop_backend(&b);
}

static void test_a_credentials_file_others_can_read_is_refused(void **state)
{
	struct backend b;
	char err[512];
	chmod(T.creds, 0644);
	struct nexudus_options no = {.base_url = T.mock.url,
	                             .business_id = 1,
	                             .credentials_file = T.creds,
	                             .ca_file = T.mock.ca,
	                             .cache_path = T.cache,
	                             .pin_min_length = 4,
	                             .pin_max_length = 8,
	                             .day = &T.day,
	                             .wall_clock_us = wall_us};
	assert_int_equal(
	        nexudus_backend_new(host_loop_services(T.loop), &no, &core, &b, err, sizeof(err)),
	        -EPERM);
	assert_non_null(strstr(err, T.creds));
	assert_null(strstr(err, T.mock.password));
	chmod(T.creds, 0600);
}

static int group_setup(void **state)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mock_nexudus_start(&T.mock) < 0)
		return -1;
	snprintf(T.dir, sizeof(T.dir), "/tmp/porter-nexudus-XXXXXX");
	if (!mkdtemp(T.dir))
		return -1;
	snprintf(T.creds, sizeof(T.creds), "%s/credentials", T.dir);
	snprintf(T.cache, sizeof(T.cache), "%s/directory.json", T.dir);
	for (size_t i = 0; i < PIN_KEY_LEN; i++)
		T.key[i] = (uint8_t)(i * 7 + 3);
	char err[256];
	if (cutoff_parse_zone("UTC", &T.day, err, sizeof(err)) < 0)
		return -1;
	T.day.minute_of_day = 0;
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
	        cmocka_unit_test_setup(test_token_is_granted_once_then_refreshed_with_the_client_id,
	                               setup),
	        cmocka_unit_test_setup(test_401_refreshes_the_token_and_asks_again_once, setup),
	        cmocka_unit_test_setup(test_a_bad_password_is_one_clear_error_not_a_storm, setup),
	        cmocka_unit_test_setup(test_a_reload_reads_the_credentials_again_and_syncs_at_once,
	                               setup),
	        cmocka_unit_test_setup(test_a_cancelled_delivery_never_calls_back, setup),
	        cmocka_unit_test_setup(
	                test_checkin_then_checkout_delivered_late_are_one_record_with_the_door_times,
	                setup),
	        cmocka_unit_test_setup(test_a_reply_lost_after_the_write_makes_no_duplicate, setup),
	        cmocka_unit_test_setup(test_a_409_retry_after_is_honoured, setup),
	        cmocka_unit_test(test_a_burst_at_the_published_limits_is_never_throttled),
	        cmocka_unit_test(test_a_burst_past_the_write_budget_waits_instead_of_409),
	        cmocka_unit_test_setup(test_a_400_with_errors_is_rejected_with_the_reason, setup),
	        cmocka_unit_test_setup(test_500s_and_resets_are_retried, setup),
	        cmocka_unit_test_setup(test_a_visitor_is_marked_arrived_then_departed, setup),
	        cmocka_unit_test_setup(
	                test_directory_sync_writes_a_cache_porter_loads_and_drops_removed_members,
	                setup),
	        cmocka_unit_test_setup(
	                test_a_failed_sync_keeps_the_last_good_cache_and_says_since_when, setup),
	        cmocka_unit_test_setup(test_checkins_made_elsewhere_are_learned, setup),
	        cmocka_unit_test_setup(test_a_credentials_file_others_can_read_is_refused, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
