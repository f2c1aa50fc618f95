/* SPDX-License-Identifier: MIT */
/*
 * directory_file.h: the local backend's directory file.
 *
 * The admin keeps members and visitors in one JSON file (porter-admin edits
 * it; it is also fine to edit by hand):
 *
 *   { "porter_directory": 1,
 *     "people": [
 *       { "id": "m-1001", "kind": "member", "name": "Ana Souza",
 *         "pin_hmac": "<64 hex: HMAC-SHA256(site key, PIN)>" },
 *       { "id": "v-2001", "kind": "visitor", "name": "Vera Visitor",
 *         "pin_hmac": "...", "valid_from": "2026-11-25T08:00:00Z",
 *         "valid_until": "2026-11-25T20:00:00Z" } ] }
 *
 * A file with any error is refused whole, with the first error named: a
 * directory that is half right could let the wrong person in. The text is
 * read strictly and in one pass (json_strict.h): a key twice in one object,
 * bad UTF-8, a member porter does not know, or a name with control or
 * bidirectional formatting characters is an error, never silently dropped;
 * no JSON tree of the file is ever built, so memory follows the people kept,
 * not the text.
 */
#ifndef PORTER_DIRECTORY_FILE_H
#define PORTER_DIRECTORY_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "directory.h"

#define DIRECTORY_FILE_FORMAT    1
#define DIRECTORY_FILE_MAX_BYTES (16u * 1024 * 1024) /* 16 MiB: some 100,000 people */

/* Parse directory JSON text. On error returns -EINVAL (or -E2BIG, -ENOMEM)
 * and writes what was wrong and where ("people[3].pin_hmac: ...") to err. */
int directory_parse(const char *text, size_t len, struct directory **ret, char *err, size_t errlen);

/* Read and parse the file at `path`. A file over DIRECTORY_FILE_MAX_BYTES
 * is refused (-EFBIG) from its size, before it is read. */
int directory_file_load(const char *path, struct directory **ret, char *err, size_t errlen);

/* "2026-11-25T08:00:00Z" <-> unix seconds. Parse returns -EINVAL on any
 * other shape. Format is utc_time_format_s (utc_time.h), years 1 to 9999. */
int timestamp_parse(const char *text, int64_t *ret);
void timestamp_format(int64_t t, char ret[32]);

#endif
