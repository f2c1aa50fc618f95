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

/* The smallest PIN length at which one guess matches one of `people` with a
 * chance under 1 % (people * 100 < 10^length). */
static uint32_t pin_length_for(size_t people)
{
	uint64_t space = 10;
	uint32_t length = 1;
	while (length < 16 && (uint64_t)people * 100 >= space) {
		space *= 10;
		length++;
	}
	return length;
}

int diagnostics_pin_space(const struct config *config, size_t directory_size,
                          porter_report_fn report, void *userdata)
{
	if (!config || config->pin_min_length > 16)
		return 0;
	uint64_t space = 1;
	for (uint32_t i = 0; i < config->pin_min_length; i++)
		space *= 10;
	if ((uint64_t)directory_size * 100 < space)
		return 0;
	if (!report)
		return 1;
	char message[DIAG_MSG_MAX], fix[DIAG_MSG_MAX];
	/* In hundredths of a percent, rounded down, without floating point. */
	uint64_t basis_points = directory_size >= space ? 10000 : directory_size * 10000 / space;
	uint32_t length = pin_length_for(directory_size);
	snprintf(message, sizeof(message),
	         "a random %u-digit PIN matches one of the %zu people in the directory with a "
	         "chance of %llu.%02llu %% a guess: the lockout limits guesses per reader, not per "
	         "person, and with the default lockout one keypad allows up to 690 guesses a day "
	         "(README, \"PIN guessing: the arithmetic\")",
	         config->pin_min_length, directory_size, (unsigned long long)(basis_points / 100),
	         (unsigned long long)(basis_points % 100));
	snprintf(fix, sizeof(fix),
	         "give everyone a PIN of at least %u digits, then set keypad.pin_min_length to %u "
	         "(each digit more divides the chance by 10)",
	         length, length);
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = PORTER_SEVERITY_WARNING,
	        .code = DIAG_PIN_SPACE,
	        .path = "$.keypad.pin_min_length",
	        .message = message,
	        .fix = fix,
	};
	report(userdata, &r);
	return 1;
}
