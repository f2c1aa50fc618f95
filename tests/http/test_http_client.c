/* SPDX-License-Identifier: MIT */
/*
 * test_http_client.c: drivers/http/http_client against real libcurl over
 * real TLS on loopback (tests/http/https_fixture.py, a throwaway CA), driven
 * by the reference host loop (examples/host_loop.c: epoll, timerfd).
 *
 * The services table the client gets wraps the loop's watches and timers so
 * every callback into the client is timed; the last test asserts that none
 * held the loop thread long.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "host_loop.h"
#include "http_client.h"
#include "https_fixture.h"

/* ---- a timed host ------------------------------------------------------- */

struct tramp {
	bool used, timer;
	int64_t id;
	porter_io_fn io;
	porter_timer_fn fire;
	void *userdata;
};

static struct {
	struct https_fixture fx;
	struct host_loop *loop;
	struct porter_host_services svc;
	struct tramp tramps[512];
	uint64_t max_cb_us, max_cpu_us;
	uint64_t n_cb;
	uint64_t n_timer_add; /* host timers the client asked for */
	char logs[64][512];
	size_t n_logs;
	/* Clients a test has not freed yet: a failed assertion leaves its test
	 * early, and free_leftovers frees them, so the next test starts on an
	 * empty loop instead of failing for the one before. */
	struct http_client *open[4];
} T;

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Wall time includes being preempted on a busy machine; the loop thread's
 * CPU time is what the client itself costs (a callback that waited on
 * something would show wall time, not CPU time, so both are kept). */
struct stamp {
	uint64_t wall, cpu;
};

static struct stamp stamp_now(void)
{
	return (struct stamp){mono_us(), thread_cpu_us()};
}

static void timed(struct stamp t0)
{
	uint64_t wall = mono_us() - t0.wall, cpu = thread_cpu_us() - t0.cpu;
	if (wall > T.max_cb_us)
		T.max_cb_us = wall;
	if (cpu > T.max_cpu_us)
		T.max_cpu_us = cpu;
	T.n_cb++;
	if (getenv("HTTP_SLOW_CB") && wall > 2000)
		printf("slow callback: %llu us (cpu %llu us)\n", (unsigned long long)wall,
		       (unsigned long long)cpu);
}

static struct tramp *tramp_new(void)
{
	for (size_t i = 0; i < sizeof(T.tramps) / sizeof(T.tramps[0]); i++)
		if (!T.tramps[i].used) {
			T.tramps[i] = (struct tramp){.used = true};
			return &T.tramps[i];
		}
	return NULL;
}

static void tramp_drop(int64_t id)
{
	for (size_t i = 0; i < sizeof(T.tramps) / sizeof(T.tramps[0]); i++)
		if (T.tramps[i].used && T.tramps[i].id == id)
			T.tramps[i].used = false;
}

static void tramp_io(void *userdata, int fd, uint32_t revents)
{
	struct tramp *t = userdata;
	struct stamp t0 = stamp_now();
	t->io(t->userdata, fd, revents);
	timed(t0);
}

static void tramp_timer(void *userdata)
{
	struct tramp *t = userdata;
	porter_timer_fn fire = t->fire;
	void *ud = t->userdata;
	struct stamp t0 = stamp_now();
	t->used = false; /* fired: its id is gone */
	fire(ud);
	timed(t0);
}

static int64_t svc_watch_add(void *host, int fd, uint32_t events, porter_io_fn cb, void *ud)
{
	struct tramp *t = tramp_new();
	if (!t)
		return -ENOMEM;
	t->io = cb;
	t->userdata = ud;
	t->id = host_loop_watch_add(host, fd, events, tramp_io, t);
	if (t->id < 0)
		t->used = false;
	return t->id;
}

static void svc_watch_remove(void *host, int64_t id)
{
	host_loop_watch_remove(host, id);
	tramp_drop(id);
}

