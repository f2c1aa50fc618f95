/* SPDX-License-Identifier: MIT */
/*
 * json_strict.h: a strict, linear JSON reader for the files admins write.
 *
 * json-c keeps the last of two equal keys in an object, accepts invalid
 * UTF-8 (overlong forms, surrogates), raw control characters, NaN and "1.",
 * so "$.people[3].pin_hmac" written twice would silently mean the second.
 * This reader refuses all of that and names the JSON path where it happened.
 *
 * It is a pull reader: each call returns the next token, so a caller that
 * knows the shape it wants (the directory loader) refuses an unexpected
 * member at once, without ever building a tree of it. Work is linear in the
 * text (duplicate keys are found through a hash set of the keys of the
 * objects open at the moment), memory is bounded by the nesting depth, the
 * keys of open objects and the longest string.
 *
 * RFC 8259 JSON, exactly: strings are valid UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), hold no raw control
 * characters and no unpaired surrogate escapes; numbers follow the grammar
 * (no "1.", ".5", "05", "+1", hex, NaN or Infinity); no single quotes,
 * unquoted names, trailing commas, comments or byte order mark. Each of
 * these is named in the error message.
 *
 * porter's rules, on text that is valid JSON (JSON_ERROR_RULE, each with its
 * own message, refused in the config and the directory file alike):
 *  - no \u0000 in a string or a member name: porter uses strings as C
 *    strings, where a NUL would end them early (json-c reads the key
 *    "local\u0000x" as "local"), so a KEY or STRING never holds a NUL;
 *  - a number a double holds: a magnitude up to about 1.8e308 and none so
 *    small that it would read as 0 (1e400, 1e-400 are refused), so the value
 *    porter uses is the one the text says, to a double's precision.
 */
#ifndef PORTER_JSON_STRICT_H
#define PORTER_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_STRICT_PATH_MAX 192

enum json_token {
	JSON_TOKEN_END = 0, /* the document is complete; only whitespace followed */
	JSON_TOKEN_OBJECT_BEGIN,
	JSON_TOKEN_OBJECT_END,
	JSON_TOKEN_ARRAY_BEGIN,
	JSON_TOKEN_ARRAY_END,
	JSON_TOKEN_KEY,
	JSON_TOKEN_STRING,
	JSON_TOKEN_NUMBER,
	JSON_TOKEN_TRUE,
	JSON_TOKEN_FALSE,
	JSON_TOKEN_NULL,
};

struct json_value {
	enum json_token token;
	/* KEY, STRING: the decoded text, `len` bytes and a terminating NUL
	 * (never a NUL inside: porter's rule); valid until the next call.
	 * NUMBER: the raw text, not terminated. Otherwise NULL. */
	const char *text;
	size_t len;
	size_t offset; /* byte where the token starts */
};

enum json_error_kind {
	JSON_ERROR_SYNTAX = 1, /* not JSON */
	JSON_ERROR_TRUNCATED,  /* the text ends inside the document */
	JSON_ERROR_DUPLICATE,  /* a key appears twice in one object */
	JSON_ERROR_ENCODING,   /* bad UTF-8, raw control character, lone surrogate */
	JSON_ERROR_DEPTH,      /* nested deeper than allowed */
	JSON_ERROR_NOMEM,
	JSON_ERROR_RULE, /* valid JSON that porter refuses: see the top */
};

struct json_error {
	enum json_error_kind kind;
	size_t offset, line, column;     /* where; line and column count from 1, in bytes */
	char path[JSON_STRICT_PATH_MAX]; /* "$.people[3].name" */
	char message[128];               /* what, without where */
};

struct json_reader;

/* `text` must outlive the reader; it need not be NUL-terminated.
 * `max_depth` counts nested objects and arrays (1: a flat object). */
struct json_reader *json_reader_new(const char *text, size_t len, unsigned max_depth);
struct json_reader *json_reader_free(struct json_reader *reader);

/* The next token. Returns 0, or -EINVAL (-ENOMEM) with the error kept for
 * json_reader_error(); every later call returns the same error. */
int json_reader_next(struct json_reader *reader, struct json_value *ret);
const struct json_error *json_reader_error(const struct json_reader *reader);

/* Read past the value whose first token, `first`, was just read (an object
 * or array to its end; a scalar is all read already). 0, or
 * json_reader_next's error. */
int json_reader_skip(struct json_reader *reader, const struct json_value *first);

/* Read the whole text. Returns 0, or -EINVAL/-ENOMEM and fills *ret_error. */
int json_strict_check(const char *text, size_t len, unsigned max_depth,
                      struct json_error *ret_error);

/* One line for a person: "$.a.b appears twice (line 3, column 5)". */
void json_error_format(const struct json_error *error, char *buf, size_t len);

#endif
