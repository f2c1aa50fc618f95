/* SPDX-License-Identifier: MIT */
/* outbox_store.c: the outbox's SQL. See outbox_store.h. */
#include "outbox_store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "utc_time.h"

struct outbox_store {
	sqlite3 *db;
	sqlite3_stmt *read, *count_backlog, *count_dead, *set_watermark, *insert_dead,
	        *set_last_delivery;
	int64_t watermark;
	char backend[OUTBOX_BACKEND_NAME_MAX + 1];
	char watermark_key[OUTBOX_BACKEND_NAME_MAX + 32];
	char last_delivery_key[OUTBOX_BACKEND_NAME_MAX + 32];
};

static const char outbox_sql[] = "CREATE TABLE IF NOT EXISTS dead_letters("
                                 "  seq INTEGER PRIMARY KEY,"
                                 "  event_key TEXT NOT NULL,"
                                 "  backend TEXT NOT NULL,"
                                 "  failed_at TEXT NOT NULL,"
                                 "  reason TEXT NOT NULL);";

static int fail(struct outbox_store *s, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return -EIO;
}

static int prepare_all(struct outbox_store *s)
{
	struct {
		sqlite3_stmt **stmt;
		const char *sql;
	} all[] = {
	        {&s->read, "SELECT seq, event_key, person_id, direction, reader_id, recorded_at,"
	                   " cause FROM presence_log WHERE seq > ? ORDER BY seq LIMIT ?"},
	        {&s->count_backlog, "SELECT count(*) FROM presence_log WHERE seq > ?"},
	        {&s->count_dead, "SELECT count(*) FROM dead_letters WHERE backend = ?"},
	        {&s->set_watermark, "INSERT INTO porter_meta(key, value) VALUES(?, ?)"
	                            " ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
	        {&s->insert_dead, "INSERT OR REPLACE INTO dead_letters(seq, event_key, backend,"
	                          " failed_at, reason) VALUES(?,?,?,?,?)"},
	        {&s->set_last_delivery, "INSERT INTO porter_meta(key, value) VALUES(?, ?)"
	                                " ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (sqlite3_prepare_v2(s->db, all[i].sql, -1, all[i].stmt, NULL) != SQLITE_OK)
			return -EIO;
	return 0;
}

/* The watermark of this backend, made at the newest row the first time. */
static int load_watermark(struct outbox_store *s)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "INSERT OR IGNORE INTO porter_meta(key, value)"
	                            " SELECT ?, coalesce(max(seq), 0) FROM presence_log",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, s->watermark_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT CAST(value AS INTEGER) FROM porter_meta WHERE key = ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, s->watermark_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s->watermark = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int outbox_store_open(const char *path, const char *backend, struct outbox_store **ret, char *err,
                      size_t errlen)
{
	struct outbox_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->backend, sizeof(s->backend), "%s", backend);
	snprintf(s->watermark_key, sizeof(s->watermark_key), "outbox.%s.delivered_seq", backend);
	snprintf(s->last_delivery_key, sizeof(s->last_delivery_key), "outbox.%s.last_delivery",
	         backend);
	int r = -EIO;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto failed;
	/* The recorder may hold the write lock for a batch: wait, never fail. */
	sqlite3_busy_timeout(s->db, 10000);
	/* The watermark need not survive a power cut: a change delivered again
	 * carries the same event key, which the backend deduplicates (webhook-id;
	 * Nexudus: look before writing). NORMAL saves an fsync per delivery. */
	sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (sqlite3_exec(s->db, outbox_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    load_watermark(s) < 0 || prepare_all(s) < 0)
		goto failed;
	*ret = s;
	return 0;
failed:
	fail(s, err, errlen, "outbox");
	outbox_store_close(s);
	return r;
}

struct outbox_store *outbox_store_close(struct outbox_store *s)
{
	if (!s)
		return NULL;
	sqlite3_finalize(s->read);
	sqlite3_finalize(s->count_backlog);
	sqlite3_finalize(s->count_dead);
	sqlite3_finalize(s->set_watermark);
	sqlite3_finalize(s->insert_dead);
	sqlite3_finalize(s->set_last_delivery);
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

int64_t outbox_store_watermark(const struct outbox_store *s)
{
	return s->watermark;
}

static bool copy_column_or_empty(sqlite3_stmt *st, int col, char *out, size_t size,
                                 bool may_be_empty)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);
	if (!text || n < 0 || (n == 0 && !may_be_empty) || (size_t)n >= size)
		return false;
	memcpy(out, text, (size_t)n);
	out[n] = '\0';
	return true;
}

static bool copy_column(sqlite3_stmt *st, int col, char *out, size_t size)
{
	return copy_column_or_empty(st, col, out, size, false);
}

static int read_row(sqlite3_stmt *st, struct delivery *d)
{
	char direction[8], at[40];
	memset(d, 0, sizeof(*d));
	d->seq = sqlite3_column_int64(st, 0);
	if (!copy_column(st, 1, d->event_key, sizeof(d->event_key)) ||
	    !copy_column(st, 2, d->person_id, sizeof(d->person_id)) ||
	    !copy_column(st, 3, direction, sizeof(direction)) ||
	    /* "" for a change made at no reader: the daily check-out */
	    !copy_column_or_empty(st, 4, d->reader_id, sizeof(d->reader_id), true) ||
	    !copy_column(st, 5, at, sizeof(at)) ||
	    !copy_column(st, 6, d->cause, sizeof(d->cause)) ||
	    /* presence_log.recorded_at is always utc_time_format_us's text */
	    utc_time_parse_us(at, &d->at_unix_us) < 0)
		return -EINVAL;
	if (strcmp(direction, "in") != 0 && strcmp(direction, "out") != 0)
		return -EINVAL;
	d->in = direction[0] == 'i';
	return 0;
}

int outbox_store_read(struct outbox_store *s, int64_t after_seq, struct delivery *ret, size_t max,
                      char *err, size_t errlen)
{
	int n = 0, rc;
	sqlite3_reset(s->read);
	sqlite3_bind_int64(s->read, 1, after_seq);
	sqlite3_bind_int64(s->read, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(s->read)) == SQLITE_ROW) {
		if (read_row(s->read, &ret[n]) < 0) {
			snprintf(err, errlen,
			         "presence_log row seq %lld cannot be read as a presence change",
			         (long long)sqlite3_column_int64(s->read, 0));
			sqlite3_reset(s->read);
			return n > 0 ? n : -EINVAL; /* deliver what precedes it first */
		}
		n++;
	}
	sqlite3_reset(s->read);
	return rc == SQLITE_DONE ? n : fail(s, err, errlen, "reading the outbox");
}

static int count(struct outbox_store *s, sqlite3_stmt *st, int64_t *ret)
{
	int rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int outbox_store_count(struct outbox_store *s, int64_t *ret_backlog, int64_t *ret_dead, char *err,
                       size_t errlen)
{
	sqlite3_bind_int64(s->count_backlog, 1, s->watermark);
	sqlite3_bind_text(s->count_dead, 1, s->backend, -1, SQLITE_STATIC);
	if (count(s, s->count_backlog, ret_backlog) < 0 || count(s, s->count_dead, ret_dead) < 0)
		return fail(s, err, errlen, "counting the outbox");
	return 0;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int outbox_store_ack(struct outbox_store *s, int64_t through_seq, const struct outbox_dead *dead,
                     size_t n_dead, int64_t delivered_at_unix_us, char *err, size_t errlen)
{
	char at[UTC_TIME_US_LEN + 1], seq_text[24];
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "outbox");
	int r = 0;
	for (size_t i = 0; i < n_dead && r == 0; i++) {
		/* A time utc_time refuses is stored as "": the dead letter
		 * itself is what the admin must see. */
		utc_time_format_us(dead[i].at_unix_us, at);
		sqlite3_bind_int64(s->insert_dead, 1, dead[i].seq);
		sqlite3_bind_text(s->insert_dead, 2, dead[i].event_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s->insert_dead, 3, s->backend, -1, SQLITE_STATIC);
		sqlite3_bind_text(s->insert_dead, 4, at, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s->insert_dead, 5, dead[i].reason, -1, SQLITE_STATIC);
		r = step_done(s->insert_dead);
	}
	snprintf(seq_text, sizeof(seq_text), "%lld", (long long)through_seq);
	if (r == 0) {
		sqlite3_bind_text(s->set_watermark, 1, s->watermark_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s->set_watermark, 2, seq_text, -1, SQLITE_STATIC);
		r = step_done(s->set_watermark);
	}
	if (r == 0 && delivered_at_unix_us > 0) {
		utc_time_format_us(delivered_at_unix_us, at);
		sqlite3_bind_text(s->set_last_delivery, 1, s->last_delivery_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s->set_last_delivery, 2, at, -1, SQLITE_TRANSIENT);
		r = step_done(s->set_last_delivery);
	}
	if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = -EIO;
	if (r < 0) {
		fail(s, err, errlen, "recording deliveries");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	s->watermark = through_seq;
	return 0;
}
