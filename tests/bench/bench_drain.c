/* SPDX-License-Identifier: MIT */
/*
 * bench_drain.c: how fast porter's outbox empties a backlog into a webhook
 * receiver, next to a bare libcurl loop posting the same requests to the
 * same receiver in the same run; and how long the hooks hold the host's
 * thread while a backlog drains, next to the same hooks with no backlog
 * in the same run. Not a test: figures for BENCHMARKS.md.
 *
 * Run under the backend fixture (real TLS on loopback, a receiver that
 * verifies Standard Webhooks signatures):
 *
 *   tests/backend/fixture.py --webhook -- \
 *       build/tests/bench/bench_drain build/porter.so [changes] [rounds] [hook_calls]
 *
 * Without the fixture's environment it says so and exits 77 (skip).
 *
 * A backlog is made the way it happens in the field: porter (backend
 * "webhook", loaded with dlopen through porter.h on the reference host's
 * epoll loop) records `changes` PIN check-ins while the receiver answers
 * 503; porter is shut down, the receiver heals, and a fresh porter starts
 * with the backlog in its outbox. The drain time runs from init's return
 * until porter's watermark (porter_meta 'outbox.webhook.delivered_seq',
 * written after the receiver's 200) reaches the last change; the receiver's
 * own list then must hold every change exactly once.
 *
 * The limit: a bare libcurl multi loop (curl_multi_poll) posting `changes`
 * requests made by the same code (webhook_body, webhook_sign: the same
 * headers, body sizes and HMAC per request), one in flight, a new easy
 * handle per request over one kept-alive connection, to the same receiver.
 * Rounds alternate porter and bare so the neighbours' load hits both.
 *
 * Then hook latency (bench_latency): on_pin with known PINs (PENDING) and
 * unknown PINs (DENY), paced (1 check-in per 10 wrong PINs, so the backlog
 * drains meanwhile) and flat out, each with backend "webhook" draining a
 * fresh backlog and then with no backlog, in the same run. Each call is
 * timed around on_pin alone (CLOCK_MONOTONIC): the hook's synchronous part
 * on the loop thread. The hook's own time is the calls during which the
 * thread kept its CPU (its involuntary context switch count, getrusage
 * RUSAGE_THREAD, unchanged across the call, read outside the timed part);
 * every call is reported too. A hook that blocked would show as voluntary
 * switches, which are not filtered.
 *
 * BENCH_DRAIN_ONLY=porter or bare: only that side's drain rounds (for a
 * profile).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "host_loop.h"
#include "webhook_message.h"

#define BURST 10 /* hook calls of each kind between two loop iterations */

struct fixture_env {
	const char *url, *control, *secret, *ca;
};

struct bench {
	struct fixture_env fx;
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
	fprintf(stderr, "bench_drain: %s\n", why);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This process's CPU time, all threads (the receiver is another process):
 * steadier than the rates on a loaded machine. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The figures swing with the neighbours' load: every line says what it was. */
static const char *loadavg(char buf[64])
{
	FILE *f = fopen("/proc/loadavg", "r");
	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, 64, f))
			buf[0] = '\0';
		fclose(f);
	}
	/* The three averages only. */
	int spaces = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' || (*p == ' ' && ++spaces == 3)) {
			*p = '\0';
			break;
		}
	return buf;
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

/* ---- the receiver's control endpoint (outside every timed region) ------- */

struct buf {
	char *data;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	char *p = realloc(b->data, b->len + size * n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->len += size * n;
	p[b->len] = '\0';
	b->data = p;
	return size * n;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
	return size * n;
}

/* Blocking, on purpose: only between measurements. Returns the reply (free it). */
static char *control(struct bench *b, const char *method, const char *path, const char *json)
{
	char url[512];
	struct buf out = {0};
	long status = 0;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *e = curl_easy_init();
	snprintf(url, sizeof(url), "%s%s", b->fx.control, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CAINFO, b->fx.ca);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
	if (json)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
	CURLcode rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "bench_drain: %s %s: %s, HTTP %ld\n", method, path,
		        curl_easy_strerror(rc), status);
		exit(1);
	}
	return out.data ? out.data : strdup("");
}

