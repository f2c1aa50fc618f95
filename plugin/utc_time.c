/* SPDX-License-Identifier: MIT */
/* utc_time.c: UTC timestamps as text. See utc_time.h. */
#include "utc_time.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define DAY_S       86400
#define YEAR1_S     (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define YEAR10000_S 253402300800LL   /* 10000-01-01T00:00:00Z */

static void digits(char *p, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

/* Howard Hinnant's civil_from_days, counting in 400-year eras that start on
 * 1 March so the leap day is the last day of its year. */
void utc_time_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

/* Its inverse (Hinnant's days_from_civil), for a month 1 to 12. */
static int64_t days_from_civil(int64_t year, int month, int day)
{
	year -= month <= 2;
	int64_t era = (year >= 0 ? year : year - 399) / 400;
	int64_t yoe = year - era * 400;
	int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS" (19 characters) for a second known to be in range. */
static void format_second(int64_t unix_s, char *p)
{
	int64_t days = unix_s / DAY_S, rem = unix_s % DAY_S;
	if (rem < 0) {
		days--;
		rem += DAY_S;
	}
	int64_t year;
	int month, day;
	utc_time_civil_from_days(days, &year, &month, &day);
	digits(p, year, 4);
	p[4] = '-';
	digits(p + 5, month, 2);
	p[7] = '-';
	digits(p + 8, day, 2);
	p[10] = 'T';
	digits(p + 11, rem / 3600, 2);
	p[13] = ':';
	digits(p + 14, rem / 60 % 60, 2);
	p[16] = ':';
	digits(p + 17, rem % 60, 2);
}

int utc_time_format_us(int64_t unix_us, char ret[UTC_TIME_US_LEN + 1])
{
	ret[0] = '\0';
	if (unix_us < 0 || unix_us / 1000000 >= YEAR10000_S)
		return -ERANGE;
	format_second(unix_us / 1000000, ret);
	ret[19] = '.';
	digits(ret + 20, unix_us % 1000000, 6);
	memcpy(ret + 26, "Z", 2);
	return UTC_TIME_US_LEN;
}

int utc_time_format_s(int64_t unix_s, char ret[UTC_TIME_S_LEN + 1])
{
	ret[0] = '\0';
	if (unix_s < YEAR1_S || unix_s >= YEAR10000_S)
		return -ERANGE;
	format_second(unix_s, ret);
	memcpy(ret + 19, "Z", 2);
	return UTC_TIME_S_LEN;
}

int utc_time_format_ms(int64_t unix_us, char ret[UTC_TIME_MS_LEN + 1])
{
	ret[0] = '\0';
	/* Floor division: -1 us is the last millisecond of 1969, not of 1970. */
	int64_t s = unix_us / 1000000, us = unix_us % 1000000;
	if (us < 0) {
		s--;
		us += 1000000;
	}
	if (s < YEAR1_S || s >= YEAR10000_S)
		return -ERANGE;
	format_second(s, ret);
	ret[19] = '.';
	digits(ret + 20, us / 1000, 3);
	memcpy(ret + 23, "Z", 2);
	return UTC_TIME_MS_LEN;
}

/* n decimal digits at p, nothing else (no sign, no space). */
static bool number(const char *p, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*ret = v;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS" at the start of text (the caller checked that it
 * holds at least 19 characters) to seconds since the epoch. */
static int parse_second(const char *p, int64_t *ret)
{
	int year, month, day, hour, minute, second;
	if (!number(p, 4, &year) || p[4] != '-' || !number(p + 5, 2, &month) || p[7] != '-' ||
	    !number(p + 8, 2, &day) || p[10] != 'T' || !number(p + 11, 2, &hour) || p[13] != ':' ||
	    !number(p + 14, 2, &minute) || p[16] != ':' || !number(p + 17, 2, &second))
		return -EINVAL;
	if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60)
		return -EINVAL;
	/* 23:59:60 is the next day: the day read would not be the day written. */
	if (second == 60 && hour == 23 && minute == 59)
		return -EINVAL;
	int64_t days = days_from_civil(year, month, day), y;
	int m, d;
	utc_time_civil_from_days(days, &y, &m, &d);
	if (m != month || d != day) /* 2026-02-31 would be 3 March */
		return -EINVAL;
	*ret = days * DAY_S + hour * 3600 + minute * 60 + second;
	return 0;
}

int utc_time_parse_s(const char *text, int64_t *ret)
{
	if (strlen(text) != UTC_TIME_S_LEN || text[19] != 'Z')
		return -EINVAL;
	return parse_second(text, ret);
}

int utc_time_parse_us(const char *text, int64_t *ret)
{
	int64_t s;
	int us;
	if (strlen(text) != UTC_TIME_US_LEN || text[19] != '.' || !number(text + 20, 6, &us) ||
	    text[26] != 'Z' || parse_second(text, &s) < 0)
		return -EINVAL;
	*ret = s * 1000000 + us;
	return 0;
}