static int64_t svc_timer_add(void *host, uint64_t delay_us, porter_timer_fn cb, void *ud)
{
	struct tramp *t = tramp_new();
	T.n_timer_add++;
	if (!t)
		return -ENOMEM;
	t->timer = true;
	t->fire = cb;
	t->userdata = ud;
	t->id = host_loop_timer_add(host, delay_us, tramp_timer, t);
	if (t->id < 0)
		t->used = false;
	return t->id;
}

static void svc_timer_remove(void *host, int64_t id)
{
	host_loop_timer_remove(host, id);
	tramp_drop(id);
}

static void svc_log(void *host, uint32_t level, const char *message)
{
	if (T.n_logs < 64)
		snprintf(T.logs[T.n_logs++], sizeof(T.logs[0]), "%s", message);
}

static bool logged(const char *needle)
{
	for (size_t i = 0; i < T.n_logs; i++)
		if (strstr(T.logs[i], needle))
			return true;
	return false;
}

static size_t live_tramps(void)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(T.tramps) / sizeof(T.tramps[0]); i++)
		n += T.tramps[i].used;
	return n;
}

/* ---- results ------------------------------------------------------------ */

struct result {
	int calls;
	long status;
	int curl;
	uint32_t outcome;
	bool too_large;
	char error[256];
	char body[16384];
	size_t body_len;
	int64_t retry_after;
};

static void on_done(void *userdata, const struct http_response *r)
{
	struct result *res = userdata;
	res->calls++;
	res->status = r->status;
	res->curl = r->curl_result;
	res->outcome = r->outcome;
	res->too_large = r->too_large;
	res->retry_after = r->retry_after_s;
	snprintf(res->error, sizeof(res->error), "%s", r->error);
	res->body_len = r->body_len;
	snprintf(res->body, sizeof(res->body), "%.*s", (int)r->body_len, r->body);
	assert_int_equal(r->ambiguous, r->outcome == HTTP_FAIL_AMBIGUOUS);
}

/* Run the loop until every result got its callback or `ms` passed. */
static void run_until(struct result *res, size_t n, int ms)
{
	uint64_t end = mono_us() + (uint64_t)ms * 1000u;
	for (;;) {
		size_t done = 0;
		for (size_t i = 0; i < n; i++)
			done += res[i].calls > 0;
		if ((n && done == n) || mono_us() >= end)
			return;
		host_loop_run_once(T.loop, 20);
	}
}

static void run_for(int ms)
{
	run_until(NULL, 0, ms);
}

static char url_buf[512];

static const char *url(const char *path)
{
	snprintf(url_buf, sizeof(url_buf), "%s%s", T.fx.base, path);
	return url_buf;
}

static struct http_client *client_with(const struct http_client_options *o)
{
	struct http_client *c = NULL;
	assert_int_equal(http_client_new(&T.svc, o, &c), 0);
	for (size_t i = 0; i < sizeof(T.open) / sizeof(T.open[0]); i++)
		if (!T.open[i]) {
			T.open[i] = c;
			break;
		}
	return c;
}

static void forget_client(struct http_client *c)
{
	for (size_t i = 0; i < sizeof(T.open) / sizeof(T.open[0]); i++)
		if (T.open[i] == c)
			T.open[i] = NULL;
}

static struct http_client *client(void)
{
	struct http_client_options o = {.ca_file = T.fx.ca, .keep_alive = true};
	return client_with(&o);
}

/* Every client leaves the loop as it found it. */
static void client_done(struct http_client *c)
{
	forget_client(c);
	assert_null(http_client_free(c));
	assert_int_equal(host_loop_n_watches(T.loop), 0);
	assert_int_equal(host_loop_n_timers(T.loop), 0);
	assert_int_equal(live_tramps(), 0);
}

