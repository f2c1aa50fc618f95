/* SPDX-License-Identifier: MIT */
/*
 * fake_host.h: a host for unit tests. It implements porter's services with a
 * clock the test moves by hand, timers that fire when the clock passes them,
 * and records every door action, feedback and completion so a test asserts
 * what a person at the door would observe. It also builds a throwaway site:
 * key, directory and database in a temp dir.
 */
#ifndef PORTER_FAKE_HOST_H
#define PORTER_FAKE_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "porter.h"

#define FAKE_MAX 512

struct fake_feedback {
	char reader[80];
	char text[256];
	char code[64];
	uint32_t led, beep;
};

struct fake_door {
	char reader[80];
	uint32_t ms;
};

struct fake_completion {
	uint64_t request_id;
	uint32_t verdict, direction;
	char code[64];
	char person[80];
};

struct fake_timer {
	int64_t id;
	uint64_t due_us;
	porter_timer_fn cb;
	void *userdata;
};

struct fake_invoke {
	porter_invoke_fn cb;
	void *userdata;
};

struct fake_host {
	struct porter_host_services services;
	uint64_t now_us;
	struct fake_timer timers[64];
	size_t n_timers;
	int64_t next_timer_id;

	pthread_mutex_t lock; /* invoke comes from porter's recorder thread */
	pthread_cond_t cond;
	struct fake_invoke invokes[FAKE_MAX];
	size_t n_invokes;

	struct fake_feedback feedback[FAKE_MAX];
	size_t n_feedback;
	struct fake_door doors[FAKE_MAX];
	size_t n_doors;
	struct fake_completion completions[FAKE_MAX];
	size_t n_completions;
	char logs[FAKE_MAX][512];
	size_t n_logs;
};

void fake_host_init(struct fake_host *host);
void fake_host_destroy(struct fake_host *host);

/* Move the clock and fire the timers that fall due. */
void fake_host_advance(struct fake_host *host, uint64_t us);

/* Run invoked callbacks until `n` completions were seen or 5 s passed.
 * Returns true when they arrived. */
bool fake_host_wait_completions(struct fake_host *host, size_t n);

/* Wait up to 5 s for invoked callbacks and run them. */
bool fake_host_run_next_invokes(struct fake_host *host);

/* Wait up to 5 s until an invoke is queued, without running it. */
bool fake_host_wait_queued(struct fake_host *host);

/* The last feedback code, or "" */
const char *fake_host_last_code(const struct fake_host *host);

/* True when any log line contains `needle`. */
bool fake_host_logged(const struct fake_host *host, const char *needle);

/* ---- a throwaway site ---- */

struct fake_person {
	const char *id, *kind, *name, *pin;
	const char *valid_from, *valid_until; /* may be NULL */
};

struct fake_site {
	char dir[256];
	char key_path[300], directory_path[300], database_path[300];
	char config[8192];
};

/* Make a temp dir with a key, a directory of `people` and a config whose
 * "local" part points at them; `extra` is more top-level JSON members
 * ("\"repeat_window_ms\": 0, ...") or "". */
void fake_site_create(struct fake_site *site, const struct fake_person *people, size_t n,
		      const char *extra);
void fake_site_set_config(struct fake_site *site, const char *extra);
void fake_site_destroy(struct fake_site *site);

/* An ISO time `offset_s` from now. */
const char *fake_time(int64_t offset_s, char buf[32]);

#endif
