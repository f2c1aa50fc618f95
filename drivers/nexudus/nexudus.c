/* SPDX-License-Identifier: MIT */
/*
 * nexudus.c: the Nexudus backend's construction and its presence sink
 * (check-in records, visitors' arrival and departure). See nexudus.h; the
 * directory and presence syncs are in nexudus_sync.c.
 */
#include "nexudus.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
#include "nexudus_private.h"
#include "nexudus_reply.h"
#include "secret_file.h"
#include "utc_time.h"

#define CREDENTIALS_MAX 1024
#define CLIENT_ID_FILE  "nexudus-client-id"

void nx_format_time(int64_t unix_us, bool millis, char out[40])
{
	if (millis)
		utc_time_format_ms(unix_us, out);
	else /* the second the instant is in, before 1970 too */
		utc_time_format_s(unix_us >= 0 ? unix_us / 1000000 : (unix_us - 999999) / 1000000,
		                  out);
}

/* ---- finishing a delivery ---------------------------------------------- */

static void job_finish(struct nexudus *n, enum delivery_outcome outcome, uint64_t retry_after_us,
                       const char *reason)
{
	struct delivery_result r = {.outcome = outcome, .retry_after_us = retry_after_us};
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	delivery_done_fn done = n->job.done;
	void *userdata = n->job.userdata;
	n->job.busy = false;
	n->job.call = 0;
	if (outcome == DELIVERY_REJECTED)
		plog(n->services, PORTER_LOG_WARNING,
		     "nexudus: change %" PRId64 " of %s refused: %s", n->job.d.seq,
		     n->job.d.person_id, r.reason);
	done(userdata, &r);
}

static void finish_timer(void *userdata)
{
	struct nexudus *n = userdata;
	n->job.finish_timer = 0;
	job_finish(n, n->job.result.outcome, n->job.result.retry_after_us, n->job.result.reason);
}

/* Finish later: deliver() must never call done itself. */
static int job_finish_later(struct nexudus *n, enum delivery_outcome outcome, const char *reason)
{
	n->job.result.outcome = outcome;
	n->job.result.retry_after_us = 0;
	snprintf(n->job.result.reason, sizeof(n->job.result.reason), "%s", reason);
	n->job.finish_timer = n->services->timer_add(n->services->host, 0, finish_timer, n);
	return n->job.finish_timer < 0 ? (int)n->job.finish_timer : 0;
}

static bool step_is_write(enum nx_step step)
{
	return step == NX_POST_CHECKIN || step == NX_PUT_CHECKIN || step == NX_PUT_VISITOR;
}

/*
 * Read the answer to a step. Returns true when it is a 2xx with a body to
 * read; otherwise the delivery is finished here (RETRY or REJECTED).
 */
static bool answer_ok(struct nexudus *n, const struct nexudus_reply *reply, const char *what)
{
	char reason[DELIVERY_REASON_MAX];
	bool write = step_is_write(n->job.step);
	if (reply->error < 0) {
		snprintf(reason, sizeof(reason), "%s: %s", what, reply->reason);
		job_finish(n, DELIVERY_RETRY, reply->retry_after_us, reason);
		return false;
	}
	const struct http_response *h = reply->http;
	if (h->outcome != HTTP_OK) {
		/* A write that may have landed: look before writing it again. */
		if (write && h->outcome == HTTP_FAIL_AMBIGUOUS)
			n->ambiguous_seq = n->job.d.seq;
		snprintf(reason, sizeof(reason), "%s: %s%s", what, h->error,
		         write && h->ambiguous ? " (porter looks before writing again)" : "");
		job_finish(n, DELIVERY_RETRY, 0, reason);
		return false;
	}
	if (h->status >= 200 && h->status < 300)
		return true;
	if (h->status == 409) {
		snprintf(reason, sizeof(reason), "%s: Nexudus is throttling porter (409)", what);
		job_finish(n, DELIVERY_RETRY, reply->retry_after_us, reason);
		return false;
	}
	if (h->status == 400) {
		struct nexudus_envelope env;
		char err[160];
		if (nexudus_envelope_parse(h->body, h->body_len, &env, err, sizeof(err)) == 0 &&
		    env.n_errors > 0) {
			snprintf(reason, sizeof(reason), "%s: Nexudus refused it: %.200s", what,
			         env.reason);
			job_finish(n, DELIVERY_REJECTED, 0, reason);
			return false;
		}
	}
	if (write && h->status >= 500)
		n->ambiguous_seq = n->job.d.seq; /* a server error may come after the write */
	snprintf(reason, sizeof(reason), "%s: Nexudus answered HTTP %ld%s", what, h->status,
	         h->status == 401 ? " twice (the token is refused)" : "");
	job_finish(n, DELIVERY_RETRY, 0, reason);
	return false;
}

