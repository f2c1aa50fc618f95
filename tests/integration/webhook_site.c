/* SPDX-License-Identifier: MIT */
/* webhook_site.c: a recording-host site on the webhook backend. See webhook_site.h. */
#include "webhook_site.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "receiver_client.h"

/* ---- the site ------------------------------------------------------------------- */

int webhook_site_open(void **state, bool holdable_invokes)
{
	if (!fx_env("MOCK_WEBHOOK_URL") || !fx_env("MOCK_WEBHOOK_SECRET") || !fx_env("MOCK_CA")) {
		fprintf(stderr, "run under tests/backend/fixture.py --webhook\n");
		return -1;
	}
	receiver_reset(); /* before the site: a failed setup has no teardown */
	if (site_open(state, &(struct site_options){.people = FX_ANA | FX_BEN,
	                                            .echo_level = PORTER_LOG_ERROR,
	                                            .holdable_invokes = holdable_invokes}) < 0)
		return -1;
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/webhook.secret", s->dir);
	if (fx_write_file(path, fx_env("MOCK_WEBHOOK_SECRET")) < 0)
		return -1;
	return 0;
}

int webhook_site_setup(void **state)
{
	return webhook_site_open(state, false);
}

/* A webhook config for the site: `url` (NULL: the receiver's), `webhook_extra`
 * inside "webhook" and `outbox_extra` inside "outbox" (each "" or starting
 * with a comma), `extra` at the top level (the same). Deliveries are
 * retried within a second (retry_max_s 1). */
#define WEBHOOK_CONFIG                                                       \
	"{\"backend\":\"webhook\",\"local\":{"                               \
	"\"directory\":\"%s/directory.json\","                               \
	"\"database\":\"%s/presence.db\","                                   \
	"\"pin_key_file\":\"%s/pin.key\"},"                                  \
	"\"webhook\":{\"url\":\"%s\",\"secret_file\":\"%s/webhook.secret\"," \
	"\"ca_file\":\"%s\",\"timeout_ms\":2000%s},"                         \
	"\"outbox\":{\"retry_max_s\":1%s},"                                  \
	"\"repeat_window_ms\":0%s}"

char *webhook_config_for(struct site *s, const char *url, const char *webhook_extra,
                         const char *outbox_extra, const char *extra)
{
	char *text = NULL;

	if (asprintf(&text, WEBHOOK_CONFIG, s->dir, s->dir, s->dir,
	             url ? url : fx_env("MOCK_WEBHOOK_URL"), s->dir, fx_env("MOCK_CA"),
	             webhook_extra, outbox_extra, extra) < 0)
		return NULL;
	return text;
}

int webhook_init_with(struct site *s, const struct porter_host_services *services,
                      const char *config)
{
	s->shut_down = false;
	s->in_call = true;
	int r = api->init(services, config, strlen(config), rec_report, s, &s->porter);
	s->in_call = false;
	return r;
}

void start_webhook_with(struct site *s, const char *url, const char *outbox_extra,
                        const char *extra)
{
	char *config = webhook_config_for(s, url, "", outbox_extra, extra);

	assert_non_null(config);
	int r = webhook_init_with(s, &s->services, config);
	free(config);
	if (r != 0)
		fail_msg("init with the webhook backend: %d (%s)", r,
		         s->n_reports ? s->reports[0].message : "no report");
	assert_non_null(s->porter);
}

void start_webhook(struct site *s, const char *url, const char *outbox_extra)
{
	start_webhook_with(s, url, outbox_extra ? outbox_extra : "", "");
}

/* Present `pin` at `reader` and wait for the decision; its code. */
const char *present(struct site *s, const char *reader, const char *pin)
{
	uint64_t id;
	int rc = hook_pin(s, reader, pin, strlen(pin), &id);

	if (rc != PORTER_VERDICT_PENDING) {
		wait_feedback(s, s->n_feedback + 1);
		return s->last_code;
	}
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	return r->code;
}

/* Run the loop until the receiver holds `n` deliveries (or `ms` passed). */
bool wait_deliveries(struct site *s, size_t n, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (receiver_n_deliveries() >= n)
			return true;
		run_for(s, 100);
	}
	return receiver_n_deliveries() >= n;
}

bool wait_requests(struct site *s, size_t n, int ms)
{
	for (int waited = 0; waited < ms; waited += 50) {
		if (receiver_n_requests() >= n)
			return true;
		run_for(s, 50);
	}
	return receiver_n_requests() >= n;
}

/* ---- diagnostics ---------------------------------------------------------------- */

static void record_diag(void *userdata, const struct porter_report *r)
{
	struct diag *d = userdata;

	if (d->n < 8) {
		snprintf(d->codes[d->n], sizeof(d->codes[0]), "%s", r->code);
		snprintf(d->messages[d->n], sizeof(d->messages[0]), "%s",
		         r->message ? r->message : "");
		d->n++;
	}
}

/* The message of diagnostic `code` now, or NULL. */
const char *diagnostic(struct site *s, struct diag *d, const char *code)
{
	memset(d, 0, sizeof(*d));
	api->diagnostics(s->porter, record_diag, d);
	for (int i = 0; i < d->n; i++)
		if (strcmp(d->codes[i], code) == 0)
			return d->messages[i];
	return NULL;
}

/* ---- what the receiver holds against what porter recorded ------------------------ */

/* The receiver holds exactly porter's presence_log rows from `first` on
 * (0-based), in order, each verified once (count 1 unless `dups_ok`),
 * each with the row's event key, person, direction, reader, cause and `at`
 * equal to the row's recorded_at (the time of the decision). */
void assert_receiver_holds_log(struct site *s, size_t first, bool dups_ok)
{
	struct log_row rows[256];
	size_t n = db_log(s->db_path, NULL, rows, 256);
	json_object *d = receiver_deliveries();
	json_object *list = member(d, "deliveries");

	assert_int_equal(json_object_get_int(member(d, "rejected")), 0);
	assert_int_equal(json_object_array_length(list), n - first);
	for (size_t i = first; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i - first);
		json_object *p = member(e, "payload"), *data = member(p, "data");
		bool in = strcmp(rows[i].direction, "in") == 0;

		assert_string_equal(str(e, "id"), rows[i].event_key);
		assert_string_equal(str(data, "event_key"), rows[i].event_key);
		assert_string_equal(str(data, "person_id"), rows[i].person);
		assert_string_equal(str(data, "direction"), rows[i].direction);
		assert_string_equal(str(data, "reader_id"), rows[i].reader);
		assert_string_equal(str(data, "cause"), rows[i].cause);
		assert_string_equal(str(data, "at"), rows[i].recorded_at);
		assert_string_equal(str(p, "timestamp"), rows[i].recorded_at);
		assert_string_equal(str(p, "type"),
		                    in ? "presence.checked_in" : "presence.checked_out");
		if (!dups_ok)
			assert_int_equal(json_object_get_int(member(e, "count")), 1);
	}
	json_object_put(d);
}
