/* SPDX-License-Identifier: MIT */
/*
 * admin_check.c: `porter-admin check --config CONFIG [--json]`.
 *
 * One command that tells an admin whether porter will start on a config and
 * what it will refuse: the config itself, the key, the directory and the
 * database checked exactly as init checks them (plugin_check_config(), which
 * creates and writes nothing), then every check again on its own, because
 * init stops at the first file it cannot use and an admin wants the whole
 * list in one run. Diagnostics (PORTER-D001, PORTER-D002, ...) are listed
 * with the errors. A report found twice is shown once.
 *
 * Each report has a severity, a stable code, the JSON path of the setting,
 * what is wrong and why, and the fix. The text form is the one porter-host
 * --check prints; --json is one document for admin UIs:
 *
 *   {"usable": false, "errors": 1, "warnings": 0,
 *    "reports": [{"severity": "error", "code": "PORTER-KEY",
 *                 "path": "$.local.pin_key_file", "message": "...",
 *                 "fix": "..." or null}]}
 *
 * Files are checked as the user running this, as init checks them as
 * porter's user: run it as that user (sudo -u porter ...) for the answer
 * porter will get. No report ever holds a PIN or the key.
 */
#include "admin_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "diagnostics.h"
#include "directory_file.h"
#include "plugin.h"
#include "store.h"

/* plugin.c's fix for a directory init refuses, so that the two read alike. */
#define DIRECTORY_FIX                                                                 \
	"Correct the file (`porter-admin check --directory FILE` names the problem; " \
	"`porter-admin add` creates it) or point local.directory at the right file."

struct check {
	json_object *reports; /* in the order found */
	size_t errors, warnings;
};

static const char *field(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static bool same_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The same problem found by init's checks and by the checks run again. */
static bool already_reported(const struct check *c, const char *severity,
                             const struct porter_report *r)
{
	for (size_t i = 0; i < json_object_array_length(c->reports); i++) {
		json_object *o = json_object_array_get_idx(c->reports, i);
		if (same_text(field(o, "severity"), severity) &&
		    same_text(field(o, "code"), r->code) &&
		    same_text(field(o, "path"), r->path ? r->path : "$") &&
		    same_text(field(o, "message"), r->message))
			return true;
	}
	return false;
}

static json_object *string_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static void collect(void *userdata, const struct porter_report *r)
{
	struct check *c = userdata;
	bool error = r->severity == PORTER_SEVERITY_ERROR;
	const char *severity = error ? "error" : "warning";
	if (already_reported(c, severity, r))
		return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "severity", json_object_new_string(severity));
	json_object_object_add(o, "code", json_object_new_string(r->code ? r->code : ""));
	json_object_object_add(o, "path", json_object_new_string(r->path ? r->path : "$"));
	json_object_object_add(o, "message", json_object_new_string(r->message ? r->message : ""));
	json_object_object_add(o, "fix", string_or_null(r->fix));
	json_object_array_add(c->reports, o);
	c->errors += error;
	c->warnings += !error;
}

static void add(struct check *c, uint32_t severity, const char *code, const char *path,
                const char *message, const char *fix)
{
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = severity,
	        .code = code,
	        .path = path,
	        .message = message,
	        .fix = fix,
	};
	collect(c, &r);
}

static void shared_pin(void *userdata, const struct person *a, const struct person *b)
{
	char message[512];
	snprintf(message, sizeof(message),
	         "%s and %s have the same PIN; at the door it is resolved by pin_collision or "
	         "refused as ambiguous",
	         a->id, b->id);
	add(userdata, PORTER_SEVERITY_WARNING, "PORTER-DIRECTORY", "$.local.directory", message,
	    "give one of them another PIN (porter-admin remove, then porter-admin add)");
}

/* Each check init makes, on its own: what init did not reach after the first
 * file it refused. What init already reported is dropped by collect(). */
