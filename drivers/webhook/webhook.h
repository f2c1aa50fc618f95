/* SPDX-License-Identifier: MIT */
/*
 * webhook.h: the webhook backend. Each durable presence change is POSTed as
 * JSON to one HTTPS endpoint, signed the Standard Webhooks way
 * (webhook_message.h has the payload and headers). The directory stays the
 * admin's local file.
 *
 * What the endpoint's answer means:
 *   2xx                         delivered
 *   400, 413, 422               refused for good: a dead letter with the
 *                               status and the start of the reply
 *   408, 409, 425, 429, 5xx     retry (after Retry-After when given)
 *   other 3xx/4xx (401, 403,    retry: the endpoint or its secret is set up
 *   404, 410 ...)               wrong; the changes wait until it is fixed
 *                               rather than being thrown away
 *   no answer                   retry; the webhook-id (the event key) lets
 *                               the receiver drop the copy it may already have
 */
#ifndef PORTER_WEBHOOK_H
#define PORTER_WEBHOOK_H

#include <stdint.h>

#include "backend.h"

struct webhook_options {
	const char *url;         /* https:// */
	const char *secret_file; /* "whsec_..." */
	const char *ca_file;     /* NULL: the system's CAs */
	const char *pinned_keys; /* NULL or "sha256//...;sha256//..." */
	uint32_t timeout_ms;     /* per attempt */
	int64_t (*wall_clock_us)(void);
};

/* Fill `ret` with a webhook backend. Returns 0, or a negative errno with
 * what is wrong in `err` (the secret file, the URL, a host without fd
 * watches). */
int webhook_backend_new(const struct porter_host_services *services,
                        const struct webhook_options *options, struct backend *ret, char *err,
                        size_t errlen);

#endif
