/* SPDX-License-Identifier: MIT */
/*
 * test_credential_reversals.c: porter.h's cancel(), door_unlock and
 * shutdown() promises, tested for PINs in test_contract.c and
 * test_journeys.c, held for the other credentials a host hands porter:
 *   - a visitor code at a QR scanner (on_qr),
 *   - a signed visitor pass, reusable and single-use (on_qr),
 *   - a member's phone token (on_ble).
 * For each: cancelled before the change was written (withdrawn, nothing
 * recorded, the next presentation checks in), cancelled once durable
 * (reversed with cause "host_cancelled"), the door failing (DENY
 * "door_failed", reversed with cause "door_failed"), shutdown with the
 * request pending (completed; after a restart the record says what the
 * person was told), and the door failing or a cancel just before shutdown
 * (reversed by shutdown; after a restart the person checks in again).
 *
 * A single-use pass whose check-in is reversed is given back in the
 * reversal's own transaction (the visitor was not let in): they check in
 * with the same pass, in the same run and after a restart. A phone's token
 * stays used when its change is reversed (README "Used once"): the phone's
 * next token checks in.
 *
 * The site is made by the real porter-admin: Ana (a member with a BLE key),
 * Ben (a member, for a change that holds the recorder), Vera (a visitor for
 * passes), Quinn (a visitor with a visitor code), and the site's pass keys.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "recording_host.h"

#define QUINN_CODE "QV-3M8R2TW7" /* v-quinn's visitor code: a secret like a PIN */

enum credential { VISITOR_CODE, PASS, SINGLE_USE_PASS, PHONE };

static const char *const credential_names[] = {"visitor code", "visitor pass",
                                               "single-use visitor pass", "phone"};

/* Passes issued in a test, to look for in every log line and display. */
static char issued[4][600];
static const char *secrets[8] = {QUINN_CODE, NULL};

/* Near needs 3 adverts at -50 dBm within 2 s; 1 s of cooldown; a phone up
 * to 3 steps off still counts, so the tokens a test uses (now and the next
 * steps) are all fresh however the test straddles a step. */
#define SITE_CONFIG                                                                          \
	",\"qr\":{\"repeat_ms\":0},\"repeat_window_ms\":3000,\"ble\":{\"rssi_min_dbm\":-50," \
	"\"samples\":3,\"window_ms\":2000,\"cooldown_ms\":1000,\"drift_steps\":3}"

/* v-quinn with a visitor code, the site's pass keys, and Ana's BLE key. */
static int add_quinn_keys_and_phone(const char *admin, const char *dir)
{
	char out[4096];
	int r = fx_add_visitor_with_code(admin, dir, "v-quinn", "Quinn Visitor", "551177",
	                                 QUINN_CODE);
	if (r == 0)
		r = fx_pass_keygen(admin, dir, "pass");
	if (r == 0) {
		char directory[FX_PATH_MAX + 32], key[FX_PATH_MAX + 16];
		snprintf(directory, sizeof(directory), "%s/directory.json", dir);
		snprintf(key, sizeof(key), "%s/pin.key", dir);
		r = fx_admin(out, sizeof(out), "ble", "key", "m-ana", "--directory", directory,
		             "--key", key, (char *)NULL);
	}
	explicit_bzero(out, sizeof(out)); /* m-ana's phone key */
	return r;
}

static int site_setup(void **state)
{
	memset(issued, 0, sizeof(issued));
	secrets[1] = NULL;
	return site_open(state, &(struct site_options){
	                                .people = FX_ANA | FX_BEN | FX_VERA,
	                                .add_people = add_quinn_keys_and_phone,
	                                .more_pins = secrets,
	                                .echo_level = PORTER_LOG_ERROR,
	                                .holdable_invokes = true,
	                        });
}

static void start_site(struct site *s)
{
	char extra[8192];
	snprintf(extra, sizeof(extra), ",\"visitor_pass\":{\"public_keys\":[\"%s/pass.pub\"]}%s",
	         s->dir, SITE_CONFIG);
	start(s, extra);
}

/* ---- the person at the reader ----------------------------------------------- */

struct visitor {
	enum credential credential;
	const char *person_id;
	const char *pass;    /* PASS, SINGLE_USE_PASS */
	int64_t token_time;  /* PHONE: the unix time its token is made for */
	uint8_t payload[12]; /* PHONE: the token it advertises */
	const char *address; /* PHONE: rotates with each token */
	const char *reader;  /* PHONE: where it is held; NULL: "lobby" */
	unsigned n_tokens;
};

