/* SPDX-License-Identifier: MIT */
/*
 * test_admin_check.c: `porter-admin check --config CONFIG [--json]`, the one
 * check an admin runs before starting porter. Each test sets up a site with
 * the real porter-admin ($PORTER_ADMIN), breaks what an admin can get wrong,
 * and asserts what the check prints (every problem with its severity, code,
 * JSON path, message and fix), its exit status (1 when porter would refuse
 * the config, 0 otherwise), and that the JSON form says the same, read back
 * with json-c. The check creates no file, and never prints the key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "admin_run.h"
#include "porter_fixture.h"

#define PIN_ANA "482913"

struct site {
	char dir[FX_PATH_MAX];
	char config[FX_PATH_MAX + 32];
	char path[FX_PATH_MAX + 64]; /* scratch */
	struct admin_run run;
};

static const char *site_file(struct site *s, const char *name)
{
	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, name);
	return s->path;
}

static int site_setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));
	const char *admin = fx_env("PORTER_ADMIN");

	if (!s || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	snprintf(s->config, sizeof(s->config), "%s/config.json", s->dir);
	*state = s;
	if (fx_keygen(admin, s->dir) != 0 ||
	    fx_add_person(admin, s->dir, "m-ana", "member", "Ana Souza", PIN_ANA, NULL, NULL) != 0)
		return -1;
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;

	fx_rmrf(s->dir);
	free(s);
	return 0;
}

/* Write the site's config: fx_config() plus `extra` top-level members. */
static void write_config(struct site *s, const char *extra)
{
	char *text = fx_config(s->dir, extra);

	assert_non_null(text);
	assert_int_equal(fx_write_file(s->config, text), 0);
	free(text);
}

static void check(struct site *s, bool json)
{
	if (json)
		assert_int_equal(
		        admin_run(s->dir, &s->run, "check", "--config", s->config, "--json", NULL),
		        0);
	else
		assert_int_equal(admin_run(s->dir, &s->run, "check", "--config", s->config, NULL),
		                 0);
}

/* The summary line, the last one the text form prints. */
static void assert_summary(struct site *s, const char *verdict)
{
	char want[FX_PATH_MAX + 128], line[FX_PATH_MAX + 128];

	snprintf(want, sizeof(want), "%s: %s", s->config, verdict);
	if (!admin_line(s->run.out, want, line, sizeof(line)))
		fail_msg("no \"%s\" in:\n%s", want, s->run.out);
	assert_string_equal(line, want);
}

/* A report line "SEVERITY CODE at PATH: ..." followed by its fix line. */
static void assert_report(struct site *s, const char *severity, const char *code, const char *path)
{
	char want[256], line[4096];

	snprintf(want, sizeof(want), "%s %s at %s: ", severity, code, path);
	if (!admin_line(s->run.out, want, line, sizeof(line)))
		fail_msg("no \"%s\" in:\n%s", want, s->run.out);
	assert_true(strlen(line) > strlen(want)); /* a message */
	const char *next = strstr(s->run.out, line) + strlen(line);
	assert_int_equal(strncmp(next, "\n    fix: ", 10), 0);
}

static void assert_key_not_printed(struct site *s)
{
	char key[256];

	assert_true(admin_read_text(site_file(s, "pin.key"), key, sizeof(key)) >= 64);
	key[64] = '\0';
	if (strstr(s->run.out, key) || strstr(s->run.err, key))
		fail_msg("porter-admin printed the PIN key");
	if (strstr(s->run.out, PIN_ANA) || strstr(s->run.err, PIN_ANA))
		fail_msg("porter-admin printed a PIN");
}

/* ---- the text form ------------------------------------------------------- */

static void a_good_site_is_usable(void **state)
{
	struct site *s = *state;

	write_config(s, "");
	check(s, false);
	assert_int_equal(s->run.status, 0);
	assert_summary(s, "usable (0 errors, 0 warnings)");
	assert_string_equal(strchr(s->run.out, '\n') + 1, ""); /* nothing else to say */
	assert_string_equal(s->run.err, "");
	/* Checked as init would, with nothing created. */
	assert_int_equal(access(site_file(s, "presence.db"), F_OK), -1);
	assert_int_equal(access(site_file(s, ".presence.db.marker"), F_OK), -1);
}

