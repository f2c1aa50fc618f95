/* SPDX-License-Identifier: MIT */
/*
 * test_contract.c: the sentences of porter.h that a host relies on, tested
 * through the built porter.so loaded with dlopen(), like test_journeys.c.
 *
 * The host here can hold porter's invoke() callbacks (so a test decides when
 * porter hears that a change is durable) and hold the database's write lock
 * (so a change waits in porter's queue). With both, the cancel table below
 * walks every order of cancel, completion and presenting again, and checks
 * that the record, the door and what the person was told agree.
 *
 * Also here: validity windows for members, which requests carry a direction,
 * required services, init's return values, what a failed door_unlock leads
 * to, which errno wins for input wrong in two ways, key-by-key overflow, the
 * lockout counting answers that reveal a PIN is real, and cancel just before
 * shutdown.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "recording_host.h"

#define PIN_MAX  "640271" /* Max, a member whose membership ended */
#define PIN_NICO "517394" /* Nico, a member whose membership starts later */
#define PIN_ZERO "0123"   /* Zoe: the tail of an over-long key-by-key entry */
static const char *const more_pins[] = {PIN_MAX, PIN_NICO, NULL};

/* A report whose code, path or message contains `needle`. */
static bool reported(const struct site *s, const char *needle)
{
	for (size_t i = 0; i < s->n_reports; i++) {
		const struct seen_report *r = &s->reports[i];
		if (strstr(r->code, needle) || strstr(r->path, needle) ||
		    strstr(r->message, needle))
			return true;
	}
	return false;
}

/* ---- the database -------------------------------------------------------- */

static int rows_for(struct site *s, const char *person)
{
	return db_int(s->db_path, "SELECT count(*) FROM presence_log WHERE person_id = ?1", person);
}

/* 1: in, 0: out or never seen. */
static int is_in(struct site *s, const char *person)
{
	return db_int(s->db_path,
	              "SELECT count(*) FROM presence WHERE person_id = ?1 AND state = 'in'",
	              person);
}

/* ---- driving porter ------------------------------------------------------ */

static const char *last_code(const struct site *s)
{
	return s->n_feedback ? s->feedback[s->n_feedback - 1].code : "";
}

static int pin(struct site *s, const char *p, uint64_t *ret_id)
{
	return hook_pin(s, "front", p, strlen(p), ret_id);
}

/* ---- site lifecycle ------------------------------------------------------ */

/* Besides the cast: Max, whose membership ended a minute ago, Nico, whose
 * starts tomorrow, and Zoe, whose PIN is the tail of a too-long entry. */
static int add_more_people(const char *admin, const char *dir)
{
	char later[32], much_later[32], ended[32];
	int64_t now = (int64_t)time(NULL);
	int r = 0;

	fx_timestamp(now + 24 * 3600, later);
	fx_timestamp(now + 48 * 3600, much_later);
	fx_timestamp(now - 60, ended);
	r |= fx_add_person(admin, dir, "m-max", "member", "Max Former", PIN_MAX, NULL, ended);
	r |= fx_add_person(admin, dir, "m-nico", "member", "Nico Newcomer", PIN_NICO, later,
	                   much_later);
	r |= fx_add_person(admin, dir, "m-zoe", "member", "Zoe Zero", PIN_ZERO, NULL, NULL);
	return r;
}

/* A host whose invokes a test can hold; a cancel_row test's row is the
 * site's prestate. */
static int site_setup(void **state)
{
	return site_open(state, &(struct site_options){
	                                .people = FX_CAST,
	                                .add_people = add_more_people,
	                                .more_pins = more_pins,
	                                .echo_level = PORTER_LOG_WARNING,
	                                .holdable_invokes = true,
	                        });
}

/* Mark `person` as in before porter starts, as a previous run would have. */
static void seed_in(struct site *s, const char *person)
{
	start(s, "");
	stop(s);
	sqlite3 *db = db_open(s->db_path);
	char sql[256];

	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO presence(person_id, state, since, last_seq) "
	         "VALUES('%s', 'in', '2026-01-01T08:00:00Z', 0)",
	         person);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* ---- the cancel table (issue 5 item 4) ------------------------------------ */

