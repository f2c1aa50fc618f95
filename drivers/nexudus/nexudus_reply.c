/* SPDX-License-Identifier: MIT */
/* nexudus_reply.c: strict readers of the Nexudus API's reply bodies. */
#include "nexudus_reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "directory_file.h"
#include "json_strict.h"

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- Times --------------------------------------------------------------- */

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int nexudus_time_parse(const char *text, size_t len, int64_t *ret)
{
	char utc[21];
	size_t i = 19;
	int64_t t, offset = 0;
	if (len < 20)
		return -EINVAL;
	/* The date and time of day, checked by the directory file's own parser
	 * (one definition of a valid UTC time in porter). */
	memcpy(utc, text, 19);
	utc[19] = 'Z';
	utc[20] = '\0';
	if (timestamp_parse(utc, &t) < 0)
		return -EINVAL;
	if (text[i] == '.') { /* a fraction: .NET writes up to 7 digits */
		size_t n = 0;
		while (i + 1 + n < len && n < 8 && text[i + 1 + n] >= '0' && text[i + 1 + n] <= '9')
			n++;
		if (n == 0 || n > 7)
			return -EINVAL;
		i += 1 + n;
	}
	if (i + 1 == len && text[i] == 'Z') {
		*ret = t;
		return 0;
	}
	if (i + 6 != len || (text[i] != '+' && text[i] != '-') || text[i + 3] != ':' ||
	    !digits(text + i + 1, 2) || !digits(text + i + 4, 2))
		return -EINVAL;
	int hh = (text[i + 1] - '0') * 10 + text[i + 2] - '0';
	int mm = (text[i + 4] - '0') * 10 + text[i + 5] - '0';
	if (hh > 23 || mm > 59)
		return -EINVAL;
	offset = (int64_t)hh * 3600 + mm * 60;
	*ret = text[i] == '+' ? t - offset : t + offset;
	return 0;
}

/* ---- Reading tokens ------------------------------------------------------ */

struct rd {
	struct json_reader *reader;
	char *err;
	size_t errlen;
};

static int reader_failed(struct rd *p)
{
	const struct json_error *e = json_reader_error(p->reader);
	char line[sizeof(e->path) + sizeof(e->message) + 64];
	if (e->kind == JSON_ERROR_NOMEM)
		return fail(p->err, p->errlen, -ENOMEM, "out of memory");
	if (e->kind == JSON_ERROR_TRUNCATED)
		return fail(p->err, p->errlen, -EINVAL,
		            "not valid JSON: the reply ends early (in %s)", e->path);
	if (e->kind == JSON_ERROR_DEPTH)
		return fail(p->err, p->errlen, -EINVAL, "%s: nested deeper than %d levels", e->path,
		            NEXUDUS_REPLY_DEPTH);
	json_error_format(e, line, sizeof(line));
	return fail(p->err, p->errlen, -EINVAL, "not valid JSON: %s", line);
}

static int next(struct rd *p, struct json_value *v)
{
	return json_reader_next(p->reader, v) < 0 ? reader_failed(p) : 0;
}

/* Reads past one value whose first token is `v`. */
static int skip_value(struct rd *p, const struct json_value *v)
{
	return json_reader_skip(p->reader, v) < 0 ? reader_failed(p) : 0;
}

static bool key_is(const struct json_value *k, const char *name)
{
	size_t n = strlen(name);
	return k->len == n && memcmp(k->text, name, n) == 0;
}

/* A JSON number that is a whole number in [min, max]: no fraction, no
 * exponent (an id of 1e3 is not how Nexudus writes ids). */
static bool number_to_int(const struct json_value *v, int64_t min, int64_t max, int64_t *ret)
{
	const char *s = v->text;
	size_t i = 0, len = v->len;
	uint64_t u = 0;
	bool neg = len > 0 && s[0] == '-';
	if (v->token != JSON_TOKEN_NUMBER)
		return false;
	i = neg;
	if (i == len || len - i > 19)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		u = u * 10 + (uint64_t)(s[i] - '0');
	}
	if (u > (uint64_t)INT64_MAX)
		return false;
	int64_t x = neg ? -(int64_t)u : (int64_t)u;
	if (x < min || x > max)
		return false;
	*ret = x;
	return true;
}

