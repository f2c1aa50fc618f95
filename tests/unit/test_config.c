/* SPDX-License-Identifier: MIT */
/*
 * test_config.c: what an admin sees when porter reads its config.
 *
 * Each test hands config_parse() one config text and asserts the outcome a
 * user would see: the values porter will run with, or the reports (code,
 * JSON path, message) that tell the admin what to fix.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "diagnostics.h"

/* A valid "local" section; every config below needs one. */
#define LOCAL                                                      \
	"\"local\": {\"directory\": \"/etc/porter/directory.json\", " \
	"\"database\": \"/var/lib/porter/porter.db\", "               \
	"\"pin_key_file\": \"/etc/porter/pin.key\"}"

/* ---- Collecting reports ------------------------------------------------ */

struct seen {
	uint32_t severity;
	char code[48];
	char path[160];
	char message[1024];
	char fix[512];
	bool has_fix;
};

static struct {
	size_t n;
	struct seen items[128];
} reports;

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void collect(void *userdata, const struct porter_report *r)
{
	struct seen *s;

	(void)userdata;
	assert_true(r->size >= sizeof(*r));
	assert_non_null(r->code);
	assert_non_null(r->path);
	assert_non_null(r->message);
	if (reports.n == sizeof(reports.items) / sizeof(reports.items[0]))
		return;
	s = &reports.items[reports.n++];
	s->severity = r->severity;
	copy_text(s->code, sizeof(s->code), r->code);
	copy_text(s->path, sizeof(s->path), r->path);
	copy_text(s->message, sizeof(s->message), r->message);
	copy_text(s->fix, sizeof(s->fix), r->fix);
	s->has_fix = r->fix != NULL;
}

static int parse_len(const char *text, size_t len, struct config *config)
{
	reports.n = 0;
	return config_parse(text, len, config, collect, NULL);
}

static int parse(const char *text, struct config *config)
{
	return parse_len(text, strlen(text), config);
}

static void dump_reports(void)
{
	for (size_t i = 0; i < reports.n; i++)
		print_error("  report: %s %s: %s\n", reports.items[i].code, reports.items[i].path,
			    reports.items[i].message);
}

/* The report with this code and path; fails the test when there is none. */
static const struct seen *reported(const char *code, const char *path)
{
	for (size_t i = 0; i < reports.n; i++) {
		if (strcmp(reports.items[i].code, code) == 0 &&
		    strcmp(reports.items[i].path, path) == 0)
			return &reports.items[i];
	}
	dump_reports();
	fail_msg("expected a %s report at %s", code, path);
	return NULL;
}

/* Refused with exactly one error: `code` at `path`. Returns it. */
static const struct seen *refused_once(const char *text, const char *code, const char *path)
{
	struct config config;
	const struct seen *s;

	assert_int_equal(parse(text, &config), -EINVAL);
	if (reports.n != 1)
		dump_reports();
	assert_int_equal(reports.n, 1);
	s = reported(code, path);
	assert_int_equal(s->severity, PORTER_SEVERITY_ERROR);
	return s;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* ---- A valid config ---------------------------------------------------- */

static void minimal_config_gets_every_default(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse("{" LOCAL "}", &c), 0);
	assert_int_equal(reports.n, 0);

	assert_int_equal(c.backend, BACKEND_LOCAL);
	assert_string_equal(c.directory_path, "/etc/porter/directory.json");
	assert_string_equal(c.database_path, "/var/lib/porter/porter.db");
	assert_string_equal(c.pin_key_path, "/etc/porter/pin.key");
	assert_int_equal(c.pin_min_length, 4);
	assert_int_equal(c.pin_max_length, 8);
	assert_int_equal(c.inter_key_timeout_ms, 5000);
	assert_int_equal(c.repeat_window_ms, 3000);
	assert_int_equal(c.pin_collision, PIN_COLLISION_DENY);
	assert_true(c.visitor_checkin);
	assert_int_equal(c.default_unlock_ms, 5000);
	assert_int_equal(c.lockout_max_attempts, 5);
	assert_int_equal(c.lockout_window_s, 600);
	assert_int_equal(c.lockout_base_s, 30);
	assert_int_equal(c.lockout_max_s, 900);
	assert_false(c.salto_ks_enabled);
	assert_false(c.salto_ks_visitor_access);
	assert_int_equal(c.n_readers, 0);
	assert_string_equal(c.reader_defaults.id, "");
	assert_int_equal(c.reader_defaults.direction, READER_TOGGLE);
	assert_int_equal(c.reader_defaults.pin_holders, PIN_HOLDERS_BOTH);
	assert_int_equal(c.reader_defaults.unlock_ms, 5000);
	assert_false(diagnostics_visitor_checkin_blocked(&c));
}

