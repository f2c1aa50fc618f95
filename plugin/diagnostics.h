/* SPDX-License-Identifier: MIT */
/*
 * diagnostics.h: setups that cannot work, flagged to the admin.
 *
 * A diagnostic is a rule over a validated config: a stable code, the reason
 * and what to change. Warnings leave porter running with the affected feature
 * refused; errors refuse the config. New rules are one entry in the table in
 * diagnostics.c.
 */
#ifndef PORTER_DIAGNOSTICS_H
#define PORTER_DIAGNOSTICS_H

#include <stdbool.h>

#include "config.h"
#include "porter.h"

/* Visitor check-in while Salto KS grants visitors door access. */
#define DIAG_SALTO_KS_VISITOR_ACCESS "PORTER-D001"

/* Runtime: the presence database was deleted or replaced while porter ran. */
#define DIAG_DATABASE_GONE "PORTER-D003"

/* Report the runtime diagnostic for the presence database at `path`, found
 * deleted or replaced by the recorder: every check-in fails from then on. */
void diagnostics_report_database_gone(const char *path, porter_report_fn report, void *userdata);
/* Runtime: the directory file on disk is invalid or missing; an older one
 * is in force (reported by directory_watch.c). */
#define DIAG_DIRECTORY_INVALID "PORTER-D004"

/* A random PIN guess is too likely to match someone (PIN length vs people). */
#define DIAG_PIN_SPACE "PORTER-D002"

/* Report every diagnostic that applies to `config` through `report` (may be
 * NULL). Returns the number reported. */
int diagnostics_run(const struct config *config, porter_report_fn report, void *userdata);

/*
 * PORTER-D002 (warning) when a random guess of keypad.pin_min_length digits
 * matches one of `directory_size` people's PINs with a chance of 1 % or more
 * (N / 10^L, for distinct PINs). It needs the directory, so it runs where
 * the directory is loaded and from diagnostics(), not in config_parse().
 * Returns the number reported (0 or 1).
 */
int diagnostics_pin_space(const struct config *config, size_t directory_size,
                          porter_report_fn report, void *userdata);

/* True when any error-severity diagnostic applies (config must be refused). */
bool diagnostics_have_errors(const struct config *config);

/* True when visitor check-in must be refused under `config`. */
bool diagnostics_visitor_checkin_blocked(const struct config *config);

#endif