static void control_quiet(struct bench *b, const char *method, const char *path, const char *json)
{
	free(control(b, method, path, json));
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The receiver holds `want` verified deliveries, each received once. */
static void check_receiver(struct bench *b, size_t want, const char *who)
{
	char *all = control(b, "GET", "/deliveries", NULL);
	size_t got = count_of(all, "\"id\": \""), once = count_of(all, "\"count\": 1}");
	if (got != want || once != want || !strstr(all, "\"rejected\": 0}")) {
		fprintf(stderr,
		        "bench_drain: %s: the receiver holds %zu deliveries (%zu received once), "
		        "wanted %zu, each once, none rejected\n",
		        who, got, once, want);
		exit(1);
	}
	free(all);
	control_quiet(b, "DELETE", "/deliveries", NULL);
	control_quiet(b, "DELETE", "/requests", NULL);
}

/* ---- the site and porter ---------------------------------------------- */

static void write_file(struct bench *b, const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die("cannot write the site's files");
	chmod(path, 0600);
}

/* `people` members with PINs 10000000+i, as in bench_hooks. */
static void make_site(struct bench *b)
{
	unsigned char key[32], mac[32];
	char path[128], pin[24], hex[65];
	const char *tmp = getenv("TMPDIR");
	snprintf(b->dir, sizeof(b->dir), "%.40s/porter-drain-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(b->dir))
		die("cannot make the site's directory");
	for (size_t i = 0; i < sizeof(key); i++) {
		key[i] = (unsigned char)(i * 31 + 7);
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	}
	write_file(b, "pin.key", hex);
	write_file(b, "webhook.secret", b->fx.secret);
	snprintf(path, sizeof(path), "%s/directory.json", b->dir);
	FILE *f = fopen(path, "w");
	if (!f)
		die("cannot write the directory");
	fprintf(f, "{\"porter_directory\": 1, \"people\": [\n");
	for (size_t i = 0; i < b->people; i++) {
		unsigned int len = 0;
		pin_of(i, pin);
		HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)pin, 8, mac, &len);
		for (unsigned k = 0; k < len; k++)
			snprintf(hex + 2 * k, 3, "%02x", mac[k]);
		fprintf(f,
		        "%s{\"id\": \"m-%zu\", \"kind\": \"member\", \"name\": \"Member %zu\", "
		        "\"pin_hmac\": \"%s\"}",
		        i ? ",\n" : "", i, i, hex);
	}
	fprintf(f, "]}\n");
	fclose(f);
}

