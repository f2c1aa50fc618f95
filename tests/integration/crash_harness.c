/* SPDX-License-Identifier: MIT */
/* crash_harness.c: the crash tests' kill -9 harness. See crash_harness.h. */
#include "crash_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "host_loop.h"
#include "loaded_porter.h"
#include "porter_fixture.h"

extern char **environ;

/* ---- the child --------------------------------------------------------------- */

void crash_spawn(struct crash_child *c, const char *config_path, const char *people_path,
                 const char *mode, unsigned seed, unsigned stop_after, bool quiet)
{
	posix_spawn_file_actions_t fa;
	int out[2];
	char seed_text[16], stop_text[16];
	snprintf(seed_text, sizeof(seed_text), "%u", seed);
	snprintf(stop_text, sizeof(stop_text), "%u", stop_after);
	char *argv[] = {(char *)fx_env("CRASH_HOST"),
	                (char *)fx_env("PORTER_SO"),
	                (char *)config_path,
	                (char *)people_path,
	                (char *)mode,
	                seed_text,
	                stop_text,
	                NULL};

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	int r = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	assert_int_equal(r, 0);
	c->out = out[0];
	c->buf_len = 0;
}

int crash_read_line(struct crash_child *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->buf_len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			snprintf(line, size, "%.*s", (int)n, c->buf);
			memmove(c->buf, nl + 1, c->buf_len - n - 1);
			c->buf_len -= n + 1;
			return 1;
		}
		struct pollfd pfd = {.fd = c->out, .events = POLLIN};
		int r = poll(&pfd, 1, CRASH_LINE_TIMEOUT_MS);
		if (r == 0)
			fail_msg("crash_host said nothing for %d ms", CRASH_LINE_TIMEOUT_MS);
		ssize_t n =
		        r < 0 ? 0 : read(c->out, c->buf + c->buf_len, sizeof(c->buf) - c->buf_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		c->buf_len += (size_t)n;
	}
}

void crash_expect_ready(struct crash_child *c)
{
	char line[256];

	assert_int_equal(crash_read_line(c, line, sizeof(line)), 1);
	assert_string_equal(line, "READY");
}

int crash_wait(struct crash_child *c)
{
	int status = 0;

	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
	close(c->out);
	c->out = -1;
	return status;
}

void crash_kill(struct crash_child *c, crash_take_fn *take, void *userdata)
{
	char line[256];

	kill(c->pid, SIGKILL);
	while (crash_read_line(c, line, sizeof(line)) == 1)
		take(userdata, line);
	int status = crash_wait(c);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

void crash_stop(struct crash_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		crash_wait(c);
	}
}

uint64_t crash_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Hand the child's lines to `take` until `until_us` (crash_now_us). */
static void take_lines_until(struct crash_child *c, uint64_t until_us, crash_take_fn *take,
                             void *userdata)
{
	char line[256];

	for (uint64_t now; (now = crash_now_us()) < until_us;) {
		struct pollfd pfd = {.fd = c->out, .events = POLLIN};
		if (!memchr(c->buf, '\n', c->buf_len) &&
		    poll(&pfd, 1, (int)((until_us - now) / 1000) + 1) <= 0)
			continue;
		assert_int_equal(crash_read_line(c, line, sizeof(line)), 1);
		take(userdata, line);
	}
}

struct paced {
	const struct crash_people *people;
	char *confirmed;
	unsigned *total;
};

/* A paced child's line: a confirmation counts, a refusal or "already"
 * made no change. */
static void take_paced(void *userdata, const char *line)
{
	struct paced *t = userdata;
	char word[16], id[32], dir[32] = "";

	if (sscanf(line, "%15s %31s %31s", word, id, dir) < 2)
		fail_msg("crash_host: unexpected line \"%s\"", line);
	int i = t->people->index(id);
	if (strcmp(word, "CONFIRMED") == 0 && i >= 0) {
		char *told = t->confirmed + (size_t)i * (t->people->log_max + 1);
		size_t n = strlen(told);
		assert_true(n < t->people->log_max);
		told[n] = strcmp(dir, "in") == 0 ? 'i' : 'o';
		(*t->total)++;
		return;
	}
	if ((strcmp(word, "ALREADY") == 0 || strcmp(word, "DENIED") == 0) && i >= 0)
		return; /* no change made */
	fail_msg("crash_host: unexpected line \"%s\"", line);
}

void crash_paced_round(struct crash_child *c, const char *config_path, const char *people_path,
                       unsigned run_us, crash_flap_fn *flap, char faults[2][CRASH_FAULT_MAX],
                       const struct crash_people *p, char *confirmed, unsigned *total_confirmed)
{
	struct paced t = {p, confirmed, total_confirmed};

	memset(confirmed, 0, (size_t)p->n * (p->log_max + 1));
	flap(faults[0]);
	crash_spawn(c, config_path, people_path, "paced", 1, UINT32_MAX, true);
	crash_expect_ready(c);
	uint64_t start = crash_now_us();
	take_lines_until(c, start + run_us / 2, take_paced, &t);
	flap(faults[1]);
	take_lines_until(c, start + run_us, take_paced, &t);
	crash_kill(c, take_paced, &t);
}

/* ---- run settings ---------------------------------------------------------------- */

unsigned crash_env_unsigned(const char *name, unsigned fallback)
{
	const char *v = fx_env(name);

	return v ? (unsigned)strtoul(v, NULL, 10) : fallback;
}

unsigned crash_seed(const char *label)
{
	unsigned seed =
	        crash_env_unsigned("CRASH_SEED", (unsigned)time(NULL) ^ ((unsigned)getpid() << 16));

	print_message("crash test%s seed %u (CRASH_SEED=%u replays it)\n", label, seed, seed);
	return seed;
}

