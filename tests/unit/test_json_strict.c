/* SPDX-License-Identifier: MIT */
/*
 * test_json_strict.c: the strict JSON reader refuses what json-c lets
 * through (duplicate keys, bad UTF-8, raw control characters) and says
 * where, as a JSON path an admin can follow.
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
#include "json_strict.h"

static struct json_error check_len(const char *text, size_t len, int want)
{
	struct json_error e = {0};
	int r = json_strict_check(text, len, 32, &e);
	if (r != want)
		fail_msg("\"%s\": r=%d, wanted %d (%s: %s)", text, r, want, e.path, e.message);
	return e;
}

static struct json_error check(const char *text, int want)
{
	return check_len(text, strlen(text), want);
}

static void test_well_formed_documents_are_accepted(void **state)
{
	static const char *const ok[] = {
	        "{}",
	        " [ ] ",
	        "1",
	        "-0.5e+10",
	        "\"a\"",
	        "[true,false,null]",
	        "{\"a\":{\"a\":{\"a\":1}}}",          /* one key per object, at each depth */
	        "[{\"id\":1},{\"id\":2},{\"id\":3}]", /* siblings may share keys */
	        "{\"a\":{\"b\":1},\"b\":2}",          /* a child's key is not the parent's */
	        "{\"name\":\"Zo\xc3\xab \xf0\x9f\x98\x80 \\u00e9\\ud83d\\ude00\"}",
	        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
	        "{\"\":{\"\":1}}",                              /* an empty key is a key */
	        "[1.7e308, -1.7e308, 0e-400, 0.0e999, 1e-310]", /* a double holds each */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		check(ok[i], 0);
}

static void test_tokens_come_out_in_order_with_decoded_strings(void **state)
{
	const char *text = "{\"k\\u00e9y\": [1, \"\\ud83d\\ude00\", true]}";
	struct json_reader *r = json_reader_new(text, strlen(text), 8);
	static const enum json_token want[] = {
	        JSON_TOKEN_OBJECT_BEGIN, JSON_TOKEN_KEY,        JSON_TOKEN_ARRAY_BEGIN,
	        JSON_TOKEN_NUMBER,       JSON_TOKEN_STRING,     JSON_TOKEN_TRUE,
	        JSON_TOKEN_ARRAY_END,    JSON_TOKEN_OBJECT_END, JSON_TOKEN_END,
	};
	struct json_value v;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(json_reader_next(r, &v), 0);
		assert_int_equal(v.token, want[i]);
		if (v.token == JSON_TOKEN_KEY)
			assert_string_equal(v.text, "k\xc3\xa9y");
		if (v.token == JSON_TOKEN_STRING) {
			assert_int_equal(v.len, 4);
			assert_memory_equal(v.text, "\xf0\x9f\x98\x80", 4);
		}
		if (v.token == JSON_TOKEN_NUMBER)
			assert_memory_equal(v.text, "1", v.len);
	}
	json_reader_free(r);
}

static void test_skipping_a_value_stops_right_after_it(void **state)
{
	const char *text = "{\"a\": {\"b\": [1, {\"c\": []}], \"d\": \"}\"}, \"e\": 2, \"f\": 3}";
	struct json_reader *r = json_reader_new(text, strlen(text), 8);
	struct json_value v;
	assert_int_equal(json_reader_next(r, &v), 0); /* { */
	assert_int_equal(json_reader_next(r, &v), 0); /* "a" */
	assert_int_equal(json_reader_next(r, &v), 0); /* { of a's value */
	assert_int_equal(json_reader_skip(r, &v), 0);
	assert_int_equal(json_reader_next(r, &v), 0);
	assert_int_equal(v.token, JSON_TOKEN_KEY);
	assert_string_equal(v.text, "e");
	assert_int_equal(json_reader_next(r, &v), 0); /* 2: a scalar is all read */
	assert_int_equal(v.token, JSON_TOKEN_NUMBER);
	assert_int_equal(json_reader_skip(r, &v), 0);
	assert_int_equal(json_reader_next(r, &v), 0);
	assert_int_equal(v.token, JSON_TOKEN_KEY);
	assert_string_equal(v.text, "f");
	json_reader_free(r);

	/* A broken value inside is the reader's error, kept. */
	text = "[{\"x\": [1, }], 2]";
	r = json_reader_new(text, strlen(text), 8);
	assert_int_equal(json_reader_next(r, &v), 0);
	assert_int_equal(json_reader_next(r, &v), 0);
	assert_int_equal(json_reader_skip(r, &v), -EINVAL);
	assert_int_equal(json_reader_error(r)->kind, JSON_ERROR_SYNTAX);
	json_reader_free(r);
}