static void cleanup_site(struct bench *b)
{
	DIR *d = opendir(b->dir);
	struct dirent *e;
	char path[384];
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(path, sizeof(path), "%s/%s", b->dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(b->dir);
}

/* backend "webhook" or "local", on database `db` in the site's directory. */
static void start(struct bench *b, const char *backend, const char *db)
{
	char config[2048];
	snprintf(config, sizeof(config),
	         "{\"backend\": \"%s\", \"local\": {\"directory\": \"%s/directory.json\","
	         " \"database\": \"%s/%s\", \"pin_key_file\": \"%s/pin.key\"},"
	         " \"webhook\": {\"url\": \"%s\", \"secret_file\": \"%s/webhook.secret\","
	         " \"ca_file\": \"%s\"},"
	         " \"repeat_window_ms\": 0, \"lockout\": {\"max_attempts\": 100}}",
	         backend, b->dir, b->dir, db, b->dir, b->fx.url, b->dir, b->fx.ca);
	if (strcmp(backend, "local") == 0) /* the webhook section is only read for "webhook" */
		snprintf(
		        config, sizeof(config),
		        "{\"backend\": \"local\", \"local\": {\"directory\": \"%s/directory.json\","
		        " \"database\": \"%s/%s\", \"pin_key_file\": \"%s/pin.key\"},"
		        " \"repeat_window_ms\": 0, \"lockout\": {\"max_attempts\": 100}}",
		        b->dir, b->dir, db, b->dir);
	int r = b->plugin.descriptor->init(host_loop_services(b->loop), config, strlen(config),
	                                   NULL, NULL, &b->porter);
	if (r < 0) {
		fprintf(stderr, "bench_drain: init (%s) failed: %s\n", backend, strerror(-r));
		exit(1);
	}
}

static void stop(struct bench *b)
{
	b->plugin.descriptor->shutdown(b->porter);
	b->porter = NULL;
	host_loop_drop_invokes(b->loop);
}

/* This thread's involuntary context switches so far: the kernel took the
 * CPU away (another process or thread ran), as opposed to a wait the code
 * asked for (a voluntary switch, which would be the hook blocking). */
static long preemptions(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nivcsw;
}

/* One on_pin, timed around the call alone. `ret_preempted` (may be NULL):
 * the thread was descheduled during the call, so its time is partly other
 * processes' (read outside the timed region). */
static int pin_hook_timed(struct bench *b, const char *reader, const char *pin, uint64_t *ret_ns,
                          bool *ret_preempted)
{
	struct porter_pin_event ev = {.size = sizeof(ev),
	                              .request_id = ++b->next_request,
	                              .reader_id = reader,
	                              .pin = pin,
	                              .pin_len = strlen(pin)};
	long p0 = ret_preempted ? preemptions() : 0;
	uint64_t t0 = now_ns();
	int r = b->plugin.descriptor->on_pin(b->porter, &ev);
	*ret_ns = now_ns() - t0;
	if (ret_preempted)
		*ret_preempted = preemptions() != p0;
	return r;
}

static int pin_hook(struct bench *b, const char *reader, const char *pin, uint64_t *ret_ns)
{
	return pin_hook_timed(b, reader, pin, ret_ns, NULL);
}

static void wait_completed(struct bench *b, size_t until)
{
	while (b->completed < until)
		host_loop_run_once(b->loop, 100);
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static sqlite3 *db_open(struct bench *b, const char *name)
{
	char path[128];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("cannot open porter's database to watch the outbox");
	sqlite3_busy_timeout(db, 1000);
	return db;
}

static int64_t watermark(sqlite3 *db)
{
	return db_int(db,
	              "SELECT value FROM porter_meta WHERE key = 'outbox.webhook.delivered_seq'");
}

/*
 * A backlog of `changes` in presence.db: porter records them while the
 * receiver answers 503 to every delivery, then is shut down; the receiver
 * is healed. Returns the seq of the last change.
 */
static int64_t make_backlog(struct bench *b, const char *db_name, size_t changes)
{
	char pin[24];
	uint64_t ns;
	control_quiet(b, "POST", "/faults",
	              "{\"kind\": \"status\", \"status\": 503, \"retry_after\": null,"
	              " \"path\": \"^/hook\", \"count\": 1000000000}");
	start(b, "webhook", db_name);
	size_t base = b->completed;
	for (size_t i = 0; i < changes; i++) {
		pin_of(i % b->people, pin);
		if (pin_hook(b, "front", pin, &ns) != PORTER_VERDICT_PENDING)
			die("a known PIN was not queued for recording");
		if (i + 1 - (b->completed - base) >= 500)
			wait_completed(b, base + i + 1 - 250);
	}
	wait_completed(b, base + changes);
	stop(b);
	control_quiet(b, "DELETE", "/faults", NULL);
	control_quiet(b, "DELETE", "/deliveries", NULL);
	control_quiet(b, "DELETE", "/requests", NULL);
	sqlite3 *db = db_open(b, db_name);
	int64_t last = db_int(db, "SELECT max(seq) FROM presence_log");
	int64_t mark = watermark(db);
	sqlite3_close(db);
	if (last - mark != (int64_t)changes) {
		fprintf(stderr, "bench_drain: backlog of %lld, wanted %zu\n",
		        (long long)(last - mark), changes);
		exit(1);
	}
	return last;
}

/* porter drains the backlog: changes per second; CPU us per change. */
static double bench_porter(struct bench *b, size_t changes, double *ret_cpu_us)
{
	int64_t last = make_backlog(b, "presence.db", changes);
	start(b, "webhook", "presence.db");
	sqlite3 *db = db_open(b, "presence.db");
	/* Prepared once: a look is then a read transaction and one step (the
	 * bench's own cost, charged to porter's CPU and time). */
	sqlite3_stmt *look;
	if (sqlite3_prepare_v2(db,
	                       "SELECT value FROM porter_meta WHERE key = "
	                       "'outbox.webhook.delivered_seq'",
	                       -1, &look, NULL) != SQLITE_OK)
		die("cannot prepare the watermark look");
	double c0 = cpu_s();
	/* Markers for strace: a write to fd -1 fails at once and shows. */
	(void)!write(-1, "drain-begin", 11);
	uint64_t t0 = now_ns(), next_look = t0;
	for (;;) {
		host_loop_run_once(b->loop, 5);
		uint64_t t = now_ns();
		if (t >= next_look) { /* every 5 ms: < 1% error, < 1% of the time */
			int64_t mark = -1;
			if (sqlite3_step(look) == SQLITE_ROW)
				mark = sqlite3_column_int64(look, 0);
			sqlite3_reset(look);
			if (mark >= last)
				break;
			next_look = t + 5000000;
		}
		if (t - t0 > 600ull * 1000000000u)
			die("porter did not drain its backlog in 10 minutes");
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	(void)!write(-1, "drain-end", 9);
	*ret_cpu_us = (cpu_s() - c0) * 1e6 / (double)changes;
	sqlite3_finalize(look);
	sqlite3_close(db);
	stop(b);
	check_receiver(b, changes, "porter");
	return (double)changes / secs;
}

/* ---- the limit: bare libcurl ------------------------------------------- */

struct bare_request {
	struct curl_slist *headers;
	char body[WEBHOOK_BODY_MAX];
};

/* The same body and headers porter's webhook driver makes for a change of
 * the same shape (a UUID v7-length key, the bench's person and reader ids). */
static CURL *bare_easy(struct bench *b, const struct webhook_secret *secret, size_t round, size_t i,
                       struct bare_request *rq)
{
	struct delivery d = {.seq = (int64_t)i + 1, .in = i % 2 == 0, .at_unix_us = 0};
	char signature[WEBHOOK_SIGNATURE_MAX], line[128];
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	d.at_unix_us = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000;
	snprintf(d.event_key, sizeof(d.event_key), "0193b2a4-%04zx-7000-8000-%012zx", round, i);
	snprintf(d.person_id, sizeof(d.person_id), "m-%zu", i % b->people);
	snprintf(d.reader_id, sizeof(d.reader_id), "front");
	snprintf(d.cause, sizeof(d.cause), "credential");
	int len = webhook_body(&d, rq->body, sizeof(rq->body));
	if (len < 0 ||
	    webhook_sign(secret, d.event_key, wall.tv_sec, rq->body, (size_t)len, signature) < 0)
		die("bare: cannot make the request");
	curl_slist_free_all(rq->headers);
	rq->headers = curl_slist_append(NULL, "Content-Type: application/json");
	rq->headers = curl_slist_append(rq->headers, "Expect:");
	snprintf(line, sizeof(line), "webhook-id: %s", d.event_key);
	rq->headers = curl_slist_append(rq->headers, line);
	snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)wall.tv_sec);
	rq->headers = curl_slist_append(rq->headers, line);
	snprintf(line, sizeof(line), "webhook-signature: %s", signature);
	rq->headers = curl_slist_append(rq->headers, line);

	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, b->fx.url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CAINFO, b->fx.ca);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, rq->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	return e;
}

