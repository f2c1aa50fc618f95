/* SPDX-License-Identifier: MIT */
/*
 * nexudus_sync.c: the Nexudus backend's directory sync and presence poll.
 *
 * Directory: every sync is a full pull (coworkers, then visitors whose
 * expected arrival is not long past), page by page. A member deleted at
 * Nexudus never appears in a pull filtered on UpdatedOn, so only a full
 * pull can make them disappear from the cache. The loop thread fetches each
 * page; the sync worker thread parses it into the staging directory (PIN
 * hashing) and finally writes the cache (fsync), then hands back through
 * services->invoke. A sync that fails anywhere frees the staging directory:
 * the last good cache stays. The cache is written even when nothing
 * changed: its mtime says when porter was last in step.
 *
 * Presence: check-in records updated since the newest UpdatedOn seen, each
 * told to core->presence_learned. The first poll after a start reads every
 * open check-in too (who is in, however long ago they came), then what was
 * updated since the newest UpdatedOn the last run saw (porter_meta
 * 'nexudus.presence_seen_until'; a day back when there is none), so a door
 * that was down learns the check-outs made elsewhere meanwhile. Later polls
 * read from the newest UpdatedOn seen, so a gap (Nexudus unreachable for a
 * while) loses nothing either. The engine adopts only what is newer than
 * this door's own last change. These pages hold no secrets and no hashing;
 * they are read on the loop thread; the watermark is written by the worker.
 *
 * Invokes: the worker's result is handed back with services->invoke. An
 * invoke the host has queued cannot be taken back, so its userdata is not
 * the backend but a slot number and generation in a static table: a
 * callback for a backend that has stopped finds its slot cleared and does
 * nothing (no allocation to leak when the host drops it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "directory_file.h" /* timestamp_parse */
#include "log.h"
#include "nexudus_private.h"
#include "nexudus_reply.h"

#define SLOTS    16
#define META_KEY "nexudus.presence_seen_until"
#define DAY_S    86400

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nexudus *slots[SLOTS];
static uint32_t slot_gen[SLOTS];

static void sync_schedule(struct nexudus *n, uint64_t delay_us);
static void presence_schedule(struct nexudus *n, uint64_t delay_us);
static void sync_worker_done(struct nexudus *n);

/* ---- the worker ------------------------------------------------------------ */

static void invoked(void *userdata)
{
	uintptr_t token = (uintptr_t)userdata;
	unsigned slot = (unsigned)(token & 0xff);
	uint32_t gen = (uint32_t)(token >> 8);
	struct nexudus *n = NULL;
	pthread_mutex_lock(&slots_lock);
	if (slot < SLOTS && slot_gen[slot] == gen)
		n = slots[slot];
	pthread_mutex_unlock(&slots_lock);
	if (n)
		sync_worker_done(n);
}

/* porter_meta's presence watermark. A failed write is not reported: the
 * next start reads from an older one, which costs reads, not changes. */
