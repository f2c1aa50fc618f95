/* SPDX-License-Identifier: MIT */
/*
 * admin_presence.c: `porter-admin presence`, what happened at the door today.
 *
 *   porter-admin presence --database DB | --config CONFIG
 *                         [--directory FILE] [--tz ZONE] [--date YYYY-MM-DD] [--json]
 *
 * Who is in now (the presence table, with since when) and one local day's
 * changes (presence_log, in the order recorded, with the reader and the
 * cause in words), with names from the directory when one is given and times
 * in the machine's time zone or --tz. The database is opened read-only while
 * porter may be writing it (WAL readers do not block the writer); a missing
 * database is an error, never created. Nothing from the database reaches the
 * terminal unfiltered: control characters are shown as '?'.
 *
 * Times in the database are UTC ("2026-11-26T07:02:11.123456Z"); a local day
 * is [00:00, next 00:00) as mktime() places them, so a day with a daylight
 * saving change is 23 or 25 hours long.
 */
#include "admin_presence.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "admin_check.h"
#include "admin_db.h"
#include "config.h"
#include "directory_file.h"
#include "store.h"
#include "utc_time.h"

#define BUSY_TIMEOUT_MS 2000

struct presence_options {
	const char *database, *directory, *config, *tz, *date;
	bool json;
};

struct view {
	const struct presence_options *o;
	struct directory *directory; /* NULL: ids only */
	char zone[256];              /* the time zone's name, for the reader */
	char date[16];               /* the local day shown, YYYY-MM-DD */
	char today[16];
	time_t day_start, day_end;
	json_object *in_now, *history;
};

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: porter-admin presence --database DB | --config CONFIG\n"
	             "                             [--directory FILE] [--tz ZONE]\n"
	             "                             [--date YYYY-MM-DD] [--json]\n"
	             "Who is in now and one day's check-ins and check-outs (today by default),\n"
	             "in local time (the machine's time zone, or --tz like Europe/Berlin), with\n"
	             "names from --directory (or the config's local.directory).\n");
	return status;
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "porter-admin: %s%s%s%s\n", what, arg ? " \"" : "", arg ? arg : "",
	        arg ? "\"" : "");
	fprintf(stderr, "(porter-admin presence --help shows the usage)\n");
	return 2;
}