/* A write's 2xx: the envelope says whether it was taken. */
static void write_answered(struct nexudus *n, const struct nexudus_reply *reply, const char *what)
{
	char reason[DELIVERY_REASON_MAX], err[160];
	struct nexudus_envelope env;
	const struct http_response *h = reply->http;
	if (nexudus_envelope_parse(h->body, h->body_len, &env, err, sizeof(err)) < 0) {
		/* Taken or not, porter cannot tell: look first next time. */
		n->ambiguous_seq = n->job.d.seq;
		snprintf(reason, sizeof(reason), "%s: unreadable answer (%s)", what, err);
		job_finish(n, DELIVERY_RETRY, 0, reason);
		return;
	}
	if (!env.was_successful) {
		snprintf(reason, sizeof(reason), "%s: Nexudus refused it: %.200s", what,
		         env.reason);
		job_finish(n, env.n_errors ? DELIVERY_REJECTED : DELIVERY_RETRY, 0, reason);
		return;
	}
	if (n->ambiguous_seq == n->job.d.seq)
		n->ambiguous_seq = -1;
	job_finish(n, DELIVERY_DELIVERED, 0, "");
}

/* ---- reading the one record a lookup returns ------------------------------- */

struct first_record {
	bool found;
	struct nexudus_record record; /* without secrets: cleared below */
};

static int keep_first(void *userdata, const struct nexudus_record *record)
{
	struct first_record *f = userdata;
	if (!f->found) {
		f->found = true;
		f->record = *record;
		if (record->kind == NEXUDUS_VISITORS)
			OPENSSL_cleanse(f->record.visitor.visitor_code,
			                sizeof(f->record.visitor.visitor_code));
	}
	return 0;
}

static int read_first(const struct http_response *h, enum nexudus_kind kind,
                      struct first_record *ret, char *err, size_t errlen)
{
	struct nexudus_page page;
	memset(ret, 0, sizeof(*ret));
	return nexudus_page_parse(h->body, h->body_len, kind, keep_first, ret, &page, err, errlen);
}

/* The page's Records[0] as a whole JSON object, changed with `set` and
 * written out: Nexudus has no PATCH, a PUT replaces the whole record. */
static char *record_with(const struct http_response *h, const char *const *names,
                         json_object *const *values, size_t n_values)
{
	struct json_tokener *tok = json_tokener_new_ex(NEXUDUS_REPLY_DEPTH);
	json_object *root = tok ? json_tokener_parse_ex(tok, h->body, (int)h->body_len) : NULL;
	json_object *records = NULL, *rec = NULL;
	char *out = NULL;
	if (root && json_object_object_get_ex(root, "Records", &records) &&
	    json_object_is_type(records, json_type_array) && json_object_array_length(records) > 0)
		rec = json_object_array_get_idx(records, 0);
	if (rec && json_object_is_type(rec, json_type_object)) {
		for (size_t i = 0; i < n_values; i++)
			json_object_object_add(rec, names[i], json_object_get(values[i]));
		const char *text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
		out = text ? strdup(text) : NULL;
	}
	for (size_t i = 0; i < n_values; i++)
		json_object_put(values[i]);
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	return out;
}

/* ---- the steps --------------------------------------------------------------- */

static void step_answered(void *userdata, const struct nexudus_reply *reply);

static int call_step(struct nexudus *n, enum nx_step step, const char *method, const char *path,
                     const char *body)
{
	n->job.step = step;
	return nexudus_session_call(n->session, method, path, body, step_answered, n, &n->job.call);
}

/* A step after the first could not be queued: the delivery ends here. */
static void queue_failed(struct nexudus *n, int r)
{
	if (r < 0) {
		char reason[96];
		snprintf(reason, sizeof(reason), "cannot queue a Nexudus request (%s)",
		         strerror(-r));
		job_finish(n, DELIVERY_RETRY, 0, reason);
	}
}

