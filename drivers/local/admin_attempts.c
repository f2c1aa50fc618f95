/* SPDX-License-Identifier: MIT */
/*
 * admin_attempts.c: `porter-admin attempts`, what happened at the door.
 *
 *   porter-admin attempts --database FILE [--directory FILE]
 *                         [--since today|YYYY-MM-DD|T] [--json]
 *
 * Lists door_events (store.h): denied attempts and lockouts, oldest first,
 * in local time, with the reader, the reason in words and the person where
 * the PIN identified one (named from --directory when given). The database
 * is opened read-only, so this is safe while porter runs. No PIN is ever
 * stored, so none can be shown.
 */
#include "admin_attempts.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "admin_db.h"
#include "directory.h"
#include "directory_file.h"
#include "utc_time.h"

struct attempts_options {
	const char *database, *directory, *since;
	bool json, help;
};

static const char usage_text[] =
        "usage: porter-admin attempts --database FILE [--directory FILE]\n"
        "                             [--since today|YYYY-MM-DD|T] [--json]\n"
        "Denied attempts and lockouts, oldest first, in local time. --since takes a\n"
        "local day (YYYY-MM-DD or today) or a UTC time like 2026-11-25T18:00:00Z.\n"
        "--directory names the people the record identifies.\n";

/* The deny and lockout codes in words; an unknown code is shown as it is. */
static const char *reason(const char *code)
{
	static const char *const words[][2] = {
	        {"unknown_pin", "PIN not recognised"},
	        {"locked_out", "keypad locked: attempt during a lockout"},
	        {"lockout_started", "keypad locked after wrong PINs"},
	        {"lockout_ended", "lockout ended"},
	        {"lockout_lifted", "lockout lifted by an admin"},
	        {"wrong_keypad", "a PIN this keypad does not take (members or visitors only)"},
	        {"ambiguous_pin", "a PIN several people have"},
	        {"membership_expired", "membership has ended"},
	        {"membership_not_yet_valid", "membership not active yet"},
	        {"visitor_pass_expired", "visitor pass has expired"},
	        {"visitor_pass_not_yet_valid", "visitor pass not valid yet"},
	        {"visitor_checkin_disabled", "visitor check-in is off here"},
	        {"visitor_checkin_unsupported", "visitor check-in is not available at this door"},
	        {"busy", "porter was busy: too many changes waiting for the disk"},
	        {"not_recorded", "attempts not recorded: too many at once"},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(code, words[i][0]) == 0)
			return words[i][1];
	return code;
}