static void test_a_duplicate_key_is_named_by_its_path(void **state)
{
	struct json_error e =
	        check("{\"porter_directory\":1,\"people\":[{\"id\":\"a\"},{\"id\":\"b\"},"
	              "{\"id\":\"c\"},\n{\"id\":\"d\",\"pin_hash\":\"1\",\"pin_hash\":\"2\"}]}",
	              -EINVAL);
	char line[256];
	assert_int_equal(e.kind, JSON_ERROR_DUPLICATE);
	assert_string_equal(e.path, "$.people[3].pin_hash");
	assert_int_equal(e.line, 2);
	assert_int_equal(e.column, 26);
	json_error_format(&e, line, sizeof(line));
	assert_string_equal(line,
	                    "$.people[3].pin_hash appears twice in one object (line 2, column 26)");
}

static void test_duplicates_are_found_however_written(void **state)
{
	/* The same key through an escape, at the top level, and after a nested
	 * object closed (its keys must not hide or fake the parent's). */
	assert_string_equal(check("{\"a\":1,\"\\u0061\":2}", -EINVAL).path, "$.a");
	assert_string_equal(check("{\"\":1,\"\":2}", -EINVAL).path, "$[\"\"]");
	assert_string_equal(check("{\"x\":{\"a\":1},\"y\":{\"a\":1},\"x\":0}", -EINVAL).path,
	                    "$.x");
	struct json_error e = check("{\"a b\\u0001\":{\"k\":1,\"k\":2}}", -EINVAL);
	assert_int_equal(e.kind, JSON_ERROR_DUPLICATE);
	assert_string_equal(e.path, "$[\"a b\\u0001\"].k"); /* no raw control byte in a message */
}

static void test_many_distinct_keys_are_accepted(void **state)
{
	/* 50,000 keys in one object and 50,000 one-key objects: both exercise
	 * the set's growth and its exact removal when objects close. */
	size_t n = 50000, len = 0;
	char *text = malloc(n * 32 + 16);
	len += (size_t)sprintf(text + len, "{");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s\"k%zu\":[{\"k%zu\":0}]", i ? "," : "", i, i);
	len += (size_t)sprintf(text + len, "}");
	check_len(text, len, 0);
	memcpy(text + len - 1, ",\"k7\":1}", 9); /* one more, a duplicate of an early key */
	struct json_error e = check_len(text, len + 7, -EINVAL);
	assert_int_equal(e.kind, JSON_ERROR_DUPLICATE);
	assert_string_equal(e.path, "$.k7");
	free(text);
}

struct bad_case {
	const char *text;
	size_t len; /* 0: strlen */
	enum json_error_kind kind;
	const char *path;
	const char *message; /* must appear in it */
};

