/* SPDX-License-Identifier: MIT */
/*
 * test_keypad.c: key buffering and PIN input checks, as a person typing at a
 * keypad experiences them, and that no typed digit reaches a log.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "keypad.h"
#include "plugin.h"

struct env {
	struct fake_host host;
	struct fake_site site;
	porter_plugin *plugin;
	uint64_t next_request;
};

static int setup(void **state)
{
	struct env *env = calloc(1, sizeof(*env));
	fake_host_init(&env->host);
	struct fake_person people[] = {{"m-ana", "member", "Ana Souza", "1234", NULL, NULL},
				       {"m-long", "member", "Lou Long", "12345678", NULL, NULL}};
	fake_site_create(&env->site, people, 2,
			 "\"keypad\": {\"inter_key_timeout_ms\": 5000, \"pin_max_length\": 8}, "
			 "\"lockout\": {\"max_attempts\": 100}");
	assert_int_equal(plugin_init(&env->host.services, env->site.config, strlen(env->site.config),
				     NULL, NULL, &env->plugin), 0);
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct env *env = *state;
	plugin_shutdown(env->plugin);
	/* Whatever happened, no digit typed in these tests is in a log line. */
	for (size_t i = 0; i < env->host.n_logs; i++)
		if (strstr(env->host.logs[i], "1234") || strstr(env->host.logs[i], "9999"))
			fail_msg("a PIN reached the log: %s", env->host.logs[i]);
	fake_site_destroy(&env->site);
	fake_host_destroy(&env->host);
	free(env);
	return 0;
}

static int key(struct env *env, char k)
{
	struct porter_key_event ev = {.size = sizeof(ev), .key = (uint32_t)(unsigned char)k,
				      .request_id = ++env->next_request, .reader_id = "front"};
	return keypad_on_key(env->plugin, &ev);
}

static int keys(struct env *env, const char *s)
{
	int r = PORTER_VERDICT_NO_OPINION;
	for (; *s; s++)
		r = key(env, *s);
	return r;
}

static int whole_pin(struct env *env, const char *pin, size_t len)
{
	struct porter_pin_event ev = {.size = sizeof(ev), .request_id = ++env->next_request,
				      .reader_id = "front", .pin = pin, .pin_len = len};
	return keypad_on_pin(env->plugin, &ev);
}

