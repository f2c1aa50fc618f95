/* SPDX-License-Identifier: MIT */
/* engine.c: who is this, in or out, allowed? See engine.h. */
#include "engine.h"
#include "outbox.h"
#include "visitor_pass.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"

/* A request waiting for a change to become durable. The first waiter made
 * the change; later ones are repeats that arrived while it was in flight. */
struct waiter {
	struct waiter *next;
	struct waiter *index_next; /* engine->pending_requests, while its change is in flight */
	uint64_t request_id;
	char reader_id[CONFIG_ID_MAX + 1];
	uint32_t unlock_ms;
	bool host_request; /* false: a driver's; never completed, not in the index */
	bool cancelled;
	bool door_failed; /* its door did not open: answered once that is recorded */
};

struct pending_change {
	struct recorder_item item;          /* first: the recorder hands back this pointer */
	struct pending_change *prev, *next; /* engine->in_flight */
	char person_id[PERSON_ID_MAX + 1];
	char reader_id[CONFIG_ID_MAX + 1];
	char name[PERSON_NAME_MAX + 1];
	struct presence_entry *entry;
	struct waiter *waiters;
	size_t n_waiters;
	struct waiter first; /* the request that made the change: no second allocation */
	char pass_id[VISITOR_PASS_ID_MAX + 1]; /* a single-use pass's check-in, or "" */
	bool automatic; /* the daily check-out: nobody waits, nobody is told */
	bool reversal;  /* undoes a change nobody got through for; see reverse() */
};

/* Repeats answered together with one change; more are refused as "busy". */
#define PENDING_WAITERS_MAX 16

void engine_feedback(struct engine *e, const char *reader_id, uint32_t led, uint32_t beep,
                     const char *code, enum feedback_text text,
                     const struct feedback_values *values)
{
	char shown[FEEDBACK_TEXT_MAX + 1];
	feedback_text_render(text, e->config->texts[text], values, shown, sizeof(shown));
	struct porter_feedback fb = {
	        .size = sizeof(fb),
	        .led = led,
	        .beep = beep,
	        .reader_id = reader_id,
	        .text = shown,
	        .code = code,
	};
	e->services->feedback(e->services->host, &fb);
}

void engine_record_door_event(struct engine *e, const char *reader_id, const char *code,
                              const char *person_id, const char *fmt, ...)
{
	if (!e || !e->recorder)
		return; /* stopped: nothing more is recorded */
	struct store_door_event ev = {.at_unix_us = e->wall_clock_us()};
	snprintf(ev.reader_id, sizeof(ev.reader_id), "%s", reader_id);
	snprintf(ev.code, sizeof(ev.code), "%s", code);
	snprintf(ev.person_id, sizeof(ev.person_id), "%s", person_id ? person_id : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	recorder_note(e->recorder, &ev);
}

#define PRUNE_EVERY_US (3600ull * 1000000) /* door_events: once an hour is enough */

void engine_apply_retention(struct engine *e)
{
	struct recorder_retention ret = {
	        .max_age_us = (int64_t)e->config->records_denied_days * 86400 * 1000000,
	        .max_rows = e->config->records_denied_max_rows,
	        .every_us = PRUNE_EVERY_US,
	        .wall_clock_us = e->wall_clock_us,
	};
	if (e->recorder)
		recorder_set_retention(e->recorder, &ret);
}

/* Every refused PIN is on record with its reason, never the PIN itself. */
static void record_denied(struct engine *e, const struct reader_state *reader, const char *code)
{
	engine_record_door_event(e, reader->id, code, e->deciding_person_id, "%s", "");
}

static int deny(struct engine *e, const struct reader_state *reader, const char *code,
                enum feedback_text text)
{
	record_denied(e, reader, code);
	engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, code, text, NULL);
	return PORTER_VERDICT_DENY;
}

/* ---- who is this? ------------------------------------------------------ */

static bool reader_accepts(const struct reader_state *reader, enum person_kind kind)
{
	switch (reader->config->pin_holders) {
	case PIN_HOLDERS_MEMBERS:
		return kind == PERSON_MEMBER;
	case PIN_HOLDERS_VISITORS:
		return kind == PERSON_VISITOR;
	default:
		return true;
	}
}

/* The log line is stable for alerting (README); "wrong PINs" counts every
 * failed attempt, revealing answers included. */
static void locked_out(struct engine *e, struct reader_state *reader, uint64_t locked)
{
	unsigned secs = (unsigned)((locked + 999999) / 1000000);
	plog(e->services, PORTER_LOG_WARNING,
	     "reader %s: locked out for %u s after %u wrong PINs (lockout %u)", reader->id, secs,
	     reader->lockout.failures, reader->lockout.level);
	engine_record_door_event(e, reader->id, "lockout_started", NULL,
	                         "locked for %u s after %u wrong PINs (lockout %u)", secs,
	                         reader->lockout.failures, reader->lockout.level);
	if (e->lockout_locked)
		e->lockout_locked(e->lockout_userdata, reader);
	engine_feedback(e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "locked_out",
	                FT_LOCKED_OUT, &(struct feedback_values){.seconds = secs});
}

