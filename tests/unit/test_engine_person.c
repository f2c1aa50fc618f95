/* SPDX-License-Identifier: MIT */
/*
 * test_engine_person.c: the engine decides for a person named by any
 * credential (engine_submit_person), for a host's request or for one of
 * porter's own drivers, which has no host request: its person is answered
 * by the door and feedback alone, never by complete(). And
 * engine_reader_locked_out, the check every credential passes first.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "fake_host.h"
#include "keypad.h"
#include "plugin.h"

struct env {
	struct fake_host host;
	struct fake_site site;
	porter_plugin *plugin;
};

static struct env *env_new(void)
{
	struct env *env = calloc(1, sizeof(*env));
	fake_host_init(&env->host);
	struct fake_person people[] = {
	        {"m-ana", "member", "Ana Souza", "1234", NULL, NULL},
	        {"m-ben", "member", "Ben Okafor", "5678", NULL, NULL},
	};
	fake_site_create(&env->site, people, 2, "\"repeat_window_ms\": 0");
	assert_int_equal(plugin_init(&env->host.services, env->site.config,
	                             strlen(env->site.config), NULL, NULL, &env->plugin),
	                 0);
	return env;
}

static void env_free(struct env *env)
{
	plugin_shutdown(env->plugin);
	fake_site_destroy(&env->site);
	fake_host_destroy(&env->host);
	free(env);
}

static const struct person *person(struct env *env, const char *id)
{
	const struct person *p = directory_find_id(env->plugin->directory, id);
	assert_non_null(p);
	return p;
}

/* Run the recorder's answers until `n` feedbacks were given (or 5 s). */
static void wait_feedback(struct env *env, size_t n)
{
	while (env->host.n_feedback < n)
		assert_true(fake_host_run_next_invokes(&env->host));
}

static void test_a_drivers_request_is_answered_at_the_door_only(void **state)
{
	struct env *env = env_new();
	struct reader_state *front = plugin_reader(env->plugin, "front");
	assert_int_equal(
	        engine_submit_person(&env->plugin->engine, front, 77, false, person(env, "m-ana")),
	        PORTER_VERDICT_PENDING);
	assert_int_equal(env->host.n_doors, 0); /* nothing before it is durable */
	wait_feedback(env, 1);
	assert_string_equal(env->host.feedback[0].code, "checked_in");
	assert_int_equal(env->host.n_doors, 1);
	assert_string_equal(env->host.doors[0].reader, "front");
	/* The second presentation checks out, again with no completion. */
	assert_int_equal(
	        engine_submit_person(&env->plugin->engine, front, 0, false, person(env, "m-ana")),
	        PORTER_VERDICT_PENDING);
	wait_feedback(env, 2);
	assert_string_equal(env->host.feedback[1].code, "checked_out");
	assert_int_equal(env->host.n_completions, 0);
	env_free(env);
}

static void test_a_drivers_request_id_never_collides_with_the_hosts(void **state)
{
	struct env *env = env_new();
	struct reader_state *front = plugin_reader(env->plugin, "front");
	struct porter_pin_event ev = {.size = sizeof(ev),
	                              .request_id = 5,
	                              .reader_id = "front",
	                              .pin = "1234",
	                              .pin_len = 4};
	assert_int_equal(keypad_on_pin(env->plugin, &ev), PORTER_VERDICT_PENDING);
	/* The same number from a driver is not the host's request 5. */
	assert_int_equal(
	        engine_submit_person(&env->plugin->engine, front, 5, false, person(env, "m-ben")),
	        PORTER_VERDICT_PENDING);
	/* A host that cancels its request 5 cancels Ana's, not Ben's. */
	plugin_cancel(env->plugin, 5);
	wait_feedback(env, 1);
	assert_int_equal(env->host.n_completions, 0);
	assert_string_equal(env->host.feedback[0].code, "checked_in");
	assert_int_equal(env->host.n_doors, 1);
	env_free(env);
}

static void test_a_host_request_is_completed_and_a_reused_id_refused(void **state)
{
	struct env *env = env_new();
	struct reader_state *front = plugin_reader(env->plugin, "front");
	struct engine *e = &env->plugin->engine;
	assert_int_equal(engine_submit_person(e, front, 9, true, person(env, "m-ana")),
	                 PORTER_VERDICT_PENDING);
	assert_int_equal(engine_submit_person(e, front, 9, true, person(env, "m-ben")), -EEXIST);
	assert_true(fake_host_wait_completions(&env->host, 1));
	assert_int_equal(env->host.completions[0].request_id, 9);
	assert_string_equal(env->host.completions[0].code, "checked_in");
	assert_string_equal(env->host.completions[0].person, "m-ana");
	env_free(env);
}

static void test_a_locked_reader_refuses_before_any_credential(void **state)
{
	struct env *env = env_new();
	struct reader_state *front = plugin_reader(env->plugin, "front");
	struct engine *e = &env->plugin->engine;
	uint64_t now = env->host.now_us;
	assert_false(engine_reader_locked_out(e, front, now));
	assert_int_equal(env->host.n_feedback, 0);
	for (unsigned i = 0; i < env->plugin->config.lockout_max_attempts; i++) {
		struct porter_pin_event ev = {.size = sizeof(ev),
		                              .request_id = 100 + i,
		                              .reader_id = "front",
		                              .pin = "0000",
		                              .pin_len = 4};
		assert_int_equal(keypad_on_pin(env->plugin, &ev), PORTER_VERDICT_DENY);
	}
	size_t before = env->host.n_feedback;
	assert_true(engine_reader_locked_out(e, front, env->host.now_us));
	assert_int_equal(env->host.n_feedback, before + 1);
	assert_string_equal(fake_host_last_code(&env->host), "locked_out");
	env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_a_drivers_request_is_answered_at_the_door_only),
	        cmocka_unit_test(test_a_drivers_request_id_never_collides_with_the_hosts),
	        cmocka_unit_test(test_a_host_request_is_completed_and_a_reused_id_refused),
	        cmocka_unit_test(test_a_locked_reader_refuses_before_any_credential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
