/* SPDX-License-Identifier: MIT */
/*
 * test_journeys.c: end-to-end journeys through the built porter.so.
 *
 * A host made of host_loop with recording callbacks loads porter.so through
 * porter.h alone (path in $PORTER_SO), exactly as a door controller would.
 * Each test sets up a site with the real porter-admin ($PORTER_ADMIN): a PIN
 * key, members Ana and Ben, a current visitor Vera and an expired visitor
 * Otto. It then presents PINs and asserts what a person at the door, or an
 * operator looking at the log and the database, would observe.
 *
 * Every test also checks the host contract as it goes (recording_host.h):
 * services are called on the loop thread only, complete() never runs inside
 * a hook, never twice, never after cancel(), nothing runs after shutdown()
 * returns, shutdown leaves no watch or timer behind, and no PIN shows up in
 * a log line or on a display.
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
#include <sys/stat.h>

#include <cmocka.h>

#include "recording_host.h"

/* What one presentation of a credential led to, as the person saw it. */
struct outcome {
	int rc;                               /* what the hook returned */
	uint32_t verdict;                     /* final: the hook's or the completion's */
	uint32_t direction;
	const char *code;                     /* completion's code, else the display's */
	const char *person;                   /* "" when nobody was identified */
	int rows_when_told;                   /* rows for the person at complete() */
	const struct seen_feedback *feedback; /* the last display for it, or NULL */
	size_t doors;                         /* door unlocks it caused */
	const struct seen_door *door;         /* the first of them */
};

/* After the hook returned `rc` for `request_id`: wait for the decision and
 * the display, then collect what happened since the marks. */
static struct outcome settle(struct site *s, int rc, uint64_t request_id, size_t fb_mark,
			     size_t door_mark)
{
	struct outcome o = { .rc = rc, .verdict = rc > 0 ? (uint32_t)rc : 0, .code = "",
			     .person = "" };

	if (rc == PORTER_VERDICT_PENDING) {
		const struct seen_result *r = wait_result(s, request_id);
		assert_non_null(r); /* a pending decision must arrive */
		o.verdict = r->verdict;
		o.direction = r->direction;
		o.code = r->code;
		o.person = r->person;
		o.rows_when_told = r->rows_when_told;
	}
	wait_feedback(s, fb_mark + 1);
	run_for(s, 20);
	if (s->n_feedback > fb_mark) {
		o.feedback = &s->feedback[s->n_feedback - 1];
		if (rc != PORTER_VERDICT_PENDING)
			o.code = o.feedback->code;
	}
	o.doors = s->n_doors - door_mark;
	o.door = o.doors ? &s->doors[door_mark] : NULL;
	return o;
}

static struct outcome present(struct site *s, const char *reader, const char *pin)
{
	size_t fb_mark = s->n_feedback, door_mark = s->n_doors;
	uint64_t id;
	int rc = hook_pin(s, reader, pin, strlen(pin), &id);

	return settle(s, rc, id, fb_mark, door_mark);
}

/* Type `keys` then '#', as a key-by-key keypad sends them. */
static struct outcome type_and_submit(struct site *s, const char *reader, const char *keys)
{
	size_t fb_mark = s->n_feedback, door_mark = s->n_doors;
	uint64_t id;

	type_keys(s, reader, keys);
	int rc = hook_key(s, reader, '#', &id);
	return settle(s, rc, id, fb_mark, door_mark);
}

static void assert_checked(const struct outcome *o, uint32_t direction, const char *code,
			   const char *person)
{
	assert_int_equal(o->rc, PORTER_VERDICT_PENDING);
	assert_int_equal(o->verdict, PORTER_VERDICT_GRANT);
	assert_int_equal(o->direction, direction);
	assert_string_equal(o->code, code);
	assert_string_equal(o->person, person);
}

static void assert_denied_at_door(const struct outcome *o)
{
	assert_int_equal(o->verdict, PORTER_VERDICT_DENY);
	assert_int_equal(o->doors, 0);
	assert_non_null(o->feedback);
	assert_int_equal(o->feedback->led, PORTER_LED_RED);
}

/* ---- site lifecycle ------------------------------------------------------- */

