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
	}
	directory_free(d);
	free(text);
	return 0;
}
