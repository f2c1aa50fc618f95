/* SPDX-License-Identifier: MIT */
/*
 * json_strict.c: the strict pull reader of json_strict.h.
 *
 * One pass, no backtracking. Duplicate keys: the keys of every object that
 * is open right now sit on a stack, indexed by an open-addressing hash set
 * keyed by (depth, key). When an object closes, its keys are popped in
 * reverse order of insertion, which undoes linear probing exactly (no
 * tombstones), so the set only ever holds the keys along the current path.
 */
#include "json_strict.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum expect {
	EXPECT_VALUE,
	EXPECT_VALUE_OR_ARRAY_END, /* just after '[' */
	EXPECT_KEY_OR_OBJECT_END,  /* just after '{' */
	EXPECT_KEY,                /* after ',' in an object */
	EXPECT_COMMA_OR_END,       /* after a member or element */
	EXPECT_EOF,                /* after the root value */
};

struct frame {
	bool object;
	size_t count;    /* members or elements begun */
	size_t rec_base; /* first key record of this object */
	size_t cur_key;  /* record of the member being read, or SIZE_MAX */
};

struct key_rec {
	size_t off, len; /* in keys */
	uint64_t hash;
};

struct json_reader {
	const char *text;
	size_t len, pos;
	enum expect expect;
	struct frame *frames;
	unsigned depth, max_depth;
	char *keys; /* bytes of the keys of open objects */
	size_t keys_len, keys_cap;
	struct key_rec *recs;
	size_t n_recs, recs_cap;
	uint32_t *slots; /* record index + 1, 0: empty */
	size_t slots_cap;
	char *buf; /* the decoded string last returned */
	size_t buf_cap;
	int failed; /* 0 or the negative errno every later call returns */
	struct json_error error;
};

/* ---- Errors and paths -------------------------------------------------- */

/* Appends to buf; *n stops at cap once the text no longer fits. */
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	if (*n >= cap)
		return;
	va_start(ap, fmt);
	int k = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	*n = k < 0 || (size_t)k >= cap - *n ? cap : *n + (size_t)k;
}

/* One UTF-8 sequence at `s` (at most `len` bytes): its code point and
 * length, or U+FFFD and 1 for a byte that starts no valid sequence. */
static uint32_t next_code_point(const uint8_t *s, size_t len, size_t *ret_len)
{
	uint32_t cp = s[0];
	size_t n = cp < 0x80             ? 1
	           : (cp & 0xE0) == 0xC0 ? 2
	           : (cp & 0xF0) == 0xE0 ? 3
	           : (cp & 0xF8) == 0xF0 ? 4
	                                 : 0;
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	*ret_len = 1;
	if (n == 0 || n > len)
		return 0xFFFD;
	cp = n == 1 ? cp : cp & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0xFFFD;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0xFFFD;
	*ret_len = n;
	return cp;
}

/* Keys in a path are outside input. A plain name is written .name; any
 * other key as a JSON string, ["..."], with everything but printable ASCII
 * escaped as \uXXXX (a pair above U+FFFF), so an error message can neither
 * break a log line nor reorder it (bidirectional controls are escaped too),
 * and a reader parses the path back with any JSON parser. */
