/* SPDX-License-Identifier: MIT */
/*
 * fuzz_qr_payload.c: libFuzzer target for the visitor pass parser
 * (plugin/visitor_pass.c visitor_pass_parse), the QR scan's first reader,
 * and the scan bounds before it (qr_code_check).
 *
 * Whatever is scanned, the parser stays inside the scan, and what it accepts
 * holds to the format: a pass id and visitor id of allowed characters and
 * lengths, valid-from before valid-until, the signed part a prefix of the
 * scan; verification with no key never accepts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr_credential.h"
#include "visitor_pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096) /* the hook's own bound on a scan */
		return 0;
	uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees a read past the end */
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	size_t at;
	int checked = qr_code_check(copy, size, &at);
	if (checked < 0 && checked != -E2BIG && at >= size && size > 0)
		abort();
	struct visitor_pass pass;
	uint8_t sig[VISITOR_PASS_SIG_LEN];
	size_t signed_len;
	if (visitor_pass_parse(copy, size, &pass, &signed_len, sig) == 0) {
		if (!visitor_pass_looks_like(copy, size) || signed_len >= size ||
		    pass.valid_from >= pass.valid_until || strlen(pass.pass_id) == 0 ||
		    strlen(pass.pass_id) > VISITOR_PASS_ID_MAX || strlen(pass.visitor_id) == 0 ||
		    strchr(pass.visitor_id, '|'))
			abort();
	}
	if (visitor_pass_verify(NULL, copy, size, &pass) == 0)
		abort();
	free(copy);
	return 0;
}
