/* SPDX-License-Identifier: MIT */
/*
 * fuzz_nexudus_envelope.c: libFuzzer target for nexudus_envelope_parse().
 *
 * The reason text of a refused write goes to logs, porter-admin and a
 * diagnostic: whatever the reply holds, it is bounded and free of control
 * characters, or the reply is refused with a named error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexudus_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), err[512] = "";
	struct nexudus_envelope e;
	if (!text)
		return 0;
	memcpy(text, data, size);
	int r = nexudus_envelope_parse(text, size, &e, err, sizeof(err));
	if (r < 0 && strlen(err) == 0)
		abort();
	if (r == 0) {
		size_t n = strlen(e.reason);
		const unsigned char *s = (const unsigned char *)e.reason;
		if (n == 0 || n >= NEXUDUS_REASON_MAX)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				abort();
			if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
				abort(); /* C1 */
			if (s[i] == 0xe2 && i + 2 < n && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xae || s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
				abort(); /* RLO, line and paragraph separators */
		}
		if (e.value_id < 0 || e.status < 0 || e.status > 999)
			abort();
	}
	free(text);
	return 0;
}
