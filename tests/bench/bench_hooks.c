/* SPDX-License-Identifier: MIT */
/*
 * bench_hooks.c: how long porter holds the host's thread, and how many
 * durable presence changes per second go through the whole path.
 *
 * porter.so is loaded through porter.h, exactly as a host does, on the
 * reference host's epoll loop (examples/host_loop.c), with the real SQLite
 * store on the local disk. Not a test: it prints figures for BENCHMARKS.md.
 *
 *   bench_hooks PORTER_SO [people] [changes] [in_flight]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "host_loop.h"

struct bench {
	struct host_loop *loop;
	struct host_plugin plugin;
	porter_plugin *porter;
	char dir[64];
	size_t people;
	size_t completed, granted;
	uint64_t next_request;
};

static void die(const char *why)
{
	fprintf(stderr, "bench_hooks: %s\n", why);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_complete(void *userdata, uint64_t request_id, const struct porter_result *r)
{
	struct bench *b = userdata;
	b->completed++;
	b->granted += r->verdict == PORTER_VERDICT_GRANT;
}

static void quiet_log(void *userdata, uint32_t level, const char *message)
{
	if (level <= PORTER_LOG_ERROR)
		fprintf(stderr, "porter: %s\n", message);
}

static void pin_of(size_t i, char pin[24])
{
	snprintf(pin, 24, "%08zu", 10000000 + i);
}

/* A site of `people` members with PINs 10000000+i, written like porter-admin would. */
static void make_site(struct bench *b)
{
	unsigned char key[32], mac[32];
	char path[128], pin[24];
	snprintf(b->dir, sizeof(b->dir), "/tmp/porter-bench-XXXXXX");
	if (!mkdtemp(b->dir))
		exit(1);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 31 + 7);
	snprintf(path, sizeof(path), "%s/pin.key", b->dir);
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < sizeof(key); i++)
		fprintf(f, "%02x", key[i]);
	fclose(f);
	chmod(path, 0600);
	snprintf(path, sizeof(path), "%s/directory.json", b->dir);
	f = fopen(path, "w");
	fprintf(f, "{\"porter_directory\": 1, \"people\": [\n");
	for (size_t i = 0; i < b->people; i++) {
		unsigned int len = 0;
		pin_of(i, pin);
		HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)pin, 8, mac, &len);
		fprintf(f, "%s{\"id\": \"m-%zu\", \"kind\": \"member\", \"name\": \"Member %zu\", \"pin_hmac\": \"",
			i ? ",\n" : "", i, i);
		for (unsigned k = 0; k < len; k++)
			fprintf(f, "%02x", mac[k]);
		fprintf(f, "\"}");
	}
	fprintf(f, "]}\n");
	fclose(f);
}

static void cleanup_site(struct bench *b)
{
	const char *names[] = {"pin.key", "directory.json", "presence.db", "presence.db-wal",
			       "presence.db-shm", ".presence.db.marker"};
	char path[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", b->dir, names[i]);
		unlink(path);
	}
	rmdir(b->dir);
}

