/* SPDX-License-Identifier: MIT */
/* test_pin_hash.c: PINs become keyed hashes; the key file is guarded. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pin_hash.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/porter-hash-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pin.key", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_key(const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static const char key_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

static void test_hash_is_hmac_sha256_of_the_pin(void **state)
{
	uint8_t key[PIN_KEY_LEN], hash[PIN_HASH_LEN];
	char err[256], hex[PIN_HASH_HEX_LEN + 1];
	write_key(key_hex, 0600);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), 0);
	struct pin_hasher *h = pin_hasher_new(key);
	assert_non_null(h);
	/* Expected value computed independently with Python's hmac module. */
	for (int round = 0; round < 2; round++) { /* a reused hasher gives the same answer */
		assert_int_equal(pin_hasher_hash(h, "1234", 4, hash), 0);
		pin_hash_to_hex(hash, hex);
		assert_string_equal(
		        hex, "75a2b0661f593e7c9af372baabd1751c4aa612b8a2fd605a1fc4963915193dd1");
	}
	assert_int_equal(pin_hasher_hash(h, "1235", 4, hash), 0);
	pin_hash_to_hex(hash, hex);
	assert_string_not_equal(hex,
	                        "75a2b0661f593e7c9af372baabd1751c4aa612b8a2fd605a1fc4963915193dd1");
	pin_hasher_free(h);
}

static void test_key_readable_by_others_is_refused(void **state)
{
	uint8_t key[PIN_KEY_LEN];
	char err[512];
	write_key(key_hex, 0644);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "0644"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, "000102")); /* the key never appears in an error */
}

static void test_key_with_wrong_length_is_refused(void **state)
{
	uint8_t key[PIN_KEY_LEN];
	char err[512];
	write_key("00010203\n", 0600);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "64 hex digits"));
	write_key("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -EINVAL);
}

static void test_key_owned_by_another_user_is_refused(void **state)
{
	uint8_t key[PIN_KEY_LEN];
	char err[512];
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	write_key(key_hex, 0600);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "owned by uid 65534"));
	assert_non_null(strstr(err, "chown 0 ")); /* the fix names porter's own uid */
	assert_null(strstr(err, "000102"));
	/* Root's own file is fine for a daemon running as root. */
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), 0);
}

static void test_all_zero_key_is_refused(void **state)
{
	uint8_t key[PIN_KEY_LEN];
	char err[512];
	write_key("0000000000000000000000000000000000000000000000000000000000000000\n", 0600);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "all zero"));
	assert_non_null(strstr(err, "porter-admin keygen"));
}

static void test_short_key_is_refused_saying_how_short(void **state)
{
	uint8_t key[PIN_KEY_LEN];
	char err[512];
	write_key("000102030405060708090a0b0c0d0e0f\n", 0600); /* 16 bytes of 32 */
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "holds 32 characters"));
	assert_non_null(strstr(err, "64 hex digits (32 bytes)"));
	write_key("", 0600);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
}

static void test_missing_key_names_the_file(void **state)
{
	uint8_t key[PIN_KEY_LEN];
	char err[512];
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

static void test_keygen_makes_a_private_key_and_never_overwrites(void **state)
{
	uint8_t key[PIN_KEY_LEN];
	char err[512];
	struct stat st;
	assert_int_equal(pin_key_create(path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pin_key_load(path, key, err, sizeof(err)), 0);
	assert_int_equal(pin_key_create(path, err, sizeof(err)), -EEXIST);
}

static void test_hex_round_trip_and_bad_hex(void **state)
{
	uint8_t hash[PIN_HASH_LEN], back[PIN_HASH_LEN];
	char hex[PIN_HASH_HEX_LEN + 1];
	for (int i = 0; i < PIN_HASH_LEN; i++)
		hash[i] = (uint8_t)(i * 7);
	pin_hash_to_hex(hash, hex);
	assert_int_equal(pin_hash_from_hex(hex, strlen(hex), back), 0);
	assert_memory_equal(hash, back, PIN_HASH_LEN);
	assert_int_equal(pin_hash_from_hex(hex, strlen(hex) - 1, back), -EINVAL);
	hex[5] = 'g';
	assert_int_equal(pin_hash_from_hex(hex, strlen(hex), back), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_hash_is_hmac_sha256_of_the_pin, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_key_readable_by_others_is_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_key_with_wrong_length_is_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_missing_key_names_the_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_key_owned_by_another_user_is_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_all_zero_key_is_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_short_key_is_refused_saying_how_short, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                test_keygen_makes_a_private_key_and_never_overwrites, setup, teardown),
	        cmocka_unit_test(test_hex_round_trip_and_bad_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