static int want_int(struct rd *p, const struct json_value *v, const char *where, int64_t min,
                    int64_t max, bool nullable, int64_t *ret)
{
	if (nullable && v->token == JSON_TOKEN_NULL) {
		*ret = 0;
		return 0;
	}
	if (number_to_int(v, min, max, ret))
		return 0;
	return fail(p->err, p->errlen, -EINVAL, "%s: must be a whole number from %lld to %lld%s",
	            where, (long long)min, (long long)max, nullable ? " or null" : "");
}

static int want_bool(struct rd *p, const struct json_value *v, const char *where, bool nullable,
                     bool *ret)
{
	if (v->token == JSON_TOKEN_TRUE || v->token == JSON_TOKEN_FALSE)
		*ret = v->token == JSON_TOKEN_TRUE;
	else if (!nullable || v->token != JSON_TOKEN_NULL)
		return fail(p->err, p->errlen, -EINVAL, "%s: must be true or false%s", where,
		            nullable ? " or null" : "");
	return 0;
}

/* The milliseconds of a time nexudus_time_parse took, -1 without a fraction. */
static int32_t time_millis(const char *text, size_t len)
{
	if (len < 21 || text[19] != '.')
		return -1;
	int32_t ms = 0;
	for (size_t i = 20; i < 23; i++)
		ms = ms * 10 + (i < len && text[i] >= '0' && text[i] <= '9' ? text[i] - '0' : 0);
	return ms;
}

/* A time, or (nullable) null as INT64_MIN; its milliseconds in *ret_ms when
 * not NULL. The text is not echoed: it is outside input of any length. */
static int want_time(struct rd *p, const struct json_value *v, const char *where, bool nullable,
                     int64_t *ret, int32_t *ret_ms)
{
	if (nullable && v->token == JSON_TOKEN_NULL) {
		*ret = INT64_MIN;
		if (ret_ms)
			*ret_ms = -1;
		return 0;
	}
	if (v->token == JSON_TOKEN_STRING && nexudus_time_parse(v->text, v->len, ret) == 0) {
		if (ret_ms)
			*ret_ms = time_millis(v->text, v->len);
		return 0;
	}
	return fail(p->err, p->errlen, -EINVAL,
	            "%s: not a time (like 2026-11-25T08:00:00Z, with a zone)%s", where,
	            nullable ? " or null" : "");
}

/* The end of the last whole UTF-8 character within the first `cap` bytes
 * (the reader has checked the encoding). */
static size_t utf8_cut(const char *s, size_t len, size_t cap)
{
	if (len <= cap)
		return len;
	while (cap > 0 && ((unsigned char)s[cap] & 0xc0) == 0x80)
		cap--;
	return cap;
}

enum string_kind {
	S_TEXT,   /* cut at a character boundary when longer than the buffer */
	S_SECRET, /* never cut: longer sets *too_long and keeps nothing */
};

/* A string or null ("") into buf[cap + 1]. The value is never echoed in an
 * error: a secret field holding a wrong type is still a secret. */
static int want_string(struct rd *p, const struct json_value *v, const char *where,
                       enum string_kind kind, char *buf, size_t cap, bool *too_long)
{
	buf[0] = '\0';
	if (v->token == JSON_TOKEN_NULL)
		return 0;
	if (v->token != JSON_TOKEN_STRING)
		return fail(p->err, p->errlen, -EINVAL, "%s: must be a string or null", where);
	if (memchr(v->text, '\0', v->len))
		return fail(p->err, p->errlen, -EINVAL, "%s: holds a NUL character", where);
	size_t n = v->len;
	if (n > cap) {
		if (kind == S_SECRET) {
			*too_long = true;
			return 0;
		}
		n = utf8_cut(v->text, v->len, cap);
	}
	memcpy(buf, v->text, n);
	buf[n] = '\0';
	return 0;
}

static int open_reader(struct rd *p, const char *text, size_t len, size_t max, const char *what)
{
	if (len > max)
		return fail(p->err, p->errlen, -E2BIG,
		            "the %s is %zu bytes, at most %zu are accepted", what, len, max);
	p->reader = json_reader_new(text, len, NEXUDUS_REPLY_DEPTH);
	if (!p->reader)
		return fail(p->err, p->errlen, -ENOMEM, "out of memory");
	return 0;
}