static void every_setting_given_is_used(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse("{" LOCAL ", \"backend\": \"local\","
			       " \"keypad\": {\"pin_min_length\": 6, \"pin_max_length\": 10,"
			       "   \"inter_key_timeout_ms\": 8000},"
			       " \"repeat_window_ms\": 0, \"pin_collision\": \"member\","
			       " \"visitor_checkin\": false, \"door\": {\"unlock_ms\": 7000},"
			       " \"lockout\": {\"max_attempts\": 3, \"window_s\": 60,"
			       "   \"base_lockout_s\": 10, \"max_lockout_s\": 300},"
			       " \"access_control\": {\"salto_ks\": {\"enabled\": true}},"
			       " \"readers\": [{\"id\": \"front\", \"direction\": \"entry\","
			       "   \"pin_holders\": \"members\", \"unlock_ms\": 9000},"
			       "   {\"id\": \"back\"}],"
			       " \"reader_defaults\": {\"direction\": \"exit\","
			       "   \"pin_holders\": \"visitors\"}}",
			       &c),
			 0);
	assert_int_equal(reports.n, 0);
	assert_int_equal(c.pin_min_length, 6);
	assert_int_equal(c.pin_max_length, 10);
	assert_int_equal(c.inter_key_timeout_ms, 8000);
	assert_int_equal(c.repeat_window_ms, 0);
	assert_int_equal(c.pin_collision, PIN_COLLISION_MEMBER);
	assert_false(c.visitor_checkin);
	assert_int_equal(c.default_unlock_ms, 7000);
	assert_int_equal(c.lockout_max_attempts, 3);
	assert_int_equal(c.lockout_window_s, 60);
	assert_int_equal(c.lockout_base_s, 10);
	assert_int_equal(c.lockout_max_s, 300);
	assert_true(c.salto_ks_enabled);
	assert_false(c.salto_ks_visitor_access);
	assert_int_equal(c.n_readers, 2);
	assert_string_equal(c.readers[0].id, "front");
	assert_int_equal(c.readers[0].direction, READER_ENTRY);
	assert_int_equal(c.readers[0].pin_holders, PIN_HOLDERS_MEMBERS);
	assert_int_equal(c.readers[0].unlock_ms, 9000);
	/* a listed reader takes the schema defaults, and the door's unlock time */
	assert_string_equal(c.readers[1].id, "back");
	assert_int_equal(c.readers[1].direction, READER_TOGGLE);
	assert_int_equal(c.readers[1].pin_holders, PIN_HOLDERS_BOTH);
	assert_int_equal(c.readers[1].unlock_ms, 7000);
	assert_int_equal(c.reader_defaults.direction, READER_EXIT);
	assert_int_equal(c.reader_defaults.pin_holders, PIN_HOLDERS_VISITORS);
	assert_int_equal(c.reader_defaults.unlock_ms, 7000);
}

static void whole_number_written_as_decimal_is_accepted(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse("{" LOCAL ", \"door\": {\"unlock_ms\": 6000.0}}", &c), 0);
	assert_int_equal(c.default_unlock_ms, 6000);
}

static void c_string_with_its_terminator_is_accepted(void **state)
{
	static const char text[] = "{" LOCAL "}";
	struct config c;

	(void)state;
	assert_int_equal(parse_len(text, sizeof(text), &c), 0);
}

/* ---- Schema errors ----------------------------------------------------- */

static void wrong_type_is_refused(void **state)
{
	const struct seen *s = refused_once("{" LOCAL ", \"door\": {\"unlock_ms\": \"5000\"}}",
					    "PORTER-CFG-TYPE", "$.door.unlock_ms");

	(void)state;
	assert_string_equal(s->message, "must be a whole number; got \"5000\"");
}

static void fraction_for_an_integer_is_refused(void **state)
{
	const struct seen *s = refused_once("{" LOCAL ", \"keypad\": {\"pin_max_length\": 6.5}}",
					    "PORTER-CFG-TYPE", "$.keypad.pin_max_length");

	(void)state;
	assert_string_equal(s->message, "must be a whole number; got 6.5");
}

static void null_is_a_wrong_type(void **state)
{
	(void)state;
	refused_once("{" LOCAL ", \"visitor_checkin\": null}", "PORTER-CFG-TYPE",
		     "$.visitor_checkin");
}