static int post_checkin(struct nexudus *n)
{
	char at[40], body[256];
	nx_format_time(n->job.d.at_unix_us, true, at);
	snprintf(body, sizeof(body),
	         "{\"BusinessId\":%" PRId64 ",\"CoworkerId\":%" PRId64
	         ",\"FromTime\":\"%s\",\"ToTime\":null,\"Source\":2}",
	         n->business_id, n->job.nexudus_id, at);
	return call_step(n, NX_POST_CHECKIN, "POST", "/api/spaces/checkins", body);
}

/* Times in filters: the second of the change, both ends inclusive (the
 * replies porter reads carry whole seconds). */
static void second_range(int64_t at_us, char from[40], char to[40])
{
	int64_t s = at_us >= 0 ? at_us / 1000000 : (at_us - 999999) / 1000000;
	nx_format_time(s * 1000000, false, from);
	nx_format_time(s * 1000000 + 999000, true, to);
}

static int look_checkin(struct nexudus *n)
{
	char path[384], from[40], to[40];
	second_range(n->job.d.at_unix_us, from, to);
	snprintf(path, sizeof(path),
	         "/api/spaces/checkins?Checkin_Coworker=%" PRId64
	         "&from_Checkin_FromTime=%s&to_Checkin_FromTime=%s&size=20",
	         n->job.nexudus_id, from, to);
	return call_step(n, NX_LOOK_CHECKIN, "GET", path, NULL);
}

/* The coworker's newest open check-in: read before a check-out (the record
 * it closes) and before every check-in (one open already: no second). */
static int open_checkin(struct nexudus *n, enum nx_step step)
{
	char path[256];
	snprintf(path, sizeof(path),
	         "/api/spaces/checkins?Checkin_Coworker=%" PRId64
	         "&Checkin_ToTime=null&orderBy=FromTime&dir=-1&size=1",
	         n->job.nexudus_id);
	return call_step(n, step, "GET", path, NULL);
}

static int find_closed(struct nexudus *n)
{
	char path[320], from[40], to[40];
	second_range(n->job.d.at_unix_us, from, to);
	snprintf(path, sizeof(path),
	         "/api/spaces/checkins?Checkin_Coworker=%" PRId64
	         "&from_Checkin_ToTime=%s&orderBy=ToTime&dir=-1&size=1",
	         n->job.nexudus_id, from);
	return call_step(n, NX_FIND_CLOSED, "GET", path, NULL);
}

/* The coworker's newest check-in, open or closed. */
static int newest_checkin(struct nexudus *n)
{
	char path[256];
	snprintf(path, sizeof(path),
	         "/api/spaces/checkins?Checkin_Coworker=%" PRId64 "&orderBy=FromTime&dir=-1&size=1",
	         n->job.nexudus_id);
	return call_step(n, NX_FIND_NEWEST, "GET", path, NULL);
}

static int get_visitor(struct nexudus *n)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/spaces/visitors?Visitor_Id=%" PRId64 "&size=1",
	         n->job.nexudus_id);
	return call_step(n, NX_GET_VISITOR, "GET", path, NULL);
}

static void put_record(struct nexudus *n, enum nx_step step, const char *path,
                       const struct http_response *h, const char *const *names,
                       json_object *const *values, size_t n_values)
{
	char *body = record_with(h, names, values, n_values);
	if (!body) {
		job_finish(n, DELIVERY_RETRY, 0, "cannot copy the Nexudus record to put it back");
		return;
	}
	queue_failed(n, call_step(n, step, "PUT", path, body));
	free(body);
}

static int64_t second_of(int64_t at_us)
{
	return at_us >= 0 ? at_us / 1000000 : (at_us - 999999) / 1000000;
}

/* A record's time (second, milliseconds or -1) against a change's: -1, 0
 * or 1. Without milliseconds (a server that drops them) the second decides,
 * so two changes in one second cannot be told apart. */
static int compare_at(int64_t s, int32_t ms, int64_t at_us)
{
	int64_t at_s = second_of(at_us);
	int32_t at_ms = (int32_t)((at_us - at_s * 1000000) / 1000);
	if (s != at_s)
		return s < at_s ? -1 : 1;
	if (ms < 0 || ms == at_ms)
		return 0;
	return ms < at_ms ? -1 : 1;
}

/* NX_LOOK_CHECKIN: is one of the records this very check-in? (The earlier
 * visit of someone in and out within a second shares its second.) */
struct look_at {
	int64_t at_us;
	bool found;
};

