/* SPDX-License-Identifier: MIT */
/* fake_host.c: see fake_host.h. */
#include "fake_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "directory_file.h"
#include "pin_hash.h"

static void fh_log(void *h_, uint32_t level, const char *message)
{
	struct fake_host *h = h_;
	if (h->n_logs < FAKE_MAX)
		snprintf(h->logs[h->n_logs++], sizeof(h->logs[0]), "%u %s", level, message);
}

static uint64_t fh_now(void *h_)
{
	return ((struct fake_host *)h_)->now_us;
}

static int64_t fh_timer_add(void *h_, uint64_t delay_us, porter_timer_fn cb, void *userdata)
{
	struct fake_host *h = h_;
	if (h->n_timers == sizeof(h->timers) / sizeof(h->timers[0]))
		return -ENOSPC;
	h->timers[h->n_timers] = (struct fake_timer){++h->next_timer_id, h->now_us + delay_us, cb, userdata};
	h->n_timers++;
	return h->next_timer_id;
}

static void fh_timer_remove(void *h_, int64_t id)
{
	struct fake_host *h = h_;
	for (size_t i = 0; i < h->n_timers; i++)
		if (h->timers[i].id == id) {
			h->timers[i] = h->timers[--h->n_timers];
			return;
		}
}

static int fh_invoke(void *h_, porter_invoke_fn cb, void *userdata)
{
	struct fake_host *h = h_;
	int r = 0;
	pthread_mutex_lock(&h->lock);
	if (h->n_invokes < FAKE_MAX)
		h->invokes[h->n_invokes++] = (struct fake_invoke){cb, userdata};
	else
		r = -ENOSPC;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return r;
}

static int fh_door(void *h_, const char *reader, uint32_t ms)
{
	struct fake_host *h = h_;
	if (h->n_doors < FAKE_MAX) {
		snprintf(h->doors[h->n_doors].reader, sizeof(h->doors[0].reader), "%s", reader);
		h->doors[h->n_doors++].ms = ms;
	}
	return 0;
}

static int fh_feedback(void *h_, const struct porter_feedback *fb)
{
	struct fake_host *h = h_;
	if (h->n_feedback < FAKE_MAX) {
		struct fake_feedback *f = &h->feedback[h->n_feedback++];
		snprintf(f->reader, sizeof(f->reader), "%s", fb->reader_id);
		snprintf(f->text, sizeof(f->text), "%s", fb->text);
		snprintf(f->code, sizeof(f->code), "%s", fb->code ? fb->code : "");
		f->led = fb->led;
		f->beep = fb->beep;
	}
	return 0;
}

static void fh_complete(void *h_, uint64_t request_id, const struct porter_result *res)
{
	struct fake_host *h = h_;
	if (h->n_completions < FAKE_MAX) {
		struct fake_completion *c = &h->completions[h->n_completions++];
		c->request_id = request_id;
		c->verdict = res->verdict;
		c->direction = res->direction;
		snprintf(c->code, sizeof(c->code), "%s", res->code ? res->code : "");
		snprintf(c->person, sizeof(c->person), "%s", res->person_id ? res->person_id : "");
	}
}

void fake_host_init(struct fake_host *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->now_us = 1000000000; /* not zero: zero often hides bugs */
	h->services = (struct porter_host_services){
		.size = sizeof(h->services), .host = h, .log = fh_log, .now_us = fh_now,
		.timer_add = fh_timer_add, .timer_remove = fh_timer_remove, .invoke = fh_invoke,
		.door_unlock = fh_door, .feedback = fh_feedback, .complete = fh_complete,
	};
}

void fake_host_destroy(struct fake_host *h)
{
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
}

void fake_host_advance(struct fake_host *h, uint64_t us)
{
	h->now_us += us;
	for (bool fired = true; fired;) {
		fired = false;
		for (size_t i = 0; i < h->n_timers; i++) {
			if (h->timers[i].due_us > h->now_us)
				continue;
			struct fake_timer t = h->timers[i];
			h->timers[i] = h->timers[--h->n_timers];
			t.cb(t.userdata);
			fired = true;
			break;
		}
	}
}

static void run_invokes(struct fake_host *h)
{
	pthread_mutex_lock(&h->lock);
	size_t n = h->n_invokes;
	struct fake_invoke batch[FAKE_MAX];
	memcpy(batch, h->invokes, n * sizeof(batch[0]));
	h->n_invokes = 0;
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++)
		batch[i].cb(batch[i].userdata);
}

