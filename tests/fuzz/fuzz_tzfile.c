/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tzfile.c: libFuzzer target for the TZif reader (plugin/tzfile.c).
 *
 * Whatever the bytes, tz_parse reads only inside them and ends in a zone or
 * an error with a reason. A zone it accepts answers an offset within the
 * bound it enforces (26 hours of UTC, RFC 8536's -89999..93599 rounded up)
 * for any instant, through its transitions and its footer rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t instants[] = {INT64_MIN / 2, -2208988800, -1,         0,
	                                   1774746000,    2147483647,  2218000000, 4102444800,
	                                   INT64_MAX / 2};
	struct tz *tz = malloc(sizeof(*tz));
	char err[TZ_ERROR_MAX];
	if (!tz)
		return 0;
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy) {
		free(tz);
		return 0;
	}
	memcpy(copy, data, size);
	err[0] = '\0';
	if (tz_parse(copy, size, tz, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort(); /* a refusal says why */
	} else {
		for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
			int64_t off = tz_utc_offset(tz, instants[i]);
			if (off < -26 * 3600 || off > 26 * 3600)
				abort();
		}
		for (uint32_t i = 0; i < tz->n_times; i++)
			(void)tz_utc_offset(tz, tz->times[i]);
	}
	free(copy);
	free(tz);
	return 0;
}
