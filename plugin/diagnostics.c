/* SPDX-License-Identifier: MIT */
/*
 * diagnostics.c: setups that cannot work, flagged to the admin.
 *
 * Each rule is one row of `rules`: a stable code, a severity, a predicate over
 * a validated config, and the text an admin needs (what is wrong, why, what
 * to change). A new rule is a predicate and a row.
 */
#include <stdio.h>
#include <string.h>

#include "diagnostics.h"
#include "store.h"

#define DIAG_MSG_MAX 1024

struct diag_rule {
	const char *code;
	uint32_t severity; /* PORTER_SEVERITY_* */
	const char *path;  /* the setting to look at */
	bool (*applies)(const struct config *config);
	const char *message; /* what is wrong */
	const char *reason;  /* why it cannot work */
	const char *fix;     /* what to change */
};

static bool salto_ks_visitor_conflict(const struct config *config)
{
	/* Not narrowed to keypads that take visitor PINs: visitors also check in
	 * with the QR code from their registration e-mail. */
	return config->salto_ks_enabled && config->salto_ks_visitor_access &&
	       config->visitor_checkin;
}

static const struct diag_rule rules[] = {
        {
                .code = DIAG_SALTO_KS_VISITOR_ACCESS,
                .severity = PORTER_SEVERITY_WARNING,
                .path = "$.access_control.salto_ks.visitor_access",
                .applies = salto_ks_visitor_conflict,
                .message = "visitor check-in is not supported while Salto KS grants visitors "
                           "door access; porter refuses visitor check-ins",
                .reason = "Salto KS access changes can take up to about 15 minutes to reach the "
                          "lock, so a visitor who has just checked in cannot be let in by it, and "
                          "the two systems would disagree about who is inside",
                .fix = "either set access_control.salto_ks.visitor_access to false (porter opens "
                       "the door for visitors) or set visitor_checkin to false (visitors are "
                       "handled by Salto KS only)",
        },
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

static void report_rule(const struct diag_rule *rule, porter_report_fn report, void *userdata)
{
	char message[DIAG_MSG_MAX];
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = rule->severity,
	        .code = rule->code,
	        .path = rule->path,
	        .message = message,
	        .fix = rule->fix,
	};

	/* The host shows one message: what is wrong, then why. */
	snprintf(message, sizeof(message), "%s: %s", rule->message, rule->reason);
	report(userdata, &r);
}

int diagnostics_run(const struct config *config, porter_report_fn report, void *userdata)
{
	int n = 0;

	if (!config)
		return 0;
	for (size_t i = 0; i < N_RULES; i++) {
		if (!rules[i].applies(config))
			continue;
		if (report)
			report_rule(&rules[i], report, userdata);
		n++;
	}
	return n;
}

bool diagnostics_have_errors(const struct config *config)
{
	if (!config)
		return false;
	for (size_t i = 0; i < N_RULES; i++) {
		if (rules[i].severity == PORTER_SEVERITY_ERROR && rules[i].applies(config))
			return true;
	}
	return false;
}

bool diagnostics_visitor_checkin_blocked(const struct config *config)
{
	return config && salto_ks_visitor_conflict(config);
}

void diagnostics_report_database_gone(const char *path, porter_report_fn report, void *userdata)
{
	char message[DIAG_MSG_MAX], fix[DIAG_MSG_MAX * 2], marker[1100];
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = PORTER_SEVERITY_ERROR,
	        .code = DIAG_DATABASE_GONE,
	        .path = "$.local.database",
	        .message = message,
	        .fix = fix,
	};
	store_marker_path(path, marker, sizeof(marker));
	snprintf(fix, sizeof(fix),
	         "restore %.800s (with its -wal file) from a backup, then restart the host; or, to "
	         "start over with nobody checked in, remove %.900s and restart",
	         path, marker);
	snprintf(message, sizeof(message),
	         "presence database %.800s was deleted or replaced while porter ran: every "
	         "check-in and check-out is refused, because it could not be recorded",
	         path);
	report(userdata, &r);
}
