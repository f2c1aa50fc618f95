/* SPDX-License-Identifier: MIT */
/*
 * test_webhook_message.c: the webhook body says what a receiver needs, and
 * its signature is the Standard Webhooks one: the specification's own
 * example verifies, so any receiver library verifies porter's messages.
 */
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
#include <json-c/json.h>

#include "webhook_message.h"

static void the_specification_example_signs_alike(void **state)
{
	/* From the Standard Webhooks specification and its reference libraries. */
	const char *text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	const char *body = "{\"test\": 2432232314}";
	struct webhook_secret secret;
	char err[160], sig[WEBHOOK_SIGNATURE_MAX];
	assert_int_equal(webhook_secret_parse(text, strlen(text), &secret, err, sizeof(err)), 0);
	assert_int_equal(webhook_sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
	                              strlen(body), sig),
	                 0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	webhook_secret_clear(&secret);
}

static void bad_secrets_are_refused_without_showing_them(void **state)
{
	const char *bad[] = {
	        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",       /* no prefix */
	        "whsec_",                                 /* empty */
	        "whsec_MfKQ9r8G",                         /* 6 bytes: too short */
	        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw", /* not base64 */
	        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  /* not a multiple of 4 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct webhook_secret secret;
		char err[160];
		assert_int_equal(
		        webhook_secret_parse(bad[i], strlen(bad[i]), &secret, err, sizeof(err)),
		        -EINVAL);
		assert_true(strlen(err) > 10);
		if (strlen(bad[i]) > 10)
			assert_null(strstr(err, bad[i] + 6));
	}
}

static void a_secret_file_others_can_read_is_refused(void **state)
{
	char path[] = "/tmp/porter-whsec-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct webhook_secret secret;
	char err[512];
	assert_int_equal(webhook_secret_load(path, &secret, err, sizeof(err)), 0);
	assert_int_equal(secret.len, 24);
	chmod(path, 0644);
	assert_int_equal(webhook_secret_load(path, &secret, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, "MfKQ9r8G"));
	unlink(path);
}

static void the_body_carries_the_change(void **state)
{
	struct delivery d = {.seq = 7,
	                     .event_key = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
	                     .person_id = "m-1001",
	                     .reader_id = "Haupteingang Süd",
	                     .in = false,
	                     .at_unix_us = 1764093600123456LL,
	                     .cause = "daily_checkout"};
	char body[WEBHOOK_BODY_MAX];
	int n = webhook_body(&d, body, sizeof(body));
	assert_true(n > 0);
	json_object *root = json_tokener_parse(body);
	assert_non_null(root);
	json_object *data, *v;
	assert_true(json_object_object_get_ex(root, "type", &v));
	assert_string_equal(json_object_get_string(v), "presence.checked_out");
	assert_true(json_object_object_get_ex(root, "data", &data));
	const char *want[][2] = {{"event_key", "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
	                         {"person_id", "m-1001"},
	                         {"direction", "out"},
	                         {"reader_id", "Haupteingang Süd"},
	                         {"at", "2025-11-25T18:00:00.123456Z"},
	                         {"cause", "daily_checkout"}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(json_object_object_get_ex(data, want[i][0], &v));
		assert_string_equal(json_object_get_string(v), want[i][1]);
	}
	json_object_put(root);
	assert_int_equal(webhook_body(&d, body, 40), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(the_specification_example_signs_alike),
	        cmocka_unit_test(bad_secrets_are_refused_without_showing_them),
	        cmocka_unit_test(a_secret_file_others_can_read_is_refused),
	        cmocka_unit_test(the_body_carries_the_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