/* Count a failed attempt at `reader`. Returns the lockout it starts, or 0. */
static uint64_t count_failure(struct engine *e, struct reader_state *reader, uint64_t now)
{
	const struct config *c = e->config;
	struct lockout_policy policy = {
	        .max_attempts = c->lockout_max_attempts,
	        .window_us = (uint64_t)c->lockout_window_s * 1000000,
	        .base_us = (uint64_t)c->lockout_base_s * 1000000,
	        .max_us = (uint64_t)c->lockout_max_s * 1000000,
	};
	return lockout_record_failure(&reader->lockout, &policy, now);
}

/*
 * Deny with an answer that tells the guesser this PIN belongs to someone
 * ("not valid yet", "members only", "not unique"): it counts as a failed
 * attempt like an unknown PIN, or the answers would be a free oracle.
 */
static int refuse_real_pin(struct engine *e, struct reader_state *reader, uint64_t now,
                           const char *code, enum feedback_text text)
{
	uint64_t locked = count_failure(e, reader, now);
	if (locked) {
		record_denied(e, reader, code); /* the attempt, then the lockout it started */
		locked_out(e, reader, locked);
		return PORTER_VERDICT_DENY;
	}
	return deny(e, reader, code, text);
}

static int wrong_pin(struct engine *e, struct reader_state *reader, uint64_t now)
{
	uint64_t locked = count_failure(e, reader, now);
	if (locked) {
		record_denied(e, reader, "unknown_pin");
		locked_out(e, reader, locked);
		return PORTER_VERDICT_DENY;
	}
	plog(e->services, PORTER_LOG_NOTICE, "reader %s: unknown PIN (%u of %u before lockout)",
	     reader->id, reader->lockout.failures, e->config->lockout_max_attempts);
	return deny(e, reader, "unknown_pin", FT_UNKNOWN_PIN);
}

/* Pick the one person this PIN means at this reader, or say why not. */
static const struct person *resolve(struct engine *e, const struct reader_state *reader,
                                    const struct pin_match *m, const char **ret_code)
{
	const struct person *member = NULL, *visitor = NULL;
	size_t n_members = 0, n_visitors = 0;
	for (size_t i = 0; i < m->n && i < PIN_MATCH_MAX; i++) {
		if (m->people[i]->kind == PERSON_MEMBER) {
			member = m->people[i];
			n_members++;
		} else {
			visitor = m->people[i];
			n_visitors++;
		}
	}
	*ret_code = "ambiguous_pin";
	if (m->n > PIN_MATCH_MAX || n_members > 1 || n_visitors > 1)
		return NULL; /* the directory is wrong; porter cannot tell who this is */
	if (member && !reader_accepts(reader, PERSON_MEMBER))
		member = NULL;
	if (visitor && !reader_accepts(reader, PERSON_VISITOR))
		visitor = NULL;
	if (member && visitor) {
		switch (e->config->pin_collision) {
		case PIN_COLLISION_MEMBER:
			return member;
		case PIN_COLLISION_VISITOR:
			return visitor;
		default:
			return NULL;
		}
	}
	*ret_code = "wrong_keypad";
	return member ? member : visitor;
}

static int refuse_person(struct engine *e, struct reader_state *reader, uint64_t now,
                         const char *code)
{
	if (strcmp(code, "ambiguous_pin") == 0) {
		plog(e->services, PORTER_LOG_WARNING,
		     "reader %s: a PIN matches several people; give them distinct PINs",
		     reader->id);
		return refuse_real_pin(e, reader, now, code, FT_AMBIGUOUS_PIN);
	}
	if (reader->config->pin_holders == PIN_HOLDERS_MEMBERS)
		return refuse_real_pin(e, reader, now, code, FT_WRONG_KEYPAD_MEMBERS);
	return refuse_real_pin(e, reader, now, code, FT_WRONG_KEYPAD_VISITORS);
}

/* Visitor check-in must be on here; a visitor's pass and a member's
 * membership must be current. Returns 0 when the person may come in. */
static int admit(struct engine *e, struct reader_state *reader, const struct person *p,
                 uint64_t now)
{
	bool visitor = p->kind == PERSON_VISITOR;
	if (visitor && !e->config->visitor_checkin)
		return refuse_real_pin(e, reader, now, "visitor_checkin_disabled",
		                       FT_VISITOR_CHECKIN_DISABLED);
	if (visitor && e->visitor_checkin_blocked)
		return refuse_real_pin(e, reader, now, "visitor_checkin_unsupported",
		                       FT_VISITOR_CHECKIN_UNSUPPORTED);
	int64_t now_s = e->wall_clock_us() / 1000000;
	if (now_s < p->valid_from)
		return refuse_real_pin(
		        e, reader, now,
		        visitor ? "visitor_pass_not_yet_valid" : "membership_not_yet_valid",
		        visitor ? FT_VISITOR_PASS_NOT_YET_VALID : FT_MEMBERSHIP_NOT_YET_VALID);
	if (now_s >= p->valid_until)
		return refuse_real_pin(e, reader, now,
		                       visitor ? "visitor_pass_expired" : "membership_expired",
		                       visitor ? FT_VISITOR_PASS_EXPIRED : FT_MEMBERSHIP_EXPIRED);
	return 0;
}

