/* SPDX-License-Identifier: MIT */
/* directory_file.c: parse and validate the local directory file. */
#include "directory_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_strict.h"
#include "utc_time.h"

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

int timestamp_parse(const char *text, int64_t *ret)
{
	return utc_time_parse_s(text, ret);
}

void timestamp_format(int64_t t, char ret[32])
{
	/* Only a year 0000 (which timestamp_parse reads) is out of range. */
	if (utc_time_format_s(t, ret) < 0)
		snprintf(ret, 32, "(before year 1)");
}

/* ---- One person ------------------------------------------------------- */

/* Ids are keys in logs, the database and the backend: printable ASCII, no
 * spaces. `len` is the decoded length, so an escaped \u0000 is caught. */
static bool id_is_clean(const char *s, size_t len)
{
	if (len == 0 || len > PERSON_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/* Characters a name must not hold: it reaches a door display, logs and the
 * admin's terminal. Controls (C0, DEL, C1) move cursors and clear screens;
 * bidirectional overrides, isolates and marks reorder what is shown around
 * them ("Trojan Source"), so a name could display as someone else's; line
 * and paragraph separators break a log line. */
static bool forbidden_in_name(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x2028 || cp == 0x2029;
}

/* UTF-8 (the reader has checked the encoding; checked again here, since a
 * name is what a person reads) without forbidden characters. */
static bool name_is_clean(const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	if (len == 0 || len > PERSON_NAME_MAX)
		return false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n;
		if (s[i] < 0x80) {
			cp = s[i];
			n = 1;
		} else if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			cp = s[i] & 0x1f;
			n = 2;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			cp = s[i] & 0x0f;
			n = 3;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			cp = s[i] & 0x07;
			n = 4;
		} else {
			return false;
		}
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    forbidden_in_name(cp))
			return false;
		i += n;
	}
	return true;
}

enum field { F_ID, F_KIND, F_NAME, F_PIN, F_FROM, F_UNTIL, F_QR, F_BLE, N_FIELDS };

static const char *const field_names[N_FIELDS] = {"id",         "kind",        "name",    "pin_hmac",
                                                  "valid_from", "valid_until", "qr_hmac", "ble_key"};
static const size_t field_max[N_FIELDS] = {PERSON_ID_MAX,    7,  PERSON_NAME_MAX,
                                           PIN_HASH_HEX_LEN, 20, 20,
                                           PIN_HASH_HEX_LEN, 2 * PERSON_BLE_SEALED_LEN};

/* One entry as read: each field's text up to one byte past its longest
 * valid value (so "too long" is still seen), and its real length. */
struct entry {
	bool seen[N_FIELDS], string[N_FIELDS];
	size_t len[N_FIELDS];
	char text[N_FIELDS][PERSON_NAME_MAX + 2];
};

static bool field_string(const struct entry *e, enum field f)
{
	return e->seen[f] && e->string[f];
}

/* The field as a C string, if it is one (a string without NUL, not too long). */
static const char *field_text(const struct entry *e, enum field f)
{
	if (!field_string(e, f) || e->len[f] > field_max[f] || strlen(e->text[f]) != e->len[f])
		return NULL;
	return e->text[f];
}

static int check_window(const struct entry *e, size_t i, struct person *p, char *err, size_t errlen)
{
	int64_t *values[2] = {&p->valid_from, &p->valid_until};
	for (int k = 0; k < 2; k++) {
		enum field f = k == 0 ? F_FROM : F_UNTIL;
		if (!e->seen[f])
			continue;
		const char *t = field_text(e, f);
		if (!t || timestamp_parse(t, values[k]) < 0)
			return fail(err, errlen, -EINVAL,
			            "people[%zu].%s: must be a UTC time like 2026-11-25T08:00:00Z",
			            i, field_names[f]);
	}
	if (p->kind == PERSON_VISITOR && p->valid_until == INT64_MAX)
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s): a visitor needs valid_until (passes always expire)",
		            i, p->id);
	if (p->valid_from != INT64_MIN && p->valid_until != INT64_MAX &&
	    p->valid_from >= p->valid_until)
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s): valid_from is not before valid_until", i, p->id);
	return 0;
}

