/* SPDX-License-Identifier: MIT */
/*
 * test_webhook_reversals.c: what a receiver sees of a check-in nobody went
 * through for, with the webhook backend delivering (webhook_site.h, under
 * tests/backend/fixture.py --webhook), as porter.h's cancel() and
 * door_unlock texts and README's webhook payload promise:
 *   - cancelled before the change was recorded: the receiver never sees it;
 *   - cancelled once durable: the check-in, then its reversal (a check-out
 *     with cause "host_cancelled"), in that order, and the person is out;
 *     a check-out likewise, reversed by a check-in;
 *   - the door failed to open: the same, with cause "door_failed";
 *   - shut down with the reversal waiting behind a delivery in flight: after
 *     a restart and a drain the receiver holds both, in order.
 * And the outbox's hand-back to the loop through a host that refuses invoke
 * for a while (refusing_invoke.h): the change still arrives.
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
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "receiver_client.h"
#include "recording_host.h"
#include "refusing_invoke.h"
#include "webhook_site.h"

static int setup_holdable(void **state)
{
	return webhook_site_open(state, true);
}

/* Delivery `i` (0-based) the receiver holds: its payload's data. */
static void assert_delivery(size_t i, const char *person, const char *direction, const char *cause)
{
	json_object *d = receiver_deliveries();
	json_object *list = member(d, "deliveries");
	assert_true(json_object_array_length(list) > i);
	json_object *p = member(json_object_array_get_idx(list, i), "payload");
	json_object *data = member(p, "data");
	assert_string_equal(str(data, "person_id"), person);
	assert_string_equal(str(data, "direction"), direction);
	assert_string_equal(str(data, "cause"), cause);
	assert_string_equal(str(p, "type"), strcmp(direction, "in") == 0 ? "presence.checked_in"
	                                                                 : "presence.checked_out");
	json_object_put(d);
}

/* Ana's state in the presence table is "out", and the door takes her again
 * as a check-in. */
static void assert_ana_is_out(struct site *s)
{
	char state[8];
	int64_t seq;
	assert_true(db_presence(s->db_path, "m-ana", state, &seq));
	assert_string_equal(state, "out");
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
}

/* Ana presented with porter's invokes held: returns once her check-in is
 * durable and porter is about to tell the host (its invoke held). */
static void hold_until_durable(struct site *s, uint64_t *ret_id)
{
	int rows = count_rows(s->db_path, "m-ana");
	run_for(s, 300); /* the outbox's first read at start, not held */
	hold_invokes(s, true);
	assert_int_equal(hook_pin(s, "front", PIN_ANA, strlen(PIN_ANA), ret_id),
	                 PORTER_VERDICT_PENDING);
	assert_true(wait_held(s, 1));
	assert_int_equal(count_rows(s->db_path, "m-ana"), rows + 1);
}

static void a_change_cancelled_before_it_was_recorded_never_reaches_the_receiver(void **state)
{
	struct site *s = *state;
	uint64_t ben, ana;

	start_webhook(s, NULL, NULL);
	hold_database(s);
	assert_int_equal(hook_pin(s, "front", PIN_BEN, strlen(PIN_BEN), &ben),
	                 PORTER_VERDICT_PENDING);
	usleep(100000); /* porter's thread writes Ben's change, waiting for the lock */
	assert_int_equal(hook_pin(s, "side", PIN_ANA, strlen(PIN_ANA), &ana),
	                 PORTER_VERDICT_PENDING);
	cancel(s, ana); /* queued behind Ben's: withdrawn */
	release_database(s);
	assert_non_null(wait_result(s, ben));
	assert_true(wait_deliveries(s, 1, DRAIN_MS));
	run_for(s, 500); /* a delivery for Ana would show now */

	assert_null(find_result(s, ana));
	assert_int_equal(count_rows(s->db_path, "m-ana"), 0);
	assert_int_equal(receiver_n_deliveries(), 1);
	assert_receiver_holds_log(s, 0, false);
	assert_delivery(0, "m-ben", "in", "credential");
	stop(s);
}

static void a_change_cancelled_once_durable_reaches_the_receiver_then_its_reversal(void **state)
{
	struct site *s = *state;
	uint64_t id;

	start_webhook(s, NULL, NULL);
	hold_until_durable(s, &id);
	cancel(s, id);
	hold_invokes(s, false);
	run_held(s);
	assert_true(wait_deliveries(s, 2, DRAIN_MS));
	run_for(s, 300);

	assert_null(find_result(s, id));
	assert_int_equal(s->n_doors, 0);
	assert_receiver_holds_log(s, 0, false);
	assert_int_equal(receiver_n_deliveries(), 2);
	assert_delivery(0, "m-ana", "in", "credential");
	assert_delivery(1, "m-ana", "out", "host_cancelled");
	assert_ana_is_out(s);
	stop(s);
}