/* ---- the members ------------------------------------------------------------ */

void crash_member_id(int i, char ret[16])
{
	snprintf(ret, 16, "p%02d", i + 1);
}

void crash_pin(int i, char ret[16])
{
	snprintf(ret, 16, "%08d", 31400000 + i * 7919 + 13);
}

int crash_write_members(const char *admin, const char *dir, const char *people_path, int n)
{
	size_t size = (size_t)n * 32 + 1, used = 0;
	char *text = calloc(1, size), pin[16], id[16], name[32];
	int r = text ? 0 : -1;

	for (int i = 0; i < n && r == 0; i++) {
		crash_member_id(i, id);
		crash_pin(i, pin);
		snprintf(name, sizeof(name), "Person %d", i + 1);
		if (fx_add_person(admin, dir, id, "member", name, pin, NULL, NULL) != 0)
			r = -1;
		used += (size_t)snprintf(text + used, size - used, "%s %s\n", id, pin);
	}
	if (r == 0)
		r = fx_write_file(people_path, text);
	free(text);
	return r;
}

/* ---- the database ------------------------------------------------------------ */

sqlite3 *crash_db_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

void crash_db_logs(const char *path, const struct crash_people *p, char *logs, int64_t *last_seq,
                   char *causes, bool table_may_be_missing)
{
	size_t stride = p->log_max + 1;
	sqlite3 *db = crash_db_open(path);
	sqlite3_stmt *st = NULL;

	memset(logs, 0, (size_t)p->n * stride);
	if (last_seq)
		memset(last_seq, 0, (size_t)p->n * sizeof(*last_seq));
	if (causes)
		memset(causes, 0, (size_t)p->n * stride);
	if (!db)
		return; /* no database yet: nothing logged */
	int rc = sqlite3_prepare_v2(db,
	                            "SELECT person_id, direction, seq, cause"
	                            " FROM presence_log ORDER BY seq",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK && table_may_be_missing) {
		sqlite3_close(db); /* no table yet */
		return;
	}
	assert_int_equal(rc, SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int i = p->index((const char *)sqlite3_column_text(st, 0));
		const char *dir = (const char *)sqlite3_column_text(st, 1);
		assert_true(i >= 0);
		char *log = logs + (size_t)i * stride;
		size_t n = strlen(log);
		assert_true(n < p->log_max);
		log[n] = strcmp(dir, "in") == 0 ? 'i' : strcmp(dir, "out") == 0 ? 'o' : '?';
		if (last_seq)
			last_seq[i] = sqlite3_column_int64(st, 2);
		if (causes) {
			const char *cause = (const char *)sqlite3_column_text(st, 3);
			causes[(size_t)i * stride + n] = strcmp(cause, "credential") == 0 ? 'c'
			                                 : strcmp(cause, "host_cancelled") == 0
			                                         ? 'r'
			                                         : '?';
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

size_t crash_check_prefix(unsigned round, const char *who, const char *before, const char *after,
                          const char *confirmed)
{
	size_t nb = strlen(before), nc = strlen(confirmed);
	const char *logged = after + nb;

	if (strncmp(after, before, nb) != 0 || strncmp(logged, confirmed, nc) != 0)
		fail_msg("round %u, %s: confirmed \"%s\" but the log went \"%s\" -> \"%s\"", round,
		         who, confirmed, before, after);
	assert_true(strlen(logged) <= nc + 1); /* one change in flight at most */
	return strlen(logged) - nc;
}

/* ---- porter on a loop of this process ------------------------------------------ */

static void quiet_log(void *userdata, uint32_t level, const char *message)
{
	(void)userdata;
	if (level <= PORTER_LOG_WARNING || getenv("CRASH_VERBOSE"))
		fprintf(stderr, "  porter %ld: %s\n", (long)time(NULL), message);
}

static void ignore_report(void *userdata, const struct porter_report *r)
{
	(void)userdata;
	fprintf(stderr, "  porter report %s: %s\n", r->code, r->message ? r->message : "");
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = calloc(1, 64 * 1024);
	size_t n = 0;

	assert_non_null(f);
	assert_non_null(text);
	n = fread(text, 1, 64 * 1024 - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

void crash_run_porter(const char *config_path, bool (*done)(void *), int64_t (*progress)(void *),
                      void *userdata, unsigned stall_ms)
{
	struct host_loop_callbacks cb = {.log = quiet_log};
	struct host_loop *loop = host_loop_new(&cb);
	porter_plugin *p = NULL;
	char *config = read_file(config_path);

	assert_non_null(loop);
	assert_int_equal(api->init(host_loop_services(loop), config, strlen(config), ignore_report,
	                           NULL, &p),
	                 0);
	free(config);
	/* Until it is done, or nothing moved for stall_ms (a deadline would not
	 * do: under valgrind a delivery takes far longer). */
	uint64_t progress_at = host_loop_now_us(loop);
	int64_t last = progress(userdata);
	while (!done(userdata) && host_loop_now_us(loop) < progress_at + stall_ms * 1000ull) {
		int64_t now = progress(userdata);
		if (now > last) {
			last = now;
			progress_at = host_loop_now_us(loop);
		}
		uint64_t until = host_loop_now_us(loop) + 100000;
		while (host_loop_now_us(loop) < until)
			host_loop_run_once(loop, 20);
	}
	/* A little longer: a surplus delivery would show. */
	uint64_t until = host_loop_now_us(loop) + 500000;
	while (host_loop_now_us(loop) < until)
		host_loop_run_once(loop, 20);
	api->shutdown(p);
	host_loop_free(loop);
}