static int parse(int argc, char **argv, struct presence_options *o)
{
	static const struct option longopts[] = {
	        {"database", required_argument, NULL, 'b'},
	        {"directory", required_argument, NULL, 'd'},
	        {"config", required_argument, NULL, 'c'},
	        {"tz", required_argument, NULL, 'z'},
	        {"date", required_argument, NULL, 'D'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	optind = 2;
	opterr = 0; /* our own message, naming the option */
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->database = optarg;
			break;
		case 'd':
			o->directory = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'z':
			o->tz = optarg;
			break;
		case 'D':
			o->date = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout, 0);
			return -1; /* shown: exit 0 */
		case ':':
			return usage_error("a value is needed after", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument", argv[optind]);
	return 0;
}

/* --config: the database and the directory porter uses, unless given. */
static int take_config(struct presence_options *o, struct config *site)
{
	char err[1536], *text;
	size_t len;
	if (!o->config)
		return 0;
	if (admin_read_config(o->config, &text, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return -EINVAL;
	}
	int r = config_parse(text, len, site, NULL, NULL);
	free(text);
	if (r < 0) {
		fprintf(stderr,
		        "porter-admin: %s is not a config porter accepts "
		        "(porter-admin check --config %s says why)\n",
		        o->config, o->config);
		return r;
	}
	o->database = o->database ? o->database : site->database_path;
	o->directory = o->directory ? o->directory : site->directory_path;
	return 0;
}

/* A zone from the tz database (TZDIR or /usr/share/zoneinfo): glibc takes
 * any other text silently as UTC, which would show wrong times. */
static bool zone_exists(const char *zone)
{
	char path[PATH_MAX];
	struct stat st;
	const char *dir = getenv("TZDIR");
	if (strcmp(zone, "UTC") == 0) /* glibc's own, with or without tzdata */
		return true;
	if (!*zone || zone[0] == '/' || strstr(zone, ".."))
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The name of the zone times are shown in, for the reader to check. */
static void zone_name(const char *tz, char *ret, size_t size)
{
	char link[PATH_MAX];
	ssize_t n;
	if (tz) { /* TZ set but empty: glibc's UTC */
		snprintf(ret, size, "%s", !*tz ? "UTC" : tz[0] == ':' ? tz + 1 : tz);
		return;
	}
	n = readlink("/etc/localtime", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		const char *z = strstr(link, "zoneinfo/");
		if (z) {
			snprintf(ret, size, "%s", z + strlen("zoneinfo/"));
			return;
		}
	}
	tzset();
	snprintf(ret, size, "%s", tzname[0]);
}

static int set_zone(struct view *v)
{
	const char *tz = v->o->tz;
	if (tz) {
		if (!zone_exists(tz[0] == ':' ? tz + 1 : tz)) {
			fprintf(stderr,
			        "porter-admin: unknown time zone \"%s\" (--tz takes a tz database "
			        "name, like Europe/Berlin or UTC)\n",
			        tz);
			return -EINVAL;
		}
		setenv("TZ", tz, 1);
	}
	tzset();
	zone_name(tz ? tz : getenv("TZ"), v->zone, sizeof(v->zone));
	return 0;
}

static void local_date(time_t t, char ret[16])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(ret, 16, "%Y-%m-%d", &tm);
}

/* The local day to show, and its bounds as instants. */
static int set_day(struct view *v)
{
	char probe[32];
	int64_t unused;
	int y, m, d, used = 0;
	local_date(time(NULL), v->today);
	const char *date = v->o->date ? v->o->date : v->today;
	snprintf(probe, sizeof(probe), "%.10sT00:00:00Z", date);
	if (strlen(date) != 10 || utc_time_parse_s(probe, &unused) < 0 ||
	    sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || used != 10) {
		fprintf(stderr, "porter-admin: --date takes a day like 2026-11-26, not \"%s\"\n",
		        date);
		return -EINVAL;
	}
	snprintf(v->date, sizeof(v->date), "%s", date);
	struct tm start = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};
	struct tm end = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + 1, .tm_isdst = -1};
	v->day_start = mktime(&start);
	v->day_end = mktime(&end);
	return 0;
}

/* "2026-11-26T07:02:11.123456Z" (as porter records) or a hand-made row's
 * "2026-11-26T07:02:11Z" -> unix seconds. */
static int parse_recorded(const char *text, time_t *ret)
{
	int64_t t;
	if (text && utc_time_parse_us(text, &t) == 0)
		t = t / 1000000 - (t % 1000000 < 0); /* the second it is in */
	else if (!text || utc_time_parse_s(text, &t) < 0)
		return -EINVAL;
	*ret = (time_t)t;
	return 0;
}

/* "2026-11-26T08:02:11+01:00": local time with its offset, for JSON. */
static void iso_local(time_t t, char ret[40])
{
	struct tm tm;
	localtime_r(&t, &tm);
	size_t n = strftime(ret, 40, "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (n == 24) { /* +0100 -> +01:00 */
		memmove(ret + 23, ret + 22, 3);
		ret[22] = ':';
	}
}

static void utc_bound(time_t t, char ret[32])
{
	utc_time_format_s(t, ret);
	ret[19] = '\0'; /* no "Z" ("" stays "": a day before year 1) */
}

/* The words for what made a change (presence_log.cause). */
static const char *cause_text(const char *cause, char *buf, size_t size)
{
	static const struct {
		const char *cause, *text;
	} words[] = {
	        {"credential", "credential presented"},
	        {"host_cancelled", "reversed: the host gave up on the decision"},
	        {"door_failed", "reversed: the door did not open"},
	        {"daily_cutoff", "automatic check-out at the daily cut-off"},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(cause, words[i].cause) == 0)
			return words[i].text;
	snprintf(buf, size, "%s", cause); /* a cause newer than this tool: its name */
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = ' ';
	return buf;
}

static const char *column(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

/* The person's id, and name when the directory has them (else null). */
static void add_person(json_object *o, const struct view *v, const char *id)
{
	const struct person *p = v->directory ? directory_find_id(v->directory, id) : NULL;
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", p ? json_object_new_string(p->name) : NULL);
}

static void add_time(json_object *o, const char *key, const char *utc_key, const char *text)
{
	char local[40];
	time_t t;
	bool ok = parse_recorded(text, &t) == 0;
	if (ok)
		iso_local(t, local);
	json_object_object_add(o, key, ok ? json_object_new_string(local) : NULL);
	json_object_object_add(o, utc_key, json_object_new_string(text));
}

static int db_error(const char *path, sqlite3 *db, const char *what)
{
	fprintf(stderr, "porter-admin: %s: %s: %s\n", path, what,
	        db ? sqlite3_errmsg(db) : "out of memory");
	return -EIO;
}

static int read_in_now(struct view *v, sqlite3 *db)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT person_id, since FROM presence WHERE state='in'"
	                       " ORDER BY since, person_id",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_error(v->o->database, db, "not porter's presence database");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *o = json_object_new_object();
		add_person(o, v, column(st, 0));
		add_time(o, "since", "since_utc", column(st, 1));
		json_object_array_add(v->in_now, o);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(v->o->database, db, "reading who is in");
}

static int read_history(struct view *v, sqlite3 *db)
{
	char from[32], to[32], words[128];
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT seq, person_id, direction, reader_id, recorded_at, cause"
	                       " FROM presence_log WHERE recorded_at >= ?1 AND recorded_at < ?2"
	                       " ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_error(v->o->database, db, "not porter's presence database");
	/* Text bounds without a fraction or "Z": a time within the start's
	 * second sorts after the start (kept), one within the end's second
	 * after the end (left to the next day). */
	utc_bound(v->day_start, from);
	utc_bound(v->day_end, to);
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "seq",
		                       json_object_new_int64(sqlite3_column_int64(st, 0)));
		add_time(o, "time", "time_utc", column(st, 4));
		add_person(o, v, column(st, 1));
		json_object_object_add(o, "direction", json_object_new_string(column(st, 2)));
		json_object_object_add(o, "reader", json_object_new_string(column(st, 3)));
		json_object_object_add(o, "cause", json_object_new_string(column(st, 5)));
		json_object_object_add(
		        o, "cause_text",
		        json_object_new_string(cause_text(column(st, 5), words, sizeof(words))));
		json_object_array_add(v->history, o);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(v->o->database, db, "reading the presence log");
}

