/* SPDX-License-Identifier: MIT */
/*
 * admin_db.c: how porter-admin's read-only commands (presence, attempts,
 * outbox) open porter's database: one place that tells a missing database
 * from an unreadable one, and that never creates or writes the file.
 */
#include "admin_db.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* Why the database at `path` cannot be found: never made, or lost (porter's
 * marker says it made one), or something else. */
static void say_missing(const char *path, const char *what, int r)
{
	char marker[PATH_MAX + 32];
	store_marker_path(path, marker, sizeof(marker));
	fprintf(stderr, "porter-admin: %s %s: %s", what, path, strerror(-r));
	if (r == -ENOENT && access(marker, F_OK) == 0)
		fprintf(stderr,
		        " (porter made it before, its marker %s is there: restore it from "
		        "a backup)",
		        marker);
	else if (r == -ENOENT)
		fprintf(stderr, " (porter creates it at its first start; is this its "
		                "local.database?)");
	fprintf(stderr, "\n");
}

int admin_db_open(const char *path, const char *what, int busy_ms, sqlite3 **ret)
{
	struct stat st;
	sqlite3 *db = NULL;
	*ret = NULL;
	if (stat(path, &st) < 0) {
		int r = -errno;
		say_missing(path, what, r);
		return r;
	}
	if (access(path, R_OK) < 0) {
		int r = -errno;
		fprintf(stderr,
		        "porter-admin: %s %s: %s (run porter-admin as porter's user or root)\n",
		        what, path, strerror(-r));
		return r;
	}
	/* Read-only: a reader never creates the database, never writes it, and
	 * never holds porter's writes back (WAL). */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "porter-admin: %s: cannot open: %s\n", path,
		        db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close_v2(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, busy_ms);
	*ret = db;
	return 0;
}