/* The root object's first token, and after it the end of the text. */
static int expect_object(struct rd *p, const char *what)
{
	struct json_value v;
	int r = next(p, &v);
	if (r < 0)
		return r;
	if (v.token != JSON_TOKEN_OBJECT_BEGIN)
		return fail(p->err, p->errlen, -EINVAL, "the %s must be a JSON object", what);
	return 0;
}

static int expect_end(struct rd *p)
{
	struct json_value v;
	return next(p, &v); /* the reader allows only whitespace after the root */
}

/* Printable ASCII of outside text that is not secret (an OAuth error code),
 * for a message. */
static void printable(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t k = 0; k < len && n + 1 < cap; k++)
		out[n++] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
	out[n] = '\0';
}

/* ---- Token --------------------------------------------------------------- */

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void nexudus_token_clear(struct nexudus_token *token)
{
	if (!token)
		return;
	free_secret(token->access_token);
	free_secret(token->refresh_token);
	*token = (struct nexudus_token){0};
}

/* A token goes into an "Authorization: Bearer" header: printable ASCII
 * without spaces, so it can never split or add a header line. */
static int want_token(struct rd *p, const struct json_value *v, const char *where, bool nullable,
                      char **ret)
{
	bool ok = v->token == JSON_TOKEN_STRING && v->len >= 1 && v->len <= NEXUDUS_TOKEN_MAX;
	if (nullable && v->token == JSON_TOKEN_NULL)
		return 0;
	for (size_t i = 0; ok && i < v->len; i++)
		ok = v->text[i] > 0x20 && v->text[i] < 0x7f;
	if (!ok)
		return fail(p->err, p->errlen, -EINVAL,
		            "%s: must be 1-%d printable characters without spaces", where,
		            NEXUDUS_TOKEN_MAX);
	free_secret(*ret); /* a key twice is refused by the reader; kept for safety */
	*ret = strndup(v->text, v->len);
	if (!*ret)
		return fail(p->err, p->errlen, -ENOMEM, "out of memory");
	return 0;
}

struct token_reply {
	struct nexudus_token token;
	bool bearer, has_type, has_expiry;
	char error[48], description[160];
	bool has_error;
};

static int token_member(struct rd *p, struct token_reply *t)
{
	struct json_value k, v;
	int r = next(p, &k);
	if (r < 0 || k.token == JSON_TOKEN_OBJECT_END)
		return r < 0 ? r : 1;
	enum { ACCESS, REFRESH, TYPE, EXPIRES, ERROR, DESCRIPTION, OTHER } f = OTHER;
	f = key_is(&k, "access_token")        ? ACCESS
	    : key_is(&k, "refresh_token")     ? REFRESH
	    : key_is(&k, "token_type")        ? TYPE
	    : key_is(&k, "expires_in")        ? EXPIRES
	    : key_is(&k, "error")             ? ERROR
	    : key_is(&k, "error_description") ? DESCRIPTION
	                                      : OTHER;
	if ((r = next(p, &v)) < 0)
		return r;
	switch (f) {
	case ACCESS:
		return want_token(p, &v, "access_token", false, &t->token.access_token);
	case REFRESH:
		return want_token(p, &v, "refresh_token", true, &t->token.refresh_token);
	case TYPE:
		if (v.token != JSON_TOKEN_STRING)
			return fail(p->err, p->errlen, -EINVAL, "token_type: must be a string");
		t->has_type = true;
		t->bearer = v.len == 6 && strncasecmp(v.text, "bearer", 6) == 0;
		return 0;
	case EXPIRES:
		t->has_expiry = true;
		return want_int(p, &v, "expires_in", 1, NEXUDUS_TOKEN_LIFETIME_MAX, false,
		                &t->token.expires_in);
	case ERROR:
		if (v.token != JSON_TOKEN_STRING)
			return fail(p->err, p->errlen, -EINVAL, "error: must be a string");
		t->has_error = true;
		printable(v.text, v.len, t->error, sizeof(t->error));
		return 0;
	case DESCRIPTION:
		if (v.token == JSON_TOKEN_STRING)
			printable(v.text, v.len, t->description, sizeof(t->description));
		return skip_value(p, &v);
	default:
		return skip_value(p, &v);
	}
}

