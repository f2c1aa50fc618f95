/* SPDX-License-Identifier: MIT */
/*
 * test_config_texts.c: a site's display texts ("texts") as the admin meets
 * them in config: the texts porter will show, or each problem with its code
 * and JSON path, all reported in one pass.
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

#include <cmocka.h>

#include "config.h"
#include "feedback_text.h"

#define LOCAL                                                         \
	"\"local\": {\"directory\": \"/etc/porter/directory.json\", " \
	"\"database\": \"/var/lib/porter/porter.db\", "               \
	"\"pin_key_file\": \"/etc/porter/pin.key\"}"

struct seen {
	uint32_t severity;
	char code[48];
	char path[160];
	char message[1024];
};

static struct {
	size_t n;
	struct seen items[64];
} reports;

static void collect(void *userdata, const struct porter_report *r)
{
	if (reports.n == sizeof(reports.items) / sizeof(reports.items[0]))
		return;
	struct seen *s = &reports.items[reports.n++];
	s->severity = r->severity;
	snprintf(s->code, sizeof(s->code), "%s", r->code ? r->code : "");
	snprintf(s->path, sizeof(s->path), "%s", r->path ? r->path : "");
	snprintf(s->message, sizeof(s->message), "%s", r->message ? r->message : "");
}

/* Parse LOCAL plus `texts` (the members of the "texts" object). */
static int parse_texts(const char *texts, struct config *config)
{
	char text[8192];
	snprintf(text, sizeof(text), "{" LOCAL ", \"texts\": {%s}}", texts);
	reports.n = 0;
	return config_parse(text, strlen(text), config, collect, NULL);
}

static const struct seen *find(const char *code, const char *path)
{
	for (size_t i = 0; i < reports.n; i++)
		if (strcmp(reports.items[i].code, code) == 0 &&
		    strcmp(reports.items[i].path, path) == 0)
			return &reports.items[i];
	return NULL;
}

static const struct seen *expect(const char *code, const char *path)
{
	const struct seen *s = find(code, path);
	if (!s) {
		for (size_t i = 0; i < reports.n; i++)
			fprintf(stderr, "  got %s at %s: %s\n", reports.items[i].code,
			        reports.items[i].path, reports.items[i].message);
		fail_msg("expected %s at %s", code, path);
	}
	assert_int_equal(s->severity, PORTER_SEVERITY_ERROR);
	return s;
}

static void test_site_texts_replace_the_defaults_one_by_one(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"checked_in\": \"Willkommen, {name}!\", "
	                             "\"locked_out\": \"Gesperrt: {seconds} s\"",
	                             &c),
	                 0);
	assert_int_equal(reports.n, 0);
	assert_string_equal(c.texts[FT_CHECKED_IN], "Willkommen, {name}!");
	assert_string_equal(c.texts[FT_LOCKED_OUT], "Gesperrt: {seconds} s");
	assert_string_equal(c.texts[FT_CHECKED_OUT], ""); /* left out: the default */
}

static void test_no_texts_means_every_default(void **state)
{
	struct config c;
	const char *text = "{" LOCAL "}";
	reports.n = 0;
	assert_int_equal(config_parse(text, strlen(text), &c, collect, NULL), 0);
	for (int id = 0; id < FEEDBACK_TEXT_COUNT; id++)
		assert_string_equal(c.texts[id], "");
}

static void test_unknown_text_is_refused_with_its_path(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"chcked_in\": \"Willkommen!\"", &c), -EINVAL);
	const struct seen *s = expect("PORTER-CFG-UNKNOWN", "$.texts.chcked_in");
	assert_non_null(strstr(s->message, "\"checked_in\""));
	/* Too many keys to list them all: the list ends in "...", never in the
	 * middle of a name (README's Display texts has them all). */
	size_t len = strlen(s->message);
	assert_true(len > 5);
	assert_string_equal(s->message + len - 5, ", ...");
}

