/* SPDX-License-Identifier: MIT */
/*
 * nexudus.h: the Nexudus backend (REFERENCE.md "Nexudus API").
 *
 * Both halves of drivers/backend.h:
 *   - the directory source: coworkers and visitors pulled in full every
 *     sync_interval_s (and at start), hashed and written on a worker thread
 *     as porter's own directory file at cache_path (nexudus_directory.h);
 *     porter's directory watch loads it. A failed sync keeps the last good
 *     file. Check-ins made elsewhere (other doors, reception, the app) are
 *     polled every presence_interval_s and told to core->presence_learned;
 *     the first poll after a start also reads what changed since the last
 *     run's newest change (porter_meta, see nexudus_sync.c).
 *   - the presence sink: each change becomes a check-in record
 *     (/api/spaces/checkins) carrying the time at the door, or a visitor's
 *     arrival / departure (the visitor record put back whole).
 *
 * Why the check-in records API and not the public check-in endpoint: the
 * public endpoint takes the PIN in clear (porter only keeps its hash) and
 * stamps the server's time, so a change delivered after an outage would be
 * recorded at the wrong time; it also toggles, so a retried request could
 * undo itself. The records API carries FromTime/ToTime as porter decided
 * them and can be read back before a write is repeated.
 *
 * Nexudus has no idempotency key. After an ambiguous failure of a write, and
 * for a change recorded before this backend started (a previous run may have
 * sent it), porter looks before it writes: a check-in record of this
 * coworker with this FromTime, a check-in closed at or after the check-out,
 * a visitor already marked arrived or departed then: DELIVERED.
 *
 * Before every check-in porter also reads the coworker's open check-in: one
 * open already (made at another door inside the two-door window, at
 * reception, in the app) means Nexudus has them in, so no second visit is
 * opened (DELIVERED, logged at info), and their check-out closes that one.
 * The read costs a request of the budget, not a write.
 *
 * Requests go through one paced queue (nexudus_session.h): one request at a
 * time, inside the published budgets with a margin, so in normal operation
 * Nexudus never answers 409; a 409 pauses the queue for Retry-After.
 *
 * Everything runs on the host's loop thread except the directory worker.
 */
#ifndef PORTER_NEXUDUS_H
#define PORTER_NEXUDUS_H

#include <stdint.h>

#include "backend.h"
#include "cutoff.h"
#include "pin_hash.h"

struct nexudus_options {
	const char *base_url;         /* "https://spaces.nexudus.com" (the API is under /api) */
	int64_t business_id;          /* BusinessId of the check-in records, >= 1 */
	const char *credentials_file; /* secret file: user name on line 1, password on line 2 */
	/* The stable client id of this device (the client_id header that scopes
	 * refresh tokens). NULL: "nexudus-client-id" beside cache_path, made
	 * once with 128 random bits. */
	const char *client_id_file;
	const char *ca_file;     /* NULL: the system's CAs */
	const char *pinned_keys; /* NULL or "sha256//...;sha256//..." */
	uint32_t timeout_ms;     /* per request; 0: 30 000 */
	const char *cache_path;  /* the directory cache porter loads and watches */
	uint8_t pin_key[PIN_KEY_LEN];
	uint32_t pin_min_length, pin_max_length; /* keypad.* */
	const struct cutoff_rule *day;           /* the site's zone and day start (visitors' day) */
	uint32_t sync_interval_s;                /* directory; 0: 300 */
	uint32_t presence_interval_s;            /* check-ins made elsewhere; 0: 30 */
	int64_t (*wall_clock_us)(void);
	/* Tests only: divide every pacing window (and the 100 ms interval) by
	 * this, as the mock's time_scale does. 0: 1. */
	double pace_time_scale;
	/* After a refused password porter asks again after this long; 0: 900. */
	uint32_t auth_retry_s;
	/* porter's database (made by store_open): porter_meta keeps the newest
	 * check-in change seen, so a restarted door reads what changed while it
	 * was down. NULL: a restart reads a day back. */
	const char *database_path;
	/* Porters (doors) using this account: Nexudus's budgets are per
	 * account, so each keeps to 1/doors of them. 0: 1. */
	uint32_t doors_sharing_account;
};

/* Fill `ret` with a Nexudus backend; the first directory sync and presence
 * poll start at once. Returns 0, or a negative errno with what is wrong in
 * `err` (credentials file, client id file, URL, HTTPS client). */
int nexudus_backend_new(const struct porter_host_services *services,
                        const struct nexudus_options *options, const struct backend_core *core,
                        struct backend *ret, char *err, size_t errlen);

#endif
