/* SPDX-License-Identifier: MIT */
/*
 * test_schema_suite.c: porter's validator against the official
 * JSON-Schema-Test-Suite (Debian's json-schema-test-suite, draft-07), a
 * suite no one here wrote.
 *
 * Every test group whose schema, with all its subschemas, uses only the
 * keywords in schema_keywords (schema.h) is run, every case of it through
 * schema_validate(), and the verdict must be the suite's. The filter reads
 * the very array the validator reads, so adding or removing a keyword there
 * is the only way to change what runs. The test can fail for want of cases
 * too: each checking keyword in the list must be exercised, and at least
 * MIN_CASES cases must run.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema.h"

#define SUITE_DIR    "/usr/share/json-schema-test-suite/tests/draft7"
#define MIN_CASES    171 /* what Debian 12's suite gives with today's list */
#define MAX_KEYWORDS 64

static size_t list_length(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

static int list_index(const char *const *list, const char *key)
{
	for (size_t i = 0; list[i]; i++) {
		if (strcmp(list[i], key) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Does `schema` use only keywords of `list`, in itself and every subschema
 * the listed keywords can hold? Marks each keyword it uses in used[] (by
 * index in `list`). A keyword outside the list stops the walk: its values
 * are not known to be schemas or data.
 */
static bool uses_only(json_object *schema, const char *const *list, bool *used)
{
	bool ok = true;

	if (json_object_is_type(schema, json_type_boolean))
		return true;
	if (!json_object_is_type(schema, json_type_object))
		return false;
	json_object_object_foreach(schema, key, val)
	{
		int i = list_index(list, key);

		if (i < 0)
			return false;
		used[i] = true;
		if (strcmp(key, "properties") == 0 && json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, name, sub)
			{
				(void)name;
				ok = ok && uses_only(sub, list, used);
			}
		} else if (strcmp(key, "additionalProperties") == 0) {
			ok = ok && uses_only(val, list, used);
		} else if (strcmp(key, "items") == 0 && json_object_is_type(val, json_type_array)) {
			for (size_t j = 0; j < json_object_array_length(val); j++)
				ok = ok && uses_only(json_object_array_get_idx(val, j), list, used);
		} else if (strcmp(key, "items") == 0) {
			ok = ok && uses_only(val, list, used);
		}
	}
	return ok;
}

static bool group_runs(json_object *group, const char *const *list, bool *used)
{
	bool mine[MAX_KEYWORDS] = {false};
	json_object *schema;

	assert_true(list_length(list) <= MAX_KEYWORDS);
	assert_true(json_object_object_get_ex(group, "schema", &schema));
	if (!uses_only(schema, list, mine))
		return false;
	for (size_t i = 0; used && list[i]; i++)
		used[i] = used[i] || mine[i];
	return true;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The suite's files, sorted so the printed tally reads the same each run. */
static size_t suite_files(char ***ret)
{
	DIR *dir = opendir(SUITE_DIR);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!dir)
		fail_msg("%s: not there; install json-schema-test-suite (deps/ensure.sh)",
		         SUITE_DIR);
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		assert_non_null(names);
		names[n] = malloc(sizeof(SUITE_DIR) + len + 1);
		assert_non_null(names[n]);
		snprintf(names[n], sizeof(SUITE_DIR) + len + 1, "%s/%s", SUITE_DIR, e->d_name);
		n++;
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), compare_names);
	*ret = names;
	return n;
}

static void free_files(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* One case: the suite's verdict, and the instance left as it was. */
static bool case_passes(json_object *schema, json_object *test)
{
	json_object *data, *valid, *before = NULL;
	bool ok;
	int errors;

	assert_true(json_object_object_get_ex(test, "data", &data));
	assert_true(json_object_object_get_ex(test, "valid", &valid));
	/* json-c's null is a NULL pointer, which it will not copy */
	if (data)
		assert_int_equal(json_object_deep_copy(data, &before, NULL), 0);
	errors = schema_validate(schema, data, NULL, NULL);
	ok = (errors == 0) == json_object_get_boolean(valid);
	if (!json_object_equal(before, data)) {
		printf("  changed the instance it validated\n");
		ok = false;
	}
	json_object_put(before);
	return ok;
}

static void test_the_official_draft7_suite_passes(void **state)
{
	bool used[MAX_KEYWORDS] = {false};
	size_t total_cases = 0, failures = 0, n_files;
	char **files;

	(void)state;
	n_files = suite_files(&files);
	assert_true(n_files > 0);
	for (size_t f = 0; f < n_files; f++) {
		json_object *groups = json_object_from_file(files[f]);
		size_t ran = 0, skipped = 0, cases = 0, cases_skipped = 0;

		assert_non_null(groups);
		for (size_t g = 0; g < json_object_array_length(groups); g++) {
			json_object *group = json_object_array_get_idx(groups, g);
			json_object *schema, *tests;

			assert_true(json_object_object_get_ex(group, "tests", &tests));
			if (!group_runs(group, schema_keywords, used)) {
				skipped++;
				cases_skipped += json_object_array_length(tests);
				continue;
			}
			ran++;
			json_object_object_get_ex(group, "schema", &schema);
			for (size_t t = 0; t < json_object_array_length(tests); t++) {
				json_object *test = json_object_array_get_idx(tests, t);

				cases++;
				if (case_passes(schema, test))
					continue;
				failures++;
				printf("  FAIL %s: %s / %s\n", strrchr(files[f], '/') + 1,
				       json_object_get_string(
				               json_object_object_get(group, "description")),
				       json_object_get_string(
				               json_object_object_get(test, "description")));
			}
		}
		printf("%-28s groups %zu ran, %zu skipped; cases %zu ran, %zu skipped\n",
		       strrchr(files[f], '/') + 1, ran, skipped, cases, cases_skipped);
		total_cases += cases;
		json_object_put(groups);
	}
	free_files(files, n_files);
	printf("%zu cases ran, %zu failed\n", total_cases, failures);
	assert_int_equal(failures, 0);
	assert_true(total_cases >= MIN_CASES);
	/* A keyword in the list that no case exercised is a claim unproven. */
	for (size_t i = 0; schema_keywords[i]; i++) {
		if (list_index(schema_annotations, schema_keywords[i]) >= 0)
			continue;
		if (!used[i])
			fail_msg("keyword \"%s\" is in schema_keywords but no suite case uses it",
			         schema_keywords[i]);
	}
}

/* ---- The filter is the list ------------------------------------------- */

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

static void test_the_filter_follows_schema_keywords_alone(void **state)
{
	const char *without[MAX_KEYWORDS + 2], *with[MAX_KEYWORDS + 2];
	json_object *min_length = parse("{\"schema\": {\"minLength\": 2}}");
	json_object *pattern = parse("{\"schema\": {\"pattern\": \"^a\"}}");
	size_t n = 0, m = 0;

	(void)state;
	for (size_t i = 0; schema_keywords[i]; i++) {
		if (strcmp(schema_keywords[i], "minLength") != 0)
			without[n++] = schema_keywords[i];
		with[m++] = schema_keywords[i];
	}
	without[n] = NULL;
	with[m++] = "pattern";
	with[m] = NULL;

	assert_true(group_runs(min_length, schema_keywords, NULL));
	assert_false(group_runs(min_length, without, NULL));
	assert_false(group_runs(pattern, schema_keywords, NULL));
	assert_true(group_runs(pattern, with, NULL));
	json_object_put(min_length);
	json_object_put(pattern);
}

static int last_errors;
static char last_code[64];

static void record(void *userdata, const struct porter_report *r)
{
	(void)userdata;
	snprintf(last_code, sizeof(last_code), "%s", r->code);
}

/* The validator refuses exactly the keywords the filter skips. */
static void test_the_validator_refuses_a_keyword_not_in_the_list(void **state)
{
	json_object *schema = parse("{\"properties\": {\"a\": {\"pattern\": \"^a\"}}}");
	json_object *inst = parse("{\"a\": \"b\"}");

	(void)state;
	last_code[0] = '\0';
	last_errors = schema_validate(schema, inst, record, NULL);
	assert_int_equal(last_errors, 1);
	assert_string_equal(last_code, "PORTER-SCHEMA");
	json_object_put(schema);
	json_object_put(inst);

	for (size_t i = 0; schema_keywords[i]; i++) {
		char text[128];

		/* null is not a valid value for most keywords, but the unknown
		 * keyword check looks at names; "type" is checked for its value */
		snprintf(text, sizeof(text), "{\"%s\": %s}", schema_keywords[i],
		         strcmp(schema_keywords[i], "type") == 0                   ? "\"string\""
		         : strcmp(schema_keywords[i], "additionalProperties") == 0 ? "true"
		         : strcmp(schema_keywords[i], "items") == 0                ? "{}"
		                                                                   : "[]");
		schema = parse(text);
		inst = parse("\"x\"");
		last_code[0] = '\0';
		schema_validate(schema, inst, record, NULL);
		if (strcmp(last_code, "PORTER-SCHEMA") == 0)
			fail_msg("schema_keywords lists \"%s\" but the validator refuses it",
			         schema_keywords[i]);
		json_object_put(schema);
		json_object_put(inst);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_the_official_draft7_suite_passes),
	        cmocka_unit_test(test_the_filter_follows_schema_keywords_alone),
	        cmocka_unit_test(test_the_validator_refuses_a_keyword_not_in_the_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