/* Anyone who is in may always check out: a pass or membership that ended
 * while they were inside, or a setup change, must not keep them from leaving. */
static bool leaving(const struct reader_state *reader, const struct presence_entry *entry)
{
	return entry->in && reader->config->direction != READER_ENTRY;
}

/* ---- in or out? -------------------------------------------------------- */

/* Unlock the door at `reader_id`. A door that does not open is an error the
 * person is told about; the caller keeps record and door in agreement. */
static bool open_door(struct engine *e, const char *reader_id, uint32_t unlock_ms,
                      const char *person_id)
{
	int r = e->services->door_unlock(e->services->host, reader_id, unlock_ms);
	if (r >= 0)
		return true;
	plog(e->services, PORTER_LOG_ERROR,
	     "reader %s: door_unlock failed (%s); %s not let through", reader_id,
	     strerror(r < -4095 ? EIO : -r), person_id);
	engine_feedback(e, reader_id, PORTER_LED_RED, PORTER_BEEP_ERROR, "door_failed",
	                FT_DOOR_FAILED, NULL);
	return false;
}

/* Answered at once with the person's current state: no change is made. */
static int grant_now(struct engine *e, const struct reader_state *reader, const struct person *p,
                     bool in)
{
	if (!open_door(e, reader->id, reader->config->unlock_ms, p->id))
		return PORTER_VERDICT_DENY;
	engine_feedback(e, reader->id, PORTER_LED_GREEN, PORTER_BEEP_OK,
	                in ? "already_in" : "already_out", in ? FT_ALREADY_IN : FT_ALREADY_OUT,
	                &(struct feedback_values){.name = p->name});
	return PORTER_VERDICT_GRANT;
}

static struct waiter **request_bucket(struct engine *e, uint64_t request_id)
{
	/* Fibonacci hashing: hosts often count ids up, which this spreads. */
	uint64_t h = request_id * UINT64_C(0x9E3779B97F4A7C15);
	return &e->pending_requests[h >> (64 - 12)];
}

static void index_add(struct engine *e, struct waiter *w)
{
	if (!w->host_request)
		return; /* no host id to look up */
	struct waiter **bucket = request_bucket(e, w->request_id);
	w->index_next = *bucket;
	*bucket = w;
}

static void index_remove(struct engine *e, struct waiter *w)
{
	for (struct waiter **at = request_bucket(e, w->request_id); *at; at = &(*at)->index_next)
		if (*at == w) {
			*at = w->index_next;
			w->index_next = NULL;
			return;
		}
}

static void waiter_init(struct waiter *w, const struct reader_state *reader, uint64_t request_id,
                        bool host_request)
{
	w->request_id = host_request ? request_id : 0;
	w->host_request = host_request;
	strcpy(w->reader_id, reader->id);
	w->unlock_ms = reader->config->unlock_ms;
}

static struct waiter *waiter_new(const struct reader_state *reader, uint64_t request_id,
                                 bool host_request)
{
	struct waiter *w = calloc(1, sizeof(*w));
	if (w)
		waiter_init(w, reader, request_id, host_request);
	return w;
}

/* A repeat while the first change is still being recorded: answered with it. */
static int join_pending(struct engine *e, struct reader_state *reader, struct pending_change *pc,
                        uint64_t request_id, bool host_request)
{
	if (pc->n_waiters >= PENDING_WAITERS_MAX)
		return deny(e, reader, "busy", FT_BUSY);
	struct waiter *w = waiter_new(reader, request_id, host_request), **tail = &pc->waiters;
	if (!w)
		return -ENOMEM;
	pc->n_waiters++;
	while (*tail)
		tail = &(*tail)->next;
	*tail = w;
	index_add(e, w);
	return PORTER_VERDICT_PENDING;
}

static struct pending_change *change_new(struct engine *e, const char *person_id, const char *name,
                                         const char *reader_id, bool in, const char *cause)
{
	/* The event key is made by the recorder thread, when the change is
	 * written: it costs more than the rest of the hook. */
	/* From slabs, not calloc: a hook must not take first-touch page faults. */
	if (!e->changes.object_size)
		pool_init(&e->changes, sizeof(struct pending_change), 64);
	struct pending_change *pc = pool_get(&e->changes);
	if (!pc)
		return NULL;
	strcpy(pc->person_id, person_id);
	strcpy(pc->reader_id, reader_id);
	strcpy(pc->name, name);
	pc->item.change.person_id = pc->person_id;
	pc->item.change.reader_id = pc->reader_id;
	pc->item.change.in = in;
	pc->item.change.at_unix_us = e->wall_clock_us();
	pc->item.change.cause = cause;
	pc->item.change.ble_counter = 0;
	return pc;
}