static void test_unknown_placeholder_is_refused_with_its_path(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"checked_in\": \"Willkommen, {nme}!\"", &c), -EINVAL);
	const struct seen *s = expect("PORTER-CFG-TEXT", "$.texts.checked_in");
	assert_string_equal(s->message, "unknown placeholder {nme}; this text may use {name}");
	assert_int_equal(reports.n, 1);
}

static void test_a_placeholder_of_another_text_is_refused(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"unknown_pin\": \"Nein, {name}.\"", &c), -EINVAL);
	const struct seen *s = expect("PORTER-CFG-TEXT", "$.texts.unknown_pin");
	assert_string_equal(s->message,
	                    "this text cannot show {name}; this text takes no placeholders");
}

static void test_unbalanced_braces_are_refused_with_their_path(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"checked_in\": \"Hallo {name\", "
	                             "\"checked_out\": \"Tschüss :-}\"",
	                             &c),
	                 -EINVAL);
	/* Both at once: the admin fixes them in one round trip. */
	assert_non_null(strstr(expect("PORTER-CFG-TEXT", "$.texts.checked_in")->message,
	                       "not closed; write {{ for a literal brace"));
	assert_non_null(strstr(expect("PORTER-CFG-TEXT", "$.texts.checked_out")->message,
	                       "write }} for a literal brace"));
}

static void test_literal_braces_are_accepted(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"checked_in\": \"{{:-}} {name}\"", &c), 0);
	assert_string_equal(c.texts[FT_CHECKED_IN], "{{:-}} {name}");
}

static void test_control_characters_in_a_text_are_refused(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"checked_in\": \"Hallo\\n{name}\", "
	                             "\"busy\": \"Moment\\u0085bitte\"",
	                             &c),
	                 -EINVAL);
	assert_non_null(strstr(expect("PORTER-CFG-TEXT", "$.texts.checked_in")->message,
	                       "control characters"));
	assert_non_null(
	        strstr(expect("PORTER-CFG-TEXT", "$.texts.busy")->message, "control characters"));
}

static void test_empty_or_too_long_text_is_refused(void **state)
{
	struct config c;
	char texts[512];
	char long_text[FEEDBACK_TEMPLATE_CHARS + 2];
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	snprintf(texts, sizeof(texts), "\"busy\": \"\", \"unknown_pin\": \"%s\"", long_text);
	assert_int_equal(parse_texts(texts, &c), -EINVAL);
	expect("PORTER-CFG-LENGTH", "$.texts.busy");
	expect("PORTER-CFG-LENGTH", "$.texts.unknown_pin");
	/* At the limit is fine. */
	long_text[FEEDBACK_TEMPLATE_CHARS] = '\0';
	snprintf(texts, sizeof(texts), "\"unknown_pin\": \"%s\"", long_text);
	assert_int_equal(parse_texts(texts, &c), 0);
	assert_string_equal(c.texts[FT_UNKNOWN_PIN], long_text);
}

static void test_a_text_must_be_a_string_and_texts_an_object(void **state)
{
	struct config c;
	assert_int_equal(parse_texts("\"busy\": 5", &c), -EINVAL);
	expect("PORTER-CFG-TYPE", "$.texts.busy");
	const char *text = "{" LOCAL ", \"texts\": [\"Willkommen\"]}";
	reports.n = 0;
	assert_int_equal(config_parse(text, strlen(text), &c, collect, NULL), -EINVAL);
	expect("PORTER-CFG-TYPE", "$.texts");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_site_texts_replace_the_defaults_one_by_one),
	        cmocka_unit_test(test_no_texts_means_every_default),
	        cmocka_unit_test(test_unknown_text_is_refused_with_its_path),
	        cmocka_unit_test(test_unknown_placeholder_is_refused_with_its_path),
	        cmocka_unit_test(test_a_placeholder_of_another_text_is_refused),
	        cmocka_unit_test(test_unbalanced_braces_are_refused_with_their_path),
	        cmocka_unit_test(test_literal_braces_are_accepted),
	        cmocka_unit_test(test_control_characters_in_a_text_are_refused),
	        cmocka_unit_test(test_empty_or_too_long_text_is_refused),
	        cmocka_unit_test(test_a_text_must_be_a_string_and_texts_an_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