static void test_bad_text_is_refused_with_kind_and_path(void **state)
{
	static const struct bad_case cases[] = {
	        /* Invalid UTF-8: overlong, surrogate, above U+10FFFF, stray and
	         * cut-short sequences. */
	        {"{\"name\":\"\xc0\xaf\"}", 0, JSON_ERROR_ENCODING, "$.name", "0xC0"},
	        {"{\"name\":\"\xe0\x80\xaf\"}", 0, JSON_ERROR_ENCODING, "$.name", "invalid UTF-8"},
	        {"{\"name\":\"\xed\xa0\x80\"}", 0, JSON_ERROR_ENCODING, "$.name", "0xED"},
	        {"{\"name\":\"\xf4\x90\x80\x80\"}", 0, JSON_ERROR_ENCODING, "$.name", "0xF4"},
	        {"{\"name\":\"\xf5\x80\x80\x80\"}", 0, JSON_ERROR_ENCODING, "$.name", "0xF5"},
	        {"[\"a\x80\"]", 0, JSON_ERROR_ENCODING, "$[0]", "0x80"},
	        {"[\"\xe2\x82\"]", 0, JSON_ERROR_ENCODING, "$[0]", "invalid UTF-8"},
	        {"{\"n\xff\":1}", 0, JSON_ERROR_ENCODING, "$", "0xFF"},
	        /* Raw control characters, escaped NUL, lone surrogates. */
	        {"{\"a\":[\"x\ty\"]}", 0, JSON_ERROR_ENCODING, "$.a[0]", "control character 0x09"},
	        {"{\"a\":\"x\x01y\"}", 0, JSON_ERROR_ENCODING, "$.a", "0x01"},
	        {"{\"a\":\"x\0y\"}", 12, JSON_ERROR_ENCODING, "$.a", "0x00"},
	        {"[\"\\ud800\"]", 0, JSON_ERROR_ENCODING, "$[0]", "surrogate"},
	        {"[\"\\ud800\\u0041\"]", 0, JSON_ERROR_ENCODING, "$[0]", "surrogate"},
	        {"[\"\\udc00\"]", 0, JSON_ERROR_ENCODING, "$[0]", "surrogate"},
	        /* What json-c's strict mode still accepts. */
	        {"[NaN]", 0, JSON_ERROR_SYNTAX, "$[0]", "no NaN or Infinity"},
	        {"[1.]", 0, JSON_ERROR_SYNTAX, "$[0]", "not a JSON number"},
	        {"[01]", 0, JSON_ERROR_SYNTAX, "$[0]", "not a JSON number"},
	        {"[-Infinity]", 0, JSON_ERROR_SYNTAX, "$[0]", "no NaN or Infinity"},
	        {"[+1]", 0, JSON_ERROR_SYNTAX, "$[0]", "not a JSON number"},
	        {"[.5]", 0, JSON_ERROR_SYNTAX, "$[0]", "not a JSON number"},
	        {"[0x10]", 0, JSON_ERROR_SYNTAX, "$[0]", "not a JSON number"},
	        {"{'a':1}", 0, JSON_ERROR_SYNTAX, "$", "single quotes"},
	        {"{\"a\":1 /* c */}", 0, JSON_ERROR_SYNTAX, "$.a", "no comments"},
	        /* Valid JSON, refused by porter's rules (json_strict.h). */
	        {"{\"a\":\"x\\u0000y\"}", 0, JSON_ERROR_RULE, "$.a", "\\u0000"},
	        {"{\"a\\u0000b\":1}", 0, JSON_ERROR_RULE, "$[\"a\\u0000b\"]", "\\u0000"},
	        {"[1e400]", 0, JSON_ERROR_RULE, "$[0]", "beyond what porter holds"},
	        {"[-1e400]", 0, JSON_ERROR_RULE, "$[0]", "beyond what porter holds"},
	        {"[1e-400]", 0, JSON_ERROR_RULE, "$[0]", "beyond what porter holds"},
	        /* Plain syntax. */
	        {"[1,]", 0, JSON_ERROR_SYNTAX, "$", "trailing comma"},
	        {"{\"a\":1,}", 0, JSON_ERROR_SYNTAX, "$", "trailing comma"},
	        {"{\"a\":1,2}", 0, JSON_ERROR_SYNTAX, "$", "member name"},
	        {"{\"a\" 1}", 0, JSON_ERROR_SYNTAX, "$.a", "':'"},
	        {"{\"a\":1} {}", 0, JSON_ERROR_SYNTAX, "$", "after the end"},
	        {"[\"\\x\"]", 0, JSON_ERROR_SYNTAX, "$[0]", "invalid escape"},
	        {"\xef\xbb\xbf{}", 0, JSON_ERROR_SYNTAX, "$", "byte order mark"},
	        {"", 0, JSON_ERROR_TRUNCATED, "$", "ends early"},
	        {"{\"a\":[1,2", 0, JSON_ERROR_TRUNCATED, "$.a[1]", "ends"},
	        {"[\"abc", 0, JSON_ERROR_TRUNCATED, "$[0]", "inside a string"},
	        {"[tru", 0, JSON_ERROR_TRUNCATED, "$[0]", "ends early"},
	        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 0,
	         JSON_ERROR_DEPTH, NULL, "deeper than 32"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		struct json_error e = {0};
		int r = json_strict_check(c->text, c->len ? c->len : strlen(c->text), 32, &e);
		if (r != -EINVAL || e.kind != c->kind ||
		    (c->path && strcmp(e.path, c->path) != 0) || !strstr(e.message, c->message))
			fail_msg("case %zu: r=%d kind=%d path=%s message=\"%s\"; wanted kind %d "
			         "path %s "
			         "message with \"%s\"",
			         i, r, e.kind, e.path, e.message, c->kind, c->path ? c->path : "-",
			         c->message);
	}
}