/* Members Ana and Ben, a current visitor Vera and an expired visitor Otto. */
static int site_setup(void **state)
{
	return site_open(state, &(struct site_options){
	                                .people = FX_CAST,
	                                .echo_level = PORTER_LOG_WARNING,
	                                .count_rows_when_told = true,
	                        });
}

/* ---- journeys --------------------------------------------------------------- */

static void member_pin_checks_in_opens_the_door_and_greets_by_name(void **state)
{
	struct site *s = *state;

	start(s, "");
	struct outcome o = present(s, "front", PIN_ANA);

	assert_checked(&o, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	assert_true(o.rows_when_told >= 1); /* recorded before she was told */
	assert_int_equal(o.doors, 1);
	assert_string_equal(o.door->reader, "front");
	assert_int_equal(o.door->ms, 5000);
	assert_non_null(o.feedback);
	assert_non_null(strstr(o.feedback->text, "Ana Souza"));
	assert_string_equal(o.feedback->code, "checked_in");
	assert_int_equal(o.feedback->led, PORTER_LED_GREEN);
	assert_int_equal(o.feedback->beep, PORTER_BEEP_OK);
	stop(s);
}

static void member_pin_after_the_repeat_window_checks_out(void **state)
{
	struct site *s = *state;

	start(s, ",\"repeat_window_ms\":50");
	struct outcome in = present(s, "front", PIN_ANA);
	run_for(s, 120);
	struct outcome out = present(s, "front", PIN_ANA);

	assert_checked(&in, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	assert_checked(&out, PORTER_DIRECTION_OUT, "checked_out", "m-ana");
	assert_int_equal(out.doors, 1); /* she still has to get out */
	assert_non_null(strstr(out.feedback->text, "Ana Souza"));
	assert_string_equal(out.feedback->code, "checked_out");
	stop(s);
}

static void member_pin_within_the_repeat_window_is_not_a_second_toggle(void **state)
{
	struct site *s = *state;

	start(s, ",\"repeat_window_ms\":3000");
	struct outcome first = present(s, "front", PIN_ANA);
	struct outcome again = present(s, "front", PIN_ANA);
	run_for(s, 100);

	assert_checked(&first, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	assert_int_equal(again.verdict, PORTER_VERDICT_GRANT);
	assert_string_equal(again.code, "already_in");
	assert_int_not_equal(again.direction, PORTER_DIRECTION_OUT);
	assert_int_equal(count_rows(s->db_path, "m-ana"), 1);
	stop(s);
}

static void unknown_pin_is_denied_at_once_and_the_door_stays_shut(void **state)
{
	struct site *s = *state;

	start(s, "");
	struct outcome o = present(s, "front", "777001");

	assert_int_equal(o.rc, PORTER_VERDICT_DENY);
	assert_denied_at_door(&o);
	assert_string_equal(o.code, "unknown_pin");
	assert_int_equal(s->n_results, 0);
	stop(s);
}

static void visitor_with_an_expired_pass_is_denied(void **state)
{
	struct site *s = *state;

	start(s, "");
	struct outcome o = present(s, "front", PIN_OTTO);

	assert_denied_at_door(&o);
	assert_non_null(strstr(o.code, "expired"));
	assert_int_equal(count_rows(s->db_path, "v-otto"), 0);
	stop(s);
}

static void visitor_with_a_current_pass_checks_in(void **state)
{
	struct site *s = *state;

	start(s, "");
	struct outcome o = present(s, "front", PIN_VERA);

	assert_checked(&o, PORTER_DIRECTION_IN, "checked_in", "v-vera");
	assert_non_null(strstr(o.feedback->text, "Vera Visitor"));
	stop(s);
}

static void members_only_keypad_refuses_a_visitor(void **state)
{
	struct site *s = *state;

	start(s, ",\"readers\":[{\"id\":\"members\",\"pin_holders\":\"members\"}]");
	struct outcome visitor = present(s, "members", PIN_VERA);
	struct outcome member = present(s, "members", PIN_ANA);

	assert_denied_at_door(&visitor);
	assert_int_equal(count_rows(s->db_path, "v-vera"), 0);
	assert_checked(&member, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	stop(s);
}

static void entry_only_reader_never_checks_out(void **state)
{
	struct site *s = *state;

	start(s, ",\"repeat_window_ms\":50,"
		 "\"readers\":[{\"id\":\"entrance\",\"direction\":\"entry\"}]");
	struct outcome in = present(s, "entrance", PIN_ANA);
	run_for(s, 120);
	struct outcome again = present(s, "entrance", PIN_ANA);
	run_for(s, 120);
	struct outcome out_front = present(s, "front", PIN_ANA); /* a toggle reader */

	assert_checked(&in, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	assert_int_not_equal(again.direction, PORTER_DIRECTION_OUT);
	assert_string_not_equal(again.code, "checked_out");
	assert_checked(&out_front, PORTER_DIRECTION_OUT, "checked_out", "m-ana");
	struct log_row rows[8];
	assert_int_equal(db_log(s->db_path, "m-ana", rows, 8), 2);
	assert_string_equal(rows[0].reader, "entrance");
	assert_string_equal(rows[1].reader, "front");
	stop(s);
}

static void keypad_keys_then_hash_submit_the_pin(void **state)
{
	struct site *s = *state;

	start(s, "");
	struct outcome o = type_and_submit(s, "front", PIN_ANA);

	assert_checked(&o, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	assert_int_equal(o.doors, 1);
	stop(s);
}

static void keypad_star_clears_what_was_typed(void **state)
{
	struct site *s = *state;

	start(s, "");
	type_keys(s, "front", "99");
	assert_int_equal(hook_key(s, "front", '*', NULL), PORTER_VERDICT_NO_OPINION);
	struct outcome o = type_and_submit(s, "front", PIN_ANA);

	assert_checked(&o, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	stop(s);
}

static void keypad_pause_longer_than_the_inter_key_timeout_clears_the_digits(void **state)
{
	struct site *s = *state;

	start(s, ",\"keypad\":{\"inter_key_timeout_ms\":1000}");
	/* Without a pause the stray digits make the PIN wrong ... */
	type_keys(s, "front", "99");
	struct outcome stray = type_and_submit(s, "front", PIN_ANA);
	/* ... after a pause they are forgotten. */
	type_keys(s, "front", "99");
	run_for(s, 1400);
	struct outcome o = type_and_submit(s, "front", PIN_ANA);

	assert_int_equal(stray.verdict, PORTER_VERDICT_DENY);
	assert_checked(&o, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	stop(s);
}

static void too_many_wrong_pins_lock_the_keypad_even_for_a_right_one(void **state)
{
	struct site *s = *state;
	const char *guesses[] = { "111111", "222222", "333333" };

	start(s, ",\"lockout\":{\"max_attempts\":3}");
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(present(s, "front", guesses[i]).verdict, PORTER_VERDICT_DENY);
	struct outcome o = present(s, "front", PIN_ANA);

	assert_denied_at_door(&o);
	assert_string_equal(o.code, "locked_out");
	assert_int_equal(count_rows(s->db_path, "m-ana"), 0);
	stop(s);
}

static void malformed_pins_are_refused_with_an_error(void **state)
{
	struct site *s = *state;
	static const char with_nul[] = { '4', '8', '2', '\0', '9', '1', '3' };

	start(s, "");
	size_t fb = s->n_feedback;
	/* porter.h promises a negative errno; which one is porter's choice. */
	assert_true(hook_pin(s, "front", "123456789", 9, NULL) < 0);
	wait_feedback(s, fb + 1);
	assert_string_equal(s->feedback[s->n_feedback - 1].code, "pin_too_long");

	fb = s->n_feedback;
	assert_int_equal(hook_pin(s, "front", "48a913", 6, NULL), -EINVAL);
	wait_feedback(s, fb + 1);
	assert_string_equal(s->feedback[s->n_feedback - 1].code, "invalid_pin");

	assert_int_equal(hook_pin(s, "front", with_nul, sizeof(with_nul), NULL), -EINVAL);
	assert_true(hook_key(s, "front", 'x', NULL) < 0);
	run_for(s, 100);
	assert_int_equal(s->n_results, 0);
	assert_int_equal(s->n_doors, 0);
	assert_int_equal(count_rows(s->db_path, NULL), 0);
	stop(s);
}

static bool reported(const struct site *s, uint32_t severity, const char *code, const char *path)
{
	for (size_t i = 0; i < s->n_reports; i++) {
		const struct seen_report *r = &s->reports[i];
		if (r->severity == severity && (!code || strcmp(r->code, code) == 0) &&
		    (!path || strcmp(r->path, path) == 0))
			return true;
	}
	return false;
}

static void invalid_config_is_refused_naming_every_bad_setting(void **state)
{
	struct site *s = *state;
	char *config = fx_config(s->dir, ",\"keypad\":{\"pin_min_length\":\"four\"},"
					 "\"readers\":[{\"id\":\"front\",\"direction\":\"sideways\"}]");

	int r = api->init(host_loop_services(s->loop), config, strlen(config), rec_report, s,
			  &s->porter);
	assert_int_equal(r, -EINVAL);
	assert_null(s->porter);
	assert_true(reported(s, PORTER_SEVERITY_ERROR, NULL, "$.keypad.pin_min_length"));
	assert_true(reported(s, PORTER_SEVERITY_ERROR, NULL, "$.readers[0].direction"));
	assert_true(s->n_error_logs >= 1); /* the operator sees it in the log too */
	assert_int_equal(host_loop_n_watches(s->loop), 0);
	assert_int_equal(host_loop_n_timers(s->loop), 0);

	s->n_reports = 0;
	assert_int_equal(api->check_config(config, strlen(config), rec_report, s), -EINVAL);
	assert_true(reported(s, PORTER_SEVERITY_ERROR, NULL, "$.keypad.pin_min_length"));
	free(config);
	assert_contract_kept(s);
}

static void salto_ks_with_visitor_access_is_flagged_and_visitors_are_refused(void **state)
{
	struct site *s = *state;

	start(s, ",\"access_control\":{\"salto_ks\":{\"enabled\":true,\"visitor_access\":true}}");
	s->n_reports = 0;
	assert_true(api->diagnostics(s->porter, rec_report, s) >= 1);
	assert_true(reported(s, PORTER_SEVERITY_WARNING, "PORTER-D001", NULL));
	struct outcome visitor = present(s, "front", PIN_VERA);
	struct outcome member = present(s, "front", PIN_ANA);

	assert_denied_at_door(&visitor);
	assert_int_equal(count_rows(s->db_path, "v-vera"), 0);
	assert_checked(&member, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	stop(s);
}

static void every_change_is_in_the_presence_log_and_table(void **state)
{
	struct site *s = *state;
	struct log_row rows[8];
	char state_text[8];
	int64_t last_seq;

	start(s, ",\"repeat_window_ms\":50");
	present(s, "front", PIN_ANA);
	present(s, "front", PIN_BEN);
	run_for(s, 120);
	present(s, "front", PIN_ANA);
	stop(s);

	assert_int_equal(db_log(s->db_path, NULL, rows, 8), 3);
	const char *expect[3][2] = { { "m-ana", "in" }, { "m-ben", "in" }, { "m-ana", "out" } };
	for (int i = 0; i < 3; i++) {
		assert_string_equal(rows[i].person, expect[i][0]);
		assert_string_equal(rows[i].direction, expect[i][1]);
		assert_string_equal(rows[i].reader, "front");
		assert_true(rows[i].event_key[0] && rows[i].recorded_at[0] && rows[i].cause[0]);
	}
	assert_string_not_equal(rows[0].event_key, rows[2].event_key);
	assert_true(db_presence(s->db_path, "m-ana", state_text, &last_seq));
	assert_string_equal(state_text, "out");
	assert_int_equal(last_seq, rows[2].seq);
	assert_true(db_presence(s->db_path, "m-ben", state_text, &last_seq));
	assert_string_equal(state_text, "in");
	assert_int_equal(last_seq, rows[1].seq);
}

static void presence_survives_a_restart(void **state)
{
	struct site *s = *state;

	start(s, "");
	struct outcome in = present(s, "front", PIN_ANA);
	stop(s);
	start(s, "");
	struct outcome out = present(s, "front", PIN_ANA);
	struct outcome ben = present(s, "front", PIN_BEN);

	assert_checked(&in, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	assert_checked(&out, PORTER_DIRECTION_OUT, "checked_out", "m-ana");
	assert_checked(&ben, PORTER_DIRECTION_IN, "checked_in", "m-ben");
	stop(s);
}

static void host_cancel_means_no_completion_and_no_presence_change(void **state)
{
	struct site *s = *state;
	struct log_row rows[8];
	uint64_t id;

	start(s, ",\"repeat_window_ms\":50");
	assert_int_equal(hook_pin(s, "front", PIN_ANA, strlen(PIN_ANA), &id),
			 PORTER_VERDICT_PENDING);
	s->cancelled[s->n_cancelled++] = id;
	api->cancel(s->porter, id);
	run_for(s, 300);
	assert_null(find_result(s, id));
	assert_int_equal(s->n_doors, 0);

	struct outcome again = present(s, "front", PIN_ANA); /* still out: checks in */
	assert_checked(&again, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	stop(s);
	size_t n = db_log(s->db_path, "m-ana", rows, 8);
	assert_true(n == 1 || n == 3); /* withdrawn, or recorded and reversed */
	for (size_t i = 0; i < n; i++)
		assert_string_equal(rows[i].direction, i % 2 ? "out" : "in");
}

static void shutdown_decides_a_pending_request_exactly_once(void **state)
{
	struct site *s = *state;
	char state_text[8] = "";
	int64_t last_seq;
	uint64_t id;

	start(s, "");
	assert_int_equal(hook_pin(s, "front", PIN_ANA, strlen(PIN_ANA), &id),
			 PORTER_VERDICT_PENDING);
	stop(s); /* before the loop ever ran */

	const struct seen_result *r = find_result(s, id);
	assert_non_null(r);
	assert_int_equal(s->n_results, 1);
	bool in = db_presence(s->db_path, "m-ana", state_text, &last_seq) &&
		  strcmp(state_text, "in") == 0;
	/* What she was told matches what was recorded. */
	if (r->verdict == PORTER_VERDICT_GRANT)
		assert_true(in && r->direction == PORTER_DIRECTION_IN);
	else
		assert_false(in);
	print_message("shutdown completed the pending request with %s\n",
		      r->verdict == PORTER_VERDICT_GRANT ? "GRANT" : "DENY");
}

/* ---- files the admin edits, and hosts of other versions -------------------- */

static void reload_adds_a_new_person_and_a_broken_directory_keeps_the_old(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];
	char *config = fx_config(s->dir, "");

	start(s, "");
	struct outcome before = present(s, "front", "556677");
	assert_string_equal(before.code, "unknown_pin");
	assert_int_equal(fx_add_person(fx_env("PORTER_ADMIN"), s->dir, "m-new", "member", "Nia New",
				       "556677", NULL, NULL), 0);
	assert_int_equal(api->reload(s->porter, config, strlen(config), rec_report, s), 0);
	struct outcome after = present(s, "front", "556677");
	assert_checked(&after, PORTER_DIRECTION_IN, "checked_in", "m-new");

	/* A half-saved or hand-broken directory: refused, the old one stays. */
	snprintf(path, sizeof(path), "%s/directory.json", s->dir);
	assert_int_equal(fx_write_file(path, "{\"porter_directory\": 1, \"people\": [{\"id\""), 0);
	s->n_reports = 0;
	assert_int_equal(api->reload(s->porter, config, strlen(config), rec_report, s), -EINVAL);
	assert_true(reported(s, PORTER_SEVERITY_ERROR, "PORTER-DIRECTORY", "$.local.directory"));
	struct outcome still = present(s, "front", PIN_ANA);
	assert_checked(&still, PORTER_DIRECTION_IN, "checked_in", "m-ana");
	free(config);
	stop(s);
}

static void a_corrupt_directory_at_start_grants_nobody(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];
	char *config = fx_config(s->dir, "");

	snprintf(path, sizeof(path), "%s/directory.json", s->dir);
	assert_int_equal(fx_write_file(path, "\x89PNG garbage\n"), 0);
	int r = api->init(host_loop_services(s->loop), config, strlen(config), rec_report, s,
			  &s->porter);
	free(config);
	assert_int_equal(r, -EINVAL);
	assert_null(s->porter); /* no plugin: the host has nobody to grant */
	assert_true(reported(s, PORTER_SEVERITY_ERROR, "PORTER-DIRECTORY", "$.local.directory"));
	assert_int_equal(s->n_doors, 0);
	assert_int_equal(host_loop_n_timers(s->loop), 0);
}

static void a_pin_key_others_can_read_is_refused(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];
	char *config = fx_config(s->dir, "");

	snprintf(path, sizeof(path), "%s/pin.key", s->dir);
	assert_int_equal(chmod(path, 0644), 0);
	int r = api->init(host_loop_services(s->loop), config, strlen(config), rec_report, s,
			  &s->porter);
	free(config);
	assert_int_equal(r, -EINVAL); /* a config problem, like any other (README step 3) */
	assert_true(reported(s, PORTER_SEVERITY_ERROR, "PORTER-KEY", "$.local.pin_key_file"));
}

/* A host built against a later porter.h passes larger structs (fields
 * appended); one built against a struct too small for what porter needs is
 * refused rather than read past its end. */
static void hosts_with_larger_structs_work_and_too_small_ones_are_refused(void **state)
{
	struct site *s = *state;
	char *config = fx_config(s->dir, "");
	struct {
		struct porter_host_services services;
		uint64_t from_the_future[4];
	} newer;
	struct {
		struct porter_pin_event ev;
		uint64_t from_the_future[2];
	} pin = {{0}, {0}};

	memset(&newer, 0xAB, sizeof(newer));
	newer.services = *host_loop_services(s->loop);
	newer.services.size = sizeof(newer);
	assert_int_equal(api->init(&newer.services, config, strlen(config), rec_report, s, &s->porter), 0);
	pin.ev = (struct porter_pin_event){.size = sizeof(pin), .request_id = 4242,
					   .reader_id = "front", .pin = PIN_BEN, .pin_len = strlen(PIN_BEN)};
	assert_int_equal(api->on_pin(s->porter, &pin.ev), PORTER_VERDICT_PENDING);
	const struct seen_result *res = wait_result(s, 4242);
	assert_non_null(res);
	assert_string_equal(res->code, "checked_in");
	stop(s);

	struct porter_host_services older = *host_loop_services(s->loop);
	older.size = offsetof(struct porter_host_services, door_unlock);
	porter_plugin *p = NULL;
	assert_int_equal(api->init(&older, config, strlen(config), rec_report, s, &p), -EINVAL);
	assert_null(p);
	free(config);
}

/* ---- main ------------------------------------------------------------------- */

#define JOURNEY(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)

int main(void)
{
	const struct CMUnitTest tests[] = {
		JOURNEY(member_pin_checks_in_opens_the_door_and_greets_by_name),
		JOURNEY(member_pin_after_the_repeat_window_checks_out),
		JOURNEY(member_pin_within_the_repeat_window_is_not_a_second_toggle),
		JOURNEY(unknown_pin_is_denied_at_once_and_the_door_stays_shut),
		JOURNEY(visitor_with_an_expired_pass_is_denied),
		JOURNEY(visitor_with_a_current_pass_checks_in),
		JOURNEY(members_only_keypad_refuses_a_visitor),
		JOURNEY(entry_only_reader_never_checks_out),
		JOURNEY(keypad_keys_then_hash_submit_the_pin),
		JOURNEY(keypad_star_clears_what_was_typed),
		JOURNEY(keypad_pause_longer_than_the_inter_key_timeout_clears_the_digits),
		JOURNEY(too_many_wrong_pins_lock_the_keypad_even_for_a_right_one),
		JOURNEY(malformed_pins_are_refused_with_an_error),
		JOURNEY(invalid_config_is_refused_naming_every_bad_setting),
		JOURNEY(salto_ks_with_visitor_access_is_flagged_and_visitors_are_refused),
		JOURNEY(every_change_is_in_the_presence_log_and_table),
		JOURNEY(presence_survives_a_restart),
		JOURNEY(host_cancel_means_no_completion_and_no_presence_change),
		JOURNEY(shutdown_decides_a_pending_request_exactly_once),
		JOURNEY(reload_adds_a_new_person_and_a_broken_directory_keeps_the_old),
		JOURNEY(a_corrupt_directory_at_start_grants_nobody),
		JOURNEY(a_pin_key_others_can_read_is_refused),
		JOURNEY(hosts_with_larger_structs_work_and_too_small_ones_are_refused),
	};

	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must name the built porter.so and "
				"porter-admin (meson test sets them)\n");
		return 77; /* skipped */
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
