/* SPDX-License-Identifier: MIT */
/*
 * ble.c: the BLE event hook: advert -> porter credential -> held next to
 * the reader? -> whose token, still fresh, not used -> the engine decides.
 * See ble.h, and docs/ble-credential.md for the credential.
 *
 * Most adverts are someone else's, or a phone still far away: they cost a
 * parse and a table look-up, no HMAC. A token is checked once its phone is
 * next to the reader. Refused tokens (stale, forged, used) get no feedback:
 * whoever replays or forges one learns nothing; the log says why.
 */
#include "ble.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "ble_advert.h"
#include "ble_state.h"
#include "log.h"
#include "plugin.h"

/* Adverts repeat several times a second: a refusal is logged at most once
 * per BLE_LOG_EVERY_US, with the count of those not logged. */
static void refusal(porter_plugin *plugin, uint64_t now, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void refusal(porter_plugin *plugin, uint64_t now, const char *fmt, ...)
{
	struct ble_state *b = plugin->ble;
	if (b->refusal_logged_us && now - b->refusal_logged_us < BLE_LOG_EVERY_US) {
		b->refusals_unlogged++;
		return;
	}
	char line[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (b->refusals_unlogged)
		plog(&plugin->services, PORTER_LOG_NOTICE, "%s (and %llu more refused adverts)",
		     line, (unsigned long long)b->refusals_unlogged);
	else
		plog(&plugin->services, PORTER_LOG_NOTICE, "%s", line);
	b->refusal_logged_us = now ? now : 1;
	b->refusals_unlogged = 0;
}

/* The member whose key made `cred` for `counter`, or NULL. */
static const struct person *identify(struct ble_state *b, const struct ble_credential *cred,
                                     uint64_t counter)
{
	size_t first, n = ble_keyring_find(b->keyring, cred->hint, &first);
	for (size_t i = first; i < first + n; i++) {
		const uint8_t *key;
		const struct person *p = ble_keyring_entry(b->keyring, i, &key);
		if (ble_token_matches(b->hmac, key, counter, cred) == 1)
			return p;
	}
	return NULL;
}

/* The token's counter and member; on refusal, why (static text). */
static const struct person *check_token(porter_plugin *plugin, const struct ble_credential *cred,
                                        uint64_t *ret_counter, const char **ret_why)
{
	const struct config *c = &plugin->config;
	int64_t unix_s = plugin->engine.wall_clock_us() / 1000000;
	uint64_t now_counter = ble_token_counter(unix_s, c->ble_time_step_s);
	if (ble_token_counter_of(cred, now_counter, c->ble_drift_steps, ret_counter) < 0) {
		*ret_why = "stale token (or the phone's clock is off)";
		return NULL;
	}
	const struct person *p = identify(plugin->ble, cred, *ret_counter);
	if (!p)
		*ret_why = "token made by no member's key";
	return p;
}

static int decide(porter_plugin *plugin, struct reader_state *reader,
                  const struct porter_ble_event *ev, bool host_request)
{
	struct ble_state *b = plugin->ble;
	const struct reader_config *rc = reader->config;
	const struct config *c = &plugin->config;
	struct ble_credential cred;
	const char *why;
	uint64_t now = plugin->services.now_us(plugin->services.host);
	int r = ble_advert_parse(ev, c->ble_company_id, &cred, &why);
	if (r < 0) {
		refusal(plugin, now, "reader %s: BLE advert refused: %s", ev->reader_id, why);
		return -EINVAL;
	}
	if (r == 0)
		return PORTER_VERDICT_NO_OPINION; /* not porter's */
	uint64_t counter;
	const struct person *p;
	if (c->ble_calibration && (p = check_token(plugin, &cred, &counter, &why)))
		plog(&plugin->services, PORTER_LOG_INFO,
		     "BLE calibration: reader %s member %s %d dBm", ev->reader_id, p->id,
		     ev->rssi_dbm);
	uint8_t payload[BLE_PAYLOAD_LEN];
	ble_credential_encode(&cred, payload);
	struct ble_proximity_config near = {rc->ble_rssi_min_dbm, rc->ble_samples,
	                                    (uint64_t)rc->ble_window_ms * 1000};
	if (ble_proximity_sample(b->proximity, ev->reader_id, payload, ev->rssi_dbm, now, &near) !=
	    BLE_NEAR)
		return PORTER_VERDICT_NO_OPINION;
	p = check_token(plugin, &cred, &counter, &why);
	if (!p) {
		refusal(plugin, now, "reader %s: BLE token refused: %s", ev->reader_id, why);
		return PORTER_VERDICT_DENY;
	}
	if (ble_proximity_cooling(b->proximity, p->id, now))
		return PORTER_VERDICT_NO_OPINION; /* this approach was decided already */
	if (ble_replay_used(b->replay, p->id, counter)) {
		refusal(plugin, now, "reader %s: BLE token of %s refused: already used",
		        ev->reader_id, p->id);
		return PORTER_VERDICT_DENY;
	}
	uint64_t now_counter =
	        ble_token_counter(plugin->engine.wall_clock_us() / 1000000, c->ble_time_step_s);
	r = ble_replay_use(b->replay, p->id, counter, now_counter - c->ble_drift_steps);
	if (r < 0) { /* fail closed: a token porter cannot remember is not taken */
		refusal(plugin, now, "reader %s: BLE token of %s refused: %s", ev->reader_id, p->id,
		        r == -ENOSPC ? "too many used tokens to remember" : "bad id");
		return PORTER_VERDICT_DENY;
	}
	ble_proximity_cool(b->proximity, p->id, now, (uint64_t)rc->ble_cooldown_ms * 1000);
	plugin->engine.deciding_ble_counter = counter;
	r = engine_submit_person(&plugin->engine, reader, ev->request_id, host_request, p);
	plugin->engine.deciding_ble_counter = 0;
	return r;
}

static int handle(porter_plugin *plugin, const struct porter_ble_event *ev, bool host_request)
{
	if (!plugin || !ev || !PORTER_HAS_FIELD(ev, struct porter_ble_event, service_uuid))
		return -EINVAL;
	struct reader_state *reader = plugin_reader(plugin, ev->reader_id);
	if (!reader)
		return -EINVAL;
	if ((!ev->manufacturer_data && ev->manufacturer_data_len) ||
	    (!ev->service_data && ev->service_data_len) ||
	    ev->manufacturer_data_len > BLE_MAX_DATA || ev->service_data_len > BLE_MAX_DATA) {
		plog(&plugin->services, PORTER_LOG_NOTICE,
		     "reader %s: BLE event refused: data over %d bytes", ev->reader_id,
		     BLE_MAX_DATA);
		return -EINVAL;
	}
	if (!plugin->ble)
		return PORTER_VERDICT_NO_OPINION;
	return decide(plugin, reader, ev, host_request);
}

int ble_on_event(porter_plugin *plugin, const struct porter_ble_event *ev)
{
	return handle(plugin, ev, true);
}

void ble_from_driver(porter_plugin *plugin, const struct porter_ble_event *event)
{
	(void)handle(plugin, event, false);
}