static void submit_change(struct engine *e, struct pending_change *pc, struct presence_entry *entry)
{
	for (struct waiter *w = pc->waiters; w; w = w->next)
		index_add(e, w);
	pc->entry = entry;
	entry->in = pc->item.change.in; /* optimistic: undone if it cannot be recorded */
	entry->since_unix_us = pc->item.change.at_unix_us;
	entry->pending = pc;
	pc->next = e->in_flight;
	if (pc->next)
		pc->next->prev = pc;
	e->in_flight = pc;
	e->n_in_flight++;
	recorder_submit(e->recorder, &pc->item);
}

static void unlink_in_flight(struct engine *e, struct pending_change *pc);
static void change_free(struct engine *e, struct pending_change *pc);
static void answer_reversal(struct engine *e, const struct pending_change *reversal,
                            const char *code);

/*
 * The person presents again while porter is reversing a change the host gave
 * up on (see reverse()). If the reversal is not being written yet, drop it:
 * the original change is durable and is what the person now wants. Otherwise
 * ask them to try again in a moment rather than answer with the reversal.
 */
static int supersede_reversal(struct engine *e, struct reader_state *reader, const struct person *p,
                              struct presence_entry *entry, uint64_t now)
{
	struct pending_change *reversal = entry->pending;
	if (!recorder_withdraw(e->recorder, &reversal->item))
		return deny(e, reader, "busy", FT_BUSY);
	if (!open_door(e, reader->id, reader->config->unlock_ms, p->id)) {
		recorder_submit(e->recorder, &reversal->item); /* the reversal stands */
		return PORTER_VERDICT_DENY;
	}
	unlink_in_flight(e, reversal);
	entry->pending = NULL;
	entry->in = !reversal->item.change.in;
	entry->has_last_change = true;
	entry->last_change_us = now;
	/* Requests whose door failed were still not let through; the change
	 * they made stands because this one got through. */
	answer_reversal(e, reversal, "door_failed");
	change_free(e, reversal);
	engine_feedback(e, reader->id, PORTER_LED_GREEN, PORTER_BEEP_OK,
	                entry->in ? "checked_in" : "checked_out",
	                entry->in ? FT_CHECKED_IN : FT_CHECKED_OUT,
	                &(struct feedback_values){.name = p->name});
	return PORTER_VERDICT_GRANT;
}

static int toggle(struct engine *e, struct reader_state *reader, const struct person *p,
                  struct presence_entry *entry, uint64_t request_id, bool host_request,
                  uint64_t now)
{
	if (entry->pending && entry->pending->automatic)
		return deny(e, reader, "busy", FT_BUSY);
	if (entry->pending && entry->pending->reversal)
		return supersede_reversal(e, reader, p, entry, now);
	if (entry->pending)
		return join_pending(e, reader, entry->pending, request_id, host_request);
	/* Only a toggle reader can toggle twice: at an entry or exit reader the
	 * second presentation asks for that reader's own change, e.g. an exit
	 * right after an entry check-in is a check-out, never "already_in". */
	if (reader->config->direction == READER_TOGGLE && entry->has_last_change &&
	    now - entry->last_change_us < (uint64_t)e->config->repeat_window_ms * 1000)
		return grant_now(e, reader, p, entry->in); /* the same person again: no toggle */
	bool in = !entry->in;
	if ((reader->config->direction == READER_ENTRY && entry->in) ||
	    (reader->config->direction == READER_EXIT && !entry->in))
		return grant_now(e, reader, p, entry->in); /* entry-only never checks out, etc. */
	if (e->n_in_flight >= e->max_in_flight) {
		plog(e->services, PORTER_LOG_WARNING,
		     "reader %s: %zu changes are waiting for the disk; refusing more", reader->id,
		     e->n_in_flight);
		return deny(e, reader, "busy", FT_BUSY);
	}
	if (outbox_full(e->outbox)) {
		plog(e->services, PORTER_LOG_ERROR,
		     "reader %s: the outbox holds its maximum of changes the backend has not taken "
		     "(outbox.max_backlog); refusing new check-ins and check-outs until it drains",
		     reader->id);
		return deny(e, reader, "backlog_full", FT_BACKLOG_FULL);
	}
	if (in && engine_directory_outdated(e)) {
		plog(e->services, PORTER_LOG_WARNING,
		     "reader %s: %s not checked in: the directory was last in step with the "
		     "backend longer ago than offline.max_age_s",
		     reader->id, p->id);
		return deny(e, reader, "directory_outdated", FT_DIRECTORY_OUTDATED);
	}
	struct pending_change *pc = change_new(e, p->id, p->name, reader->id, in, "credential");
	if (!pc)
		return -ENOMEM;
	pc->item.change.ble_counter = e->deciding_ble_counter;
	waiter_init(&pc->first, reader, request_id, host_request);
	if (in && e->deciding_pass_id) {
		snprintf(pc->pass_id, sizeof(pc->pass_id), "%s", e->deciding_pass_id);
		pc->item.change.pass_id = pc->pass_id;
		pc->item.change.pass_valid_until = e->deciding_pass_until;
	}
	pc->waiters = &pc->first;
	pc->n_waiters = 1;
	entry->has_last_change = true;
	entry->last_change_us = now;
	submit_change(e, pc, entry);
	return PORTER_VERDICT_PENDING;
}

