/* SPDX-License-Identifier: MIT */
/* nexudus_session.c: Nexudus authentication and request pacing. See
 * nexudus_session.h. */
#include "nexudus_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "nexudus_reply.h"

/* The budgets porter keeps, a little inside the published ones. Windows
 * count a request when its answer arrived, which is after the server
 * counted it, so porter's windows never hold fewer requests than the
 * server's; the margin covers a request the server handles after porter
 * gave up on it (a timeout). The drain stays above 0.95 of the budget. */
#define PACE_INTERVAL_US   102000u /* published: 1 request / 100 ms */
#define PACE_PER_MINUTE    116u    /* 120 */
#define PACE_PER_HOUR      4900u   /* 5,000 */
#define PACE_WRITES_MINUTE 58u     /* 60 */
#define PACE_WRITES_DAY    4900u   /* 5,000 */
#define MINUTE_US          60000000ull
#define HOUR_US            (60 * MINUTE_US)
#define DAY_US             (24 * HOUR_US)
#define GET_409_RETRIES    3
#define RENEW_MARGIN_S     300 /* renew a token this long before it expires, at most */

struct ring {
	uint64_t *t; /* answer times (monotonic us), oldest first from head */
	size_t cap, n, head;
};

struct call {
	struct call *next;
	uint64_t id;
	char *method, *path, *body;
	bool write;
	bool auth_retried;
	unsigned throttled;
	nexudus_call_fn fn;
	void *userdata;
};

struct nexudus_session {
	const struct porter_host_services *services;
	struct http_client *http; /* keep-alive; writes never re-sent, see send_call */
	char *base_url, *username, *password, *client_id;
	uint32_t timeout_ms;
	double scale;
	uint64_t auth_retry_us;
	uint32_t doors; /* sharing the account's budgets, >= 1 */
	int64_t (*wall_clock_us)(void);

	struct call *head, *tail;
	uint64_t next_id;
	struct call *sending;   /* the call whose request is in flight, or NULL */
	bool token_in_flight;   /* the request in flight is a token request */
	bool refresh_in_flight; /* ... a refresh grant */
	uint64_t request;       /* http request id in flight; 0: none */
	int64_t timer;          /* pump timer; 0: none */

	struct nexudus_token token;
	bool have_token;
	uint64_t token_renew_at; /* monotonic us */

	uint64_t blocked_until; /* monotonic us; 0: not blocked */
	int64_t auth_failed_since_us;
	char auth_message[256];

	uint64_t last_answer_us, paused_until;
	struct ring all, writes;
	struct nexudus_session_stats stats;
};

static uint64_t now_us(const struct nexudus_session *s)
{
	return s->services->now_us(s->services->host);
}

static uint64_t scaled(const struct nexudus_session *s, uint64_t us)
{
	return (uint64_t)((double)us / s->scale);
}

/* ---- the pacing windows ------------------------------------------------- */

static void ring_push(struct ring *r, uint64_t t)
{
	if (r->n == r->cap) {
		r->t[r->head] = t;
		r->head = (r->head + 1) % r->cap;
		return;
	}
	r->t[(r->head + r->n) % r->cap] = t;
	r->n++;
}

/* The time of the k-th most recent entry (k >= 1), or 0 with fewer. */
static uint64_t ring_recent(const struct ring *r, size_t k)
{
	if (k > r->n || k == 0)
		return 0;
	return r->t[(r->head + r->n - k) % r->cap];
}