static void unknown_property_is_refused_and_allowed_ones_are_named(void **state)
{
	const struct seen *s = refused_once("{" LOCAL ", \"door\": {\"unlock_msec\": 5000}}",
					    "PORTER-CFG-UNKNOWN", "$.door.unlock_msec");

	(void)state;
	assert_string_equal(s->message,
			    "unknown property \"unlock_msec\"; allowed here: \"unlock_ms\"");
	assert_true(s->has_fix);
}

static void bad_enum_value_is_refused_and_allowed_values_are_named(void **state)
{
	const struct seen *s = refused_once(
		"{" LOCAL ", \"readers\": [{\"id\": \"front\", \"direction\": \"sideways\"}]}",
		"PORTER-CFG-ENUM", "$.readers[0].direction");

	(void)state;
	assert_string_equal(s->message,
			    "must be one of \"toggle\", \"entry\", \"exit\"; got \"sideways\"");
}

static void out_of_range_number_is_refused_with_the_range(void **state)
{
	const struct seen *s = refused_once("{" LOCAL ", \"lockout\": {\"max_attempts\": 101}}",
					    "PORTER-CFG-RANGE", "$.lockout.max_attempts");

	(void)state;
	assert_string_equal(s->message, "must be between 1 and 100; got 101");
}

static void number_beyond_32_bits_is_refused(void **state)
{
	(void)state;
	refused_once("{" LOCAL ", \"repeat_window_ms\": 4294967296000}", "PORTER-CFG-RANGE",
		     "$.repeat_window_ms");
}

static void missing_local_directory_is_refused(void **state)
{
	const struct seen *s = refused_once(
		"{\"local\": {\"database\": \"/var/lib/porter/porter.db\","
		" \"pin_key_file\": \"/etc/porter/pin.key\"}}",
		"PORTER-CFG-REQUIRED", "$.local.directory");

	(void)state;
	assert_contains(s->message, "required");
}

static void missing_local_section_is_refused(void **state)
{
	(void)state;
	refused_once("{}", "PORTER-CFG-REQUIRED", "$.local");
}

static void config_that_is_not_an_object_is_refused(void **state)
{
	(void)state;
	refused_once("[1, 2]", "PORTER-CFG-TYPE", "$");
	refused_once("42", "PORTER-CFG-TYPE", "$");
}

static void too_many_readers_are_refused(void **state)
{
	char text[4096];
	size_t len = (size_t)snprintf(text, sizeof(text), "{" LOCAL ", \"readers\": [");

	(void)state;
	for (int i = 0; i < CONFIG_MAX_READERS + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s{\"id\": \"r%d\"}",
					i ? ", " : "", i);
	snprintf(text + len, sizeof(text) - len, "]}");
	assert_string_equal(refused_once(text, "PORTER-CFG-LENGTH", "$.readers")->message,
			    "must have at most 64 items; got 65");
}

static void overlong_reader_id_is_refused(void **state)
{
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "{" LOCAL ", \"readers\": [{\"id\": \"%065d\"}]}", 0);
	assert_string_equal(refused_once(text, "PORTER-CFG-LENGTH", "$.readers[0].id")->message,
			    "must have 1 to 64 characters; got 65");
}

static void long_bad_value_is_clipped_in_the_message(void **state)
{
	char *text = malloc(20000);
	const struct seen *s;

	(void)state;
	assert_non_null(text);
	snprintf(text, 20000, "{" LOCAL ", \"pin_collision\": \"%010000d\"}", 0);
	s = refused_once(text, "PORTER-CFG-ENUM", "$.pin_collision");
	assert_true(strlen(s->message) < 200);
	assert_contains(s->message, "...\"");
	free(text);
}

/* ---- Semantic rules ---------------------------------------------------- */

static void relative_path_is_refused(void **state)
{
	const struct seen *s = refused_once(
		"{\"local\": {\"directory\": \"directory.json\","
		" \"database\": \"/var/lib/porter/porter.db\","
		" \"pin_key_file\": \"/etc/porter/pin.key\"}}",
		"PORTER-CFG-PATH", "$.local.directory");

	(void)state;
	assert_contains(s->message, "absolute");
}

static void nul_escape_in_a_path_is_refused(void **state)
{
	(void)state;
	refused_once("{\"local\": {\"directory\": \"/etc/porter/dir\\u0000.json\","
		     " \"database\": \"/var/lib/porter/porter.db\","
		     " \"pin_key_file\": \"/etc/porter/pin.key\"}}",
		     "PORTER-CFG-TEXT-RULE", "$.local.directory");
}

