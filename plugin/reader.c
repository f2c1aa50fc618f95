/* SPDX-License-Identifier: MIT */
/* reader.c: the bounded set of per-reader states. See reader.h. */
#include "reader.h"

#include <stdlib.h>
#include <string.h>

struct readers {
	struct reader_state *states[READERS_MAX];
	size_t n;
};

struct readers *readers_new(void)
{
	return calloc(1, sizeof(struct readers));
}

struct readers *readers_free(struct readers *readers)
{
	if (!readers)
		return NULL;
	for (size_t i = 0; i < readers->n; i++) {
		explicit_bzero(readers->states[i]->keypad.digits, KEYPAD_MAX_DIGITS);
		free(readers->states[i]);
	}
	free(readers);
	return NULL;
}

/* The length of the UTF-8 sequence at `s` (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool reader_id_valid(const char *id)
{
	if (!id)
		return false;
	size_t n = strnlen(id, CONFIG_ID_MAX + 1), chars = 0;
	if (n == 0 || n > CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; chars++) {
		const unsigned char *c = (const unsigned char *)id + i;
		size_t len = utf8_sequence(c, n - i);
		if (len == 0 || c[0] < 0x20 || c[0] == 0x7f || (c[0] == 0xc2 && c[1] <= 0x9f))
			return false;
		i += len;
	}
	return chars <= CONFIG_ID_CHARS;
}

struct reader_state *readers_get(struct readers *readers, const char *id,
                                 const struct config *config, struct engine *engine)
{
	/* A door controller has a handful of readers: a scan beats hashing. */
	for (size_t i = 0; i < readers->n; i++)
		if (strcmp(readers->states[i]->id, id) == 0)
			return readers->states[i];
	if (readers->n == READERS_MAX)
		return NULL;
	struct reader_state *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	strcpy(r->id, id);
	r->config = config_reader(config, id);
	r->engine = engine;
	readers->states[readers->n++] = r;
	return r;
}

void readers_foreach(struct readers *readers, void (*fn)(struct reader_state *, void *),
                     void *userdata)
{
	for (size_t i = 0; i < readers->n; i++)
		fn(readers->states[i], userdata);
}
