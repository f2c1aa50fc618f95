/* SPDX-License-Identifier: MIT */
/*
 * crash_harness.h: the kill -9 harness the crash tests share (test_crash.c,
 * test_crash_backend.c, test_crash_nexudus.c).
 *
 * crash_host (porter.so on host_loop) runs as a child printing one line per
 * answer; the harness starts it, reads its lines with a timeout, SIGKILLs
 * it and reaps it, reads the presence database with SQLite directly (as a
 * field engineer would), checks a round's log against what the round
 * confirmed, and runs porter on a host_loop of this process until a drain
 * is done. Every call fails the cmocka test on an error, saying what.
 */
#ifndef CRASH_HARNESS_H
#define CRASH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#define CRASH_LINE_TIMEOUT_MS 10000
#define CRASH_FAULT_MAX       160 /* a backend fault's description */

/* crash_host as a child: its pid and its unread output. */
struct crash_child {
	pid_t pid; /* 0: none */
	int out;   /* its stdout, -1: none */
	char buf[4096];
	size_t buf_len;
};

/* What the child printed, one line at a time. */
typedef void crash_take_fn(void *userdata, const char *line);

/* Start $CRASH_HOST on $PORTER_SO with the site's config and people files
 * in `mode`, with `seed` and `stop_after`; stdin is /dev/null, stderr the
 * test's, or /dev/null when `quiet` (a flapping backend's expected
 * warnings). */
void crash_spawn(struct crash_child *c, const char *config_path, const char *people_path,
                 const char *mode, unsigned seed, unsigned stop_after, bool quiet);

/* The child's next output line: 1, or 0 at EOF. Fails after
 * CRASH_LINE_TIMEOUT_MS of silence. */
int crash_read_line(struct crash_child *c, char *line, size_t size);

/* The first line must be READY. */
void crash_expect_ready(struct crash_child *c);

/* Reap the child; its wait status. */
int crash_wait(struct crash_child *c);

/* SIGKILL the child, hand the lines it printed before dying to `take`, reap
 * it; it must have died of the SIGKILL. */
void crash_kill(struct crash_child *c, crash_take_fn *take, void *userdata);

/* A running child killed and reaped (test teardown); nothing if none. */
void crash_stop(struct crash_child *c);

/* Make the backend flap: a fault (or none) from now on, described in spec. */
typedef void crash_flap_fn(char spec[CRASH_FAULT_MAX]);

struct crash_people;

/*
 * One paced round: `flap` at its start (faults[0]) and halfway (faults[1]),
 * crash_host in mode "paced" with stderr quiet, the SIGKILL after `run_us`.
 * What each person was told this round goes to `confirmed` (char[n][log_max
 * + 1], 'i'/'o'), and the count of confirmations to *total_confirmed; a
 * line other than CONFIRMED, ALREADY or DENIED for one of `p` fails.
 */
void crash_paced_round(struct crash_child *c, const char *config_path, const char *people_path,
                       unsigned run_us, crash_flap_fn *flap, char faults[2][CRASH_FAULT_MAX],
                       const struct crash_people *p, char *confirmed, unsigned *total_confirmed);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t crash_now_us(void);

/* $name as an unsigned number, or `fallback` when unset. */
unsigned crash_env_unsigned(const char *name, unsigned fallback);

/* CRASH_SEED, or a fresh seed; printed as "crash test<label> seed N
 * (CRASH_SEED=N replays it)". */
unsigned crash_seed(const char *label);

/* The members the local crash tests check in and out: ids "p01", "p02",
 * ..., each with their own 8-digit PIN. */
void crash_member_id(int i, char ret[16]);
void crash_pin(int i, char ret[16]);
/* Add members 0..n-1 ("Person 1", ...) to the directory in `dir` with
 * porter-admin `admin`, and write "ID PIN" lines for crash_host to
 * `people_path`. 0, or -1. */
int crash_write_members(const char *admin, const char *dir, const char *people_path, int n);

/* The presence database opened read-write with a busy timeout; NULL when it
 * is not there (yet). */
sqlite3 *crash_db_open(const char *path);

/* The people a crash test checks in and out. */
struct crash_people {
	int n;                        /* how many */
	size_t log_max;               /* changes per person a log holds */
	int (*index)(const char *id); /* person_id -> 0..n-1, or -1 */
};

/*
 * Each person's logged directions in order ("ioi": logs is char[n][log_max
 * + 1]), their last seq (last_seq[n] or NULL) and their changes' causes ('c'
 * credential, 'r' host_cancelled; causes as logs, or NULL). No database is
 * an empty log; a database without presence_log is one too when
 * `table_may_be_missing`, else a failure.
 */
void crash_db_logs(const char *path, const struct crash_people *p, char *logs, int64_t *last_seq,
                   char *causes, bool table_may_be_missing);

/* One person's round: the log before it must stand unchanged, what they
 * were told (`confirmed`, 'i'/'o') must follow it in order, and at most one
 * change more (the one in flight at the kill). Returns how many such (0 or
 * 1). */
size_t crash_check_prefix(unsigned round, const char *who, const char *before, const char *after,
                          const char *confirmed);

/* Load the config at `config_path` into $PORTER_SO (loaded_porter.h) on a
 * host_loop of this process and run it until `done` says so, or `progress`
 * (a growing count) did not grow for `stall_ms`; then half a second longer
 * (a surplus delivery would show), then shutdown. porter's warnings and
 * reports go to stderr. */
void crash_run_porter(const char *config_path, bool (*done)(void *), int64_t (*progress)(void *),
                      void *userdata, unsigned stall_ms);

#endif
