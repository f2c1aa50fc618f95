/* SPDX-License-Identifier: MIT */
/* lockout.c: per-reader wrong-PIN throttling. See lockout.h. */
#include "lockout.h"

uint64_t lockout_remaining(const struct lockout *l, uint64_t now_us)
{
	return l->locked_until_us > now_us ? l->locked_until_us - now_us : 0;
}

static uint64_t lockout_length(const struct lockout_policy *policy, uint32_t level)
{
	uint64_t len = policy->base_us;
	for (uint32_t i = 0; i < level && len < policy->max_us; i++)
		len *= 2;
	return len < policy->max_us ? len : policy->max_us;
}

/* Forgive what quiet windows since the last event allow. */
static void forgive(struct lockout *l, const struct lockout_policy *policy, uint64_t now_us)
{
	uint64_t quiet_from =
	        l->locked_until_us > l->last_failure_us ? l->locked_until_us : l->last_failure_us;
	uint64_t quiet = now_us > quiet_from ? now_us - quiet_from : 0;
	if ((l->failures > 0 || l->level > 0) && quiet >= policy->window_us) {
		uint64_t windows = quiet / policy->window_us;
		l->failures = 0;
		l->level = windows >= l->level ? 0 : l->level - (uint32_t)windows;
	}
	/* Never locked (or all forgiven): the count is per window, as configured. */
	if (l->level == 0 && l->failures > 0 && now_us - l->first_failure_us >= policy->window_us)
		l->failures = 0;
}

uint64_t lockout_record_failure(struct lockout *l, const struct lockout_policy *policy,
                                uint64_t now_us)
{
	forgive(l, policy, now_us);
	if (l->failures == 0)
		l->first_failure_us = now_us;
	if (l->failures < UINT32_MAX)
		l->failures++;
	l->last_failure_us = now_us;
	if (l->failures < policy->max_attempts)
		return 0;
	uint64_t len = lockout_length(policy, l->level);
	if (l->level < UINT32_MAX)
		l->level++;
	l->locked_until_us = now_us + len;
	return len;
}