static int match_from_time(void *userdata, const struct nexudus_record *record)
{
	struct look_at *l = userdata;
	if (compare_at(record->checkin.from_time, record->checkin.from_ms, l->at_us) == 0)
		l->found = true;
	return 0;
}

static void visitor_found(struct nexudus *n, const struct http_response *h)
{
	struct first_record f;
	char err[160], reason[DELIVERY_REASON_MAX], at[40];
	if (read_first(h, NEXUDUS_VISITORS, &f, err, sizeof(err)) < 0) {
		snprintf(reason, sizeof(reason), "reading visitor %" PRId64 ": %s",
		         n->job.nexudus_id, err);
		job_finish(n, DELIVERY_RETRY, 0, reason);
		return;
	}
	if (!f.found) {
		snprintf(reason, sizeof(reason), "Nexudus has no visitor %" PRId64 " (%s)",
		         n->job.nexudus_id, n->job.d.person_id);
		job_finish(n, DELIVERY_REJECTED, 0, reason);
		return;
	}
	const struct nexudus_visitor *v = &f.record.visitor;
	int64_t t = second_of(n->job.d.at_unix_us);
	nx_format_time(n->job.d.at_unix_us, true, at);
	if (n->job.d.in) {
		/* Arrived already at or before this time: the space was told. */
		if (v->arrived && v->arrival_date != INT64_MIN && v->arrival_date <= t) {
			job_finish(n, DELIVERY_DELIVERED, 0, "");
			return;
		}
		const char *names[] = {"Arrived", "ArrivalDate"};
		json_object *values[] = {json_object_new_boolean(1), json_object_new_string(at)};
		put_record(n, NX_PUT_VISITOR, "/api/spaces/visitors", h, names, values, 2);
	} else {
		if (v->departure_date != INT64_MIN && v->departure_date >= t) {
			job_finish(n, DELIVERY_DELIVERED, 0, "");
			return;
		}
		const char *names[] = {"DepartureDate"};
		json_object *values[] = {json_object_new_string(at)};
		put_record(n, NX_PUT_VISITOR, "/api/spaces/visitors", h, names, values, 1);
	}
}

