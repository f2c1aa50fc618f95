/* SPDX-License-Identifier: MIT */
/*
 * fuzz_directory.c: libFuzzer target for directory_parse().
 *
 * The directory file is edited by hand as well as by porter-admin; whatever
 * it holds, parsing ends in a directory or a named error, never a crash, and
 * a refused file yields no directory at all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directory_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked byte by byte, apart from the loader's own decoding: what an
 * accepted name or id must never hold. */
static void check_text(const struct person *p)
{
	size_t n = strlen(p->id);
	if (n == 0 || n > PERSON_ID_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (p->id[i] <= 0x20 || p->id[i] >= 0x7f)
			abort();
	const uint8_t *s = (const uint8_t *)p->name;
	n = strlen(p->name);
	if (n == 0 || n > PERSON_NAME_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == 0xc0 || s[i] == 0xc1 || s[i] >= 0xf5)
			abort(); /* controls; bytes never in UTF-8 */
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			abort(); /* C1 */
		if (s[i] == 0xed && i + 1 < n && s[i + 1] >= 0xa0)
			abort(); /* surrogates */
		if (s[i] == 0xe2 && i + 2 < n &&
		    ((s[i + 1] == 0x80 && (s[i + 2] == 0x8e || s[i + 2] == 0x8f ||
		                           (s[i + 2] >= 0xa8 && s[i + 2] <= 0xae))) ||
		     (s[i + 1] == 0x81 && s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9)))
			abort(); /* bidi marks, overrides, isolates; line separators */
	}
}

static void check_pair(void *userdata, const struct person *a, const struct person *b)
{
	if (a >= b || !a->has_pin || !b->has_pin ||
	    memcmp(a->pin_hash, b->pin_hash, PIN_HASH_LEN) != 0)
		abort(); /* fn(first holder, later holder) of one PIN */
	(*(size_t *)userdata)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), err[512];
	struct directory *d = NULL;
	if (!text)
		return 0;
	memcpy(text, data, size);
	int r = directory_parse(text, size, &d, err, sizeof(err));
	if (r < 0 && (d || strlen(err) == 0))
		abort(); /* an error must say what was wrong, and leave nothing behind */
	for (size_t i = 0; i < directory_size(d); i++) {
		const struct person *p = directory_person(d, i);
		struct pin_match m;
		if (directory_find_id(d, p->id) != p)
			abort();
		directory_match_pin(d, p->pin_hash, &m);
		if (p->has_pin && m.n == 0)
			abort();
		check_text(p);
	}
	size_t pairs = 0;
	if (directory_foreach_shared_pin(d, check_pair, &pairs) != pairs)
		abort();
	directory_free(d);
	free(text);
	return 0;
}