static int token_outcome(struct rd *p, struct token_reply *t)
{
	const char *sep = t->description[0] ? ": " : "";
	if (t->has_error && strcmp(t->error, "invalid_grant") == 0)
		return fail(p->err, p->errlen, -EACCES,
		            "the backend refused the credentials (invalid_grant)%s%s", sep,
		            t->description);
	if (t->has_error)
		return fail(p->err, p->errlen, -EPROTO,
		            "the backend refused the token request (%s)%s%s", t->error, sep,
		            t->description);
	if (!t->token.access_token)
		return fail(p->err, p->errlen, -EINVAL, "access_token: missing");
	if (!t->has_type || !t->bearer)
		return fail(p->err, p->errlen, -EINVAL, "token_type: must be \"bearer\"");
	if (!t->has_expiry)
		return fail(p->err, p->errlen, -EINVAL, "expires_in: missing");
	return 0;
}

int nexudus_token_parse(const char *text, size_t len, struct nexudus_token *ret, char *err,
                        size_t errlen)
{
	struct rd p = {.err = err, .errlen = errlen};
	struct token_reply t = {0};
	int r;
	*ret = (struct nexudus_token){0};
	if ((r = open_reader(&p, text, len, NEXUDUS_TOKEN_REPLY_MAX, "token reply")) < 0)
		return r;
	r = expect_object(&p, "token reply");
	while (r == 0)
		r = token_member(&p, &t);
	if (r > 0)
		r = expect_end(&p);
	if (r == 0)
		r = token_outcome(&p, &t);
	json_reader_free(p.reader);
	if (r < 0)
		nexudus_token_clear(&t.token);
	else
		*ret = t.token;
	return r;
}

/* ---- Envelope ------------------------------------------------------------ */

#define ENVELOPE_ERRORS_KEPT 8
#define ATTEMPT_MAX          256

struct envelope_error {
	char property[64];
	char message[256];
	char attempted[ATTEMPT_MAX + 1]; /* cleansed after use */
};

struct envelope {
	struct nexudus_envelope *out;
	bool has_success;
	char message[256];
	struct envelope_error errors[ENVELOPE_ERRORS_KEPT];
};

static int envelope_error(struct rd *p, struct envelope *e, size_t i)
{
	struct envelope_error scratch, *x = i < ENVELOPE_ERRORS_KEPT ? &e->errors[i] : &scratch;
	struct json_value k, v;
	char where[64];
	bool too_long = false;
	int r;
	memset(x, 0, sizeof(*x));
	for (;;) {
		if ((r = next(p, &k)) < 0)
			break;
		if (k.token == JSON_TOKEN_OBJECT_END)
			break;
		enum {
			PROPERTY,
			MESSAGE,
			ATTEMPTED,
			OTHER
		} f = key_is(&k, "PropertyName")     ? PROPERTY
		      : key_is(&k, "Message")        ? MESSAGE
		      : key_is(&k, "AttemptedValue") ? ATTEMPTED
		                                     : OTHER;
		snprintf(where, sizeof(where), "Errors[%zu].%s", i,
		         f == PROPERTY ? "PropertyName" : "Message");
		if ((r = next(p, &v)) < 0)
			break;
		if (f == PROPERTY)
			r = want_string(p, &v, where, S_TEXT, x->property, sizeof(x->property) - 1,
			                &too_long);
		else if (f == MESSAGE)
			r = want_string(p, &v, where, S_TEXT, x->message, sizeof(x->message) - 1,
			                &too_long);
		else if (f == ATTEMPTED && v.token == JSON_TOKEN_STRING && v.len <= ATTEMPT_MAX &&
		         !memchr(v.text, '\0', v.len))
			memcpy(x->attempted, v.text, v.len);
		else if (f == ATTEMPTED && v.token == JSON_TOKEN_NUMBER && v.len <= ATTEMPT_MAX)
			memcpy(x->attempted, v.text, v.len);
		else
			r = skip_value(p, &v);
		if (r < 0)
			break;
	}
	OPENSSL_cleanse(&scratch, sizeof(scratch));
	return r;
}

