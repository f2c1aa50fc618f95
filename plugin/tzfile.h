/* SPDX-License-Identifier: MIT */
/*
 * tzfile.h: a named IANA time zone, read from its TZif file (RFC 8536).
 *
 * porter is a plugin: setting TZ or calling tzset() would change the time
 * zone of the whole host process, so a zone other than the machine's own is
 * read here instead. Only the 64-bit (version 2+) data block is used; for
 * instants after its last transition the file's footer (a POSIX TZ rule such
 * as "CET-1CEST,M3.5.0,M10.5.0/3") gives the offset. A zone whose footer is
 * missing, or in a form porter does not read (Jn or n dates, DST without
 * explicit dates), or with leap seconds (right/...), is refused when loaded,
 * never later.
 *
 * Loading reads a file: config time only (init, reload, admin tools). The
 * offset lookup is pure arithmetic on memory, fit for any path.
 */
#ifndef PORTER_TZFILE_H
#define PORTER_TZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZ_DIR       "/usr/share/zoneinfo"
#define TZ_NAME_MAX  64
#define TZ_FILE_MAX  (64 * 1024) /* bytes; the largest real file is under 4 KiB */
#define TZ_MAX_TIMES 2000        /* transitions, as tzcode's TZ_MAX_TIMES */
#define TZ_MAX_TYPES 256         /* local time types, RFC 8536's own limit */
#define TZ_ERROR_MAX 256

/* One end of daylight saving time in the footer: day `wday` (0 = Sunday) of
 * week `week` (1..5, 5 = last) of `month` (1..12), at `time` seconds of local
 * time (-167 h to 167 h, RFC 8536 section 3.3.1). */
struct tz_date {
	int month, week, wday;
	int32_t time;
};

/* The footer rule. Offsets are seconds east of UTC. */
struct tz_rule {
	int32_t std_offset;
	bool has_dst;
	int32_t dst_offset;
	struct tz_date start, end; /* into DST (in standard time), out (in DST) */
};

/* A value: it may be copied, holds no pointer and needs no free of its own. */
struct tz {
	uint32_t n_times, n_types;
	int64_t times[TZ_MAX_TIMES];   /* ascending unix times */
	uint8_t type_of[TZ_MAX_TIMES]; /* local time type from times[i] on */
	int32_t offsets[TZ_MAX_TYPES]; /* of each type, seconds east of UTC */
	struct tz_rule rule;           /* after the last transition */
};

/* A zone name porter will look up: components of [A-Za-z0-9_+-] joined by
 * '/', no empty component, at most TZ_NAME_MAX bytes. */
bool tz_name_valid(const char *name);

/* Parse a TZif file's bytes. 0, or -EINVAL with a reason in err. */
int tz_parse(const uint8_t *data, size_t len, struct tz *ret, char *err, size_t errlen);

/* Read TZ_DIR/name into a new struct tz (free() it). 0, or a negative errno
 * with a reason in err: -EINVAL (bad name or file), -ENOENT (no such zone),
 * -ENOMEM. */
int tz_load(const char *name, struct tz **ret, char *err, size_t errlen);

/* Seconds east of UTC in the zone at unix time `unix_s`. */
int64_t tz_utc_offset(const struct tz *tz, int64_t unix_s);

#endif