static int hex_bytes(const char *hex, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]))
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* The checks, in the order an admin fixes them: who, what, then when. */
static int check_entry(const struct entry *e, size_t i, struct person *p, char *err, size_t errlen)
{
	const char *id = field_text(e, F_ID), *kind = field_text(e, F_KIND);
	const char *pin = field_text(e, F_PIN);
	*p = (struct person){.valid_from = INT64_MIN, .valid_until = INT64_MAX};
	if (!id || !id_is_clean(id, e->len[F_ID]))
		return fail(err, errlen, -EINVAL,
		            "people[%zu].id: must be 1-%d printable characters without spaces", i,
		            PERSON_ID_MAX);
	p->id = id;
	if (!kind || (strcmp(kind, "member") != 0 && strcmp(kind, "visitor") != 0))
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s).kind: must be \"member\" or \"visitor\"", i, id);
	p->kind = strcmp(kind, "member") == 0 ? PERSON_MEMBER : PERSON_VISITOR;
	if (!field_string(e, F_NAME) || !name_is_clean(e->text[F_NAME], e->len[F_NAME]))
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s).name: must be 1-%d bytes of UTF-8 without control "
		            "or bidirectional formatting characters",
		            i, id, PERSON_NAME_MAX);
	p->name = e->text[F_NAME];
	if (e->seen[F_PIN]) {
		if (!pin || pin_hash_from_hex(pin, e->len[F_PIN], p->pin_hash) < 0)
			return fail(err, errlen, -EINVAL,
			            "people[%zu] (%s).pin_hmac: must be %d hex digits "
			            "(porter-admin hash-pin)",
			            i, id, PIN_HASH_HEX_LEN);
		p->has_pin = true;
	}
	if (e->seen[F_QR]) {
		const char *qr = field_text(e, F_QR);
		if (!qr || pin_hash_from_hex(qr, e->len[F_QR], p->qr_hash) < 0)
			return fail(err, errlen, -EINVAL,
			            "people[%zu] (%s).qr_hmac: must be %d hex digits "
			            "(porter-admin add --qr-code)",
			            i, id, PIN_HASH_HEX_LEN);
		p->has_qr = true;
		/* A visitor's code ends with their visit (valid_until is required);
		 * a member's would be a static code that opens the door for ever. */
		if (p->kind != PERSON_VISITOR)
			return fail(err, errlen, -EINVAL,
			            "people[%zu] (%s).qr_hmac: only a visitor has a visitor code",
			            i, id);
	}
	if (e->seen[F_BLE]) { /* sealed (ble_keys.h): only its shape is checked here */
		const char *ble = field_text(e, F_BLE);
		if (!ble || hex_bytes(ble, e->len[F_BLE], p->ble_key_sealed,
		                      PERSON_BLE_SEALED_LEN) < 0)
			return fail(err, errlen, -EINVAL,
			            "people[%zu] (%s).ble_key: must be %d hex digits "
			            "(porter-admin ble key)",
			            i, id, 2 * PERSON_BLE_SEALED_LEN);
		p->has_ble_key = true;
	}
	return check_window(e, i, p, err, errlen);
}

/* ---- The file, read as a stream of tokens ------------------------------ */

/* Deep enough for any value a field could wrongly hold; the file's own
 * shape needs 3. */
#define DIRECTORY_JSON_DEPTH 16

struct loader {
	struct json_reader *reader;
	struct directory_builder *builder;
	char *err;
	size_t errlen;
};

/* The reader's own refusal, in the directory's words. */
static int reader_failed(struct loader *l)
{
	const struct json_error *e = json_reader_error(l->reader);
	char line[sizeof(e->path) + sizeof(e->message) + 64];
	switch (e->kind) {
	case JSON_ERROR_NOMEM:
		return fail(l->err, l->errlen, -ENOMEM, "out of memory");
	case JSON_ERROR_TRUNCATED:
		return fail(l->err, l->errlen, -EINVAL,
		            "not valid JSON: the text ends early (in %s)", e->path);
	case JSON_ERROR_SYNTAX:
	case JSON_ERROR_DEPTH:
		return fail(l->err, l->errlen, -EINVAL,
		            "not valid JSON at byte %zu (line %zu, column %zu, in %s): %s",
		            e->offset, e->line, e->column, e->path, e->message);
	default:
		json_error_format(e, line, sizeof(line));
		return fail(l->err, l->errlen, -EINVAL, "%s", line);
	}
}