static double bench_bare(struct bench *b, const struct webhook_secret *secret, size_t round,
                         size_t changes, double *ret_cpu_us)
{
	double c0 = cpu_s();
	CURLM *multi = curl_multi_init();
	struct bare_request rq = {0};
	size_t done = 0, failed = 0;
	int running;
	uint64_t t0 = now_ns();
	curl_multi_add_handle(multi, bare_easy(b, secret, round, 0, &rq));
	while (done < changes) {
		CURLMsg *m;
		int q;
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &q))) {
			long status = 0;
			if (m->msg != CURLMSG_DONE)
				continue;
			CURL *e = m->easy_handle;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			failed += status != 200;
			done++;
			curl_multi_remove_handle(multi, e);
			curl_easy_cleanup(e);
			if (done < changes)
				curl_multi_add_handle(multi,
				                      bare_easy(b, secret, round, done, &rq));
		}
		if (done < changes)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	*ret_cpu_us = (cpu_s() - c0) * 1e6 / (double)changes;
	curl_multi_cleanup(multi);
	curl_slist_free_all(rq.headers);
	if (failed)
		fprintf(stderr, "bench_drain: %zu of %zu bare requests failed\n", failed, changes);
	check_receiver(b, changes, "bare libcurl");
	return (double)changes / secs;
}

