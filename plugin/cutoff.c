/* SPDX-License-Identifier: MIT */
/* cutoff.c: the daily cut-off instant. See cutoff.h. */
#include "cutoff.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define DAY_S 86400

/* Seconds east of UTC at unix time `t` in the rule's zone. */
static long utc_offset(const struct cutoff_rule *rule, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (rule->utc || !localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

/* Local day number (days since 1970-01-01 in local time) of instant `t`. */
static int64_t local_day(const struct cutoff_rule *rule, int64_t t)
{
	int64_t local = t + utc_offset(rule, t);
	return local >= 0 ? local / DAY_S : -((-local + DAY_S - 1) / DAY_S);
}

/*
 * The cut-off of local day `day` (see cutoff.h). The local time is read with
 * the offsets a day before and a day after: each gives a candidate instant
 * that is real when the zone has that offset there. Two real ones: the time
 * exists twice, take the first. None: it falls in a gap, whose end is found
 * by bisection between the two candidates (offsets change on whole seconds).
 */
static int64_t cutoff_of_day(const struct cutoff_rule *rule, int64_t day)
{
	int64_t naive = day * DAY_S + (int64_t)rule->minute_of_day * 60;
	long before = utc_offset(rule, naive - DAY_S), after = utc_offset(rule, naive + DAY_S);
	int64_t t_before = naive - before, t_after = naive - after;
	bool ok_before = utc_offset(rule, t_before) == before;
	bool ok_after = utc_offset(rule, t_after) == after;
	if (ok_before && ok_after)
		return t_before < t_after ? t_before : t_after;
	if (ok_before)
		return t_before;
	if (ok_after)
		return t_after;
	if (after <= before)
		return t_before;             /* not a single forward step: no better answer */
	int64_t lo = t_after, hi = t_before; /* offset(lo) != after, offset(hi) == after */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (utc_offset(rule, mid) == after)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

int64_t cutoff_next(const struct cutoff_rule *rule, int64_t after_s)
{
	int64_t day = local_day(rule, after_s) - 1;
	for (;; day++) {
		int64_t c = cutoff_of_day(rule, day);
		if (c > after_s)
			return c;
	}
}

int64_t cutoff_previous(const struct cutoff_rule *rule, int64_t at_s)
{
	int64_t day = local_day(rule, at_s) + 1;
	for (;; day--) {
		int64_t c = cutoff_of_day(rule, day);
		if (c <= at_s)
			return c;
	}
}

int cutoff_parse_time(const char *s, int *ret)
{
	if (!s || strlen(s) != 5 || s[2] != ':')
		return -EINVAL;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -EINVAL;
	*ret = h * 60 + m;
	return 0;
}

int cutoff_parse_zone(const char *name, bool *ret_utc)
{
	if (name && strcmp(name, "local") == 0)
		*ret_utc = false;
	else if (name && strcmp(name, "UTC") == 0)
		*ret_utc = true;
	else
		return -EINVAL;
	return 0;
}