static int envelope_errors(struct rd *p, struct envelope *e, const struct json_value *v)
{
	struct json_value t;
	int r;
	if (v->token == JSON_TOKEN_NULL)
		return 0;
	if (v->token != JSON_TOKEN_ARRAY_BEGIN)
		return fail(p->err, p->errlen, -EINVAL, "Errors: must be an array or null");
	for (size_t i = 0;; i++) {
		if ((r = next(p, &t)) < 0)
			return r;
		if (t.token == JSON_TOKEN_ARRAY_END)
			return 0;
		if (t.token != JSON_TOKEN_OBJECT_BEGIN)
			return fail(p->err, p->errlen, -EINVAL, "Errors[%zu]: must be an object",
			            i);
		if ((r = envelope_error(p, e, i)) < 0)
			return r;
		e->out->n_errors++;
	}
}

/* Value: the created or updated record's {Id}, or anything else (ignored). */
static int envelope_value(struct rd *p, struct envelope *e, const struct json_value *v)
{
	struct json_value k, t;
	int r;
	if (v->token != JSON_TOKEN_OBJECT_BEGIN)
		return skip_value(p, v);
	for (;;) {
		if ((r = next(p, &k)) < 0)
			return r;
		if (k.token == JSON_TOKEN_OBJECT_END)
			return 0;
		bool id = key_is(&k, "Id");
		if ((r = next(p, &t)) < 0)
			return r;
		if (id)
			r = want_int(p, &t, "Value.Id", 0, INT64_MAX, true, &e->out->value_id);
		else
			r = skip_value(p, &t);
		if (r < 0)
			return r;
	}
}

static int envelope_member(struct rd *p, struct envelope *e)
{
	struct json_value k, v;
	bool too_long = false;
	int r = next(p, &k);
	if (r < 0 || k.token == JSON_TOKEN_OBJECT_END)
		return r < 0 ? r : 1;
	enum {
		STATUS,
		MESSAGE,
		VALUE,
		SUCCESS,
		ERRORS,
		OTHER
	} f = key_is(&k, "Status")          ? STATUS
	      : key_is(&k, "Message")       ? MESSAGE
	      : key_is(&k, "Value")         ? VALUE
	      : key_is(&k, "WasSuccessful") ? SUCCESS
	      : key_is(&k, "Errors")        ? ERRORS
	                                    : OTHER;
	if ((r = next(p, &v)) < 0)
		return r;
	switch (f) {
	case STATUS:
		return want_int(p, &v, "Status", 0, 999, true, &e->out->status);
	case MESSAGE:
		return want_string(p, &v, "Message", S_TEXT, e->message, sizeof(e->message) - 1,
		                   &too_long);
	case VALUE:
		return envelope_value(p, e, &v);
	case SUCCESS:
		e->has_success = true;
		return want_bool(p, &v, "WasSuccessful", false, &e->out->was_successful);
	case ERRORS:
		return envelope_errors(p, e, &v);
	default:
		return skip_value(p, &v);
	}
}

/* Replace every occurrence of `needle` in `s` (a buffer of `cap` bytes)
 * with "***", in place. */
static void mask(char *s, size_t cap, const char *needle)
{
	size_t n = strlen(needle), out = 0;
	char buf[NEXUDUS_REASON_MAX];
	if (n < 3) /* shorter values ("0", "no") are not PINs and would mask words */
		return;
	if (cap > sizeof(buf))
		cap = sizeof(buf);
	for (const char *c = s; *c && out + 1 < cap;) {
		if (strncmp(c, needle, n) == 0) {
			for (const char *m = "***"; *m && out + 1 < cap; m++)
				buf[out++] = *m;
			c += n;
		} else {
			buf[out++] = *c++;
		}
	}
	buf[out] = '\0';
	memcpy(s, buf, out + 1);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* Code points that must not reach a log line or a terminal: controls (C0,
 * DEL, C1), bidirectional formatting, line and paragraph separators. */
static bool unsafe_cp(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x2028 || cp == 0x2029;
}

/* Append `s` (valid UTF-8: the reader checked it) to out, each unsafe
 * character as one space, stopping at a character boundary when full. */
static void append_safe(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out);
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; u[i];) {
		size_t w = u[i] < 0x80 ? 1 : u[i] < 0xe0 ? 2 : u[i] < 0xf0 ? 3 : 4;
		uint32_t cp = w == 1 ? u[i] : (uint32_t)(u[i] & (0x7f >> w));
		for (size_t k = 1; k < w && u[i + k]; k++)
			cp = cp << 6 | (u[i + k] & 0x3f);
		if (strnlen(s + i, w) < w)
			break;
		if (unsafe_cp(cp)) {
			if (n + 2 > cap)
				break;
			out[n++] = ' ';
		} else {
			if (n + w + 1 > cap)
				break;
			memcpy(out + n, s + i, w);
			n += w;
		}
		i += w;
	}
	out[n] = '\0';
}