static void step_answered(void *userdata, const struct nexudus_reply *reply)
{
	struct nexudus *n = userdata;
	struct first_record f;
	char err[160], reason[DELIVERY_REASON_MAX], at[40];
	n->job.call = 0;
	switch (n->job.step) {
	case NX_LOOK_OPEN:
		if (!answer_ok(n, reply, "looking for an open check-in"))
			return;
		if (read_first(reply->http, NEXUDUS_CHECKINS, &f, err, sizeof(err)) < 0) {
			snprintf(reason, sizeof(reason), "looking for an open check-in: %s", err);
			job_finish(n, DELIVERY_RETRY, 0, reason);
		} else if (f.found) {
			/* In already (another door within the two-door window, reception,
			 * the app, or this change's own write that landed): Nexudus has
			 * them in, and their check-out closes that visit. */
			nx_format_time(f.record.checkin.from_time * 1000000, false, at);
			plog(n->services, PORTER_LOG_INFO,
			     "nexudus: %s is checked in at Nexudus already (since %s): change "
			     "%" PRId64 " opens no second visit",
			     n->job.d.person_id, at, n->job.d.seq);
			if (n->ambiguous_seq == n->job.d.seq)
				n->ambiguous_seq = -1;
			job_finish(n, DELIVERY_DELIVERED, 0, "");
		} else if (n->job.look) {
			queue_failed(n, look_checkin(n));
		} else {
			queue_failed(n, post_checkin(n));
		}
		return;
	case NX_LOOK_CHECKIN: {
		struct look_at l = {.at_us = n->job.d.at_unix_us};
		struct nexudus_page page;
		if (!answer_ok(n, reply, "looking for the check-in"))
			return;
		if (nexudus_page_parse(reply->http->body, reply->http->body_len, NEXUDUS_CHECKINS,
		                       match_from_time, &l, &page, err, sizeof(err)) < 0) {
			snprintf(reason, sizeof(reason), "looking for the check-in: %s", err);
			job_finish(n, DELIVERY_RETRY, 0, reason);
		} else if (l.found) {
			if (n->ambiguous_seq == n->job.d.seq)
				n->ambiguous_seq = -1;
			job_finish(n, DELIVERY_DELIVERED, 0, "");
		} else {
			queue_failed(n, post_checkin(n));
		}
		return;
	}
	case NX_POST_CHECKIN:
		if (answer_ok(n, reply, "writing the check-in"))
			write_answered(n, reply, "writing the check-in");
		return;
	case NX_FIND_OPEN:
		if (!answer_ok(n, reply, "looking for the open check-in"))
			return;
		if (read_first(reply->http, NEXUDUS_CHECKINS, &f, err, sizeof(err)) < 0) {
			snprintf(reason, sizeof(reason), "looking for the open check-in: %s", err);
			job_finish(n, DELIVERY_RETRY, 0, reason);
		} else if (f.found &&
		           f.record.checkin.from_time <= second_of(n->job.d.at_unix_us)) {
			char path[64];
			nx_format_time(n->job.d.at_unix_us, true, at);
			snprintf(path, sizeof(path), "/api/spaces/checkins/%" PRId64,
			         f.record.checkin.id);
			const char *names[] = {"ToTime"};
			json_object *values[] = {json_object_new_string(at)};
			put_record(n, NX_PUT_CHECKIN, path, reply->http, names, values, 1);
		} else {
			queue_failed(n, find_closed(n));
		}
		return;
	case NX_FIND_CLOSED:
		if (!answer_ok(n, reply, "looking for the closed check-in"))
			return;
		if (read_first(reply->http, NEXUDUS_CHECKINS, &f, err, sizeof(err)) < 0) {
			snprintf(reason, sizeof(reason), "looking for the closed check-in: %s",
			         err);
			job_finish(n, DELIVERY_RETRY, 0, reason);
		} else if (f.found && compare_at(f.record.checkin.to_time, f.record.checkin.to_ms,
		                                 n->job.d.at_unix_us) >= 0) {
			/* Closed at or after this check-out (this one landed before, or
			 * the person was checked out elsewhere): nothing to do. */
			if (n->ambiguous_seq == n->job.d.seq)
				n->ambiguous_seq = -1;
			job_finish(n, DELIVERY_DELIVERED, 0, "");
		} else {
			queue_failed(n, newest_checkin(n));
		}
		return;
	case NX_FIND_NEWEST:
		if (!answer_ok(n, reply, "looking for the newest check-in"))
			return;
		if (read_first(reply->http, NEXUDUS_CHECKINS, &f, err, sizeof(err)) < 0) {
			snprintf(reason, sizeof(reason), "looking for the newest check-in: %s",
			         err);
			job_finish(n, DELIVERY_RETRY, 0, reason);
		} else if (f.found && f.record.checkin.to_time != INT64_MIN &&
		           f.record.checkin.from_time <= second_of(n->job.d.at_unix_us)) {
			/* The visit this check-out ends was closed earlier, elsewhere:
			 * the person left by another door within the two-door window
			 * (or reception closed it). Nothing to close, nothing lost. No
			 * lower bound on when it was closed: the window lasts as long
			 * as a door's backlog, and a check-in that never reached
			 * Nexudus is a dead letter of its own already. */
			nx_format_time(f.record.checkin.to_time * 1000000, false, at);
			plog(n->services, PORTER_LOG_INFO,
			     "nexudus: %s was checked out at Nexudus already (at %s): change "
			     "%" PRId64 " closes nothing",
			     n->job.d.person_id, at, n->job.d.seq);
			if (n->ambiguous_seq == n->job.d.seq)
				n->ambiguous_seq = -1;
			job_finish(n, DELIVERY_DELIVERED, 0, "");
		} else {
			snprintf(reason, sizeof(reason),
			         "Nexudus has no open check-in of %s to close at this time",
			         n->job.d.person_id);
			job_finish(n, DELIVERY_REJECTED, 0, reason);
		}
		return;
	case NX_PUT_CHECKIN:
		if (answer_ok(n, reply, "closing the check-in"))
			write_answered(n, reply, "closing the check-in");
		return;
	case NX_GET_VISITOR:
		if (answer_ok(n, reply, "reading the visitor"))
			visitor_found(n, reply->http);
		return;
	case NX_PUT_VISITOR:
		if (answer_ok(n, reply,
		              n->job.d.in ? "marking the visitor arrived"
		                          : "marking the visitor departed"))
			write_answered(n, reply, "updating the visitor");
		return;
	}
}