static int next(struct loader *l, struct json_value *v)
{
	return json_reader_next(l->reader, v) < 0 ? reader_failed(l) : 0;
}

/* Reads past one value whose first token is `v` (nothing is kept). */
static int skip_value(struct loader *l, const struct json_value *v)
{
	if (json_reader_skip(l->reader, v) < 0) {
		reader_failed(l); /* says why in l->err */
		return -EINVAL;
	}
	return 0;
}

/* Printable ASCII of an unknown key, for a message: the key is outside input. */
static void printable(const char *s, size_t len, char out[40])
{
	size_t n = 0;
	for (size_t k = 0; k < len && n < 32; k++)
		out[n++] = s[k] >= 0x20 && s[k] < 0x7f && s[k] != '"' && s[k] != '\\' ? s[k] : '?';
	out[n] = '\0';
}

static int read_entry(struct loader *l, size_t i)
{
	struct entry e = {0};
	struct json_value v;
	struct person p;
	int r;
	for (;;) {
		if (next(l, &v) < 0)
			return -EINVAL;
		if (v.token == JSON_TOKEN_OBJECT_END)
			break;
		enum field f = 0; /* a KEY: the reader allows nothing else here */
		while (f < N_FIELDS && (strlen(field_names[f]) != v.len ||
		                        memcmp(field_names[f], v.text, v.len) != 0))
			f++;
		if (f == N_FIELDS) {
			char key[40];
			printable(v.text, v.len, key);
			return fail(l->err, l->errlen, -EINVAL, "people[%zu]: unknown field \"%s\"",
			            i, key);
		}
		if (next(l, &v) < 0)
			return -EINVAL;
		e.seen[f] = true;
		e.string[f] = v.token == JSON_TOKEN_STRING;
		if (e.string[f]) {
			size_t n = v.len <= field_max[f] ? v.len : field_max[f] + 1;
			memcpy(e.text[f], v.text, n);
			e.text[f][n] = '\0';
			e.len[f] = v.len;
		} else if (skip_value(l, &v) < 0) {
			return -EINVAL;
		}
	}
	r = check_entry(&e, i, &p, l->err, l->errlen);
	if (r == 0)
		r = directory_builder_add(l->builder, &p);
	if (r == -E2BIG)
		return fail(l->err, l->errlen, -E2BIG, "people: more than %d entries",
		            DIRECTORY_MAX_PEOPLE);
	if (r == -ENOMEM)
		return fail(l->err, l->errlen, -ENOMEM, "out of memory after %zu people", i);
	return r;
}

static int read_people(struct loader *l)
{
	struct json_value v;
	if (next(l, &v) < 0)
		return -EINVAL;
	if (v.token != JSON_TOKEN_ARRAY_BEGIN)
		return fail(l->err, l->errlen, -EINVAL, "people: must be an array");
	for (size_t i = 0;; i++) {
		if (next(l, &v) < 0)
			return -EINVAL;
		if (v.token == JSON_TOKEN_ARRAY_END)
			return 0;
		if (v.token != JSON_TOKEN_OBJECT_BEGIN)
			return fail(l->err, l->errlen, -EINVAL, "people[%zu]: must be an object",
			            i);
		int r = read_entry(l, i);
		if (r < 0)
			return r;
	}
}

/* The top level holds porter_directory and people, in any order. Anything
 * else is refused at its name, before its value is read: an unknown member
 * holding a large array would otherwise cost memory and time for nothing. */