static bool wait_invokes(struct fake_host *h, const struct timespec *deadline)
{
	int r = 0;
	pthread_mutex_lock(&h->lock);
	while (h->n_invokes == 0 && r == 0)
		r = pthread_cond_timedwait(&h->cond, &h->lock, deadline);
	pthread_mutex_unlock(&h->lock);
	if (r != 0)
		return false;
	run_invokes(h);
	return true;
}

bool fake_host_wait_completions(struct fake_host *h, size_t n)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	while (h->n_completions < n)
		if (!wait_invokes(h, &deadline))
			return false;
	return true;
}

bool fake_host_wait_queued(struct fake_host *h)
{
	struct timespec deadline;
	int r = 0;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&h->lock);
	while (h->n_invokes == 0 && r == 0)
		r = pthread_cond_timedwait(&h->cond, &h->lock, &deadline);
	pthread_mutex_unlock(&h->lock);
	return r == 0;
}

bool fake_host_run_next_invokes(struct fake_host *h)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	return wait_invokes(h, &deadline);
}

const char *fake_host_last_code(const struct fake_host *h)
{
	return h->n_feedback ? h->feedback[h->n_feedback - 1].code : "";
}

bool fake_host_logged(const struct fake_host *h, const char *needle)
{
	for (size_t i = 0; i < h->n_logs; i++)
		if (strstr(h->logs[i], needle))
			return true;
	return false;
}

const char *fake_time(int64_t offset_s, char buf[32])
{
	timestamp_format((int64_t)time(NULL) + offset_s, buf);
	return buf;
}

static void write_directory(struct fake_site *s, const struct fake_person *people, size_t n)
{
	uint8_t key[PIN_KEY_LEN], hash[PIN_HASH_LEN];
	char err[1536], hex[PIN_HASH_HEX_LEN + 1];
	if (pin_key_load(s->key_path, key, err, sizeof(err)) < 0)
		abort();
	struct pin_hasher *hasher = pin_hasher_new(key);
	FILE *f = fopen(s->directory_path, "w");
	fprintf(f, "{\"porter_directory\": 1, \"people\": [\n");
	for (size_t i = 0; i < n; i++) {
		const struct fake_person *p = &people[i];
		pin_hasher_hash(hasher, p->pin, strlen(p->pin), hash);
		pin_hash_to_hex(hash, hex);
		fprintf(f, "%s{\"id\": \"%s\", \"kind\": \"%s\", \"name\": \"%s\", \"pin_hmac\": \"%s\"",
			i ? ",\n" : "", p->id, p->kind, p->name, hex);
		if (p->valid_from)
			fprintf(f, ", \"valid_from\": \"%s\"", p->valid_from);
		if (p->valid_until)
			fprintf(f, ", \"valid_until\": \"%s\"", p->valid_until);
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
	fclose(f);
	pin_hasher_free(hasher);
}

void fake_site_set_config(struct fake_site *s, const char *extra)
{
	snprintf(s->config, sizeof(s->config),
		 "{\"local\": {\"directory\": \"%s\", \"database\": \"%s\", \"pin_key_file\": \"%s\"}%s%s}",
		 s->directory_path, s->database_path, s->key_path, extra && *extra ? ", " : "",
		 extra ? extra : "");
}

void fake_site_create(struct fake_site *s, const struct fake_person *people, size_t n,
		      const char *extra)
{
	char err[1536];
	snprintf(s->dir, sizeof(s->dir), "/tmp/porter-unit-XXXXXX");
	if (!mkdtemp(s->dir))
		abort();
	snprintf(s->key_path, sizeof(s->key_path), "%s/pin.key", s->dir);
	snprintf(s->directory_path, sizeof(s->directory_path), "%s/directory.json", s->dir);
	snprintf(s->database_path, sizeof(s->database_path), "%s/presence.db", s->dir);
	if (pin_key_create(s->key_path, err, sizeof(err)) < 0)
		abort();
	write_directory(s, people, n);
	fake_site_set_config(s, extra);
}

void fake_site_destroy(struct fake_site *s)
{
	const char *names[] = {"pin.key", "directory.json", "presence.db", "presence.db-wal",
			       "presence.db-shm", ".presence.db.marker"};
	char path[512];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, names[i]);
		unlink(path);
	}
	rmdir(s->dir);
}
