/* SPDX-License-Identifier: MIT */
/*
 * test_tzfile.c: porter's TZif reader (plugin/tzfile.c). Real zones from
 * /usr/share/zoneinfo (package tzdata) give the offsets their law says,
 * around daylight saving changes and after 2037 (the footer rule), and agree
 * with the C library's own reading of the same file; malformed files and
 * names are refused with a reason, never a crash or a read out of bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tzfile.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
	        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
	return (int64_t)timegm(&tm);
}

static struct tz *load(const char *name)
{
	struct tz *tz = NULL;
	char err[TZ_ERROR_MAX];
	int r = tz_load(name, &tz, err, sizeof(err));
	if (r < 0)
		fail_msg("%s: %s", name, err);
	return tz;
}

/* The bytes of a real zone file. */
static uint8_t *file_bytes(const char *name, size_t *ret_len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(TZ_FILE_MAX);
	assert_non_null(buf);
	*ret_len = fread(buf, 1, TZ_FILE_MAX, f);
	fclose(f);
	return buf;
}

/* ---- real zones --------------------------------------------------------- */

static void test_berlin_changes_at_one_utc_on_the_last_sundays(void **state)
{
	struct tz *tz = load("Europe/Berlin");
	int64_t spring = utc(2026, 3, 29, 1, 0), autumn = utc(2026, 10, 25, 1, 0);
	assert_int_equal(tz_utc_offset(tz, spring - 1), 3600);
	assert_int_equal(tz_utc_offset(tz, spring), 7200);
	assert_int_equal(tz_utc_offset(tz, autumn - 1), 7200);
	assert_int_equal(tz_utc_offset(tz, autumn), 3600);
	assert_int_equal(tz_utc_offset(tz, utc(2026, 1, 15, 12, 0)), 3600);
	assert_int_equal(tz_utc_offset(tz, utc(2026, 7, 15, 12, 0)), 7200);
	free(tz);
	(void)state;
}

static void test_new_york_changes_on_its_own_sundays(void **state)
{
	struct tz *tz = load("America/New_York");
	int64_t spring = utc(2026, 3, 8, 7, 0), autumn = utc(2026, 11, 1, 6, 0);
	assert_int_equal(tz_utc_offset(tz, spring - 1), -5 * 3600);
	assert_int_equal(tz_utc_offset(tz, spring), -4 * 3600);
	assert_int_equal(tz_utc_offset(tz, autumn - 1), -4 * 3600);
	assert_int_equal(tz_utc_offset(tz, autumn), -5 * 3600);
	free(tz);
	(void)state;
}

/* Lord Howe Island moves its clocks by half an hour; Kolkata never. */
static void test_half_hour_zones(void **state)
{
	struct tz *tz = load("Australia/Lord_Howe");
	int64_t back = utc(2026, 4, 4, 15, 0); /* 02:00 +11 on 2026-04-05 */
	assert_int_equal(tz_utc_offset(tz, back - 1), 11 * 3600);
	assert_int_equal(tz_utc_offset(tz, back), 10 * 3600 + 1800);
	free(tz);
	tz = load("Asia/Kolkata");
	assert_false(tz->rule.has_dst);
	assert_int_equal(tz->rule.std_offset, 5 * 3600 + 1800);
	assert_int_equal(tz_utc_offset(tz, utc(2026, 1, 1, 0, 0)), 5 * 3600 + 1800);
	assert_int_equal(tz_utc_offset(tz, utc(2026, 7, 1, 0, 0)), 5 * 3600 + 1800);
	assert_int_equal(tz_utc_offset(tz, utc(2090, 7, 1, 0, 0)), 5 * 3600 + 1800);
	free(tz);
	(void)state;
}

/* 2040 is past the last transition in the file: the footer rule decides.
 * The last Sunday of March 2040 is the 25th, of October the 28th. */