enum step_kind {
	END = 0,
	PRESENT,    /* who presents; request saved in `slot`; expect rc (and code if not pending) */
	CANCEL,     /* the host gives up on `slot` */
	HOLD_DB,    /* take the database's write lock: porter's thread waits on it */
	RELEASE_DB, /* let go of it */
	HOLD,       /* hold porter's invoke() callbacks */
	WAIT_HELD,  /* wait until `slot` callbacks are held: a batch became durable */
	RUN_HELD,   /* run the held callbacks (holding goes on) */
	UNHOLD,     /* stop holding, run what was held */
	PAUSE,      /* let porter's thread take what is queued */
	SETTLE,     /* run the loop until everything is decided */
	RESULT,     /* `slot` was completed with `code` and `direction` */
	NO_RESULT,  /* `slot` was never completed */
};

struct step {
	enum step_kind kind;
	int slot;
	const char *who; /* "ana" or "ben" */
	int rc;
	const char *code;
	uint32_t direction;
};

struct cancel_row {
	const char *name;
	bool ana_in_before;
	struct step steps[24];
	bool ana_in_after; /* presence table */
	int ana_rows;      /* presence_log rows for Ana */
	int doors;         /* door unlocks, everyone */
};

#define P_ANA(slot, rc, code)                     \
	{                                         \
		PRESENT, slot, "ana", rc, code, 0 \
	}
#define P_BEN(slot)                                                   \
	{                                                             \
		PRESENT, slot, "ben", PORTER_VERDICT_PENDING, NULL, 0 \
	}
#define C(slot)                                \
	{                                      \
		CANCEL, slot, NULL, 0, NULL, 0 \
	}
#define DO(kind)                          \
	{                                 \
		kind, 0, NULL, 0, NULL, 0 \
	}
#define WAIT(n)                                \
	{                                      \
		WAIT_HELD, n, NULL, 0, NULL, 0 \
	}
#define RES(slot, code, dir)                     \
	{                                        \
		RESULT, slot, NULL, 0, code, dir \
	}
#define NORES(slot)                               \
	{                                         \
		NO_RESULT, slot, NULL, 0, NULL, 0 \
	}
#define PEND PORTER_VERDICT_PENDING
#define IN   PORTER_DIRECTION_IN
#define OUT  PORTER_DIRECTION_OUT

