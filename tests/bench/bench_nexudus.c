/* SPDX-License-Identifier: MIT */
/*
 * bench_nexudus.c: how close porter's Nexudus backend drains a backlog to
 * Nexudus's published write budget (60 check-in writes a minute) without
 * ever being throttled. Not a test: figures for BENCHMARKS.md.
 *
 *   build/tests/bench/bench_nexudus [changes] [time_scale]
 *
 * The mock Nexudus (tests/backend/mock_nexudus.py, real TLS on loopback,
 * started through tests/backend/fixture.py by this program) enforces the
 * published limits (1 request per 100 ms, 120 a minute, 5,000 an hour;
 * writes 60 a minute, 5,000 a day) with every window divided by
 * `time_scale` (default 10: a minute is 6 s), and porter's pacing
 * (drivers/nexudus/nexudus_session.h) is divided by the same, so the
 * ratios are those of real time in a tenth of it. The backend is driven
 * the way the outbox drives it (one change at a time, in order; a RETRY
 * waits its Retry-After or 100 ms) on the reference host's epoll loop:
 * `changes` check-ins of different coworkers, all waiting when the backend
 * starts (the backend was down, then came back).
 *
 * Figures: the whole drain's average, the steady rate (writes answered in
 * the last whole minutes before the drain ended, so the first minute's
 * burst does not count), each against the budget of 60 a minute, and the
 * mock's count of 409s (read from its request log).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cutoff.h"
#include "host_loop.h"
#include "mock_nexudus_fixture.h"
#include "nexudus.h"

#define WRITE_BUDGET_PER_MIN 60.0 /* published */

static struct {
	struct mock_nexudus mock;
	struct host_loop *loop;
	char dir[64], creds[128], cache[128];
	struct cutoff_rule day;
	bool done;
	struct delivery_result result;
} B;

static void die(const char *why)
{
	fprintf(stderr, "bench_nexudus: %s\n", why);
	exit(1);
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *loadavg(char buf[64])
{
	FILE *f = fopen("/proc/loadavg", "r");
	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, 64, f))
			buf[0] = '\0';
		fclose(f);
	}
	int spaces = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' || (*p == ' ' && ++spaces == 3)) {
			*p = '\0';
			break;
		}
	return buf;
}

static void quiet_log(void *userdata, uint32_t level, const char *message)
{
	if (level <= PORTER_LOG_ERROR)
		fprintf(stderr, "porter: %s\n", message);
}

static void on_synced(void *userdata, int64_t at)
{
}

static void on_learned(void *userdata, const char *person_id, bool in, int64_t at)
{
}

static const struct backend_core core = {
        .presence_learned = on_learned,
        .directory_synced = on_synced,
};

static void done_cb(void *userdata, const struct delivery_result *r)
{
	B.done = true;
	B.result = *r;
}

static void run_until_done(void)
{
	while (!B.done)
		host_loop_run_once(B.loop, 50);
}

static void sleep_on_loop(uint64_t us)
{
	uint64_t end = host_loop_now_us(B.loop) + us;
	while (host_loop_now_us(B.loop) < end)
		host_loop_run_once(B.loop, 10);
}