static void fetch(struct http_client *c, const char *method, const char *path, const char *body,
                  const char *const *headers, struct result *res)
{
	struct http_request rq = {.method = method,
	                          .url = url(path),
	                          .headers = headers,
	                          .body = body,
	                          .body_len = body ? strlen(body) : 0};
	memset(res, 0, sizeof(*res));
	assert_int_equal(http_client_request(c, &rq, on_done, res, NULL), 0);
	run_until(res, 1, 10000);
	assert_int_equal(res->calls, 1);
}

/* ---- fixture ------------------------------------------------------------ */

static int group_setup(void **state)
{
	if (https_fixture_start(&T.fx) < 0)
		return -1;
	T.loop = host_loop_new(NULL);
	if (!T.loop)
		return -1;
	T.svc = *host_loop_services(T.loop);
	T.svc.log = svc_log;
	T.svc.watch_add = svc_watch_add;
	T.svc.watch_remove = svc_watch_remove;
	T.svc.timer_add = svc_timer_add;
	T.svc.timer_remove = svc_timer_remove;
	return 0;
}

static int group_teardown(void **state)
{
	host_loop_free(T.loop);
	https_fixture_stop(&T.fx);
	return 0;
}

static int reset_logs(void **state)
{
	T.n_logs = 0;
	return 0;
}

static int free_leftovers(void **state)
{
	for (size_t i = 0; i < sizeof(T.open) / sizeof(T.open[0]); i++)
		if (T.open[i]) {
			http_client_free(T.open[i]);
			T.open[i] = NULL;
		}
	return 0;
}

/* ---- the cases ---------------------------------------------------------- */

static void test_host_without_fd_watches_is_refused(void **state)
{
	struct porter_host_services svc = T.svc;
	struct http_client_options o = {.ca_file = T.fx.ca};
	struct http_client *c = (struct http_client *)&svc; /* must be reset to NULL */

	svc.watch_add = NULL;
	assert_int_equal(http_client_new(&svc, &o, &c), -EINVAL);
	assert_null(c);
	assert_true(logged("lack watch_add"));
}

static void test_bad_options_are_refused_with_a_reason(void **state)
{
	struct http_client_options o = {.ca_file = "/nonexistent/ca.pem"};
	struct http_client *c = NULL;

	assert_int_equal(http_client_new(&T.svc, &o, &c), -EIO);
	assert_true(logged("cannot read the CA bundle /nonexistent/ca.pem"));
	char not_pem[256];
	snprintf(not_pem, sizeof(not_pem), "%s/pin", T.fx.dir);
	o.ca_file = not_pem;
	assert_int_equal(http_client_new(&T.svc, &o, &c), -EINVAL);
	assert_true(logged("holds no PEM certificate"));
	o.ca_file = T.fx.ca;
	o.pinned_keys = "sha256//short";
	assert_int_equal(http_client_new(&T.svc, &o, &c), -EINVAL);
	assert_true(logged("pinned keys must be"));
}

static void test_get_post_put_with_bodies_and_headers(void **state)
{
	struct http_client *c = client();
	const char *const headers[] = {"X-Porter-Test: yes", "Content-Type: application/json",
	                               NULL};
	struct result res;

	fetch(c, "GET", "/echo", NULL, headers, &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.outcome, HTTP_OK);
	assert_string_equal(res.error, "");
	assert_non_null(strstr(res.body, "\"method\": \"GET\""));
	assert_non_null(strstr(res.body, "\"x-porter-test\": \"yes\""));

	fetch(c, "POST", "/echo?status=201", "{\"member\": 42}", headers, &res);
	assert_int_equal(res.status, 201);
	assert_non_null(strstr(res.body, "\"method\": \"POST\""));
	assert_non_null(strstr(res.body, "\"body\": \"{\\\"member\\\": 42}\""));
	assert_non_null(strstr(res.body, "\"content-type\": \"application/json\""));

	fetch(c, "PUT", "/echo", "put-body", NULL, &res);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.body, "\"method\": \"PUT\""));
	assert_non_null(strstr(res.body, "\"body\": \"put-body\""));
	client_done(c);
}