static void pin_min_length_above_max_is_refused(void **state)
{
	const struct seen *s = refused_once(
		"{" LOCAL ", \"keypad\": {\"pin_min_length\": 9, \"pin_max_length\": 6}}",
		"PORTER-CFG-MIN-MAX", "$.keypad.pin_min_length");

	(void)state;
	assert_string_equal(s->message, "keypad.pin_min_length (9) must not be greater than "
					"keypad.pin_max_length (6)");
}

static void pin_min_length_above_default_max_is_refused(void **state)
{
	(void)state;
	refused_once("{" LOCAL ", \"keypad\": {\"pin_min_length\": 10}}", "PORTER-CFG-MIN-MAX",
		     "$.keypad.pin_min_length");
}

static void base_lockout_above_max_lockout_is_refused(void **state)
{
	(void)state;
	refused_once("{" LOCAL ", \"lockout\": {\"base_lockout_s\": 1000}}", "PORTER-CFG-MIN-MAX",
		     "$.lockout.base_lockout_s");
}

static void duplicate_reader_id_is_refused_at_the_duplicate(void **state)
{
	const struct seen *s = refused_once(
		"{" LOCAL ", \"readers\": [{\"id\": \"front\"}, {\"id\": \"back\"},"
		" {\"id\": \"front\"}]}",
		"PORTER-CFG-DUPLICATE", "$.readers[2].id");

	(void)state;
	assert_contains(s->message, "$.readers[0].id");
}

static void reader_id_with_a_newline_is_refused(void **state)
{
	(void)state;
	refused_once("{" LOCAL ", \"readers\": [{\"id\": \"front\\ndoor\"}]}", "PORTER-CFG-ID",
		     "$.readers[0].id");
}

static void several_errors_are_all_reported_in_one_call(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse("{" LOCAL ", \"colour\": \"red\","
			       " \"keypad\": {\"pin_min_length\": 2},"
			       " \"pin_collision\": \"coin-toss\","
			       " \"readers\": [{\"id\": \"a\"}, {\"id\": \"a\", \"unlock_ms\": true}]}",
			       &c),
			 -EINVAL);
	assert_int_equal(reports.n, 5);
	reported("PORTER-CFG-UNKNOWN", "$.colour");
	reported("PORTER-CFG-RANGE", "$.keypad.pin_min_length");
	reported("PORTER-CFG-ENUM", "$.pin_collision");
	reported("PORTER-CFG-TYPE", "$.readers[1].unlock_ms");
	reported("PORTER-CFG-DUPLICATE", "$.readers[1].id");
}

