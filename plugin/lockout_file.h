/* SPDX-License-Identifier: MIT */
/*
 * lockout_file.h: the files porter and porter-admin share about lockouts,
 * in porter's state directory (the directory of local.database).
 *
 *   lockouts.json       written by porter (atomically, mode 0600) whenever a
 *                       reader's lockout starts or is lifted, read back at
 *                       start so a restart lifts no lockout, and read by
 *                       `porter-admin lockouts`:
 *     { "porter_lockouts": 1, "written_at": "2026-11-26T03:00:00Z",
 *       "readers": [ { "reader": "front", "level": 1, "failures": 5,
 *                      "first_failure_us": ..., "last_failure_us": ...,
 *                      "locked_until_us": ...,       (unix microseconds)
 *                      "locked_until": "2026-11-26T03:00:30Z" } ] }
 *   unlock-*.json       an admin's request (`porter-admin unlock`), written
 *                       atomically; porter's control thread takes (deletes)
 *                       it and lifts the lockout:
 *     { "porter_unlock": 1, "reader": "front" }  or  { "porter_unlock": 1, "all": true }
 *
 * One parser for both sides, so the tool and porter cannot disagree.
 */
#ifndef PORTER_LOCKOUT_FILE_H
#define PORTER_LOCKOUT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define LOCKOUT_FILE_NAME        "lockouts.json"
#define LOCKOUT_FILE_FORMAT      1
#define LOCKOUT_FILE_MAX_BYTES   (256u * 1024)
#define LOCKOUT_FILE_MAX_READERS 256 /* READERS_MAX */
#define UNLOCK_REQUEST_MAX_BYTES 4096

struct lockout_record {
	char reader_id[CONFIG_ID_MAX + 1];
	uint32_t level;
	uint32_t failures;
	int64_t first_failure_us; /* unix microseconds */
	int64_t last_failure_us;
	int64_t locked_until_us; /* 0: never locked */
};

/* The state directory for `database_path`: its directory. 0 or -ENAMETOOLONG. */
int lockout_state_dir(const char *database_path, char *ret, size_t size);

/* Write DIR/lockouts.json atomically (temp file, fsync, rename, fsync of the
 * directory), mode 0600. 0 or -errno, with the reason in `err`. */
int lockout_file_write(const char *dir, const struct lockout_record *records, size_t n,
                       int64_t now_unix_us, char *err, size_t errlen);

/* Read DIR/lockouts.json into a malloc'd array. -ENOENT when there is none
 * (nothing to restore); -EINVAL (reason in `err`) when it is not one porter
 * wrote. */
int lockout_file_read(const char *dir, struct lockout_record **ret, size_t *ret_n, char *err,
                      size_t errlen);

/* True when `name` (a file name in the state directory) is an unlock request. */
bool unlock_request_name(const char *name);

/* Write an unlock request for `reader_id` (NULL: every reader) atomically.
 * Its path goes to `ret_path`. 0 or -errno with the reason in `err`. */
int unlock_request_write(const char *dir, const char *reader_id, char *ret_path, size_t size,
                         char *err, size_t errlen);

/* Parse a request's text: the reader to unlock, or *ret_all. 0 or -EINVAL
 * with the reason in `err`. */
int unlock_request_parse(const char *text, size_t len, char ret_reader[CONFIG_ID_MAX + 1],
                         bool *ret_all, char *err, size_t errlen);

/* Read and parse the request at `path`; refused unless it is a regular file
 * owned by porter's user or root. 0 or -errno with the reason in `err`. */
int unlock_request_read(const char *path, char ret_reader[CONFIG_ID_MAX + 1], bool *ret_all,
                        char *err, size_t errlen);

#endif
