/* SPDX-License-Identifier: MIT */
/*
 * test_feedback_text.c: the words on the door's display.
 *
 * The template language (placeholders, literal braces, what is refused), how
 * a rendered text is bounded (cut on a UTF-8 character boundary), and that
 * the one table in feedback_text.c agrees with everything that lists the
 * texts for an admin: plugin.json's "texts" schema, README's "Display texts"
 * and the example translations in examples/.
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
#include <json-c/json.h>

#include "feedback_text.h"
#include "schema.h"

static const char *const examples[] = {"examples/texts-de.json", "examples/texts-fr.json"};

/* Characters a small display shows for a template as written. */
#define DISPLAY_CHARS_MAX 80

static char *read_source(const char *relative)
{
	const char *root = getenv("PORTER_SOURCE_DIR");
	char path[4096];
	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/%s", root, relative);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	char *text = calloc(1, 1 << 20);
	assert_non_null(text);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

static bool valid_utf8(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
		if ((c & 0xC0) == 0x80 || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xC0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static const char *render(enum feedback_text id, const char *tmpl, const struct feedback_values *v)
{
	static char out[FEEDBACK_TEXT_MAX + 1];
	feedback_text_render(id, tmpl, v, out, sizeof(out));
	return out;
}

static int check(enum feedback_text id, const char *tmpl, char err[256])
{
	err[0] = '\0';
	return feedback_text_check(id, tmpl, strlen(tmpl), err, 256);
}

/* ---- the table ---------------------------------------------------------- */

static void test_every_text_has_a_default_that_uses_only_its_placeholders(void **state)
{
	char err[256];
	for (int id = 0; id < FEEDBACK_TEXT_COUNT; id++) {
		const char *key = feedback_text_key(id), *english = feedback_text_default(id);
		assert_non_null(key);
		assert_non_null(english);
		assert_non_null(feedback_text_code(id));
		assert_int_equal(feedback_text_lookup(key), id);
		if (check(id, english, err) != 0)
			fail_msg("default of %s: %s", key, err);
		assert_true(strlen(english) <= FEEDBACK_TEMPLATE_MAX);
		assert_true(utf8_chars(english) <= DISPLAY_CHARS_MAX);
		/* Rendered, no brace is left over. */
		struct feedback_values v = {
		        .name = "Ana", .seconds = 30, .min_digits = 4, .max_digits = 8};
		const char *shown = render(id, NULL, &v);
		assert_true(strlen(shown) > 0);
		assert_null(strchr(shown, '{'));
		assert_null(strchr(shown, '}'));
	}
	assert_null(feedback_text_key(FEEDBACK_TEXT_COUNT));
	assert_int_equal(feedback_text_lookup("chcked_in"), -1);
	assert_int_equal(feedback_text_lookup(NULL), -1);
}

static void test_texts_sharing_a_code_are_told_apart_by_key(void **state)
{
	assert_string_equal(feedback_text_code(FT_WRONG_KEYPAD_MEMBERS), "wrong_keypad");
	assert_string_equal(feedback_text_code(FT_WRONG_KEYPAD_VISITORS), "wrong_keypad");
	assert_string_equal(feedback_text_code(FT_PIN_TOO_LONG_KEY_BY_KEY), "pin_too_long");
	assert_string_equal(feedback_text_code(FT_CHECKED_IN), "checked_in");
}

/* ---- rendering ---------------------------------------------------------- */

static void test_placeholders_are_filled_in(void **state)
{
	struct feedback_values v = {
	        .name = "Ana Souza", .seconds = 30, .min_digits = 4, .max_digits = 8};
	assert_string_equal(render(FT_CHECKED_IN, NULL, &v),
	                    "Welcome, Ana Souza. You are checked in.");
	assert_string_equal(render(FT_CHECKED_IN, "Willkommen, {name}!", &v),
	                    "Willkommen, Ana Souza!");
	assert_string_equal(render(FT_LOCKED_OUT, NULL, &v),
	                    "Too many failed attempts. Try again in 30 s.");
	assert_string_equal(render(FT_PIN_TOO_SHORT, "{min_digits}-{max_digits} digits", &v),
	                    "4-8 digits");
	assert_string_equal(render(FT_CHECKED_IN, "{name}{name}", &v), "Ana SouzaAna Souza");
	/* No values: the name is empty, numbers are 0. */
	assert_string_equal(render(FT_CHECKED_IN, "Hi {name}.", NULL), "Hi .");
}

static void test_double_braces_are_literal_braces(void **state)
{
	struct feedback_values v = {.name = "Ana"};
	char err[256];
	assert_int_equal(check(FT_CHECKED_IN, "{{name}} is {name} }}", err), 0);
	assert_string_equal(render(FT_CHECKED_IN, "{{name}} is {name} }}", &v), "{name} is Ana }");
	assert_string_equal(render(FT_CHECKED_IN, "{{{name}}}", &v), "{Ana}");
}

static void test_an_empty_template_shows_the_default(void **state)
{
	struct feedback_values v = {.name = "Ana"};
	assert_string_equal(render(FT_CHECKED_OUT, "", &v), "Goodbye, Ana. You are checked out.");
	assert_string_equal(render(FT_UNKNOWN_PIN, NULL, NULL),
	                    "PIN not recognised. Please try again.");
}

static void test_a_value_cannot_fill_a_placeholder_its_text_does_not_declare(void **state)
{
	/* Templates are checked at config time; render still never trusts one. */
	struct feedback_values v = {.name = "Ana", .seconds = 9};
	assert_string_equal(render(FT_UNKNOWN_PIN, "No {name} {seconds} {x} {", &v),
	                    "No {name} {seconds} {x} {");
}

/* Whatever the buffer, the text is a prefix of the whole one, cut between
 * characters: 2-, 3- and 4-byte characters at every possible cut. */
static void test_long_text_is_cut_on_a_character_boundary(void **state)
{
	struct feedback_values v = {.name = "Zoë €uro 😀 Ł"};
	char whole[FEEDBACK_TEXT_MAX + 1], out[64];
	feedback_text_render(FT_CHECKED_IN, "{name}|{name}", &v, whole, sizeof(whole));
	assert_string_equal(whole, "Zoë €uro 😀 Ł|Zoë €uro 😀 Ł");
	for (size_t size = 1; size <= sizeof(out); size++) {
		memset(out, 'x', sizeof(out));
		size_t n = feedback_text_render(FT_CHECKED_IN, "{name}|{name}", &v, out, size);
		assert_true(n < size);
		assert_int_equal(out[n], '\0');
		assert_memory_equal(out, whole, n);
		assert_true(valid_utf8(out, n));
		/* Cut only as far as needed: the next character did not fit. */
		if (n < strlen(whole)) {
			size_t next = 1;
			while (((unsigned char)whole[n + next] & 0xC0) == 0x80)
				next++;
			assert_true(n + next > size - 1);
		}
	}
}

static void test_rendered_text_is_bounded(void **state)
{
	char name[129];
	for (size_t i = 0; i < 64; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2); /* 64 x "é", 128 bytes */
	name[128] = '\0';
	struct feedback_values v = {.name = name};
	char out[1024];
	size_t n = feedback_text_render(FT_CHECKED_IN, "{name}{name}{name}", &v, out, sizeof(out));
	assert_int_equal(n, FEEDBACK_TEXT_MAX - 1); /* 255 is odd: the last é did not fit */
	assert_true(valid_utf8(out, n));
	assert_int_equal(strlen(out), n);
}

/* ---- checking a site's template ---------------------------------------- */

static void test_unknown_placeholder_is_named_with_the_ones_allowed(void **state)
{
	char err[256];
	assert_int_equal(check(FT_CHECKED_IN, "Willkommen, {nme}!", err), -EINVAL);
	assert_string_equal(err, "unknown placeholder {nme}; this text may use {name}");
	assert_int_equal(check(FT_PIN_TOO_SHORT, "{digits}", err), -EINVAL);
	assert_string_equal(err, "unknown placeholder {digits}; this text may use {min_digits}, "
	                         "{max_digits}");
	assert_int_equal(check(FT_UNKNOWN_PIN, "{}", err), -EINVAL);
	assert_string_equal(err, "unknown placeholder {}; this text takes no placeholders");
}

static void test_a_refused_pin_never_shows_a_name(void **state)
{
	char err[256];
	assert_int_equal(check(FT_MEMBERSHIP_EXPIRED, "Sorry {name}, expired.", err), -EINVAL);
	assert_string_equal(err, "this text cannot show {name}; this text takes no placeholders");
	assert_int_equal(check(FT_UNKNOWN_PIN, "{name}?", err), -EINVAL);
	assert_int_equal(check(FT_LOCKED_OUT, "{name}: {seconds}", err), -EINVAL);
	assert_string_equal(err, "this text cannot show {name}; this text may use {seconds}");
}

static void test_unbalanced_braces_are_refused(void **state)
{
	char err[256];
	assert_int_equal(check(FT_CHECKED_IN, "Hi {name", err), -EINVAL);
	assert_string_equal(err, "the { at byte 3 is not closed; write {{ for a literal brace");
	assert_int_equal(check(FT_CHECKED_IN, "Hi {na{name}", err), -EINVAL);
	assert_string_equal(err, "the { at byte 3 is not closed; write {{ for a literal brace");
	assert_int_equal(check(FT_CHECKED_IN, "Hi :-}", err), -EINVAL);
	assert_string_equal(err, "a single } at byte 5; write }} for a literal brace");
	assert_int_equal(check(FT_CHECKED_IN, "{{name}", err), -EINVAL);
	assert_string_equal(err, "a single } at byte 6; write }} for a literal brace");
}

static void test_control_characters_are_refused(void **state)
{
	char err[256];
	const char *bad[] = {"Hi\n{name}", "Hi\t{name}", "Hi\x7f", "Hi \xc2\x85 there",
	                     "Hi {na\nme}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check(FT_CHECKED_IN, bad[i], err), -EINVAL);
		assert_non_null(strstr(err, "control characters"));
	}
	/* U+00A0 (no-break space) and other letters are text, not controls. */
	assert_int_equal(check(FT_CHECKED_IN, "Bienvenue,\xc2\xa0{name}\xc2\xa0!", err), 0);
}

static void test_a_long_placeholder_name_is_clipped_in_the_message(void **state)
{
	char tmpl[200], err[256];
	memset(tmpl, 'a', sizeof(tmpl));
	tmpl[0] = '{';
	tmpl[150] = '}';
	tmpl[151] = '\0';
	assert_int_equal(check(FT_CHECKED_IN, tmpl, err), -EINVAL);
	assert_true(strlen(err) < 120);
	assert_non_null(strstr(err, "...}"));
}

/* ---- everything that lists the texts agrees with the table -------------- */

static json_object *manifest_texts(json_object **ret_manifest)
{
	json_object *m = json_tokener_parse(porter_manifest_json), *v;
	assert_non_null(m);
	assert_true(json_object_object_get_ex(m, "config_schema", &v));
	assert_true(json_object_object_get_ex(v, "properties", &v));
	assert_true(json_object_object_get_ex(v, "texts", &v));
	*ret_manifest = m;
	return v;
}

static void test_plugin_json_lists_every_text_with_its_default(void **state)
{
	json_object *manifest, *texts = manifest_texts(&manifest), *props, *v;
	assert_true(json_object_object_get_ex(texts, "additionalProperties", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(texts, "properties", &props));
	assert_int_equal(json_object_object_length(props), FEEDBACK_TEXT_COUNT);
	for (int id = 0; id < FEEDBACK_TEXT_COUNT; id++) {
		json_object *p;
		char may[96], want[128];
		if (!json_object_object_get_ex(props, feedback_text_key(id), &p))
			fail_msg("plugin.json has no texts.%s", feedback_text_key(id));
		assert_true(json_object_object_get_ex(p, "maxLength", &v));
		assert_int_equal(json_object_get_int(v), FEEDBACK_TEMPLATE_CHARS);
		assert_true(json_object_object_get_ex(p, "minLength", &v));
		assert_int_equal(json_object_get_int(v), 1);
		assert_true(json_object_object_get_ex(p, "description", &v));
		const char *d = json_object_get_string(v);
		if (!strstr(d, feedback_text_default(id)))
			fail_msg("texts.%s: description lacks the default", feedback_text_key(id));
		feedback_text_placeholders(id, may, sizeof(may));
		snprintf(want, sizeof(want), may[0] ? "May use %s." : "Takes no placeholders.",
		         may);
		if (!strstr(d, want))
			fail_msg("texts.%s: description lacks \"%s\"", feedback_text_key(id), want);
	}
	json_object_put(manifest);
}

static void test_readme_lists_every_text_with_its_default(void **state)
{
	char *readme = read_source("README.md");
	const char *section = strstr(readme, "## Display texts");
	assert_non_null(section);
	for (int id = 0; id < FEEDBACK_TEXT_COUNT; id++) {
		char row[96];
		snprintf(row, sizeof(row), "| `%s` ", feedback_text_key(id));
		const char *line = strstr(section, row);
		if (!line)
			fail_msg("README's Display texts lacks a row for %s",
			         feedback_text_key(id));
		const char *end = strchr(line, '\n');
		const char *english = strstr(line, feedback_text_default(id));
		if (!english || (end && english > end))
			fail_msg("README's row for %s lacks its default", feedback_text_key(id));
	}
	free(readme);
}

/* Each example is a complete translation, every text valid and short. */
static void test_example_translations_are_complete(void **state)
{
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char *text = read_source(examples[i]), err[256];
		json_object *root = json_tokener_parse(text), *texts;
		assert_non_null(root);
		assert_true(json_object_object_get_ex(root, "texts", &texts));
		assert_int_equal(json_object_object_length(root), 1);
		assert_int_equal(json_object_object_length(texts), FEEDBACK_TEXT_COUNT);
		for (int id = 0; id < FEEDBACK_TEXT_COUNT; id++) {
			json_object *t;
			if (!json_object_object_get_ex(texts, feedback_text_key(id), &t))
				fail_msg("%s lacks %s", examples[i], feedback_text_key(id));
			const char *s = json_object_get_string(t);
			if (feedback_text_check(id, s, strlen(s), err, sizeof(err)) != 0)
				fail_msg("%s: %s: %s", examples[i], feedback_text_key(id), err);
			assert_true(strlen(s) <= FEEDBACK_TEMPLATE_MAX);
			if (utf8_chars(s) > DISPLAY_CHARS_MAX)
				fail_msg("%s: %s is longer than %d characters", examples[i],
				         feedback_text_key(id), DISPLAY_CHARS_MAX);
			assert_string_not_equal(s, feedback_text_default(id));
		}
		json_object_put(root);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_text_has_a_default_that_uses_only_its_placeholders),
	        cmocka_unit_test(test_texts_sharing_a_code_are_told_apart_by_key),
	        cmocka_unit_test(test_placeholders_are_filled_in),
	        cmocka_unit_test(test_double_braces_are_literal_braces),
	        cmocka_unit_test(test_an_empty_template_shows_the_default),
	        cmocka_unit_test(test_a_value_cannot_fill_a_placeholder_its_text_does_not_declare),
	        cmocka_unit_test(test_long_text_is_cut_on_a_character_boundary),
	        cmocka_unit_test(test_rendered_text_is_bounded),
	        cmocka_unit_test(test_unknown_placeholder_is_named_with_the_ones_allowed),
	        cmocka_unit_test(test_a_refused_pin_never_shows_a_name),
	        cmocka_unit_test(test_unbalanced_braces_are_refused),
	        cmocka_unit_test(test_control_characters_are_refused),
	        cmocka_unit_test(test_a_long_placeholder_name_is_clipped_in_the_message),
	        cmocka_unit_test(test_plugin_json_lists_every_text_with_its_default),
	        cmocka_unit_test(test_readme_lists_every_text_with_its_default),
	        cmocka_unit_test(test_example_translations_are_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