/* Is `request_id` a request porter will still complete? */
static bool request_pending(struct engine *e, uint64_t request_id)
{
	for (const struct waiter *w = *request_bucket(e, request_id); w; w = w->index_next)
		if (w->request_id == request_id && !w->cancelled)
			return true;
	return false;
}

bool engine_reader_locked_out(struct engine *e, struct reader_state *reader, uint64_t now)
{
	uint64_t locked = lockout_remaining(&reader->lockout, now);
	if (!locked)
		return false;
	/* No credential is even looked at while locked: no oracle for a guesser. */
	record_denied(e, reader, "locked_out");
	engine_feedback(
	        e, reader->id, PORTER_LED_RED, PORTER_BEEP_ERROR, "locked_out", FT_LOCKED_OUT,
	        &(struct feedback_values){.seconds = (unsigned)((locked + 999999) / 1000000)});
	return true;
}

int engine_refuse_credential(struct engine *e, struct reader_state *reader, uint64_t now,
                             const char *code, enum feedback_text text)
{
	return refuse_real_pin(e, reader, now, code, text);
}

int engine_submit_person(struct engine *e, struct reader_state *reader, uint64_t request_id,
                         bool host_request, const struct person *p)
{
	if (host_request && request_pending(e, request_id))
		return -EEXIST; /* the host reused an id: porter.h, no feedback */
	uint64_t now = e->services->now_us(e->services->host);
	struct presence_entry *entry = presence_get(e->presence, p->id, true);
	if (!entry)
		return -ENOMEM;
	e->deciding_person_id = p->id;
	int r = leaving(reader, entry) ? 0 : admit(e, reader, p, now);
	e->deciding_person_id = NULL;
	if (r != 0)
		return r;
	return toggle(e, reader, p, entry, request_id, host_request, now);
}

int engine_submit_pin(struct engine *e, struct reader_state *reader, uint64_t request_id,
                      const char *pin, size_t len)
{
	if (request_pending(e, request_id))
		return -EEXIST; /* the host reused an id: porter.h, no feedback */
	uint64_t now = e->services->now_us(e->services->host);
	if (engine_reader_locked_out(e, reader, now))
		return PORTER_VERDICT_DENY;
	uint8_t hash[PIN_HASH_LEN];
	struct pin_match match;
	int r = pin_hasher_hash(e->hasher, pin, len, hash);
	if (r < 0)
		return r;
	directory_match_pin(e->directory, hash, &match);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (match.n == 0)
		return wrong_pin(e, reader, now);

	const char *code;
	const struct person *p = resolve(e, reader, &match, &code);
	if (!p)
		return refuse_person(e, reader, now, code);
	return engine_submit_person(e, reader, request_id, true, p);
}

/* ---- after the disk answered ------------------------------------------ */

static void unlink_in_flight(struct engine *e, struct pending_change *pc)
{
	if (pc->prev)
		pc->prev->next = pc->next;
	else
		e->in_flight = pc->next;
	if (pc->next)
		pc->next->prev = pc->prev;
	pc->prev = pc->next = NULL;
	e->n_in_flight--;
	for (struct waiter *w = pc->waiters; w; w = w->next)
		index_remove(e, w);
}

static void change_free(struct engine *e, struct pending_change *pc)
{
	while (pc->waiters) {
		struct waiter *w = pc->waiters;
		pc->waiters = w->next;
		if (w != &pc->first)
			free(w);
	}
	pool_put(&e->changes, pc);
}

static void complete(struct engine *e, const struct waiter *w, uint32_t verdict, uint32_t direction,
                     const char *code, const char *person_id)
{
	if (!w->host_request)
		return; /* a driver's request: answered at the door alone */
	struct porter_result res = {
	        .size = sizeof(res),
	        .verdict = verdict,
	        .direction = direction,
	        .code = code,
	        .person_id = person_id,
	};
	e->services->complete(e->services->host, w->request_id, &res);
}

static void reverse(struct engine *e, struct pending_change *done, const char *cause);

/*
 * Tell every waiter that is still waiting. The first one whose door opens is
 * the request that made the change (its code and direction say so); later
 * ones are answered with it (already_in/out, no direction), so a host that
 * counts directions counts each change once. If no waiter's door opened, the
 * person did not get through: the change is reversed, like a cancel.
 */
