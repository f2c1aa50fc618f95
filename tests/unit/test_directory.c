/* SPDX-License-Identifier: MIT */
/* test_directory.c: the local directory file, its errors, and PIN lookup. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	        "{\"id\":\"m-1\",\"kind\":\"member\",\"name\":\"Ana Souza\",\"pin_hmac\":\"" H1
	        "\"},"
	        "{\"id\":\"v-1\",\"kind\":\"visitor\",\"name\":\"Vera\",\"pin_hmac\":\"" H2 "\","
	        "\"valid_from\":\"2026-11-25T08:00:00Z\",\"valid_until\":\"2026-11-25T20:00:00Z\"}]"
	        "}";
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
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m "
	         "1\",\"kind\":\"member\",\"name\":\"A\"}]}",
	         "people[0].id"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"boss\",\"name\":"
	         "\"A\"}]}",
	         "people[0] (m1).kind"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":"
	         "\"\"}]}",
	         "people[0] (m1).name"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":"
	         "\"A\","
	         "\"pin_hmac\":\"1234\"}]}",
	         "people[0] (m1).pin_hmac"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":"
	         "\"A\","
	         "\"pin\":\"1234\"}]}",
	         "unknown field \"pin\""},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":"
	         "\"V\"}]}",
	         "needs valid_until"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":"
	         "\"V\","
	         "\"valid_until\":\"tomorrow\"}]}",
	         "people[0].valid_until"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":"
	         "\"V\","
	         "\"valid_until\":\"2026-02-31T00:00:00Z\"}]}",
	         "people[0].valid_until"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"v1\",\"kind\":\"visitor\",\"name\":"
	         "\"V\","
	         "\"valid_from\":\"2026-11-26T00:00:00Z\",\"valid_until\":\"2026-11-25T00:00:00Z\"}"
	         "]}",
	         "not before valid_until"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":"
	         "\"A\"},"
	         "{\"id\":\"m1\",\"kind\":\"member\",\"name\":\"B\"}]}",
	         "appears twice"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct directory *d = (struct directory *)1;
		char err[512] = "";
		int r = parse(cases[i].text, &d, err);
		if (r != -EINVAL || !strstr(err, cases[i].error))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err,
			         cases[i].error);
		assert_null(d);
	}
}

/* ---- Text the directory must refuse (issue 5, item 14) ----------------- */

#define PERSON_WITH_NAME(name)                                                                    \
	"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":\"" name \
	"\"}]}"

static void test_names_must_be_clean_utf8_text(void **state)
{
	static const char *const bad[] = {
	        "\xc0\xaf",         /* overlong '/' */
	        "\xed\xa0\x80",     /* a surrogate, encoded */
	        "\xf4\x90\x80\x80", /* above U+10FFFF */
	        "Ana\\u001b[2J",    /* C0, escaped: an escape sequence for a terminal */
	        "Ana\x7f",          /* DEL */
	        "Ana\\u007f",
	        "Ana\xc2\x85",     /* C1: NEL */
	        "Ana\\u009b",      /* C1: CSI */
	        "Ana\\u0000Souza", /* NUL would cut the name short */
	        "\xe2\x80\xae"
	        "anA",             /* U+202E RIGHT-TO-LEFT OVERRIDE */
	        "Ana\\u202a",      /* U+202A LRE */
	        "Ana\xe2\x81\xa6", /* U+2066 LRI */
	        "Ana\\u2069",      /* U+2069 PDI */
	        "Ana\xe2\x80\x8f", /* U+200F RIGHT-TO-LEFT MARK */
	        "Ana\\u200e",      /* U+200E LEFT-TO-RIGHT MARK */
	        "Ana\\u061c",      /* U+061C ARABIC LETTER MARK */
	        "Ana\\u2028Souza", /* U+2028 LINE SEPARATOR */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], err[512] = "";
		struct directory *d = (struct directory *)1;
		snprintf(text, sizeof(text), PERSON_WITH_NAME("%s"), bad[i]);
		int r = parse(text, &d, err);
		if (r != -EINVAL || !strstr(err, "people[0]") || !strstr(err, "name"))
			fail_msg("name %zu: r=%d err=\"%s\"", i, r, err);
		assert_null(d);
		for (const char *c = err; *c; c++) /* the message itself stays clean */
			assert_true((uint8_t)*c >= 0x20 && (uint8_t)*c < 0x7f);
	}
}