static int read_document(struct loader *l)
{
	struct json_value v;
	bool format = false, people = false;
	if (next(l, &v) < 0)
		return -EINVAL;
	if (v.token != JSON_TOKEN_OBJECT_BEGIN)
		return fail(l->err, l->errlen, -EINVAL, "the directory must be a JSON object");
	for (;;) {
		if (next(l, &v) < 0)
			return -EINVAL;
		if (v.token == JSON_TOKEN_OBJECT_END)
			break;
		if (v.len == 16 && memcmp(v.text, "porter_directory", 16) == 0) {
			if (next(l, &v) < 0)
				return -EINVAL;
			/* The only JSON text for the integer 1 is "1". */
			if (v.token != JSON_TOKEN_NUMBER || v.len != 1 ||
			    v.text[0] != '0' + DIRECTORY_FILE_FORMAT)
				break;
			format = true;
		} else if (v.len == 6 && memcmp(v.text, "people", 6) == 0) {
			int r = read_people(l);
			if (r < 0)
				return r;
			people = true;
		} else {
			char key[40];
			printable(v.text, v.len, key);
			return fail(l->err, l->errlen, -EINVAL,
			            "$.%s: unknown member; a directory holds porter_directory and "
			            "people only",
			            key);
		}
	}
	if (!format)
		return fail(l->err, l->errlen, -EINVAL,
		            "porter_directory: must be %d (the file format version)",
		            DIRECTORY_FILE_FORMAT);
	if (!people)
		return fail(l->err, l->errlen, -EINVAL, "people: must be an array");
	if (next(l, &v) < 0) /* only whitespace may follow */
		return -EINVAL;
	return 0;
}

/* Parses into a builder, so that a caller holding the text can free it
 * before the indexes are built (the two never need memory at once). */
static int parse_to_builder(const char *text, size_t len, struct directory_builder **ret, char *err,
                            size_t errlen)
{
	struct loader l = {.err = err, .errlen = errlen};
	const char *nul = memchr(text, '\0', len);
	int r;
	*ret = NULL;
	if (len > DIRECTORY_FILE_MAX_BYTES)
		return fail(err, errlen, -E2BIG, "%zu bytes, at most %u (16 MiB)", len,
		            DIRECTORY_FILE_MAX_BYTES);
	if (nul)
		return fail(err, errlen, -EINVAL, "contains a NUL byte at offset %zu",
		            (size_t)(nul - text));
	l.reader = json_reader_new(text, len, DIRECTORY_JSON_DEPTH);
	l.builder = directory_builder_new();
	if (!l.reader || !l.builder)
		r = fail(err, errlen, -ENOMEM, "out of memory");
	else
		r = read_document(&l);
	json_reader_free(l.reader);
	if (r < 0)
		directory_builder_free(l.builder);
	else
		*ret = l.builder;
	return r;
}

static int finish(struct directory_builder *b, struct directory **ret, char *err, size_t errlen)
{
	size_t dup[2];
	int r = directory_builder_finish(b, ret, dup);
	if (r == -EEXIST)
		r = fail(err, errlen, -EINVAL,
		         "people[%zu]: id \"%s\" appears twice (also people[%zu])", dup[1],
		         directory_builder_person(b, dup[1])->id, dup[0]);
	else if (r < 0)
		r = fail(err, errlen, r, "out of memory building the indexes");
	if (r < 0)
		directory_builder_free(b);
	return r;
}

int directory_parse(const char *text, size_t len, struct directory **ret, char *err, size_t errlen)
{
	struct directory_builder *b;
	*ret = NULL;
	int r = parse_to_builder(text, len, &b, err, errlen);
	return r < 0 ? r : finish(b, ret, err, errlen);
}

int directory_file_load(const char *path, struct directory **ret, char *err, size_t errlen)
{
	char sub[384];
	struct stat st;
	struct directory_builder *b = NULL;
	*ret = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "directory %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "directory %s: not a regular file", path);
	}
	/* Checked before reading: the bound is what keeps a wrong file (or a
	 * log written over it) from costing the daemon memory. */
	if (st.st_size > DIRECTORY_FILE_MAX_BYTES) {
		close(fd);
		return fail(
		        err, errlen, -EFBIG,
		        "directory %s: the file is %lld bytes, at most %u (16 MiB) are accepted",
		        path, (long long)st.st_size, DIRECTORY_FILE_MAX_BYTES);
	}
	size_t len = (size_t)st.st_size, got = 0;
	char *text = malloc(len + 1);
	if (!text) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "directory %s: out of memory", path);
	}
	while (got < len) {
		ssize_t n = read(fd, text + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	int r = got == len ? parse_to_builder(text, len, &b, sub, sizeof(sub)) : -EIO;
	if (got != len)
		snprintf(sub, sizeof(sub), "short read");
	free(text); /* before the indexes: the text and they never need memory at once */
	if (r == 0)
		r = finish(b, ret, sub, sizeof(sub));
	if (r < 0)
		fail(err, errlen, r, "directory %s: %s", path, sub);
	return r;
}