static void envelope_reason(struct envelope *e)
{
	char *reason = e->out->reason;
	size_t cap = sizeof(e->out->reason), kept = e->out->n_errors;
	if (kept > ENVELOPE_ERRORS_KEPT)
		kept = ENVELOPE_ERRORS_KEPT;
	for (size_t i = 0; i < kept; i++) {
		mask(e->message, sizeof(e->message), e->errors[i].attempted);
		for (size_t j = 0; j < kept; j++)
			mask(e->errors[j].message, sizeof(e->errors[j].message),
			     e->errors[i].attempted);
	}
	reason[0] = '\0';
	append_safe(reason, cap, e->message);
	for (size_t i = 0; i < kept; i++) {
		append_safe(reason, cap, reason[0] ? "; " : "");
		append_safe(reason, cap,
		            e->errors[i].property[0] ? e->errors[i].property : "(record)");
		append_safe(reason, cap, ": ");
		append_safe(reason, cap,
		            e->errors[i].message[0] ? e->errors[i].message : "refused");
	}
	if (e->out->n_errors > kept) {
		char more[48];
		snprintf(more, sizeof(more), "; and %zu more", e->out->n_errors - kept);
		append_safe(reason, cap, more);
	}
	if (!reason[0])
		append_safe(reason, cap, e->out->was_successful ? "done" : "no reason given");
}

int nexudus_envelope_parse(const char *text, size_t len, struct nexudus_envelope *ret, char *err,
                           size_t errlen)
{
	struct rd p = {.err = err, .errlen = errlen};
	struct envelope *e = calloc(1, sizeof(*e));
	int r;
	*ret = (struct nexudus_envelope){0};
	if (!e)
		return fail(err, errlen, -ENOMEM, "out of memory");
	e->out = ret;
	r = open_reader(&p, text, len, NEXUDUS_ENVELOPE_REPLY_MAX, "reply");
	if (r == 0)
		r = expect_object(&p, "reply");
	while (r == 0)
		r = envelope_member(&p, e);
	if (r > 0)
		r = expect_end(&p);
	if (r == 0 && !e->has_success)
		r = fail(err, errlen, -EINVAL, "WasSuccessful: missing");
	if (r == 0)
		envelope_reason(e);
	json_reader_free(p.reader);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	if (r < 0)
		*ret = (struct nexudus_envelope){0};
	return r;
}

/* ---- Records ------------------------------------------------------------- */

enum ftype {
	T_ID,        /* a whole number >= 1, required */
	T_REF,       /* a whole number >= 0 or null (0) */
	T_NAME,      /* text, cut to NEXUDUS_NAME_MAX */
	T_SECRET,    /* a credential: never cut, never echoed */
	T_BOOL,      /* true, false or null (the default stays) */
	T_TIME,      /* a time, required */
	T_TIME_NULL, /* a time or null (INT64_MIN) */
};

struct field {
	const char *name;
	enum ftype type;
	size_t offset;   /* in struct nexudus_record */
	size_t too_long; /* T_SECRET: offset of its bool; a time: of its ms, or 0 */
};

#define CW(m) offsetof(struct nexudus_record, coworker.m)
#define VI(m) offsetof(struct nexudus_record, visitor.m)
#define CI(m) offsetof(struct nexudus_record, checkin.m)

static const struct field coworker_fields[] = {
        {"Id", T_ID, CW(id), 0},
        {"FullName", T_NAME, CW(full_name), 0},
        {"AccessPincode", T_SECRET, CW(pin), CW(pin_too_long)},
        {"AccessCardId", T_SECRET, CW(access_card_id), CW(access_card_id_too_long)},
        {"Active", T_BOOL, CW(active), 0},
        {"Archived", T_BOOL, CW(archived), 0},
        {"UpdatedOn", T_TIME_NULL, CW(updated_on), 0},
        {NULL, 0, 0, 0},
};