static void test_names_in_any_script_are_accepted(void **state)
{
	struct directory *d;
	char err[512];
	assert_int_equal(parse(PERSON_WITH_NAME("Zo\xc3\xab \\u00d1\\u00fa\\u00f1ez "
	                                        "\xe6\x9d\x8e \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d "
	                                        "\\ud83d\\ude00"),
	                       &d, err),
	                 0);
	assert_string_equal(directory_find_id(d, "m1")->name,
	                    "Zo\xc3\xab \xc3\x91\xc3\xba\xc3\xb1"
	                    "ez \xe6\x9d\x8e "
	                    "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xf0\x9f\x98\x80");
	directory_free(d);
}

static void test_an_id_with_an_escaped_nul_is_refused(void **state)
{
	struct directory *d = (struct directory *)1;
	char err[512] = "";
	assert_int_equal(parse("{\"porter_directory\":1,\"people\":[{\"id\":\"m1\\u0000x\","
	                       "\"kind\":\"member\",\"name\":\"A\"}]}",
	                       &d, err),
	                 -EINVAL);
	assert_non_null(strstr(err, "people[0].id"));
	assert_null(d);
}

static void test_a_key_twice_is_refused_naming_its_path(void **state)
{
	static const struct bad_case cases[] = {
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":"
	         "\"A\"},"
	         "{\"id\":\"m2\",\"kind\":\"member\",\"name\":\"B\",\"pin_hmac\":\"" H1 "\","
	         "\"pin_hmac\":\"" H2 "\"}]}",
	         "$.people[1].pin_hmac appears twice"},
	        {"{\"porter_directory\":1,\"people\":[],\"people\":[]}", "$.people appears twice"},
	        {"{\"porter_directory\":1,\"porter_directory\":1,\"people\":[]}",
	         "$.porter_directory appears twice"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\",\"name\":"
	         "\"A\","
	         "\"name\":\"B\"}]}",
	         "$.people[0].name appears twice"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct directory *d = (struct directory *)1;
		char err[512] = "";
		int r = parse(cases[i].text, &d, err);
		if (r != -EINVAL || !strstr(err, cases[i].error))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err,
			         cases[i].error);
		assert_null(d);
	}
}

static void test_a_field_of_the_wrong_type_is_named(void **state)
{
	static const struct bad_case cases[] = {
	        {"{\"porter_directory\":1,\"people\":[{\"id\":7,\"kind\":\"member\",\"name\":\"A\"}"
	         "]}",
	         "people[0].id"},
	        {"{\"porter_directory\":1,\"people\":[{\"id\":\"m1\",\"kind\":\"member\","
	         "\"name\":{\"first\":[\"A\",{\"b\":null}]}}]}",
	         "people[0] (m1).name"},
	        {"{\"porter_directory\":\"1\",\"people\":[]}", "porter_directory: must be 1"},
	        {"{\"porter_directory\":1.0,\"people\":[]}", "porter_directory: must be 1"},
	        {"{\"porter_directory\":1,\"people\":{}}", "people: must be an array"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct directory *d = (struct directory *)1;
		char err[512] = "";
		int r = parse(cases[i].text, &d, err);
		if (r != -EINVAL || !strstr(err, cases[i].error))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err,
			         cases[i].error);
		assert_null(d);
	}
}

/* ---- Size and time (issue 5, item 15) ---------------------------------- */