static void append_key(char *buf, size_t cap, size_t *n, const char *key, size_t len)
{
	bool plain = len > 0;
	for (size_t i = 0; i < len && plain; i++) {
		char c = key[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '-';
	}
	if (plain) {
		put(buf, cap, n, ".%.*s%s", len > 48 ? 48 : (int)len, key, len > 48 ? "..." : "");
		return;
	}
	put(buf, cap, n, "[\"");
	size_t i = 0;
	for (unsigned chars = 0; i < len && chars < 48; chars++) {
		size_t step;
		uint32_t cp = next_code_point((const uint8_t *)key + i, len - i, &step);
		i += step;
		if (cp == '"' || cp == '\\')
			put(buf, cap, n, "\\%c", (int)cp);
		else if (cp >= 0x20 && cp <= 0x7e)
			put(buf, cap, n, "%c", (int)cp);
		else if (cp <= 0xFFFF)
			put(buf, cap, n, "\\u%04X", (unsigned)cp);
		else
			put(buf, cap, n, "\\u%04X\\u%04X",
			    (unsigned)(0xD800 + ((cp - 0x10000) >> 10)),
			    (unsigned)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
	}
	put(buf, cap, n, "%s\"]", i < len ? "..." : "");
}

/* The path of what is being read; `extra_key` (may be NULL) is a key not
 * (yet) on the stack, such as a duplicate. */
static void render_path(const struct json_reader *r, const char *extra_key, size_t extra_len,
                        char *buf, size_t cap)
{
	size_t n = 0;
	put(buf, cap, &n, "$");
	for (unsigned d = 0; d < r->depth; d++) {
		const struct frame *f = &r->frames[d];
		bool last = d + 1 == r->depth;
		if (f->object && last && extra_key)
			append_key(buf, cap, &n, extra_key, extra_len);
		else if (f->object && f->cur_key != SIZE_MAX)
			append_key(buf, cap, &n, r->keys + r->recs[f->cur_key].off,
			           r->recs[f->cur_key].len);
		else if (!f->object && f->count > 0)
			put(buf, cap, &n, "[%zu]", f->count - 1);
	}
	if (n >= cap && cap > 4)
		memcpy(buf + cap - 4, "...", 4);
}

static int fail_at(struct json_reader *r, enum json_error_kind kind, size_t offset,
                   const char *extra_key, size_t extra_len, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

static int fail_at(struct json_reader *r, enum json_error_kind kind, size_t offset,
                   const char *extra_key, size_t extra_len, const char *fmt, ...)
{
	struct json_error *e = &r->error;
	va_list ap;
	e->kind = kind;
	e->offset = offset;
	e->line = 1;
	e->column = 1;
	for (size_t i = 0; i < offset && i < r->len; i++) { /* once per reader: linear */
		if (r->text[i] == '\n') {
			e->line++;
			e->column = 1;
		} else {
			e->column++;
		}
	}
	render_path(r, extra_key, extra_len, e->path, sizeof(e->path));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	r->failed = kind == JSON_ERROR_NOMEM ? -ENOMEM : -EINVAL;
	return r->failed;
}

#define fail(r, kind, offset, ...) fail_at(r, kind, offset, NULL, 0, __VA_ARGS__)

void json_error_format(const struct json_error *e, char *buf, size_t len)
{
	if (e->kind == JSON_ERROR_DUPLICATE)
		snprintf(buf, len, "%s appears twice in one object (line %zu, column %zu)", e->path,
		         e->line, e->column);
	else
		snprintf(buf, len, "%s: %s (line %zu, column %zu)", e->path, e->message, e->line,
		         e->column);
}

/* ---- Duplicate keys ---------------------------------------------------- */

static uint64_t key_hash(const char *s, size_t len, unsigned depth)
{
	uint64_t h = 0xcbf29ce484222325ull ^ depth;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static void slot_insert(struct json_reader *r, size_t rec)
{
	size_t mask = r->slots_cap - 1;
	size_t i = r->recs[rec].hash & mask;
	while (r->slots[i])
		i = (i + 1) & mask;
	r->slots[i] = (uint32_t)(rec + 1);
}

static bool rehash(struct json_reader *r, size_t cap)
{
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return false;
	free(r->slots);
	r->slots = slots;
	r->slots_cap = cap;
	for (size_t i = 0; i < r->n_recs; i++) /* insertion order kept: see the top */
		slot_insert(r, i);
	return true;
}

/* Adds the key just decoded into r->buf to the open object at the top.
 * Returns 0, -EEXIST, -ENOMEM. */
static int key_add(struct json_reader *r, size_t len)
{
	unsigned depth = r->depth - 1;
	uint64_t h = key_hash(r->buf, len, depth);
	if (r->slots_cap) {
		size_t mask = r->slots_cap - 1;
		for (size_t i = h & mask; r->slots[i]; i = (i + 1) & mask) {
			const struct key_rec *k = &r->recs[r->slots[i] - 1];
			if (k->hash == h && k->len == len &&
			    r->slots[i] - 1 >= r->frames[depth].rec_base &&
			    memcmp(r->keys + k->off, r->buf, len) == 0)
				return -EEXIST;
		}
	}
	if (r->n_recs + 1 > UINT32_MAX - 1 ||
	    !grow((void **)&r->keys, &r->keys_cap, r->keys_len + len + 1, 1) ||
	    !grow((void **)&r->recs, &r->recs_cap, r->n_recs + 1, sizeof(*r->recs)))
		return -ENOMEM;
	if (2 * (r->n_recs + 1) > r->slots_cap && !rehash(r, r->slots_cap ? 2 * r->slots_cap : 64))
		return -ENOMEM;
	memcpy(r->keys + r->keys_len, r->buf, len);
	r->recs[r->n_recs] = (struct key_rec){.off = r->keys_len, .len = len, .hash = h};
	r->keys_len += len;
	slot_insert(r, r->n_recs++);
	r->frames[depth].cur_key = r->n_recs - 1;
	return 0;
}

/* Pops the keys of the object at the top, newest first. */
static void keys_pop(struct json_reader *r, size_t base)
{
	size_t mask = r->slots_cap - 1;
	while (r->n_recs > base) {
		size_t rec = --r->n_recs;
		size_t i = r->recs[rec].hash & mask;
		while (r->slots[i] != rec + 1)
			i = (i + 1) & mask;
		r->slots[i] = 0;
		r->keys_len = r->recs[rec].off;
	}
}

/* ---- Strings ----------------------------------------------------------- */

static int hex4(const char *s, uint32_t *ret)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return 0;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, Unicode table
 * 3-7), or 0: overlong forms, surrogates and > U+10FFFF are not. */
static size_t utf8_valid(const uint8_t *s, size_t avail)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (avail < 2 || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (i >= avail || s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static int escape(struct json_reader *r, size_t *pos, char *out, size_t *n)
{
	const char *t = r->text;
	size_t p = *pos; /* at the backslash */
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	if (p + 1 >= r->len)
		return fail(r, JSON_ERROR_TRUNCATED, r->len, "the text ends inside a string");
	for (const char *s = simple; *s; s += 2) {
		if (t[p + 1] == s[0]) {
			out[(*n)++] = s[1];
			*pos = p + 2;
			return 0;
		}
	}
	if (t[p + 1] != 'u')
		return fail(r, JSON_ERROR_SYNTAX, p, "invalid escape \\%c in a string",
		            t[p + 1] >= 0x20 && t[p + 1] < 0x7f ? t[p + 1] : '?');
	uint32_t cp, lo;
	if (p + 6 > r->len)
		return fail(r, JSON_ERROR_TRUNCATED, r->len, "the text ends inside a string");
	if (hex4(t + p + 2, &cp) < 0)
		return fail(r, JSON_ERROR_SYNTAX, p, "\\u must be followed by 4 hex digits");
	p += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p + 6 > r->len || t[p] != '\\' || t[p + 1] != 'u' || hex4(t + p + 2, &lo) < 0 ||
		    lo < 0xdc00 || lo > 0xdfff)
			return fail(r, JSON_ERROR_ENCODING, *pos,
			            "\\u%04X is half of a surrogate pair without its other half",
			            (unsigned)cp);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return fail(r, JSON_ERROR_ENCODING, *pos,
		            "\\u%04X is half of a surrogate pair without its other half",
		            (unsigned)cp);
	}
	*n += utf8_put(out + *n, cp);
	*pos = p;
	return 0;
}

/* Decodes the string whose opening quote is at r->pos into r->buf. */
static int string(struct json_reader *r, size_t *ret_len)
{
	const uint8_t *t = (const uint8_t *)r->text;
	size_t p = r->pos + 1, n = 0;
	/* Decoded text is never longer than the raw text. */
	for (;;) {
		if (!grow((void **)&r->buf, &r->buf_cap, n + 8, 1))
			return fail(r, JSON_ERROR_NOMEM, r->pos, "out of memory");
		if (p >= r->len)
			return fail(r, JSON_ERROR_TRUNCATED, r->len,
			            "the text ends inside a string");
		uint8_t c = t[p];
		if (c == '"') {
			p++;
			break;
		}
		if (c == '\\') {
			int e = escape(r, &p, r->buf, &n);
			if (e < 0)
				return e;
			continue;
		}
		if (c < 0x20)
			return fail(
			        r, JSON_ERROR_ENCODING, p,
			        "control character 0x%02X inside a string (write it as \\u%04X)", c,
			        c);
		if (c < 0x80) {
			r->buf[n++] = (char)c;
			p++;
			continue;
		}
		size_t k = utf8_valid(t + p, r->len - p);
		if (k == 0)
			return fail(r, JSON_ERROR_ENCODING, p,
			            "invalid UTF-8 (byte 0x%02X); text must be UTF-8 without "
			            "overlong forms or surrogates",
			            c);
		memcpy(r->buf + n, t + p, k);
		n += k;
		p += k;
	}
	r->buf[n] = '\0';
	r->pos = p;
	*ret_len = n;
	return 0;
}

/* ---- Numbers and literals ---------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool at_delimiter(const struct json_reader *r, size_t p)
{
	return p >= r->len || is_space(r->text[p]) || r->text[p] == ',' || r->text[p] == ']' ||
	       r->text[p] == '}';
}

static bool starts_with(const struct json_reader *r, size_t p, const char *word)
{
	size_t n = strlen(word);
	return r->len - p >= n && memcmp(r->text + p, word, n) == 0;
}

/* Says what was meant, for the forms other languages write numbers in. */
static int not_a_number(struct json_reader *r, size_t p)
{
	size_t at = r->pos + (r->text[r->pos] == '-');
	if (starts_with(r, at, "NaN") || starts_with(r, at, "Infinity"))
		return fail(r, JSON_ERROR_SYNTAX, r->pos,
		            "not a JSON number: JSON has no NaN or Infinity");
	return fail(r, JSON_ERROR_SYNTAX, p,
	            "not a JSON number: write digits, with '-' or a leading 0 only before a "
	            "'.', digits on both sides of a '.', and an exponent after 'e' (no '+', "
	            "no hex)");
}

/* porter's rule on valid JSON: a number must be one a double holds, or
 * 1e400 would become infinity and 1e-400 zero, another value than the text's. */
static int number_in_range(struct json_reader *r, size_t end)
{
	char small[64], *copy = small, *stop;
	size_t n = end - r->pos;
	if (n >= sizeof(small) && !(copy = malloc(n + 1)))
		return fail(r, JSON_ERROR_NOMEM, r->pos, "out of memory");
	memcpy(copy, r->text + r->pos, n);
	copy[n] = '\0';
	errno = 0;
	double v = strtod(copy, &stop);
	bool out = isinf(v) || (errno == ERANGE && v == 0);
	if (copy != small)
		free(copy);
	if (!out)
		return 0;
	return fail(r, JSON_ERROR_RULE, r->pos,
	            "the number %.*s%s is valid JSON but beyond what porter holds (a double: "
	            "magnitudes up to about 1.8e308, and none so small it would read as 0)",
	            n > 24 ? 24 : (int)n, r->text + r->pos, n > 24 ? "..." : "");
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(struct json_reader *r, size_t *ret_end)
{
	const char *t = r->text;
	size_t p = r->pos;
	if (p < r->len && t[p] == '-')
		p++;
	if (p < r->len && t[p] == '0')
		p++;
	else if (p < r->len && is_digit(t[p]))
		while (p < r->len && is_digit(t[p]))
			p++;
	else
		goto bad;
	if (p < r->len && t[p] == '.') {
		p++;
		if (p >= r->len || !is_digit(t[p]))
			goto bad;
		while (p < r->len && is_digit(t[p]))
			p++;
	}
	if (p < r->len && (t[p] == 'e' || t[p] == 'E')) {
		p++;
		if (p < r->len && (t[p] == '+' || t[p] == '-'))
			p++;
		if (p >= r->len || !is_digit(t[p]))
			goto bad;
		while (p < r->len && is_digit(t[p]))
			p++;
	}
	if (!at_delimiter(r, p))
		goto bad;
	*ret_end = p;
	return 0;
bad:
	if (p >= r->len)
		return fail(r, JSON_ERROR_TRUNCATED, r->len, "the text ends inside a number");
	return not_a_number(r, p);
}

/* What other languages and editors allow and JSON does not, named; else
 * `otherwise`. */
static int unexpected(struct json_reader *r, size_t p, const char *otherwise)
{
	char c = r->text[p];
	if (p == 0 && starts_with(r, 0, "\xEF\xBB\xBF"))
		return fail(r, JSON_ERROR_SYNTAX, p,
		            "the text starts with a byte order mark (BOM); save it as UTF-8 "
		            "without one");
	if (c == '\'')
		return fail(
		        r, JSON_ERROR_SYNTAX, p,
		        "single quotes are not JSON: strings and member names take double quotes");
	if (c == '/')
		return fail(r, JSON_ERROR_SYNTAX, p, "JSON has no comments");
	if (c == '+' || c == '.')
		return not_a_number(r, p);
	return fail(r, JSON_ERROR_SYNTAX, p, "%s", otherwise);
}

static int literal(struct json_reader *r, struct json_value *ret)
{
	static const struct {
		const char *word;
		enum json_token token;
	} words[] = {
	        {"true", JSON_TOKEN_TRUE}, {"false", JSON_TOKEN_FALSE}, {"null", JSON_TOKEN_NULL}};
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i].word);
		if (r->text[r->pos] != words[i].word[0])
			continue;
		if (r->len - r->pos < n) {
			if (memcmp(r->text + r->pos, words[i].word, r->len - r->pos) == 0)
				return fail(r, JSON_ERROR_TRUNCATED, r->len, "the text ends early");
			break;
		}
		if (memcmp(r->text + r->pos, words[i].word, n) != 0 || !at_delimiter(r, r->pos + n))
			break;
		ret->token = words[i].token;
		r->pos += n;
		return 0;
	}
	if (starts_with(r, r->pos, "NaN") || starts_with(r, r->pos, "Infinity"))
		return not_a_number(r, r->pos);
	return unexpected(r, r->pos,
	                  "not a JSON value: expected a \"string\", a number, an "
	                  "object, an array, true, false or null");
}

/* ---- The reader -------------------------------------------------------- */

struct json_reader *json_reader_new(const char *text, size_t len, unsigned max_depth)
{
	struct json_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->text = text;
	r->len = len;
	r->max_depth = max_depth ? max_depth : 1;
	r->frames = calloc(r->max_depth, sizeof(*r->frames));
	if (!r->frames)
		return json_reader_free(r);
	r->expect = EXPECT_VALUE;
	return r;
}

struct json_reader *json_reader_free(struct json_reader *r)
{
	if (!r)
		return NULL;
	free(r->frames);
	free(r->keys);
	free(r->recs);
	free(r->slots);
	free(r->buf);
	free(r);
	return NULL;
}

const struct json_error *json_reader_error(const struct json_reader *r)
{
	return r->failed ? &r->error : NULL;
}

static void after_value(struct json_reader *r)
{
	r->expect = r->depth == 0 ? EXPECT_EOF : EXPECT_COMMA_OR_END;
}

static int push(struct json_reader *r, bool object)
{
	if (r->depth >= r->max_depth)
		return fail(r, JSON_ERROR_DEPTH, r->pos, "nested too deep: deeper than %u levels",
		            r->max_depth);
	r->frames[r->depth++] = (struct frame){
	        .object = object,
	        .rec_base = r->n_recs,
	        .cur_key = SIZE_MAX,
	};
	r->expect = object ? EXPECT_KEY_OR_OBJECT_END : EXPECT_VALUE_OR_ARRAY_END;
	r->pos++;
	return 0;
}

static void pop(struct json_reader *r)
{
	struct frame *f = &r->frames[--r->depth];
	if (f->object)
		keys_pop(r, f->rec_base);
	r->pos++;
	after_value(r);
}

/* porter's rule on valid JSON: its strings become C strings, which a NUL
 * would end early ("local\u0000x" read as "local"). */
#define NUL_RULE                                                                 \
	"\\u0000 (NUL) in a string is valid JSON but porter's rule refuses it: " \
	"porter reads strings as C text, which would end there"

static int value(struct json_reader *r, struct json_value *ret)
{
	char c = r->text[r->pos];
	int e;
	if (r->depth > 0 && !r->frames[r->depth - 1].object)
		r->frames[r->depth - 1].count++;
	switch (c) {
	case '{':
		ret->token = JSON_TOKEN_OBJECT_BEGIN;
		return push(r, true);
	case '[':
		ret->token = JSON_TOKEN_ARRAY_BEGIN;
		return push(r, false);
	case '"':
		ret->token = JSON_TOKEN_STRING;
		e = string(r, &ret->len);
		if (e < 0)
			return e;
		if (memchr(r->buf, '\0', ret->len))
			return fail(r, JSON_ERROR_RULE, ret->offset, NUL_RULE);
		ret->text = r->buf;
		after_value(r);
		return 0;
	case '-':
	case '0' ... '9': {
		size_t end = 0;
		e = number(r, &end);
		if (e == 0)
			e = number_in_range(r, end);
		if (e < 0)
			return e;
		ret->token = JSON_TOKEN_NUMBER;
		ret->text = r->text + r->pos;
		ret->len = end - r->pos;
		r->pos = end;
		after_value(r);
		return 0;
	}
	default:
		e = literal(r, ret);
		if (e == 0)
			after_value(r);
		return e;
	}
}

static int key(struct json_reader *r, struct json_value *ret)
{
	struct frame *f = &r->frames[r->depth - 1];
	size_t len;
	f->cur_key = SIZE_MAX; /* an error inside the name is in the object */
	int e = string(r, &len);
	if (e < 0)
		return e;
	if (memchr(r->buf, '\0', len))
		return fail_at(r, JSON_ERROR_RULE, ret->offset, r->buf, len, NUL_RULE);
	f->count++;
	e = key_add(r, len);
	if (e == -EEXIST)
		return fail_at(r, JSON_ERROR_DUPLICATE, ret->offset, r->buf, len,
		               "appears twice in one object");
	if (e < 0)
		return fail(r, JSON_ERROR_NOMEM, ret->offset, "out of memory");
	while (r->pos < r->len && is_space(r->text[r->pos]))
		r->pos++;
	if (r->pos >= r->len)
		return fail(r, JSON_ERROR_TRUNCATED, r->len, "the text ends early");
	if (r->text[r->pos] != ':')
		return fail(r, JSON_ERROR_SYNTAX, r->pos, "expected ':' after the member name");
	r->pos++;
	ret->token = JSON_TOKEN_KEY;
	ret->text = r->buf;
	ret->len = len;
	r->expect = EXPECT_VALUE;
	return 0;
}

/* Named at the array, not at an element that is not there. */
static int trailing_comma_in_array(struct json_reader *r)
{
	struct frame *f = &r->frames[r->depth - 1];
	size_t count = f->count;
	f->count = 0; /* render_path shows no index for it */
	int e = fail(r, JSON_ERROR_SYNTAX, r->pos, "a trailing comma before ']' is not JSON");
	f->count = count;
	return e;
}

int json_reader_next(struct json_reader *r, struct json_value *ret)
{
	*ret = (struct json_value){0};
	if (r->failed)
		return r->failed;
	for (;;) {
		while (r->pos < r->len && is_space(r->text[r->pos]))
			r->pos++;
		ret->offset = r->pos;
		if (r->pos >= r->len) {
			if (r->expect == EXPECT_EOF)
				return 0; /* JSON_TOKEN_END */
			return fail(r, JSON_ERROR_TRUNCATED, r->len, "the text ends early");
		}
		char c = r->text[r->pos];
		bool in_object = r->depth > 0 && r->frames[r->depth - 1].object;
		switch (r->expect) {
		case EXPECT_EOF:
			return fail(r, JSON_ERROR_SYNTAX, r->pos,
			            "unexpected text after the end of the JSON document");
		case EXPECT_COMMA_OR_END:
			if (c == ',') {
				r->pos++;
				r->expect = in_object ? EXPECT_KEY : EXPECT_VALUE;
				if (in_object) /* an error now is in the object, not its last member
				                */
					r->frames[r->depth - 1].cur_key = SIZE_MAX;
				continue;
			}
			if (c == (in_object ? '}' : ']')) {
				ret->token =
				        in_object ? JSON_TOKEN_OBJECT_END : JSON_TOKEN_ARRAY_END;
				pop(r);
				return 0;
			}
			return unexpected(r, r->pos,
			                  in_object ? "expected ',' or '}'"
			                            : "expected ',' or ']'");
		case EXPECT_KEY_OR_OBJECT_END:
			if (c == '}') {
				ret->token = JSON_TOKEN_OBJECT_END;
				pop(r);
				return 0;
			}
			/* fall through */
		case EXPECT_KEY:
			if (c == '}' && r->expect == EXPECT_KEY)
				return fail(r, JSON_ERROR_SYNTAX, r->pos,
				            "a trailing comma before '}' is not JSON");
			if (c != '"')
				return unexpected(r, r->pos,
				                  "expected a member name in double quotes");
			return key(r, ret);
		case EXPECT_VALUE_OR_ARRAY_END:
			if (c == ']') {
				ret->token = JSON_TOKEN_ARRAY_END;
				pop(r);
				return 0;
			}
			/* fall through */
		case EXPECT_VALUE:
			if (c == ']' && r->expect == EXPECT_VALUE && r->depth > 0 && !in_object)
				return trailing_comma_in_array(r);
			return value(r, ret);
		}
	}
}

int json_reader_skip(struct json_reader *r, const struct json_value *first)
{
	size_t depth =
	        first->token == JSON_TOKEN_OBJECT_BEGIN || first->token == JSON_TOKEN_ARRAY_BEGIN;
	struct json_value t;
	while (depth > 0) {
		int rc = json_reader_next(r, &t);
		if (rc < 0)
			return rc;
		if (t.token == JSON_TOKEN_OBJECT_BEGIN || t.token == JSON_TOKEN_ARRAY_BEGIN)
			depth++;
		else if (t.token == JSON_TOKEN_OBJECT_END || t.token == JSON_TOKEN_ARRAY_END)
			depth--;
	}
	return 0;
}

int json_strict_check(const char *text, size_t len, unsigned max_depth, struct json_error *ret)
{
	struct json_reader *r = json_reader_new(text, len, max_depth);
	struct json_value v;
	int e;
	if (!r) {
		*ret = (struct json_error){.kind = JSON_ERROR_NOMEM, .line = 1, .column = 1};
		snprintf(ret->path, sizeof(ret->path), "$");
		snprintf(ret->message, sizeof(ret->message), "out of memory");
		return -ENOMEM;
	}
	do
		e = json_reader_next(r, &v);
	while (e == 0 && v.token != JSON_TOKEN_END);
	if (e < 0)
		*ret = r->error;
	json_reader_free(r);
	return e;
}