/* `porter-admin pass issue` for Vera, valid from a minute ago for an hour. */
static const char *issue(struct site *s, bool single_use)
{
	char cmd[8192], t0[32], t1[32];
	int64_t now = (int64_t)time(NULL);
	fx_timestamp(now - 60, t0);
	fx_timestamp(now + 3600, t1);
	snprintf(cmd, sizeof(cmd),
	         "'%s' pass issue --key '%s/pass.key' --visitor v-vera --valid-from %s "
	         "--valid-until %s%s",
	         fx_env("PORTER_ADMIN"), s->dir, t0, t1, single_use ? " --single-use" : "");
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *out = issued[0];
	assert_non_null(fgets(out, sizeof(issued[0]), p));
	assert_int_equal(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
	secrets[1] = out;
	secrets[2] = NULL;
	return out;
}

/* The 12-byte payload Ana's phone advertises at unix time `t`. */
static void token_at(struct site *s, int64_t t, uint8_t ret[12])
{
	char cmd[3 * FX_PATH_MAX], hex[64] = "";
	unsigned long long counter;
	snprintf(cmd, sizeof(cmd),
	         "'%s' ble token m-ana --directory '%s/directory.json' --key '%s/pin.key' "
	         "--time %lld",
	         fx_env("PORTER_ADMIN"), s->dir, s->dir, (long long)t);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "counter %llu payload %24s", &counter, hex), 2);
	assert_int_equal(pclose(p), 0);
	for (int i = 0; i < 12; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		ret[i] = (uint8_t)v;
	}
}

static const char *const addresses[] = {"11:22:33:44:55:66", "22:33:44:55:66:77",
                                        "33:44:55:66:77:88", "44:55:66:77:88:99"};

static struct visitor visitor_for(struct site *s, enum credential c)
{
	struct visitor v = {.credential = c};
	switch (c) {
	case VISITOR_CODE:
		v.person_id = "v-quinn";
		break;
	case PASS:
	case SINGLE_USE_PASS:
		v.person_id = "v-vera";
		v.pass = issue(s, c == SINGLE_USE_PASS);
		break;
	case PHONE:
		v.person_id = "m-ana";
		v.token_time = (int64_t)time(NULL) - 30; /* a step behind: room for three more */
		v.address = addresses[0];
		token_at(s, v.token_time, v.payload);
		break;
	}
	return v;
}

static int scan(struct site *s, const char *data, uint64_t *ret_id)
{
	struct porter_qr_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = "lobby",
	        .data = (const uint8_t *)data,
	        .data_len = strlen(data),
	};
	s->in_hook = true;
	int r = api->on_qr(s->porter, &ev);
	s->in_hook = false;
	*ret_id = ev.request_id;
	return r;
}

static int advert(struct site *s, const struct visitor *v, uint64_t *ret_id)
{
	struct porter_ble_event ev = {
	        .size = sizeof(ev),
	        .rssi_dbm = -40,
	        .request_id = ++s->last_request_id,
	        .reader_id = v->reader ? v->reader : "lobby",
	        .address = v->address,
	        .company_id = 0xFFFF,
	        .tx_power_dbm = INT32_MIN,
	        .manufacturer_data = v->payload,
	        .manufacturer_data_len = sizeof(v->payload),
	};
	s->in_hook = true;
	int r = api->on_ble(s->porter, &ev);
	s->in_hook = false;
	*ret_id = ev.request_id;
	return r;
}

/* The person presents their credential once at "lobby" (a phone: held next
 * to the reader until it is decided). Returns what the hook returned. */
static int present(struct site *s, const struct visitor *v, uint64_t *ret_id)
{
	if (v->credential == VISITOR_CODE)
		return scan(s, QUINN_CODE, ret_id);
	if (v->credential != PHONE)
		return scan(s, v->pass, ret_id);
	int r = PORTER_VERDICT_NO_OPINION;
	for (int i = 0; i < 6 && r == PORTER_VERDICT_NO_OPINION; i++) {
		if (i)
			run_for(s, 100);
		r = advert(s, v, ret_id);
	}
	return r;
}

/* Ready to present again: a phone waits out its cooldown and advertises its
 * next token (the last one stays used, README "Used once"), from a new
 * address. A QR credential is the same code again. */
static void step_on(struct site *s, struct visitor *v)
{
	if (v->credential != PHONE)
		return;
	run_for(s, 1100);
	v->token_time += 30;
	v->address = addresses[++v->n_tokens % 4];
	token_at(s, v->token_time, v->payload);
}

