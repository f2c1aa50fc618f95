/* SPDX-License-Identifier: MIT */
/* utc_time.c: UTC timestamps as text. See utc_time.h. */
#include "utc_time.h"

#include <errno.h>
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
