/* SPDX-License-Identifier: MIT */
/* admin_db.h: porter's database opened for reading by a porter-admin command. */
#ifndef PORTER_ADMIN_DB_H
#define PORTER_ADMIN_DB_H

#include <sqlite3.h>

/* Open porter's database at `path` read-only: never created, never written,
 * and waiting at most `busy_ms` for porter's writer, so a command can run
 * while porter does. `what` names the file in messages ("presence
 * database"). On failure says why on stderr (a database porter made and
 * lost is told from one never made) and returns a negative errno. */
int admin_db_open(const char *path, const char *what, int busy_ms, sqlite3 **ret);

#endif
