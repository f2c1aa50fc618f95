/* SPDX-License-Identifier: MIT */
/* tzfile.c: a TZif reader and the offsets of a named zone. See tzfile.h. */
#include "tzfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utc_time.h"

#define HEADER_LEN 44
#define FOOTER_MAX 128
#define DAY_S      86400
#define OFFSET_MAX (26 * 3600) /* RFC 8536 suggests -89999..93599 */
#define RULE_HOURS 167         /* a rule time's hours, RFC 8536 3.3.1 */
#define RULE_T_MAX ((int64_t)1 << 55)

static int fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

bool tz_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0, component = 0;
	if (len == 0 || len > TZ_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char ch = name[i];
		if (ch == '/' || ch == '\0') {
			if (component == 0)
				return false; /* leading, trailing or doubled '/' */
			component = 0;
		} else if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		           (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-') {
			component++;
		} else {
			return false; /* no '.', so no "..": the name stays under TZ_DIR */
		}
	}
	return true;
}

/* ---- Calendar ----------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
	int64_t year;
	int month, day;
	utc_time_civil_from_days(z, &year, &month, &day);
	return year;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Local seconds since the epoch at which rule date `d` falls in year `y`. */
static int64_t rule_date_local(const struct tz_date *d, int64_t y)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t first = days_from_civil(y, d->month, 1);
	int wday_first = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	int length = mdays[d->month - 1];
	if (d->month == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		length = 29;
	int day = 1 + (d->wday - wday_first + 7) % 7 + (d->week - 1) * 7;
	while (day > length)
		day -= 7; /* week 5 is the last such day of the month */
	return (first + day - 1) * DAY_S + d->time;
}

static int64_t rule_offset(const struct tz_rule *r, int64_t t)
{
	if (!r->has_dst)
		return r->std_offset;
	/* A billion years either way is the same rule; the calendar arithmetic
	 * below stays far from int64 overflow. */
	if (t > RULE_T_MAX)
		t = RULE_T_MAX;
	else if (t < -RULE_T_MAX)
		t = -RULE_T_MAX;
	/* The year of the local date; a rule time pushing a change across New
	 * Year (hours beyond 24) is not in any real zone. */
	int64_t y = year_of_days(floor_div(t + r->std_offset, DAY_S));
	int64_t start = rule_date_local(&r->start, y) - r->std_offset;
	int64_t end = rule_date_local(&r->end, y) - r->dst_offset;
	bool dst = start < end ? (t >= start && t < end) : (t >= start || t < end);
	return dst ? r->dst_offset : r->std_offset;
}