static void test_request_body_is_copied(void **state)
{
	struct http_client *c = client();
	char body[] = "original";
	struct http_request rq = {
	        .method = "POST", .url = url("/echo"), .body = body, .body_len = strlen(body)};
	struct result res = {0};

	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	memset(body, 'X', strlen(body)); /* the caller's buffer is gone */
	run_until(&res, 1, 10000);
	assert_non_null(strstr(res.body, "\"body\": \"original\""));
	client_done(c);
}

static void test_wrong_ca_is_a_verification_failure_not_ambiguous(void **state)
{
	struct http_client_options o = {.ca_file = T.fx.other_ca};
	struct http_client *c = client_with(&o);
	struct result res;

	fetch(c, "POST", "/echo", "x", NULL, &res);
	assert_int_equal(res.curl, CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(res.outcome, HTTP_FAIL_NOT_SENT);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.error, "(not sent)"));
	client_done(c);
}

static void test_without_a_ca_file_the_system_bundle_is_used(void **state)
{
	struct http_client_options o = {.ca_file = NULL};
	struct http_client *c = client_with(&o);
	struct result res;

	/* The throwaway CA is not in the system's bundle. */
	fetch(c, "GET", "/echo", NULL, NULL, &res);
	assert_int_equal(res.curl, CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(res.outcome, HTTP_FAIL_NOT_SENT);
	client_done(c);
}

static void test_backup_pin_matches(void **state)
{
	char pins[300];
	snprintf(pins, sizeof(pins), "%s;%s", T.fx.other_pin, T.fx.pin);
	struct http_client_options o = {.ca_file = T.fx.ca, .pinned_keys = pins};
	struct http_client *c = client_with(&o);
	struct result res;

	fetch(c, "GET", "/echo", NULL, NULL, &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.outcome, HTTP_OK);
	client_done(c);
}

static void test_pin_mismatch_is_refused_not_ambiguous(void **state)
{
	struct http_client_options o = {.ca_file = T.fx.ca, .pinned_keys = T.fx.other_pin};
	struct http_client *c = client_with(&o);
	struct result res;

	fetch(c, "POST", "/echo", "x", NULL, &res);
	assert_int_equal(res.curl, CURLE_SSL_PINNEDPUBKEYNOTMATCH);
	assert_int_equal(res.outcome, HTTP_FAIL_NOT_SENT);
	client_done(c);
}

static void test_reset_after_the_request_is_ambiguous(void **state)
{
	struct http_client *c = client();
	const char *const headers[] = {"Authorization: Bearer s3cr3t-t0ken", NULL};
	struct result res;

	fetch(c, "POST", "/reset", "{\"pin_hash\": \"b0dy-s3cret\"}", headers, &res);
	assert_int_equal(res.outcome, HTTP_FAIL_AMBIGUOUS);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.error, "may have arrived"));
	assert_null(strstr(res.error, "s3cr3t"));
	assert_null(strstr(res.error, "b0dy"));
	for (size_t i = 0; i < T.n_logs; i++)
		assert_null(strstr(T.logs[i], "s3cr3t"));
	client_done(c);
}

static void test_server_slower_than_the_timeout_is_ambiguous(void **state)
{
	struct http_client *c = client();
	struct http_request rq = {.method = "POST",
	                          .url = url("/slow?ms=6000"),
	                          .body = "x",
	                          .body_len = 1,
	                          .timeout_ms = 1500};
	struct result res = {0};
	uint64_t t0 = mono_us();

	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 8000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.curl, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(res.outcome, HTTP_FAIL_AMBIGUOUS);
	assert_true(mono_us() - t0 < 5000000u);
	client_done(c);
}

