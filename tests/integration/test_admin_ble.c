/* SPDX-License-Identifier: MIT */
/*
 * test_admin_ble.c: `porter-admin ble key` and `ble token` as an admin runs
 * them: a key shown once (text and a QR code a phone can scan, read back
 * with zbarimg), stored sealed (never in clear) in the directory, replaced
 * by a new one, and the credential of now matching the documented format.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "admin_run.h"

static char dir[FX_PATH_MAX], directory[FX_PATH_MAX + 32], key[FX_PATH_MAX + 32];

static int setup(void **state)
{
	if (fx_mkdtemp(dir) < 0 || fx_make_site(fx_env("PORTER_ADMIN"), dir, FX_ANA | FX_BEN))
		return -1;
	snprintf(directory, sizeof(directory), "%s/directory.json", dir);
	snprintf(key, sizeof(key), "%s/pin.key", dir);
	return 0;
}

static int teardown(void **state)
{
	fx_rmrf(dir);
	return 0;
}

static struct admin_run run;

static void test_key_is_shown_once_and_stored_sealed(void **state)
{
	char png[FX_PATH_MAX + 32], text[1 << 16], shown[128];
	snprintf(png, sizeof(png), "%s/ana.png", dir);
	assert_int_equal(admin_run(dir, &run, "ble", "key", "m-ana", "--directory", directory,
	                           "--key", key, "--qr", png, NULL),
	                 0);
	assert_int_equal(run.status, 0);
	assert_true(admin_line(run.out, "porter-ble:1:", shown, sizeof(shown)));
	assert_int_equal(strlen(shown), strlen("porter-ble:1:") + 64);
	/* the QR code says the same, and only porter's user may read it */
	struct stat st;
	assert_int_equal(stat(png, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char cmd[2 * FX_PATH_MAX];
	snprintf(cmd, sizeof(cmd), "zbarimg --quiet --raw '%s'", png);
	FILE *p = popen(cmd, "r");
	char scanned[256] = "";
	assert_non_null(p);
	assert_non_null(fgets(scanned, sizeof(scanned), p));
	pclose(p);
	scanned[strcspn(scanned, "\n")] = '\0';
	assert_string_equal(scanned, shown);
	/* sealed in the directory: the key's hex is not there */
	admin_read_text(directory, text, sizeof(text));
	assert_non_null(strstr(text, "\"ble_key\""));
	assert_null(strstr(text, shown + 13));
	/* a second key replaces the first; an existing PNG is never overwritten */
	assert_int_equal(admin_run(dir, &run, "ble", "key", "m-ana", "--directory", directory,
	                           "--key", key, "--qr", png, NULL),
	                 0);
	assert_int_not_equal(run.status, 0);
	assert_int_equal(admin_run(dir, &run, "ble", "key", "m-ana", "--directory", directory,
	                           "--key", key, NULL),
	                 0);
	assert_int_equal(run.status, 0);
	char second[128];
	assert_true(admin_line(run.out, "porter-ble:1:", second, sizeof(second)));
	assert_string_not_equal(second, shown);
}

static void test_token_follows_the_documented_format(void **state)
{
	char line[256];
	assert_int_equal(admin_run(dir, &run, "ble", "key", "m-ben", "--directory", directory,
	                           "--key", key, NULL),
	                 0);
	assert_int_equal(admin_run(dir, &run, "ble", "token", "m-ben", "--directory", directory,
	                           "--key", key, "--time", "1795689000", NULL),
	                 0);
	assert_int_equal(run.status, 0);
	assert_true(admin_line(run.out, "counter 59856300 payload 01", line, sizeof(line)));
	/* payload: version 01, hint, step byte 0xac (59856300 mod 256), token */
	assert_int_equal(strlen(line),
	                 strlen("counter 59856300 payload ") + 24 + strlen(" uuid ") + 36);
	assert_memory_equal(line + strlen("counter 59856300 payload ") + 6, "ac", 2);
	assert_non_null(strstr(line, " uuid 706f7274-01"));
	/* the same moment gives the same token; the next step another */
	char again[256];
	assert_int_equal(admin_run(dir, &run, "ble", "token", "m-ben", "--directory", directory,
	                           "--key", key, "--time", "1795689029", NULL),
	                 0);
	assert_true(admin_line(run.out, "counter", again, sizeof(again)));
	assert_string_equal(again, line);
}

static void test_unknown_member_and_member_without_key_are_named(void **state)
{
	assert_int_equal(admin_run(dir, &run, "ble", "key", "m-nobody", "--directory", directory,
	                           "--key", key, NULL),
	                 0);
	assert_int_not_equal(run.status, 0);
	assert_non_null(strstr(run.err, "m-nobody is not in the directory"));
	assert_int_equal(admin_run(dir, &run, "ble", "token", "m-ana", "--directory", directory,
	                           "--key", key, NULL),
	                 0);
	assert_int_not_equal(run.status, 0);
	assert_non_null(strstr(run.err, "m-ana has no BLE key"));
}

static void test_add_with_ble_key_makes_the_key_too(void **state)
{
	char cmd[4 * FX_PATH_MAX], out[4096] = "";
	snprintf(cmd, sizeof(cmd),
	         "echo 555123 | '%s' add --directory '%s' --key '%s' --id m-cy --kind member "
	         "--name Cy --ble-key 2>/dev/null",
	         fx_env("PORTER_ADMIN"), directory, key);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "added m-cy"));
	assert_non_null(strstr(out, "porter-ble:1:"));
	assert_int_equal(admin_run(dir, &run, "ble", "token", "m-cy", "--directory", directory,
	                           "--key", key, NULL),
	                 0);
	assert_int_equal(run.status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_key_is_shown_once_and_stored_sealed, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_token_follows_the_documented_format, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                test_unknown_member_and_member_without_key_are_named, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_add_with_ble_key_makes_the_key_too, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
