/* SPDX-License-Identifier: MIT */
/*
 * http_client.h: an asynchronous HTTPS client on the host's event loop, for
 * the backends (Nexudus, webhook).
 *
 * libcurl's multi-socket interface is driven only by porter's host services
 * (porter.h): fd watches for its sockets, one one-shot timer for its
 * timeouts, now_us and log. Everything runs on the loop thread and nothing
 * blocks it:
 *   - DNS: a host name in a URL is resolved by libcurl's asynchronous
 *     resolver. At construction the client checks curl_version_info() for
 *     one; without it a name would be resolved by a blocking
 *     getaddrinfo() on the loop thread, so the client then logs a warning
 *     and refuses (-EINVAL) every request whose host is not an IP literal.
 *   - The CA bundle is read and parsed once, at construction, into one
 *     OpenSSL store every connection shares: no handshake touches the disk
 *     or parses the bundle again.
 *
 * TLS is always verified (peer and host name, TLS 1.2 minimum); there is no
 * option to turn that off. Only https:// URLs are taken and redirects are
 * not followed. Public-key pinning is optional: a current and a backup key.
 *
 * Signals: the client sets CURLOPT_NOSIGNAL and leaves the process's
 * signal dispositions alone (a plugin must not change its host's): libcurl
 * >= 7.87 writes to every socket, TLS included, with MSG_NOSIGNAL, so a peer
 * that resets cannot raise SIGPIPE. With an older libcurl the client
 * ignores SIGPIPE only when its disposition is still the default (which
 * would kill the daemon), and logs that it did.
 *
 * Not thread-safe: every function is called on the loop thread.
 */
#ifndef PORTER_HTTP_CLIENT_H
#define PORTER_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "porter.h"

struct http_client;

struct http_client_options {
	/* PEM file of the CAs to trust; NULL: the system bundle. Read once, at
	 * construction. Verification is on either way. */
	const char *ca_file;
	/* NULL, or one or two SHA-256 public-key pins, current first:
	 * "sha256//<base64>" or "sha256//<base64>;sha256//<base64>" (the
	 * CURLOPT_PINNEDPUBLICKEY form). A server whose key matches none is
	 * refused (HTTP_FAIL_NOT_SENT). */
	const char *pinned_keys;
	uint32_t connect_timeout_ms; /* 0: 10 000 */
	uint32_t total_timeout_ms;   /* default per request; 0: 30 000 */
	bool keep_alive;             /* reuse connections across requests */
	const char *user_agent;      /* NULL: "porter/<version>" */
	size_t max_response_bytes;   /* 0: 1 MiB. Past it a transfer is aborted */
};

/* How a request ended, for a caller deciding whether to retry. */
#define HTTP_OK            0 /* a response arrived (any HTTP status) */
#define HTTP_FAIL_NOT_SENT 1 /* surely not sent: DNS, connect, TLS handshake, pin */
#define HTTP_FAIL_AMBIGUOUS                                 \
	2 /* may have reached the server: timeout, reset or \
	   * abort after the request was sent */

struct http_response {
	long status;      /* HTTP status, 0 when none arrived */
	int curl_result;  /* CURLcode */
	uint32_t outcome; /* HTTP_OK or HTTP_FAIL_* */
	bool ambiguous;   /* outcome == HTTP_FAIL_AMBIGUOUS */
	bool too_large;   /* aborted past max_response_bytes */
	/* "" on success; otherwise a short reason safe to log: never a request
	 * body, a header value or a token. */
	const char *error;
	/* The response body (NUL-terminated for convenience), at most
	 * max_response_bytes; valid only during the callback. */
	const char *body;
	size_t body_len;
	/* Retry-After in seconds (delta-seconds, or an HTTP-date minus now,
	 * at least 0); -1 when absent or unreadable. */
	int64_t retry_after_s;
};

/* Runs once per request on the loop thread, never from inside
 * http_client_request(). It may start requests, cancel others and free the
 * client. */
typedef void (*http_done_fn)(void *userdata, const struct http_response *response);

struct http_request {
	const char *method; /* GET, HEAD, POST, PUT, PATCH or DELETE */
	const char *url;    /* https:// only */
	/* NULL-terminated "Name: value" lines, or NULL. Copied. */
	const char *const *headers;
	const void *body; /* copied; NULL with body_len 0 for none */
	size_t body_len;
	uint32_t timeout_ms; /* total, from now; 0: the client's default */
	/* Never send this request twice. libcurl sends a request again, by
	 * itself, when the kept-alive connection it reused dies before any
	 * answer: harmless for a read, a second record for a write without an
	 * idempotency key that had landed. With never_resend the request goes
	 * out on a new connection (never a reused one, so libcurl has nothing
	 * to retry) and a lost answer is HTTP_FAIL_AMBIGUOUS, the caller's to
	 * resolve. The new connection is kept for later requests. Costs a TCP
	 * and TLS handshake (TLS resumed when the client has a session). */
	bool never_resend;
	/* 0: the client's max_response_bytes; else a smaller (or larger) cap
	 * for this request's response. */
	size_t max_response_bytes;
};

/*
 * A new client. `services` must stay valid until the client is freed and
 * must have watch_add, watch_update, watch_remove, timer_add, timer_remove
 * and now_us; without fd watches it returns -EINVAL and logs which service
 * is missing. Other -EINVAL: a bad option, or a CA bundle without a
 * certificate (logged). -EIO: the CA bundle cannot be read. -ENOTSUP:
 * libcurl is not built with OpenSSL. -ENOMEM.
 */
int http_client_new(const struct porter_host_services *services,
                    const struct http_client_options *options, struct http_client **ret);

/* Cancels every request in flight (no callback runs after this returns),
 * removes every watch and timer. Accepts NULL; returns NULL. */
struct http_client *http_client_free(struct http_client *client);

/*
 * Start a request; its callback runs later on the loop thread. Returns 0
 * and a request id > 0 in `ret_id` (may be NULL), or a negative errno with
 * no callback: -EINVAL for a bad method or URL (not https, or a host name
 * while the resolver would block), -ENOMEM.
 */
int http_client_request(struct http_client *client, const struct http_request *request,
                        http_done_fn done, void *userdata, uint64_t *ret_id);

/* Cancel a request: its callback will not run. -ENOENT when it already
 * completed or was cancelled. */
int http_client_cancel(struct http_client *client, uint64_t request_id);

/* Requests in flight. */
size_t http_client_pending(const struct http_client *client);

/* True when the client resolves host names without blocking. */
bool http_client_resolver_async(const struct http_client *client);

/* Tests only: behave as if libcurl had no asynchronous resolver. */
void http_client_test_force_blocking_resolver(struct http_client *client);

/* Parse a Retry-After value: delta-seconds or an HTTP-date (relative to
 * `now`, Unix seconds). Returns seconds >= 0, or -1 when unreadable. */
int64_t http_parse_retry_after(const char *value, int64_t now);

#endif
