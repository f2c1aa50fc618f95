/* SPDX-License-Identifier: MIT */
/*
 * utc_time.h: porter's one writer and reader of UTC timestamps.
 *
 * presence_log.recorded_at, the outbox's dead letters and last delivery,
 * and the webhook payload's "timestamp" all carry the same text,
 * "2026-11-25T08:00:00.123456Z", so a receiver, porter-admin and the outbox's
 * own reader (utc_time_parse_us) agree on it to the character. The local
 * directory's validity dates are seconds ("2026-11-25T08:00:00Z") reaching
 * back to year 1 (.NET's DateTime.MinValue from Nexudus). Nexudus's own
 * requests carry milliseconds ("2026-11-25T08:00:00.123Z").
 *
 * Pure arithmetic (no gmtime_r, no strftime, no locale or TZ): the recorder
 * formats every change of a batch with it on its own thread.
 */
#ifndef PORTER_UTC_TIME_H
#define PORTER_UTC_TIME_H

#include <stdint.h>

#define UTC_TIME_US_LEN 27 /* "2026-11-25T08:00:00.123456Z" */
#define UTC_TIME_S_LEN  20 /* "2026-11-25T08:00:00Z" */
#define UTC_TIME_MS_LEN 24 /* "2026-11-25T08:00:00.123Z" */

/* Microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". A time
 * before 1970 or after 9999-12-31T23:59:59.999999Z is refused with -ERANGE
 * (ret is then ""): a presence change there is a broken wall clock, and a
 * five-digit year would not read back. Returns UTC_TIME_US_LEN. */
int utc_time_format_us(int64_t unix_us, char ret[UTC_TIME_US_LEN + 1]);

/* Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ", for any time in years
 * 0001 to 9999 (before 1970 included); -ERANGE (ret "") outside them.
 * Returns UTC_TIME_S_LEN. */
int utc_time_format_s(int64_t unix_s, char ret[UTC_TIME_S_LEN + 1]);

/* Microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (Nexudus's
 * form), the rest below a millisecond dropped (towards the past, before 1970
 * too); years 0001 to 9999, else -ERANGE (ret ""). Returns UTC_TIME_MS_LEN. */
int utc_time_format_ms(int64_t unix_us, char ret[UTC_TIME_MS_LEN + 1]);

/* Exactly "YYYY-MM-DDTHH:MM:SSZ", years 0000 to 9999, to seconds since the
 * epoch. A day its month lacks is -EINVAL; a leap second (:60) reads as the
 * next second, except at 23:59, which would be the next day (refused, as
 * the timegm-based reader this replaces refused it). *ret is set only on
 * success. */
int utc_time_parse_s(const char *text, int64_t *ret);

/* Exactly utc_time_format_us's text (six digits of fraction, then "Z") back
 * to microseconds; -EINVAL for anything else, *ret then untouched. */
int utc_time_parse_us(const char *text, int64_t *ret);

/* Days since 1970-01-01 (negative before) to a proleptic Gregorian date;
 * tzfile.c finds the year of a time zone rule with it too. */
void utc_time_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

#endif
