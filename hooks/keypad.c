/* SPDX-License-Identifier: MIT */
/* keypad.c: whole-PIN and key-by-key hooks. See keypad.h. */
#include "keypad.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine.h"
#include "log.h"
#include "plugin.h"

static void entry_clear(struct reader_state *reader)
{
	struct keypad_entry *k = &reader->keypad;
	struct engine *e = reader->engine;
	if (k->timer_id > 0)
		e->services->timer_remove(e->services->host, k->timer_id);
	k->timer_id = 0;
	OPENSSL_cleanse(k->digits, sizeof(k->digits));
	k->len = 0;
	k->refused = false;
}

void keypad_reset(struct reader_state *reader, void *unused)
{
	entry_clear(reader);
}

/* Checks on a complete PIN shared by both hooks. Returns 0 when the PIN may
 * go to the engine, else a verdict or -errno with the person told why. */
static int check_pin(struct engine *e, const struct reader_state *reader, const char *pin,
                     size_t len)
{
	const struct config *c = e->config;
	const struct feedback_values digits = {.min_digits = c->pin_min_length,
	                                       .max_digits = c->pin_max_length};
	if (len > c->pin_max_length) {
		plog(e->services, PORTER_LOG_NOTICE,
		     "reader %s: PIN refused: %zu digits, at most %u", reader->id, len,
		     c->pin_max_length);
		engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "pin_too_long",
		                FT_PIN_TOO_LONG, &digits);
		return -E2BIG;
	}
	for (size_t i = 0; i < len; i++) {
		if (pin[i] < '0' || pin[i] > '9') {
			plog(e->services, PORTER_LOG_NOTICE,
			     "reader %s: PIN refused: it holds a character that is not a digit",
			     reader->id);
			engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR,
			                "invalid_pin", FT_INVALID_PIN, NULL);
			return -EINVAL;
		}
	}
	if (len < c->pin_min_length) {
		engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "pin_too_short",
		                FT_PIN_TOO_SHORT, &digits);
		return PORTER_VERDICT_DENY;
	}
	return 0;
}

int keypad_on_pin(porter_plugin *plugin, const struct porter_pin_event *ev)
{
	if (!plugin || !ev || !PORTER_HAS_FIELD(ev, struct porter_pin_event, pin_len))
		return -EINVAL;
	struct reader_state *reader = plugin_reader(plugin, ev->reader_id);
	if (!reader)
		return -EINVAL;
	if (!ev->pin && ev->pin_len > 0)
		return -EINVAL;
	int r = check_pin(&plugin->engine, reader, ev->pin, ev->pin_len);
	if (r != 0)
		return r;
	return engine_submit_pin(&plugin->engine, reader, ev->request_id, ev->pin, ev->pin_len);
}

/* No key for inter_key_timeout_ms: the entry is dropped, whether or not the
 * host's timer has run yet. */
static bool entry_stale(const struct engine *e, const struct keypad_entry *k, uint64_t now)
{
	return (k->len > 0 || k->refused) &&
	       now - k->last_key_us >= (uint64_t)e->config->inter_key_timeout_ms * 1000;
}

static void entry_timeout(void *userdata)
{
	struct reader_state *reader = userdata;
	struct keypad_entry *k = &reader->keypad;
	struct engine *e = reader->engine;
	uint64_t timeout = (uint64_t)e->config->inter_key_timeout_ms * 1000;
	uint64_t idle = e->services->now_us(e->services->host) - k->last_key_us;
	k->timer_id = 0;
	if (k->len == 0 && !k->refused)
		return;
	if (idle < timeout) {
		/* Keys came since the timer was armed: wait out the rest. */
		int64_t id = e->services->timer_add(e->services->host, timeout - idle,
		                                    entry_timeout, reader);
		if (id > 0) {
			k->timer_id = id;
			return;
		}
	}
	bool refused = k->refused; /* that person was told already */
	entry_clear(reader);
	if (!refused)
		engine_feedback(e, reader->id, PORTER_LED_OFF, PORTER_BEEP_ERROR, "entry_timeout",
		                FT_ENTRY_TIMEOUT, NULL);
}

static int add_digit(struct engine *e, struct reader_state *reader, char digit, uint64_t now)
{
	struct keypad_entry *k = &reader->keypad;
	uint64_t timeout = (uint64_t)e->config->inter_key_timeout_ms * 1000;
	if (entry_stale(e, k, now))
		entry_clear(reader);
	if (k->refused) {
		/* Still the refused entry: its tail is not a new PIN, nor a guess. */
		k->last_key_us = now;
		return PORTER_VERDICT_NO_OPINION;
	}
	if (k->len >= e->config->pin_max_length) {
		/* The timer stays: it ends the refused entry like any other. */
		OPENSSL_cleanse(k->digits, sizeof(k->digits));
		k->len = 0;
		k->refused = true;
		k->last_key_us = now;
		engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "pin_too_long",
		                FT_PIN_TOO_LONG_KEY_BY_KEY,
		                &(struct feedback_values){.min_digits = e->config->pin_min_length,
		                                          .max_digits = e->config->pin_max_length});
		return PORTER_VERDICT_DENY;
	}
	k->digits[k->len++] = digit;
	k->last_key_us = now;
	if (k->timer_id == 0) {
		int64_t id =
		        e->services->timer_add(e->services->host, timeout, entry_timeout, reader);
		k->timer_id =
		        id > 0 ? id : 0; /* without a timer the stale check above still holds */
	}
	return PORTER_VERDICT_NO_OPINION;
}

static int submit(struct engine *e, struct reader_state *reader, uint64_t request_id, uint64_t now)
{
	struct keypad_entry *k = &reader->keypad;
	char pin[KEYPAD_MAX_DIGITS];
	size_t len = k->len;
	bool stale = entry_stale(e, k, now);
	memcpy(pin, k->digits, len);
	entry_clear(reader);
	if (len == 0 || stale)
		return PORTER_VERDICT_NO_OPINION; /* '#' alone, or after the entry timed out */
	int r = check_pin(e, reader, pin, len);
	if (r == 0)
		r = engine_submit_pin(e, reader, request_id, pin, len);
	OPENSSL_cleanse(pin, sizeof(pin));
	return r;
}

int keypad_on_key(porter_plugin *plugin, const struct porter_key_event *ev)
{
	if (!plugin || !ev || !PORTER_HAS_FIELD(ev, struct porter_key_event, reader_id))
		return -EINVAL;
	struct reader_state *reader = plugin_reader(plugin, ev->reader_id);
	if (!reader)
		return -EINVAL;
	struct engine *e = &plugin->engine;
	uint64_t now = e->services->now_us(e->services->host);
	if (ev->key >= '0' && ev->key <= '9')
		return add_digit(e, reader, (char)ev->key, now);
	if (ev->key == '#')
		return submit(e, reader, ev->request_id, now);
	if (ev->key == '*') {
		entry_clear(reader);
		return PORTER_VERDICT_NO_OPINION;
	}
	/* Line noise or a misconfigured keypad: the entry can no longer be trusted. */
	entry_clear(reader);
	plog(e->services, PORTER_LOG_NOTICE, "reader %s: key code 0x%x is not a keypad key",
	     reader->id, ev->key);
	engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "invalid_key",
	                FT_INVALID_KEY, NULL);
	return -EINVAL;
}