static void test_connect_refused_is_not_ambiguous(void **state)
{
	struct http_client *c = client();
	char u[64];
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/echo", https_fixture_closed_port());
	struct http_request rq = {.method = "POST", .url = u, .body = "x", .body_len = 1};
	struct result res = {0};

	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 5000);
	assert_int_equal(res.curl, CURLE_COULDNT_CONNECT);
	assert_int_equal(res.outcome, HTTP_FAIL_NOT_SENT);
	client_done(c);
}

static void test_oversized_response_is_aborted(void **state)
{
	struct http_client_options o = {.ca_file = T.fx.ca, .max_response_bytes = 1000};
	struct http_client *c = client_with(&o);
	struct result res;

	fetch(c, "GET", "/big?n=1000", NULL, NULL, &res);
	assert_int_equal(res.outcome, HTTP_OK);
	assert_int_equal(res.body_len, 1000);

	/* Announced by Content-Length: refused before the body is read. */
	fetch(c, "GET", "/big?n=5000", NULL, NULL, &res);
	assert_true(res.too_large);
	assert_int_not_equal(res.outcome, HTTP_OK);
	assert_non_null(strstr(res.error, "response larger than 1000 bytes"));

	/* Not announced: cut off while it streams in, never buffered past the cap. */
	fetch(c, "GET", "/stream?n=200000", NULL, NULL, &res);
	assert_true(res.too_large);
	assert_int_equal(res.outcome, HTTP_FAIL_AMBIGUOUS);
	assert_true(res.body_len <= 1000);

	/* A request may set its own cap, either way. */
	struct http_request rq = {
	        .method = "GET", .url = url("/big?n=5000"), .max_response_bytes = 8000};
	memset(&res, 0, sizeof(res));
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 10000);
	assert_int_equal(res.outcome, HTTP_OK);
	assert_int_equal(res.body_len, 5000);
	rq.url = url("/big?n=600");
	rq.max_response_bytes = 500;
	memset(&res, 0, sizeof(res));
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 10000);
	assert_true(res.too_large);
	assert_non_null(strstr(res.error, "response larger than 500 bytes"));
	client_done(c);
}

static void test_retry_after_in_seconds_and_as_a_date(void **state)
{
	struct http_client *c = client();
	struct result res;
	char path[128], date[64];
	time_t later = time(NULL) + 300;
	struct tm tm;

	fetch(c, "POST", "/retry?after=120", "x", NULL, &res);
	assert_int_equal(res.status, 409);
	assert_int_equal(res.retry_after, 120);

	strftime(date, sizeof(date), "%a,+%d+%b+%Y+%H:%M:%S+GMT", gmtime_r(&later, &tm));
	snprintf(path, sizeof(path), "/retry?status=503&after=%s", date);
	fetch(c, "GET", path, NULL, NULL, &res);
	assert_int_equal(res.status, 503);
	assert_in_range(res.retry_after, 295, 300);

	fetch(c, "GET", "/echo", NULL, NULL, &res);
	assert_int_equal(res.retry_after, -1);
	client_done(c);

	assert_int_equal(http_parse_retry_after("soon", 0), -1);
	assert_int_equal(http_parse_retry_after("12x", 0), -1);
	assert_int_equal(http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480), 0);
	assert_int_equal(http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10);
}

static long conn_of(const struct result *res)
{
	const char *p = strstr(res->body, "\"conn\": ");
	return p ? strtol(p + 8, NULL, 10) : -1;
}

static void test_keep_alive_reuses_one_connection(void **state)
{
	struct http_client *c = client();
	struct result res;
	long first;

	fetch(c, "GET", "/echo", NULL, NULL, &res);
	first = conn_of(&res);
	for (int i = 0; i < 5; i++) {
		fetch(c, "POST", "/echo", "again", NULL, &res);
		assert_int_equal(conn_of(&res), first);
	}
	client_done(c);

	/* Without keep-alive every request is a new TCP connection. */
	struct http_client_options o = {.ca_file = T.fx.ca, .keep_alive = false};
	c = client_with(&o);
	fetch(c, "GET", "/echo", NULL, NULL, &res);
	first = conn_of(&res);
	for (int i = 1; i <= 3; i++) {
		fetch(c, "GET", "/echo", NULL, NULL, &res);
		assert_int_equal(conn_of(&res), first + i);
	}
	client_done(c);
}