static void every_problem_of_a_bad_config_is_listed_with_its_path(void **state)
{
	struct site *s = *state;

	write_config(s, ",\"bogus\":1,\"repeat_window_ms\":\"x\",\"readers\":[{\"id\":\"\"}],"
	                "\"keypad\":{\"pin_min_length\":8,\"pin_max_length\":6}");
	check(s, false);
	assert_int_equal(s->run.status, 1);
	assert_report(s, "error", "PORTER-CFG-UNKNOWN", "$.bogus");
	assert_non_null(strstr(s->run.out, "error PORTER-CFG-TYPE at $.repeat_window_ms: "));
	assert_non_null(strstr(s->run.out, "error PORTER-CFG-LENGTH at $.readers[0].id: "));
	assert_report(s, "error", "PORTER-CFG-MIN-MAX", "$.keypad.pin_min_length");
	assert_summary(s, "refused (4 errors, 0 warnings)");
}

static void a_key_readable_by_others_is_refused_and_the_other_files_still_checked(void **state)
{
	struct site *s = *state;

	write_config(s, "");
	assert_int_equal(chmod(site_file(s, "pin.key"), 0644), 0);
	assert_int_equal(unlink(site_file(s, "directory.json")), 0);
	check(s, false);
	assert_int_equal(s->run.status, 1);
	assert_report(s, "error", "PORTER-KEY", "$.local.pin_key_file");
	assert_non_null(strstr(s->run.out, "chmod 600"));
	/* init stops at the key; the check goes on to the next file. */
	assert_report(s, "error", "PORTER-DIRECTORY", "$.local.directory");
	assert_summary(s, "refused (2 errors, 0 warnings)");
	assert_key_not_printed(s);
}

static void a_problem_init_finds_and_the_check_finds_again_is_listed_once(void **state)
{
	struct site *s = *state;

	write_config(s, "");
	assert_int_equal(unlink(site_file(s, "directory.json")), 0);
	check(s, false);
	assert_int_equal(s->run.status, 1);
	assert_report(s, "error", "PORTER-DIRECTORY", "$.local.directory");
	assert_summary(s, "refused (1 error, 0 warnings)");
}

static void a_database_porter_cannot_use_is_listed_after_the_other_problems(void **state)
{
	struct site *s = *state;
	char extra[FX_PATH_MAX + 128];

	/* A config whose database sits in a folder that does not exist. */
	char *text = fx_config(s->dir, "");
	assert_non_null(text);
	char *db = strstr(text, "presence.db");
	assert_non_null(db);
	snprintf(extra, sizeof(extra), "%.*snowhere/presence.db%s", (int)(db - text), text,
	         db + strlen("presence.db"));
	free(text);
	assert_int_equal(fx_write_file(s->config, extra), 0);
	assert_int_equal(chmod(site_file(s, "pin.key"), 0640), 0);
	check(s, false);
	assert_int_equal(s->run.status, 1);
	assert_report(s, "error", "PORTER-KEY", "$.local.pin_key_file");
	assert_report(s, "error", "PORTER-DATABASE", "$.local.database");
	assert_summary(s, "refused (2 errors, 0 warnings)");
	assert_int_equal(access(site_file(s, "nowhere"), F_OK), -1);
}

static void salto_ks_visitor_access_is_a_warning_and_the_site_usable(void **state)
{
	struct site *s = *state;

	write_config(s, ",\"access_control\":{\"salto_ks\":{\"enabled\":true,"
	                "\"visitor_access\":true}}");
	check(s, false);
	assert_int_equal(s->run.status, 0);
	assert_report(s, "warning", "PORTER-D001", "$.access_control.salto_ks.visitor_access");
	assert_summary(s, "usable (0 errors, 1 warning)");
}

/* 120 people with 4-digit PINs: a random guess matches someone 1.2 % of
 * the time. */
static void write_big_directory(struct site *s)
{
	size_t size = 128 * 200, len = 0;
	char *text = malloc(size);

	assert_non_null(text);
	len += (size_t)snprintf(text + len, size - len, "{\"porter_directory\":1,\"people\":[");
	for (int i = 0; i < 120; i++)
		len += (size_t)snprintf(text + len, size - len,
		                        "%s{\"id\":\"m-%d\",\"kind\":\"member\",\"name\":\"M %d\","
		                        "\"pin_hmac\":\"%064x\"}",
		                        i ? "," : "", i, i, i + 1);
	snprintf(text + len, size - len, "]}");
	assert_int_equal(fx_write_file(site_file(s, "directory.json"), text), 0);
	free(text);
}