/* Present and wait for the decision: the completion's code. */
static const char *present_and_wait(struct site *s, const struct visitor *v,
                                    uint32_t *ret_direction)
{
	uint64_t id;
	assert_int_equal(present(s, v, &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_string_equal(r->person, v->person_id);
	if (ret_direction)
		*ret_direction = r->direction;
	return r->code;
}

/* Presenting again checks the person in, with the door open. */
static void assert_checks_in(struct site *s, struct visitor *v)
{
	size_t doors = s->n_doors;
	uint32_t direction;
	step_on(s, v);
	assert_string_equal(present_and_wait(s, v, &direction), "checked_in");
	assert_int_equal(direction, PORTER_DIRECTION_IN);
	assert_int_equal(s->n_doors, doors + 1);
}

/* ---- the record ------------------------------------------------------------------- */

static bool is_in(struct site *s, const char *person)
{
	return db_int(s->db_path,
	              "SELECT count(*) FROM presence WHERE person_id = ?1 AND state = 'in'",
	              person) == 1;
}

static int pass_uses(struct site *s)
{
	return db_int(s->db_path, "SELECT count(*) FROM visitor_pass_uses WHERE person_id = ?1",
	              "v-vera");
}

/* The person's presence_log is exactly the check-in and its reversal. */
static void assert_reversed(struct site *s, const struct visitor *v, const char *cause)
{
	struct log_row rows[8];
	size_t n = db_log(s->db_path, v->person_id, rows, 8);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].direction, "in");
	assert_string_equal(rows[0].cause, "credential");
	assert_string_equal(rows[1].direction, "out");
	assert_string_equal(rows[1].cause, cause);
	assert_false(is_in(s, v->person_id));
	if (v->credential == SINGLE_USE_PASS)
		assert_int_equal(pass_uses(s), 0); /* given back with the reversal */
}

static void settle(struct site *s)
{
	for (int i = 0; i < 10; i++)
		run_for(s, 30);
}

/* ---- the scenarios ---------------------------------------------------------------- */

/* Cancelled while queued behind Ben's change: withdrawn, never written. */
static void cancel_before_durable(struct site *s, struct visitor *v)
{
	uint64_t ben, id;
	start_site(s);
	hold_database(s);
	assert_int_equal(hook_pin(s, "front", PIN_BEN, strlen(PIN_BEN), &ben),
	                 PORTER_VERDICT_PENDING);
	usleep(100000); /* porter's thread writes Ben's change, waiting for the lock */
	assert_int_equal(present(s, v, &id), PORTER_VERDICT_PENDING);
	cancel(s, id);
	release_database(s);
	assert_non_null(wait_result(s, ben));
	settle(s);

	assert_null(find_result(s, id));
	assert_int_equal(s->n_doors, 1); /* Ben's */
	assert_int_equal(count_rows(s->db_path, v->person_id), 0);
	assert_false(is_in(s, v->person_id));
	if (v->credential == SINGLE_USE_PASS)
		assert_int_equal(pass_uses(s), 0);
	assert_checks_in(s, v); /* within the repeat window: the withdrawn change never counted */
	stop(s);
	assert_int_equal(count_rows(s->db_path, v->person_id), 1);
	assert_true(is_in(s, v->person_id));
}

/* Cancelled once durable, before porter told the host: reversed. */
static void cancel_once_durable(struct site *s, struct visitor *v)
{
	uint64_t id;
	start_site(s);
	hold_invokes(s, true);
	assert_int_equal(present(s, v, &id), PORTER_VERDICT_PENDING);
	assert_true(wait_held(s, 1)); /* durable, porter not told yet */
	if (v->credential == SINGLE_USE_PASS)
		assert_int_equal(pass_uses(s), 1);
	cancel(s, id);
	hold_invokes(s, false);
	run_held(s);
	settle(s);

	assert_null(find_result(s, id));
	assert_int_equal(s->n_doors, 0);
	assert_reversed(s, v, "host_cancelled");
	assert_checks_in(s, v); /* a single-use pass too: it was given back */
	stop(s);
	assert_true(is_in(s, v->person_id));
	assert_int_equal(count_rows(s->db_path, v->person_id), 3);
	if (v->credential == SINGLE_USE_PASS)
		assert_int_equal(pass_uses(s), 1);
}

