/* SPDX-License-Identifier: MIT */
/*
 * fuzz_retry_after.c: libFuzzer target for the Retry-After reader
 * (drivers/http/http_client.c http_parse_retry_after), the one part of a
 * webhook endpoint's or Nexudus's answer porter reads besides the status.
 *
 * Whatever the header says, the reader stays inside it and answers seconds
 * >= 0 or -1 (unreadable); never a negative wait, whatever the clock.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t nows[] = {0, 1764093600, 4102444800, INT64_MAX / 4};
	if (size > 256) /* a header line libcurl hands over is bounded too */
		return 0;
	char *text = malloc(size + 1); /* exact size: ASan sees a read past the end */
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		int64_t s = http_parse_retry_after(text, nows[i]);
		if (s < -1)
			abort();
	}
	free(text);
	return 0;
}
