/* SPDX-License-Identifier: MIT */
/*
 * cutoff.h: when is the daily check-out? Schedule arithmetic only, no I/O.
 *
 * A site sets a local time of day ("23:30") and a time zone. The cut-off of
 * a local day is the instant that time of day is first reached on it:
 *  - a time that exists once is that instant;
 *  - a time that exists twice (the clocks go back: 02:30 on 2026-10-25 in
 *    Europe/Berlin) is its first occurrence; the repeat is not a cut-off;
 *  - a time that does not exist (the clocks go forward: 02:30 on 2026-03-29
 *    in Europe/Berlin) is the instant the gap ends (03:00 local).
 * So every local day has exactly one cut-off: none is skipped or repeated.
 *
 * Time zones: "local" (the machine's zone, through localtime_r: /etc/localtime
 * or the host process's TZ) and "UTC". porter never sets TZ or calls tzset
 * itself: that would change the zone of the whole host process. Named IANA
 * zones would need porter's own TZif reader; until then a controller in
 * another zone than its site is configured with "local" on a machine set to
 * the site's zone (which its logs want anyway).
 */
#ifndef PORTER_CUTOFF_H
#define PORTER_CUTOFF_H

#include <stdbool.h>
#include <stdint.h>

#define CUTOFF_ZONE_MAX 32

struct cutoff_rule {
	int minute_of_day; /* 0..1439 */
	bool utc;          /* false: the machine's local zone */
};

/* "HH:MM", 00:00 to 23:59, two digits each. 0 or -EINVAL. */
int cutoff_parse_time(const char *text, int *ret_minute_of_day);

/* A zone porter supports ("local" or "UTC"). 0 or -EINVAL. */
int cutoff_parse_zone(const char *name, bool *ret_utc);

/* The first cut-off strictly after unix time `after_s`. */
int64_t cutoff_next(const struct cutoff_rule *rule, int64_t after_s);

/* The last cut-off at or before unix time `at_s`. */
int64_t cutoff_previous(const struct cutoff_rule *rule, int64_t at_s);

#endif