static int parse(int argc, char **argv, struct attempts_options *o)
{
	static const struct option longopts[] = {
	        {"database", required_argument, NULL, 'b'},
	        {"directory", required_argument, NULL, 'd'},
	        {"since", required_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->database = optarg;
			break;
		case 'd':
			o->directory = optarg;
			break;
		case 's':
			o->since = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			o->help = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "porter-admin: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->help && !o->database) {
		fprintf(stderr, "porter-admin: attempts needs --database FILE\n");
		return -EINVAL;
	}
	return 0;
}

/* --since as the stored UTC text ("2026-11-25T18:00:00.000000Z"). */
static int since_text(const char *since, char ret[40])
{
	int64_t t;
	struct tm tm = {0};
	char *end = NULL;
	time_t now = time(NULL);
	if (strcmp(since, "today") == 0) {
		localtime_r(&now, &tm);
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	} else if ((end = strptime(since, "%Y-%m-%d", &tm)) && *end == '\0') {
		tm.tm_isdst = -1; /* local midnight, whatever the season */
		t = mktime(&tm);
	} else if (timestamp_parse(since, &t) < 0) {
		fprintf(stderr,
		        "porter-admin: --since \"%s\": give today, a local day like 2026-11-25 or "
		        "a "
		        "UTC time like 2026-11-25T18:00:00Z\n",
		        since);
		return -EINVAL;
	}
	/* Before 1970 (or past 9999) this is "", which sorts before every
	 * recorded time just as that time's text would: all are listed. */
	utc_time_format_us(t * 1000000, ret);
	return 0;
}

/* The stored UTC text in local time, "2026-11-25 19:00:03". */
static void local_time(const char *at, char ret[32])
{
	struct tm tm;
	int64_t us;
	if (!at || utc_time_parse_us(at, &us) < 0) {
		snprintf(ret, 32, "%s", at ? at : "?");
		return;
	}
	time_t t = (time_t)(us / 1000000);
	localtime_r(&t, &tm);
	strftime(ret, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static void json_string(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

struct row {
	const char *at, *reader, *code, *person, *detail, *name;
};

static void print_row(const struct row *r, bool json, bool first)
{
	char when[32];
	local_time(r->at, when);
	if (!json) {
		printf("%s  %-12s  %s", when, r->reader, reason(r->code));
		if (r->person)
			printf("  [%s%s%s%s]", r->name ? r->name : "", r->name ? " (" : "",
			       r->person, r->name ? ")" : "");
		if (r->detail && r->detail[0])
			printf(": %s", r->detail);
		putchar('\n');
		return;
	}
	printf("%s\n  {\"at\":", first ? "" : ",");
	json_string(r->at);
	printf(",\"local_time\":");
	json_string(when);
	printf(",\"reader_id\":");
	json_string(r->reader);
	printf(",\"code\":");
	json_string(r->code);
	printf(",\"reason\":");
	json_string(reason(r->code));
	printf(",\"person_id\":");
	json_string(r->person);
	printf(",\"name\":");
	json_string(r->name);
	printf(",\"detail\":");
	json_string(r->detail);
	putchar('}');
}

static bool has_table(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool found = sqlite3_prepare_v2(db,
	                                "SELECT 1 FROM sqlite_master WHERE type='table'"
	                                " AND name='door_events'",
	                                -1, &st, NULL) == SQLITE_OK &&
	             sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static int list(sqlite3 *db, const struct attempts_options *o, const char *since,
                const struct directory *people)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	if (!has_table(db)) {
		printf(o->json ? "[]\n"
		               : "no denied attempts recorded: this database has no "
		                 "door_events yet (porter records them from this version)\n");
		return 0;
	}
	if (sqlite3_prepare_v2(db,
	                       "SELECT at, reader_id, code, person_id, detail FROM door_events"
	                       " WHERE at >= ?1 ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "porter-admin: %s: %s\n", o->database, sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
	if (o->json)
		putchar('[');
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row r = {
		        .at = (const char *)sqlite3_column_text(st, 0),
		        .reader = (const char *)sqlite3_column_text(st, 1),
		        .code = (const char *)sqlite3_column_text(st, 2),
		        .person = (const char *)sqlite3_column_text(st, 3),
		        .detail = (const char *)sqlite3_column_text(st, 4),
		};
		if (!r.reader || !r.code)
			continue;
		const struct person *p =
		        r.person && people ? directory_find_id(people, r.person) : NULL;
		r.name = p ? p->name : NULL;
		print_row(&r, o->json, n++ == 0);
	}
	if (o->json)
		printf("%s]\n", n ? "\n" : "");
	else if (n == 0)
		printf("no denied attempts or lockouts%s\n", o->since ? " in that time" : "");
	int status = rc == SQLITE_DONE ? 0 : 1;
	if (status)
		fprintf(stderr, "porter-admin: %s: %s\n", o->database, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return status;
}

int admin_attempts_main(int argc, char **argv)
{
	struct attempts_options o = {0};
	char since[40] = "", err[1024];
	if (parse(argc, argv, &o) < 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (o.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (o.since && since_text(o.since, since) < 0)
		return 2;
	struct directory *people = NULL;
	if (o.directory && directory_file_load(o.directory, &people, err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: %s: %s\n", o.directory, err);
		return 1;
	}
	/* Read-only: porter may be writing it right now. */
	sqlite3 *db = NULL;
	int status = 1;
	if (admin_db_open(o.database, "database", 5000, &db) == 0)
		status = list(db, &o, since, people);
	sqlite3_close(db);
	directory_free(people);
	return status;
}