static const struct field visitor_fields[] = {
        {"Id", T_ID, VI(id), 0},
        {"FullName", T_NAME, VI(full_name), 0},
        {"VisitorCode", T_SECRET, VI(visitor_code), VI(visitor_code_too_long)},
        {"ExpectedArrival", T_TIME_NULL, VI(expected_arrival), 0},
        {"CoworkerId", T_REF, VI(coworker_id), 0},
        {"Arrived", T_BOOL, VI(arrived), 0},
        {"ArrivalDate", T_TIME_NULL, VI(arrival_date), 0},
        {"DepartureDate", T_TIME_NULL, VI(departure_date), 0},
        {"UpdatedOn", T_TIME_NULL, VI(updated_on), 0},
        {NULL, 0, 0, 0},
};

static const struct field checkin_fields[] = {
        {"Id", T_ID, CI(id), 0},
        {"CoworkerId", T_REF, CI(coworker_id), 0},
        {"FromTime", T_TIME, CI(from_time), CI(from_ms)},
        {"ToTime", T_TIME_NULL, CI(to_time), CI(to_ms)},
        {"UpdatedOn", T_TIME_NULL, CI(updated_on), 0},
        {NULL, 0, 0, 0},
};

static const struct field *const kind_fields[] = {coworker_fields, visitor_fields, checkin_fields};

static void record_defaults(struct nexudus_record *rec, enum nexudus_kind kind, size_t index)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->index = index;
	switch (kind) {
	case NEXUDUS_COWORKERS:
		rec->coworker.active = true;
		rec->coworker.updated_on = INT64_MIN;
		break;
	case NEXUDUS_VISITORS:
		rec->visitor.expected_arrival = INT64_MIN;
		rec->visitor.arrival_date = INT64_MIN;
		rec->visitor.departure_date = INT64_MIN;
		rec->visitor.updated_on = INT64_MIN;
		break;
	case NEXUDUS_CHECKINS:
		rec->checkin.to_time = INT64_MIN;
		rec->checkin.updated_on = INT64_MIN;
		rec->checkin.from_ms = rec->checkin.to_ms = -1;
		break;
	}
}

static int read_field(struct rd *p, const struct field *f, const struct json_value *v,
                      const char *where, struct nexudus_record *rec)
{
	char *base = (char *)rec;
	int64_t *i64 = (int64_t *)(base + f->offset);
	switch (f->type) {
	case T_ID:
		return want_int(p, v, where, 1, INT64_MAX, false, i64);
	case T_REF:
		return want_int(p, v, where, 0, INT64_MAX, true, i64);
	case T_NAME:
		return want_string(p, v, where, S_TEXT, base + f->offset, NEXUDUS_NAME_MAX, NULL);
	case T_SECRET:
		return want_string(p, v, where, S_SECRET, base + f->offset, NEXUDUS_SECRET_MAX,
		                   (bool *)(base + f->too_long));
	case T_BOOL:
		return want_bool(p, v, where, true, (bool *)(base + f->offset));
	case T_TIME:
	case T_TIME_NULL:
		return want_time(p, v, where, f->type == T_TIME_NULL, i64,
		                 f->too_long ? (int32_t *)(base + f->too_long) : NULL);
	}
	return -EINVAL;
}

/* One record's members; the object's '{' has been read. */
static int read_record(struct rd *p, enum nexudus_kind kind, size_t index,
                       struct nexudus_record *rec)
{
	const struct field *fields = kind_fields[kind];
	uint32_t seen = 0;
	struct json_value k, v;
	char where[96];
	int r;
	record_defaults(rec, kind, index);
	for (;;) {
		if ((r = next(p, &k)) < 0)
			return r;
		if (k.token == JSON_TOKEN_OBJECT_END)
			break;
		size_t f = 0;
		while (fields[f].name && !key_is(&k, fields[f].name))
			f++;
		if ((r = next(p, &v)) < 0)
			return r;
		if (!fields[f].name) {
			if ((r = skip_value(p, &v)) < 0)
				return r;
			continue;
		}
		snprintf(where, sizeof(where), "Records[%zu].%s", index, fields[f].name);
		if ((r = read_field(p, &fields[f], &v, where, rec)) < 0)
			return r;
		seen |= 1u << f;
	}
	for (size_t f = 0; fields[f].name; f++)
		if ((fields[f].type == T_ID || fields[f].type == T_TIME) && !(seen & 1u << f))
			return fail(p->err, p->errlen, -EINVAL, "Records[%zu].%s: missing", index,
			            fields[f].name);
	return 0;
}

