/* SPDX-License-Identifier: MIT */
/*
 * webhook_site.h: a recording-host site (recording_host.h) running porter.so
 * with backend "webhook" against tests/backend/webhook_receiver.py, under
 * tests/backend/fixture.py --webhook (MOCK_WEBHOOK_URL, MOCK_WEBHOOK_SECRET,
 * MOCK_CA), for test_webhook.c and test_webhook_reversals.c: the site and
 * its config, presenting PINs, waiting for the receiver, diagnostics, and
 * the check that the receiver holds exactly what porter recorded.
 */
#ifndef WEBHOOK_SITE_H
#define WEBHOOK_SITE_H

#include <stdbool.h>
#include <stddef.h>

#include "recording_host.h"

#define DRAIN_MS 15000 /* everything delivered by then, backoff included */

/* cmocka setup: a fresh receiver, then a site with Ana and Ben and the
 * receiver's secret in DIR/webhook.secret. Teardown is site_close. */
int webhook_site_setup(void **state);
/* The same, with porter's invokes holdable (hold_invokes) or not. */
int webhook_site_open(void **state, bool holdable_invokes);

/* A webhook config for the site: `url` (NULL: the receiver's), `webhook_extra`
 * inside "webhook" and `outbox_extra` inside "outbox" (each "" or starting
 * with a comma), `extra` at the top level (the same). Deliveries are
 * retried within a second (retry_max_s 1). malloc'd. */
char *webhook_config_for(struct site *s, const char *url, const char *webhook_extra,
                         const char *outbox_extra, const char *extra);
/* init() with `config` through `services`; what init() returned. */
int webhook_init_with(struct site *s, const struct porter_host_services *services,
                      const char *config);
/* init() with webhook_config_for()'s config through the site's services;
 * must succeed. */
void start_webhook_with(struct site *s, const char *url, const char *outbox_extra,
                        const char *extra);
/* The same, `outbox_extra` NULL for none. */
void start_webhook(struct site *s, const char *url, const char *outbox_extra);

/* Present `pin` at `reader` and wait for the decision; its code. */
const char *present(struct site *s, const char *reader, const char *pin);

/* Run the loop until the receiver holds `n` deliveries (or has had `n`
 * requests), at most `ms`. */
bool wait_deliveries(struct site *s, size_t n, int ms);
bool wait_requests(struct site *s, size_t n, int ms);

/* What diagnostics() reports now. */
struct diag {
	int n;
	char codes[8][32];
	char messages[8][TEXT_MAX];
};
/* The message of diagnostic `code` now, or NULL. */
const char *diagnostic(struct site *s, struct diag *d, const char *code);

/* The receiver holds exactly porter's presence_log rows from `first` on
 * (0-based), in order, each verified once (count 1 unless `dups_ok`),
 * each with the row's event key, person, direction, reader, cause and `at`
 * equal to the row's recorded_at (the time of the decision). */
void assert_receiver_holds_log(struct site *s, size_t first, bool dups_ok);

#endif
