/* SPDX-License-Identifier: MIT */
/*
 * admin_outbox.c: `porter-admin outbox`, what is still to reach the backend.
 *
 *   porter-admin outbox (--database FILE | --config CONFIG) [--json] [--dead N]
 *
 * For each backend that delivers and has started on the database (it has a
 * watermark, porter_meta 'outbox.<backend>.delivered_seq', outbox_store.h):
 * the backlog (presence_log rows after the watermark), the oldest change not
 * delivered yet, the last successful delivery and the dead letters (the
 * newest N, and how many). With --config only the config's backend is shown.
 *
 * The exit status is for monitoring scripts: 1 when there are dead letters
 * (changes the backend refused for good, which need a person), 2 when the
 * question could not be answered. The database is opened read-only with a
 * short busy timeout, so this never holds porter back; times are shown as
 * porter stores them (UTC), and text from the database or the backend (a
 * reason) reaches the terminal with control characters shown as '?'.
 */
#include "admin_outbox.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "admin_check.h"
#include "admin_db.h"
#include "config.h"

/* Short: porter's writer holds its lock for one transaction (milliseconds);
 * longer than this and the answer is "busy", not a hang. */
#define BUSY_TIMEOUT_MS 1000
#define DEAD_DEFAULT    20
#define DEAD_MAX        100000
#define BACKEND_MAX     32

struct outbox_options {
	const char *database, *config;
	const char *backend; /* --config: the config's backend; NULL: every one */
	long dead;
	bool json;
};

static const char usage_text[] =
        "usage: porter-admin outbox (--database FILE | --config CONFIG) [--json] [--dead N]\n"
        "What porter still has to deliver to its backend, per backend that delivers:\n"
        "the backlog, the oldest change not delivered yet, the last successful\n"
        "delivery, and the dead letters (the newest N, 20 by default, and how many).\n"
        "--config shows the config's backend in its local.database.\n"
        "Exit status: 0, 1 when there are dead letters, 2 on errors.\n";

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "porter-admin: %s%s%s%s\n", what, arg ? " \"" : "", arg ? arg : "",
	        arg ? "\"" : "");
	fprintf(stderr, "(porter-admin outbox --help shows the usage)\n");
	return 2;
}

static int parse_dead(const char *text, long *ret)
{
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (errno || end == text || *end || n < 0 || n > DEAD_MAX || text[0] == '-')
		return -EINVAL;
	*ret = n;
	return 0;
}

