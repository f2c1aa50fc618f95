/* SPDX-License-Identifier: MIT */
/* admin_check.h: `porter-admin check --config CONFIG`, the whole site checked. */
#ifndef PORTER_ADMIN_CHECK_H
#define PORTER_ADMIN_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Check the config file at `path` as porter's init would, files included,
 * and print every problem and diagnostic (as one JSON document with `json`).
 * Returns the process exit status: 0 usable, 1 refused. */
int admin_check_config(const char *path, bool json);

/* Read the config file at `path` whole (at most one byte over the size
 * config_parse accepts, so that it can say the file is too big). On error
 * writes why to `err` and returns a negative errno. *ret is malloc'd. */
int admin_read_config(const char *path, char **ret, size_t *ret_len, char *err, size_t errlen);

struct porter_report;
/* config_parse's report function for a command that takes --config: each
 * error as "porter-admin: config error at PATH: MESSAGE" on stderr. */
void admin_print_config_error(void *unused, const struct porter_report *r);

#endif
