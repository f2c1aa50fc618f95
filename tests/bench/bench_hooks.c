/* SPDX-License-Identifier: MIT */
/*
 * bench_hooks.c: how long porter holds the host's thread, and how many
 * durable presence changes per second go through the whole path.
 *
 * porter.so is loaded through porter.h, exactly as a host does, on the
 * reference host's epoll loop (examples/host_loop.c), with the real SQLite
 * store on the local disk. Not a test: it prints figures for BENCHMARKS.md.
 *
 * Each throughput figure is printed beside its limit, measured in the same
 * run, in the same directory: a bare SQLite loop writing the same rows
 * (WAL, synchronous=FULL, insert into presence_log + upsert into presence),
 * with nothing of porter around it.
 *
 * QR scans are measured beside the PIN hook in the same run: a visitor code
 * (an HMAC and a directory lookup, like a PIN) and a visitor pass (an
 * Ed25519 verification), each checking a person in or out.
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
#include <openssl/pem.h>
#include <sqlite3.h>

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

#define QR_PEOPLE 5000 /* visitors with a visitor code; passes for as many members */

/* A site of `people` members with PINs 10000000+i, and up to QR_PEOPLE
 * visitors with visitor codes, written like porter-admin would. */
static void make_site(struct bench *b)
{
	unsigned char key[32], mac[32];
	char path[128], pin[24];
	const char *tmp = getenv("TMPDIR"); /* e.g. a tmpfs, to see CPU costs without fsync */
	snprintf(b->dir, sizeof(b->dir), "%.40s/porter-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
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
		fprintf(f,
		        "%s{\"id\": \"m-%zu\", \"kind\": \"member\", \"name\": \"Member %zu\", "
		        "\"pin_hmac\": \"",
		        i ? ",\n" : "", i, i);
		for (unsigned k = 0; k < len; k++)
			fprintf(f, "%02x", mac[k]);
		fprintf(f, "\"}");
	}
	/* Visitors with a visitor code "QR-<pin>" for on_qr, hashed as porter-admin
	 * add --qr-code-file does: "qr:" + code. */
	for (size_t i = 0; i < b->people && i < QR_PEOPLE; i++) {
		unsigned int len = 0;
		char code[32];
		pin_of(i, pin);
		int n = snprintf(code, sizeof(code), "qr:QR-%s", pin);
		HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)code, (size_t)n, mac, &len);
		fprintf(f,
		        ",\n{\"id\": \"v-%zu\", \"kind\": \"visitor\", \"name\": \"Visitor %zu\", "
		        "\"valid_until\": \"2099-01-01T00:00:00Z\", \"qr_hmac\": \"",
		        i, i);
		for (unsigned k = 0; k < len; k++)
			fprintf(f, "%02x", mac[k]);
		fprintf(f, "\"}");
	}
	fprintf(f, "]}\n");
	fclose(f);
}

static void cleanup_site(struct bench *b)
{
	const char *names[] = {
	        "pass.pub",        "pin.key",         "directory.json",      "presence.db",
	        "presence.db-wal", "presence.db-shm", ".presence.db.marker", "bare.db",
	        "bare.db-wal",     "bare.db-shm"};
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
	         "{\"local\": {\"directory\": \"%s/directory.json\", \"database\": "
	         "\"%s/presence.db\","
	         " \"pin_key_file\": \"%s/pin.key\"}, \"repeat_window_ms\": 0,"
	         " \"lockout\": {\"max_attempts\": 100},"
	         " \"visitor_pass\": {\"public_keys\": [\"%s/pass.pub\"]}}",
	         b->dir, b->dir, b->dir, b->dir);
	int r = b->plugin.descriptor->init(host_loop_services(b->loop), config, strlen(config),
	                                   NULL, NULL, &b->porter);
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
	struct porter_pin_event ev = {.size = sizeof(ev),
	                              .request_id = ++b->next_request,
	                              .reader_id = reader,
	                              .pin = pin,
	                              .pin_len = strlen(pin)};
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

	printf("%-34s %8s %8s %8s %9s %8s\n", "hook latency (ns)", "p50", "p99", "p99.9", "max",
	       "calls");
	size_t base = b->completed;
	for (size_t i = 0; i < n; i++) {
		pin_of(i, pin);
		if (pin_hook(b, "front", pin, &s[i]) != PORTER_VERDICT_PENDING)
			die("a known PIN was not queued for recording");
		if (i % 64 == 63)
			host_loop_run_once(b->loop,
			                   0); /* let completions in, as a live loop would */
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
		struct porter_key_event ev = {.size = sizeof(ev),
		                              .key = i % 8 == 7 ? '*' : '1',
		                              .request_id = ++b->next_request,
		                              .reader_id = "keys"};
		uint64_t t0 = now_ns();
		b->plugin.descriptor->on_key(b->porter, &ev);
		s[i] = now_ns() - t0;
	}
	report("on_key, digit or clear", s, n);
	free(s);
}

