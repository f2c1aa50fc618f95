/* SPDX-License-Identifier: MIT */
/*
 * test_recorder.c: the recorder thread hands every decided change back to
 * the loop thread, even when the host's invoke refuses for a while (its
 * queue was full): it retries with a bounded backoff, without waiting for
 * another change to come along, and at the latest delivers at stop.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_host.h"
#include "plugin.h"
#include "keypad.h"
#include "recorder.h"
#include "store.h"

/* ---- a host whose invoke fails the first `failures` times ---------------- */

struct flaky_host {
	struct porter_host_services services;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int failures; /* invokes still to refuse; <0: refuse forever */
	int attempts; /* invokes asked for */
	porter_invoke_fn queued_cb[64];
	void *queued_data[64];
	int n_queued;
	/* what the recorder delivered */
	struct recorder_item *done[64];
	int n_done;
};

static int flaky_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	struct flaky_host *h = host;
	int r = 0;
	pthread_mutex_lock(&h->lock);
	h->attempts++;
	if (h->failures != 0) {
		if (h->failures > 0)
			h->failures--;
		r = -EAGAIN;
	} else {
		h->queued_cb[h->n_queued] = cb;
		h->queued_data[h->n_queued++] = userdata;
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return r;
}

static void on_done(void *userdata, struct recorder_item *item, const char *error)
{
	struct flaky_host *h = userdata;
	h->done[h->n_done++] = item;
}

/* The loop thread: run what was invoked until `n` items were delivered or
 * `ms` passed. Nothing else happens meanwhile: no submit, no timer. */
static void loop_until(struct flaky_host *h, int n, int ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (h->n_done < n) {
		pthread_mutex_lock(&h->lock);
		int r = 0;
		while (h->n_queued == 0 && r == 0)
			r = pthread_cond_timedwait(&h->cond, &h->lock, &deadline);
		int k = h->n_queued;
		porter_invoke_fn cb[64];
		void *data[64];
		memcpy(cb, h->queued_cb, sizeof(cb[0]) * (size_t)k);
		memcpy(data, h->queued_data, sizeof(data[0]) * (size_t)k);
		h->n_queued = 0;
		pthread_mutex_unlock(&h->lock);
		for (int i = 0; i < k; i++)
			cb[i](data[i]);
		if (r != 0)
			return;
	}
}

struct rig {
	struct flaky_host host;
	char dir[64], path[128];
	struct store *store;
	struct recorder *recorder;
	struct recorder_item items[3];
};

static int rig_setup(void **state)
{
	struct rig *g = calloc(1, sizeof(*g));
	struct store_open_report rep;
	pthread_mutex_init(&g->host.lock, NULL);
	pthread_cond_init(&g->host.cond, NULL);
	g->host.services = (struct porter_host_services){
	        .size = sizeof(g->host.services), .host = &g->host, .invoke = flaky_invoke};
	snprintf(g->dir, sizeof(g->dir), "/tmp/porter-recorder-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/presence.db", g->dir);
	assert_int_equal(store_open(g->path, &g->store, &rep), 0);
	assert_int_equal(
	        recorder_start(g->store, &g->host.services, on_done, &g->host, &g->recorder), 0);
	const char *people[] = {"m-1", "m-2", "m-3"};
	for (int i = 0; i < 3; i++)
		g->items[i].change = (struct store_change){.person_id = people[i],
		                                           .reader_id = "front",
		                                           .in = true,
		                                           .at_unix_us = 1795593600000000,
		                                           .cause = "credential"};
	*state = g;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *g = *state;
	recorder_stop(g->recorder);
	store_close(g->store);
	char p[160];
	const char *names[] = {"presence.db", "presence.db-wal", "presence.db-shm",
	                       ".presence.db.marker"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", g->dir, names[i]);
		unlink(p);
	}
	rmdir(g->dir);
	pthread_mutex_destroy(&g->host.lock);
	pthread_cond_destroy(&g->host.cond);
	free(g);
	return 0;
}

