/* SPDX-License-Identifier: MIT */
/* store.c: SQLite presence log. See store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "utc_time.h"

#define STORE_PATH_MAX 1024 /* config.h: CONFIG_PATH_MAX */

struct store {
	sqlite3 *db;
	sqlite3_stmt *insert_log;
	sqlite3_stmt *upsert_presence;
	sqlite3_stmt *insert_door; /* door_events */
	sqlite3_stmt *insert_pass; /* visitor_pass_uses */
	sqlite3_stmt *delete_pass; /* a reversed check-in gives its pass back */
	char *path, *wal_path;
	/* The -wal file SQLite has open, as it was at store_open: committed
	 * changes live in it until a checkpoint, so it must not vanish either. */
	bool wal_known;
	dev_t wal_dev;
	ino_t wal_ino;
	atomic_bool gone; /* set by the recorder thread, read by diagnostics */
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
        "  last_seq INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS porter_meta("
        "  key TEXT PRIMARY KEY,"
        "  value TEXT NOT NULL);";

/* Denied attempts and lockouts. `at` is UTC text like recorded_at, so it
 * sorts and compares in time order; the index serves pruning by age. */
static const char door_events_sql[] =
        "CREATE TABLE IF NOT EXISTS door_events("
        "  seq INTEGER PRIMARY KEY,"
        "  at TEXT NOT NULL,"
        "  reader_id TEXT NOT NULL,"
        "  code TEXT NOT NULL,"
        "  person_id TEXT,"
        "  detail TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX IF NOT EXISTS door_events_at ON door_events(at);";

/* Single-use visitor passes used (visitor_pass.h): INSERT OR IGNORE, so a
 * pass recorded once stays used at its first time. */
static const char pass_uses_sql[] = "CREATE TABLE IF NOT EXISTS visitor_pass_uses("
                                    "  pass_id TEXT PRIMARY KEY,"
                                    "  person_id TEXT NOT NULL,"
                                    "  used_at TEXT NOT NULL,"
                                    "  valid_until INTEGER NOT NULL);";
/* BLE tokens used (ble_replay.h): per person the last time step counter
 * whose token made a change, written with that change. */
static const char ble_consumed_sql[] = "CREATE TABLE IF NOT EXISTS ble_consumed("
                                       "  person_id TEXT PRIMARY KEY,"
                                       "  counter INTEGER NOT NULL);";

static int db_fail(struct store *s, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return -EIO;
}

/* ---- opening: who runs porter, and can it write there? ------------------ */

/* "uid 65534 (nobody)": the user an admin has to give the files to. */
static void describe_user(uid_t uid, char *ret, size_t len)
{
	struct passwd pw, *found = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found)
		snprintf(ret, len, "uid %u (%s)", (unsigned)uid, found->pw_name);
	else
		snprintf(ret, len, "uid %u", (unsigned)uid);
}

/* The name chown wants: the user name, or the number. */
static void user_name(uid_t uid, char *ret, size_t len)
{
	struct passwd pw, *found = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found)
		snprintf(ret, len, "%s", found->pw_name);
	else
		snprintf(ret, len, "%u", (unsigned)uid);
}

static void dir_of(const char *path, char *ret, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(ret, len, ".");
	else if (slash == path)
		snprintf(ret, len, "/");
	else
		snprintf(ret, len, "%.*s", (int)(slash - path), path);
}

void store_marker_path(const char *path, char *ret, size_t len)
{
	/* A dot file beside the database: `rm presence.db*` does not take it. */
	char dir[STORE_PATH_MAX];
	const char *slash = strrchr(path, '/');
	dir_of(path, dir, sizeof(dir));
	snprintf(ret, len, "%s/.%s.marker", dir, slash ? slash + 1 : path);
}