static void a_check_out_cancelled_once_durable_reaches_the_receiver_then_its_reversal(void **state)
{
	struct site *s = *state;
	uint64_t id;
	char st[8];
	int64_t seq;

	start_webhook(s, NULL, NULL);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	hold_until_durable(s, &id); /* her check-out */
	cancel(s, id);
	hold_invokes(s, false);
	run_held(s);
	assert_true(wait_deliveries(s, 3, DRAIN_MS));
	run_for(s, 300);

	assert_null(find_result(s, id));
	assert_receiver_holds_log(s, 0, false);
	assert_int_equal(receiver_n_deliveries(), 3);
	assert_delivery(1, "m-ana", "out", "credential");
	assert_delivery(2, "m-ana", "in", "host_cancelled");
	assert_true(db_presence(s->db_path, "m-ana", st, &seq));
	assert_string_equal(st, "in"); /* back in: she never went out */
	stop(s);
}

static void
a_door_that_did_not_open_reaches_the_receiver_as_a_check_in_and_its_reversal(void **state)
{
	struct site *s = *state;

	start_webhook(s, NULL, NULL);
	s->door_result = -EIO;
	assert_string_equal(present(s, "front", PIN_ANA), "door_failed");
	s->door_result = 0;
	assert_int_equal(s->n_door_failures, 1);
	assert_true(wait_deliveries(s, 2, DRAIN_MS));
	run_for(s, 300);

	assert_receiver_holds_log(s, 0, false);
	assert_int_equal(receiver_n_deliveries(), 2);
	assert_delivery(0, "m-ana", "in", "credential");
	assert_delivery(1, "m-ana", "out", "door_failed");
	assert_ana_is_out(s);
	stop(s);
}

static void a_reversal_waiting_at_shutdown_reaches_the_receiver_after_restart(void **state)
{
	struct site *s = *state;
	uint64_t id;

	/* The receiver sits on the first request 3 s before it records it. */
	receiver_fault("{\"kind\":\"slow\",\"delay\":3,\"apply_first\":false}");
	start_webhook(s, NULL, NULL);
	hold_until_durable(s, &id);
	cancel(s, id);
	hold_invokes(s, false);
	run_held(s);
	run_for(s, 500); /* the check-in sent, unanswered; its reversal behind it */
	assert_int_equal(receiver_n_deliveries(), 0);
	stop(s); /* cancels the delivery in flight */

	struct log_row rows[4];
	assert_int_equal(db_log(s->db_path, "m-ana", rows, 4), 2);
	assert_string_equal(rows[1].cause, "host_cancelled");

	start_webhook(s, NULL, NULL);
	assert_true(wait_deliveries(s, 2, DRAIN_MS));
	assert_true(wait_requests(s, 3, 5000)); /* the slow copy lands too: counted, once */
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, true);
	assert_delivery(0, "m-ana", "in", "credential");
	assert_delivery(1, "m-ana", "out", "host_cancelled");
	stop(s);
}

/* 8 refusals a path: 1 + 2 + ... + 64 ms, about a quarter of a second. */
#define REFUSALS 8

static void a_change_reaches_the_receiver_through_a_host_refusing_invoke_for_a_while(void **state)
{
	struct site *s = *state;
	static struct porter_host_services services;

	services = s->services;
	refusing_invoke_install(&services);
	char *config = webhook_config_for(s, NULL, "", "", "");
	assert_non_null(config);
	assert_int_equal(webhook_init_with(s, &services, config), 0);
	free(config);
	run_for(s, 300); /* the outbox's first read of the log, taken */

	refusing_invoke_arm(REFUSALS);
	assert_string_equal(present(s, "front", PIN_ANA), "checked_in");
	assert_true(wait_deliveries(s, 1, DRAIN_MS));
	/* The recorder's path and the outbox's, each refused and asked again. */
	assert_true(assert_refused_with_backoff(REFUSALS) >= 2);
	refusing_invoke_arm(0);
	run_for(s, 300);
	assert_receiver_holds_log(s, 0, false);
	stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_holdable, site_close)
	        T(a_change_cancelled_before_it_was_recorded_never_reaches_the_receiver),
	        T(a_change_cancelled_once_durable_reaches_the_receiver_then_its_reversal),
	        T(a_check_out_cancelled_once_durable_reaches_the_receiver_then_its_reversal),
	        T(a_door_that_did_not_open_reaches_the_receiver_as_a_check_in_and_its_reversal),
	        T(a_reversal_waiting_at_shutdown_reaches_the_receiver_after_restart),
	        T(a_change_reaches_the_receiver_through_a_host_refusing_invoke_for_a_while),
#undef T
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	int r = cmocka_run_group_tests(tests, load_porter, unload_porter);
	curl_global_cleanup();
	return r;
}