static long conns_of(const struct result *res)
{
	const char *p = strstr(res->body, "\"conns\": ");
	return p ? strtol(p + 9, NULL, 10) : -1;
}

static long count_of(const struct result *res)
{
	const char *p = strstr(res->body, "\"count\": ");
	return p ? strtol(p + 9, NULL, 10) : -1;
}

static long server_count(struct http_client *c, const char *key)
{
	char path[64];
	struct result res;

	snprintf(path, sizeof(path), "/count?key=%s", key);
	fetch(c, "GET", path, NULL, NULL, &res);
	assert_int_equal(res.status, 200);
	return count_of(&res);
}

/* The server applies a write, then the connection dies before the answer
 * (/apply-once). On a reused kept-alive connection libcurl would send the
 * write again by itself on a new one: the control case shows the hazard
 * (two applied); with never_resend the write is applied once and the caller
 * hears an ambiguous failure it can resolve (look before writing again). */
static void test_never_resend_sends_a_write_once_when_the_answer_is_lost(void **state)
{
	struct http_client *c = client();
	struct result res;

	fetch(c, "GET", "/echo", NULL, NULL, &res); /* a kept-alive connection */
	long warm = conn_of(&res);
	fetch(c, "POST", "/apply-once?key=plain", "{\"checkin\": 1}", NULL, &res);
	assert_int_equal(res.status, 200); /* libcurl sent it again */
	assert_int_equal(server_count(c, "plain"), 2);

	fetch(c, "GET", "/echo", NULL, NULL, &res);
	warm = conn_of(&res);
	struct http_request rq = {.method = "POST",
	                          .url = url("/apply-once?key=once"),
	                          .body = "{\"checkin\": 2}",
	                          .body_len = 14,
	                          .never_resend = true};
	memset(&res, 0, sizeof(res));
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 10000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.outcome, HTTP_FAIL_AMBIGUOUS);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.error, "may have arrived"));
	run_for(200); /* anything libcurl might still send would land now */
	assert_int_equal(server_count(c, "once"), 1);

	/* On a healthy server it simply works, on a connection of its own,
	 * which later requests may reuse. */
	rq.url = url("/echo");
	memset(&res, 0, sizeof(res));
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 10000);
	assert_int_equal(res.status, 200);
	assert_true(conn_of(&res) > warm);
	long conns = conns_of(&res);
	fetch(c, "GET", "/echo", NULL, NULL, &res);
	fetch(c, "GET", "/echo", NULL, NULL, &res);
	assert_int_equal(conns_of(&res), conns); /* no new connection */
	client_done(c);
}

/* libcurl moves its deadline several times per request; each host timer
 * added or removed may be a system call (timerfd_settime on the reference
 * host), which made up the largest single cost of a webhook delivery. One
 * request after another on a kept-alive connection arms the host timer
 * rarely, not once or more per request. */
static void test_requests_in_a_row_rarely_arm_a_host_timer(void **state)
{
	struct http_client *c = client();
	struct result res;

	fetch(c, "GET", "/echo", NULL, NULL, &res); /* connect */
	uint64_t before = T.n_timer_add;
	for (int i = 0; i < 20; i++) {
		fetch(c, "POST", "/echo", "{\"seq\": 1}", NULL, &res);
		assert_int_equal(res.status, 200);
	}
	printf("http_client: 20 requests armed %llu host timers\n",
	       (unsigned long long)(T.n_timer_add - before));
	/* At most one per request (a transfer that ends inside the request
	 * call is handed over from a zero timer) and one to follow libcurl's
	 * deadline; before, two or more per request (37 here). */
	assert_true(T.n_timer_add - before <= 20 + 1);
	client_done(c);
}