static void refused_config_leaves_the_old_one_untouched(void **state)
{
	struct config c, before;

	(void)state;
	assert_int_equal(parse("{" LOCAL "}", &c), 0);
	before = c;
	assert_int_equal(parse("{" LOCAL ", \"door\": {\"unlock_ms\": 1}}", &c), -EINVAL);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void no_report_callback_is_fine(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(config_parse("{\"x\": 1}", 8, &c, NULL, NULL), -EINVAL);
	assert_int_equal(config_parse(NULL, 0, &c, NULL, NULL), -EINVAL);
	assert_int_equal(config_parse("{}", 2, NULL, NULL, NULL), -EINVAL);
}

/* ---- Text that is not a JSON config ------------------------------------ */

static void garbage_text_is_refused(void **state)
{
	const struct seen *s = refused_once("porter, please", "PORTER-CFG-SYNTAX", "$");

	(void)state;
	assert_contains(s->message, "byte 0 (line 1, column 1)");
}

static void empty_text_is_refused(void **state)
{
	(void)state;
	assert_contains(refused_once(" \n", "PORTER-CFG-SYNTAX", "$")->message, "empty");
}

static void truncated_json_is_refused(void **state)
{
	const struct seen *s = refused_once("{" LOCAL ", \"door\": {\"unlock_ms\":",
					    "PORTER-CFG-SYNTAX", "$.door.unlock_ms");

	(void)state;
	assert_contains(s->message, "truncated");
}

static void syntax_error_names_line_and_column(void **state)
{
	const struct seen *s = refused_once("{\n  \"door\": {\"unlock_ms\": 5000,}\n}",
					    "PORTER-CFG-SYNTAX", "$.door");

	(void)state;
	assert_contains(s->message, "line 2");
}

static void trailing_garbage_is_refused(void **state)
{
	const struct seen *s = refused_once("{" LOCAL "} {}", "PORTER-CFG-SYNTAX", "$");

	(void)state;
	assert_contains(s->message, "after the end of the JSON document");
}

static void nul_byte_inside_is_refused(void **state)
{
	static const char text[] = "{" LOCAL ",\0 \"door\": {}}";
	struct config c;

	(void)state;
	assert_int_equal(parse_len(text, sizeof(text) - 1, &c), -EINVAL);
	assert_int_equal(reports.n, 1);
	assert_contains(reported("PORTER-CFG-SYNTAX", "$")->message, "NUL byte");
}

static void invalid_utf8_is_refused(void **state)
{
	(void)state;
	/* README: refused with its path, not "$" (finding BB-4). */
	refused_once("{" LOCAL ", \"readers\": [{\"id\": \"\xff\xfe\"}]}", "PORTER-CFG-SYNTAX",
		     "$.readers[0].id");
}

static void oversize_text_is_refused_before_parsing(void **state)
{
	size_t len = CONFIG_MAX_TEXT + 1;
	char *text = malloc(len);
	struct config c;

	(void)state;
	assert_non_null(text);
	memset(text, ' ', len);
	text[0] = '{';
	text[len - 1] = '}';
	assert_int_equal(parse_len(text, len, &c), -E2BIG);
	assert_int_equal(reports.n, 1);
	reported("PORTER-CFG-SIZE", "$");
	free(text);
}

static void deeply_nested_arrays_are_refused_without_crashing(void **state)
{
	size_t depth = 100000, len = 2 * depth;
	char *text = malloc(len);
	struct config c;

	(void)state;
	assert_non_null(text);
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	assert_int_equal(parse_len(text, len, &c), -EINVAL);
	assert_int_equal(reports.n, 1);
	/* Named where it got too deep: inside the 32nd array. */
	assert_contains(reported("PORTER-CFG-SYNTAX",
				 "$[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
				 "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]")
				->message,
			"too deep");
	free(text);
}

static void nesting_inside_a_setting_is_a_type_error(void **state)
{
	(void)state;
	refused_once("{" LOCAL ", \"readers\": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}",
		     "PORTER-CFG-TYPE", "$.readers[0]");
}

/* ---- Setup diagnostics ------------------------------------------------- */

#define SALTO_VISITORS \
	"\"access_control\": {\"salto_ks\": {\"enabled\": true, \"visitor_access\": true}}"

static void salto_visitor_access_warns_and_blocks_visitor_checkin(void **state)
{
	struct config c;
	const struct seen *s;

	(void)state;
	assert_int_equal(parse("{" LOCAL ", " SALTO_VISITORS "}", &c), 0);
	assert_int_equal(reports.n, 1);
	s = reported(DIAG_SALTO_KS_VISITOR_ACCESS, "$.access_control.salto_ks.visitor_access");
	assert_int_equal(s->severity, PORTER_SEVERITY_WARNING);
	assert_contains(s->message, "15 minutes");
	assert_true(s->has_fix);
	assert_contains(s->fix, "access_control.salto_ks.visitor_access to false");
	assert_contains(s->fix, "visitor_checkin to false");
	assert_true(diagnostics_visitor_checkin_blocked(&c));
	assert_false(diagnostics_have_errors(&c));
	assert_int_equal(diagnostics_run(&c, NULL, NULL), 1);
}

static void salto_warning_is_absent_without_visitor_checkin(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse("{" LOCAL ", " SALTO_VISITORS ", \"visitor_checkin\": false}", &c),
			 0);
	assert_int_equal(reports.n, 0);
	assert_false(diagnostics_visitor_checkin_blocked(&c));
	assert_int_equal(diagnostics_run(&c, collect, NULL), 0);
}

static void salto_warning_applies_even_when_every_keypad_is_members_only(void **state)
{
	struct config c;

	(void)state;
	/* Visitors still check in with their QR code. */
	assert_int_equal(parse("{" LOCAL ", " SALTO_VISITORS ","
			       " \"readers\": [{\"id\": \"front\", \"pin_holders\": \"members\"}],"
			       " \"reader_defaults\": {\"pin_holders\": \"members\"}}",
			       &c),
			 0);
	reported(DIAG_SALTO_KS_VISITOR_ACCESS, "$.access_control.salto_ks.visitor_access");
	assert_true(diagnostics_visitor_checkin_blocked(&c));
}