static uint64_t window_ready(const struct ring *r, size_t count, uint64_t window)
{
	uint64_t t = ring_recent(r, count);
	return t ? t + window : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* This door's share of `count` in `window`: count / doors, or when that is
 * under one, one in a window as many times longer as it takes. */
static uint64_t share_ready(const struct nexudus_session *s, const struct ring *r, uint32_t count,
                            uint64_t window)
{
	uint32_t share = count / s->doors;
	if (share == 0) {
		share = 1;
		window *= (s->doors + count - 1) / count;
	}
	return window_ready(r, share, scaled(s, window));
}

/* The earliest monotonic time the next request may leave. */
static uint64_t ready_at(const struct nexudus_session *s, bool write)
{
	uint64_t t = s->last_answer_us
	                     ? s->last_answer_us + scaled(s, (uint64_t)PACE_INTERVAL_US * s->doors)
	                     : 0;
	t = max_u64(t, s->paused_until);
	t = max_u64(t, share_ready(s, &s->all, PACE_PER_MINUTE, MINUTE_US));
	t = max_u64(t, share_ready(s, &s->all, PACE_PER_HOUR, HOUR_US));
	if (write) {
		t = max_u64(t, share_ready(s, &s->writes, PACE_WRITES_MINUTE, MINUTE_US));
		t = max_u64(t, share_ready(s, &s->writes, PACE_WRITES_DAY, DAY_US));
	}
	return t;
}

/* ---- the queue ------------------------------------------------------------ */

static void call_free(struct call *c)
{
	if (!c)
		return;
	free(c->method);
	free(c->path);
	if (c->body) {
		OPENSSL_cleanse(c->body, strlen(c->body));
		free(c->body);
	}
	free(c);
}

static struct call *pop_head(struct nexudus_session *s)
{
	struct call *c = s->head;
	if (c) {
		s->head = c->next;
		if (!s->head)
			s->tail = NULL;
		c->next = NULL;
	}
	return c;
}

static void finish(struct nexudus_session *s, struct call *c, const struct nexudus_reply *reply)
{
	nexudus_call_fn fn = c->fn;
	void *userdata = c->userdata;
	call_free(c);
	fn(userdata, reply);
}

static void pump(struct nexudus_session *s);

static void pump_timer(void *userdata)
{
	struct nexudus_session *s = userdata;
	s->timer = 0;
	pump(s);
}

static void arm(struct nexudus_session *s, uint64_t delay_us)
{
	if (s->timer)
		s->services->timer_remove(s->services->host, s->timer);
	s->timer = s->services->timer_add(s->services->host, delay_us, pump_timer, s);
	if (s->timer < 0) {
		plog(s->services, PORTER_LOG_ERROR, "nexudus: cannot set a timer (%s)",
		     strerror((int)-s->timer));
		s->timer = 0;
	}
}

static void drop_token(struct nexudus_session *s)
{
	nexudus_token_clear(&s->token);
	s->have_token = false;
}

/* Fail every queued call (the account is refused or no token could be had). */
static void fail_all(struct nexudus_session *s, int error, const char *reason,
                     uint64_t retry_after_us)
{
	struct call *c;
	struct nexudus_reply reply = {
	        .error = error, .reason = reason, .retry_after_us = retry_after_us};
	/* A callback may queue new calls: only the ones queued now fail. */
	struct call *list = s->head;
	s->head = s->tail = NULL;
	while ((c = list)) {
		list = c->next;
		finish(s, c, &reply);
	}
}

/* ---- tokens ------------------------------------------------------------------ */

/* application/x-www-form-urlencoded of one value. */
static size_t form_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (o + 4 > size)
			return 0;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return o;
}

static void token_answered(void *userdata, const struct http_response *response);

static int send_token_request(struct nexudus_session *s)
{
	char body[3 * NEXUDUS_TOKEN_MAX + 512], a[3 * NEXUDUS_TOKEN_MAX + 4], b[768];
	char url[512], client_header[192];
	bool refresh = s->token.refresh_token != NULL;
	int n;
	if (refresh) {
		form_escape(s->token.refresh_token, a, sizeof(a));
		n = snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s", a);
	} else {
		form_escape(s->username, a, sizeof(a));
		form_escape(s->password, b, sizeof(b));
		n = snprintf(body, sizeof(body), "grant_type=password&username=%s&password=%s", a,
		             b);
	}
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	snprintf(url, sizeof(url), "%s/api/token", s->base_url);
	snprintf(client_header, sizeof(client_header), "client_id: %s", s->client_id);
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
	                         "Accept: application/json", client_header, NULL};
	struct http_request req = {.method = "POST",
	                           .url = url,
	                           .headers = headers,
	                           .body = body,
	                           .body_len = (size_t)n,
	                           .timeout_ms = s->timeout_ms};
	int r = http_client_request(s->http, &req, token_answered, s, &s->request);
	OPENSSL_cleanse(body, sizeof(body));
	if (r == 0) {
		s->token_in_flight = true;
		s->refresh_in_flight = refresh;
		s->stats.token_requests++;
		s->stats.requests++;
	}
	return r;
}

