/* SPDX-License-Identifier: MIT */
/*
 * utc_time.h: porter's one writer of UTC timestamps.
 *
 * presence_log.recorded_at, the outbox's dead letters and last delivery,
 * and the webhook payload's "timestamp" all carry the same text,
 * "2026-11-25T08:00:00.123456Z", so a receiver, porter-admin and the outbox's
 * own reader (outbox_parse_time) agree on it to the character. The local
 * directory's validity dates are seconds ("2026-11-25T08:00:00Z") reaching
 * back to year 1 (.NET's DateTime.MinValue from Nexudus).
 *
 * Pure arithmetic (no gmtime_r, no strftime, no locale or TZ): the recorder
 * formats every change of a batch with it on its own thread.
 */
#ifndef PORTER_UTC_TIME_H
#define PORTER_UTC_TIME_H

#include <stdint.h>

#define UTC_TIME_US_LEN 27 /* "2026-11-25T08:00:00.123456Z" */
#define UTC_TIME_S_LEN  20 /* "2026-11-25T08:00:00Z" */

/* Microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". A time
 * before 1970 or after 9999-12-31T23:59:59.999999Z is refused with -ERANGE
 * (ret is then ""): a presence change there is a broken wall clock, and a
 * five-digit year would not read back. Returns UTC_TIME_US_LEN. */
int utc_time_format_us(int64_t unix_us, char ret[UTC_TIME_US_LEN + 1]);

/* Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ", for any time in years
 * 0001 to 9999 (before 1970 included); -ERANGE (ret "") outside them.
 * Returns UTC_TIME_S_LEN. */
int utc_time_format_s(int64_t unix_s, char ret[UTC_TIME_S_LEN + 1]);

/* Days since 1970-01-01 (negative before) to a proleptic Gregorian date;
 * tzfile.c finds the year of a time zone rule with it too. */
void utc_time_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

#endif