/* "nx-c-<Id>" or "nx-v-<Id>": a positive decimal id. */
static bool parse_person(const char *id, bool *ret_visitor, int64_t *ret_id)
{
	if (strncmp(id, "nx-c-", 5) != 0 && strncmp(id, "nx-v-", 5) != 0)
		return false;
	const char *p = id + 5;
	int64_t v = 0;
	if (*p < '1' || *p > '9')
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	*ret_visitor = id[3] == 'v';
	*ret_id = v;
	return true;
}

static int deliver(void *impl, const struct delivery *d, delivery_done_fn done, void *userdata)
{
	struct nexudus *n = impl;
	if (n->job.busy)
		return -EBUSY;
	n->job = (struct nx_job){.busy = true, .d = *d, .done = done, .userdata = userdata};
	if (!parse_person(d->person_id, &n->job.visitor, &n->job.nexudus_id)) {
		char reason[DELIVERY_REASON_MAX];
		snprintf(
		        reason, sizeof(reason),
		        "person id %s is not a Nexudus coworker (nx-c-<Id>) or visitor (nx-v-<Id>)",
		        d->person_id);
		int r = job_finish_later(n, DELIVERY_REJECTED, reason);
		if (r < 0)
			n->job.busy = false;
		return r;
	}
	/* A change recorded before this run may have been written by it: look. */
	n->job.look = d->at_unix_us < n->started_us || d->seq == n->ambiguous_seq;
	int r;
	if (n->job.visitor)
		r = get_visitor(n);
	else if (!d->in)
		r = open_checkin(n, NX_FIND_OPEN); /* a check-out reads the record it closes */
	else
		r = open_checkin(n, NX_LOOK_OPEN); /* a check-in never opens a second visit */
	if (r < 0)
		n->job.busy = false;
	return r;
}

static void cancel(void *impl)
{
	struct nexudus *n = impl;
	if (!n->job.busy)
		return;
	if (n->job.call) {
		if (step_is_write(n->job.step))
			n->ambiguous_seq = n->job.d.seq; /* it may have left */
		nexudus_session_cancel(n->session, n->job.call);
	}
	if (n->job.finish_timer > 0)
		n->services->timer_remove(n->services->host, n->job.finish_timer);
	n->job.busy = false;
	n->job.call = 0;
	n->job.finish_timer = 0;
}

static int read_credentials(const char *path, char *user, char *password, char *err, size_t errlen);

/* The admin reloaded porter: the credentials file may have been fixed (a
 * refused password is asked again at once), and the directory is fetched
 * now rather than at the next interval, with the reloaded keypad lengths
 * and site's day (a sync under way keeps the ones it began with; another
 * follows it). */
static void refresh(void *impl, const struct backend_settings *settings)
{
	struct nexudus *n = impl;
	if (settings) {
		n->pin_min_length = settings->pin_min_length;
		n->pin_max_length = settings->pin_max_length;
		n->day = settings->day;
	}
	char user[CREDENTIALS_MAX + 1], password[CREDENTIALS_MAX + 1], err[512];
	if (read_credentials(n->credentials_file, user, password, err, sizeof(err)) < 0)
		plog(n->services, PORTER_LOG_WARNING,
		     "nexudus: %s; the credentials read before stay", err);
	else if (nexudus_session_set_credentials(n->session, user, password) < 0)
		plog(n->services, PORTER_LOG_WARNING, "nexudus: out of memory reading credentials");
	OPENSSL_cleanse(user, sizeof(user));
	OPENSSL_cleanse(password, sizeof(password));
	nx_sync_now(n);
}

static const char *directory_path(void *impl)
{
	struct nexudus *n = impl;
	return n->cache_path;
}

static int diagnostics(void *impl, porter_report_fn report, void *userdata)
{
	struct nexudus *n = impl;
	char message[512], problem[256], since[40];
	int count = 0;
	int64_t at = nexudus_session_auth_problem(n->session, problem, sizeof(problem));
	if (at) {
		nx_format_time(at, false, since);
		snprintf(message, sizeof(message),
		         "%s since %s; porter asks again every few minutes and delivers nothing "
		         "to Nexudus meanwhile (the changes wait in the outbox)",
		         problem, since);
		struct porter_report r = {
		        .size = sizeof(r),
		        .severity = PORTER_SEVERITY_ERROR,
		        .code = "PORTER-D007",
		        .message = message,
		        .fix = "put the account's current user name and password in the Nexudus "
		               "credentials file (user name on the first line, password on the "
		               "second) and reload porter",
		};
		if (report)
			report(userdata, &r);
		count++;
	}
	return count + nx_sync_diagnostics(n, report, userdata);
}