static void test_cancel_before_the_response(void **state)
{
	struct http_client *c = client();
	struct http_request rq = {.method = "GET", .url = url("/slow?ms=300")};
	struct result res = {0};
	uint64_t id = 0;

	assert_int_equal(http_client_request(c, &rq, on_done, &res, &id), 0);
	run_for(100);
	assert_int_equal(http_client_cancel(c, id), 0);
	assert_int_equal(http_client_pending(c), 0);
	run_for(600);
	assert_int_equal(res.calls, 0);
	assert_int_equal(http_client_cancel(c, id), -ENOENT);
	client_done(c);
}

static void test_cancel_after_the_response_is_harmless(void **state)
{
	struct http_client *c = client();
	struct http_request rq = {.method = "GET", .url = url("/echo")};
	struct result res = {0};
	uint64_t id = 0;

	assert_int_equal(http_client_request(c, &rq, on_done, &res, &id), 0);
	run_until(&res, 1, 5000);
	assert_int_equal(http_client_cancel(c, id), -ENOENT);
	run_for(50);
	assert_int_equal(res.calls, 1);
	client_done(c);
}

static void test_free_with_requests_in_flight(void **state)
{
	struct http_client *c = client();
	struct http_request slow = {
	        .method = "POST", .url = url("/slow?ms=500"), .body = "x", .body_len = 1};
	struct result res[3] = {0};

	for (int i = 0; i < 3; i++)
		assert_int_equal(http_client_request(c, &slow, on_done, &res[i], NULL), 0);
	run_for(100);
	assert_int_equal(http_client_pending(c), 3);
	client_done(c); /* no watch, no timer left */
	run_for(700);
	for (int i = 0; i < 3; i++)
		assert_int_equal(res[i].calls, 0);
}

struct free_from_callback {
	struct http_client *client;
	struct result other;
	int calls;
};

static void free_in_callback(void *userdata, const struct http_response *r)
{
	struct free_from_callback *f = userdata;
	f->calls++;
	forget_client(f->client);
	f->client = http_client_free(f->client);
}

static void test_free_from_inside_a_callback(void **state)
{
	struct free_from_callback f = {.client = client()};
	char fast_url[128], slow_url[128];
	snprintf(fast_url, sizeof(fast_url), "%s/echo", T.fx.base);
	snprintf(slow_url, sizeof(slow_url), "%s/slow?ms=3000", T.fx.base);
	struct http_request fast = {.method = "GET", .url = fast_url};
	struct http_request slow = {.method = "GET", .url = slow_url};

	assert_int_equal(http_client_request(f.client, &slow, on_done, &f.other, NULL), 0);
	assert_int_equal(http_client_request(f.client, &fast, free_in_callback, &f, NULL), 0);
	for (int i = 0; i < 500 && f.calls == 0; i++)
		host_loop_run_once(T.loop, 20);
	assert_int_equal(f.calls, 1);
	assert_null(f.client);
	run_for(500);
	assert_int_equal(f.other.calls, 0);
	assert_int_equal(host_loop_n_watches(T.loop), 0);
	assert_int_equal(host_loop_n_timers(T.loop), 0);
}

static void test_host_names_resolve_without_blocking(void **state)
{
	struct http_client *c = client();
	struct result res;
	char path[64];

	assert_true(http_client_resolver_async(c));
	snprintf(path, sizeof(path), "https://localhost:%d/echo", T.fx.port);
	struct http_request rq = {.method = "GET", .url = path};
	memset(&res, 0, sizeof(res));
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 5000);
	assert_int_equal(res.status, 200);
	client_done(c);
}