static void test_after_2037_the_footer_rule_decides(void **state)
{
	struct tz *tz = load("Europe/Berlin");
	int64_t spring = utc(2040, 3, 25, 1, 0), autumn = utc(2040, 10, 28, 1, 0);
	assert_true(tz->n_times > 0);
	assert_true(tz->times[tz->n_times - 1] < utc(2039, 1, 1, 0, 0));
	assert_true(tz->rule.has_dst);
	assert_int_equal(tz_utc_offset(tz, spring - 1), 3600);
	assert_int_equal(tz_utc_offset(tz, spring), 7200);
	assert_int_equal(tz_utc_offset(tz, autumn - 1), 7200);
	assert_int_equal(tz_utc_offset(tz, autumn), 3600);
	assert_int_equal(tz_utc_offset(tz, utc(2100, 7, 1, 0, 0)), 7200);
	assert_int_equal(tz_utc_offset(tz, utc(2100, 12, 1, 0, 0)), 3600);
	free(tz);
	tz = load("Australia/Lord_Howe"); /* southern: DST spans New Year */
	assert_int_equal(tz_utc_offset(tz, utc(2045, 1, 15, 0, 0)), 11 * 3600);
	assert_int_equal(tz_utc_offset(tz, utc(2045, 7, 15, 0, 0)), 10 * 3600 + 1800);
	free(tz);
	(void)state;
}

/* The test is a host: it may set its own TZ, so the C library reads the
 * same file for comparison, every 3 days less a minute from 1900 to 2100. */
static void test_offsets_agree_with_the_c_library(void **state)
{
	const char *zones[] = {"Europe/Berlin", "America/New_York",  "Australia/Lord_Howe",
	                       "Asia/Kolkata",  "America/Sao_Paulo", "Pacific/Chatham",
	                       "America/Nuuk",  "Europe/Dublin",     "Africa/Casablanca"};
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct tz *tz = load(zones[z]);
		setenv("TZ", zones[z], 1);
		tzset();
		for (int64_t t = utc(1900, 1, 1, 0, 0); t < utc(2100, 1, 1, 0, 0);
		     t += 3 * 86400 - 61) {
			struct tm tm;
			time_t tt = (time_t)t;
			assert_non_null(localtime_r(&tt, &tm));
			if (tz_utc_offset(tz, t) != tm.tm_gmtoff)
				fail_msg("%s at %lld: %lld, the C library says %ld", zones[z],
				         (long long)t, (long long)tz_utc_offset(tz, t),
				         tm.tm_gmtoff);
		}
		free(tz);
	}
	unsetenv("TZ");
	tzset();
	(void)state;
}

/* ---- names ------------------------------------------------------------ */