/* ---- QR scans ----------------------------------------------------------- */

static EVP_PKEY *pass_key;

/* The pass signing key, and its public half where the config says. */
static void make_pass_key(struct bench *b)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	char path[128];
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pass_key) != 1)
		die("no Ed25519 key");
	EVP_PKEY_CTX_free(ctx);
	snprintf(path, sizeof(path), "%s/pass.pub", b->dir);
	FILE *f = fopen(path, "w");
	if (!f || PEM_write_PUBKEY(f, pass_key) != 1)
		die("cannot write the pass key");
	fclose(f);
}

static void b64url(const unsigned char *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
		             (i + 2 < len ? in[i + 2] : 0);
		size_t chars = len - i >= 3 ? 4 : len - i + 1;
		for (size_t k = 0; k < chars; k++)
			out[o++] = a[(v >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
}

/* A pass for m-i, written from README "Visitor passes" alone. */
static void pass_of(size_t i, char out[512])
{
	char fields[160], sig_text[100];
	unsigned char sig[64];
	size_t sig_len = sizeof(sig);
	long now = (long)time(NULL);
	int n = snprintf(fields, sizeof(fields), "1|bench-%zu|m-%zu|%ld|%ld|0", i, i, now - 60,
	                 now + 3600);
	strcpy(out, "PV1.");
	b64url((unsigned char *)fields, (size_t)n, out + 4);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pass_key) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)out, strlen(out)) != 1)
		die("cannot sign a pass");
	EVP_MD_CTX_free(ctx);
	b64url(sig, sig_len, sig_text);
	strcat(out, ".");
	strcat(out, sig_text);
}

static int qr_hook(struct bench *b, const char *reader, const char *data, uint64_t *ret_ns)
{
	struct porter_qr_event ev = {.size = sizeof(ev),
	                             .request_id = ++b->next_request,
	                             .reader_id = reader,
	                             .data = (const uint8_t *)data,
	                             .data_len = strlen(data)};
	uint64_t t0 = now_ns();
	int r = b->plugin.descriptor->on_qr(b->porter, &ev);
	*ret_ns = now_ns() - t0;
	return r;
}

/* on_qr beside on_pin: the same people, the same loop. */
static void bench_qr(struct bench *b)
{
	size_t n = b->people < QR_PEOPLE ? b->people : QR_PEOPLE;
	uint64_t *s = calloc(n, sizeof(*s));
	char data[512], pin[24];
	size_t base = b->completed;
	for (size_t i = 0; i < n; i++) {
		pin_of(i, pin);
		snprintf(data, sizeof(data), "QR-%s", pin);
		if (qr_hook(b, "scanner", data, &s[i]) != PORTER_VERDICT_PENDING)
			die("a known visitor code was not queued for recording");
		if (i % 64 == 63)
			host_loop_run_once(b->loop, 0);
	}
	report("on_qr, visitor code (pending)", s, n);
	drain(b, base + n);
	base = b->completed;
	for (size_t i = 0; i < n; i++) {
		pass_of(i, data);
		if (qr_hook(b, "scanner", data, &s[i]) != PORTER_VERDICT_PENDING)
			die("a valid visitor pass was not queued for recording");
		if (i % 64 == 63)
			host_loop_run_once(b->loop, 0);
	}
	report("on_qr, visitor pass (verify, pending)", s, n);
	drain(b, base + n);
	free(s);
}

/* Sustained durable presence changes: `in_flight` requests outstanding at a time.
 * Returns changes per second. */
static double bench_throughput(struct bench *b, size_t changes, size_t in_flight)
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
	printf("porter: durable presence changes: %zu in %.2f s = %.0f per second (%zu in flight, "
	       "%zu people)\n",
	       changes, secs, (double)changes / secs, in_flight, b->people);
	return (double)changes / secs;
}

static void bare_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bare SQLite: %s: %s\n", sql, sqlite3_errmsg(db));
		exit(1);
	}
}

/*
 * The limit: the same rows through SQLite alone, `per_txn` rows per
 * transaction (one fsync each), in the same directory as porter's database.
 * Same schema and statements as plugin/store.c; keys and times are made the
 * cheapest way (a counter), as a lower bound on what any recorder costs.
 * Returns rows per second.
 */