static const struct cancel_row cancel_rows[] = {
        {"cancel while queued: withdrawn; presenting again checks in",
         false,
         {DO(HOLD_DB), P_BEN(9), DO(PAUSE), P_ANA(1, PEND, NULL), C(1), DO(RELEASE_DB), DO(SETTLE),
          NORES(1), P_ANA(2, PEND, NULL), DO(SETTLE), RES(2, "checked_in", IN)},
         true,
         1,
         2},
        {"cancel while being written: reversed; presenting again checks in",
         false,
         {DO(HOLD_DB), P_ANA(1, PEND, NULL), DO(PAUSE), C(1), DO(RELEASE_DB), DO(SETTLE), NORES(1),
          P_ANA(2, PEND, NULL), DO(SETTLE), RES(2, "checked_in", IN)},
         true,
         3,
         1},
        {"cancel once durable: reversed; presenting again within the window checks in",
         false,
         {DO(HOLD), P_ANA(1, PEND, NULL), WAIT(1), C(1), DO(RUN_HELD), WAIT(1), DO(UNHOLD),
          DO(SETTLE), NORES(1), P_ANA(2, PEND, NULL), DO(SETTLE), RES(2, "checked_in", IN)},
         true,
         3,
         1},
        {"presenting again while the reversal is being written: busy, door shut",
         false,
         {DO(HOLD), P_ANA(1, PEND, NULL), WAIT(1), C(1), DO(RUN_HELD), WAIT(1),
          P_ANA(2, PORTER_VERDICT_DENY, "busy"), DO(UNHOLD), DO(SETTLE), P_ANA(3, PEND, NULL),
          DO(SETTLE), RES(3, "checked_in", IN)},
         true,
         3,
         1},
        {"presenting again while the reversal is queued: reversal dropped, checked in",
         false,
         {DO(HOLD), P_ANA(1, PEND, NULL), WAIT(1), C(1), DO(HOLD_DB), P_BEN(9), DO(PAUSE),
          DO(RUN_HELD), P_ANA(2, PORTER_VERDICT_GRANT, "checked_in"), DO(RELEASE_DB), DO(UNHOLD),
          DO(SETTLE), RES(9, "checked_in", IN)},
         true,
         1,
         2},
        {"a repeat cancelled: the first is completed alone",
         false,
         {DO(HOLD), P_ANA(1, PEND, NULL), P_ANA(2, PEND, NULL), C(2), DO(UNHOLD), DO(SETTLE),
          RES(1, "checked_in", IN), NORES(2)},
         true,
         1,
         1},
        {"the first cancelled, a repeat not: the repeat carries the change",
         false,
         {DO(HOLD), P_ANA(1, PEND, NULL), P_ANA(2, PEND, NULL), C(1), DO(UNHOLD), DO(SETTLE),
          NORES(1), RES(2, "checked_in", IN)},
         true,
         1,
         1},
        {"first and repeat cancelled once durable: reversed; again checks in",
         false,
         {DO(HOLD), P_ANA(1, PEND, NULL), P_ANA(2, PEND, NULL), WAIT(1), C(1), C(2), DO(UNHOLD),
          DO(SETTLE), NORES(1), NORES(2), P_ANA(3, PEND, NULL), DO(SETTLE),
          RES(3, "checked_in", IN)},
         true,
         3,
         1},
        {"first and repeat cancelled while queued: withdrawn; again checks in",
         false,
         {DO(HOLD_DB), P_BEN(9), DO(PAUSE), P_ANA(1, PEND, NULL), P_ANA(2, PEND, NULL), C(2), C(1),
          DO(RELEASE_DB), DO(SETTLE), NORES(1), NORES(2), P_ANA(3, PEND, NULL), DO(SETTLE),
          RES(3, "checked_in", IN)},
         true,
         1,
         2},
        {"cancel after completion changes nothing; again is a repeat",
         false,
         {P_ANA(1, PEND, NULL), DO(SETTLE), RES(1, "checked_in", IN), C(1),
          P_ANA(2, PORTER_VERDICT_GRANT, "already_in"), DO(SETTLE)},
         true,
         1,
         2},
        {"a check-out cancelled once durable: back in; again checks out",
         true,
         {DO(HOLD), P_ANA(1, PEND, NULL), WAIT(1), C(1), DO(UNHOLD), DO(SETTLE), NORES(1),
          P_ANA(2, PEND, NULL), DO(SETTLE), RES(2, "checked_out", OUT)},
         false,
         3,
         1},
};

static void settle(struct site *s)
{
	for (int i = 0; i < 10; i++)
		run_for(s, 30);
}

static void run_step(struct site *s, const struct step *st, uint64_t ids[10])
{
	const struct seen_result *r;

	switch (st->kind) {
	case PRESENT: {
		size_t fb = s->n_feedback;
		int rc = pin(s, strcmp(st->who, "ana") == 0 ? PIN_ANA : PIN_BEN, &ids[st->slot]);
		assert_int_equal(rc, st->rc);
		if (st->code) {
			assert_true(s->n_feedback > fb);
			assert_string_equal(last_code(s), st->code);
		}
		break;
	}
	case CANCEL:
		cancel(s, ids[st->slot]);
		break;
	case HOLD_DB:
		hold_database(s);
		break;
	case RELEASE_DB:
		release_database(s);
		break;
	case HOLD:
		hold_invokes(s, true);
		break;
	case WAIT_HELD:
		assert_true(wait_held(s, (size_t)st->slot));
		break;
	case RUN_HELD:
		run_held(s);
		break;
	case UNHOLD:
		hold_invokes(s, false);
		run_held(s);
		break;
	case PAUSE:
		usleep(100000); /* porter's thread takes what is queued and waits for the lock */
		break;
	case SETTLE:
		settle(s);
		break;
	case RESULT:
		r = wait_result(s, ids[st->slot]);
		assert_non_null(r);
		assert_string_equal(r->code, st->code);
		assert_int_equal(r->direction, st->direction);
		assert_int_equal(r->verdict, PORTER_VERDICT_GRANT);
		break;
	case NO_RESULT:
		assert_null(find_result(s, ids[st->slot]));
		break;
	case END:
		break;
	}
}

static void cancel_row(void **state)
{
	struct site *s = *state;
	const struct cancel_row *row = s->prestate;
	uint64_t ids[10] = {0};

	assert_non_null(row);
	if (row->ana_in_before)
		seed_in(s, "m-ana");
	start(s, ",\"repeat_window_ms\":3000");
	for (const struct step *st = row->steps; st->kind != END; st++)
		run_step(s, st, ids);
	settle(s);
	assert_int_equal(s->n_doors, row->doors);
	stop(s);
	assert_int_equal(is_in(s, "m-ana"), row->ana_in_after);
	assert_int_equal(rows_for(s, "m-ana"), row->ana_rows);
}