static void a_pin_space_too_small_for_the_directory_is_flagged(void **state)
{
	struct site *s = *state;

	write_big_directory(s);
	write_config(s, "");
	check(s, false);
	assert_int_equal(s->run.status, 0);
	assert_report(s, "warning", "PORTER-D002", "$.keypad.pin_min_length");
	assert_non_null(strstr(s->run.out, "120 people"));
	assert_summary(s, "usable (0 errors, 1 warning)");

	write_config(s, ",\"keypad\":{\"pin_min_length\":5}"); /* 0.12 %: fine */
	check(s, false);
	assert_int_equal(s->run.status, 0);
	assert_null(strstr(s->run.out, "PORTER-D002"));
	assert_summary(s, "usable (0 errors, 0 warnings)");
}

static void people_sharing_a_pin_are_a_warning(void **state)
{
	struct site *s = *state;
	char text[1024];
	const char *hmac = "00000000000000000000000000000000000000000000000000000000000000aa";

	snprintf(text, sizeof(text),
	         "{\"porter_directory\":1,\"people\":["
	         "{\"id\":\"m-ana\",\"kind\":\"member\",\"name\":\"Ana\",\"pin_hmac\":\"%s\"},"
	         "{\"id\":\"m-ben\",\"kind\":\"member\",\"name\":\"Ben\",\"pin_hmac\":\"%s\"}]}",
	         hmac, hmac);
	assert_int_equal(fx_write_file(site_file(s, "directory.json"), text), 0);
	write_config(s, "");
	check(s, false);
	assert_int_equal(s->run.status, 0);
	assert_report(s, "warning", "PORTER-DIRECTORY", "$.local.directory");
	assert_non_null(strstr(s->run.out, "m-ana and m-ben have the same PIN"));
	assert_summary(s, "usable (0 errors, 1 warning)");
}

static void a_config_file_that_cannot_be_read_is_an_error(void **state)
{
	struct site *s = *state;

	check(s, false); /* config.json was never written */
	assert_int_equal(s->run.status, 1);
	assert_report(s, "error", "PORTER-CONFIG-FILE", "$");
	assert_non_null(strstr(s->run.out, "No such file"));
	assert_summary(s, "refused (1 error, 0 warnings)");
}

static void check_config_takes_no_other_file(void **state)
{
	struct site *s = *state;

	write_config(s, "");
	assert_int_equal(admin_run(s->dir, &s->run, "check", "--config", s->config, "--directory",
	                           site_file(s, "directory.json"), NULL),
	                 0);
	assert_int_equal(s->run.status, 2);
	assert_non_null(strstr(s->run.err, "check --directory"));

	/* check --directory is the directory alone, as before. */
	assert_int_equal(admin_run(s->dir, &s->run, "check", "--directory",
	                           site_file(s, "directory.json"), NULL),
	                 0);
	assert_int_equal(s->run.status, 0);
	assert_non_null(strstr(s->run.out, "1 people, valid"));

	/* --json belongs to the checks that have a JSON form. */
	assert_int_equal(admin_run(s->dir, &s->run, "list", "--directory",
	                           site_file(s, "directory.json"), "--json", NULL),
	                 0);
	assert_int_equal(s->run.status, 2);
}

/* ---- the JSON form ------------------------------------------------------- */

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	return v ? json_object_get_string(v) : NULL;
}

static json_object *parse_json(struct site *s)
{
	json_object *doc = json_tokener_parse(s->run.out);

	if (!doc)
		fail_msg("not JSON:\n%s", s->run.out);
	assert_true(json_object_is_type(doc, json_type_object));
	return doc;
}