static void test_names_stay_under_the_zone_directory(void **state)
{
	const char *good[] = {"Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5",
	                      "EST5EDT", "America/Port-au-Prince"};
	const char *bad[] = {"",
	                     "/etc/passwd",
	                     "../etc/passwd",
	                     "Europe/../../etc/passwd",
	                     "Europe//Berlin",
	                     "Europe/",
	                     "Europe/Berlin ",
	                     "Europe\\Berlin",
	                     "./Europe/Berlin",
	                     "Europe/Berlin\n",
	                     NULL};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(tz_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tz *tz = (struct tz *)&tz;
		char err[TZ_ERROR_MAX] = "";
		assert_false(tz_name_valid(bad[i]));
		assert_int_equal(tz_load(bad[i], &tz, err, sizeof(err)), -EINVAL);
		assert_null(tz);
		assert_non_null(strstr(err, "not a time zone name"));
	}
	char long_name[TZ_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(tz_name_valid(long_name));
	(void)state;
}

static void test_unknown_zones_and_directories_are_refused(void **state)
{
	struct tz *tz = NULL;
	char err[TZ_ERROR_MAX];
	assert_int_equal(tz_load("Mars/Olympus", &tz, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown time zone \"Mars/Olympus\": no file "
	                         "/usr/share/zoneinfo/Mars/Olympus");
	assert_int_equal(tz_load("Europe", &tz, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is not a time zone file"));
	assert_null(tz);
	(void)state;
}

/* ---- malformed files ---------------------------------------------------- */

static int parse(const uint8_t *data, size_t len, char *err)
{
	struct tz *tz = malloc(sizeof(*tz));
	assert_non_null(tz);
	err[0] = '\0';
	int r = tz_parse(data, len, tz, err, TZ_ERROR_MAX);
	free(tz);
	return r;
}

/* Every prefix of a real file is refused (each cut lands in a header, the
 * data or the footer); only the whole file is read. */
static void test_a_truncated_file_is_refused(void **state)
{
	size_t len;
	uint8_t *real = file_bytes("Europe/Berlin", &len);
	char err[TZ_ERROR_MAX];
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
		memcpy(copy, real, cut);
		assert_int_equal(parse(copy, cut, err), -EINVAL);
		assert_true(err[0] != '\0');
		free(copy);
	}
	assert_int_equal(parse(real, len, err), 0);
	free(real);
	(void)state;
}

static void test_bad_magic_and_version_1_are_refused(void **state)
{
	size_t len;
	uint8_t *real = file_bytes("Europe/Berlin", &len);
	char err[TZ_ERROR_MAX];
	real[0] = 'X';
	assert_int_equal(parse(real, len, err), -EINVAL);
	assert_string_equal(err, "not a TZif file: bad magic");
	real[0] = 'T';
	real[4] = '\0';
	assert_int_equal(parse(real, len, err), -EINVAL);
	assert_non_null(strstr(err, "version 1"));
	free(real);
	(void)state;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Counts of 2^32 - 1 in either header, or beyond porter's bounds. */
static void test_huge_counts_are_refused(void **state)
{
	size_t len;
	uint8_t *real = file_bytes("Europe/Berlin", &len);
	uint8_t *copy = malloc(len);
	char err[TZ_ERROR_MAX];
	/* the v2 header starts after the v1 block: find it by its magic */
	size_t v2 = 0;
	for (size_t i = 4; i + 4 <= len && !v2; i++)
		if (memcmp(real + i, "TZif", 4) == 0)
			v2 = i;
	assert_true(v2 > 0);
	for (int header = 0; header < 2; header++) {
		for (int field = 0; field < 6; field++) {
			const uint32_t values[] = {0xffffffffu, 0x80000000u, 100000u,
			                           TZ_MAX_TIMES + 1};
			for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
				memcpy(copy, real, len);
				put32(copy + (header ? v2 : 0) + 20 + 4 * field, values[v]);
				assert_int_equal(parse(copy, len, err), -EINVAL);
			}
		}
	}
	/* No local time type at all, or no designation characters. */
	memcpy(copy, real, len);
	put32(copy + v2 + 20 + 16, 0);
	assert_int_equal(parse(copy, len, err), -EINVAL);
	free(copy);
	free(real);
	(void)state;
}

/* A version 2 file built from parts: one transition at t=0 from type 0 to
 * type 1, then a footer. */
static size_t build(uint8_t *out, int32_t off0, int32_t off1, uint8_t to_type, const char *footer)
{
	static const uint8_t v1_empty[] = {
	        'T', 'Z', 'i', 'f', '2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	        0,   0,   0,   0,   0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* type */
	        0,   0,   0,   1,                                                     /* char */
	};
	size_t n = 0;
	memcpy(out, v1_empty, sizeof(v1_empty));
	n += sizeof(v1_empty);
	memset(out + n, 0, 7); /* the v1 block: one type, one char */
	n += 7;
	memcpy(out + n, v1_empty, 20);
	memset(out + n + 20, 0, 24);
	put32(out + n + 32, 1); /* timecnt */
	put32(out + n + 36, 2); /* typecnt */
	put32(out + n + 40, 4); /* charcnt */
	n += 44;
	memset(out + n, 0, 8); /* transition at 0 */
	n += 8;
	out[n++] = to_type;
	put32(out + n, (uint32_t)off0);
	out[n + 4] = 0;
	out[n + 5] = 0;
	put32(out + n + 6, (uint32_t)off1);
	out[n + 10] = 0;
	out[n + 11] = 0;
	n += 12;
	memcpy(out + n, "ABC", 4);
	n += 4;
	n += (size_t)sprintf((char *)out + n, "\n%s\n", footer);
	return n;
}

static void test_built_files_are_read_or_refused_with_a_reason(void **state)
{
	uint8_t buf[512];
	char err[TZ_ERROR_MAX];
	struct tz *tz = malloc(sizeof(*tz));
	size_t n = build(buf, 3600, 7200, 1, "<+02>-2");
	assert_int_equal(tz_parse(buf, n, tz, err, sizeof(err)), 0);
	assert_int_equal(tz_utc_offset(tz, -1), 3600);
	assert_int_equal(tz_utc_offset(tz, 0), 7200);
	assert_int_equal(tz_utc_offset(tz, 1000000000), 7200);

	n = build(buf, 3600, 7200, 2, "<+02>-2"); /* a transition to a type not there */
	assert_int_equal(parse(buf, n, err), -EINVAL);
	n = build(buf, 3600, 100000, 1, "<+02>-2"); /* an offset no place has */
	assert_int_equal(parse(buf, n, err), -EINVAL);
	n = build(buf, 3600, 7200, 1, ""); /* no rule after the last transition */
	assert_int_equal(parse(buf, n, err), -EINVAL);
	assert_non_null(strstr(err, "no rule for times after its last transition"));
	n = build(buf, 3600, 7200, 1, "EST5EDT,J60/2,J300/2"); /* Julian dates */
	assert_int_equal(parse(buf, n, err), -EINVAL);
	assert_non_null(strstr(err, "rule \"EST5EDT,J60/2,J300/2\""));
	n = build(buf, 3600, 7200, 1, "EST5EDT"); /* DST without dates */
	assert_int_equal(parse(buf, n, err), -EINVAL);
	n = build(buf, 3600, 7200, 1, "CET-1CEST,M3.5.0,M10.5.0/3 ");
	assert_int_equal(parse(buf, n, err), -EINVAL);
	n = build(buf, 3600, 7200, 1, "CET-1CEST,M13.5.0,M10.5.0/3");
	assert_int_equal(parse(buf, n, err), -EINVAL);
	n = build(buf, 3600, 7200, 1, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0"); /* Nuuk: negative */
	assert_int_equal(tz_parse(buf, n, tz, err, sizeof(err)), 0);
	assert_int_equal(tz->rule.start.time, -3600);
	n = build(buf, 3600, 7200, 1, "CET-1CEST,M3.5.0,M10.5.0/3");
	buf[n - 1] = 'x'; /* no closing newline */
	assert_int_equal(parse(buf, n, err), -EINVAL);
	free(tz);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_berlin_changes_at_one_utc_on_the_last_sundays),
	        cmocka_unit_test(test_new_york_changes_on_its_own_sundays),
	        cmocka_unit_test(test_half_hour_zones),
	        cmocka_unit_test(test_after_2037_the_footer_rule_decides),
	        cmocka_unit_test(test_offsets_agree_with_the_c_library),
	        cmocka_unit_test(test_names_stay_under_the_zone_directory),
	        cmocka_unit_test(test_unknown_zones_and_directories_are_refused),
	        cmocka_unit_test(test_a_truncated_file_is_refused),
	        cmocka_unit_test(test_bad_magic_and_version_1_are_refused),
	        cmocka_unit_test(test_huge_counts_are_refused),
	        cmocka_unit_test(test_built_files_are_read_or_refused_with_a_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
