/* SPDX-License-Identifier: MIT */
/*
 * qr.c: the QR scan hook, and porter's own scanner's scans. See qr.h.
 *
 * A scan walks: bounds and charset -> the scanner beeping twice -> the
 * reader's lockout -> the code's lockout -> visitor pass (verify, times,
 * visitor, single use) or visitor code (directory) -> the engine. Nothing
 * here logs, records or shows the scanned text: a visitor code is a
 * credential like a PIN.
 */
#include "qr.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine.h"
#include "log.h"
#include "plugin.h"
#include "qr_credential.h"
#include "visitor_pass.h"

struct scan {
	porter_plugin *plugin;
	struct engine *engine;
	struct reader_state *reader;
	uint64_t now;
	uint8_t hash[PIN_HASH_LEN]; /* HMAC of the scanned text: its name in RAM */
};

/* A refused code counts for the reader (engine) and for the code itself. */
static int refuse(struct scan *s, const char *why, const char *code, enum feedback_text text)
{
	const struct config *c = s->engine->config;
	plog(s->engine->services, PORTER_LOG_NOTICE, "reader %s: QR code refused: %s",
	     s->reader->id, why);
	if (qr_code_failed(s->plugin->qr, s->hash, s->now, c->qr_code_max_attempts,
	                   (uint64_t)c->qr_code_lockout_s * 1000000))
		plog(s->engine->services, PORTER_LOG_WARNING,
		     "reader %s: a QR code refused %u times in a row is locked for %u s",
		     s->reader->id, c->qr_code_max_attempts, c->qr_code_lockout_s);
	return engine_refuse_credential(s->engine, s->reader, s->now, code, text);
}

static int submit(struct scan *s, uint64_t request_id, bool host_request, const struct person *p,
                  const struct visitor_pass *pass)
{
	struct engine *e = s->engine;
	if (pass && pass->single_use) {
		e->deciding_pass_id = pass->pass_id;
		e->deciding_pass_until = pass->valid_until;
	}
	int r = engine_submit_person(e, s->reader, request_id, host_request, p);
	e->deciding_pass_id = NULL;
	if (r == PORTER_VERDICT_PENDING || r == PORTER_VERDICT_GRANT)
		qr_code_succeeded(s->plugin->qr, s->hash);
	return r;
}

static int decide_pass(struct scan *s, uint64_t request_id, bool host_request, const uint8_t *data,
                       size_t len)
{
	struct visitor_pass pass;
	int r = visitor_pass_verify(s->plugin->pass_keys, data, len, &pass);
	if (r == -ENOKEY)
		return refuse(s, "a visitor pass, and visitor_pass.public_keys holds no key",
		              "visitor_pass_invalid", FT_VISITOR_PASS_INVALID);
	if (r == -EINVAL)
		return refuse(s, "a malformed visitor pass", "visitor_pass_invalid",
		              FT_VISITOR_PASS_INVALID);
	if (r < 0)
		return refuse(
		        s,
		        "a visitor pass no configured key signed (forged, altered or another key)",
		        "visitor_pass_invalid", FT_VISITOR_PASS_INVALID);
	int64_t now_s = s->engine->wall_clock_us() / 1000000;
	const struct person *p = directory_find_id(s->engine->directory, pass.visitor_id);
	struct presence_entry *entry = p ? presence_get(s->engine->presence, p->id, false) : NULL;
	bool in = entry && entry->in; /* someone in may always check out */
	if (!in && now_s < pass.valid_from)
		return refuse(s, "a visitor pass not valid yet", "visitor_pass_not_yet_valid",
		              FT_VISITOR_PASS_NOT_YET_VALID);
	if (!in && now_s >= pass.valid_until)
		return refuse(s, "an expired visitor pass", "visitor_pass_expired",
		              FT_VISITOR_PASS_EXPIRED);
	if (!p)
		return refuse(s, "a visitor pass for a visitor not in the directory",
		              "visitor_unknown", FT_VISITOR_UNKNOWN);
	if (!in && pass.single_use && qr_pass_used(s->plugin->qr, pass.pass_id) &&
	    !engine_pass_being_returned(s->engine, p->id, pass.pass_id))
		return refuse(s, "a single-use visitor pass used before", "visitor_pass_used",
		              FT_VISITOR_PASS_USED);
	return submit(s, request_id, host_request, p, &pass);
}

