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
#define DIAG_DATABASE_GONE "PORTER-D-DATABASE-GONE"

/* Report the runtime diagnostic for the presence database at `path`, found
 * deleted or replaced by the recorder: every check-in fails from then on. */
void diagnostics_report_database_gone(const char *path, porter_report_fn report, void *userdata);

/* Report every diagnostic that applies to `config` through `report` (may be
 * NULL). Returns the number reported. */
int diagnostics_run(const struct config *config, porter_report_fn report, void *userdata);

/* True when any error-severity diagnostic applies (config must be refused). */
bool diagnostics_have_errors(const struct config *config);

/* True when visitor check-in must be refused under `config`. */
bool diagnostics_visitor_checkin_blocked(const struct config *config);

#endif