static int read_records(struct rd *p, enum nexudus_kind kind, nexudus_record_fn fn, void *userdata,
                        struct nexudus_page *page)
{
	struct nexudus_record *rec = malloc(sizeof(*rec));
	struct json_value v;
	int r;
	if (!rec)
		return fail(p->err, p->errlen, -ENOMEM, "out of memory");
	if ((r = next(p, &v)) == 0 && v.token != JSON_TOKEN_ARRAY_BEGIN)
		r = fail(p->err, p->errlen, -EINVAL, "Records: must be an array");
	for (size_t i = 0; r == 0; i++) {
		if ((r = next(p, &v)) < 0 || v.token == JSON_TOKEN_ARRAY_END)
			break;
		if (v.token != JSON_TOKEN_OBJECT_BEGIN)
			r = fail(p->err, p->errlen, -EINVAL, "Records[%zu]: must be an object", i);
		else if ((r = read_record(p, kind, i, rec)) == 0) {
			r = fn(userdata, rec);
			if (r < 0)
				fail(p->err, p->errlen, r, "Records[%zu]: not taken: %s", i,
				     strerror(-r));
			else
				page->records++;
		}
		OPENSSL_cleanse(rec, sizeof(*rec)); /* the PIN or code it held */
	}
	free(rec);
	return r;
}

enum page_member { P_RECORDS, P_TOTAL_ITEMS, P_TOTAL_PAGES, P_HAS_NEXT, P_CURRENT, P_OTHER };

static int page_member(struct rd *p, enum nexudus_kind kind, nexudus_record_fn fn, void *userdata,
                       struct nexudus_page *page, uint32_t *seen)
{
	struct json_value k, v;
	int r = next(p, &k);
	if (r < 0 || k.token == JSON_TOKEN_OBJECT_END)
		return r < 0 ? r : 1;
	enum page_member f = key_is(&k, "Records")       ? P_RECORDS
	                     : key_is(&k, "TotalItems")  ? P_TOTAL_ITEMS
	                     : key_is(&k, "TotalPages")  ? P_TOTAL_PAGES
	                     : key_is(&k, "HasNextPage") ? P_HAS_NEXT
	                     : key_is(&k, "CurrentPage") ? P_CURRENT
	                                                 : P_OTHER;
	*seen |= 1u << f;
	if (f == P_RECORDS)
		return read_records(p, kind, fn, userdata, page);
	if ((r = next(p, &v)) < 0)
		return r;
	switch (f) {
	case P_TOTAL_ITEMS:
		return want_int(p, &v, "TotalItems", 0, INT64_MAX, false, &page->total_items);
	case P_TOTAL_PAGES:
		return want_int(p, &v, "TotalPages", 0, INT64_MAX, false, &page->total_pages);
	case P_HAS_NEXT:
		return want_bool(p, &v, "HasNextPage", false, &page->has_next_page);
	case P_CURRENT:
		return want_int(p, &v, "CurrentPage", 0, INT64_MAX, true, &page->current_page);
	default:
		return skip_value(p, &v);
	}
}

int nexudus_page_parse(const char *text, size_t len, enum nexudus_kind kind, nexudus_record_fn fn,
                       void *userdata, struct nexudus_page *ret, char *err, size_t errlen)
{
	static const char *const required[] = {"Records", "TotalItems", "TotalPages",
	                                       "HasNextPage"};
	struct rd p = {.err = err, .errlen = errlen};
	uint32_t seen = 0;
	int r;
	*ret = (struct nexudus_page){0};
	if ((unsigned)kind > NEXUDUS_CHECKINS || !fn)
		return fail(err, errlen, -EINVAL, "no such record kind");
	if ((r = open_reader(&p, text, len, NEXUDUS_PAGE_REPLY_MAX, "page")) < 0)
		return r;
	r = expect_object(&p, "page");
	while (r == 0)
		r = page_member(&p, kind, fn, userdata, ret, &seen);
	if (r > 0)
		r = expect_end(&p);
	for (size_t i = 0; r == 0 && i < sizeof(required) / sizeof(required[0]); i++)
		if (!(seen & 1u << i))
			r = fail(err, errlen, -EINVAL, "%s: missing", required[i]);
	json_reader_free(p.reader);
	return r;
}
