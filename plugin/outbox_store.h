/* SPDX-License-Identifier: MIT */
/*
 * outbox_store.h: the outbox's view of the presence database.
 *
 * The outbox is presence_log itself: every row after a per-backend
 * watermark (porter_meta 'outbox.<backend>.delivered_seq') is still to be
 * delivered. Rows are delivered in seq order, one at a time, so "delivered
 * through seq N" is the whole delivery state; a row the backend refused for
 * good is copied to dead_letters with the backend's reason before the
 * watermark passes it. Nothing is ever deleted: presence_log stays the
 * site's record, and a field engineer reads the backlog with
 *   SELECT count(*) FROM presence_log WHERE seq >
 *     (SELECT value FROM porter_meta WHERE key = 'outbox.webhook.delivered_seq');
 *
 * The first time a backend that delivers is started on a database, its
 * watermark is set to the newest row: history recorded before the backend
 * was configured stays local (it is not re-sent to a backend that never
 * asked for it).
 *
 * The store has its own SQLite connection (WAL lets it read while the
 * recorder writes) and is used by the outbox thread only, never the loop.
 */
#ifndef PORTER_OUTBOX_STORE_H
#define PORTER_OUTBOX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define OUTBOX_BACKEND_NAME_MAX 32

struct outbox_store;

/* What the outbox thread writes after deliveries: everything up to and
 * including `through_seq` is done; `dead` rows among them were refused. */
struct outbox_dead {
	int64_t seq;
	char event_key[37];
	char reason[DELIVERY_REASON_MAX];
	int64_t at_unix_us;
};

/* Open `path` (made by store_open before) for `backend`. Creates
 * dead_letters and the watermark when missing. */
int outbox_store_open(const char *path, const char *backend, struct outbox_store **ret, char *err,
                      size_t errlen);
struct outbox_store *outbox_store_close(struct outbox_store *s);

int64_t outbox_store_watermark(const struct outbox_store *s);

/* Up to `max` rows after `after_seq`, in order. Returns the number read or
 * a negative errno. A row that cannot be read as a change (an admin edited
 * the table by hand) ends the read with -EINVAL and `err` naming its seq. */
int outbox_store_read(struct outbox_store *s, int64_t after_seq, struct delivery *ret, size_t max,
                      char *err, size_t errlen);

/* Rows still to deliver, and dead letters of this backend. */
int outbox_store_count(struct outbox_store *s, int64_t *ret_backlog, int64_t *ret_dead, char *err,
                       size_t errlen);

/* One transaction: the dead letters, then the watermark moves to
 * `through_seq` and, when `delivered_at_unix_us` > 0, the time of the last
 * successful delivery is kept. */
int outbox_store_ack(struct outbox_store *s, int64_t through_seq, const struct outbox_dead *dead,
                     size_t n_dead, int64_t delivered_at_unix_us, char *err, size_t errlen);

#endif
