/* SPDX-License-Identifier: MIT */
/* webhook.c: the webhook backend. See webhook.h. */
#include "webhook.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "webhook_message.h"

#define REPLY_QUOTE_MAX 120 /* bytes of a refusing reply kept in the dead letter */

struct webhook {
	const struct porter_host_services *services;
	struct http_client *http;
	struct webhook_secret secret;
	char *url;
	uint32_t timeout_ms;
	int64_t (*wall_clock_us)(void);
	uint64_t request; /* in flight; 0: none */
	delivery_done_fn done;
	void *done_userdata;
};

static bool status_refuses_for_good(long status)
{
	return status == 400 || status == 413 || status == 422;
}

static bool status_is_busy(long status)
{
	return status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
}

/* The start of a reply, printable ASCII only: it goes into logs. */
static void quote_reply(const char *body, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len && i < REPLY_QUOTE_MAX && o + 4 < size; i++)
		out[o++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	if (len > REPLY_QUOTE_MAX && o + 4 < size)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o] = '\0';
}

static void answered(void *userdata, const struct http_response *response)
{
	struct webhook *w = userdata;
	struct delivery_result r = {.outcome = DELIVERY_RETRY};
	w->request = 0;
	if (response->outcome != HTTP_OK) {
		snprintf(r.reason, sizeof(r.reason), "%s%s", response->error,
		         response->ambiguous ? " (the endpoint may have it; it is sent again with "
		                               "the same webhook-id)"
		                             : "");
	} else if (response->status >= 200 && response->status < 300) {
		r.outcome = DELIVERY_DELIVERED;
	} else {
		char quote[REPLY_QUOTE_MAX + 8];
		quote_reply(response->body, response->body_len, quote, sizeof(quote));
		if (status_refuses_for_good(response->status))
			r.outcome = DELIVERY_REJECTED;
		else if (response->retry_after_s > 0)
			r.retry_after_us = (uint64_t)response->retry_after_s * 1000000;
		snprintf(r.reason, sizeof(r.reason), "the endpoint answered HTTP %ld%s%s%s",
		         response->status, quote[0] ? ": " : "", quote,
		         status_is_busy(response->status) || r.outcome == DELIVERY_REJECTED
		                 ? ""
		                 : " (check webhook.url and the receiver's secret)");
	}
	w->done(w->done_userdata, &r);
}

static int deliver(void *impl, const struct delivery *d, delivery_done_fn done, void *userdata)
{
	struct webhook *w = impl;
	char body[WEBHOOK_BODY_MAX], signature[WEBHOOK_SIGNATURE_MAX];
	char id_header[64], timestamp_header[48], signature_header[96];
	int len = webhook_body(d, body, sizeof(body));
	if (len < 0)
		return len;
	/* The attempt's own time: receivers refuse stale timestamps (replay). */
	int64_t now = w->wall_clock_us() / 1000000;
	int r = webhook_sign(&w->secret, d->event_key, now, body, (size_t)len, signature);
	if (r < 0)
		return r;
	snprintf(id_header, sizeof(id_header), "webhook-id: %s", d->event_key);
	snprintf(timestamp_header, sizeof(timestamp_header), "webhook-timestamp: %lld",
	         (long long)now);
	snprintf(signature_header, sizeof(signature_header), "webhook-signature: %s", signature);
	const char *headers[] = {"Content-Type: application/json", id_header, timestamp_header,
	                         signature_header, NULL};
	struct http_request req = {.method = "POST",
	                           .url = w->url,
	                           .headers = headers,
	                           .body = body,
	                           .body_len = (size_t)len,
	                           .timeout_ms = w->timeout_ms};
	w->done = done;
	w->done_userdata = userdata;
	return http_client_request(w->http, &req, answered, w, &w->request);
}

static void cancel(void *impl)
{
	struct webhook *w = impl;
	if (w->request)
		http_client_cancel(w->http, w->request);
	w->request = 0;
}

static void stop(void *impl)
{
	struct webhook *w = impl;
	if (!w)
		return;
	w->http = http_client_free(w->http);
	webhook_secret_clear(&w->secret);
	free(w->url);
	free(w);
}

/* The loop services the HTTPS client runs on, the first one the host lacks
 * (named in init's error, so a host author knows what to add). */
static const char *missing_loop_service(const struct porter_host_services *s)
{
	return !s->now_us         ? "now_us"
	       : !s->timer_add    ? "timer_add"
	       : !s->timer_remove ? "timer_remove"
	       : !s->watch_add    ? "watch_add"
	       : !s->watch_update ? "watch_update"
	       : !s->watch_remove ? "watch_remove"
	                          : NULL;
}

int webhook_backend_new(const struct porter_host_services *services,
                        const struct webhook_options *options, struct backend *ret, char *err,
                        size_t errlen)
{
	const char *missing = missing_loop_service(services);
	if (missing) {
		snprintf(err, errlen,
		         "webhook: the host provides no %s: the HTTPS client runs on the host's "
		         "loop and needs its fd watches and timers",
		         missing);
		return -EINVAL;
	}
	struct webhook *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->services = services;
	w->timeout_ms = options->timeout_ms;
	w->wall_clock_us = options->wall_clock_us;
	w->url = strdup(options->url);
	int r = w->url ? webhook_secret_load(options->secret_file, &w->secret, err, errlen)
	               : -ENOMEM;
	if (r == 0) {
		struct http_client_options http = {.ca_file = options->ca_file,
		                                   .pinned_keys = options->pinned_keys,
		                                   .total_timeout_ms = options->timeout_ms,
		                                   .keep_alive = true,
		                                   .max_response_bytes = 64 * 1024};
		r = http_client_new(services, &http, &w->http);
		if (r < 0)
			snprintf(err, errlen,
			         "webhook: cannot start the HTTPS client (%s): the host must "
			         "provide fd "
			         "watches, and webhook.ca_file must be a readable PEM file",
			         strerror(-r));
	}
	if (r < 0) {
		stop(w);
		return r;
	}
	*ret = (struct backend){
	        .name = "webhook", .impl = w, .deliver = deliver, .cancel = cancel, .stop = stop};
	return 0;
}