static void salto_warning_applies_when_one_listed_reader_takes_visitor_pins(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse("{" LOCAL ", " SALTO_VISITORS ","
			       " \"readers\": [{\"id\": \"front\", \"pin_holders\": \"visitors\"}],"
			       " \"reader_defaults\": {\"pin_holders\": \"members\"}}",
			       &c),
			 0);
	reported(DIAG_SALTO_KS_VISITOR_ACCESS, "$.access_control.salto_ks.visitor_access");
	assert_true(diagnostics_visitor_checkin_blocked(&c));
}

/* ---- Readers ----------------------------------------------------------- */

static void unknown_reader_gets_the_defaults(void **state)
{
	struct config c;
	const struct reader_config *r;

	(void)state;
	assert_int_equal(parse("{" LOCAL ", \"door\": {\"unlock_ms\": 4000},"
			       " \"readers\": [{\"id\": \"front\", \"direction\": \"entry\"}],"
			       " \"reader_defaults\": {\"direction\": \"exit\"}}",
			       &c),
			 0);
	r = config_reader(&c, "garage");
	assert_ptr_equal(r, &c.reader_defaults);
	assert_int_equal(r->direction, READER_EXIT);
	assert_int_equal(r->unlock_ms, 4000);
	assert_ptr_equal(config_reader(&c, NULL), &c.reader_defaults);

	r = config_reader(&c, "front");
	assert_ptr_equal(r, &c.readers[0]);
	assert_int_equal(r->direction, READER_ENTRY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_config_gets_every_default),
		cmocka_unit_test(every_setting_given_is_used),
		cmocka_unit_test(whole_number_written_as_decimal_is_accepted),
		cmocka_unit_test(c_string_with_its_terminator_is_accepted),
		cmocka_unit_test(wrong_type_is_refused),
		cmocka_unit_test(fraction_for_an_integer_is_refused),
		cmocka_unit_test(null_is_a_wrong_type),
		cmocka_unit_test(unknown_property_is_refused_and_allowed_ones_are_named),
		cmocka_unit_test(bad_enum_value_is_refused_and_allowed_values_are_named),
		cmocka_unit_test(out_of_range_number_is_refused_with_the_range),
		cmocka_unit_test(number_beyond_32_bits_is_refused),
		cmocka_unit_test(missing_local_directory_is_refused),
		cmocka_unit_test(missing_local_section_is_refused),
		cmocka_unit_test(config_that_is_not_an_object_is_refused),
		cmocka_unit_test(too_many_readers_are_refused),
		cmocka_unit_test(overlong_reader_id_is_refused),
		cmocka_unit_test(long_bad_value_is_clipped_in_the_message),
		cmocka_unit_test(relative_path_is_refused),
		cmocka_unit_test(nul_escape_in_a_path_is_refused),
		cmocka_unit_test(pin_min_length_above_max_is_refused),
		cmocka_unit_test(pin_min_length_above_default_max_is_refused),
		cmocka_unit_test(base_lockout_above_max_lockout_is_refused),
		cmocka_unit_test(duplicate_reader_id_is_refused_at_the_duplicate),
		cmocka_unit_test(reader_id_with_a_newline_is_refused),
		cmocka_unit_test(several_errors_are_all_reported_in_one_call),
		cmocka_unit_test(refused_config_leaves_the_old_one_untouched),
		cmocka_unit_test(no_report_callback_is_fine),
		cmocka_unit_test(garbage_text_is_refused),
		cmocka_unit_test(empty_text_is_refused),
		cmocka_unit_test(truncated_json_is_refused),
		cmocka_unit_test(syntax_error_names_line_and_column),
		cmocka_unit_test(trailing_garbage_is_refused),
		cmocka_unit_test(nul_byte_inside_is_refused),
		cmocka_unit_test(invalid_utf8_is_refused),
		cmocka_unit_test(oversize_text_is_refused_before_parsing),
		cmocka_unit_test(deeply_nested_arrays_are_refused_without_crashing),
		cmocka_unit_test(nesting_inside_a_setting_is_a_type_error),
		cmocka_unit_test(salto_visitor_access_warns_and_blocks_visitor_checkin),
		cmocka_unit_test(salto_warning_is_absent_without_visitor_checkin),
		cmocka_unit_test(salto_warning_applies_even_when_every_keypad_is_members_only),
		cmocka_unit_test(salto_warning_applies_when_one_listed_reader_takes_visitor_pins),
		cmocka_unit_test(unknown_reader_gets_the_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
