/* SPDX-License-Identifier: MIT */
/*
 * daily_checkout.h: runs the daily check-out on the host's timers.
 *
 * One host timer is armed for the next cut-off (cutoff.h), delayed on the
 * monotonic clock, and every run re-reads the wall clock, since wall time
 * may jump (NTP, an admin, a controller without a battery-backed clock):
 * the timer is never armed for more than DAILY_CHECKOUT_RECHECK_S, so a clock
 * set forward is noticed within that, and a timer that fires early by the
 * wall clock simply arms again. Each run first checks out whoever is in since
 * before the last cut-off that has passed, recorded at that cut-off: at start
 * that is the catch-up for a cut-off missed while porter was down, and it
 * makes running twice harmless.
 */
#ifndef PORTER_DAILY_CHECKOUT_H
#define PORTER_DAILY_CHECKOUT_H

#include <stdint.h>

#include "engine.h"
#include "porter.h"

#define DAILY_CHECKOUT_RECHECK_S 600

struct daily_checkout {
	const struct porter_host_services *services;
	struct engine *engine; /* its config, presence, recorder and wall clock */
	int64_t timer;         /* 0: none armed */
};

/* Catch up on the last cut-off, then arm for the next one; after start and
 * after every reload (the time may have changed). Does nothing but remove
 * the timer while the config has it off. */
void daily_checkout_arm(struct daily_checkout *daily);

/* Remove the timer (shutdown, before the recorder stops). */
void daily_checkout_disarm(struct daily_checkout *daily);

#endif