static void announce_durable(struct engine *e, struct pending_change *pc)
{
	bool in = pc->item.change.in;
	bool made = false, asked = false;
	for (struct waiter *w = pc->waiters; w; w = w->next) {
		if (w->cancelled)
			continue;
		asked = true;
		if (!open_door(e, w->reader_id, w->unlock_ms, pc->person_id)) {
			w->door_failed = true; /* told at the door now; completed below */
			continue;
		}
		const char *code = !made ? (in ? "checked_in" : "checked_out")
		                         : (in ? "already_in" : "already_out");
		enum feedback_text text = !made ? (in ? FT_CHECKED_IN : FT_CHECKED_OUT)
		                                : (in ? FT_ALREADY_IN : FT_ALREADY_OUT);
		uint32_t direction = made ? PORTER_DIRECTION_NONE
		                     : in ? PORTER_DIRECTION_IN
		                          : PORTER_DIRECTION_OUT;
		made = true;
		complete(e, w, PORTER_VERDICT_GRANT, direction, code, pc->person_id);
		engine_feedback(e, w->reader_id, PORTER_LED_GREEN, PORTER_BEEP_OK, code, text,
		                &(struct feedback_values){.name = pc->name});
	}
	if (asked && !made) {
		/* Their completion waits for the reversal to be durable: the
		 * host's record of "door_failed" must never precede it. */
		reverse(e, pc, "door_failed");
		return;
	}
	answer_reversal(e, pc, "door_failed"); /* the change stands: someone got through */
	plog(e->services, PORTER_LOG_INFO, "reader %s: %s checked %s", pc->reader_id, pc->person_id,
	     in ? "in" : "out");
}

static void announce_failed(struct engine *e, struct pending_change *pc, const char *error)
{
	plog(e->services, PORTER_LOG_ERROR, "reader %s: could not record %s checking %s: %s",
	     pc->reader_id, pc->person_id, pc->item.change.in ? "in" : "out",
	     error ? error : "unknown error");
	for (struct waiter *w = pc->waiters; w; w = w->next) {
		if (w->cancelled)
			continue;
		complete(e, w, PORTER_VERDICT_DENY, PORTER_DIRECTION_NONE, "record_failed",
		         pc->person_id);
		engine_feedback(e, w->reader_id, PORTER_LED_RED, PORTER_BEEP_ERROR, "record_failed",
		                FT_RECORD_FAILED, NULL);
	}
}

/* Complete the requests whose door failed (cancelled ones excepted). */
static void answer_reversal(struct engine *e, const struct pending_change *pc, const char *code)
{
	for (const struct waiter *w = pc->waiters; w; w = w->next)
		if (w->door_failed && !w->cancelled)
			complete(e, w, PORTER_VERDICT_DENY, PORTER_DIRECTION_NONE, code,
			         pc->person_id);
}

/* The reversal takes over the requests whose door failed: they are
 * completed when it is recorded. Returns false when out of memory. */
static bool take_door_failed(struct pending_change *reversal, const struct pending_change *done)
{
	struct waiter **tail = &reversal->waiters;
	for (const struct waiter *w = done->waiters; w; w = w->next) {
		if (!w->door_failed || w->cancelled)
			continue;
		struct waiter *copy = reversal->waiters ? malloc(sizeof(*copy)) : &reversal->first;
		if (!copy)
			return false;
		*copy = *w;
		copy->next = NULL;
		*tail = copy;
		tail = &copy->next;
		reversal->n_waiters++;
	}
	return true;
}

static bool all_cancelled(const struct pending_change *pc)
{
	for (const struct waiter *w = pc->waiters; w; w = w->next)
		if (!w->cancelled)
			return false;
	return pc->waiters != NULL;
}

/*
 * Nobody was let through for a change porter had already made durable (the
 * host gave up, or the door did not open): record the opposite, so the log
 * says what happened and presence matches the door. The reversed change no
 * longer counts for the repeat window. While stopping, the recorder takes
 * nothing more: the reversal is kept for engine_record_reversals().
 */
static void reverse(struct engine *e, struct pending_change *done, const char *cause)
{
	plog(e->services, PORTER_LOG_WARNING,
	     "reader %s: %s was not let through checking %s (%s); recording the reverse",
	     done->reader_id, done->person_id, done->item.change.in ? "in" : "out", cause);
	struct pending_change *pc = change_new(e, done->person_id, done->name, done->reader_id,
	                                       !done->item.change.in, cause);
	if (!pc || !take_door_failed(pc, done)) {
		plog(e->services, PORTER_LOG_ERROR, "out of memory recording a reverse change");
		if (pc)
			change_free(e, pc);
		answer_reversal(e, done, "door_failed");
		return;
	}
	pc->reversal = true;
	if (done->pass_id[0] && done->item.change.in) {
		/* The visitor was not let in: their single-use pass is theirs
		 * again, in the reversal's own transaction (store.h). */
		memcpy(pc->pass_id, done->pass_id, sizeof(pc->pass_id));
		pc->item.change.pass_id = pc->pass_id;
		pc->item.change.pass_valid_until = done->item.change.pass_valid_until;
		pc->item.change.pass_used_at_unix_us = done->item.change.at_unix_us;
	}
	done->entry->has_last_change = false;
	if (!e->stopping) {
		submit_change(e, pc, done->entry);
		return;
	}
	pc->entry = done->entry;
	pc->entry->in = pc->item.change.in;
	struct pending_change **tail = &e->reversals; /* in the order decided */
	while (*tail)
		tail = &(*tail)->next;
	*tail = pc;
}