static void write_secret(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die("cannot write the credentials file");
	chmod(path, 0600);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	double scale = argc > 2 ? atof(argv[2]) : 10.0;
	char err[512], text[512], load[64];
	if (n < 1 || n > 4000 || scale < 1 || scale > 100) {
		fprintf(stderr, "usage: bench_nexudus [changes 1..4000] [time_scale 1..100]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mock_nexudus_start(&B.mock) < 0) {
		fprintf(stderr, "bench_nexudus: skipped: the mock Nexudus did not start\n");
		return 77;
	}
	snprintf(B.dir, sizeof(B.dir), "/tmp/porter-bench-nexudus-XXXXXX");
	if (!mkdtemp(B.dir))
		die("cannot make a directory");
	snprintf(B.creds, sizeof(B.creds), "%s/credentials", B.dir);
	snprintf(B.cache, sizeof(B.cache), "%s/directory.json", B.dir);
	snprintf(text, sizeof(text), "%s\n%s\n", B.mock.user, B.mock.password);
	write_secret(B.creds, text);
	if (cutoff_parse_zone("UTC", &B.day, err, sizeof(err)) < 0)
		die(err);
	B.loop = host_loop_new(&(struct host_loop_callbacks){.log = quiet_log});

	/* The mock: published limits, scaled; n coworkers. */
	snprintf(text, sizeof(text),
	         "{\"rate_limits\": {\"enabled\": true, \"published\": true, \"time_scale\": %g}}",
	         scale);
	mock_nexudus_ok(&B.mock, "POST", "/_control/reset", "{}");
	mock_nexudus_ok(&B.mock, "POST", "/_control/config", text);
	size_t cap = 64 + (size_t)n * 48, o;
	char *seed = malloc(cap);
	o = (size_t)snprintf(seed, cap, "{\"coworkers\": [");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(seed + o, cap - o, "%s{\"Id\": %d, \"FullName\": \"P%d\"}",
		                      i ? "," : "", 100 + i, i);
	snprintf(seed + o, cap - o, "]}");
	mock_nexudus_ok(&B.mock, "POST", "/_control/seed", seed);
	free(seed);

	struct nexudus_options no = {.base_url = B.mock.url,
	                             .business_id = 1,
	                             .credentials_file = B.creds,
	                             .ca_file = B.mock.ca,
	                             .pinned_keys = B.mock.pin,
	                             .timeout_ms = 5000,
	                             .cache_path = B.cache,
	                             .pin_min_length = 4,
	                             .pin_max_length = 8,
	                             .day = &B.day,
	                             .sync_interval_s = 3600,
	                             .presence_interval_s = 3600,
	                             .wall_clock_us = wall_us,
	                             .pace_time_scale = scale};
	for (size_t i = 0; i < PIN_KEY_LEN; i++)
		no.pin_key[i] = (uint8_t)(i * 7 + 3);
	struct backend b;
	printf("bench_nexudus: %d check-ins waiting, mock and pacing time scale %g (a minute is "
	       "%.1f s); load average at start %s\n",
	       n, scale, 60.0 / scale, loadavg(load));
	if (nexudus_backend_new(host_loop_services(B.loop), &no, &core, &b, err, sizeof(err)) < 0)
		die(err);
	/* The backlog: recorded while the backend was away, each after start. */
	int64_t at0 = wall_us();
	double *answered = calloc((size_t)n, sizeof(double)); /* s since the first attempt */
	int retries = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		struct delivery d = {.seq = 1 + i, .in = true, .at_unix_us = at0 + i};
		snprintf(d.event_key, sizeof(d.event_key), "0193b2a4-0000-7000-8000-%012d", i);
		snprintf(d.person_id, sizeof(d.person_id), "nx-c-%d", 100 + i);
		snprintf(d.reader_id, sizeof(d.reader_id), "front");
		snprintf(d.cause, sizeof(d.cause), "credential");
		for (;;) {
			B.done = false;
			if (b.deliver(b.impl, &d, done_cb, NULL) < 0)
				die("deliver refused to start");
			run_until_done();
			if (B.result.outcome == DELIVERY_DELIVERED)
				break;
			if (B.result.outcome == DELIVERY_REJECTED) {
				fprintf(stderr, "bench_nexudus: change %d rejected: %s\n", i,
				        B.result.reason);
				exit(1);
			}
			retries++;
			sleep_on_loop(B.result.retry_after_us ? B.result.retry_after_us : 100000);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		answered[i] =
		        (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
	}
	b.stop(b.impl);
	host_loop_drop_invokes(B.loop);

	/* Steady: whole minutes from one minute after the first write was
	 * answered, so the first window's burst (a sliding window lets a whole
	 * minute's budget go at once) is left out; each minute holds what the
	 * pacing lets through while the window slides. */
	double minute = 60.0 / scale, total = answered[n - 1];
	int whole = (int)((total - answered[0]) / minute) - 1;
	int in_steady = 0;
	for (int i = 0; i < n; i++)
		in_steady += answered[i] > answered[0] + minute &&
		             answered[i] <= answered[0] + (1 + whole) * minute;
	int throttled = mock_nexudus_count(&B.mock, NULL, "/api", 409);
	int writes = mock_nexudus_count(&B.mock, "POST", "/api/spaces/checkins", 200);
	int reads = mock_nexudus_count(&B.mock, "GET", "/api", 0);
	printf("bench_nexudus: %d check-ins delivered in %.2f s = %.1f scaled minutes: %.1f a "
	       "minute on average, %.2f of the write budget (60/min; the first minute's burst "
	       "included)\n",
	       n, total, total / minute, n / (total / minute),
	       n / (total / minute) / WRITE_BUDGET_PER_MIN);
	if (whole >= 1)
		printf("bench_nexudus: steady: %d in %d whole minute(s) after the first = %.1f a "
		       "minute, "
		       "%.2f of the write budget\n",
		       in_steady, whole, (double)in_steady / whole,
		       (double)in_steady / whole / WRITE_BUDGET_PER_MIN);
	else
		printf("bench_nexudus: steady: the drain lasted less than two minutes; give "
		       "more changes\n");
	printf("bench_nexudus: the mock answered %d check-in writes, %d reads (directory sync "
	       "and looks), %d 409s; porter retried %d times (load %s)\n",
	       writes, reads, throttled, retries, loadavg(load));
	free(answered);
	host_loop_free(B.loop);
	mock_nexudus_stop(&B.mock);
	snprintf(text, sizeof(text), "rm -rf %s", B.dir);
	if (system(text) != 0)
		fprintf(stderr, "bench_nexudus: could not remove %s\n", B.dir);
	curl_global_cleanup();
	return writes == n && throttled == 0 ? 0 : 1;
}