static void check_each(const struct config *config, struct check *c)
{
	char err[1536];
	struct directory *d;
	struct store_open_report *rep = malloc(sizeof(*rep));

	diagnostics_run(config, collect, c);
	if (directory_file_load(config->directory_path, &d, err, sizeof(err)) < 0) {
		add(c, PORTER_SEVERITY_ERROR, "PORTER-DIRECTORY", "$.local.directory", err,
		    DIRECTORY_FIX);
	} else {
		directory_foreach_shared_pin(d, shared_pin, c);
		diagnostics_pin_space(config, directory_size(d), collect, c);
		directory_free(d);
	}
	if (rep && store_check(config->database_path, rep) < 0)
		add(c, PORTER_SEVERITY_ERROR, "PORTER-DATABASE", "$.local.database", rep->error,
		    rep->fix);
	free(rep);
}

void admin_print_config_error(void *unused, const struct porter_report *r)
{
	if (r->severity == PORTER_SEVERITY_ERROR)
		fprintf(stderr, "porter-admin: config error at %s: %s\n", r->path ? r->path : "$",
		        r->message ? r->message : "");
}

int admin_read_config(const char *path, char **ret, size_t *ret_len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int r = -errno;
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(-r));
		return r;
	}
	char *text = malloc(CONFIG_MAX_TEXT + 1);
	size_t len = text ? fread(text, 1, CONFIG_MAX_TEXT + 1, f) : 0;
	int r = !text ? -ENOMEM : ferror(f) ? -(errno ? errno : EIO) : 0;
	fclose(f);
	if (r < 0) {
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(-r));
		free(text);
		return r;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

/* A config's own strings reach the messages: control characters in them
 * (an escape sequence) are shown as '?', not sent to the terminal. */
static void print_clean(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_text(const char *path, const struct check *c)
{
	for (size_t i = 0; i < json_object_array_length(c->reports); i++) {
		json_object *o = json_object_array_get_idx(c->reports, i);
		printf("%s %s at ", field(o, "severity"), field(o, "code"));
		print_clean(field(o, "path"));
		printf(": ");
		print_clean(field(o, "message"));
		if (field(o, "fix")) {
			printf("\n    fix: ");
			print_clean(field(o, "fix"));
		}
		printf("\n");
	}
	printf("%s: %s (%zu error%s, %zu warning%s)\n", path, c->errors ? "refused" : "usable",
	       c->errors, c->errors == 1 ? "" : "s", c->warnings, c->warnings == 1 ? "" : "s");
}

static void print_json(const struct check *c)
{
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "usable", json_object_new_boolean(c->errors == 0));
	json_object_object_add(doc, "errors", json_object_new_int64((int64_t)c->errors));
	json_object_object_add(doc, "warnings", json_object_new_int64((int64_t)c->warnings));
	json_object_object_add(doc, "reports", json_object_get(c->reports));
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

int admin_check_config(const char *path, bool json)
{
	char err[1536], *text = NULL;
	size_t len = 0;
	struct check c = {.reports = json_object_new_array()};
	struct config *config = malloc(sizeof(*config));
	int r = c.reports && config ? admin_read_config(path, &text, &len, err, sizeof(err))
	                            : -ENOMEM;

	if (r < 0 && r != -ENOMEM) {
		add(&c, PORTER_SEVERITY_ERROR, "PORTER-CONFIG-FILE", "$", err,
		    "give --config the path of porter's config file, readable by this user");
		r = 0;
	} else if (r == 0) {
		r = plugin_check_config(text, len, collect, &c);
		/* Parsed again, quietly: its problems are listed already; the
		 * files it names are what the other checks need. */
		if (r != -ENOMEM && config_parse(text, len, config, NULL, NULL) == 0)
			check_each(config, &c);
		if (r < 0 && r != -ENOMEM &&
		    !c.errors) /* refused without a reason: never "usable" */
			add(&c, PORTER_SEVERITY_ERROR, "PORTER-CHECK", "$", strerror(-r), NULL);
	}
	if (r == -ENOMEM || !c.reports) {
		fprintf(stderr, "porter-admin: could not check %s: %s\n", path, strerror(ENOMEM));
		r = 1;
	} else {
		if (json)
			print_json(&c);
		else
			print_text(path, &c);
		r = c.errors ? 1 : 0;
	}
	json_object_put(c.reports);
	free(config);
	free(text);
	return r;
}