static void cutoff_recorded(struct engine *e, struct pending_change *pc, const char *error);

/* A durable change with a single-use pass: its check-in used it, or its
 * reversal gave it back. */
static void pass_recorded(struct engine *e, const struct pending_change *pc)
{
	if (pc->item.change.in && e->pass_used)
		e->pass_used(e->pass_userdata, pc->pass_id, pc->item.change.pass_valid_until);
	else if (!pc->item.change.in && e->pass_returned)
		e->pass_returned(e->pass_userdata, pc->pass_id);
}

bool engine_pass_being_returned(struct engine *e, const char *person_id, const char *pass_id)
{
	struct presence_entry *entry = presence_get(e->presence, person_id, false);
	const struct pending_change *pc = entry ? entry->pending : NULL;
	return pc && pc->reversal && strcmp(pc->pass_id, pass_id) == 0;
}

void engine_change_recorded(void *userdata, struct recorder_item *item, const char *error)
{
	struct engine *e = userdata;
	struct pending_change *pc = (struct pending_change *)item;
	if (item->status >= 0)
		outbox_recorded(e->outbox); /* durable: its turn to reach the backend */
	/* The pass is used as the database says, whatever the door does next
	 * (a reversal gives it back, once that is durable too). */
	if (item->status >= 0 && pc->pass_id[0])
		pass_recorded(e, pc);
	unlink_in_flight(e, pc);
	pc->entry->pending = NULL;
	if (pc->automatic) {
		cutoff_recorded(e, pc, error);
		return;
	}
	if (pc->reversal) {
		/* Its requests were told at the door already; now the host's
		 * record. A reversal that failed leaves the change recorded:
		 * "record_failed" says the record does not match the door. */
		if (item->status < 0) {
			pc->entry->in = !item->change.in;
			plog(e->services, PORTER_LOG_ERROR,
			     "reader %s: could not record the reverse for %s: %s; the record "
			     "still says checked %s",
			     pc->reader_id, pc->person_id, error ? error : "unknown error",
			     pc->entry->in ? "in" : "out");
		} else {
			plog(e->services, PORTER_LOG_INFO, "reader %s: %s checked %s (%s)",
			     pc->reader_id, pc->person_id, item->change.in ? "in" : "out",
			     item->change.cause);
		}
		answer_reversal(e, pc, item->status < 0 ? "record_failed" : "door_failed");
	} else if (item->status < 0) {
		pc->entry->in = !item->change.in;
		pc->entry->has_last_change = false;
		announce_failed(e, pc, error);
	} else if (all_cancelled(pc)) {
		reverse(e, pc, "host_cancelled");
	} else {
		announce_durable(e, pc);
	}
	change_free(e, pc);
}

void engine_cancel(struct engine *e, uint64_t request_id)
{
	for (struct pending_change *pc = e->in_flight; pc; pc = pc->next) {
		for (struct waiter *w = pc->waiters; w; w = w->next) {
			if (!w->host_request || w->request_id != request_id || w->cancelled)
				continue;
			w->cancelled = true;
			/* A reversal is never withdrawn: the change it undoes is durable. */
			if (!pc->reversal && all_cancelled(pc) &&
			    recorder_withdraw(e->recorder, &pc->item)) {
				/* Never written: as if it had not happened. */
				unlink_in_flight(e, pc);
				pc->entry->pending = NULL;
				pc->entry->in = !pc->item.change.in;
				pc->entry->has_last_change = false;
				change_free(e, pc);
			}
			return;
		}
	}
}

int engine_load_presence(void *userdata, const char *person_id, bool in)
{
	struct engine *e = userdata;
	struct presence_entry *entry = presence_get(e->presence, person_id, true);
	if (!entry)
		return -ENOMEM;
	entry->in = in;
	return 0;
}