static void test_a_refused_invoke_is_retried_until_the_host_takes_it(void **state)
{
	struct rig *g = *state;
	g->host.failures = 5; /* 1 + 2 + 4 + 8 + 16 ms of backoff */
	for (int i = 0; i < 3; i++)
		recorder_submit(g->recorder, &g->items[i]);

	loop_until(&g->host, 3, 3000);
	assert_int_equal(g->host.n_done, 3);
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(g->host.done[i], &g->items[i]); /* in order */
		assert_int_equal(g->items[i].status, 0);
	}
	assert_true(g->host.attempts >= 6);
}

static void test_retries_back_off_and_stop_delivers_what_is_left(void **state)
{
	struct rig *g = *state;
	g->host.failures = -1; /* a host that never takes an invoke again */
	recorder_submit(g->recorder, &g->items[0]);
	usleep(300 * 1000);
	pthread_mutex_lock(&g->host.lock);
	int attempts = g->host.attempts;
	pthread_mutex_unlock(&g->host.lock);
	/* Retried, but not in a busy loop: 1, 2, 4 ... 128 ms fit in 300 ms. */
	assert_true(attempts >= 3);
	assert_true(attempts <= 12);
	assert_int_equal(g->host.n_done, 0);

	g->recorder = recorder_stop(g->recorder); /* on the loop thread */
	assert_int_equal(g->host.n_done, 1);
	assert_int_equal(g->items[0].status, 0);
}

static void test_the_backoff_is_capped_at_one_second(void **state)
{
	struct rig *g = *state;
	g->host.failures = 13; /* 1 + 2 + ... + 512 ms, then 1 s, 1 s, 1 s */
	recorder_submit(g->recorder, &g->items[0]);
	loop_until(&g->host, 1, 6000);
	/* 1023 ms plus three capped waits of 1 s: about 4 s; doubling on
	 * would have taken 1 + ... + 4096 ms, over 8 s. */
	assert_int_equal(g->host.n_done, 1);
}

/* ---- through the plugin: a PIN is answered without any other event ------- */

static int (*real_invoke)(void *, porter_invoke_fn, void *);
static int refusals_left;

static int refusing_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	if (__atomic_load_n(&refusals_left, __ATOMIC_SEQ_CST) > 0) {
		__atomic_sub_fetch(&refusals_left, 1, __ATOMIC_SEQ_CST);
		return -ENOSPC;
	}
	return real_invoke(host, cb, userdata);
}

static void test_a_pending_check_in_completes_though_the_host_refused_invokes(void **state)
{
	struct fake_host host;
	struct fake_site site;
	porter_plugin *p = NULL;
	struct fake_person people[] = {{"m-ana", "member", "Ana Souza", "1234", NULL, NULL}};
	fake_host_init(&host);
	real_invoke = host.services.invoke;
	host.services.invoke = refusing_invoke;
	refusals_left = 4;
	fake_site_create(&site, people, 1, "");
	assert_int_equal(
	        plugin_init(&host.services, site.config, strlen(site.config), NULL, NULL, &p), 0);
	struct porter_pin_event ev = {.size = sizeof(ev),
	                              .request_id = 7,
	                              .reader_id = "front",
	                              .pin = "1234",
	                              .pin_len = 4};
	assert_int_equal(keypad_on_pin(p, &ev), PORTER_VERDICT_PENDING);

	assert_true(fake_host_wait_completions(&host, 1));
	assert_int_equal(host.completions[0].request_id, 7);
	assert_int_equal(host.completions[0].verdict, PORTER_VERDICT_GRANT);
	assert_string_equal(host.completions[0].code, "checked_in");
	assert_int_equal(refusals_left, 0);
	assert_true(fake_host_logged(&host, "refused porter's invoke 4 times"));
	plugin_shutdown(p);
	fake_site_destroy(&site);
	fake_host_destroy(&host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                test_a_refused_invoke_is_retried_until_the_host_takes_it, rig_setup,
	                rig_teardown),
	        cmocka_unit_test_setup_teardown(
	                test_retries_back_off_and_stop_delivers_what_is_left, rig_setup,
	                rig_teardown),
	        cmocka_unit_test_setup_teardown(test_the_backoff_is_capped_at_one_second, rig_setup,
	                                        rig_teardown),
	        cmocka_unit_test(test_a_pending_check_in_completes_though_the_host_refused_invokes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