static void test_error_position_counts_lines_and_columns(void **state)
{
	struct json_error e = check("{\n  \"a\": 1,\n  \"b\": \"x\xc0\"\n}", -EINVAL);
	char line[256];
	assert_int_equal(e.line, 3);
	assert_int_equal(e.column, 10);
	json_error_format(&e, line, sizeof(line));
	assert_non_null(strstr(line, "$.b: invalid UTF-8 (byte 0xC0)"));
	assert_non_null(strstr(line, "(line 3, column 10)"));
}

/* ---- The config uses the same reader ----------------------------------- */

#define LOCAL                                                         \
	"\"local\": {\"directory\": \"/etc/porter/directory.json\", " \
	"\"database\": \"/var/lib/porter/porter.db\", "               \
	"\"pin_key_file\": \"/etc/porter/pin.key\"}"

static char last_code[64], last_path[JSON_STRICT_PATH_MAX], last_message[512];
static int n_errors;

static void collect(void *userdata, const struct porter_report *r)
{
	if (r->severity != PORTER_SEVERITY_ERROR)
		return;
	n_errors++;
	snprintf(last_code, sizeof(last_code), "%s", r->code);
	snprintf(last_path, sizeof(last_path), "%s", r->path);
	snprintf(last_message, sizeof(last_message), "%s", r->message);
}

static int parse_config(const char *text)
{
	struct config c;
	n_errors = 0;
	return config_parse(text, strlen(text), &c, collect, NULL);
}

static void test_config_with_a_key_twice_is_refused_naming_the_path(void **state)
{
	assert_int_equal(parse_config("{" LOCAL ", \"keypad\": {\"pin_min_length\": 4, "
	                              "\"pin_min_length\": 6}}"),
	                 -EINVAL);
	assert_int_equal(n_errors, 1);
	assert_string_equal(last_code, "PORTER-CFG-DUPLICATE");
	assert_string_equal(last_path, "$.keypad.pin_min_length");
	assert_non_null(strstr(last_message, "$.keypad.pin_min_length appears twice"));
	/* The same config with the key once is fine. */
	assert_int_equal(parse_config("{" LOCAL ", \"keypad\": {\"pin_min_length\": 6}}"), 0);
}

static void test_config_with_bad_utf8_or_control_characters_is_refused(void **state)
{
	assert_int_equal(parse_config("{" LOCAL ", \"readers\": [{\"id\": \"door\xed\xa0\x80\"}]}"),
	                 -EINVAL);
	assert_string_equal(last_code, "PORTER-CFG-SYNTAX");
	assert_string_equal(last_path, "$.readers[0].id");
	assert_non_null(strstr(last_message, "invalid UTF-8"));
	assert_int_equal(parse_config("{" LOCAL ", \"readers\": [{\"id\": \"door\x01\"}]}"),
	                 -EINVAL);
	assert_string_equal(last_path, "$.readers[0].id");
	assert_non_null(strstr(last_message, "control character"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_well_formed_documents_are_accepted),
	        cmocka_unit_test(test_tokens_come_out_in_order_with_decoded_strings),
	        cmocka_unit_test(test_skipping_a_value_stops_right_after_it),
	        cmocka_unit_test(test_a_duplicate_key_is_named_by_its_path),
	        cmocka_unit_test(test_duplicates_are_found_however_written),
	        cmocka_unit_test(test_many_distinct_keys_are_accepted),
	        cmocka_unit_test(test_bad_text_is_refused_with_kind_and_path),
	        cmocka_unit_test(test_error_position_counts_lines_and_columns),
	        cmocka_unit_test(test_config_with_a_key_twice_is_refused_naming_the_path),
	        cmocka_unit_test(test_config_with_bad_utf8_or_control_characters_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
