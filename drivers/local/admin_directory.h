/* SPDX-License-Identifier: MIT */
/*
 * admin_directory.h: the directory file as the porter-admin commands that
 * edit it (add, remove in admin.c; ble key in admin_ble.c) read and write
 * it.
 */
#ifndef PORTER_ADMIN_DIRECTORY_H
#define PORTER_ADMIN_DIRECTORY_H

#include <stdbool.h>

#include <json-c/json.h>

/* The directory at `path` as JSON, validated first as porter reads it: an
 * edit never builds on a bad file. With `create`, a missing file is an
 * empty directory. NULL after saying why on stderr. */
json_object *admin_directory_load(const char *path, bool create);

/* Write `root` (pretty-printed) to a temporary file beside `path` with the
 * old file's owner, group and mode, fsync it and rename it over `path`, so
 * porter never reads half a file and can still read the new one. A negative
 * errno after saying why on stderr; then nothing was written. */
int admin_directory_save(const char *path, json_object *root);

#endif