static int problem(struct store_open_report *rep, int r, const char *fix, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int problem(struct store_open_report *rep, int r, const char *fix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
	snprintf(rep->fix, sizeof(rep->fix), "%s", fix ? fix : "");
	return r;
}

/* The database's folder or file is on a file system mounted read-only. */
static int read_only_file_system(const char *path, struct store_open_report *rep)
{
	return problem(rep, -EINVAL,
	               "set local.database to a path on a writable file system, or mount it "
	               "read-write",
	               "presence database %s is on a read-only file system: porter would start "
	               "and then refuse every check-in",
	               path);
}

/* SQLite creates path-wal and path-shm beside the database, on every start. */
static int check_directory(const char *path, struct store_open_report *rep)
{
	char dir[STORE_PATH_MAX], who[320], name[256], fix[4608];
	struct stat st;
	dir_of(path, dir, sizeof(dir));
	int missing = stat(dir, &st) != 0 ? errno : 0;
	describe_user(geteuid(), who, sizeof(who));
	user_name(geteuid(), name, sizeof(name));
	if (missing) {
		snprintf(fix, sizeof(fix),
		         "create %s, owned by %s (mkdir -p %s && chown %s %s), or set "
		         "local.database to a path in an existing directory",
		         dir, name, dir, name, dir);
		return problem(rep, -EINVAL, fix,
		               "presence database %s: its directory %s cannot be used: %s", path,
		               dir, strerror(missing));
	}
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno == EROFS)
		return read_only_file_system(path, rep);
	snprintf(fix, sizeof(fix),
	         "let %s write to %s: chown %s %s (it is mode %04o, owner uid %u)", who, dir, name,
	         dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	return problem(rep, -EINVAL, fix,
	               "the directory %s of presence database %s is not writable by porter, "
	               "running as %s: SQLite must create %s-wal and %s-shm there, so porter would "
	               "start and then refuse every check-in",
	               dir, path, who, path, path);
}

static int check_writable(const char *path, const struct stat *st, struct store_open_report *rep)
{
	char who[320], name[256], fix[4608];
	if (!S_ISREG(st->st_mode))
		return problem(rep, -EINVAL, "set local.database to the path of a regular file",
		               "presence database %s is not a regular file", path);
	if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) == 0)
		return 0;
	if (errno == EROFS)
		return read_only_file_system(path, rep);
	describe_user(geteuid(), who, sizeof(who));
	user_name(geteuid(), name, sizeof(name));
	snprintf(fix, sizeof(fix),
	         "give it to the user porter runs as: chown %s %s && chmod 0600 %s", name, path,
	         path);
	return problem(
	        rep, -EINVAL, fix,
	        "presence database %s is not writable by porter, running as %s (the file is "
	        "mode %04o, owner uid %u): porter would start and then refuse every check-in",
	        path, who, (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid);
}

/* Presence is personal data: the database and its -wal/-shm (which SQLite
 * creates with the database's mode) are for the owner only. A looser file is
 * tightened, not refused: porter keeps working and the data stops leaking. */
static int tighten(const char *path, struct store_open_report *rep)
{
	struct stat st;
	if (stat(path, &st) != 0 || !(st.st_mode & 077))
		return 0;
	mode_t mode = st.st_mode & 0700;
	if (chmod(path, mode) != 0) {
		char fix[2048];
		snprintf(fix, sizeof(fix), "chmod 0600 %s, as its owner (uid %u)", path,
		         (unsigned)st.st_uid);
		return problem(
		        rep, -EINVAL, fix,
		        "%s is readable by others (mode %04o) and porter cannot change that: "
		        "%s",
		        path, (unsigned)(st.st_mode & 07777), strerror(errno));
	}
	size_t n = strlen(rep->warning);
	snprintf(rep->warning + n, sizeof(rep->warning) - n,
	         "%s%s was mode %04o, readable by others; porter changed it to %04o (presence is "
	         "personal data)",
	         n ? "; " : "", path, (unsigned)(st.st_mode & 07777), (unsigned)mode);
	return 0;
}

static int tighten_all(struct store *s, struct store_open_report *rep)
{
	char shm[STORE_PATH_MAX + 8];
	snprintf(shm, sizeof(shm), "%s-shm", s->path);
	int r = tighten(s->path, rep);
	if (r == 0)
		r = tighten(s->wal_path, rep);
	if (r == 0)
		r = tighten(shm, rep);
	return r;
}

/* Lost state is not a first start: a database porter made before and that
 * is gone now is refused, with the way back, instead of silently starting
 * with nobody checked in. */
static int check_not_lost(const char *path, struct store_open_report *rep)
{
	char marker[STORE_PATH_MAX + 16], fix[2560];
	store_marker_path(path, marker, sizeof(marker));
	if (access(marker, F_OK) != 0)
		return 0;
	snprintf(
	        fix, sizeof(fix),
	        "restore %s (and %s-wal, if the backup has one) from a backup and start again; or, "
	        "to start with nobody checked in, remove %s",
	        path, path, marker);
	return problem(rep, -EINVAL, fix,
	               "presence database %s is missing, but porter created it before (%s says "
	               "so): starting on a new one would forget who is checked in",
	               path, marker);
}