static int decide_code(struct scan *s, uint64_t request_id, bool host_request)
{
	size_t n;
	const struct person *p = directory_match_qr(s->engine->directory, s->hash, &n);
	if (n > 1) {
		plog(s->engine->services, PORTER_LOG_WARNING,
		     "reader %s: a visitor code belongs to %zu people; give them distinct codes",
		     s->reader->id, n);
		return refuse(s, "a visitor code several people have", "qr_unknown", FT_QR_UNKNOWN);
	}
	if (!p)
		return refuse(s, "no one has this visitor code", "qr_unknown", FT_QR_UNKNOWN);
	return submit(s, request_id, host_request, p, NULL);
}

/* The scanner beeping twice: the same code at the same reader again within
 * qr.repeat_ms. Only the first scan's time counts, so a code held to the
 * scanner does not stay ignored for ever. */
static bool repeated(struct scan *s)
{
	struct qr_last_scan *last = &s->reader->qr;
	uint64_t window = (uint64_t)s->engine->config->qr_repeat_ms * 1000;
	if (last->seen && s->now - last->at_us < window &&
	    CRYPTO_memcmp(last->hash, s->hash, sizeof(last->hash)) == 0)
		return true;
	memcpy(last->hash, s->hash, sizeof(last->hash));
	last->at_us = s->now;
	last->seen = true;
	return false;
}

static int unreadable(struct engine *e, const struct reader_state *reader, int r, size_t len,
                      size_t at)
{
	if (r == -E2BIG)
		plog(e->services, PORTER_LOG_NOTICE,
		     "reader %s: QR scan refused: %zu bytes, at most %d", reader->id, len,
		     QR_CODE_MAX);
	else if (len == 0)
		plog(e->services, PORTER_LOG_NOTICE, "reader %s: QR scan refused: it is empty",
		     reader->id);
	else
		plog(e->services, PORTER_LOG_NOTICE,
		     "reader %s: QR scan refused: byte %zu of %zu is not printable ASCII "
		     "(0x21-0x7e); a misread, or a scanner set to another keyboard layout",
		     reader->id, at + 1, len);
	engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "qr_unreadable",
	                FT_QR_UNREADABLE, NULL);
	return r;
}

static int decide(porter_plugin *plugin, const struct porter_qr_event *ev, bool host_request)
{
	if (!plugin || !ev || !PORTER_HAS_FIELD(ev, struct porter_qr_event, data_len))
		return -EINVAL;
	struct reader_state *reader = plugin_reader(plugin, ev->reader_id);
	if (!reader)
		return -EINVAL;
	if (!ev->data && ev->data_len)
		return -EINVAL;
	struct engine *e = &plugin->engine;
	size_t at;
	int r = qr_code_check(ev->data, ev->data_len, &at);
	if (r < 0)
		return unreadable(e, reader, r, ev->data_len, at);
	struct scan s = {plugin, e, reader, e->services->now_us(e->services->host), {0}};
	r = qr_code_hash(e->hasher, ev->data, ev->data_len, s.hash);
	if (r < 0)
		return r;
	if (repeated(&s))
		return PORTER_VERDICT_NO_OPINION; /* the first scan is being answered */
	if (engine_reader_locked_out(e, reader, s.now))
		return PORTER_VERDICT_DENY;
	unsigned locked = qr_code_locked(plugin->qr, s.hash, s.now);
	if (locked) {
		engine_record_door_event(e, reader->id, "qr_code_locked", NULL, "%s", "");
		engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "qr_code_locked",
		                FT_QR_CODE_LOCKED, &(struct feedback_values){.seconds = locked});
		return PORTER_VERDICT_DENY;
	}
	if (visitor_pass_looks_like(ev->data, ev->data_len))
		return decide_pass(&s, ev->request_id, host_request, ev->data, ev->data_len);
	return decide_code(&s, ev->request_id, host_request);
}

int qr_on_scan(porter_plugin *plugin, const struct porter_qr_event *ev)
{
	return decide(plugin, ev, true);
}

void qr_from_driver(porter_plugin *plugin, const struct porter_qr_event *event)
{
	(void)decide(plugin, event, false);
}
