/* SPDX-License-Identifier: MIT */
/*
 * test_precise.c: porter.h promises made precise after the black-box host's
 * findings (issue 5): a request_id already pending is refused with -EEXIST,
 * and the repeat window never keeps an exit reader from checking out (nor an
 * entry reader from checking in) someone who just changed at the other one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recording_host.h"

struct answer {
	int verdict;
	uint32_t direction;
	char code[64];
};

/* Present `pin` at `reader` and wait for the decision. */
static struct answer present(struct site *s, const char *reader, const char *pin)
{
	uint64_t id;
	struct answer a = {0};
	a.verdict = hook_pin(s, reader, pin, strlen(pin), &id);
	if (a.verdict == PORTER_VERDICT_PENDING) {
		const struct seen_result *r = wait_result(s, id);
		assert_non_null(r);
		a.verdict = (int)r->verdict;
		a.direction = r->direction;
		snprintf(a.code, sizeof(a.code), "%s", r->code);
	} else {
		snprintf(a.code, sizeof(a.code), "%s", s->last_code);
	}
	return a;
}

static int site_setup(void **state)
{
	return site_open(state, &(struct site_options){
	                                .people = FX_CAST,
	                                .echo_level = PORTER_LOG_WARNING,
	                                .holdable_invokes = true,
	                        });
}

/* V2: a host that reuses a pending request's id is refused, without
 * feedback, and the first request still completes once. */
static void a_pending_request_id_used_again_is_refused(void **state)
{
	struct site *s = *state;
	uint64_t id;

	start(s, "");
	hold_invokes(s, true);
	assert_int_equal(hook_pin(s, "front", PIN_ANA, strlen(PIN_ANA), &id),
	                 PORTER_VERDICT_PENDING);
	size_t feedback = s->n_feedback;
	s->last_request_id = id - 1; /* the next hook reuses `id` */
	assert_int_equal(hook_pin(s, "side", PIN_BEN, strlen(PIN_BEN), NULL), -EEXIST);
	assert_int_equal(s->n_feedback, feedback);
	assert_true(wait_held(s, 1));
	hold_invokes(s, false);
	run_held(s);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_string_equal(r->code, "checked_in");
	assert_string_equal(r->person, "m-ana");
	run_for(s, 50);
	assert_int_equal(s->n_results, 1);
	/* Completed: the id may be used again. */
	assert_int_equal(present(s, "side", PIN_BEN).direction, PORTER_DIRECTION_IN);
	stop(s);
}

/* V6: entry and exit readers make their own change even within the repeat
 * window; a toggle reader keeps the window. */
static void exit_reader_right_after_an_entry_checks_out(void **state)
{
	struct site *s = *state;

	start(s, ",\"repeat_window_ms\":3000,\"readers\":[{\"id\":\"in\",\"direction\":\"entry\"},"
	         "{\"id\":\"out\",\"direction\":\"exit\"}]");
	struct answer a = present(s, "in", PIN_ANA);
	assert_string_equal(a.code, "checked_in");
	a = present(s, "in", PIN_ANA); /* at once, same entry reader */
	assert_string_equal(a.code, "already_in");
	assert_int_equal(a.direction, PORTER_DIRECTION_NONE);
	a = present(s, "out", PIN_ANA); /* at once, the exit reader */
	assert_int_equal(a.verdict, PORTER_VERDICT_GRANT);
	assert_string_equal(a.code, "checked_out");
	assert_int_equal(a.direction, PORTER_DIRECTION_OUT);
	a = present(s, "out", PIN_ANA);
	assert_string_equal(a.code, "already_out");
	a = present(s, "in", PIN_ANA);
	assert_string_equal(a.code, "checked_in");
	a = present(s, "front", PIN_ANA); /* a toggle reader: the window holds */
	assert_string_equal(a.code, "already_in");
	char state_[8];
	int64_t seq;
	assert_true(db_presence(s->db_path, "m-ana", state_, &seq));
	assert_string_equal(state_, "in");
	stop(s);
}

/* V11: moving the database needs a restart, and the report says what to do. */
static void reload_with_another_database_says_how_to_fix_it(void **state)
{
	struct site *s = *state;

	start(s, "");
	char *moved = fx_config("/nonexistent-porter-site", "");
	assert_non_null(moved);
	assert_int_equal(api->reload(s->porter, moved, strlen(moved), rec_report, s), -EINVAL);
	free(moved);
	const struct seen_report *r = find_report(s, "PORTER-RESTART");
	assert_non_null(r);
	assert_string_equal(r->path, "$.local.database");
	assert_non_null(strstr(r->fix, "restart"));
	/* diagnostics() without a report counts (a rule applying used to crash). */
	assert_true(api->diagnostics(s->porter, NULL, NULL) >= 0);
	assert_int_equal(present(s, "front", PIN_ANA).direction, PORTER_DIRECTION_IN);
	stop(s);
}

/* porter.h: diagnostics() with a NULL report gives the count, also when a
 * rule applies (it called the NULL report). */
static void diagnostics_without_a_report_counts(void **state)
{
	struct site *s = *state;

	start(s, ",\"access_control\":{\"salto_ks\":{\"enabled\":true,\"visitor_access\":true}}");
	assert_true(api->diagnostics(s->porter, NULL, NULL) >= 1);
	stop(s);
}

/* V15: --help shows that --config stands in for --directory and --key. */
static void admin_help_shows_config_alone_is_enough(void **state)
{
	(void)state;
	char cmd[FX_PATH_MAX + 16], out[8192] = "";
	snprintf(cmd, sizeof(cmd), "'%s' --help", fx_env("PORTER_ADMIN"));
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	assert_non_null(
	        strstr(out, "porter-admin add (--directory FILE --key KEYFILE | --config CONFIG)"));
}

#define PRECISE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        PRECISE(a_pending_request_id_used_again_is_refused),
	        PRECISE(exit_reader_right_after_an_entry_checks_out),
	        PRECISE(reload_with_another_database_says_how_to_fix_it),
	        PRECISE(diagnostics_without_a_report_counts),
	        cmocka_unit_test(admin_help_shows_config_alone_is_enough),
	};

	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN"))
		return 77; /* skipped: meson test sets them */
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
