/* SPDX-License-Identifier: MIT */
/* test_directory.c: the local directory file, its errors, and PIN lookup. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "directory_file.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static int parse(const char *text, struct directory **d, char *err)
{
	return directory_parse(text, strlen(text), d, err, 512);
}

static void test_valid_directory_finds_people_by_pin_and_id(void **state)
{
	const char *text =
		"{\"porter_directory\":1,\"people\":["
		"{\"id\":\"m-1\",\"kind\":\"member\",\"name\":\"Ana Souza\",\"pin_hmac\":\"" H1 "\"},"
		"{\"id\":\"v-1\",\"kind\":\"visitor\",\"name\":\"Vera\",\"pin_hmac\":\"" H2 "\","
		"\"valid_from\":\"2026-11-25T08:00:00Z\",\"valid_until\":\"2026-11-25T20:00:00Z\"}]}";
	struct directory *d;
	char err[512];
	uint8_t h[PIN_HASH_LEN];
	struct pin_match m;
	assert_int_equal(parse(text, &d, err), 0);
	assert_int_equal(directory_size(d), 2);
	pin_hash_from_hex(H2, 64, h);
	directory_match_pin(d, h, &m);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.people[0]->id, "v-1");
	assert_int_equal(m.people[0]->kind, PERSON_VISITOR);
	assert_int_equal(m.people[0]->valid_until - m.people[0]->valid_from, 12 * 3600);
	assert_string_equal(directory_find_id(d, "m-1")->name, "Ana Souza");
	assert_null(directory_find_id(d, "m-2"));
	memset(h, 0x33, sizeof(h));
	directory_match_pin(d, h, &m);
	assert_int_equal(m.n, 0);
	directory_free(d);
}

static void remember_pair(void *userdata, const struct person *a, const struct person *b)
{
	const struct person **pair = userdata;
	pair[0] = a;
	pair[1] = b;
}

static void test_a_shared_pin_matches_everyone_who_has_it(void **state)
{
	const char *text =
		"{\"porter_directory\":1,\"people\":["
		"{\"id\":\"m-1\",\"kind\":\"member\",\"name\":\"A\",\"pin_hmac\":\"" H1 "\"},"
		"{\"id\":\"v-1\",\"kind\":\"visitor\",\"name\":\"V\",\"pin_hmac\":\"" H1 "\","
		"\"valid_until\":\"2030-01-01T00:00:00Z\"}]}";
	struct directory *d;
	char err[512];
	uint8_t h[PIN_HASH_LEN];
	struct pin_match m;
	assert_int_equal(parse(text, &d, err), 0);
	pin_hash_from_hex(H1, 64, h);
	directory_match_pin(d, h, &m);
	assert_int_equal(m.n, 2);
	const struct person *pair[2] = {NULL, NULL};
	assert_int_equal(directory_foreach_shared_pin(d, remember_pair, pair), 1);
	assert_string_equal(pair[0]->id, "m-1");
	assert_string_equal(pair[1]->id, "v-1");
	directory_free(d);
}

struct bad_case {
	const char *text;
	const char *error; /* must appear in the message */
};

static void test_each_bad_directory_is_refused_and_named(void **state)
{
	static const struct bad_case cases[] = {
		{"", "ends early"},
		{"{\"porter_directory\":1,\"people\":[", "ends early"},
		{"not json", "not valid JSON"},
		{"{\"porter_directory\":1,\"people\":[]} trailing", "not valid JSON at byte 35"},
		{"[]", "must be a JSON object"},
		{"{\"porter_directory\":2,\"people\":[]}", "porter_directory"},
		{"{\"porter_directory\":1}", "people: must be an array"},
		{"{\"porter_directory\":1,\"people\":[7]}", "people[0]: must be an object"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"m 1\",\"kind\":\"member\",\"name\":\"A\"}]}",
		 "people[0].id"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"boss\",\"name\":\"A\"}]}",
		 "people[0] (m1).kind"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":\"\"}]}",
		 "people[0] (m1).name"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":\"A\","
		 "\"pin_hmac\":\"1234\"}]}", "people[0] (m1).pin_hmac"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":\"A\","
		 "\"pin\":\"1234\"}]}", "unknown field \"pin\""},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":\"V\"}]}",
		 "needs valid_until"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":\"V\","
		 "\"valid_until\":\"tomorrow\"}]}", "people[0].valid_until"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":\"V\","
		 "\"valid_until\":\"2026-02-31T00:00:00Z\"}]}", "people[0].valid_until"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":\"V\","
		 "\"valid_from\":\"2026-11-26T00:00:00Z\",\"valid_until\":\"2026-11-25T00:00:00Z\"}]}",
		 "not before valid_until"},
		{"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":\"A\"},"
		 "{\"id\":\"m1\",\"kind\":\"member\",\"name\":\"B\"}]}", "appears twice"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct directory *d = (struct directory *)1;
		char err[512] = "";
		int r = parse(cases[i].text, &d, err);
		if (r != -EINVAL || !strstr(err, cases[i].error))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err, cases[i].error);
		assert_null(d);
	}
}

static void test_nul_byte_is_refused(void **state)
{
	const char text[] = "{\"porter_directory\":1,\0\"people\":[]}";
	struct directory *d;
	char err[512];
	assert_int_equal(directory_parse(text, sizeof(text) - 1, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL byte at offset 22"));
}

static void test_missing_file_names_the_path(void **state)
{
	struct directory *d;
	char err[512];
	assert_int_equal(directory_file_load("/nonexistent/dir.json", &d, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dir.json"));
}

static void test_timestamps_round_trip(void **state)
{
	int64_t t;
	char buf[32];
	assert_int_equal(timestamp_parse("2026-11-25T08:00:00Z", &t), 0);
	assert_int_equal(t, 1795593600);
	timestamp_format(t, buf);
	assert_string_equal(buf, "2026-11-25T08:00:00Z");
	assert_int_equal(timestamp_parse("2026-11-25 08:00:00Z", &t), -EINVAL);
	assert_int_equal(timestamp_parse("2026-11-25T08:00:00+01:00", &t), -EINVAL);
	assert_int_equal(timestamp_parse("2026-13-25T08:00:00Z", &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_directory_finds_people_by_pin_and_id),
		cmocka_unit_test(test_a_shared_pin_matches_everyone_who_has_it),
		cmocka_unit_test(test_each_bad_directory_is_refused_and_named),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_missing_file_names_the_path),
		cmocka_unit_test(test_timestamps_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