/* ---- validity windows (item 1) --------------------------------------------- */

static void a_member_outside_their_membership_is_denied_with_a_reason(void **state)
{
	struct site *s = *state;

	start(s, "");
	assert_int_equal(pin(s, PIN_MAX, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "membership_expired");
	assert_non_null(strstr(s->feedback[s->n_feedback - 1].text, "reception"));
	assert_int_equal(s->feedback[s->n_feedback - 1].led, PORTER_LED_RED);
	assert_int_equal(pin(s, PIN_NICO, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "membership_not_yet_valid");
	assert_non_null(strstr(s->feedback[s->n_feedback - 1].text, "reception"));
	run_for(s, 50);
	assert_int_equal(s->n_doors, 0);
	assert_int_equal(s->n_results, 0);
	stop(s);
	assert_int_equal(rows_for(s, "m-max"), 0);
	assert_int_equal(rows_for(s, "m-nico"), 0);
}

static void a_member_inside_whose_membership_ended_may_still_check_out(void **state)
{
	struct site *s = *state;
	uint64_t id;

	seed_in(s, "m-max");
	start(s, "");
	assert_int_equal(pin(s, PIN_MAX, &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_string_equal(r->code, "checked_out");
	assert_int_equal(r->direction, PORTER_DIRECTION_OUT);
	run_for(s, 20);
	assert_int_equal(s->n_doors, 1);
	stop(s);
	assert_int_equal(is_in(s, "m-max"), 0);
}

/* ---- direction (item 7) ------------------------------------------------------ */

static void only_the_request_that_made_a_change_carries_its_direction(void **state)
{
	struct site *s = *state;
	uint64_t first, repeat;

	start(s, "");
	hold_invokes(s, true);
	assert_int_equal(pin(s, PIN_ANA, &first), PORTER_VERDICT_PENDING);
	assert_int_equal(hook_pin(s, "side", PIN_ANA, strlen(PIN_ANA), &repeat),
	                 PORTER_VERDICT_PENDING);
	hold_invokes(s, false);
	run_held(s);
	const struct seen_result *a = wait_result(s, first), *b = wait_result(s, repeat);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->direction, PORTER_DIRECTION_IN);
	assert_string_equal(a->code, "checked_in");
	assert_int_equal(b->verdict, PORTER_VERDICT_GRANT);
	assert_int_equal(b->direction, PORTER_DIRECTION_NONE);
	assert_string_equal(b->code, "already_in");
	size_t changes = 0;
	for (size_t i = 0; i < s->n_results; i++)
		changes += s->results[i].direction != PORTER_DIRECTION_NONE;
	assert_int_equal(changes, 1);
	assert_int_equal(s->n_doors, 2); /* both readers open: she is let through either */
	stop(s);
	assert_int_equal(rows_for(s, "m-ana"), 1);
}

/* ---- the contract's sentences (item 8) --------------------------------------- */

static void init_names_a_missing_required_service(void **state)
{
	struct site *s = *state;
	static const struct {
		const char *name;
		size_t offset;
	} required[] = {
#define REQ(f) {#f, offsetof(struct porter_host_services, f)}
	        REQ(now_us),      REQ(timer_add), REQ(timer_remove), REQ(invoke),
	        REQ(door_unlock), REQ(feedback),  REQ(complete),
#undef REQ
	};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct porter_host_services sv = s->services;
		memset((char *)&sv + required[i].offset, 0, sizeof(void (*)(void)));
		s->n_reports = 0;
		s->porter = NULL;
		assert_int_equal(start_with(s, &sv, ""), -EINVAL);
		assert_null(s->porter);
		if (!reported(s, required[i].name))
			fail_msg("init did not name the missing service %s", required[i].name);
	}
}

static void log_and_fd_watches_are_optional(void **state)
{
	struct site *s = *state;
	struct porter_host_services sv = s->services;
	uint64_t id;

	sv.log = NULL;
	sv.watch_add = NULL;
	sv.watch_update = NULL;
	sv.watch_remove = NULL;
	assert_int_equal(start_with(s, &sv, ""), 0);
	assert_int_equal(pin(s, PIN_ANA, &id), PORTER_VERDICT_PENDING);
	assert_non_null(wait_result(s, id));
	assert_string_equal(find_result(s, id)->code, "checked_in");
	stop(s);
}

static void *check_config_elsewhere(void *userdata)
{
	struct site *s = userdata;
	static const char bad[] = "{\"repeat_window_ms\":\"soon\"}";

	s->loop_thread = pthread_self(); /* reports must come on this thread */
	s->in_call = true;
	int r = api->check_config(bad, strlen(bad), rec_report, s);
	s->in_call = false;
	return (void *)(intptr_t)r;
}

static void reports_arrive_on_the_callers_thread_during_the_call(void **state)
{
	struct site *s = *state;
	pthread_t t, loop_thread = s->loop_thread;
	void *r;

	assert_int_equal(pthread_create(&t, NULL, check_config_elsewhere, s), 0);
	pthread_join(t, &r);
	s->loop_thread = loop_thread;
	assert_int_equal((int)(intptr_t)r, -EINVAL);
	assert_true(s->n_reports >= 1);
	assert_false(s->report_off_thread);
	assert_false(s->report_after_call);
}

static void init_says_einval_for_a_bad_key_file_or_a_missing_directory(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 32], moved[FX_PATH_MAX + 32];

	/* A key file others can read. */
	snprintf(path, sizeof(path), "%s/pin.key", s->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(start_with(s, &s->services, ""), -EINVAL);
	assert_true(reported(s, "PORTER-KEY"));
	assert_int_equal(chmod(path, 0600), 0);
	/* No key file at all. */
	snprintf(moved, sizeof(moved), "%s/pin.key.away", s->dir);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(start_with(s, &s->services, ""), -EINVAL);
	assert_int_equal(rename(moved, path), 0);
	/* No directory file. */
	snprintf(path, sizeof(path), "%s/directory.json", s->dir);
	snprintf(moved, sizeof(moved), "%s/directory.json.away", s->dir);
	assert_int_equal(rename(path, moved), 0);
	s->n_reports = 0;
	assert_int_equal(start_with(s, &s->services, ""), -EINVAL);
	assert_true(reported(s, "PORTER-DIRECTORY"));
	assert_null(s->porter);
}

static void a_door_that_does_not_open_is_told_and_the_change_reversed(void **state)
{
	struct site *s = *state;
	uint64_t id;

	start(s, ",\"repeat_window_ms\":3000");
	s->door_result = -EIO;
	assert_int_equal(pin(s, PIN_ANA, &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_int_equal(r->verdict, PORTER_VERDICT_DENY);
	assert_int_equal(r->direction, PORTER_DIRECTION_NONE);
	assert_string_equal(r->code, "door_failed");
	settle(s);
	assert_string_equal(last_code(s), "door_failed");
	assert_non_null(strstr(s->feedback[s->n_feedback - 1].text, "reception"));
	assert_int_equal(s->n_door_failures, 1);

	/* The door works again: she was not let in, so this checks her in. */
	s->door_result = 0;
	assert_int_equal(pin(s, PIN_ANA, &id), PORTER_VERDICT_PENDING);
	r = wait_result(s, id);
	assert_non_null(r);
	assert_string_equal(r->code, "checked_in");
	assert_int_equal(r->direction, PORTER_DIRECTION_IN);

	/* A repeat answered at once, with the door failing: denied, told why. */
	s->door_result = -EIO;
	assert_int_equal(pin(s, PIN_ANA, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "door_failed");
	s->door_result = 0;
	stop(s);
	assert_int_equal(is_in(s, "m-ana"), 1);
	assert_int_equal(rows_for(s, "m-ana"), 3); /* in, reversed, in */
}

static void input_wrong_in_two_ways_gets_a_fixed_errno(void **state)
{
	struct site *s = *state;
	size_t fb;

	start(s, "");
	/* Too long and not digits: the length is judged first. */
	fb = s->n_feedback;
	assert_int_equal(hook_pin(s, "front", "1234567890x", 11, NULL), -E2BIG);
	assert_true(s->n_feedback == fb + 1);
	assert_string_equal(last_code(s), "pin_too_long");
	/* Not digits and too short: not digits. */
	assert_int_equal(hook_pin(s, "front", "1x", 2, NULL), -EINVAL);
	assert_string_equal(last_code(s), "invalid_pin");
	/* A bad reader id and a bad PIN: the reader id, and nobody to tell. */
	fb = s->n_feedback;
	assert_int_equal(hook_pin(s, "", "1234567890x", 11, NULL), -EINVAL);
	assert_int_equal(hook_pin(s, "bad\nreader", "12", 2, NULL), -EINVAL);
	assert_int_equal(s->n_feedback, fb);
	/* Too short alone is no malformed input: a deny. */
	assert_int_equal(hook_pin(s, "front", "12", 2, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "pin_too_short");
	stop(s);
}

static void the_repeat_window_counts_from_the_decision(void **state)
{
	struct site *s = *state;
	uint64_t id;

	start(s, ",\"repeat_window_ms\":300");
	hold_invokes(s, true);
	assert_int_equal(pin(s, PIN_ANA, &id), PORTER_VERDICT_PENDING);
	assert_true(wait_held(s, 1));
	usleep(400000); /* the disk was slow: the window passed before she was told */
	hold_invokes(s, false);
	run_held(s);
	assert_non_null(wait_result(s, id));
	assert_int_equal(pin(s, PIN_ANA, &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_string_equal(r->code, "checked_out");
	stop(s);
}

static void a_change_that_failed_does_not_count_for_the_repeat_window(void **state)
{
	struct site *s = *state;
	uint64_t id;

	start(s, ",\"repeat_window_ms\":3000");
	sqlite3 *db = db_open(s->db_path);
	assert_non_null(db);
	assert_int_equal(
	        sqlite3_exec(db,
	                     "CREATE TRIGGER no_ben BEFORE INSERT ON presence_log WHEN "
	                     "NEW.person_id='m-ben' BEGIN SELECT RAISE(ABORT, 'full'); END;",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
	assert_int_equal(pin(s, PIN_BEN, &id), PORTER_VERDICT_PENDING);
	assert_string_equal(wait_result(s, id)->code, "record_failed");
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER no_ben", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(pin(s, PIN_BEN, &id), PORTER_VERDICT_PENDING);
	assert_string_equal(wait_result(s, id)->code, "checked_in");
	stop(s);
}

/* ---- key by key (item 9) ------------------------------------------------------ */

static void keys_after_a_too_long_entry_belong_to_it(void **state)
{
	struct site *s = *state;
	const char *tail = "0123#";

	start(s, ",\"lockout\":{\"max_attempts\":1}");
	for (const char *k = "12345678"; *k; k++)
		assert_int_equal(hook_key(s, "front", *k, NULL), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(hook_key(s, "front", '9', NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "pin_too_long");
	size_t fb = s->n_feedback;
	/* Zoe's PIN is 0123: the tail of the refused entry must not check her in. */
	for (const char *k = tail; *k; k++)
		assert_int_equal(hook_key(s, "front", *k, NULL), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(s->n_feedback, fb);
	/* Nor may a tail count as a wrong guess (one locks this reader). */
	for (const char *k = "1234567899999#"; *k; k++)
		hook_key(s, "front", *k, NULL);
	for (const char *k = PIN_ANA; *k; k++)
		assert_int_equal(hook_key(s, "front", *k, NULL), PORTER_VERDICT_NO_OPINION);
	uint64_t id = s->last_request_id + 1;
	assert_int_equal(hook_key(s, "front", '#', NULL), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_string_equal(r->person, "m-ana");
	run_for(s, 20);
	assert_int_equal(s->n_doors, 1);
	stop(s);
	assert_int_equal(rows_for(s, "m-zoe"), 0);
}

/* ---- lockout (item 11) -------------------------------------------------------- */

static void answers_that_reveal_a_real_pin_count_towards_the_lockout(void **state)
{
	struct site *s = *state;
	const char *reader = "members";

	start(s, ",\"lockout\":{\"max_attempts\":3},"
	         "\"readers\":[{\"id\":\"members\",\"pin_holders\":\"members\"}]");
	assert_int_equal(hook_pin(s, reader, PIN_VERA, 6, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "wrong_keypad");
	assert_int_equal(hook_pin(s, reader, PIN_MAX, 6, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "membership_expired");
	assert_int_equal(hook_pin(s, reader, PIN_NICO, 6, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "locked_out"); /* the third locks the reader */
	assert_int_equal(hook_pin(s, reader, PIN_ANA, 6, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "locked_out");
	/* Another reader is not locked. */
	assert_int_equal(pin(s, PIN_OTTO, NULL), PORTER_VERDICT_DENY);
	assert_string_equal(last_code(s), "visitor_pass_expired");
	assert_int_equal(s->n_doors, 0);
	stop(s);
}

/* ---- cancel just before shutdown (item 5) -------------------------------------- */

static void a_change_cancelled_once_durable_just_before_shutdown_is_reversed(void **state)
{
	struct site *s = *state;
	uint64_t id;

	start(s, "");
	hold_invokes(s, true);
	assert_int_equal(pin(s, PIN_ANA, &id), PORTER_VERDICT_PENDING);
	assert_true(wait_held(s, 1)); /* durable, porter not told yet */
	cancel(s, id);
	stop(s);
	assert_null(find_result(s, id));
	assert_int_equal(s->n_doors, 0);
	assert_int_equal(is_in(s, "m-ana"), 0);
	assert_int_equal(rows_for(s, "m-ana"), 2);
	assert_int_equal(db_int(s->db_path,
	                        "SELECT count(*) FROM presence_log WHERE person_id = ?1 AND "
	                        "cause = 'host_cancelled' AND direction = 'out'",
	                        "m-ana"),
	                 1);
}

static void *release_later(void *db)
{
	usleep(200000);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return NULL;
}

static void a_change_cancelled_while_written_just_before_shutdown_is_reversed(void **state)
{
	struct site *s = *state;
	pthread_t t;
	uint64_t id;

	start(s, "");
	hold_database(s);
	assert_int_equal(pin(s, PIN_ANA, &id), PORTER_VERDICT_PENDING);
	usleep(100000); /* porter's thread is writing it, waiting for the lock */
	cancel(s, id);
	sqlite3 *db = s->db_lock;
	s->db_lock = NULL;
	assert_int_equal(pthread_create(&t, NULL, release_later, db), 0);
	stop(s); /* waits for the write, then reverses it */
	pthread_join(t, NULL);
	assert_null(find_result(s, id));
	assert_int_equal(s->n_doors, 0);
	assert_int_equal(is_in(s, "m-ana"), 0);
	assert_int_equal(rows_for(s, "m-ana"), 2);
}

/* ---- main ----------------------------------------------------------------------- */

#define CONTRACT(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)
#define N_ROWS      (sizeof(cancel_rows) / sizeof(cancel_rows[0]))

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	        CONTRACT(a_member_outside_their_membership_is_denied_with_a_reason),
	        CONTRACT(a_member_inside_whose_membership_ended_may_still_check_out),
	        CONTRACT(only_the_request_that_made_a_change_carries_its_direction),
	        CONTRACT(init_names_a_missing_required_service),
	        CONTRACT(log_and_fd_watches_are_optional),
	        CONTRACT(reports_arrive_on_the_callers_thread_during_the_call),
	        CONTRACT(init_says_einval_for_a_bad_key_file_or_a_missing_directory),
	        CONTRACT(a_door_that_does_not_open_is_told_and_the_change_reversed),
	        CONTRACT(input_wrong_in_two_ways_gets_a_fixed_errno),
	        CONTRACT(the_repeat_window_counts_from_the_decision),
	        CONTRACT(a_change_that_failed_does_not_count_for_the_repeat_window),
	        CONTRACT(keys_after_a_too_long_entry_belong_to_it),
	        CONTRACT(answers_that_reveal_a_real_pin_count_towards_the_lockout),
	        CONTRACT(a_change_cancelled_once_durable_just_before_shutdown_is_reversed),
	        CONTRACT(a_change_cancelled_while_written_just_before_shutdown_is_reversed),
	};
	struct CMUnitTest tests[sizeof(fixed) / sizeof(fixed[0]) + N_ROWS];
	size_t n = 0;

	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must name the built porter.so and "
		                "porter-admin (meson test sets them)\n");
		return 77;
	}
	for (size_t i = 0; i < N_ROWS; i++)
		tests[n++] = (struct CMUnitTest){
		        .name = cancel_rows[i].name,
		        .test_func = cancel_row,
		        .setup_func = site_setup,
		        .teardown_func = site_close,
		        .initial_state = (void *)&cancel_rows[i],
		};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("contract", tests, n, load_porter, unload_porter);
}