/* Create the database file ourselves, so it is 0600 from its first byte.
 * The fd is closed before SQLite opens the file: closing a descriptor drops
 * every POSIX lock the process holds on the file, SQLite's included. */
static int create_file(const char *path, struct store_open_report *rep)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno != EEXIST)
		return problem(rep, -EIO, NULL, "presence database %s: cannot create it: %s", path,
		               strerror(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

static int write_marker(const char *path, struct store_open_report *rep)
{
	char marker[STORE_PATH_MAX + 16];
	store_marker_path(path, marker, sizeof(marker));
	if (access(marker, F_OK) == 0)
		return 0;
	int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return problem(rep, -EIO, NULL, "presence database %s: cannot create %s: %s", path,
		               marker, strerror(errno));
	dprintf(fd,
	        "porter created %s. While this file exists, porter refuses to start without that\n"
	        "database instead of starting again with nobody checked in. Remove this file to\n"
	        "start with an empty presence database.\n",
	        path);
	int r = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	if (r < 0)
		return problem(rep, r, NULL, "presence database %s: cannot write %s: %s", path,
		               marker, strerror(-r));
	/* The new names (database and marker) survive a power cut together. */
	char dir[STORE_PATH_MAX];
	dir_of(path, dir, sizeof(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* SQLite waited its busy timeout (5 s) for another program's lock. */
static int held_locked(struct store *s, struct store_open_report *rep)
{
	return problem(rep, -EBUSY,
	               "close the program that holds it (an sqlite3 shell in a transaction?) "
	               "and start again",
	               "presence database %s stayed locked by another program for 5 s", s->path);
}

static bool is_locked(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Write once at start: SQLite opens a database it cannot write read-only,
 * or fails only at the first write; porter must not start on such a file. */
static int write_test(struct store *s, struct store_open_report *rep)
{
	sqlite3_stmt *st = NULL;
	char now[UTC_TIME_US_LEN + 1];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	utc_time_format_us((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, now);
	int rc = sqlite3_prepare_v2(s->db,
	                            "INSERT INTO porter_meta(key, value) VALUES('last_start', ?)"
	                            " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && !sqlite3_db_readonly(s->db, "main"))
		return 0;
	if (is_locked(rc))
		return held_locked(s, rep);
	if (rc == SQLITE_FULL)
		return problem(rep, -ENOSPC, "free space on its file system",
		               "presence database %s cannot be written: the disk is full", s->path);
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN &&
	    (rc & 0xff) != SQLITE_PERM)
		return problem(rep, -EIO, NULL, "presence database %s cannot be written: %s",
		               s->path, sqlite3_errmsg(s->db));
	return problem(rep, -EINVAL,
	               "make the database file and its directory writable by the user porter runs "
	               "as (chmod 0600 on the file)",
	               "presence database %s cannot be written: %s", s->path,
	               rc == SQLITE_OK ? "SQLite opened it read-only" : sqlite3_errmsg(s->db));
}

static void remember_wal(struct store *s)
{
	struct stat st;
	/* The name SQLite itself uses (it resolves symbolic links). */
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
	char *copy = wal && *wal ? strdup(wal) : NULL;
	if (copy) {
		free(s->wal_path);
		s->wal_path = copy;
	}
	s->wal_known = stat(s->wal_path, &st) == 0;
	if (s->wal_known) {
		s->wal_dev = st.st_dev;
		s->wal_ino = st.st_ino;
	}
}

static int prepare_door_events(struct store *s)
{
	int rc = sqlite3_exec(s->db, door_events_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, pass_uses_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		        s->db,
		        "INSERT OR IGNORE INTO visitor_pass_uses(pass_id, person_id,"
		        " used_at, valid_until) VALUES(?,?,?,?)",
		        -1, &s->insert_pass, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
		                        "DELETE FROM visitor_pass_uses WHERE pass_id=? AND"
		                        " person_id=? AND used_at=?",
		                        -1, &s->delete_pass, NULL);
	if (rc != SQLITE_OK)
		return rc;
	return sqlite3_prepare_v2(s->db,
	                          "INSERT INTO door_events(at, reader_id, code, person_id, detail)"
	                          " VALUES(?,?,?,?,?)",
	                          -1, &s->insert_door, NULL);
}

static int prepare(struct store *s, struct store_open_report *rep)
{
	char what[STORE_PATH_MAX + 32];
	snprintf(what, sizeof(what), "presence database %s", s->path);
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return db_fail(s, rep->error, sizeof(rep->error), what);
	sqlite3_busy_timeout(s->db, 5000); /* an admin's sqlite3 shell may hold a lock */
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return write_test(s, rep);
	int rc = sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = prepare_door_events(s);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, ble_consumed_sql, NULL, NULL, NULL);
	if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN)
		return write_test(s, rep);
	if (rc != SQLITE_OK ||
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
	            -1, &s->upsert_presence, NULL) != SQLITE_OK)
		return is_locked(sqlite3_errcode(s->db))
		               ? held_locked(s, rep)
		               : db_fail(s, rep->error, sizeof(rep->error), what);
	return write_test(s, rep);
}

int store_check(const char *path, struct store_open_report *rep)
{
	struct stat st;
	int r;
	memset(rep, 0, sizeof(*rep));
	bool exists = stat(path, &st) == 0;
	if (!exists && errno != ENOENT)
		return problem(rep, -EINVAL, "check local.database and the directories on its path",
		               "presence database %s cannot be used: %s", path, strerror(errno));
	r = exists ? 0 : check_not_lost(path, rep);
	if (r == 0)
		r = check_directory(path, rep);
	if (r == 0 && exists)
		r = check_writable(path, &st, rep);
	return r;
}

int store_open(const char *path, struct store **ret, struct store_open_report *rep)
{
	*ret = NULL;
	int r = store_check(path, rep);
	if (r == 0)
		r = create_file(path, rep);
	if (r < 0)
		return r;

	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	atomic_init(&s->gone, false);
	s->path = strdup(path);
	if (!s->path || asprintf(&s->wal_path, "%s-wal", path) < 0) {
		s->wal_path = NULL;
		store_close(s);
		return -ENOMEM;
	}
	r = tighten_all(s, rep); /* before SQLite opens: -wal/-shm an older porter made */
	if (r == 0)
		r = prepare(s, rep);
	if (r == 0)
		r = write_marker(path, rep);
	if (r < 0) {
		store_close(s);
		return r;
	}
	remember_wal(s);
	*ret = s;
	return 0;
}

struct store *store_close(struct store *s)
{
	if (!s)
		return NULL;
	sqlite3_finalize(s->insert_log);
	sqlite3_finalize(s->upsert_presence);
	sqlite3_finalize(s->insert_door);
	sqlite3_finalize(s->insert_pass);
	sqlite3_finalize(s->delete_pass);
	sqlite3_close(s->db);
	free(s->path);
	free(s->wal_path);
	free(s);
	return NULL;
}

bool store_gone(const struct store *s)
{
	return s && atomic_load(&((struct store *)s)->gone);
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

int store_load_pass_uses(struct store *s, int (*fn)(void *, const char *, int64_t), void *userdata,
                         int64_t now_s, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r = 0, rc;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT pass_id, valid_until FROM visitor_pass_uses"
	                       " WHERE valid_until > ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, err, errlen, "loading used visitor passes");
	sqlite3_bind_int64(st, 1, now_s);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r == 0) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (id)
			r = fn(userdata, id, sqlite3_column_int64(st, 1));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(s, err, errlen, "loading used visitor passes");
	sqlite3_finalize(st);
	return r;
}

/* recorded_at text ("2026-11-26T03:44:16.123456Z", see utc_time.h) back
 * to unix us; 0 (before any cut-off) when it is not in that form. */
static int64_t parse_time(const char *text)
{
	int64_t us;
	return utc_time_parse_us(text, &us) == 0 ? us : 0;
}

int store_load_in_since(struct store *s, int (*fn)(void *, const char *, int64_t), void *userdata,
                        char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r = 0, rc;
	if (sqlite3_prepare_v2(s->db, "SELECT person_id, since FROM presence", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(s, err, errlen, "loading presence");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r == 0) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *since = (const char *)sqlite3_column_text(st, 1);
		if (id && since)
			r = fn(userdata, id, parse_time(since));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(s, err, errlen, "loading presence");
	sqlite3_finalize(st);
	return r;
}

static int record_ble_consumed(struct store *s, const struct store_change *c)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db,
	                       "INSERT INTO ble_consumed(person_id, counter) VALUES(?,?)"
	                       " ON CONFLICT(person_id) DO UPDATE SET"
	                       " counter=max(counter, excluded.counter)",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, c->person_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->ble_counter);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_load_ble_consumed(struct store *s, int (*fn)(void *, const char *, uint64_t),
                            void *userdata, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r = 0, rc;
	if (sqlite3_prepare_v2(s->db, "SELECT person_id, counter FROM ble_consumed", -1, &st,
	                       NULL) != SQLITE_OK)
		return db_fail(s, err, errlen, "loading used BLE tokens");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r == 0) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (id)
			r = fn(userdata, id, (uint64_t)sqlite3_column_int64(st, 1));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(s, err, errlen, "loading used BLE tokens");
	sqlite3_finalize(st);
	return r;
}

/* The reversal of a single-use pass's check-in: the visitor was not let
 * in, so the use that check-in made (and only that one: its time) goes. */
static int give_pass_back(struct store *s, const struct store_change *c)
{
	char used_at[UTC_TIME_US_LEN + 1];
	if (utc_time_format_us(c->pass_used_at_unix_us, used_at) < 0)
		return -ERANGE;
	sqlite3_reset(s->delete_pass);
	sqlite3_bind_text(s->delete_pass, 1, c->pass_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->delete_pass, 2, c->person_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->delete_pass, 3, used_at, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s->delete_pass);
	sqlite3_reset(s->delete_pass);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int record_one(struct store *s, const struct store_change *c)
{
	char when[UTC_TIME_US_LEN + 1];
	const char *dir = c->in ? "in" : "out";
	if (utc_time_format_us(c->at_unix_us, when) < 0)
		return -ERANGE;
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
	if (c->ble_counter && record_ble_consumed(s, c) < 0)
		return -EIO;
	if (!c->pass_id)
		return 0;
	if (!c->in)
		return give_pass_back(s, c);
	sqlite3_reset(s->insert_pass);
	sqlite3_bind_text(s->insert_pass, 1, c->pass_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->insert_pass, 2, c->person_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->insert_pass, 3, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->insert_pass, 4, c->pass_valid_until);
	return sqlite3_step(s->insert_pass) == SQLITE_DONE ? 0 : -EIO;
}

/*
 * Deleted or replaced under porter (rm presence.db*, a restore over it, a
 * moved directory): SQLite keeps writing to the files it has open, which are
 * no longer the ones at the path, so a change "recorded" now is lost at the
 * next start. Checked before every commit.
 */
static int check_still_there(struct store *s, char *err, size_t errlen)
{
	int moved = 0;
	struct stat st;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK)
		moved = 0;
	if (!moved && s->wal_known &&
	    (stat(s->wal_path, &st) != 0 || st.st_dev != s->wal_dev || st.st_ino != s->wal_ino))
		moved = 1;
	if (!moved)
		return 0;
	atomic_store(&s->gone, true);
	snprintf(err, errlen,
	         "presence database %s (or its -wal file) was deleted or replaced while porter "
	         "ran: nothing is recorded until it is restored and porter restarted",
	         s->path);
	return -EIO;
}

static int record_door_event(struct store *s, const struct store_door_event *ev)
{
	char when[UTC_TIME_US_LEN + 1];
	if (utc_time_format_us(ev->at_unix_us, when) < 0)
		return -ERANGE;
	sqlite3_reset(s->insert_door);
	sqlite3_bind_text(s->insert_door, 1, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s->insert_door, 2, ev->reader_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->insert_door, 3, ev->code, -1, SQLITE_STATIC);
	if (ev->person_id[0])
		sqlite3_bind_text(s->insert_door, 4, ev->person_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s->insert_door, 4);
	sqlite3_bind_text(s->insert_door, 5, ev->detail, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s->insert_door);
	sqlite3_reset(s->insert_door);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Under a savepoint: a door event that cannot be written must never cost a
 * presence change its commit. */
static bool record_door_events(struct store *s, const struct store_door_event *events, size_t m)
{
	if (m == 0)
		return true;
	if (sqlite3_exec(s->db, "SAVEPOINT door", NULL, NULL, NULL) != SQLITE_OK)
		return false;
	bool ok = true;
	for (size_t i = 0; i < m && ok; i++)
		ok = record_door_event(s, &events[i]) == 0;
	if (!ok)
		sqlite3_exec(s->db, "ROLLBACK TO door", NULL, NULL, NULL);
	sqlite3_exec(s->db, "RELEASE door", NULL, NULL, NULL);
	return ok;
}

int store_record(struct store *s, const struct store_change *const *changes, size_t n, char *err,
                 size_t errlen)
{
	return store_record_with_events(s, changes, n, NULL, 0, NULL, err, errlen);
}

int store_record_with_events(struct store *s, const struct store_change *const *changes, size_t n,
                             const struct store_door_event *events, size_t m,
                             bool *ret_events_failed, char *err, size_t errlen)
{
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, err, errlen, "recording presence");
	for (size_t i = 0; i < n; i++) {
		int one = record_one(s, changes[i]);
		if (one < 0) {
			int r = db_fail(s, err, errlen, "recording presence");
			if (one == -ERANGE) { /* a wall clock before 1970 or after 9999 */
				snprintf(
				        err, errlen,
				        "recording presence: the wall clock is outside 1970..9999");
				r = -ERANGE;
			}
			sqlite3_reset(s->insert_log);
			sqlite3_reset(s->upsert_presence);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	bool events_ok = record_door_events(s, events, m);
	if (ret_events_failed)
		*ret_events_failed = !events_ok;
	int gone = check_still_there(s, err, errlen);
	if (gone < 0) {
		sqlite3_reset(s->insert_log);
		sqlite3_reset(s->upsert_presence);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return gone;
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

/* One bounded DELETE: the recorder thread holds the write lock only briefly,
 * and a table that grew far past its bound shrinks over several calls. */
static int prune_step(struct store *s, const char *sql, const char *text, int64_t value, int limit)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 1, value);
	sqlite3_bind_int(st, 2, limit);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? sqlite3_changes(s->db) : -EIO;
}

int store_prune_door_events(struct store *s, int64_t before_unix_us, int64_t max_rows, int limit,
                            char *err, size_t errlen)
{
	char before[UTC_TIME_US_LEN + 1];
	int deleted = 0, r = 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, err, errlen, "pruning door events");
	if (before_unix_us > 0) {
		utc_time_format_us(before_unix_us, before); /* "" (none) if out of range */
		r = prune_step(s,
		               "DELETE FROM door_events WHERE seq IN (SELECT seq FROM door_events"
		               " WHERE at < ?1 ORDER BY at LIMIT ?2)",
		               before, 0, limit);
		deleted += r > 0 ? r : 0;
	}
	/* seq grows by one per row and only the oldest are deleted, so the
	 * newest max_rows rows are those above max(seq) - max_rows. */
	if (r >= 0 && max_rows > 0 && deleted < limit) {
		r = prune_step(s,
		               "DELETE FROM door_events WHERE seq IN (SELECT seq FROM door_events"
		               " WHERE seq <= (SELECT max(seq) FROM door_events) - ?1"
		               " ORDER BY seq LIMIT ?2)",
		               NULL, max_rows, limit - deleted);
		deleted += r > 0 ? r : 0;
	}
	if (r < 0 || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int e = db_fail(s, err, errlen, "pruning door events");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return e;
	}
	return deleted;
}

#define KEY_RANDOM_BYTES 10 /* 74 random bits after the version and variant */
#define KEYS_PER_DRAW    256

static void format_key(char ret[EVENT_KEY_LEN + 1], int64_t at_unix_us, const uint8_t *rnd)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t ms = at_unix_us > 0 ? (uint64_t)at_unix_us / 1000 : 0;
	uint8_t b[16];
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	memcpy(b + 6, rnd, KEY_RANDOM_BYTES);
	b[6] = (b[6] & 0x0f) | 0x70; /* version 7 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 9562 variant */
	char *out = ret;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*out++ = '-';
		*out++ = hex[b[i] >> 4];
		*out++ = hex[b[i] & 0xf];
	}
	*out = '\0';
}

int store_make_event_keys(struct store_change *const *changes, size_t n)
{
	uint8_t rnd[KEYS_PER_DRAW * KEY_RANDOM_BYTES];
	size_t left = 0, used = 0;
	for (size_t i = 0; i < n; i++) {
		if (changes[i]->event_key[0])
			continue; /* made when first written: a retry keeps it */
		if (used == left) {
			size_t want = 0;
			for (size_t k = i; k < n && want < KEYS_PER_DRAW; k++)
				want += !changes[k]->event_key[0];
			if (RAND_bytes(rnd, (int)(want * KEY_RANDOM_BYTES)) != 1)
				return -EIO;
			left = want;
			used = 0;
		}
		format_key(changes[i]->event_key, changes[i]->at_unix_us,
		           rnd + used++ * KEY_RANDOM_BYTES);
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

int store_new_event_key(char ret[EVENT_KEY_LEN + 1])
{
	struct timespec ts;
	struct store_change c = {0};
	struct store_change *one[] = {&c};
	clock_gettime(CLOCK_REALTIME, &ts);
	c.at_unix_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	int r = store_make_event_keys(one, 1);
	if (r == 0)
		memcpy(ret, c.event_key, sizeof(c.event_key));
	return r;
}