static double bench_bare_sqlite(struct bench *b, size_t rows, size_t per_txn)
{
	char path[128], key[40], person[32], when[40];
	sqlite3 *db;
	sqlite3_stmt *ins, *up;
	snprintf(path, sizeof(path), "%s/bare.db", b->dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("bare SQLite: cannot open its database");
	bare_exec(db,
	          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	          "CREATE TABLE IF NOT EXISTS presence_log(seq INTEGER PRIMARY KEY,"
	          " event_key TEXT NOT NULL UNIQUE, person_id TEXT NOT NULL,"
	          " direction TEXT NOT NULL CHECK(direction IN ('in','out')),"
	          " reader_id TEXT NOT NULL, recorded_at TEXT NOT NULL, cause TEXT NOT NULL);"
	          "CREATE INDEX IF NOT EXISTS presence_log_person ON presence_log(person_id, seq);"
	          "CREATE TABLE IF NOT EXISTS presence(person_id TEXT PRIMARY KEY,"
	          " state TEXT NOT NULL CHECK(state IN ('in','out')), since TEXT NOT NULL,"
	          " last_seq INTEGER NOT NULL);");
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO presence_log(event_key, person_id, direction,"
	                       " reader_id, recorded_at, cause) VALUES(?,?,?,?,?,?)",
	                       -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	            db,
	            "INSERT INTO presence(person_id, state, since, last_seq)"
	            " VALUES(?,?,?,?) ON CONFLICT(person_id) DO UPDATE SET"
	            " state=excluded.state, since=excluded.since, last_seq=excluded.last_seq",
	            -1, &up, NULL) != SQLITE_OK)
		die("bare SQLite: cannot prepare");
	static uint64_t serial;
	uint64_t t0 = now_ns();
	for (size_t done = 0; done < rows;) {
		bare_exec(db, "BEGIN IMMEDIATE");
		for (size_t k = 0; k < per_txn && done < rows; k++, done++) {
			uint64_t n = ++serial;
			const char *dir = (done / b->people) % 2 ? "out" : "in";
			snprintf(key, sizeof(key), "%08x-0000-4000-8000-%012llx",
			         (unsigned)(n >> 48), (unsigned long long)(n & 0xffffffffffffULL));
			snprintf(person, sizeof(person), "m-%zu", done % b->people);
			snprintf(when, sizeof(when), "2026-11-25T08:00:00.%06uZ",
			         (unsigned)(n % 1000000));
			sqlite3_bind_text(ins, 1, key, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, person, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, dir, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, "front", -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 5, when, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 6, "credential", -1, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				die("bare SQLite: insert failed");
			sqlite3_reset(ins);
			sqlite3_bind_text(up, 1, person, -1, SQLITE_STATIC);
			sqlite3_bind_text(up, 2, dir, -1, SQLITE_STATIC);
			sqlite3_bind_text(up, 3, when, -1, SQLITE_STATIC);
			sqlite3_bind_int64(up, 4, sqlite3_last_insert_rowid(db));
			if (sqlite3_step(up) != SQLITE_DONE)
				die("bare SQLite: upsert failed");
			sqlite3_reset(up);
		}
		bare_exec(db, "COMMIT");
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	sqlite3_finalize(ins);
	sqlite3_finalize(up);
	sqlite3_close(db);
	printf("bare SQLite: %zu rows in %.2f s = %.0f per second (%zu rows per transaction)\n",
	       rows, secs, (double)rows / secs, per_txn);
	return (double)rows / secs;
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
	make_pass_key(&b);
	start(&b);
	/* Markers for tests/bench/hook-syscalls.sh: a write to fd -1 fails at once
	 * and shows in strace, bracketing the phase where only hooks and the loop run. */
	(void)!write(-1, "hooks-begin", 11);
	bench_latency(&b);
	bench_qr(&b);
	double porter = bench_throughput(&b, changes, in_flight);
	(void)!write(-1, "hooks-end", 9);
	double bare = bench_bare_sqlite(&b, changes, 100);
	printf("ratio porter / bare SQLite, many in flight: %.2f\n", porter / bare);
	size_t one = changes / 100 < 2000 ? changes / 100 : 2000;
	double porter_one = bench_throughput(&b, one, 1);
	double bare_one = bench_bare_sqlite(&b, one, 1);
	printf("ratio porter / bare SQLite, one change at a time: %.2f\n", porter_one / bare_one);
	b.plugin.descriptor->shutdown(b.porter);
	host_loop_drop_invokes(b.loop);
	host_plugin_unload(&b.plugin);
	host_loop_free(b.loop);
	cleanup_site(&b);
	return b.granted >= changes + one ? 0 : 1;
}