static int read_database(struct view *v)
{
	sqlite3 *db = NULL;
	const char *path = v->o->database;
	int r = admin_db_open(path, "presence database", BUSY_TIMEOUT_MS, &db);
	/* One read transaction: who is in and the log agree with each other. */
	if (r == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		r = db_error(path, db, "cannot read");
	if (r == 0)
		r = read_in_now(v, db);
	if (r == 0)
		r = read_history(v, db);
	sqlite3_close_v2(db); /* ends the read transaction */
	return r;
}

/* Text from the database as the terminal shows it: control characters (an
 * escape sequence in a hand-made row) become '?'. */
static void print_clean(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *get(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static void print_person(const struct view *v, json_object *o)
{
	const char *name = get(o, "name");
	if (name) {
		printf("%s (", name); /* the directory refuses control characters in names */
		print_clean(get(o, "id"));
		printf(")");
		return;
	}
	print_clean(get(o, "id"));
	if (v->directory)
		printf(" (not in the directory)");
}

/* "08:02:11" on the day shown, "2026-11-25 17:40:03" on another. */
static void print_local(const struct view *v, const char *iso, const char *utc)
{
	if (!iso) {
		printf("at ");
		print_clean(utc); /* not a time porter writes: as it is */
		return;
	}
	if (strncmp(iso, v->today, 10) != 0)
		printf("%.10s ", iso);
	printf("%.8s", iso + 11);
}

static void print_text(const struct view *v)
{
	size_t n_in = json_object_array_length(v->in_now);
	size_t n_log = json_object_array_length(v->history);
	bool today = strcmp(v->date, v->today) == 0;

	printf("Presence in %s, times in %s\n", v->o->database, v->zone);
	if (n_in)
		printf("In now: %zu\n", n_in);
	else
		printf("In now: nobody\n");
	for (size_t i = 0; i < n_in; i++) {
		json_object *o = json_object_array_get_idx(v->in_now, i);
		printf("  ");
		print_person(v, o);
		printf(", in since ");
		print_local(v, get(o, "since"), get(o, "since_utc"));
		printf("\n");
	}
	printf("%s %s: ", today ? "Today," : "On", v->date);
	if (n_log)
		printf("%zu change%s\n", n_log, n_log == 1 ? "" : "s");
	else
		printf("no changes\n");
	for (size_t i = 0; i < n_log; i++) {
		json_object *o = json_object_array_get_idx(v->history, i);
		const char *time = get(o, "time");
		printf("  ");
		if (time)
			printf("%.8s", time + 11);
		else
			print_clean(get(o, "time_utc"));
		printf("  %-3s  ", get(o, "direction"));
		print_person(v, o);
		printf(" at reader ");
		print_clean(get(o, "reader"));
		printf(": ");
		print_clean(get(o, "cause_text"));
		printf("\n");
	}
}

static void print_json(const struct view *v)
{
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "database", json_object_new_string(v->o->database));
	json_object_object_add(doc, "time_zone", json_object_new_string(v->zone));
	json_object_object_add(doc, "date", json_object_new_string(v->date));
	json_object_object_add(doc, "in_now", json_object_get(v->in_now));
	json_object_object_add(doc, "history", json_object_get(v->history));
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

/* Names, when a directory is given; a directory porter would refuse still
 * leaves the ids to show. */
static void load_names(struct view *v)
{
	char err[1536];
	if (!v->o->directory)
		return;
	if (directory_file_load(v->o->directory, &v->directory, err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: warning: no names shown: %s\n", err);
		v->directory = NULL;
	}
}

int admin_presence_main(int argc, char **argv)
{
	struct presence_options o = {0};
	struct view v = {.o = &o};
	int r = parse(argc, argv, &o);
	if (r != 0)
		return r < 0 ? 0 : r; /* -1: --help was shown */
	if (set_zone(&v) < 0 || set_day(&v) < 0)
		return 2;
	struct config *site = malloc(sizeof(*site));
	if (!site || take_config(&o, site) < 0) {
		free(site);
		return 1;
	}
	if (!o.database) {
		free(site);
		return usage_error("missing --database (or --config)", NULL);
	}
	v.in_now = json_object_new_array();
	v.history = json_object_new_array();
	load_names(&v);
	r = v.in_now && v.history ? read_database(&v) : -ENOMEM;
	if (r == 0 && o.json)
		print_json(&v);
	else if (r == 0)
		print_text(&v);
	else if (r == -ENOMEM)
		fprintf(stderr, "porter-admin: out of memory\n");
	json_object_put(v.in_now);
	json_object_put(v.history);
	directory_free(v.directory);
	free(site);
	return r == 0 ? 0 : 1;
}