static void stop(void *impl)
{
	struct nexudus *n = impl;
	if (!n)
		return;
	nx_sync_stop(n);
	if (n->job.finish_timer > 0)
		n->services->timer_remove(n->services->host, n->job.finish_timer);
	n->session = nexudus_session_free(n->session);
	n->http = http_client_free(n->http);
	OPENSSL_cleanse(n->pin_key, sizeof(n->pin_key));
	free(n->cache_path);
	free(n->credentials_file);
	free(n);
}

/* ---- construction ------------------------------------------------------------- */

static int read_credentials(const char *path, char *user, char *password, char *err, size_t errlen)
{
	char text[CREDENTIALS_MAX + 1];
	size_t len = 0;
	int r = secret_file_read(path, "Nexudus credentials file", text, CREDENTIALS_MAX, &len, err,
	                         errlen);
	if (r == 0 && len >= CREDENTIALS_MAX) {
		snprintf(err, errlen, "Nexudus credentials file %s: too long", path);
		r = -EINVAL;
	}
	if (r == 0) {
		text[len] = '\0';
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		const char *pw = nl ? nl + 1 : "";
		size_t ul = strlen(text), pl = strcspn(pw, "\n");
		if (ul && text[ul - 1] == '\r')
			text[--ul] = '\0';
		if (pl && pw[pl - 1] == '\r')
			pl--;
		bool bad = ul == 0 || pl == 0 || pw[pl] == '\n';
		for (size_t i = 0; i < ul && !bad; i++)
			bad = (unsigned char)text[i] < 0x20 || text[i] == 0x7f;
		for (size_t i = 0; i < pl && !bad; i++)
			bad = (unsigned char)pw[i] < 0x20 || pw[i] == 0x7f;
		if (bad) {
			snprintf(err, errlen,
			         "Nexudus credentials file %s: expected two lines, the user name "
			         "then "
			         "the password, without control characters",
			         path);
			r = -EINVAL;
		} else {
			memcpy(user, text, ul + 1);
			memcpy(password, pw, pl);
			password[pl] = '\0';
		}
	}
	OPENSSL_cleanse(text, sizeof(text));
	return r;
}

static bool client_id_valid(const char *id)
{
	size_t len = strlen(id);
	if (len < 8 || len > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_'))
			return false;
	return true;
}

/* One stable id per device: read it, or make it once. */
static int load_client_id(const char *path, char out[72], char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		uint8_t raw[16];
		char hex[40];
		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			snprintf(err, errlen, "Nexudus client id: no random bytes");
			return -EIO;
		}
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(hex + 2 * i, 3, "%02x", raw[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			ssize_t w = write(fd, hex, 32);
			if (w != 32 || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
				int e = errno ? errno : EIO;
				close(fd);
				unlink(path);
				snprintf(err, errlen,
				         "Nexudus client id file %s: cannot write (%s)", path,
				         strerror(e));
				return -e;
			}
			close(fd);
		} else if (errno != EEXIST) {
			int e = errno;
			snprintf(err, errlen, "Nexudus client id file %s: cannot create (%s)", path,
			         strerror(e));
			return -e;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "Nexudus client id file %s: cannot open (%s)", path,
		         strerror(e));
		return -e;
	}
	ssize_t got = read(fd, out, 71);
	close(fd);
	out[got > 0 ? got : 0] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (!client_id_valid(out)) {
		snprintf(err, errlen,
		         "Nexudus client id file %s: expected 8 to 64 letters, digits, '-' or '_' "
		         "(delete it and porter makes a new one)",
		         path);
		return -EINVAL;
	}
	return 0;
}

static int check_options(const struct nexudus_options *o, char *err, size_t errlen)
{
	if (!o->base_url || strncmp(o->base_url, "https://", 8) != 0 || strlen(o->base_url) > 400) {
		snprintf(err, errlen, "nexudus: base_url must be an https:// URL");
		return -EINVAL;
	}
	if (o->business_id < 1) {
		snprintf(err, errlen, "nexudus: business_id must be a Nexudus BusinessId (>= 1)");
		return -EINVAL;
	}
	if (!o->credentials_file || !o->cache_path || !o->day || !o->wall_clock_us) {
		snprintf(err, errlen,
		         "nexudus: credentials_file, cache_path, the site's day and a wall clock "
		         "are required");
		return -EINVAL;
	}
	return 0;
}

