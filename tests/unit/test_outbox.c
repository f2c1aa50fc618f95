/* SPDX-License-Identifier: MIT */
/*
 * test_outbox.c: durable presence changes reach the backend's sink in the
 * order they were recorded, each until the sink takes it; failures back off
 * with full jitter (or the backend's Retry-After), refusals become dead
 * letters, and a restart delivers exactly what was not acknowledged.
 *
 * The sink here is a scripted fake: each delivery waits until the test
 * answers it, so the test is the backend and sees every attempt.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fake_host.h"
#include "outbox.h"
#include "outbox_store.h"
#include "store.h"

struct fake_sink {
	struct delivery seen[64];
	size_t n_seen;
	bool pending;
	delivery_done_fn done;
	void *done_userdata;
	int cancelled;
	int stopped;
};

static int sink_deliver(void *impl, const struct delivery *d, delivery_done_fn done, void *ud)
{
	struct fake_sink *s = impl;
	assert_false(s->pending); /* one at a time */
	assert_true(s->n_seen < 64);
	s->seen[s->n_seen++] = *d;
	s->pending = true;
	s->done = done;
	s->done_userdata = ud;
	return 0;
}

static void sink_cancel(void *impl)
{
	struct fake_sink *s = impl;
	s->cancelled++;
	s->pending = false;
}

static void sink_stop(void *impl)
{
	((struct fake_sink *)impl)->stopped++;
}

static void answer(struct fake_sink *s, enum delivery_outcome outcome, uint64_t retry_after_us,
                   const char *reason)
{
	assert_true(s->pending);
	s->pending = false;
	struct delivery_result r = {.outcome = outcome, .retry_after_us = retry_after_us};
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	s->done(s->done_userdata, &r);
}

static int64_t fixed_wall_clock(void)
{
	return 1764093600LL * 1000000; /* 2025-11-25T18:00:00Z */
}

static uint64_t max_random(void *userdata)
{
	(void)userdata;
	return UINT64_MAX; /* the jitter's upper bound: delay == cap */
}

struct rig {
	struct fake_host host;
	struct fake_site site;
	struct fake_sink sink;
	struct outbox *outbox;
	struct outbox_options options;
};

static void record(struct rig *g, const char *person, bool in)
{
	struct store *store;
	struct store_open_report rep;
	char err[256];
	int r = store_open(g->site.database_path, &store, &rep);
	if (r < 0)
		fail_msg("store_open: %s", rep.error);
	struct store_change c = {.person_id = person,
	                         .reader_id = "front",
	                         .in = in,
	                         .at_unix_us = fixed_wall_clock(),
	                         .cause = "credential"};
	struct store_change *keyed[] = {&c};
	assert_int_equal(store_make_event_keys(keyed, 1), 0);
	const struct store_change *list[] = {&c};
	if (store_record(store, list, 1, err, sizeof(err)) < 0)
		fail_msg("store_record: %s", err);
	store_close(store);
}

static void start(struct rig *g)
{
	struct backend b = {.name = "fake",
	                    .impl = &g->sink,
	                    .deliver = sink_deliver,
	                    .cancel = sink_cancel,
	                    .stop = sink_stop};
	char err[256];
	g->options = (struct outbox_options){.database_path = g->site.database_path,
	                                     .retry_first_us = 1000000,
	                                     .retry_max_us = 8000000,
	                                     .wall_clock_us = fixed_wall_clock,
	                                     .random = max_random};
	if (outbox_start(&g->host.services, &g->options, &b, &g->outbox, err, sizeof(err)) < 0)
		fail_msg("outbox_start: %s", err);
	outbox_begin(g->outbox);
}

/* Run the outbox thread's answers until the sink has a delivery waiting. */
static void pump(struct rig *g)
{
	for (int i = 0; i < 50 && !g->sink.pending; i++)
		if (!fake_host_run_next_invokes(&g->host))
			break;
}

static struct rig *rig_new(void)
{
	struct rig *g = calloc(1, sizeof(*g));
	fake_host_init(&g->host);
	fake_site_create(&g->site, NULL, 0, "");
	/* store_open makes the database; the outbox finds it empty. */
	struct store *store;
	struct store_open_report rep;
	assert_int_equal(store_open(g->site.database_path, &store, &rep), 0);
	store_close(store);
	return g;
}

static void rig_free(struct rig *g)
{
	g->outbox = outbox_stop(g->outbox);
	fake_site_destroy(&g->site);
	fake_host_destroy(&g->host);
	free(g);
}

static void restart(struct rig *g)
{
	g->outbox = outbox_stop(g->outbox);
	memset(&g->sink, 0, sizeof(g->sink));
	start(g);
}