static void auth_refused(struct nexudus_session *s)
{
	uint64_t now = now_us(s);
	s->blocked_until = now + s->auth_retry_us;
	if (!s->auth_failed_since_us) {
		s->auth_failed_since_us = s->wall_clock_us();
		snprintf(s->auth_message, sizeof(s->auth_message),
		         "Nexudus refused the password of the account %s (invalid_grant)",
		         s->username);
		plog(s->services, PORTER_LOG_ERROR,
		     "nexudus: %s; porter asks again in %llu s, or at once after a reload with "
		     "the right credentials file",
		     s->auth_message, (unsigned long long)(s->auth_retry_us / 1000000));
	}
	fail_all(s, -EACCES, s->auth_message, s->auth_retry_us);
}

static void token_answered(void *userdata, const struct http_response *response)
{
	struct nexudus_session *s = userdata;
	bool refresh = s->refresh_in_flight;
	char err[256], reason[320];
	s->request = 0;
	s->token_in_flight = s->refresh_in_flight = false;
	s->last_answer_us = now_us(s);
	ring_push(&s->all, s->last_answer_us);
	if (response->outcome == HTTP_OK && response->status == 409) {
		s->stats.throttled++;
		uint64_t wait =
		        (uint64_t)(response->retry_after_s > 0 ? response->retry_after_s : 1) *
		        1000000u;
		s->paused_until = s->last_answer_us + wait;
		pump(s);
		return;
	}
	if (response->outcome != HTTP_OK || response->status >= 500) {
		snprintf(reason, sizeof(reason), "no Nexudus token: %s",
		         response->outcome != HTTP_OK ? response->error : "the server failed");
		fail_all(s, -EAGAIN, reason, 0);
		return;
	}
	struct nexudus_token token = {0};
	int r = nexudus_token_parse(response->body, response->body_len, &token, err, sizeof(err));
	if (r == 0 && response->status == 200) {
		drop_token(s);
		s->token = token;
		s->have_token = true;
		int64_t margin = token.expires_in / 10;
		if (margin > RENEW_MARGIN_S)
			margin = RENEW_MARGIN_S;
		s->token_renew_at =
		        s->last_answer_us + (uint64_t)(token.expires_in - margin) * 1000000u;
		s->blocked_until = 0;
		if (s->auth_failed_since_us)
			plog(s->services, PORTER_LOG_NOTICE,
			     "nexudus: the account %s is accepted again", s->username);
		s->auth_failed_since_us = 0;
		pump(s);
		return;
	}
	nexudus_token_clear(&token);
	if (r == -EACCES && refresh) {
		/* The refresh token expired or was revoked: the password next. */
		drop_token(s);
		pump(s);
		return;
	}
	if (r == -EACCES) {
		auth_refused(s);
		return;
	}
	snprintf(reason, sizeof(reason), "no Nexudus token: HTTP %ld: %s", response->status,
	         r == 0 ? "unexpected status" : err);
	plog(s->services, PORTER_LOG_WARNING, "nexudus: %s", reason);
	fail_all(s, -EAGAIN, reason, 0);
}

/* ---- calls ------------------------------------------------------------------- */

