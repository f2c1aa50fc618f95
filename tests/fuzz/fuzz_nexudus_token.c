/* SPDX-License-Identifier: MIT */
/*
 * fuzz_nexudus_token.c: libFuzzer target for nexudus_token_parse().
 *
 * The token reply comes from the network. Whatever it holds, parsing ends in
 * a token fit for an HTTP header or a named error with no token left behind.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexudus_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > NEXUDUS_TOKEN_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (t[i] <= 0x20 || t[i] >= 0x7f)
			abort(); /* a header could be split or added */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), err[512] = "";
	struct nexudus_token t;
	if (!text)
		return 0;
	memcpy(text, data, size);
	int r = nexudus_token_parse(text, size, &t, err, sizeof(err));
	if (r == 0) {
		check_token(t.access_token);
		if (t.refresh_token)
			check_token(t.refresh_token);
		if (t.expires_in < 1 || t.expires_in > NEXUDUS_TOKEN_LIFETIME_MAX)
			abort();
	} else {
		if (t.access_token || t.refresh_token || strlen(err) == 0)
			abort(); /* an error names what was wrong and leaves no token */
		if (r != -EINVAL && r != -EACCES && r != -EPROTO && r != -E2BIG && r != -ENOMEM)
			abort();
	}
	nexudus_token_clear(&t);
	free(text);
	return 0;
}