static void changes_arrive_in_order_once_and_survive_a_restart(void **state)
{
	struct rig *g = rig_new();
	start(g);
	record(g, "m-1", true);
	record(g, "m-2", true);
	record(g, "m-1", false);
	outbox_recorded(g->outbox);
	pump(g);
	const char *want[][2] = {{"m-1", "in"}, {"m-2", "in"}, {"m-1", "out"}};
	for (size_t i = 0; i < 3; i++) {
		assert_true(g->sink.pending);
		assert_string_equal(g->sink.seen[i].person_id, want[i][0]);
		assert_int_equal(g->sink.seen[i].in, strcmp(want[i][1], "in") == 0);
		assert_int_equal(g->sink.seen[i].at_unix_us, fixed_wall_clock());
		assert_int_equal(strlen(g->sink.seen[i].event_key), 36);
		answer(&g->sink, DELIVERY_DELIVERED, 0, NULL);
		pump(g);
	}
	assert_false(g->sink.pending);
	assert_int_equal(g->sink.n_seen, 3);
	struct outbox_status st;
	outbox_status(g->outbox, &st);
	assert_int_equal(st.backlog, 0);

	/* Nothing is delivered twice after a restart; a new change is. */
	restart(g);
	pump(g);
	assert_int_equal(g->sink.n_seen, 0);
	record(g, "m-2", false);
	outbox_recorded(g->outbox);
	pump(g);
	assert_int_equal(g->sink.n_seen, 1);
	assert_string_equal(g->sink.seen[0].person_id, "m-2");
	rig_free(g);
}

static void history_before_the_backend_is_not_sent(void **state)
{
	struct rig *g = rig_new();
	record(g, "m-old", true);
	start(g);
	pump(g);
	assert_int_equal(g->sink.n_seen, 0);
	record(g, "m-new", true);
	outbox_recorded(g->outbox);
	pump(g);
	assert_int_equal(g->sink.n_seen, 1);
	assert_string_equal(g->sink.seen[0].person_id, "m-new");
	rig_free(g);
}

static void an_unacknowledged_delivery_is_sent_again_after_a_restart(void **state)
{
	struct rig *g = rig_new();
	start(g);
	record(g, "m-1", true);
	record(g, "m-2", true);
	outbox_recorded(g->outbox);
	pump(g);
	answer(&g->sink, DELIVERY_DELIVERED, 0, NULL);
	pump(g);
	assert_true(g->sink.pending); /* m-2 in flight at shutdown */
	char key[37];
	memcpy(key, g->sink.seen[1].event_key, sizeof(key));
	g->outbox = outbox_stop(g->outbox);
	assert_int_equal(g->sink.cancelled, 1);
	assert_int_equal(g->sink.stopped, 1);
	memset(&g->sink, 0, sizeof(g->sink));
	start(g);
	pump(g);
	assert_int_equal(g->sink.n_seen, 1);
	assert_string_equal(g->sink.seen[0].person_id, "m-2");
	assert_string_equal(g->sink.seen[0].event_key, key); /* same idempotency key */
	rig_free(g);
}

static void failures_back_off_with_jitter_and_honour_retry_after(void **state)
{
	struct rig *g = rig_new();
	start(g);
	record(g, "m-1", true);
	outbox_recorded(g->outbox);
	pump(g);
	/* The jitter draws its maximum here, so the delay is the cap:
	 * 1 s, 2 s, 4 s, 8 s, 8 s. One microsecond early is too early. */
	uint64_t caps[] = {1000000, 2000000, 4000000, 8000000, 8000000};
	for (size_t i = 0; i < 5; i++) {
		answer(&g->sink, DELIVERY_RETRY, 0, "HTTP 503");
		fake_host_advance(&g->host, caps[i] - 1);
		assert_false(g->sink.pending);
		fake_host_advance(&g->host, 1);
		assert_true(g->sink.pending);
	}
	struct outbox_status st;
	outbox_status(g->outbox, &st);
	assert_int_equal(st.attempts, 5);
	assert_int_equal(st.failing_since_unix_us, fixed_wall_clock());
	assert_int_equal(outbox_diagnostics(g->outbox, NULL, NULL), 1); /* PORTER-D005 */
	assert_true(fake_host_logged(&g->host, "HTTP 503"));

	/* A Retry-After longer than the backoff wins. */
	answer(&g->sink, DELIVERY_RETRY, 30000000, "HTTP 409 rate limited");
	fake_host_advance(&g->host, 29999999);
	assert_false(g->sink.pending);
	fake_host_advance(&g->host, 1);
	assert_true(g->sink.pending);
	assert_int_equal(g->sink.n_seen, 7);
	for (size_t i = 1; i < 7; i++)
		assert_string_equal(g->sink.seen[i].event_key, g->sink.seen[0].event_key);

	answer(&g->sink, DELIVERY_DELIVERED, 0, NULL);
	outbox_status(g->outbox, &st);
	assert_int_equal(st.failing_since_unix_us, 0);
	assert_int_equal(outbox_diagnostics(g->outbox, NULL, NULL), 0);
	rig_free(g);
}

