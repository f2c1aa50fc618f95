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

bool reader_id_valid(const char *id)
{
	if (!id)
		return false;
	size_t n = strnlen(id, CONFIG_ID_MAX + 1);
	if (n == 0 || n > CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return false;
	return true;
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