static void assert_counts(json_object *doc, bool usable, int errors, int warnings)
{
	json_object *v;

	assert_true(json_object_object_get_ex(doc, "usable", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	assert_int_equal(json_object_get_boolean(v), usable);
	assert_true(json_object_object_get_ex(doc, "errors", &v));
	assert_int_equal(json_object_get_int(v), errors);
	assert_true(json_object_object_get_ex(doc, "warnings", &v));
	assert_int_equal(json_object_get_int(v), warnings);
}

/* The report for `code`, checked whole: its severity and path, a message
 * and a fix. */
static json_object *find_report(json_object *doc, const char *code, const char *severity,
                                const char *path)
{
	json_object *reports;

	assert_true(json_object_object_get_ex(doc, "reports", &reports));
	for (size_t i = 0; i < json_object_array_length(reports); i++) {
		json_object *r = json_object_array_get_idx(reports, i);
		if (strcmp(str(r, "code"), code) != 0)
			continue;
		assert_string_equal(str(r, "severity"), severity);
		assert_string_equal(str(r, "path"), path);
		assert_true(strlen(str(r, "message")) > 0);
		assert_non_null(str(r, "fix"));
		return r;
	}
	fail_msg("no report %s in %s", code, json_object_to_json_string(doc));
	return NULL;
}

static void json_output_lists_the_same_reports_as_the_text(void **state)
{
	struct site *s = *state;
	char text[ADMIN_RUN_OUT_MAX], want[4096];

	/* A key others can read, a directory named with a quote and a
	 * backslash that is not there (escaping), and PORTER-D001. */
	char *config = fx_config(s->dir, ",\"access_control\":{\"salto_ks\":{\"enabled\":true,"
	                                 "\"visitor_access\":true}}");
	assert_non_null(config);
	char *dir = strstr(config, "directory.json");
	assert_non_null(dir);
	char *edited = malloc(strlen(config) + 32);
	assert_non_null(edited);
	sprintf(edited, "%.*sno\\\"such\\\\directory.json%s", (int)(dir - config), config,
	        dir + strlen("directory.json"));
	free(config);
	assert_int_equal(fx_write_file(s->config, edited), 0);
	free(edited);
	assert_int_equal(chmod(site_file(s, "pin.key"), 0604), 0);

	check(s, false);
	assert_int_equal(s->run.status, 1);
	memcpy(text, s->run.out, sizeof(text));

	check(s, true);
	assert_int_equal(s->run.status, 1);
	assert_key_not_printed(s);
	json_object *doc = parse_json(s);
	assert_counts(doc, false, 2, 1);
	find_report(doc, "PORTER-D001", "warning", "$.access_control.salto_ks.visitor_access");
	find_report(doc, "PORTER-KEY", "error", "$.local.pin_key_file");
	json_object *d = find_report(doc, "PORTER-DIRECTORY", "error", "$.local.directory");
	assert_non_null(strstr(str(d, "message"), "no\"such\\directory.json"));

	/* Each JSON report is a report of the text form, word for word. */
	json_object *reports;
	assert_true(json_object_object_get_ex(doc, "reports", &reports));
	assert_int_equal(json_object_array_length(reports), 3);
	for (size_t i = 0; i < 3; i++) {
		json_object *r = json_object_array_get_idx(reports, i);
		snprintf(want, sizeof(want), "%s %s at %s: %s\n    fix: %s\n", str(r, "severity"),
		         str(r, "code"), str(r, "path"), str(r, "message"), str(r, "fix"));
		if (!strstr(text, want))
			fail_msg("the text form lacks:\n%s", want);
	}
	json_object_put(doc);
}

static void json_output_of_a_good_site_and_of_a_missing_file(void **state)
{
	struct site *s = *state;
	json_object *reports;

	write_config(s, "");
	check(s, true);
	assert_int_equal(s->run.status, 0);
	json_object *doc = parse_json(s);
	assert_counts(doc, true, 0, 0);
	assert_true(json_object_object_get_ex(doc, "reports", &reports));
	assert_int_equal(json_object_array_length(reports), 0);
	json_object_put(doc);

	assert_int_equal(unlink(s->config), 0);
	check(s, true);
	assert_int_equal(s->run.status, 1);
	doc = parse_json(s);
	assert_counts(doc, false, 1, 0);
	find_report(doc, "PORTER-CONFIG-FILE", "error", "$");
	json_object_put(doc);
}

#define T(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(a_good_site_is_usable),
	        T(every_problem_of_a_bad_config_is_listed_with_its_path),
	        T(a_key_readable_by_others_is_refused_and_the_other_files_still_checked),
	        T(a_problem_init_finds_and_the_check_finds_again_is_listed_once),
	        T(a_database_porter_cannot_use_is_listed_after_the_other_problems),
	        T(salto_ks_visitor_access_is_a_warning_and_the_site_usable),
	        T(a_pin_space_too_small_for_the_directory_is_flagged),
	        T(people_sharing_a_pin_are_a_warning),
	        T(a_config_file_that_cannot_be_read_is_an_error),
	        T(check_config_takes_no_other_file),
	        T(json_output_lists_the_same_reports_as_the_text),
	        T(json_output_of_a_good_site_and_of_a_missing_file),
	};

	if (!fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_ADMIN must name the built porter-admin (meson test sets "
		                "it)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
