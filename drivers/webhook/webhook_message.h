/* SPDX-License-Identifier: MIT */
/*
 * webhook_message.h: what the webhook backend sends, signed the Standard
 * Webhooks way (https://www.standardwebhooks.com), so a receiver verifies
 * it with an existing library in a few lines.
 *
 * Each presence change is one POST with a JSON body:
 *
 *   { "type": "presence.checked_in",          (or "presence.checked_out")
 *     "timestamp": "2026-11-25T18:00:00.123456Z",  (when the person was at the door)
 *     "data": { "event_key": "0193...",        (also the webhook-id header)
 *               "person_id": "m-1001",
 *               "direction": "in",             ("in" or "out")
 *               "reader_id": "front",          ("" for the daily check-out)
 *               "at": "2026-11-25T18:00:00.123456Z",
 *               "cause": "credential" } }      ("credential", "daily_cutoff",
 *                                               "host_cancelled", "door_failed":
 *                                               presence_log's causes)
 *
 * and three headers:
 *   webhook-id:        the change's event_key: the same on every retry, so a
 *                      receiver that remembers ids records each change once
 *   webhook-timestamp: unix seconds of this attempt (receivers refuse old ones)
 *   webhook-signature: "v1," + base64(HMAC-SHA256(secret, id "." timestamp "." body))
 *
 * The secret is the Standard Webhooks form "whsec_" + base64 of 24 to 64
 * random bytes, read from a secrets file (secret_file.h rules).
 */
#ifndef PORTER_WEBHOOK_MESSAGE_H
#define PORTER_WEBHOOK_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define WEBHOOK_SECRET_MIN    24
#define WEBHOOK_SECRET_MAX    64
#define WEBHOOK_SIGNATURE_MAX 64   /* "v1," + 44 characters of base64 */
#define WEBHOOK_BODY_MAX      1024 /* a change's JSON body, at most */

struct webhook_secret {
	uint8_t key[WEBHOOK_SECRET_MAX];
	size_t len;
};

/* Read the secrets file at `path`. Returns 0, or a negative errno with what
 * is wrong in `err` (never the secret). */
int webhook_secret_load(const char *path, struct webhook_secret *ret, char *err, size_t errlen);

/* Parse "whsec_<base64>" text (a copy of the file's contents). */
int webhook_secret_parse(const char *text, size_t len, struct webhook_secret *ret, char *err,
                         size_t errlen);

void webhook_secret_clear(struct webhook_secret *secret);

/* The JSON body of `d`. Returns its length, -E2BIG, or -ERANGE for a time
 * utc_time_format_us refuses (before 1970, after 9999). */
int webhook_body(const struct delivery *d, char *buf, size_t size);

/* "v1,<base64>" for `id`, `timestamp` and `body`. Returns 0 or -EIO. */
int webhook_sign(const struct webhook_secret *secret, const char *id, int64_t timestamp,
                 const char *body, size_t body_len, char ret[WEBHOOK_SIGNATURE_MAX]);

#endif
