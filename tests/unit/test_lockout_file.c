/* SPDX-License-Identifier: MIT */
/*
 * test_lockout_file.c: the files porter and porter-admin share about
 * lockouts: lockouts.json round-trips, anything porter did not write is
 * refused with a reason, and unlock requests say exactly one thing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lockout_file.h"

struct tmp {
	char dir[64];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/porter-lockout-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	*state = t;
	return 0;
}

static void write_text(const struct tmp *t, const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static void test_lockouts_round_trip_and_are_private(void **state)
{
	struct tmp *t = *state;
	char err[512], path[128];
	struct lockout_record in[2] = {
	        {"front", 2, 6, 1764126000000000, 1764126090000000, 1764126150000000},
	        {"side\tdoor", 0, 3, 1764126000000000, 1764126010000000, 0},
	};
	struct lockout_record *out;
	size_t n;
	assert_int_equal(lockout_file_write(t->dir, in, 2, 1764126100000000, err, sizeof(err)), 0);
	assert_int_equal(lockout_file_read(t->dir, &out, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "readers[1].reader")); /* a tab: not a reader id */

	snprintf(in[1].reader_id, sizeof(in[1].reader_id), "side");
	assert_int_equal(lockout_file_write(t->dir, in, 2, 1764126100000000, err, sizeof(err)), 0);
	assert_int_equal(lockout_file_read(t->dir, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(out[i].reader_id, in[i].reader_id);
		assert_int_equal(out[i].level, in[i].level);
		assert_int_equal(out[i].failures, in[i].failures);
		assert_int_equal(out[i].first_failure_us, in[i].first_failure_us);
		assert_int_equal(out[i].last_failure_us, in[i].last_failure_us);
		assert_int_equal(out[i].locked_until_us, in[i].locked_until_us);
	}
	free(out);

	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", t->dir, LOCKOUT_FILE_NAME);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_no_file_is_a_first_start_and_a_foreign_one_is_refused(void **state)
{
	struct tmp *t = *state;
	char err[512];
	struct lockout_record *out;
	size_t n;
	assert_int_equal(lockout_file_read(t->dir, &out, &n, err, sizeof(err)), -ENOENT);
	write_text(t, LOCKOUT_FILE_NAME,
	           "{\"porter_lockouts\":1,\"readers\":[{\"reader\":\"f\"}]}");
	assert_int_equal(lockout_file_read(t->dir, &out, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "readers[0] (f)"));
	write_text(t, LOCKOUT_FILE_NAME, "{\"porter_lockouts\":2,\"readers\":[]}");
	assert_int_equal(lockout_file_read(t->dir, &out, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "porter_lockouts"));
	write_text(t, LOCKOUT_FILE_NAME, "{\"porter_lockouts\":1,\"readers\":[]} trailing");
	assert_int_equal(lockout_file_read(t->dir, &out, &n, err, sizeof(err)), -EINVAL);
}

static void test_an_unlock_request_names_one_reader_or_all(void **state)
{
	struct tmp *t = *state;
	char err[512], path[256], reader[CONFIG_ID_MAX + 1];
	bool all;
	assert_int_equal(
	        unlock_request_write(t->dir, "front", path, sizeof(path), err, sizeof(err)), 0);
	assert_true(unlock_request_name(strrchr(path, '/') + 1));
	assert_int_equal(unlock_request_read(path, reader, &all, err, sizeof(err)), 0);
	assert_string_equal(reader, "front");
	assert_false(all);
	assert_int_equal(unlock_request_write(t->dir, NULL, path, sizeof(path), err, sizeof(err)),
	                 0);
	assert_int_equal(unlock_request_read(path, reader, &all, err, sizeof(err)), 0);
	assert_true(all);

	static const char *const bad[] = {
	        "{}",
	        "{\"porter_unlock\":1}",
	        "{\"porter_unlock\":1,\"reader\":\"front\",\"all\":true}",
	        "{\"porter_unlock\":1,\"reader\":\"\"}",
	        "{\"porter_unlock\":1,\"reader\":7}",
	        "[1]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(unlock_request_parse(bad[i], strlen(bad[i]), reader, &all, err,
		                                      sizeof(err)),
		                 -EINVAL);
	assert_false(unlock_request_name(".unlock-1-2.json.tmp"));
	assert_false(unlock_request_name("lockouts.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_lockouts_round_trip_and_are_private, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                test_no_file_is_a_first_start_and_a_foreign_one_is_refused, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(test_an_unlock_request_names_one_reader_or_all,
	                                        setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