static void call_answered(void *userdata, const struct http_response *response)
{
	struct nexudus_session *s = userdata;
	struct call *c = s->sending;
	s->sending = NULL;
	s->request = 0;
	s->last_answer_us = now_us(s);
	ring_push(&s->all, s->last_answer_us);
	if (c->write)
		ring_push(&s->writes, s->last_answer_us);
	if (response->outcome == HTTP_OK && response->status == 409) {
		s->stats.throttled++;
		uint64_t wait =
		        (uint64_t)(response->retry_after_s > 0 ? response->retry_after_s : 1) *
		        1000000u;
		s->paused_until = s->last_answer_us + wait;
		plog(s->services, PORTER_LOG_NOTICE,
		     "nexudus: throttled (409); porter pauses its requests for %llu s",
		     (unsigned long long)(wait / 1000000));
		if (!c->write && ++c->throttled <= GET_409_RETRIES) {
			c->next = s->head; /* not applied: ask again first */
			s->head = c;
			if (!s->tail)
				s->tail = c;
			pump(s);
			return;
		}
		struct nexudus_reply reply = {.http = response,
		                              .reason = "Nexudus is throttling porter (409)",
		                              .retry_after_us = wait};
		finish(s, c, &reply);
		pump(s);
		return;
	}
	if (response->outcome == HTTP_OK && response->status == 401 && !c->auth_retried) {
		/* The token expired or was revoked: renew it and ask again, once. */
		c->auth_retried = true;
		s->token_renew_at = 0; /* the refresh token, if any, stays */
		c->next = s->head;
		s->head = c;
		if (!s->tail)
			s->tail = c;
		pump(s);
		return;
	}
	struct nexudus_reply reply = {.http = response, .reason = response->error};
	finish(s, c, &reply);
	pump(s);
}

static int send_call(struct nexudus_session *s, struct call *c)
{
	char url[2048], auth[NEXUDUS_TOKEN_MAX + 32], client_header[192];
	if (snprintf(url, sizeof(url), "%s%s", s->base_url, c->path) >= (int)sizeof(url))
		return -E2BIG;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token.access_token);
	snprintf(client_header, sizeof(client_header), "client_id: %s", s->client_id);
	const char *headers[] = {auth, client_header, "Accept: application/json",
	                         c->body ? "Content-Type: application/json" : NULL, NULL};
	struct http_request req = {.method = c->method,
	                           .url = url,
	                           .headers = headers,
	                           .body = c->body,
	                           .body_len = c->body ? strlen(c->body) : 0,
	                           .timeout_ms = s->timeout_ms,
	                           /* libcurl sends a request again by itself when a
	                            * reused connection dies before any answer: a
	                            * duplicate record for a write that had landed.
	                            * A write goes on a new connection instead, and
	                            * its ambiguous failures are porter's to handle. */
	                           .never_resend = c->write,
	                           .max_response_bytes = c->write ? NEXUDUS_ENVELOPE_REPLY_MAX : 0};
	int r = http_client_request(s->http, &req, call_answered, s, &s->request);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (r == 0) {
		s->sending = c;
		s->stats.requests++;
	}
	return r;
}

static void pump(struct nexudus_session *s)
{
	if (s->request || !s->head)
		return;
	uint64_t now = now_us(s);
	if (s->blocked_until) {
		if (now < s->blocked_until) {
			fail_all(s, -EACCES, s->auth_message, s->blocked_until - now);
			return;
		}
		s->blocked_until = 0; /* time to ask again, once */
	}
	bool need_token = !s->have_token || now >= s->token_renew_at;
	if (s->have_token && need_token && !s->token.refresh_token)
		drop_token(s);
	uint64_t at = ready_at(s, !need_token && s->head->write);
	if (at > now) {
		arm(s, at - now);
		return;
	}
	int r;
	if (need_token) {
		r = send_token_request(s);
		if (r < 0)
			fail_all(s, -EAGAIN, "no Nexudus token: the request could not be made", 0);
		return;
	}
	struct call *c = pop_head(s);
	r = send_call(s, c);
	if (r < 0) {
		struct nexudus_reply reply = {.error = r,
		                              .reason = "the request could not be made"};
		finish(s, c, &reply);
		pump(s);
	}
}

int nexudus_session_call(struct nexudus_session *s, const char *method, const char *path,
                         const char *json, nexudus_call_fn fn, void *userdata, uint64_t *ret_id)
{
	struct call *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->method = strdup(method);
	c->path = strdup(path);
	c->body = json ? strdup(json) : NULL;
	if (!c->method || !c->path || (json && !c->body)) {
		call_free(c);
		return -ENOMEM;
	}
	c->write = strcmp(method, "GET") != 0;
	c->fn = fn;
	c->userdata = userdata;
	c->id = ++s->next_id;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	if (ret_id)
		*ret_id = c->id;
	/* Never answer inside this call: the pump runs from a timer. */
	if (!s->request && !s->timer)
		arm(s, 0);
	return 0;
}

