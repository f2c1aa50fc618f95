/* SPDX-License-Identifier: MIT */
/*
 * test_schema.c: what porter's validator promises beyond the official suite
 * (test_schema_suite.c): plugin.json's own defaults are valid, a default is
 * an annotation (filled in after validation, never judged), numbers compare
 * exactly and by value, lengths count characters, and a number json-c
 * cannot hold exactly is refused at its path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "schema.h"

static char last_code[64], last_path[256], last_message[512];

static void record(void *userdata, const struct porter_report *r)
{
	(void)userdata;
	snprintf(last_code, sizeof(last_code), "%s", r->code);
	snprintf(last_path, sizeof(last_path), "%s", r->path);
	snprintf(last_message, sizeof(last_message), "%s", r->message);
}

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (!o)
		fail_msg("not JSON: %s", text);
	return o;
}

/* Errors `instance` gets against `schema`, both JSON texts. */
static int errors(const char *schema, const char *instance)
{
	json_object *s = parse(schema), *i = parse(instance);
	int n;

	last_code[0] = last_path[0] = last_message[0] = '\0';
	n = schema_validate(s, i, record, NULL);
	json_object_put(s);
	json_object_put(i);
	return n;
}

static json_object *config_schema(json_object **ret_manifest)
{
	json_object *manifest = json_tokener_parse(porter_manifest_json), *schema;

	assert_non_null(manifest);
	assert_true(json_object_object_get_ex(manifest, "config_schema", &schema));
	*ret_manifest = manifest;
	return schema;
}

/* Every "default" in plugin.json, checked against the subschema it sits in:
 * porter fills defaults in unvalidated, so an invalid one would slip by. */
static size_t check_defaults(json_object *schema, const char *path)
{
	json_object *def, *props, *items;
	size_t n = 0;
	char sub[256];

	if (!json_object_is_type(schema, json_type_object))
		return 0;
	if (json_object_object_get_ex(schema, "default", &def)) {
		json_object *copy = NULL;

		/* json-c holds a JSON null (readers[].unlock_ms) as NULL */
		if (def)
			assert_int_equal(json_object_deep_copy(def, &copy, NULL), 0);
		if (schema_validate(schema, copy, record, NULL) != 0)
			fail_msg("the default of %s is invalid: %s at %s", path, last_message,
			         last_path);
		json_object_put(copy);
		n++;
	}
	if (json_object_object_get_ex(schema, "properties", &props)) {
		json_object_object_foreach(props, name, val)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, name);
			n += check_defaults(val, sub);
		}
	}
	if (json_object_object_get_ex(schema, "items", &items)) {
		snprintf(sub, sizeof(sub), "%s[*]", path);
		n += check_defaults(items, sub);
	}
	return n;
}

static void test_every_default_in_plugin_json_validates(void **state)
{
	json_object *manifest, *schema = config_schema(&manifest);

	(void)state;
	/* 40-odd today; a walk that found none would prove nothing */
	assert_true(check_defaults(schema, "$") >= 30);
	json_object_put(manifest);
}

static void test_validation_leaves_the_instance_as_written(void **state)
{
	json_object *manifest, *schema = config_schema(&manifest);
	json_object *inst = parse("{\"local\": {\"directory\": \"/d\", \"database\": \"/db\", "
	                          "\"pin_key_file\": \"/k\"}, \"readers\": [{\"id\": \"front\"}]}");
	json_object *before = NULL;

	(void)state;
	assert_int_equal(json_object_deep_copy(inst, &before, NULL), 0);
	assert_int_equal(schema_validate(schema, inst, record, NULL), 0);
	assert_true(json_object_equal(before, inst));

	/* filled in afterwards, nested ones too */
	assert_int_equal(schema_fill_defaults(schema, inst), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(
	                         json_object_object_get(inst, "keypad"), "pin_max_length")),
	                 8);
	assert_string_equal(
	        json_object_get_string(json_object_object_get(
	                json_object_array_get_idx(json_object_object_get(inst, "readers"), 0),
	                "direction")),
	        "toggle");
	json_object_put(before);
	json_object_put(inst);
	json_object_put(manifest);
}

/* A default is an annotation: one that would not validate neither makes a
 * valid instance invalid nor is checked once filled in. */
static void test_a_default_is_never_validated(void **state)
{
	const char *schema = "{\"properties\": {\"n\": {\"type\": \"integer\", \"minimum\": 5, "
	                     "\"default\": \"five\"}}}";
	json_object *s = parse(schema), *inst = parse("{}");

	(void)state;
	assert_int_equal(errors(schema, "{}"), 0);
	assert_int_equal(schema_fill_defaults(s, inst), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(inst, "n")), "five");
	assert_int_equal(errors(schema, "{\"n\": 4}"), 1);
	json_object_put(s);
	json_object_put(inst);
}

static void test_enum_and_const_compare_numbers_by_value(void **state)
{
	(void)state;
	assert_int_equal(errors("{\"enum\": [1, 2]}", "1.0"), 0);
	assert_int_equal(errors("{\"enum\": [1.0]}", "1"), 0);
	assert_int_equal(errors("{\"enum\": [[1, {\"a\": 2}]]}", "[1.0, {\"a\": 2.0}]"), 0);
	assert_int_equal(errors("{\"enum\": [1]}", "true"), 1);
	assert_string_equal(last_code, "PORTER-CFG-ENUM");
	assert_int_equal(errors("{\"const\": 9007199254740993}", "9007199254740992"), 1);
	assert_string_equal(last_code, "PORTER-CFG-CONST");
}