/* ---- hook latency while the backlog drains ----------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct percentiles {
	uint64_t p50, p99, p999, max;
	size_t n;
};

static struct percentiles percentiles(uint64_t *s, size_t n)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	return n ? (struct percentiles){s[n / 2], s[n * 99 / 100], s[n * 999 / 1000], s[n - 1], n}
	         : (struct percentiles){0};
}

/* One phase's hook times: every call, and the calls that kept the CPU. */
struct hook_times {
	uint64_t *all, *own;
	size_t n_all, n_own;
};

static void times_add(struct hook_times *t, uint64_t ns, bool preempted)
{
	t->all[t->n_all++] = ns;
	if (!preempted)
		t->own[t->n_own++] = ns;
}

static void report_line(const char *phase, const char *what, const struct percentiles *p)
{
	char load[64];
	printf("%-22s %-34s %7" PRIu64 " %7" PRIu64 " %8" PRIu64 " %9" PRIu64 " %7zu   load %s\n",
	       phase, what, p->p50, p->p99, p->p999, p->max, p->n, loadavg(load));
}

struct latency {
	struct percentiles known_all, known_own, unknown_all, unknown_own;
};

/*
 * Hook latency: known PINs (PENDING: recorded, then delivered) and unknown
 * PINs (DENY) on the loop thread, BURST unknown and `known_per_burst` known
 * between two loop iterations (epoll_wait up to 1 ms, so libcurl's replies,
 * porter's timers and the recorder's completions run in between, as on a
 * live host). Backend "webhook" throughout; with `backlog` > 0 a fresh
 * porter starts on a backlog of that many changes and drains it meanwhile,
 * and the calls go on (known PINs at most `calls`) until it has reached the
 * receiver; with 0 there is none (only the phase's own check-ins are
 * delivered). `calls` unknown PINs, at least `min_known` known ones.
 */