static void start(struct bench *b)
{
	char config[1024];
	snprintf(config, sizeof(config),
		 "{\"local\": {\"directory\": \"%s/directory.json\", \"database\": \"%s/presence.db\","
		 " \"pin_key_file\": \"%s/pin.key\"}, \"repeat_window_ms\": 0,"
		 " \"lockout\": {\"max_attempts\": 100}}", b->dir, b->dir, b->dir);
	int r = b->plugin.descriptor->init(host_loop_services(b->loop), config, strlen(config), NULL,
					   NULL, &b->porter);
	if (r < 0) {
		fprintf(stderr, "init failed: %s\n", strerror(-r));
		exit(1);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *samples, size_t n)
{
	qsort(samples, n, sizeof(*samples), cmp_u64);
	printf("%-34s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64 " %8zu\n", what,
	       samples[n / 2], samples[n * 99 / 100], samples[n * 999 / 1000], samples[n - 1], n);
}

static int pin_hook(struct bench *b, const char *reader, const char *pin, uint64_t *ret_ns)
{
	struct porter_pin_event ev = {.size = sizeof(ev), .request_id = ++b->next_request,
				      .reader_id = reader, .pin = pin, .pin_len = strlen(pin)};
	uint64_t t0 = now_ns();
	int r = b->plugin.descriptor->on_pin(b->porter, &ev);
	*ret_ns = now_ns() - t0;
	return r;
}

static void drain(struct bench *b, size_t until)
{
	while (b->completed < until)
		host_loop_run_once(b->loop, 100);
}

/* Latency of each hook path, with the recorder thread busy in the background. */
static void bench_latency(struct bench *b)
{
	size_t n = b->people;
	uint64_t *s = calloc(n, sizeof(*s));
	char pin[24], reader[16];

	printf("%-34s %8s %8s %8s %9s %8s\n", "hook latency (ns)", "p50", "p99", "p99.9", "max", "calls");
	size_t base = b->completed;
	for (size_t i = 0; i < n; i++) {
		pin_of(i, pin);
		if (pin_hook(b, "front", pin, &s[i]) != PORTER_VERDICT_PENDING)
			die("a known PIN was not queued for recording");
		if (i % 64 == 63)
			host_loop_run_once(b->loop, 0); /* let completions in, as a live loop would */
		if (i + 1 - (b->completed - base) >= 4000)
			drain(b, base + i + 1 - 2000); /* stay far below porter's in-flight bound */
	}
	report("on_pin, known PIN (pending)", s, n);
	drain(b, base + n);

	/* 90 wrong PINs per reader stays under the lockout; porter allows 256 readers. */
	n = b->people < 250 * 90 ? b->people : 250 * 90;
	for (size_t i = 0; i < n; i++) {
		snprintf(reader, sizeof(reader), "r%zu", i / 90);
		snprintf(pin, sizeof(pin), "%08zu", 90000000 + i);
		if (pin_hook(b, reader, pin, &s[i]) != PORTER_VERDICT_DENY)
			die("an unknown PIN was not denied");
	}
	report("on_pin, unknown PIN (deny)", s, n);

	n = b->people;
	for (size_t i = 0; i < n; i++) {
		/* Seven digits then '*': buffering and clearing, never a submit. */
		struct porter_key_event ev = {.size = sizeof(ev), .key = i % 8 == 7 ? '*' : '1',
					      .request_id = ++b->next_request, .reader_id = "keys"};
		uint64_t t0 = now_ns();
		b->plugin.descriptor->on_key(b->porter, &ev);
		s[i] = now_ns() - t0;
	}
	report("on_key, digit or clear", s, n);
	free(s);
}

/* Sustained durable presence changes: `in_flight` requests outstanding at a time. */
static void bench_throughput(struct bench *b, size_t changes, size_t in_flight)
{
	char pin[24];
	uint64_t ns;
	size_t sent = 0, base = b->completed, person = 0;
	uint64_t t0 = now_ns();
	while (b->completed - base < changes) {
		while (sent < changes && sent - (b->completed - base) < in_flight) {
			pin_of(person, pin);
			person = (person + 1) % b->people;
			if (pin_hook(b, "front", pin, &ns) != PORTER_VERDICT_PENDING)
				die("a known PIN was not queued for recording");
			sent++;
		}
		host_loop_run_once(b->loop, 100);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	printf("durable presence changes: %zu in %.2f s = %.0f per second (%zu in flight, %zu people)\n",
	       changes, secs, (double)changes / secs, in_flight, b->people);
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	char err[512];
	if (argc < 2) {
		fprintf(stderr, "usage: bench_hooks PORTER_SO [people] [changes] [in_flight]\n");
		return 2;
	}
	b.people = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	size_t changes = argc > 3 ? strtoul(argv[3], NULL, 10) : 200000;
	size_t in_flight = argc > 4 ? strtoul(argv[4], NULL, 10) : 2000;
	if (in_flight > b.people)
		in_flight = b.people; /* one change in flight per person at most */
	struct host_loop_callbacks cb = {.userdata = &b, .log = quiet_log, .complete = on_complete};
	b.loop = host_loop_new(&cb);
	if (host_plugin_load(argv[1], &b.plugin, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	make_site(&b);
	start(&b);
	/* Markers for tests/bench/hook-syscalls.sh: a write to fd -1 fails at once
	 * and shows in strace, bracketing the phase where only hooks and the loop run. */
	(void)!write(-1, "hooks-begin", 11);
	bench_latency(&b);
	bench_throughput(&b, changes, in_flight);
	(void)!write(-1, "hooks-end", 9);
	b.plugin.descriptor->shutdown(b.porter);
	host_loop_drop_invokes(b.loop);
	host_plugin_unload(&b.plugin);
	host_loop_free(b.loop);
	cleanup_site(&b);
	return b.granted >= changes ? 0 : 1;
}