static void test_integers_follow_draft7_without_a_width(void **state)
{
	(void)state;
	assert_int_equal(errors("{\"type\": \"integer\"}", "1.0"), 0);
	assert_int_equal(errors("{\"type\": \"integer\"}", "1.5"), 1);
	assert_int_equal(errors("{\"type\": \"integer\"}", "5000000000"), 0);
	assert_int_equal(errors("{\"type\": \"integer\"}", "-5000000000"), 0);
	assert_int_equal(errors("{\"type\": \"integer\"}", "18446744073709551000"), 0);
}

static void test_bounds_compare_exactly(void **state)
{
	(void)state;
	/* 2^53 + 1 is not 2^53, though a double cannot tell them apart */
	assert_int_equal(errors("{\"maximum\": 9007199254740992}", "9007199254740993"), 1);
	assert_string_equal(last_code, "PORTER-CFG-RANGE");
	assert_int_equal(errors("{\"maximum\": 9007199254740992.0}", "9007199254740993"), 1);
	assert_int_equal(errors("{\"minimum\": 9007199254740993}", "9007199254740992.0"), 1);
	assert_int_equal(errors("{\"maximum\": 9007199254740992}", "9007199254740992.0"), 0);
	assert_int_equal(errors("{\"minimum\": 0.5}", "0"), 1);
	assert_int_equal(errors("{\"minimum\": -0.5}", "0"), 0);
	assert_int_equal(errors("{\"maximum\": -0.5}", "-1"), 0);
	assert_int_equal(errors("{\"minimum\": 9223372036854775808}", "9223372036854775807"), 1);
	assert_int_equal(errors("{\"minimum\": 9223372036854775808}", "9223372036854775808"), 0);
	assert_int_equal(errors("{\"maximum\": 9223372036854775807}", "9223372036854775808.0"), 1);
	assert_int_equal(errors("{\"maximum\": 300}", "300.00"), 0);
	assert_int_equal(errors("{\"minimum\": 4, \"maximum\": 16}", "17"), 1);
	assert_string_equal(last_message, "must be between 4 and 16; got 17");
}

/* json-c saturates these; porter refuses them rather than judge another
 * number. */
static void test_numbers_beyond_reach_are_refused_at_their_path(void **state)
{
	(void)state;
	assert_int_equal(errors("{\"properties\": {\"n\": {\"type\": \"integer\"}}}",
	                        "{\"n\": 99999999999999999999999}"),
	                 1);
	assert_string_equal(last_code, "PORTER-CFG-NUMBER");
	assert_string_equal(last_path, "$.n");
	assert_int_equal(errors("{}", "-99999999999999999999999"), 1);
	assert_string_equal(last_code, "PORTER-CFG-NUMBER");
	assert_int_equal(errors("{}", "1e400"), 1);
	assert_string_equal(last_code, "PORTER-CFG-NUMBER");
	assert_int_equal(errors("{}", "-9223372036854775807"), 0);
	assert_int_equal(errors("{}", "18446744073709551614"), 0);
}

static void test_lengths_count_characters(void **state)
{
	static const char sued[] =
	        "\"Haupteingang S\xc3\xbc"
	        "d \xe2\x80\x93 Tastatur links neben der T\xc3\xbcr zum Gro\xc3\x9fraumb\xc3\xbc"
	        "ro\"";
	const char *max64 = "{\"maxLength\": 64}";
	char text[512];

	(void)state;
	assert_int_equal(strlen(sued) - 2, 70);
	assert_int_equal(errors(max64, sued), 0);
	/* 22 Japanese characters, 66 bytes */
	snprintf(text, sizeof(text), "\"%s\"",
	         "\xe6\x9d\xb1\xe4\xba\xac\xe6\x9c\xac\xe7\xa4\xbe\xe6\xad\xa3\xe9\x9d\xa2"
	         "\xe5\x85\xa5\xe5\x8f\xa3\xe3\x83\x86\xe3\x83\xb3\xe3\x82\xad\xe3\x83\xbc"
	         "\xe5\xb7\xa6\xe5\x81\xb4\xe5\x8f\x97\xe4\xbb\x98\xe7\x94\xa8\xe7\xac\xac"
	         "\xe4\xb8\x80\xe5\x8f\xb7\xe6\xa9\x9f\xe5\x99\xa8");
	assert_int_equal(strlen(text) - 2, 66);
	assert_int_equal(errors("{\"maxLength\": 22, \"minLength\": 22}", text), 0);
	assert_int_equal(errors("{\"maxLength\": 21}", text), 1);
	assert_string_equal(last_message, "must have at most 21 characters; got 22");
	/* one character past maxLength */
	snprintf(text, sizeof(text), "\"%.*sX\"", 70, sued + 1);
	assert_int_equal(errors(max64, text), 1);
	assert_string_equal(last_message, "must have at most 64 characters; got 65");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_default_in_plugin_json_validates),
	        cmocka_unit_test(test_validation_leaves_the_instance_as_written),
	        cmocka_unit_test(test_a_default_is_never_validated),
	        cmocka_unit_test(test_enum_and_const_compare_numbers_by_value),
	        cmocka_unit_test(test_integers_follow_draft7_without_a_width),
	        cmocka_unit_test(test_bounds_compare_exactly),
	        cmocka_unit_test(test_numbers_beyond_reach_are_refused_at_their_path),
	        cmocka_unit_test(test_lengths_count_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