/* Returns 0, -1 when --help was shown, or the exit status 2. */
static int parse(int argc, char **argv, struct outbox_options *o)
{
	static const struct option longopts[] = {
	        {"database", required_argument, NULL, 'b'},
	        {"config", required_argument, NULL, 'c'},
	        {"dead", required_argument, NULL, 'n'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	o->dead = DEAD_DEFAULT;
	optind = 2;
	opterr = 0; /* our own message, naming the option */
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->database = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'n':
			if (parse_dead(optarg, &o->dead) < 0)
				return usage_error("--dead takes a count from 0 to 100000, not",
				                   optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case ':':
			return usage_error("a value is needed after", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument", argv[optind]);
	if (!o->database && !o->config)
		return usage_error("missing --database (or --config)", NULL);
	return 0;
}

/* --config: its backend, and its database unless --database is given. */
static int take_config(struct outbox_options *o)
{
	static const char *const names[] = {
	        [BACKEND_LOCAL] = "local",
	        [BACKEND_WEBHOOK] = "webhook",
	        [BACKEND_NEXUDUS] = "nexudus",
	};
	char err[1536], *text;
	size_t len;
	if (!o->config)
		return 0;
	struct config *site = malloc(sizeof(*site));
	int r = site ? admin_read_config(o->config, &text, &len, err, sizeof(err)) : -ENOMEM;
	if (r < 0) {
		fprintf(stderr, "porter-admin: %s\n", site ? err : "out of memory");
		free(site);
		return r;
	}
	r = config_parse(text, len, site, NULL, NULL);
	free(text);
	if (r < 0)
		fprintf(stderr,
		        "porter-admin: %s is not a config porter accepts "
		        "(porter-admin check --config %s says why)\n",
		        o->config, o->config);
	else {
		o->backend = names[site->backend];
		/* The config outlives this function only through these two: the
		 * path is copied so that `site` can go. */
		if (!o->database)
			o->database = strdup(site->database_path);
	}
	free(site);
	return r < 0 ? r : o->database ? 0 : -ENOMEM;
}

static const char *column(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : NULL;
}

static json_object *text_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* One prepared statement with `backend` (and `n`) bound; NULL on error. */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

/* The backends with a watermark, oldest name first; --config: only its own. */
static int list_backends(sqlite3 *db, const struct outbox_options *o, json_object *ret)
{
	sqlite3_stmt *st = prepare(db, "SELECT substr(key, 8, length(key) - 21), value"
	                               " FROM porter_meta WHERE key LIKE 'outbox.%.delivered_seq'"
	                               " ORDER BY key");
	if (!st)
		return -EIO;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = column(st, 0);
		if (!name || (o->backend && strcmp(name, o->backend) != 0))
			continue;
		json_object *b = json_object_new_object();
		json_object_object_add(b, "backend", json_object_new_string(name));
		json_object_object_add(b, "delivered_seq",
		                       json_object_new_int64(sqlite3_column_int64(st, 1)));
		json_object_array_add(ret, b);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static bool has_dead_letters_table(sqlite3 *db)
{
	sqlite3_stmt *st = prepare(db, "SELECT 1 FROM sqlite_master"
	                               " WHERE type = 'table' AND name = 'dead_letters'");
	bool yes = st && sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/* The backlog and the oldest change after the watermark. */
static int read_backlog(sqlite3 *db, json_object *b, int64_t watermark)
{
	sqlite3_stmt *st =
	        prepare(db, "SELECT count(*), min(seq) FROM presence_log WHERE seq > ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, watermark);
	int rc = sqlite3_step(st);
	int64_t backlog = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	int64_t oldest = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return -EIO;
	json_object_object_add(b, "backlog", json_object_new_int64(backlog));
	if (backlog == 0) {
		json_object_object_add(b, "oldest_undelivered", NULL);
		return 0;
	}
	st = prepare(db, "SELECT seq, recorded_at, person_id, direction, event_key"
	                 " FROM presence_log WHERE seq = ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, oldest);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "seq",
		                       json_object_new_int64(sqlite3_column_int64(st, 0)));
		json_object_object_add(c, "time", text_or_null(column(st, 1)));
		json_object_object_add(c, "person_id", text_or_null(column(st, 2)));
		json_object_object_add(c, "direction", text_or_null(column(st, 3)));
		json_object_object_add(c, "event_key", text_or_null(column(st, 4)));
		json_object_object_add(b, "oldest_undelivered", c);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

static int read_last_delivery(sqlite3 *db, json_object *b, const char *name)
{
	char key[BACKEND_MAX + 64];
	snprintf(key, sizeof(key), "outbox.%s.last_delivery", name);
	sqlite3_stmt *st = prepare(db, "SELECT value FROM porter_meta WHERE key = ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	json_object_object_add(b, "last_delivery",
	                       rc == SQLITE_ROW ? text_or_null(column(st, 0)) : NULL);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* How many dead letters, and the newest `limit` with the change they were. */
static int read_dead(sqlite3 *db, json_object *b, const char *name, long limit, bool table,
                     int64_t *ret_count)
{
	json_object *list = json_object_new_array();
	json_object_object_add(b, "dead_letters", list);
	*ret_count = 0;
	if (!table) { /* no backend ever refused anything here */
		json_object_object_add(b, "dead_letter_count", json_object_new_int64(0));
		return 0;
	}
	sqlite3_stmt *st = prepare(db, "SELECT count(*) FROM dead_letters WHERE backend = ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	*ret_count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return -EIO;
	json_object_object_add(b, "dead_letter_count", json_object_new_int64(*ret_count));
	st = prepare(db, "SELECT d.seq, d.failed_at, d.event_key, l.person_id, l.direction,"
	                 " l.recorded_at, d.reason FROM dead_letters d"
	                 " LEFT JOIN presence_log l ON l.seq = d.seq"
	                 " WHERE d.backend = ?1 ORDER BY d.failed_at DESC, d.seq DESC LIMIT ?2");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "seq",
		                       json_object_new_int64(sqlite3_column_int64(st, 0)));
		json_object_object_add(d, "failed_at", text_or_null(column(st, 1)));
		json_object_object_add(d, "event_key", text_or_null(column(st, 2)));
		json_object_object_add(d, "person_id", text_or_null(column(st, 3)));
		json_object_object_add(d, "direction", text_or_null(column(st, 4)));
		json_object_object_add(d, "recorded_at", text_or_null(column(st, 5)));
		json_object_object_add(d, "reason", text_or_null(column(st, 6)));
		json_object_array_add(list, d);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Everything, in one read transaction so the figures agree. Returns 0, or
 * -EBUSY / -EIO with the message printed. */
static int read_outbox(sqlite3 *db, const struct outbox_options *o, json_object *backends,
                       int64_t *ret_dead)
{
	int r = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
	if (r == 0)
		r = list_backends(db, o, backends);
	bool table = r == 0 && has_dead_letters_table(db);
	*ret_dead = 0;
	for (size_t i = 0; r == 0 && i < json_object_array_length(backends); i++) {
		json_object *b = json_object_array_get_idx(backends, i), *v;
		int64_t dead = 0;
		json_object_object_get_ex(b, "backend", &v);
		const char *name = json_object_get_string(v);
		json_object_object_get_ex(b, "delivered_seq", &v);
		r = read_backlog(db, b, json_object_get_int64(v));
		if (r == 0)
			r = read_last_delivery(db, b, name);
		if (r == 0)
			r = read_dead(db, b, name, o->dead, table, &dead);
		*ret_dead += dead;
	}
	int code = sqlite3_errcode(db);
	if (r < 0 && (code == SQLITE_BUSY || code == SQLITE_LOCKED)) {
		fprintf(stderr,
		        "porter-admin: %s is busy: porter (or another program) held it locked for "
		        "longer than %d ms; try again\n",
		        o->database, BUSY_TIMEOUT_MS);
		return -EBUSY;
	}
	if (r < 0)
		fprintf(stderr, "porter-admin: %s: cannot read the outbox: %s\n", o->database,
		        sqlite3_errmsg(db));
	return r;
}

/* Text from the database or the backend as the terminal shows it: control
 * characters (an escape sequence in a backend's reason) become '?'. */
static void print_clean(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *get(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* "m-ana in at 2026-11-26T07:02:11.123456Z" */
static void print_change(const char *person, const char *direction, const char *at)
{
	print_clean(person ? person : "(not in presence_log)");
	if (direction) {
		printf(" ");
		print_clean(direction);
	}
	if (at) {
		printf(" at ");
		print_clean(at);
	}
}

static void print_backend(json_object *b)
{
	int64_t backlog = get_int(b, "backlog"), dead = get_int(b, "dead_letter_count");
	const char *last = get(b, "last_delivery");
	json_object *oldest, *list;
	print_clean(get(b, "backend")); /* a key in porter_meta: any text */
	printf(": ");
	if (backlog == 0 && dead == 0) { /* the one line of an empty outbox */
		printf("outbox empty, everything delivered (through seq %" PRId64 "); last "
		       "delivery ",
		       get_int(b, "delivered_seq"));
		print_clean(last ? last : "never");
		printf("\n");
		return;
	}
	printf("%" PRId64 " change%s to deliver, %" PRId64 " dead letter%s\n", backlog,
	       backlog == 1 ? "" : "s", dead, dead == 1 ? "" : "s");
	json_object_object_get_ex(b, "oldest_undelivered", &oldest);
	if (oldest) {
		printf("  oldest undelivered: seq %" PRId64 ", ", get_int(oldest, "seq"));
		print_change(get(oldest, "person_id"), get(oldest, "direction"),
		             get(oldest, "time"));
		printf("\n");
	}
	printf("  last delivery: ");
	print_clean(last ? last : "never");
	printf("\n");
	json_object_object_get_ex(b, "dead_letters", &list);
	size_t n = json_object_array_length(list);
	if (dead == 0)
		return;
	if (n == 0)
		printf("  dead letters: %" PRId64 " (--dead N lists the newest N)\n", dead);
	else if ((int64_t)n < dead)
		printf("  dead letters, newest %zu of %" PRId64 " (--dead N shows more):\n", n,
		       dead);
	else
		printf("  dead letters, newest first:\n");
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(list, i);
		printf("    ");
		print_clean(get(d, "failed_at"));
		printf("  seq %" PRId64 " ", get_int(d, "seq"));
		print_clean(get(d, "event_key"));
		printf("  ");
		print_change(get(d, "person_id"), get(d, "direction"), get(d, "recorded_at"));
		printf(": ");
		print_clean(get(d, "reason"));
		printf("\n");
	}
}

static void print_text(const struct outbox_options *o, json_object *backends)
{
	size_t n = json_object_array_length(backends);
	if (n == 0) { /* one line, whatever the reason */
		if (o->backend && strcmp(o->backend, "local") == 0)
			printf("No outbox: the local backend keeps changes on this box (%s).\n",
			       o->database);
		else if (o->backend)
			printf("No outbox yet for %s in %s: porter starts one when it first runs "
			       "with this backend.\n",
			       o->backend, o->database);
		else
			printf("No outbox in %s: no backend that delivers has run on it.\n",
			       o->database);
		return;
	}
	printf("Outbox in %s\n", o->database);
	for (size_t i = 0; i < n; i++)
		print_backend(json_object_array_get_idx(backends, i));
}

static void print_json(const struct outbox_options *o, json_object *backends)
{
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "database", json_object_new_string(o->database));
	json_object_object_add(doc, "backend", text_or_null(o->backend));
	json_object_object_add(doc, "backends", json_object_get(backends));
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

int admin_outbox_main(int argc, char **argv)
{
	struct outbox_options o = {0};
	int r = parse(argc, argv, &o);
	if (r != 0)
		return r < 0 ? 0 : r; /* -1: --help was shown */
	const char *given = o.database;
	if (take_config(&o) < 0)
		return 2;
	char *owned = o.database != given ? (char *)o.database : NULL;
	sqlite3 *db = NULL;
	json_object *backends = json_object_new_array();
	int64_t dead = 0;
	r = backends ? admin_db_open(o.database, "presence database", BUSY_TIMEOUT_MS, &db)
	             : -ENOMEM;
	if (r == 0)
		r = read_outbox(db, &o, backends, &dead);
	sqlite3_close_v2(db); /* ends the read transaction */
	if (r == 0 && o.json)
		print_json(&o, backends);
	else if (r == 0)
		print_text(&o, backends);
	else if (r == -ENOMEM)
		fprintf(stderr, "porter-admin: out of memory\n");
	json_object_put(backends);
	free(owned);
	return r < 0 ? 2 : dead > 0 ? 1 : 0;
}
