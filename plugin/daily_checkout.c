/* SPDX-License-Identifier: MIT */
/* daily_checkout.c: the daily check-out's timer. See daily_checkout.h. */
#include "daily_checkout.h"

#include <errno.h>
#include <string.h>

#include "cutoff.h"
#include "log.h"
#include "utc_time.h"

static void fired(void *userdata)
{
	struct daily_checkout *d = userdata;
	d->timer = 0; /* a fired timer is gone */
	daily_checkout_arm(d);
}

void daily_checkout_disarm(struct daily_checkout *d)
{
	if (d->timer > 0)
		d->services->timer_remove(d->services->host, d->timer);
	d->timer = 0;
}

static void log_run(struct daily_checkout *d, size_t n, int64_t at_s)
{
	char when[UTC_TIME_S_LEN + 1];
	utc_time_format_s(at_s, when);
	plog(d->services, PORTER_LOG_INFO, "daily check-out of %s: checking out %zu %s still in",
	     when, n, n == 1 ? "person" : "people");
}

void daily_checkout_arm(struct daily_checkout *d)
{
	struct engine *e = d->engine;
	const struct cutoff_rule *rule = &e->config->daily_checkout_at;
	daily_checkout_disarm(d);
	if (!e->config->daily_checkout || e->stopping)
		return;
	int64_t now_us = e->wall_clock_us();
	int64_t now_s = now_us >= 0 ? now_us / 1000000 : -((-now_us + 999999) / 1000000);
	int64_t last_s = cutoff_previous(rule, now_s);
	size_t n = engine_daily_cutoff(e, last_s * 1000000);
	if (n)
		log_run(d, n, last_s);
	int64_t wait_us = cutoff_next(rule, now_s) * 1000000 - now_us;
	if (wait_us > (int64_t)DAILY_CHECKOUT_RECHECK_S * 1000000)
		wait_us = (int64_t)DAILY_CHECKOUT_RECHECK_S * 1000000;
	if (wait_us < 1)
		wait_us = 1;
	int64_t id = d->services->timer_add(d->services->host, (uint64_t)wait_us, fired, d);
	if (id > 0) {
		d->timer = id;
		return;
	}
	plog(d->services, PORTER_LOG_ERROR,
	     "daily check-out: the host refused a timer (%s); it runs at the next start or "
	     "reload instead",
	     strerror(id < 0 && id > -4096 ? (int)-id : EIO));
}