int64_t tz_utc_offset(const struct tz *tz, int64_t t)
{
	if (tz->n_times == 0 || t >= tz->times[tz->n_times - 1])
		return rule_offset(&tz->rule, t);
	if (t < tz->times[0])
		return tz->offsets[0];         /* RFC 8536: type 0 before the first transition */
	uint32_t lo = 0, hi = tz->n_times - 1; /* times[lo] <= t < times[hi] */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (tz->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offsets[tz->type_of[lo]];
}

/* ---- The footer: a POSIX TZ string ------------------------------------- */

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A zone abbreviation: three or more letters, or <...> quoted. */
static bool parse_name(const char **s)
{
	const char *p = *s;
	size_t n = 0;
	if (*p == '<') {
		for (p++; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-'; p++)
			n++;
		if (*p++ != '>')
			return false;
	} else {
		for (; is_alpha(*p); p++)
			n++;
	}
	*s = p;
	return n >= 3;
}

/* A number of 1 to 3 digits no greater than max. */
static bool parse_num(const char **s, int max, int *ret)
{
	int v = 0, n = 0;
	for (; is_digit(**s) && n < 3; (*s)++, n++)
		v = v * 10 + (**s - '0');
	if (n == 0 || v > max)
		return false;
	*ret = v;
	return true;
}

/* [+-]hh[:mm[:ss]] in seconds, hours at most max_hours. */
static bool parse_hms(const char **s, int max_hours, int32_t *ret)
{
	int sign = 1, h, m = 0, sec = 0;
	if (**s == '+' || **s == '-')
		sign = *(*s)++ == '-' ? -1 : 1;
	if (!parse_num(s, max_hours, &h))
		return false;
	if (**s == ':') {
		(*s)++;
		if (!parse_num(s, 59, &m))
			return false;
		if (**s == ':') {
			(*s)++;
			if (!parse_num(s, 59, &sec))
				return false;
		}
	}
	*ret = sign * (h * 3600 + m * 60 + sec);
	return true;
}

/* ,Mm.w.d[/time] */
static bool parse_date(const char **s, struct tz_date *d)
{
	int32_t time = 2 * 3600; /* POSIX default: 02:00 */
	if (*(*s)++ != ',' || *(*s)++ != 'M' || !parse_num(s, 12, &d->month) || d->month < 1 ||
	    *(*s)++ != '.' || !parse_num(s, 5, &d->week) || d->week < 1 || *(*s)++ != '.' ||
	    !parse_num(s, 6, &d->wday))
		return false;
	if (**s == '/') {
		(*s)++;
		if (!parse_hms(s, RULE_HOURS, &time))
			return false;
	}
	d->time = time;
	return true;
}

static int parse_footer(const char *s, struct tz_rule *r, char *err, size_t errlen)
{
	const char *p = s;
	int32_t west;
	memset(r, 0, sizeof(*r));
	if (*p == '\0')
		return fail(err, errlen,
		            "the zone file has no rule for times after its last "
		            "transition (no TZ string footer)");
	/* POSIX offsets count west of UTC: "CET-1" is one hour east. */
	if (!parse_name(&p) || !parse_hms(&p, 24, &west))
		goto unsupported;
	r->std_offset = -west;
	if (*p == '\0')
		return 0;
	if (!parse_name(&p))
		goto unsupported;
	r->has_dst = true;
	r->dst_offset = r->std_offset + 3600;
	if (*p != ',' && *p != '\0') {
		if (!parse_hms(&p, 24, &west))
			goto unsupported;
		r->dst_offset = -west;
	}
	if (!parse_date(&p, &r->start) || !parse_date(&p, &r->end) || *p != '\0')
		goto unsupported;
	return 0;
unsupported:
	return fail(err, errlen,
	            "the zone's rule \"%s\" is in a form porter does not read (it reads fixed "
	            "offsets and Mm.w.d dates)",
	            s);
}

/* ---- TZif --------------------------------------------------------------- */

enum { ISUT, ISSTD, LEAP, TIME, TYPE, CHAR, N_COUNTS };

static int read_header(const uint8_t *data, size_t len, size_t at, uint32_t counts[N_COUNTS],
                       char *err, size_t errlen)
{
	if (len - at < HEADER_LEN)
		return fail(err, errlen, "not a TZif file: shorter than its header");
	if (memcmp(data + at, "TZif", 4) != 0)
		return fail(err, errlen, "not a TZif file: bad magic");
	for (int i = 0; i < N_COUNTS; i++)
		counts[i] = be32(data + at + 20 + 4 * i);
	return 0;
}

/* Bytes of a data block with `time_size`-byte times; uint64 cannot overflow
 * on six 32-bit counts. */
static uint64_t block_size(const uint32_t c[N_COUNTS], unsigned time_size)
{
	return (uint64_t)c[TIME] * time_size + c[TIME] + (uint64_t)c[TYPE] * 6 + c[CHAR] +
	       (uint64_t)c[LEAP] * (time_size + 4) + c[ISSTD] + c[ISUT];
}

static int read_types(const uint8_t *p, const uint32_t c[N_COUNTS], struct tz *tz, char *err,
                      size_t errlen)
{
	for (uint32_t i = 0; i < c[TYPE]; i++, p += 6) {
		int32_t off = (int32_t)be32(p);
		if (off < -OFFSET_MAX || off > OFFSET_MAX)
			return fail(err, errlen, "bad zone file: offset %ld s of type %u",
			            (long)off, i);
		if (p[4] > 1 || p[5] >= c[CHAR])
			return fail(err, errlen, "bad zone file: type %u is malformed", i);
		tz->offsets[i] = off;
	}
	return 0;
}

int tz_parse(const uint8_t *data, size_t len, struct tz *tz, char *err, size_t errlen)
{
	uint32_t c[N_COUNTS];
	char footer[FOOTER_MAX + 1];
	int r;

	if (!data || !tz)
		return fail(err, errlen, "no zone data");
	memset(tz, 0, sizeof(*tz));
	if (len > TZ_FILE_MAX)
		return fail(err, errlen, "zone file over %d bytes", TZ_FILE_MAX);
	r = read_header(data, len, 0, c, err, errlen);
	if (r < 0)
		return r;
	if (data[4] < '2')
		return fail(err, errlen, "TZif version 1 file: porter needs version 2 or later");
	/* Skip the 32-bit block to the 64-bit header. */
	uint64_t at = HEADER_LEN + block_size(c, 4);
	if (at > len)
		return fail(err, errlen, "zone file truncated in its version 1 data");
	r = read_header(data, len, (size_t)at, c, err, errlen);
	if (r < 0)
		return r;
	at += HEADER_LEN;
	if (c[TIME] > TZ_MAX_TIMES || c[TYPE] == 0 || c[TYPE] > TZ_MAX_TYPES || c[CHAR] == 0 ||
	    (c[ISSTD] != 0 && c[ISSTD] != c[TYPE]) || (c[ISUT] != 0 && c[ISUT] != c[TYPE]))
		return fail(err, errlen, "bad zone file: counts out of range");
	if (c[LEAP] != 0)
		return fail(err, errlen,
		            "zone files with leap seconds (right/...) are not supported");
	if (block_size(c, 8) > len - at)
		return fail(err, errlen, "zone file truncated in its data");
	const uint8_t *p = data + at;
	tz->n_times = c[TIME];
	tz->n_types = c[TYPE];
	for (uint32_t i = 0; i < c[TIME]; i++) {
		tz->times[i] = be64(p + 8 * i);
		if (i > 0 && tz->times[i] <= tz->times[i - 1])
			return fail(err, errlen, "bad zone file: transitions out of order");
	}
	p += 8 * (size_t)c[TIME];
	for (uint32_t i = 0; i < c[TIME]; i++) {
		if (p[i] >= c[TYPE])
			return fail(err, errlen, "bad zone file: transition to type %u of %u", p[i],
			            c[TYPE]);
		tz->type_of[i] = p[i];
	}
	p += c[TIME];
	r = read_types(p, c, tz, err, errlen);
	if (r < 0)
		return r;
	at += block_size(c, 8);
	/* The footer: "\n" TZ-string "\n", the file's end. */
	const uint8_t *nl = at < len ? memchr(data + at + 1, '\n', len - at - 1) : NULL;
	if (at >= len || data[at] != '\n' || !nl || (size_t)(nl - data) != len - 1)
		return fail(err, errlen,
		            "the zone file has no rule for times after its last "
		            "transition (no TZ string footer)");
	size_t flen = (size_t)(nl - (data + at + 1));
	if (flen > FOOTER_MAX || memchr(data + at + 1, '\0', flen))
		return fail(err, errlen, "bad zone file: footer malformed");
	memcpy(footer, data + at + 1, flen);
	footer[flen] = '\0';
	return parse_footer(footer, &tz->rule, err, errlen);
}

static int read_file(int fd, const char *path, uint8_t **ret, size_t *ret_len, char *err,
                     size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return fail(err, errlen, "%s is not a time zone file", path);
	if (st.st_size > TZ_FILE_MAX)
		return fail(err, errlen, "%s is over %d bytes: not a time zone file", path,
		            TZ_FILE_MAX);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	size_t len = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			fail(err, errlen, "%s: %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size) {
			free(buf);
			return fail(err, errlen, "%s grew while read", path);
		}
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int tz_load(const char *name, struct tz **ret, char *err, size_t errlen)
{
	char path[sizeof(TZ_DIR) + 1 + TZ_NAME_MAX + 1];
	uint8_t *data = NULL;
	size_t len = 0;
	if (!ret)
		return -EINVAL;
	*ret = NULL;
	if (!tz_name_valid(name))
		return fail(err, errlen,
		            "not a time zone name: write it as in the tz database, for example "
		            "\"Europe/Berlin\"");
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return fail(err, errlen, "unknown time zone \"%s\": no file %s", name,
			            path),
			       -ENOENT;
		fail(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int r = read_file(fd, path, &data, &len, err, errlen);
	close(fd);
	if (r < 0)
		return r;
	struct tz *tz = malloc(sizeof(*tz));
	char why[TZ_ERROR_MAX];
	if (!tz) {
		free(data);
		return -ENOMEM;
	}
	r = tz_parse(data, len, tz, why, sizeof(why));
	free(data);
	if (r < 0) {
		free(tz);
		return fail(err, errlen, "time zone \"%s\": %s", name, why);
	}
	*ret = tz;
	return 0;
}