/* door_unlock fails: DENY "door_failed" once the reversal is durable. */
static void door_fails(struct site *s, struct visitor *v)
{
	uint64_t id;
	start_site(s);
	s->door_result = -EIO;
	assert_int_equal(present(s, v, &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_int_equal(r->verdict, PORTER_VERDICT_DENY);
	assert_int_equal(r->direction, PORTER_DIRECTION_NONE);
	assert_string_equal(r->code, "door_failed");
	assert_string_equal(r->person, v->person_id);
	settle(s);
	assert_string_equal(s->feedback[s->n_feedback - 1].code, "door_failed");
	assert_non_null(strstr(s->feedback[s->n_feedback - 1].text, "reception"));
	assert_int_equal(s->n_door_failures, 1);
	assert_reversed(s, v, "door_failed");

	/* The door works again, after a restart: not let in, so this checks in. */
	s->door_result = 0;
	stop(s);
	start_site(s);
	assert_checks_in(s, v);
	stop(s);
	assert_true(is_in(s, v->person_id));
}

/* Shut down with the request pending: porter writes it and grants it, door
 * and all; after a restart the person is in, and presenting checks out. */
static void shutdown_pending(struct site *s, struct visitor *v)
{
	uint64_t id;
	start_site(s);
	assert_int_equal(present(s, v, &id), PORTER_VERDICT_PENDING);
	stop(s);

	const struct seen_result *r = find_result(s, id);
	assert_non_null(r);
	assert_int_equal(s->n_results, 1);
	assert_int_equal(r->verdict, PORTER_VERDICT_GRANT);
	assert_string_equal(r->code, "checked_in");
	assert_int_equal(r->direction, PORTER_DIRECTION_IN);
	assert_int_equal(s->n_doors, 1);
	assert_true(is_in(s, v->person_id));
	if (v->credential == SINGLE_USE_PASS)
		assert_int_equal(pass_uses(s), 1);

	start_site(s);
	step_on(s, v);
	uint32_t direction;
	assert_string_equal(present_and_wait(s, v, &direction), "checked_out");
	assert_int_equal(direction, PORTER_DIRECTION_OUT);
	if (v->credential == SINGLE_USE_PASS) { /* out, with the pass used: refused */
		uint64_t again;
		assert_int_equal(present(s, v, &again), PORTER_VERDICT_DENY);
		assert_string_equal(s->feedback[s->n_feedback - 1].code, "visitor_pass_used");
	}
	stop(s);
	assert_false(is_in(s, v->person_id));
}

/* Shut down with the request pending and the door failing: shutdown records
 * the reversal before it returns; after a restart the person checks in. */
static void shutdown_pending_door_fails(struct site *s, struct visitor *v)
{
	uint64_t id;
	start_site(s);
	s->door_result = -EIO;
	assert_int_equal(present(s, v, &id), PORTER_VERDICT_PENDING);
	stop(s);

	const struct seen_result *r = find_result(s, id);
	assert_non_null(r);
	assert_int_equal(r->verdict, PORTER_VERDICT_DENY);
	assert_string_equal(r->code, "door_failed");
	assert_int_equal(r->direction, PORTER_DIRECTION_NONE);
	assert_int_equal(s->n_doors, 0);
	assert_reversed(s, v, "door_failed");

	s->door_result = 0;
	start_site(s);
	assert_checks_in(s, v);
	stop(s);
}

/* Cancelled once durable, and shutdown at once: shutdown writes the
 * reversal; after a restart the person checks in. */
static void cancel_just_before_shutdown(struct site *s, struct visitor *v)
{
	uint64_t id;
	start_site(s);
	hold_invokes(s, true);
	assert_int_equal(present(s, v, &id), PORTER_VERDICT_PENDING);
	assert_true(wait_held(s, 1));
	cancel(s, id);
	stop(s);

	assert_null(find_result(s, id));
	assert_int_equal(s->n_doors, 0);
	assert_reversed(s, v, "host_cancelled");

	start_site(s);
	assert_checks_in(s, v);
	stop(s);
	assert_true(is_in(s, v->person_id));
}

/* ---- the phone's token after a reversal (README "Used once") ---------------------- */

static void a_phones_token_stays_used_when_its_change_is_reversed(void **state)
{
	struct site *s = *state;
	struct visitor v = visitor_for(s, PHONE);
	uint64_t id;
	start_site(s);
	hold_invokes(s, true);
	assert_int_equal(present(s, &v, &id), PORTER_VERDICT_PENDING);
	assert_true(wait_held(s, 1));
	cancel(s, id);
	hold_invokes(s, false);
	run_held(s);
	settle(s);
	assert_reversed(s, &v, "host_cancelled");
	int64_t used = db_int(s->db_path, "SELECT counter FROM ble_consumed WHERE person_id = ?1",
	                      "m-ana");
	assert_int_equal(used, v.token_time / 30);

	/* The same token after the cooldown, from another address at another
	 * reader (at one reader a token is heard once a run): refused, silently,
	 * in this run and after a restart. */
	size_t feedback = s->n_feedback;
	run_for(s, 1100);
	v.address = addresses[3];
	v.reader = "garage";
	assert_int_equal(present(s, &v, &id), PORTER_VERDICT_DENY);
	assert_true(logged(s, PORTER_LOG_NOTICE, "already used") >= 0);
	stop(s);
	start_site(s);
	v.reader = NULL;
	assert_int_equal(present(s, &v, &id), PORTER_VERDICT_DENY);
	assert_int_equal(s->n_feedback, feedback);
	assert_int_equal(count_rows(s->db_path, "m-ana"), 2);

	assert_checks_in(s, &v); /* the phone's next token */
	stop(s);
}

/* ---- a single-use pass presented while its reversal waits ------------------------- */

/* The check-in is reversed (cancelled once durable), and the visitor scans
 * the pass again while the reversal still waits behind Ben's change: the
 * reversal is dropped and the check-in stands, as for a PIN (test_contract
 * "presenting again while the reversal is queued"), not "visitor_pass_used". */
static void a_single_use_pass_presented_while_its_reversal_is_queued_is_let_in(void **state)
{
	struct site *s = *state;
	struct visitor v = visitor_for(s, SINGLE_USE_PASS);
	uint64_t id, ben, again;
	start_site(s);
	hold_invokes(s, true);
	assert_int_equal(present(s, &v, &id), PORTER_VERDICT_PENDING);
	assert_true(wait_held(s, 1));
	cancel(s, id);
	hold_database(s);
	assert_int_equal(hook_pin(s, "front", PIN_BEN, strlen(PIN_BEN), &ben),
	                 PORTER_VERDICT_PENDING);
	usleep(100000); /* porter's thread writes Ben's change, waiting for the lock */
	run_held(s);    /* Vera's reversal is queued behind it */
	assert_int_equal(present(s, &v, &again), PORTER_VERDICT_GRANT);
	assert_string_equal(s->feedback[s->n_feedback - 1].code, "checked_in");
	release_database(s);
	hold_invokes(s, false);
	run_held(s);
	assert_non_null(wait_result(s, ben));
	settle(s);
	stop(s);

	assert_null(find_result(s, id));
	assert_int_equal(count_rows(s->db_path, "v-vera"), 1);
	assert_true(is_in(s, "v-vera"));
	assert_int_equal(pass_uses(s), 1);
}

/* ---- the table ------------------------------------------------------------------ */

struct row {
	char name[96];
	void (*scenario)(struct site *s, struct visitor *v);
	enum credential credential;
};

static void run_row(void **state)
{
	struct site *s = *state;
	const struct row *row = s->prestate;
	assert_non_null(row);
	struct visitor v = visitor_for(s, row->credential);
	row->scenario(s, &v);
}

static const struct {
	const char *name;
	void (*scenario)(struct site *s, struct visitor *v);
} scenarios[] = {
        {"cancelled before it is written: withdrawn, then checks in", cancel_before_durable},
        {"cancelled once durable: reversed, then checks in", cancel_once_durable},
        {"the door fails: door_failed, reversed, checks in after a restart", door_fails},
        {"shutdown with it pending: granted, recorded, checks out after a restart",
         shutdown_pending},
        {"shutdown with it pending and the door failing: reversed, checks in after a restart",
         shutdown_pending_door_fails},
        {"cancelled just before shutdown: reversed, checks in after a restart",
         cancel_just_before_shutdown},
};

#define N_SCENARIOS   (sizeof(scenarios) / sizeof(scenarios[0]))
#define N_CREDENTIALS 4

int main(void)
{
	static struct row rows[N_SCENARIOS * N_CREDENTIALS];
	struct CMUnitTest tests[N_SCENARIOS * N_CREDENTIALS + 2];
	size_t n = 0;

	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must name the built porter.so and "
		                "porter-admin (meson test sets them)\n");
		return 77;
	}
	for (size_t c = 0; c < N_CREDENTIALS; c++) {
		for (size_t i = 0; i < N_SCENARIOS; i++) {
			struct row *row = &rows[n];
			snprintf(row->name, sizeof(row->name), "%s: %s", credential_names[c],
			         scenarios[i].name);
			row->scenario = scenarios[i].scenario;
			row->credential = (enum credential)c;
			tests[n++] = (struct CMUnitTest){
			        .name = row->name,
			        .test_func = run_row,
			        .setup_func = site_setup,
			        .teardown_func = site_close,
			        .initial_state = row,
			};
		}
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
	        a_phones_token_stays_used_when_its_change_is_reversed, site_setup, site_close);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
	        a_single_use_pass_presented_while_its_reversal_is_queued_is_let_in, site_setup,
	        site_close);
	return _cmocka_run_group_tests("credential_reversals", tests, n, load_porter,
	                               unload_porter);
}