void nexudus_session_cancel(struct nexudus_session *s, uint64_t id)
{
	if (s->sending && s->sending->id == id) {
		http_client_cancel(s->http, s->request);
		s->request = 0;
		/* Counted: it may have reached the server. */
		s->last_answer_us = now_us(s);
		ring_push(&s->all, s->last_answer_us);
		if (s->sending->write)
			ring_push(&s->writes, s->last_answer_us);
		call_free(s->sending);
		s->sending = NULL;
		if (s->head && !s->timer)
			arm(s, 0);
		return;
	}
	for (struct call **p = &s->head; *p; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct call *c = *p;
			*p = c->next;
			if (s->tail == c) {
				s->tail = NULL;
				for (struct call *t = s->head; t; t = t->next)
					s->tail = t;
			}
			call_free(c);
			return;
		}
	}
}

int64_t nexudus_session_auth_problem(const struct nexudus_session *s, char *message, size_t size)
{
	if (s->auth_failed_since_us && message)
		snprintf(message, size, "%s", s->auth_message);
	return s->auth_failed_since_us;
}

void nexudus_session_stats(const struct nexudus_session *s, struct nexudus_session_stats *ret)
{
	*ret = s->stats;
}

static char *dup_secret(const char *text)
{
	return text ? strdup(text) : NULL;
}

static void free_secret(char *text)
{
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
}

int nexudus_session_set_credentials(struct nexudus_session *s, const char *username,
                                    const char *password)
{
	/* Asked again at once, even with the same password: a reload is the
	 * admin's say-so. */
	s->blocked_until = 0;
	if (strcmp(username, s->username) == 0 && strcmp(password, s->password) == 0)
		return 0; /* the token in hand stays good */
	char *u = strdup(username), *p = strdup(password);
	if (!u || !p) {
		free_secret(u);
		free_secret(p);
		return -ENOMEM;
	}
	free_secret(s->username);
	free_secret(s->password);
	s->username = u;
	s->password = p;
	if (!s->token_in_flight)
		drop_token(s);
	return 0;
}

int nexudus_session_new(const struct porter_host_services *services, struct http_client *http,
                        const struct nexudus_session_options *o, struct nexudus_session **ret)
{
	struct nexudus_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->services = services;
	s->http = http;
	s->timeout_ms = o->timeout_ms;
	s->scale = o->time_scale > 0 ? o->time_scale : 1.0;
	s->auth_retry_us = (uint64_t)(o->auth_retry_s ? o->auth_retry_s : 900) * 1000000u;
	s->doors = o->doors ? o->doors : 1;
	s->wall_clock_us = o->wall_clock_us;
	s->base_url = strdup(o->base_url);
	s->username = dup_secret(o->username);
	s->password = dup_secret(o->password);
	s->client_id = strdup(o->client_id);
	s->all.cap = PACE_PER_HOUR;
	s->writes.cap = PACE_WRITES_DAY;
	s->all.t = calloc(s->all.cap, sizeof(uint64_t));
	s->writes.t = calloc(s->writes.cap, sizeof(uint64_t));
	if (!s->base_url || !s->username || !s->password || !s->client_id || !s->all.t ||
	    !s->writes.t) {
		nexudus_session_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

struct nexudus_session *nexudus_session_free(struct nexudus_session *s)
{
	if (!s)
		return NULL;
	if (s->request)
		http_client_cancel(s->http, s->request);
	if (s->timer)
		s->services->timer_remove(s->services->host, s->timer);
	call_free(s->sending);
	struct call *c;
	while ((c = pop_head(s)))
		call_free(c);
	drop_token(s);
	free(s->base_url);
	free_secret(s->username);
	free_secret(s->password);
	free(s->client_id);
	free(s->all.t);
	free(s->writes.t);
	free(s);
	return NULL;
}
