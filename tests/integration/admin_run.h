/* SPDX-License-Identifier: MIT */
/*
 * admin_run.h: run the built porter-admin ($PORTER_ADMIN) as an operator
 * would, and keep what it printed and its exit status, for the tests of
 * porter-admin's check and presence commands.
 */
#ifndef PORTER_ADMIN_RUN_H
#define PORTER_ADMIN_RUN_H

#include <stdbool.h>

#include "porter_fixture.h"

#define ADMIN_RUN_OUT_MAX (64 * 1024)

/* What one porter-admin run did. */
struct admin_run {
	int status; /* exit status, or 128 + signal */
	char out[ADMIN_RUN_OUT_MAX];
	char err[ADMIN_RUN_OUT_MAX];
};

/* Run porter-admin with the NULL-terminated arguments after `ret`, stdin
 * empty, stdout and stderr kept through files in `dir`. Returns 0, or
 * -errno when it could not be run. */
int admin_run(const char *dir, struct admin_run *ret, ...) __attribute__((sentinel));

/* The line of `text` that starts with `prefix`, copied to `ret`, or false. */
bool admin_line(const char *text, const char *prefix, char *ret, size_t size);

/* Read the whole file at `path` into `buf` (NUL-terminated); its length. */
size_t admin_read_text(const char *path, char *buf, size_t size);

#endif