static void test_an_unknown_member_is_refused_before_it_is_read(void **state)
{
	/* A huge array nobody uses must not cost memory: the loader stops at
	 * its name. The text is cut inside the array, so reaching it would
	 * give "ends early" instead. */
	const char *text = "{\"porter_directory\":1,\"notes\":[0,0,0,0,0,0,0";
	struct directory *d = (struct directory *)1;
	char err[512] = "";
	assert_int_equal(parse(text, &d, err), -EINVAL);
	assert_non_null(strstr(err, "$.notes: unknown member"));
	assert_null(d);
}

static void test_a_file_over_the_size_limit_is_refused_naming_both_sizes(void **state)
{
	char path[] = "/tmp/porter-dir-XXXXXX", err[512] = "";
	struct directory *d = (struct directory *)1;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DIRECTORY_FILE_MAX_BYTES + 1), 0); /* sparse: no disk */
	close(fd);
	assert_int_equal(directory_file_load(path, &d, err, sizeof(err)), -EFBIG);
	unlink(path);
	assert_null(d);
	assert_non_null(strstr(err, "16777217 bytes"));
	assert_non_null(strstr(err, "at most 16777216 (16 MiB)"));
}

static size_t pairs_seen;

static void check_pair(void *userdata, const struct person *a, const struct person *b)
{
	const struct directory *d = userdata;
	size_t ia = (size_t)(a - directory_person(d, 0)), ib = (size_t)(b - directory_person(d, 0));
	/* Each later holder once, next to the first holder of that PIN. */
	assert_true(ia < 50);
	assert_int_equal(ib % 50, ia);
	assert_true(ib > ia);
	pairs_seen++;
}

static void test_twenty_thousand_people_sharing_fifty_pins_load_in_linear_steps(void **state)
{
	size_t n = 20000, len = 0;
	char *text = malloc(n * 160 + 64), err[512];
	struct directory *d;
	len += (size_t)sprintf(text, "{\"porter_directory\":1,\"people\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len,
		                       "%s{\"id\":\"m-%zu\",\"kind\":\"member\",\"name\":\"M %zu\","
		                       "\"pin_hmac\":\"%064zx\"}",
		                       i ? "," : "", i, i, i % 50 + 1);
	len += (size_t)sprintf(text + len, "]}");
	assert_int_equal(directory_parse(text, len, &d, err, sizeof(err)), 0);
	free(text);
	assert_int_equal(directory_size(d), n);
	/* Every probe of both indexes while building, and of the shared-PIN
	 * scan, is counted: a quadratic index needs ~n * n / 50 = 8,000,000. */
	pairs_seen = 0;
	assert_int_equal(directory_foreach_shared_pin(d, check_pair, d), n - 50);
	assert_int_equal(pairs_seen, n - 50);
	assert_in_range(directory_probes(d), n, 8 * n);
	uint8_t h[PIN_HASH_LEN];
	struct pin_match m;
	pin_hash_from_hex("0000000000000000000000000000000000000000000000000000000000000007", 64,
	                  h);
	directory_match_pin(d, h, &m);
	assert_int_equal(m.n, n / 50);
	assert_string_equal(m.people[0]->id, "m-6"); /* in directory order */
	assert_string_equal(m.people[1]->id, "m-56");
	directory_free(d);
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
	assert_int_equal(directory_file_load("/nonexistent/dir.json", &d, err, sizeof(err)),
	                 -ENOENT);
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
	        cmocka_unit_test(test_names_must_be_clean_utf8_text),
	        cmocka_unit_test(test_names_in_any_script_are_accepted),
	        cmocka_unit_test(test_an_id_with_an_escaped_nul_is_refused),
	        cmocka_unit_test(test_a_key_twice_is_refused_naming_its_path),
	        cmocka_unit_test(test_a_field_of_the_wrong_type_is_named),
	        cmocka_unit_test(test_an_unknown_member_is_refused_before_it_is_read),
	        cmocka_unit_test(test_a_file_over_the_size_limit_is_refused_naming_both_sizes),
	        cmocka_unit_test(
	                test_twenty_thousand_people_sharing_fifty_pins_load_in_linear_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