int nexudus_backend_new(const struct porter_host_services *services,
                        const struct nexudus_options *o, const struct backend_core *core,
                        struct backend *ret, char *err, size_t errlen)
{
	char user[CREDENTIALS_MAX + 1], password[CREDENTIALS_MAX + 1], client_id[72];
	char id_path[4096];
	int r = check_options(o, err, errlen);
	if (r < 0)
		return r;
	if (o->client_id_file) {
		snprintf(id_path, sizeof(id_path), "%s", o->client_id_file);
	} else {
		const char *slash = strrchr(o->cache_path, '/');
		int dir_len = slash ? (int)(slash - o->cache_path) : 1;
		snprintf(id_path, sizeof(id_path), "%.*s/%s", dir_len, slash ? o->cache_path : ".",
		         CLIENT_ID_FILE);
	}
	r = load_client_id(id_path, client_id, err, errlen);
	if (r < 0)
		return r;
	r = read_credentials(o->credentials_file, user, password, err, errlen);
	if (r < 0)
		return r;

	struct nexudus *n = calloc(1, sizeof(*n));
	if (!n) {
		r = -ENOMEM;
		goto out;
	}
	n->services = services;
	if (core)
		n->core = *core;
	n->cache_path = strdup(o->cache_path);
	n->credentials_file = strdup(o->credentials_file);
	n->business_id = o->business_id;
	memcpy(n->pin_key, o->pin_key, PIN_KEY_LEN);
	n->pin_min_length = o->pin_min_length;
	n->pin_max_length = o->pin_max_length;
	n->day = *o->day;
	n->sync_interval_us = (uint64_t)(o->sync_interval_s ? o->sync_interval_s : 300) * 1000000u;
	n->presence_interval_us =
	        (uint64_t)(o->presence_interval_s ? o->presence_interval_s : 30) * 1000000u;
	n->wall_clock_us = o->wall_clock_us;
	n->started_us = o->wall_clock_us();
	n->ambiguous_seq = -1;
	if (!n->cache_path || !n->credentials_file) {
		r = -ENOMEM;
		goto fail;
	}
	struct http_client_options http = {.ca_file = o->ca_file,
	                                   .pinned_keys = o->pinned_keys,
	                                   .total_timeout_ms = o->timeout_ms,
	                                   .keep_alive = true,
	                                   .max_response_bytes = NEXUDUS_PAGE_REPLY_MAX};
	r = http_client_new(services, &http, &n->http);
	if (r < 0) {
		snprintf(err, errlen,
		         "nexudus: cannot start the HTTPS client (%s): the host must provide fd "
		         "watches, and nexudus.ca_file must be a readable PEM file",
		         strerror(-r));
		goto fail;
	}
	char base[512];
	snprintf(base, sizeof(base), "%s", o->base_url);
	size_t bl = strlen(base);
	while (bl > 8 && base[bl - 1] == '/')
		base[--bl] = '\0';
	struct nexudus_session_options so = {.base_url = base,
	                                     .username = user,
	                                     .password = password,
	                                     .client_id = client_id,
	                                     .timeout_ms = o->timeout_ms,
	                                     .time_scale = o->pace_time_scale,
	                                     .auth_retry_s = o->auth_retry_s,
	                                     .doors = o->doors_sharing_account,
	                                     .wall_clock_us = o->wall_clock_us};
	r = nexudus_session_new(services, n->http, &so, &n->session);
	if (r < 0) {
		snprintf(err, errlen, "nexudus: %s", strerror(-r));
		goto fail;
	}
	r = nx_meta_open(n, o->database_path, err, errlen);
	if (r < 0)
		goto fail;
	r = nx_sync_start(n);
	if (r < 0) {
		snprintf(err, errlen, "nexudus: cannot start the sync (%s)", strerror(-r));
		goto fail;
	}
	*ret = (struct backend){.name = "nexudus",
	                        .impl = n,
	                        .directory_path = directory_path,
	                        .deliver = deliver,
	                        .cancel = cancel,
	                        .refresh = refresh,
	                        .diagnostics = diagnostics,
	                        .stop = stop};
	r = 0;
	goto out;
fail:
	stop(n);
out:
	OPENSSL_cleanse(user, sizeof(user));
	OPENSSL_cleanse(password, sizeof(password));
	return r;
}
