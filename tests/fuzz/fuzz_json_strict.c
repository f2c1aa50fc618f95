/* SPDX-License-Identifier: MIT */
/*
 * fuzz_json_strict.c: libFuzzer target for the strict JSON reader.
 *
 * Whatever the bytes, the reader ends in END or a named error, never a
 * crash. And it is never more lenient than json-c: every text it accepts,
 * json-c's strict mode accepts too, with as many members in each object as
 * the reader saw keys (so a duplicate json-c would fold never gets past).
 * A string or key it returns holds no NUL (porter's rule, json_strict.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json_strict.h"

#define DEPTH 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_members(json_object *o)
{
	size_t n = 0;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			n += 1 + count_members(val);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			n += count_members(json_object_array_get_idx(o, i));
	}
	return n;
}

/* json-c's verdict; a JSON null is a NULL root with success. */
static bool jsonc_parse(const char *text, size_t len, json_object **ret)
{
	/* json-c counts a scalar as a level of its own */
	json_tokener *tok = json_tokener_new_ex(DEPTH + 1);
	bool ok;
	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	*ret = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) == json_tokener_continue)
		*ret = json_tokener_parse_ex(tok, " ", 1); /* a number ends at the text's end */
	ok = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), line[512];
	struct json_reader *r;
	struct json_value v;
	size_t keys = 0;
	int e;
	if (!text)
		return 0;
	memcpy(text, data, size);
	r = json_reader_new(text, size, DEPTH);
	if (!r) {
		free(text);
		return 0;
	}
	do {
		e = json_reader_next(r, &v);
		if (e == 0 && v.token == JSON_TOKEN_KEY)
			keys++;
		if (e == 0 && (v.token == JSON_TOKEN_KEY || v.token == JSON_TOKEN_STRING) &&
		    v.text[v.len] != '\0')
			abort(); /* decoded strings are terminated */
		if (e == 0 && (v.token == JSON_TOKEN_KEY || v.token == JSON_TOKEN_STRING) &&
		    memchr(v.text, '\0', v.len))
			abort(); /* porter's rule: no NUL inside, a C string means it all */
	} while (e == 0 && v.token != JSON_TOKEN_END);
	if (e < 0) {
		const struct json_error *err = json_reader_error(r);
		if (!err || err->path[0] != '$' || err->message[0] == '\0' || err->offset > size)
			abort(); /* an error says what and where */
		json_error_format(err, line, sizeof(line));
	} else {
		json_object *root;
		if (!jsonc_parse(text, size, &root) || count_members(root) != keys)
			abort(); /* accepted here, so json-c must read the same members */
		json_object_put(root);
	}
	json_reader_free(r);
	free(text);
	return 0;
}
