/* SPDX-License-Identifier: MIT */
/*
 * nexudus_session.h: every request porter makes to Nexudus, authenticated
 * and paced (loop thread only).
 *
 * Authentication: the form-encoded password grant, then refresh grants
 * (refresh tokens are scoped to this device by the client_id header). A
 * token is renewed before it expires (the last tenth of its life, at most
 * 5 minutes) and when a request is answered 401 (once per request). A
 * refused password ({"error":"invalid_grant"}) is logged once, reported by
 * nexudus_session_auth_problem(), and porter does not ask again for
 * auth_retry_s: every call fails at once (-EACCES) meanwhile. Tokens and the
 * password are never logged and are cleansed when dropped.
 *
 * Pacing: one request in flight at a time, in the order asked. The next
 * leaves at least 102 ms after the previous one was answered (so at least
 * that long after the server counted it), and only while the sliding
 * windows hold room: 116 requests a minute, 4,900 an hour, 58 writes a
 * minute, 4,900 a day (Nexudus publishes 1/100 ms, 120/min, 5,000/h, writes
 * 60/min, 5,000/day). The budgets are per account: with `doors` porters on
 * one account each keeps to 1/doors of every count (102 ms * doors apart;
 * a count under one becomes one in a longer window), so together they
 * stay inside; two doors may still send in the same 100 ms now and then,
 * and Nexudus's 409 says so. A 409 pauses the queue for its Retry-After; a GET
 * answered 409 is asked again (it was not applied), a write's 409 goes to
 * the caller.
 */
#ifndef PORTER_NEXUDUS_SESSION_H
#define PORTER_NEXUDUS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_client.h"
#include "porter.h"

struct nexudus_session;

struct nexudus_session_options {
	const char *base_url; /* no trailing slash */
	const char *username, *password;
	const char *client_id;
	uint32_t timeout_ms;
	double time_scale;     /* pacing windows divided by this (tests) */
	uint32_t auth_retry_s; /* after a refused password */
	uint32_t doors;        /* porters sharing the account's budgets; 0: 1 */
	int64_t (*wall_clock_us)(void);
};

/* How a call ended. `error` 0: `http` is the server's answer (any status,
 * or a transport failure in http->outcome). Negative: no answer to read:
 * -EACCES the account is refused (auth blocked), -EAGAIN no token could be
 * had (the token request failed), -ECANCELED the session is stopping.
 * `reason` is safe to log in every case. */
struct nexudus_reply {
	int error;
	const struct http_response *http;
	const char *reason;
	uint64_t retry_after_us; /* 409 Retry-After or the auth block left; 0: none */
};

typedef void (*nexudus_call_fn)(void *userdata, const struct nexudus_reply *reply);

/* `http` keeps connections alive; writes ask it never to re-send (see
 * send_call in nexudus_session.c). */
int nexudus_session_new(const struct porter_host_services *services, struct http_client *http,
                        const struct nexudus_session_options *options,
                        struct nexudus_session **ret);
/* Calls in the queue are dropped without their callbacks. NULL is fine. */
struct nexudus_session *nexudus_session_free(struct nexudus_session *s);

/* Queue `method` `path` ("/api/spaces/..." with its query) with an optional
 * JSON body (copied). The callback runs later, on the loop thread, never
 * inside this call. Returns 0 and a call id > 0, or -ENOMEM. */
int nexudus_session_call(struct nexudus_session *s, const char *method, const char *path,
                         const char *json, nexudus_call_fn fn, void *userdata, uint64_t *ret_id);

/* The credentials as read again (the admin reloaded porter): a refused
 * account is asked again at the next request, once; changed credentials
 * drop the token. Returns 0 or -ENOMEM (the old ones stay). */
int nexudus_session_set_credentials(struct nexudus_session *s, const char *username,
                                    const char *password);

/* Drop a queued or in-flight call: its callback will not run. */
void nexudus_session_cancel(struct nexudus_session *s, uint64_t id);

/* Non-zero when the account was refused: since when (wall clock, us); the
 * line for diagnostics in `message`. */
int64_t nexudus_session_auth_problem(const struct nexudus_session *s, char *message, size_t size);

/* For tests and diagnostics: token requests made, 409s seen. */
struct nexudus_session_stats {
	uint64_t token_requests, throttled, requests;
};
void nexudus_session_stats(const struct nexudus_session *s, struct nexudus_session_stats *ret);

#endif