static void test_digits_then_hash_submit_the_pin(void **state)
{
	struct env *env = *state;
	assert_int_equal(keys(env, "123"), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(key(env, '4'), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(key(env, '#'), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_string_equal(env->host.completions[0].person, "m-ana");
	assert_int_equal(env->host.completions[0].request_id, 5); /* the '#' press's request */
}

static void test_star_clears_what_was_typed(void **state)
{
	struct env *env = *state;
	keys(env, "99*");
	assert_int_equal(keys(env, "1234#"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
}

static void test_hash_alone_does_nothing(void **state)
{
	struct env *env = *state;
	assert_int_equal(key(env, '#'), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(env->host.n_feedback, 0);
}

static void test_a_pause_between_keys_drops_the_entry(void **state)
{
	struct env *env = *state;
	keys(env, "12");
	fake_host_advance(&env->host, 4000000);
	key(env, '3'); /* still within 5 s of the last key */
	fake_host_advance(&env->host, 4000000);
	assert_int_equal(env->host.n_feedback, 0);
	fake_host_advance(&env->host, 1000000); /* 5 s after '3' */
	assert_string_equal(fake_host_last_code(&env->host), "entry_timeout");
	assert_int_equal(keys(env, "4#"), PORTER_VERDICT_DENY); /* "4" alone: too short */
	assert_string_equal(fake_host_last_code(&env->host), "pin_too_short");
}

static void test_too_many_digits_are_refused_until_hash(void **state)
{
	struct env *env = *state;
	assert_int_equal(keys(env, "12345678"), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(key(env, '9'), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "pin_too_long");
	/* The keys up to '#' belong to the refused entry: "1234" is not a PIN. */
	size_t fb = env->host.n_feedback;
	assert_int_equal(keys(env, "1234#"), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(env->host.n_feedback, fb);
	assert_int_equal(plugin_reader(env->plugin, "front")->lockout.failures, 0);
	/* After the '#', a fresh PIN works. */
	assert_int_equal(keys(env, "1234#"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_string_equal(env->host.completions[0].person, "m-ana");
}

static void test_a_too_long_entry_ends_with_star(void **state)
{
	struct env *env = *state;
	assert_int_equal(keys(env, "999999999"), PORTER_VERDICT_DENY);
	assert_int_equal(keys(env, "99*"), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(keys(env, "1234#"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
}

static void test_a_too_long_entry_ends_with_a_pause(void **state)
{
	struct env *env = *state;
	assert_int_equal(keys(env, "999999999"), PORTER_VERDICT_DENY);
	size_t fb = env->host.n_feedback;
	fake_host_advance(&env->host, 6000000); /* past inter_key_timeout_ms */
	assert_int_equal(env->host.n_feedback, fb); /* told once already, not again */
	assert_int_equal(env->host.n_timers, 0);
	assert_int_equal(keys(env, "1234#"), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
}

static void test_keys_typed_into_a_refused_entry_keep_it_alive(void **state)
{
	struct env *env = *state;
	assert_int_equal(keys(env, "999999999"), PORTER_VERDICT_DENY);
	fake_host_advance(&env->host, 3000000);
	assert_int_equal(keys(env, "12"), PORTER_VERDICT_NO_OPINION);
	fake_host_advance(&env->host, 3000000); /* 6 s since the refusal, 3 s since a key */
	assert_int_equal(keys(env, "34#"), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(env->host.n_completions, 0);
}

static void test_a_non_keypad_key_clears_the_entry(void **state)
{
	struct env *env = *state;
	keys(env, "12");
	assert_int_equal(key(env, 'A'), -EINVAL);
	assert_string_equal(fake_host_last_code(&env->host), "invalid_key");
	assert_true(fake_host_logged(&env->host, "key code 0x41"));
	assert_int_equal(keys(env, "34#"), PORTER_VERDICT_DENY);
	assert_string_equal(fake_host_last_code(&env->host), "pin_too_short");
}

static void test_whole_pin_bad_input_grants_nobody(void **state)
{
	struct env *env = *state;
	assert_int_equal(whole_pin(env, "123456789", 9), -E2BIG);
	assert_string_equal(fake_host_last_code(&env->host), "pin_too_long");
	assert_int_equal(whole_pin(env, "12a4", 4), -EINVAL);
	assert_string_equal(fake_host_last_code(&env->host), "invalid_pin");
	assert_int_equal(whole_pin(env, "12\0" "4", 4), -EINVAL); /* NUL inside pin_len */
	assert_int_equal(whole_pin(env, "123", 3), PORTER_VERDICT_DENY);
	assert_int_equal(whole_pin(env, NULL, 4), -EINVAL);
	assert_int_equal(whole_pin(env, "", 0), PORTER_VERDICT_DENY);
	assert_int_equal(env->host.n_doors, 0);
	assert_int_equal(env->host.n_completions, 0);
}

static void test_malformed_events_are_refused(void **state)
{
	struct env *env = *state;
	struct porter_pin_event ev = {.size = 8, .reader_id = "front", .pin = "1234", .pin_len = 4};
	assert_int_equal(keypad_on_pin(env->plugin, &ev), -EINVAL); /* size too small */
	ev.size = sizeof(ev);
	ev.reader_id = "front\tdoor"; /* a control character: not a reader id */
	assert_int_equal(keypad_on_pin(env->plugin, &ev), -EINVAL);
	ev.reader_id = "fr\xc3nt"; /* not UTF-8 */
	assert_int_equal(keypad_on_pin(env->plugin, &ev), -EINVAL);
	ev.reader_id = NULL;
	assert_int_equal(keypad_on_pin(env->plugin, &ev), -EINVAL);
	char long_id[100];
	memset(long_id, 'r', sizeof(long_id) - 1);
	long_id[99] = '\0';
	ev.reader_id = long_id;
	assert_int_equal(keypad_on_pin(env->plugin, &ev), -EINVAL);
	assert_int_equal(keypad_on_pin(env->plugin, NULL), -EINVAL);
	assert_int_equal(env->host.n_doors, 0);
}

static void test_a_longer_pin_is_not_mistaken_for_a_prefix(void **state)
{
	struct env *env = *state;
	assert_int_equal(whole_pin(env, "12345678", 8), PORTER_VERDICT_PENDING);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_string_equal(env->host.completions[0].person, "m-long");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_digits_then_hash_submit_the_pin),
		T(test_star_clears_what_was_typed),
		T(test_hash_alone_does_nothing),
		T(test_a_pause_between_keys_drops_the_entry),
		T(test_too_many_digits_are_refused_until_hash),
		T(test_a_too_long_entry_ends_with_star),
		T(test_a_too_long_entry_ends_with_a_pause),
		T(test_keys_typed_into_a_refused_entry_keep_it_alive),
		T(test_a_non_keypad_key_clears_the_entry),
		T(test_whole_pin_bad_input_grants_nobody),
		T(test_malformed_events_are_refused),
		T(test_a_longer_pin_is_not_mistaken_for_a_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
