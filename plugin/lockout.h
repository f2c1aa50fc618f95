/* SPDX-License-Identifier: MIT */
/*
 * lockout.h: throttling PIN guessing at one reader.
 *
 * Wrong PINs are counted in a sliding window; reaching the limit locks the
 * reader for a time that doubles with each lockout (capped), the way door
 * vendors do it. A quiet window with no failures forgives the history. A good
 * PIN does not reset the count: otherwise one valid PIN, interleaved, would
 * let a guesser try forever.
 */
#ifndef PORTER_LOCKOUT_H
#define PORTER_LOCKOUT_H

#include <stdbool.h>
#include <stdint.h>

struct lockout_policy {
	uint32_t max_attempts;
	uint64_t window_us;
	uint64_t base_us;
	uint64_t max_us;
};

struct lockout {
	uint32_t failures;         /* wrong PINs in the current window */
	uint32_t level;            /* lockouts so far; the next lasts base << level */
	uint64_t first_failure_us; /* start of the current window */
	uint64_t last_failure_us;
	uint64_t locked_until_us; /* 0: not locked */
};

/* Microseconds of lockout left at `now_us`, 0 when the reader is open. */
uint64_t lockout_remaining(const struct lockout *lockout, uint64_t now_us);

/* Count a wrong PIN. Returns the lockout length when this failure locks the
 * reader, else 0. */
uint64_t lockout_record_failure(struct lockout *lockout, const struct lockout_policy *policy,
                                uint64_t now_us);

#endif