static void meta_write(struct nexudus *n, int64_t value_s)
{
	sqlite3_stmt *st = NULL;
	char text[40];
	nx_format_time(value_s * 1000000, false, text);
	if (sqlite3_prepare_v2(n->meta_db,
	                       "INSERT INTO porter_meta(key, value) VALUES(?, ?)"
	                       " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, META_KEY, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
}

static void *worker_main(void *arg)
{
	struct nexudus *n = arg;
	struct nx_worker *w = &n->worker;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !w->has_job && !w->meta_pending)
			pthread_cond_wait(&w->cond, &w->lock);
		/* A watermark asked for is written even when stopping. */
		if (w->meta_pending) {
			int64_t value_s = w->meta_value_s;
			w->meta_pending = false;
			pthread_mutex_unlock(&w->lock);
			if (n->meta_db)
				meta_write(n, value_s);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		if (w->stop)
			break;
		void (*fn)(struct nexudus *) = w->fn;
		pthread_mutex_unlock(&w->lock);
		fn(n);
		uintptr_t token = ((uintptr_t)w->gen << 8) | w->slot;
		/* A refused invoke is asked again, 1 ms, 2 ms ... at most 1 s apart. */
		long wait_ms = 1;
		pthread_mutex_lock(&w->lock);
		w->has_job = false;
		while (!w->stop) {
			pthread_mutex_unlock(&w->lock);
			int r = n->services->invoke(n->services->host, invoked, (void *)token);
			pthread_mutex_lock(&w->lock);
			if (r == 0 || w->stop)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += wait_ms * 1000000;
			ts.tv_sec += ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
			wait_ms = wait_ms < 1000 ? wait_ms * 2 : 1000;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void worker_submit(struct nexudus *n, void (*fn)(struct nexudus *))
{
	struct nx_worker *w = &n->worker;
	pthread_mutex_lock(&w->lock);
	w->fn = fn;
	w->has_job = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* ---- directory sync: worker side -------------------------------------------- */

static void collect_warning(void *userdata, const char *message)
{
	struct nexudus *n = userdata;
	if (n->sync.n_warnings < NX_SYNC_WARNINGS)
		snprintf(n->sync.warnings[n->sync.n_warnings], sizeof(n->sync.warnings[0]), "%s",
		         message);
	n->sync.n_warnings++;
}

static void job_parse(struct nexudus *n)
{
	struct nx_sync *s = &n->sync;
	s->err[0] = '\0';
	s->rc = nexudus_page_parse(s->body, s->body_len, s->kind, nexudus_directory_add_record,
	                           s->dir, &s->info, s->err, sizeof(s->err));
	OPENSSL_cleanse(s->body, s->body_len);
	free(s->body);
	s->body = NULL;
}

static void job_write(struct nexudus *n)
{
	struct nx_sync *s = &n->sync;
	s->err[0] = '\0';
	s->rc = nexudus_directory_write(s->dir, n->cache_path, s->err, sizeof(s->err));
}

/* ---- directory sync: loop side ------------------------------------------------- */

static void sync_end(struct nexudus *n)
{
	struct nx_sync *s = &n->sync;
	s->dir = nexudus_directory_free(s->dir);
	s->stage = NX_SYNC_IDLE;
	s->call = 0;
	sync_schedule(n, s->again ? 0 : n->sync_interval_us);
	s->again = false;
}

static void sync_failed(struct nexudus *n, const char *what, const char *why)
{
	struct nx_sync *s = &n->sync;
	char error[NX_REASON_MAX];
	snprintf(error, sizeof(error), "%s: %s", what, why);
	/* One line per new reason, not one per sync interval. */
	if (!s->failing_since_us || strcmp(error, s->last_error) != 0)
		plog(n->services, PORTER_LOG_WARNING,
		     "nexudus: directory sync failed (%s); the last good cache %s stays in use",
		     error, n->cache_path);
	memcpy(s->last_error, error, sizeof(error));
	if (!s->failing_since_us)
		s->failing_since_us = n->wall_clock_us();
	sync_end(n);
}

static void page_answered(void *userdata, const struct nexudus_reply *reply);

static void fetch_page(struct nexudus *n)
{
	struct nx_sync *s = &n->sync;
	char path[256];
	if (s->kind == NEXUDUS_COWORKERS) {
		snprintf(path, sizeof(path),
		         "/api/spaces/coworkers?page=%" PRId64 "&size=%d&orderBy=Id&dir=1", s->page,
		         NX_SYNC_PAGE_SIZE);
	} else {
		/* Visitors of the last two days and later: the list holds every past
		 * visitor, and a visitor's day (in any zone) has ended by then. */
		char from[40];
		nx_format_time((s->now_s - 2 * 86400) * 1000000, false, from);
		snprintf(path, sizeof(path),
		         "/api/spaces/visitors?from_Visitor_ExpectedArrival=%s&page=%" PRId64
		         "&size=%d&orderBy=Id&dir=1",
		         from, s->page, NX_SYNC_PAGE_SIZE);
	}
	s->stage = NX_SYNC_FETCH;
	int r = nexudus_session_call(n->session, "GET", path, NULL, page_answered, n, &s->call);
	if (r < 0)
		sync_failed(n, "queueing a request", strerror(-r));
}

static void page_answered(void *userdata, const struct nexudus_reply *reply)
{
	struct nexudus *n = userdata;
	struct nx_sync *s = &n->sync;
	char why[NX_REASON_MAX];
	const char *what = s->kind == NEXUDUS_COWORKERS ? "reading coworkers" : "reading visitors";
	s->call = 0;
	if (reply->error < 0) {
		sync_failed(n, what, reply->reason);
		return;
	}
	const struct http_response *h = reply->http;
	if (h->outcome != HTTP_OK) {
		sync_failed(n, what, h->error);
		return;
	}
	if (h->status != 200) {
		snprintf(why, sizeof(why), "HTTP %ld", h->status);
		sync_failed(n, what, why);
		return;
	}
	s->body = malloc(h->body_len + 1);
	if (!s->body) {
		sync_failed(n, what, strerror(ENOMEM));
		return;
	}
	memcpy(s->body, h->body, h->body_len);
	s->body[h->body_len] = '\0';
	s->body_len = h->body_len;
	s->stage = NX_SYNC_PARSE;
	worker_submit(n, job_parse);
}

static void sync_written(struct nexudus *n)
{
	struct nx_sync *s = &n->sync;
	const struct nexudus_directory_stats *st = nexudus_directory_stats(s->dir);
	for (unsigned i = 0; i < s->n_warnings && i < NX_SYNC_WARNINGS; i++)
		plog(n->services, PORTER_LOG_WARNING, "nexudus: %s", s->warnings[i]);
	if (s->n_warnings > NX_SYNC_WARNINGS)
		plog(n->services, PORTER_LOG_WARNING, "nexudus: ... and %u more people left out",
		     s->n_warnings - NX_SYNC_WARNINGS);
	plog(n->services, PORTER_LOG_INFO,
	     "nexudus: directory synced: %zu members (%zu without a PIN), %zu visitors; left "
	     "out: %zu inactive, %zu with a PIN the keypad cannot take, %zu visitors without "
	     "an expected arrival",
	     st->members, st->without_pin, st->visitors, st->inactive, st->bad_pin, st->no_arrival);
	if (s->failing_since_us)
		plog(n->services, PORTER_LOG_NOTICE, "nexudus: the directory sync works again");
	s->failing_since_us = 0;
	s->last_error[0] = '\0';
	s->last_ok_us = n->wall_clock_us();
	if (n->core.directory_synced)
		n->core.directory_synced(n->core.userdata, s->last_ok_us);
}

static void sync_worker_done(struct nexudus *n)
{
	struct nx_sync *s = &n->sync;
	if (s->stage == NX_SYNC_PARSE) {
		if (s->rc < 0) {
			sync_failed(n,
			            s->kind == NEXUDUS_COWORKERS ? "a page of coworkers"
			                                         : "a page of visitors",
			            s->err[0] ? s->err : strerror(-s->rc));
			return;
		}
		if (s->info.has_next_page) {
			if (s->page >= NX_SYNC_MAX_PAGES) {
				sync_failed(n, "paging",
				            "more pages than porter reads in one sync");
				return;
			}
			s->page++;
			fetch_page(n);
		} else if (s->kind == NEXUDUS_COWORKERS) {
			s->kind = NEXUDUS_VISITORS;
			s->page = 1;
			fetch_page(n);
		} else {
			s->stage = NX_SYNC_WRITE;
			worker_submit(n, job_write);
		}
		return;
	}
	if (s->stage == NX_SYNC_WRITE) {
		if (s->rc < 0) {
			sync_failed(n, "writing the cache", s->err[0] ? s->err : strerror(-s->rc));
			return;
		}
		sync_written(n);
		sync_end(n);
	}
}

static void sync_begin(void *userdata)
{
	struct nexudus *n = userdata;
	struct nx_sync *s = &n->sync;
	s->timer = 0;
	if (s->stage != NX_SYNC_IDLE)
		return;
	s->now_s = n->wall_clock_us() / 1000000;
	s->n_warnings = 0;
	struct nexudus_directory_options o = {.pin_min_length = n->pin_min_length,
	                                      .pin_max_length = n->pin_max_length,
	                                      .day = &n->day,
	                                      .now = s->now_s,
	                                      .warn = collect_warning,
	                                      .userdata = n};
	s->dir = nexudus_directory_new(n->pin_key, &o);
	if (!s->dir) {
		sync_failed(n, "starting", "out of memory or bad keypad lengths");
		return;
	}
	s->kind = NEXUDUS_COWORKERS;
	s->page = 1;
	fetch_page(n);
}

static void sync_schedule(struct nexudus *n, uint64_t delay_us)
{
	if (n->sync.timer)
		n->services->timer_remove(n->services->host, n->sync.timer);
	n->sync.timer = n->services->timer_add(n->services->host, delay_us, sync_begin, n);
	if (n->sync.timer < 0) {
		plog(n->services, PORTER_LOG_ERROR, "nexudus: cannot set the sync timer");
		n->sync.timer = 0;
	}
}

void nx_sync_now(struct nexudus *n)
{
	if (n->sync.stage == NX_SYNC_IDLE)
		sync_schedule(n, 0);
	else
		n->sync.again = true;
}

/* ---- presence --------------------------------------------------------------------- */

static void presence_answered(void *userdata, const struct nexudus_reply *reply);

static void presence_fetch(struct nexudus *n)
{
	struct nx_presence *p = &n->presence;
	char path[256], from[40];
	if (p->open_phase) {
		snprintf(path, sizeof(path),
		         "/api/spaces/checkins?Checkin_ToTime=null&orderBy=Id&dir=1&page=%" PRId64
		         "&size=%d",
		         p->page, NX_SYNC_PAGE_SIZE);
	} else {
		nx_format_time(p->watermark_s * 1000000, false, from);
		snprintf(path, sizeof(path),
		         "/api/spaces/"
		         "checkins?from_Checkin_UpdatedOn=%s&orderBy=UpdatedOn&dir=1&page=%" PRId64
		         "&size=%d",
		         from, p->page, NX_SYNC_PAGE_SIZE);
	}
	p->active = true;
	if (nexudus_session_call(n->session, "GET", path, NULL, presence_answered, n, &p->call) <
	    0) {
		p->active = false;
		presence_schedule(n, n->presence_interval_us);
	}
}

static int learn(void *userdata, const struct nexudus_record *record)
{
	struct nexudus *n = userdata;
	const struct nexudus_checkin *c = &record->checkin;
	/* Only the read by UpdatedOn moves the watermark: the open check-ins
	 * are not in that order, and a page limit could skip records. */
	if (!n->presence.open_phase && c->updated_on != INT64_MIN &&
	    c->updated_on > n->presence.max_seen_s)
		n->presence.max_seen_s = c->updated_on;
	if (c->coworker_id <= 0 || !n->core.presence_learned)
		return 0;
	char id[32];
	snprintf(id, sizeof(id), "nx-c-%" PRId64, c->coworker_id);
	bool in = c->to_time == INT64_MIN;
	int64_t at = in ? c->from_time : c->to_time;
	n->core.presence_learned(n->core.userdata, id, in, at * 1000000);
	return 0;
}

static void presence_done(struct nexudus *n)
{
	struct nx_presence *p = &n->presence;
	if (p->max_seen_s != INT64_MIN && p->max_seen_s > p->watermark_s) {
		p->watermark_s = p->max_seen_s;
		struct nx_worker *w = &n->worker;
		pthread_mutex_lock(&w->lock);
		w->meta_value_s = p->watermark_s;
		w->meta_pending = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	p->started = true;
	p->active = false;
	presence_schedule(n, n->presence_interval_us);
}

static void presence_answered(void *userdata, const struct nexudus_reply *reply)
{
	struct nexudus *n = userdata;
	struct nx_presence *p = &n->presence;
	struct nexudus_page page;
	char err[NX_REASON_MAX];
	p->call = 0;
	if (reply->error < 0 || reply->http->outcome != HTTP_OK || reply->http->status != 200) {
		plog(n->services, PORTER_LOG_INFO,
		     "nexudus: reading check-ins made elsewhere failed (%s); asked again later",
		     reply->error < 0                  ? reply->reason
		     : reply->http->outcome != HTTP_OK ? reply->http->error
		                                       : "unexpected HTTP status");
		p->active = false;
		presence_schedule(n, n->presence_interval_us);
		return;
	}
	int r = nexudus_page_parse(reply->http->body, reply->http->body_len, NEXUDUS_CHECKINS,
	                           learn, n, &page, err, sizeof(err));
	if (r < 0) {
		plog(n->services, PORTER_LOG_WARNING, "nexudus: a page of check-ins: %s", err);
		p->active = false;
		presence_schedule(n, n->presence_interval_us);
		return;
	}
	if (page.has_next_page && p->page < NX_PRESENCE_PAGES) {
		p->page++;
		presence_fetch(n);
		return;
	}
	if (p->open_phase) {
		p->open_phase = false;
		p->page = 1;
		presence_fetch(n);
		return;
	}
	presence_done(n);
}

static void presence_begin(void *userdata)
{
	struct nexudus *n = userdata;
	struct nx_presence *p = &n->presence;
	p->timer = 0;
	if (p->active)
		return;
	p->page = 1;
	p->max_seen_s = INT64_MIN;
	p->open_phase = !p->started;
	presence_fetch(n);
}

static void presence_schedule(struct nexudus *n, uint64_t delay_us)
{
	if (n->presence.timer)
		n->services->timer_remove(n->services->host, n->presence.timer);
	n->presence.timer = n->services->timer_add(n->services->host, delay_us, presence_begin, n);
	if (n->presence.timer < 0)
		n->presence.timer = 0;
}

/* ---- start, stop, diagnostics ----------------------------------------------------- */

int nx_meta_open(struct nexudus *n, const char *database_path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	n->presence.watermark_s = n->wall_clock_us() / 1000000 - DAY_S;
	if (!database_path)
		return 0;
	if (sqlite3_open_v2(database_path, &n->meta_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "nexudus: cannot open the database %s (%s)", database_path,
		         n->meta_db ? sqlite3_errmsg(n->meta_db) : "out of memory");
		sqlite3_close(n->meta_db);
		n->meta_db = NULL;
		return -EIO;
	}
	/* The worker waits out the recorder's write lock; losing the newest
	 * watermark to a power cut only means reading a little more again. */
	sqlite3_busy_timeout(n->meta_db, 10000);
	sqlite3_exec(n->meta_db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(n->meta_db, "SELECT value FROM porter_meta WHERE key = ?", -1, &st,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, META_KEY, -1, SQLITE_STATIC);
		int64_t seen;
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
		    timestamp_parse((const char *)sqlite3_column_text(st, 0), &seen) == 0)
			n->presence.watermark_s = seen;
	}
	sqlite3_finalize(st);
	return 0;
}

int nx_sync_start(struct nexudus *n)
{
	struct nx_worker *w = &n->worker;
	unsigned slot = SLOTS;
	pthread_mutex_lock(&slots_lock);
	for (unsigned i = 0; i < SLOTS && slot == SLOTS; i++)
		if (!slots[i])
			slot = i;
	if (slot < SLOTS) {
		slots[slot] = n;
		slot_gen[slot] = (slot_gen[slot] + 1) & 0xffffff;
		w->slot = slot;
		w->gen = slot_gen[slot];
	}
	pthread_mutex_unlock(&slots_lock);
	if (slot == SLOTS)
		return -EMFILE;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	int r = pthread_create(&w->thread, NULL, worker_main, n);
	if (r != 0) {
		pthread_mutex_lock(&slots_lock);
		slots[slot] = NULL;
		pthread_mutex_unlock(&slots_lock);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		return -r;
	}
	w->started = true;
	sync_schedule(n, 0);
	presence_schedule(n, 0);
	return 0;
}

void nx_sync_stop(struct nexudus *n)
{
	struct nx_worker *w = &n->worker;
	if (!w->started) {
		sqlite3_close(n->meta_db);
		n->meta_db = NULL;
		return;
	}
	pthread_mutex_lock(&slots_lock);
	slots[w->slot] = NULL;
	pthread_mutex_unlock(&slots_lock);
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	w->started = false;
	if (n->sync.timer)
		n->services->timer_remove(n->services->host, n->sync.timer);
	if (n->presence.timer)
		n->services->timer_remove(n->services->host, n->presence.timer);
	n->sync.timer = n->presence.timer = 0;
	if (n->sync.body) {
		OPENSSL_cleanse(n->sync.body, n->sync.body_len);
		free(n->sync.body);
		n->sync.body = NULL;
	}
	n->sync.dir = nexudus_directory_free(n->sync.dir);
	sqlite3_close(n->meta_db); /* after the worker wrote the last watermark */
	n->meta_db = NULL;
	/* Session calls in flight are dropped with the session. */
}

int nx_sync_diagnostics(struct nexudus *n, porter_report_fn report, void *userdata)
{
	struct nx_sync *s = &n->sync;
	if (!s->failing_since_us)
		return 0;
	char message[768], since[40], last[40];
	nx_format_time(s->failing_since_us, false, since);
	if (s->last_ok_us)
		nx_format_time(s->last_ok_us, false, last);
	snprintf(message, sizeof(message),
	         "the Nexudus directory sync has failed since %s (last error: %s); porter decides "
	         "with the cache synced %s%s",
	         since, s->last_error, s->last_ok_us ? "at " : "before this start",
	         s->last_ok_us ? last : "");
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = PORTER_SEVERITY_WARNING,
	        .code = "PORTER-D008",
	        .message = message,
	        .fix = "check the network, nexudus.base_url and the account's roles (coworkers "
	               "and visitors list/read); porter tries again every sync interval",
	};
	if (report)
		report(userdata, &r);
	return 1;
}
