/* SPDX-License-Identifier: MIT */
/* store.c: SQLite presence log. See store.h. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <sqlite3.h>

struct store {
	sqlite3 *db;
	sqlite3_stmt *insert_log;
	sqlite3_stmt *upsert_presence;
};

static const char schema_sql[] =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS presence_log("
        "  seq INTEGER PRIMARY KEY,"
        "  event_key TEXT NOT NULL UNIQUE,"
        "  person_id TEXT NOT NULL,"
        "  direction TEXT NOT NULL CHECK(direction IN ('in','out')),"
        "  reader_id TEXT NOT NULL,"
        "  recorded_at TEXT NOT NULL,"
        "  cause TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS presence_log_person ON presence_log(person_id, seq);"
        "CREATE TABLE IF NOT EXISTS presence("
        "  person_id TEXT PRIMARY KEY,"
        "  state TEXT NOT NULL CHECK(state IN ('in','out')),"
        "  since TEXT NOT NULL,"
        "  last_seq INTEGER NOT NULL);";

static int db_fail(struct store *s, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return -EIO;
}

int store_open(const char *path, struct store **ret, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	char what[64 + 1024];
	int r;
	*ret = NULL;
	if (!s)
		return -ENOMEM;
	snprintf(what, sizeof(what), "presence database %s", path);
	if (sqlite3_open_v2(path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		r = db_fail(s, err, errlen, what);
		store_close(s);
		return r;
	}
	sqlite3_busy_timeout(s->db, 5000); /* an admin's sqlite3 shell may hold a lock */
	if (sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	            s->db,
	            "INSERT INTO presence_log(event_key, person_id, direction, reader_id,"
	            " recorded_at, cause) VALUES(?,?,?,?,?,?)",
	            -1, &s->insert_log, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	            s->db,
	            "INSERT INTO presence(person_id, state, since, last_seq) VALUES(?,?,?,?)"
	            " ON CONFLICT(person_id) DO UPDATE SET state=excluded.state,"
	            " since=excluded.since, last_seq=excluded.last_seq",
	            -1, &s->upsert_presence, NULL) != SQLITE_OK) {
		r = db_fail(s, err, errlen, what);
		store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct store *store_close(struct store *s)
{
	if (!s)
		return NULL;
	sqlite3_finalize(s->insert_log);
	sqlite3_finalize(s->upsert_presence);
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

int store_load_presence(struct store *s, int (*fn)(void *, const char *, bool), void *userdata,
                        char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r = 0, rc;
	if (sqlite3_prepare_v2(s->db, "SELECT person_id, state FROM presence", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(s, err, errlen, "loading presence");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r == 0) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *state = (const char *)sqlite3_column_text(st, 1);
		if (id && state)
			r = fn(userdata, id, strcmp(state, "in") == 0);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(s, err, errlen, "loading presence");
	sqlite3_finalize(st);
	return r;
}

static void format_time(int64_t at_us, char out[40])
{
	time_t t = (time_t)(at_us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06dZ", (int)(at_us % 1000000));
}

static int record_one(struct store *s, const struct store_change *c)
{
	char when[40];
	const char *dir = c->in ? "in" : "out";
	format_time(c->at_unix_us, when);
	sqlite3_reset(s->insert_log);
	sqlite3_bind_text(s->insert_log, 1, c->event_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->insert_log, 2, c->person_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->insert_log, 3, dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->insert_log, 4, c->reader_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->insert_log, 5, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s->insert_log, 6, c->cause, -1, SQLITE_STATIC);
	if (sqlite3_step(s->insert_log) != SQLITE_DONE)
		return -EIO;
	sqlite3_reset(s->upsert_presence);
	sqlite3_bind_text(s->upsert_presence, 1, c->person_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->upsert_presence, 2, dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->upsert_presence, 3, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->upsert_presence, 4, sqlite3_last_insert_rowid(s->db));
	if (sqlite3_step(s->upsert_presence) != SQLITE_DONE)
		return -EIO;
	return 0;
}

int store_record(struct store *s, const struct store_change *const *changes, size_t n, char *err,
                 size_t errlen)
{
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, err, errlen, "recording presence");
	for (size_t i = 0; i < n; i++) {
		if (record_one(s, changes[i]) < 0) {
			int r = db_fail(s, err, errlen, "recording presence");
			sqlite3_reset(s->insert_log);
			sqlite3_reset(s->upsert_presence);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	/* synchronous=FULL: COMMIT returns once the WAL is fsync'ed. */
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int r = db_fail(s, err, errlen, "committing presence");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	sqlite3_reset(s->insert_log);
	sqlite3_reset(s->upsert_presence);
	return 0;
}

int store_new_event_key(char ret[EVENT_KEY_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	char *out = ret;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*out++ = '-';
		*out++ = hex[b[i] >> 4];
		*out++ = hex[b[i] & 0xf];
	}
	*out = '\0';
	return 0;
}
