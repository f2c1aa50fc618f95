/* SPDX-License-Identifier: MIT */
/*
 * lockout.h: throttling PIN guessing at one reader.
 *
 * Wrong PINs are counted until a quiet window: window_s with no wrong PIN,
 * counted from the end of the last lockout or the last wrong PIN, whichever
 * is later (counting it from the last wrong PIN would let a lockout longer
 * than the window forgive itself). Before the first lockout the count is
 * also forgotten window_s after its first wrong PIN, so a few typos spread
 * over a day never lock.
 *
 * max_attempts wrong PINs lock the reader for base_s. After that the reader
 * is on probation: every further wrong PIN before a quiet window locks it
 * again, each lockout twice as long as the one before (capped). A quiet
 * window clears the count and steps the escalation down one level; each
 * further quiet window one more. Stepping down one level at a time, not all
 * the way, is what keeps a patient guesser from buying cheap short lockouts
 * again and again (README, "PIN guessing: the arithmetic").
 *
 * A good PIN does not reset anything: otherwise one valid PIN, interleaved,
 * would let a guesser try forever.
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
	uint32_t failures;         /* wrong PINs since the last quiet window */
	uint32_t level;            /* lockouts not yet forgiven; the next lasts base << level */
	uint64_t first_failure_us; /* first wrong PIN counted in `failures` */
	uint64_t last_failure_us;
	uint64_t locked_until_us; /* 0: never locked */
};

/* Microseconds of lockout left at `now_us`, 0 when the reader is open. */
uint64_t lockout_remaining(const struct lockout *lockout, uint64_t now_us);

/* Count a wrong PIN (never called while locked: a locked reader looks at no
 * PIN). Returns the lockout length when this failure locks the reader, else
 * 0. */
uint64_t lockout_record_failure(struct lockout *lockout, const struct lockout_policy *policy,
                                uint64_t now_us);

#endif