static struct latency bench_latency(struct bench *b, const char *phase, size_t backlog,
                                    size_t calls, size_t known_per_burst, size_t min_known,
                                    size_t *ret_known)
{
	struct hook_times known = {.all = calloc(calls, sizeof(uint64_t)),
	                           .own = calloc(calls, sizeof(uint64_t))};
	struct hook_times unknown = {.all = calloc(calls, sizeof(uint64_t)),
	                             .own = calloc(calls, sizeof(uint64_t))};
	char pin[24], reader[24];
	/* A database of its own: the backlog is this phase's alone. */
	char db_name[32];
	static int n_phase;
	snprintf(db_name, sizeof(db_name), "latency-%d.db", ++n_phase);
	int64_t last = backlog ? make_backlog(b, db_name, backlog) : 0, mark0 = 0, mark = 0;
	sqlite3 *db = NULL;
	start(b, "webhook", db_name);
	if (backlog) {
		db = db_open(b, db_name);
		mark0 = mark = watermark(db);
	}
	size_t base = b->completed, person = 0;
	uint64_t t0 = now_ns(), drained_at = 0;
	for (;;) {
		bool more_unknown = unknown.n_all < calls;
		bool more_known =
		        known.n_all < min_known || (backlog && !drained_at && known.n_all < calls);
		if (!more_unknown && !more_known)
			break;
		if (now_ns() - t0 > 60ull * 1000000000u) {
			printf("%s: stopped after 60 s\n", phase);
			break;
		}
		host_loop_run_once(b->loop, 1);
		for (size_t k = 0; k < known_per_burst && known.n_all < calls; k++) {
			uint64_t ns;
			bool pre;
			pin_of(person, pin);
			person = (person + 1) % b->people;
			if (pin_hook_timed(b, "front", pin, &ns, &pre) != PORTER_VERDICT_PENDING)
				die("a known PIN was not queued for recording");
			times_add(&known, ns, pre);
		}
		for (size_t k = 0; k < BURST && unknown.n_all < calls; k++) {
			uint64_t ns;
			bool pre;
			/* 90 wrong PINs per reader stays under the lockout. */
			snprintf(reader, sizeof(reader), "r%zu", unknown.n_all / 90);
			snprintf(pin, sizeof(pin), "%08zu", 90000000 + unknown.n_all);
			if (pin_hook_timed(b, reader, pin, &ns, &pre) != PORTER_VERDICT_DENY)
				die("an unknown PIN was not denied");
			times_add(&unknown, ns, pre);
		}
		if (known.n_all - (b->completed - base) >= 4000)
			wait_completed(b, base + known.n_all - 2000);
		if (backlog && !drained_at && unknown.n_all % 200 == 0) {
			mark = watermark(db);
			if (mark >= last)
				drained_at = now_ns();
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	if (backlog) {
		mark = watermark(db);
		if (drained_at)
			printf("%s: the backlog of %zu reached the receiver %.2f s into %.2f s of "
			       "hook calls\n",
			       phase, backlog, (double)(drained_at - t0) / 1e9, secs);
		else
			printf("%s: in %.2f s of hook calls porter delivered %lld changes; %lld of "
			       "the backlog of %zu still waiting\n",
			       phase, secs, (long long)(mark - mark0),
			       (long long)(last > mark ? last - mark : 0), backlog);
		sqlite3_close(db);
	} else {
		printf("%s: %.2f s of hook calls\n", phase, secs);
	}
	struct latency l = {
	        percentiles(known.all, known.n_all), percentiles(known.own, known.n_own),
	        percentiles(unknown.all, unknown.n_all), percentiles(unknown.own, unknown.n_own)};
	report_line(phase, "known PIN (pending), every call", &l.known_all);
	report_line(phase, "known PIN, not preempted", &l.known_own);
	report_line(phase, "unknown PIN (deny), every call", &l.unknown_all);
	report_line(phase, "unknown PIN, not preempted", &l.unknown_own);
	wait_completed(b, base + known.n_all);
	stop(b);
	control_quiet(b, "DELETE", "/deliveries", NULL);
	control_quiet(b, "DELETE", "/requests", NULL);
	if (ret_known)
		*ret_known = known.n_all;
	free(known.all);
	free(known.own);
	free(unknown.all);
	free(unknown.own);
	return l;
}

static void ratio_line(const char *what, const struct percentiles *idle,
                       const struct percentiles *draining)
{
	printf("  %-34s p50 %5.2f -> %5.2f us (x%.2f), p99 %6.2f -> %6.2f us (x%.2f)\n", what,
	       (double)idle->p50 / 1e3, (double)draining->p50 / 1e3,
	       idle->p50 ? (double)draining->p50 / (double)idle->p50 : 0, (double)idle->p99 / 1e3,
	       (double)draining->p99 / 1e3,
	       idle->p99 ? (double)draining->p99 / (double)idle->p99 : 0);
}

/* The same calls with no backlog, then while a backlog drains, in the same
 * run; p50 and p99 of both and their ratio. */
static void latency_pair(struct bench *b, const char *pace, size_t backlog, size_t calls,
                         size_t known_per_burst)
{
	char idle_name[64], drain_name[64];
	size_t k = 0;
	snprintf(idle_name, sizeof(idle_name), "%s, no backlog", pace);
	snprintf(drain_name, sizeof(drain_name), "%s, draining %zu", pace, backlog);
	/* Draining first: it sets how many known PINs both phases time. */
	struct latency d = bench_latency(b, drain_name, backlog, calls, known_per_burst, 0, &k);
	struct latency i = bench_latency(b, idle_name, 0, calls, known_per_burst, k, NULL);
	printf("%s: no backlog -> draining %zu (hook's own time: calls not preempted)\n", pace,
	       backlog);
	ratio_line("known PIN, not preempted", &i.known_own, &d.known_own);
	ratio_line("unknown PIN, not preempted", &i.unknown_own, &d.unknown_own);
	ratio_line("known PIN, every call", &i.known_all, &d.known_all);
	ratio_line("unknown PIN, every call", &i.unknown_all, &d.unknown_all);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	char err[512], load[64];
	if (argc < 2) {
		fprintf(stderr, "usage: bench_drain PORTER_SO [changes] [rounds] [hook_calls]\n");
		return 2;
	}
	size_t changes = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	size_t rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 3;
	size_t calls = argc > 4 ? strtoul(argv[4], NULL, 10) : 20000;
	b.fx = (struct fixture_env){getenv("MOCK_WEBHOOK_URL"), getenv("MOCK_WEBHOOK_CONTROL"),
	                            getenv("MOCK_WEBHOOK_SECRET"), getenv("MOCK_CA")};
	if (!b.fx.url || !b.fx.control || !b.fx.secret || !b.fx.ca) {
		fprintf(stderr, "bench_drain: skipped: no webhook receiver (run it under "
		                "tests/backend/fixture.py --webhook --)\n");
		return 77;
	}
	if (changes < 1 || rounds < 1 || rounds > 32 || calls < 1000 || calls > 250 * 90) {
		fprintf(stderr,
		        "bench_drain: changes >= 1, rounds 1..32, hook_calls 1000..22500\n");
		return 2;
	}
	b.people = calls > changes ? calls : changes;
	struct webhook_secret secret;
	if (webhook_secret_parse(b.fx.secret, strlen(b.fx.secret), &secret, err, sizeof(err)) < 0)
		die(err);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct host_loop_callbacks cb = {.userdata = &b, .log = quiet_log, .complete = on_complete};
	b.loop = host_loop_new(&cb);
	if (host_plugin_load(argv[1], &b.plugin, err, sizeof(err)) < 0)
		die(err);
	make_site(&b);
	printf("bench_drain: %zu changes, one in flight, %zu rounds; load average at start %s\n",
	       changes, rounds, loadavg(load));
	double porter[32], bare[32], porter_cpu[32], bare_cpu[32];
	/* For a profile of one side: BENCH_DRAIN_ONLY=porter or bare runs that
	 * side's rounds alone and stops there. */
	const char *only = getenv("BENCH_DRAIN_ONLY");
	if (only && *only) {
		for (size_t r = 0; r < rounds; r++) {
			double rate, cpu;
			if (strcmp(only, "bare") == 0)
				rate = bench_bare(&b, &secret, r, changes, &cpu);
			else
				rate = bench_porter(&b, changes, &cpu);
			printf("round %zu: %s %.0f/s (%.0f us CPU each)\n", r + 1, only, rate, cpu);
		}
		cleanup_site(&b);
		return 0;
	}
	for (size_t r = 0; r < rounds; r++) {
		/* Alternate which goes first, so a change of load hits both alike. */
		if (r % 2 == 0) {
			porter[r] = bench_porter(&b, changes, &porter_cpu[r]);
			bare[r] = bench_bare(&b, &secret, r, changes, &bare_cpu[r]);
		} else {
			bare[r] = bench_bare(&b, &secret, r, changes, &bare_cpu[r]);
			porter[r] = bench_porter(&b, changes, &porter_cpu[r]);
		}
		printf("round %zu: porter drains %.0f changes/s (%.0f us CPU each), bare libcurl "
		       "posts %.0f/s (%.0f us CPU each), ratio %.2f (load %s)\n",
		       r + 1, porter[r], porter_cpu[r], bare[r], bare_cpu[r], porter[r] / bare[r],
		       loadavg(load));
	}
	double ratios[32];
	for (size_t r = 0; r < rounds; r++)
		ratios[r] = porter[r] / bare[r];
	qsort(porter, rounds, sizeof(double), by_value);
	qsort(bare, rounds, sizeof(double), by_value);
	qsort(ratios, rounds, sizeof(double), by_value);
	qsort(porter_cpu, rounds, sizeof(double), by_value);
	qsort(bare_cpu, rounds, sizeof(double), by_value);
	printf("bench_drain: median of %zu rounds: porter %.0f changes/s, bare libcurl %.0f "
	       "POST/s, ratio %.2f (per-round ratios %.2f..%.2f)\n",
	       rounds, porter[rounds / 2], bare[rounds / 2], ratios[rounds / 2], ratios[0],
	       ratios[rounds - 1]);
	printf("bench_drain: CPU per change in this process (median): porter %.0f us, bare "
	       "libcurl %.0f us\n",
	       porter_cpu[rounds / 2], bare_cpu[rounds / 2]);

	printf("%-22s %-34s %7s %7s %8s %9s %7s\n", "phase", "on_pin latency (ns)", "p50", "p99",
	       "p99.9", "max", "calls");
	/* Paced: one check-in per ten wrong PINs, so the recorder leaves the
	 * database to the outbox between its commits and the drain runs. */
	latency_pair(&b, "paced", changes / 4 + 1, calls, 1);
	/* Flat out: as many check-ins as wrong PINs (thousands a second). */
	latency_pair(&b, "flat out", changes / 4 + 1, calls, BURST);

	webhook_secret_clear(&secret);
	host_plugin_unload(&b.plugin);
	host_loop_free(b.loop);
	cleanup_site(&b);
	curl_global_cleanup();
	return 0;
}