static void test_blocking_resolver_takes_only_ip_literals(void **state)
{
	struct http_client *c = client();
	struct result res = {0};
	char name[64], v6[64];

	http_client_test_force_blocking_resolver(c);
	snprintf(name, sizeof(name), "https://localhost:%d/echo", T.fx.port);
	struct http_request rq = {.method = "GET", .url = name};
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), -EINVAL);
	assert_true(logged("host localhost is a name"));
	assert_true(logged("use an IP address"));

	/* An IPv6 literal is an address too (nothing listens there: refused). */
	snprintf(v6, sizeof(v6), "https://[::1]:%d/echo", https_fixture_closed_port());
	rq.url = v6;
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	run_until(&res, 1, 5000);
	assert_int_equal(res.outcome, HTTP_FAIL_NOT_SENT);

	fetch(c, "GET", "/echo", NULL, NULL, &res);
	assert_int_equal(res.status, 200);
	client_done(c);
}

static void test_bad_requests_are_refused_with_a_reason(void **state)
{
	struct http_client *c = client();
	struct result res = {0};
	struct http_request rq = {.method = "GET", .url = "http://127.0.0.1/echo"};

	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), -EINVAL);
	assert_true(logged("only https:// URLs"));
	rq.url = url("/echo");
	rq.method = "TRACE";
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), -EINVAL);
	assert_true(logged("method must be"));
	rq.method = "GET";
	rq.body = "x";
	rq.body_len = 1;
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), -EINVAL);
	assert_true(logged("GET takes no body"));
	rq.url = "not a url";
	rq.body = NULL;
	rq.body_len = 0;
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), -EINVAL);
	assert_true(logged("URL cannot be read"));
	run_for(50);
	assert_int_equal(res.calls, 0);
	client_done(c);
}

static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");
	return preload && strstr(preload, "vgpreload");
}

/* Last: over everything above, no watch or timer callback into the client
 * held the loop thread long. The bound is on the loop thread's CPU time in
 * the callback, generous (a TLS handshake's crypto runs there: a few ms, the
 * process's first one more while OpenSSL fills its caches); wall time is
 * printed beside it. Under valgrind everything runs some 30 times slower:
 * the figures are printed, not held to the bound. */
static void test_no_callback_holds_the_loop(void **state)
{
	printf("http_client: %llu watch/timer callbacks; the longest took %llu us of CPU, "
	       "%llu us of wall time\n",
	       (unsigned long long)T.n_cb, (unsigned long long)T.max_cpu_us,
	       (unsigned long long)T.max_cb_us);
	assert_true(T.n_cb > 50);
	if (!under_valgrind())
		assert_true(T.max_cpu_us < 50000u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_host_without_fd_watches_is_refused, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(test_bad_options_are_refused_with_a_reason,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_get_post_put_with_bodies_and_headers,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_request_body_is_copied, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(
	                test_wrong_ca_is_a_verification_failure_not_ambiguous, reset_logs,
	                free_leftovers),
	        cmocka_unit_test_setup_teardown(test_without_a_ca_file_the_system_bundle_is_used,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_backup_pin_matches, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(test_pin_mismatch_is_refused_not_ambiguous,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_reset_after_the_request_is_ambiguous,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_server_slower_than_the_timeout_is_ambiguous,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_connect_refused_is_not_ambiguous, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(test_oversized_response_is_aborted, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(test_retry_after_in_seconds_and_as_a_date,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_keep_alive_reuses_one_connection, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(
	                test_never_resend_sends_a_write_once_when_the_answer_is_lost, reset_logs,
	                free_leftovers),
	        cmocka_unit_test_setup_teardown(test_requests_in_a_row_rarely_arm_a_host_timer,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_cancel_before_the_response, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(test_cancel_after_the_response_is_harmless,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_free_with_requests_in_flight, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(test_free_from_inside_a_callback, reset_logs,
	                                        free_leftovers),
	        cmocka_unit_test_setup_teardown(test_host_names_resolve_without_blocking,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_blocking_resolver_takes_only_ip_literals,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test_setup_teardown(test_bad_requests_are_refused_with_a_reason,
	                                        reset_logs, free_leftovers),
	        cmocka_unit_test(test_no_callback_holds_the_loop),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