void engine_record_reversals(struct engine *e, struct store *store)
{
	size_t n = 0;
	for (struct pending_change *pc = e->reversals; pc; pc = pc->next)
		n++;
	if (n == 0)
		return;
	const struct store_change **changes = calloc(n, sizeof(*changes));
	char err[256] = "out of memory";
	int r = changes ? 0 : -ENOMEM;
	size_t k = 0;
	for (struct pending_change *pc = e->reversals; pc && r == 0; pc = pc->next) {
		if ((r = store_new_event_key(pc->item.change.event_key)) < 0)
			snprintf(err, sizeof(err), "no randomness for an event key");
		changes[k++] = &pc->item.change;
	}
	if (r == 0)
		r = store_record(store, changes, n, err, sizeof(err));
	if (r < 0)
		plog(e->services, PORTER_LOG_ERROR,
		     "shutdown: could not record the reverse of %zu changes nobody was let "
		     "through for: %s",
		     n, err);
	else
		plog(e->services, PORTER_LOG_INFO,
		     "shutdown: recorded the reverse of %zu changes nobody was let through for", n);
	free(changes);
	for (struct pending_change *pc = e->reversals; pc; pc = pc->next) {
		if (r >= 0 && pc->pass_id[0])
			pass_recorded(e, pc);
		answer_reversal(e, pc, r < 0 ? "record_failed" : "door_failed");
	}
	while (e->reversals) {
		struct pending_change *pc = e->reversals;
		e->reversals = pc->next;
		change_free(e, pc);
	}
}

void engine_release(struct engine *e)
{
	while (e->in_flight) {
		struct pending_change *pc = e->in_flight;
		unlink_in_flight(e, pc);
		change_free(e, pc);
	}
	pool_release(&e->changes);
}

/* ---- the daily check-out ------------------------------------------------ */

struct cutoff_run {
	struct engine *engine;
	int64_t at_unix_us;
	size_t submitted, left_in_flight;
};

static void cutoff_one(void *userdata, struct presence_entry *entry)
{
	struct cutoff_run *run = userdata;
	struct engine *e = run->engine;
	if (!entry->in || entry->since_unix_us >= run->at_unix_us)
		return;
	if (entry->pending) {
		run->left_in_flight++;
		return;
	}
	struct pending_change *pc = change_new(e, entry->person_id, "", "", false, "daily_cutoff");
	if (!pc) {
		plog(e->services, PORTER_LOG_ERROR, "daily check-out: out of memory for %s",
		     entry->person_id);
		return;
	}
	pc->automatic = true;
	pc->item.change.at_unix_us = run->at_unix_us;
	entry->has_last_change = false; /* their next PIN is a check-in, not a repeat */
	e->cutoff_in_flight++;
	run->submitted++;
	submit_change(e, pc, entry);
}

size_t engine_daily_cutoff(struct engine *e, int64_t at_unix_us)
{
	struct cutoff_run run = {e, at_unix_us, 0, 0};
	if (e->stopping)
		return 0;
	presence_foreach(e->presence, cutoff_one, &run);
	if (run.left_in_flight)
		plog(e->services, PORTER_LOG_INFO,
		     "daily check-out: %zu people whose own change is being recorded are left as "
		     "it leaves them",
		     run.left_in_flight);
	return run.submitted;
}

static void cutoff_recorded(struct engine *e, struct pending_change *pc, const char *error)
{
	if (pc->item.status < 0) {
		/* Still in, as the store says; the next run tries again. */
		pc->entry->in = true;
		pc->entry->since_unix_us = 0;
		e->cutoff_failed++;
		plog(e->services, PORTER_LOG_ERROR, "daily check-out: could not record %s: %s",
		     pc->person_id, error ? error : "unknown error");
	} else {
		e->cutoff_done++;
	}
	change_free(e, pc);
	if (--e->cutoff_in_flight > 0)
		return;
	plog(e->services, PORTER_LOG_INFO, "daily check-out: %zu %s checked out%s", e->cutoff_done,
	     e->cutoff_done == 1 ? "person" : "people",
	     e->cutoff_failed ? " (some could not be recorded, see above)" : "");
	e->cutoff_done = e->cutoff_failed = 0;
}

int engine_load_since(void *userdata, const char *person_id, int64_t since_unix_us)
{
	struct engine *e = userdata;
	struct presence_entry *entry = presence_get(e->presence, person_id, true);
	if (!entry)
		return -ENOMEM;
	entry->since_unix_us = since_unix_us;
	return 0;
}

bool engine_directory_outdated(const struct engine *e)
{
	if (!e->offline_max_age_us)
		return false;
	return e->wall_clock_us() - e->directory_synced_unix_us > e->offline_max_age_us;
}

void engine_presence_learned(struct engine *e, const char *person_id, bool in, int64_t at_unix_us)
{
	struct presence_entry *entry = presence_get(e->presence, person_id, true);
	/* A change of this door not yet durable, or one made after what the
	 * backend says, is newer: this door's own word stands. */
	if (!entry || entry->pending || at_unix_us <= entry->since_unix_us || entry->in == in) {
		if (entry && entry->in == in && at_unix_us > entry->since_unix_us &&
		    !entry->pending)
			entry->since_unix_us = at_unix_us;
		return;
	}
	plog(e->services, PORTER_LOG_INFO, "%s checked %s elsewhere (the backend says so)",
	     person_id, in ? "in" : "out");
	entry->in = in;
	entry->since_unix_us = at_unix_us;
	entry->has_last_change = false; /* no repeat window for a change made elsewhere */
}