static int count_rows(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

struct diag_seen {
	char codes[4][16];
	size_t n;
};

static void collect(void *userdata, const struct porter_report *r)
{
	struct diag_seen *d = userdata;
	snprintf(d->codes[d->n++], 16, "%s", r->code);
}

static void a_refusal_becomes_a_dead_letter_and_delivery_goes_on(void **state)
{
	struct rig *g = rig_new();
	start(g);
	record(g, "m-unknown", true);
	record(g, "m-2", true);
	outbox_recorded(g->outbox);
	pump(g);
	answer(&g->sink, DELIVERY_REJECTED, 0, "CoworkerId: no such coworker");
	pump(g);
	assert_true(g->sink.pending);
	assert_string_equal(g->sink.seen[1].person_id, "m-2");
	answer(&g->sink, DELIVERY_DELIVERED, 0, NULL);
	struct diag_seen d = {0};
	assert_int_equal(outbox_diagnostics(g->outbox, collect, &d), 1);
	assert_string_equal(d.codes[0], "PORTER-D006");
	assert_true(fake_host_logged(&g->host, "CoworkerId: no such coworker"));

	/* The dead letter is on disk with its reason, and survives a restart. */
	restart(g);
	assert_int_equal(count_rows(g->site.database_path,
	                            "SELECT count(*) FROM dead_letters WHERE reason = "
	                            "'CoworkerId: no such coworker' AND backend = 'fake'"),
	                 1);
	struct outbox_status st;
	outbox_status(g->outbox, &st);
	assert_int_equal(st.dead, 1);
	assert_int_equal(st.backlog, 0);
	pump(g);
	assert_int_equal(g->sink.n_seen, 0);
	rig_free(g);
}

static void the_backlog_cap_is_reported_full(void **state)
{
	struct rig *g = rig_new();
	g->options.max_backlog = 0;
	start(g);
	g->outbox = outbox_stop(g->outbox);
	/* Restart with a cap of 2 and three changes waiting. */
	record(g, "m-1", true);
	record(g, "m-2", true);
	struct backend b = {.name = "fake", .impl = &g->sink, .deliver = sink_deliver};
	char err[256];
	struct outbox_options o = {.database_path = g->site.database_path,
	                           .max_backlog = 2,
	                           .retry_first_us = 1000,
	                           .retry_max_us = 1000,
	                           .wall_clock_us = fixed_wall_clock};
	memset(&g->sink, 0, sizeof(g->sink));
	assert_int_equal(outbox_start(&g->host.services, &o, &b, &g->outbox, err, sizeof(err)), 0);
	assert_true(outbox_full(g->outbox));
	outbox_begin(g->outbox);
	pump(g);
	answer(&g->sink, DELIVERY_DELIVERED, 0, NULL);
	assert_false(outbox_full(g->outbox));
	pump(g);
	answer(&g->sink, DELIVERY_DELIVERED, 0, NULL);
	rig_free(g);
}

/* outbox_stop() cannot take back a deliver_loaded the thread already handed
 * to invoke(); a host that still runs it after the stop (porter.h only
 * promises it is dropped once shutdown() returns) must find it harmless,
 * not a freed outbox (ASan/valgrind see the difference). */
static void a_callback_queued_before_stop_runs_harmlessly_after(void **state)
{
	(void)state;
	struct rig *g = rig_new();
	start(g); /* begin asks the thread to read: it invokes with the rows */
	assert_true(fake_host_wait_queued(&g->host));
	g->outbox = outbox_stop(g->outbox);
	assert_true(fake_host_run_next_invokes(&g->host));
	assert_int_equal(g->sink.n_seen, 0);
	rig_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(changes_arrive_in_order_once_and_survive_a_restart),
	        cmocka_unit_test(history_before_the_backend_is_not_sent),
	        cmocka_unit_test(an_unacknowledged_delivery_is_sent_again_after_a_restart),
	        cmocka_unit_test(failures_back_off_with_jitter_and_honour_retry_after),
	        cmocka_unit_test(a_refusal_becomes_a_dead_letter_and_delivery_goes_on),
	        cmocka_unit_test(the_backlog_cap_is_reported_full),
	        cmocka_unit_test(a_callback_queued_before_stop_runs_harmlessly_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
