/* SPDX-License-Identifier: MIT */
/*
 * schema.c: validates a JSON document against the JSON Schema subset used by
 * the config schema in plugin.json (see schema.h for the keywords), and fills
 * in the schema's defaults.
 *
 * Every violation is reported, each with a stable code, its JSON path and a
 * message saying what is wrong and what is allowed, so an admin can fix a
 * config in one round trip. Values from the input are quoted clipped, so a
 * hostile or accidental megabyte string never ends up in a log line.
 *
 * Validation is pure, as in draft-07: a "default" is an annotation and is
 * never checked; schema_fill_defaults() copies the defaults in afterwards,
 * so what is judged is what the admin wrote. minLength/maxLength count
 * characters (code points), like every standard validator and the host's
 * admin UI; C buffers are sized for 4 bytes a character where the config is
 * copied (config.h). enum and const compare by JSON equality, numbers by
 * value and exactly (int64, uint64 and double alike). The schema is walked
 * once for keywords missing from schema_keywords before validating, so a
 * typo in plugin.json shows up in the first test run rather than as a
 * silently ignored constraint.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h> /* isfinite(), a macro */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

#define SCHEMA_MAX_DEPTH   32  /* deeper input is refused, never recursed */
#define SCHEMA_PATH_MAX    256 /* longest JSON path shown; longer is cut */
#define SCHEMA_MSG_MAX     512
#define SCHEMA_CLIP        40  /* bytes of an input value quoted in a message */
#define SCHEMA_MAX_REPORTS 100 /* past this, errors are counted, not reported */

struct validator {
	porter_report_fn report;
	void *userdata;
	int errors;
	char path[SCHEMA_PATH_MAX];
	size_t path_len;
};

/* ---- Text helpers ------------------------------------------------------ */

/*
 * Copy `len` bytes of `s` into `out`, escaping quotes and control bytes and
 * clipping to SCHEMA_CLIP input bytes (never in the middle of a UTF-8
 * sequence), with "..." when clipped. `quote` wraps it in double quotes.
 */
static void clip_text(char *out, size_t out_size, const char *s, size_t len, bool quote)
{
	size_t n = len > SCHEMA_CLIP ? SCHEMA_CLIP : len;
	size_t o = 0;

	while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--; /* do not cut a multi-byte character in half */

	if (quote)
		out[o++] = '"';
	for (size_t i = 0; i < n && o + 8 < out_size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, out_size - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, out_size - o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	snprintf(out + o, out_size - o, "%s%s", n < len ? "..." : "", quote ? "\"" : "");
}

static void clip_quote(char *out, size_t out_size, const char *s, size_t len)
{
	clip_text(out, out_size, s, len, true);
}

/* A short description of a value for "got ..." in messages. */
static void describe_value(char *out, size_t out_size, json_object *val)
{
	const char *text;

	switch (json_object_get_type(val)) {
	case json_type_null:
		snprintf(out, out_size, "null");
		break;
	case json_type_object:
		snprintf(out, out_size, "an object");
		break;
	case json_type_array:
		snprintf(out, out_size, "an array");
		break;
	case json_type_string:
		clip_quote(out, out_size, json_object_get_string(val),
		           (size_t)json_object_get_string_len(val));
		break;
	default:
		/* numbers as written (json-c keeps a double's text), clipped:
		 * a number can be 100 kB of digits */
		text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
		clip_text(out, out_size, text, strlen(text), false);
		break;
	}
}

/* A schema number (bound) as text; bounds are small, written by us. */
static void format_bound(char *out, size_t out_size, json_object *bound)
{
	snprintf(out, out_size, "%s",
	         json_object_to_json_string_ext(bound, JSON_C_TO_STRING_PLAIN));
}

static bool is_identifier(const char *key)
{
	if (!(key[0] == '_' || (key[0] >= 'a' && key[0] <= 'z') ||
	      (key[0] >= 'A' && key[0] <= 'Z')))
		return false;
	for (const char *p = key; *p; p++) {
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	}
	return true;
}

/* ---- Paths ------------------------------------------------------------- */

/* Append to the current path; returns the length to restore afterwards.
 * A path too long to show is cut rather than refused. */
static size_t path_push(struct validator *v, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static size_t path_push(struct validator *v, const char *fmt, ...)
{
	size_t saved = v->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v->path + v->path_len, sizeof(v->path) - v->path_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		v->path_len += (size_t)n;
	if (v->path_len >= sizeof(v->path))
		v->path_len = sizeof(v->path) - 1;
	return saved;
}

static size_t path_push_key(struct validator *v, const char *key)
{
	char quoted[SCHEMA_CLIP * 6 + 8];

	if (is_identifier(key) && strlen(key) <= SCHEMA_CLIP)
		return path_push(v, ".%s", key);
	clip_quote(quoted, sizeof(quoted), key, strlen(key));
	return path_push(v, "[%s]", quoted);
}

static void path_pop(struct validator *v, size_t saved)
{
	v->path_len = saved;
	v->path[saved] = '\0';
}

/* ---- Reporting --------------------------------------------------------- */

static void fail(struct validator *v, const char *code, const char *fix, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void fail(struct validator *v, const char *code, const char *fix, const char *fmt, ...)
{
	char message[SCHEMA_MSG_MAX];
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = PORTER_SEVERITY_ERROR,
	        .code = code,
	        .path = v->path,
	        .message = message,
	        .fix = fix,
	};
	va_list ap;

	v->errors++;
	if (!v->report || v->errors > SCHEMA_MAX_REPORTS + 1)
		return;
	if (v->errors == SCHEMA_MAX_REPORTS + 1) {
		/* A flood helps nobody: say that more were left out, once. */
		r.code = "PORTER-CFG-TOO-MANY";
		r.path = "$";
		r.fix = "fix the errors shown and check again";
		snprintf(message, sizeof(message), "more than %d errors; the rest are not shown",
		         SCHEMA_MAX_REPORTS);
		v->report(v->userdata, &r);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	v->report(v->userdata, &r);
}

/* ---- The schema itself ------------------------------------------------- */

/* THE list (schema.h): the unknown-keyword check below and the official
 * suite's filter (tests/unit/test_schema_suite.c) both read it. */
const char *const schema_keywords[] = {
        "type",     "properties", "required",  "additionalProperties",
        "items",    "enum",       "const",     "minimum",
        "maximum",  "minLength",  "maxLength", "minItems",
        "maxItems", "$schema",    "title",     "description",
        "default",  "examples",   NULL,
};

const char *const schema_annotations[] = {
        "$schema", "title", "description", "default", "examples", NULL,
};

static bool in_list(const char *const *list, const char *key)
{
	for (size_t i = 0; list[i]; i++) {
		if (strcmp(key, list[i]) == 0)
			return true;
	}
	return false;
}

static bool known_type(const char *type)
{
	static const char *const types[] = {
	        "object", "array", "string", "integer", "number", "boolean", "null", NULL,
	};

	return type && in_list(types, type);
}

/* "type" is one type name or a non-empty array of them (draft-07 6.1.1). */
static bool type_well_formed(json_object *val)
{
	size_t n;

	if (json_object_is_type(val, json_type_string))
		return known_type(json_object_get_string(val));
	if (!json_object_is_type(val, json_type_array))
		return false;
	n = json_object_array_length(val);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(val, i);

		if (!json_object_is_type(t, json_type_string) ||
		    !known_type(json_object_get_string(t)))
			return false;
	}
	return n > 0;
}

static bool is_schema(json_object *val)
{
	return json_object_is_type(val, json_type_object) ||
	       json_object_is_type(val, json_type_boolean);
}

static void check_schema(struct validator *v, json_object *schema, int depth);

/* A subschema at property `key`, at position `index` of an items array, or
 * (key NULL, index SIZE_MAX) at every item or additional property. */
static void check_subschema(struct validator *v, json_object *sub, const char *key, size_t index,
                            int depth)
{
	size_t saved = key                 ? path_push_key(v, key)
	               : index == SIZE_MAX ? path_push(v, "[*]")
	                                   : path_push(v, "[%zu]", index);

	check_schema(v, sub, depth + 1);
	path_pop(v, saved);
}

/* Walk the schema once: an unsupported keyword would otherwise be a
 * constraint the admin UI shows but porter silently does not enforce. */
static void check_schema(struct validator *v, json_object *schema, int depth)
{
	if (json_object_is_type(schema, json_type_boolean))
		return; /* true and false are schemas too (draft-07 4.3.1) */
	if (depth > SCHEMA_MAX_DEPTH || !json_object_is_type(schema, json_type_object)) {
		fail(v, "PORTER-SCHEMA", NULL, "schema bug: not a schema, or nested too deeply");
		return;
	}
	json_object_object_foreach(schema, key, val)
	{
		if (!in_list(schema_keywords, key))
			fail(v, "PORTER-SCHEMA", NULL, "schema bug: unsupported keyword \"%.40s\"",
			     key);
		else if (strcmp(key, "type") == 0 && !type_well_formed(val))
			fail(v, "PORTER-SCHEMA", NULL, "schema bug: unsupported type");
		else if (strcmp(key, "additionalProperties") == 0 && !is_schema(val))
			fail(v, "PORTER-SCHEMA", NULL,
			     "schema bug: additionalProperties must be a schema");
		else if (strcmp(key, "properties") == 0 &&
		         json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, name, sub)
			        check_subschema(v, sub, name, 0, depth);
		} else if (strcmp(key, "additionalProperties") == 0) {
			check_subschema(v, val, NULL, SIZE_MAX, depth);
		} else if (strcmp(key, "items") == 0 && json_object_is_type(val, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(val); i++)
				check_subschema(v, json_object_array_get_idx(val, i), NULL, i,
				                depth);
		} else if (strcmp(key, "items") == 0) {
			check_subschema(v, val, NULL, SIZE_MAX, depth);
		}
	}
}

/* ---- Numbers ----------------------------------------------------------- */

/*
 * A JSON number as json-c holds it: an int64, a uint64 above INT64_MAX, or
 * a double. Comparisons are exact across the three (no rounding an int64
 * to a double), so 9007199254740993 is above 9007199254740992.0.
 */
struct number {
	enum { NUM_INT, NUM_UINT, NUM_DOUBLE } kind;
	int64_t i;
	uint64_t u;
	double d;
};

static struct number number_of(json_object *val)
{
	struct number n = {.kind = NUM_INT};

	if (json_object_is_type(val, json_type_double)) {
		n.kind = NUM_DOUBLE;
		n.d = json_object_get_double(val);
		return n;
	}
	n.i = json_object_get_int64(val);
	if (n.i == INT64_MAX && json_object_get_uint64(val) > (uint64_t)INT64_MAX) {
		n.kind = NUM_UINT;
		n.u = json_object_get_uint64(val);
	}
	return n;
}

/*
 * json-c saturates integer literals beyond its range to INT64_MIN or
 * UINT64_MAX, and decimals beyond a double to infinity: such a value is not
 * the one the admin wrote, so it cannot be compared honestly. porter
 * refuses it (PORTER-CFG-NUMBER) instead of judging a different number.
 */
static bool number_representable(json_object *val)
{
	struct number n = number_of(val);

	if (n.kind == NUM_DOUBLE)
		return isfinite(n.d);
	if (n.kind == NUM_UINT)
		return n.u != UINT64_MAX;
	return n.i != INT64_MIN;
}

static int sign(double d)
{
	return (d > 0) - (d < 0);
}

/* int64 vs a finite double: the double's integer part is exact below 2^63,
 * and the part after it decides a tie. */
static int cmp_int_double(int64_t i, double d)
{
	int64_t t;

	if (d >= 0x1p63)
		return -1;
	if (d < -0x1p63)
		return 1;
	t = (int64_t)d; /* toward zero, |d - t| < 1 */
	if (i != t)
		return i < t ? -1 : 1;
	return -sign(d - (double)t);
}

static int cmp_uint_double(uint64_t u, double d)
{
	uint64_t t;

	if (d >= 0x1p64)
		return -1;
	if (d < 0x1p63)
		return 1; /* u is above INT64_MAX */
	t = (uint64_t)d;  /* doubles this large are whole */
	return (u > t) - (u < t);
}

static int number_cmp(struct number a, struct number b)
{
	if (a.kind == NUM_DOUBLE && b.kind == NUM_DOUBLE)
		return (a.d > b.d) - (a.d < b.d);
	if (a.kind == NUM_DOUBLE)
		return -number_cmp(b, a);
	if (b.kind == NUM_DOUBLE)
		return a.kind == NUM_INT ? cmp_int_double(a.i, b.d) : cmp_uint_double(a.u, b.d);
	if (a.kind == NUM_UINT && b.kind == NUM_UINT)
		return (a.u > b.u) - (a.u < b.u);
	if (a.kind == NUM_UINT)
		return 1;
	if (b.kind == NUM_UINT)
		return -1;
	return (a.i > b.i) - (a.i < b.i);
}

static bool is_number(json_object *val)
{
	return json_object_is_type(val, json_type_int) ||
	       json_object_is_type(val, json_type_double);
}

/* JSON equality (draft-07 4.2.2): numbers by value (1.0 equals 1), strings
 * byte for byte including NUL, objects and arrays deeply. */
static bool json_equal(json_object *a, json_object *b)
{
	size_t n;

	if (is_number(a) && is_number(b))
		return number_cmp(number_of(a), number_of(b)) == 0;
	if (json_object_get_type(a) != json_object_get_type(b))
		return false;
	switch (json_object_get_type(a)) {
	case json_type_null:
		return true;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) == json_object_get_string_len(b) &&
		       memcmp(json_object_get_string(a), json_object_get_string(b),
		              (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array:
		n = json_object_array_length(a);
		if (n != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < n; i++) {
			if (!json_equal(json_object_array_get_idx(a, i),
			                json_object_array_get_idx(b, i)))
				return false;
		}
		return true;
	case json_type_object: {
		json_object *other;

		if (json_object_object_length(a) != json_object_object_length(b))
			return false;
		json_object_object_foreach(a, key, val)
		{
			if (!json_object_object_get_ex(b, key, &other) || !json_equal(val, other))
				return false;
		}
		return true;
	}
	default:
		return false;
	}
}

/* ---- Validation -------------------------------------------------------- */

static void validate(struct validator *v, json_object *schema, json_object *inst, int depth);

static json_object *schema_get(json_object *schema, const char *key)
{
	json_object *val;

	return json_object_object_get_ex(schema, key, &val) ? val : NULL;
}

/* draft-07 counts 5.0 as an integer; json-c parses it as a double.
 * (No floor(): porter does not link libm for this one test.) */
static bool is_integral(json_object *inst)
{
	double d;

	if (json_object_is_type(inst, json_type_int))
		return true;
	if (!json_object_is_type(inst, json_type_double))
		return false;
	d = json_object_get_double(inst);
	if (!isfinite(d))
		return false;
	if (d >= 0x1p53 || d <= -0x1p53)
		return true; /* doubles this large have no fraction bits left */
	return (double)(int64_t)d == d;
}

static bool type_matches(const char *type, json_object *inst)
{
	enum json_type t = json_object_get_type(inst);

	if (strcmp(type, "object") == 0)
		return t == json_type_object;
	if (strcmp(type, "array") == 0)
		return t == json_type_array;
	if (strcmp(type, "string") == 0)
		return t == json_type_string;
	if (strcmp(type, "boolean") == 0)
		return t == json_type_boolean;
	if (strcmp(type, "null") == 0)
		return t == json_type_null;
	if (strcmp(type, "integer") == 0)
		return is_integral(inst);
	if (strcmp(type, "number") == 0)
		return t == json_type_int || t == json_type_double;
	return false;
}

static const char *type_phrase(const char *type)
{
	if (strcmp(type, "object") == 0)
		return "an object";
	if (strcmp(type, "array") == 0)
		return "an array";
	if (strcmp(type, "string") == 0)
		return "a string";
	if (strcmp(type, "boolean") == 0)
		return "true or false";
	if (strcmp(type, "null") == 0)
		return "null";
	if (strcmp(type, "integer") == 0)
		return "a whole number";
	if (strcmp(type, "number") == 0)
		return "a number";
	return type;
}

static bool check_type(struct validator *v, json_object *schema, json_object *inst)
{
	json_object *type = schema_get(schema, "type");
	char want[SCHEMA_MSG_MAX / 2] = "", got[SCHEMA_CLIP * 6 + 16];
	size_t n, len = 0;

	if (!type)
		return true;
	if (json_object_is_type(type, json_type_string)) {
		if (type_matches(json_object_get_string(type), inst))
			return true;
		snprintf(want, sizeof(want), "%s", type_phrase(json_object_get_string(type)));
	} else {
		n = json_object_array_length(type);
		for (size_t i = 0; i < n; i++) {
			if (type_matches(json_object_get_string(json_object_array_get_idx(type, i)),
			                 inst))
				return true;
		}
		for (size_t i = 0; i < n && len < sizeof(want); i++) {
			const char *t = json_object_get_string(json_object_array_get_idx(type, i));

			len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s",
			                        i == 0 ? "" : (i + 1 == n ? " or " : ", "),
			                        type_phrase(t));
		}
	}
	describe_value(got, sizeof(got), inst);
	fail(v, "PORTER-CFG-TYPE", NULL, "must be %s; got %s", want, got);
	return false;
}

static void check_enum(struct validator *v, json_object *schema, json_object *inst)
{
	json_object *values = schema_get(schema, "enum");
	char allowed[SCHEMA_MSG_MAX / 2] = "";
	char got[SCHEMA_CLIP * 6 + 16];
	size_t len = 0, n;

	if (!values || !json_object_is_type(values, json_type_array))
		return;
	n = json_object_array_length(values);
	for (size_t i = 0; i < n; i++) {
		if (json_equal(json_object_array_get_idx(values, i), inst))
			return;
	}
	for (size_t i = 0; i < n && len < sizeof(allowed); i++) {
		json_object *e = json_object_array_get_idx(values, i);

		len += (size_t)snprintf(allowed + len, sizeof(allowed) - len, "%s%s", i ? ", " : "",
		                        json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
	}
	describe_value(got, sizeof(got), inst);
	fail(v, "PORTER-CFG-ENUM", NULL, "must be one of %s; got %s", allowed, got);
}

static void check_const(struct validator *v, json_object *schema, json_object *inst)
{
	json_object *value;
	char want[SCHEMA_CLIP * 6 + 16], got[SCHEMA_CLIP * 6 + 16];

	if (!json_object_object_get_ex(schema, "const", &value) || json_equal(value, inst))
		return;
	describe_value(want, sizeof(want), value);
	describe_value(got, sizeof(got), inst);
	fail(v, "PORTER-CFG-CONST", NULL, "must be %s; got %s", want, got);
}

/* minimum/maximum, compared exactly (number_cmp). No width is implied: an
 * integer without bounds may be anything porter can represent. */
static void check_range(struct validator *v, json_object *schema, json_object *inst)
{
	json_object *min = schema_get(schema, "minimum");
	json_object *max = schema_get(schema, "maximum");
	struct number n = number_of(inst);
	char lo[64] = "", hi[64] = "", got[SCHEMA_CLIP * 6 + 16];
	bool low, high;

	min = min && is_number(min) ? min : NULL;
	max = max && is_number(max) ? max : NULL;
	low = min && number_cmp(n, number_of(min)) < 0;
	high = max && number_cmp(n, number_of(max)) > 0;
	if (!low && !high)
		return;
	if (min)
		format_bound(lo, sizeof(lo), min);
	if (max)
		format_bound(hi, sizeof(hi), max);
	describe_value(got, sizeof(got), inst);
	if (min && max)
		fail(v, "PORTER-CFG-RANGE", NULL, "must be between %s and %s; got %s", lo, hi, got);
	else if (min)
		fail(v, "PORTER-CFG-RANGE", NULL, "must be at least %s; got %s", lo, got);
	else
		fail(v, "PORTER-CFG-RANGE", NULL, "must be at most %s; got %s", hi, got);
}

/* A bound of minLength and friends: a non-negative integer (2.0 counts). */
static uint64_t size_bound(json_object *bound, uint64_t none)
{
	double d;

	if (!bound || !is_number(bound))
		return none;
	if (json_object_is_type(bound, json_type_int))
		return json_object_get_int64(bound) < 0 ? 0 : json_object_get_uint64(bound);
	d = json_object_get_double(bound);
	return d <= 0 ? 0 : (d >= 0x1p64 ? UINT64_MAX : (uint64_t)d);
}

/* Shared by minLength/maxLength (characters) and minItems/maxItems. */
static void check_size(struct validator *v, json_object *schema, const char *min_key,
                       const char *max_key, size_t size, const char *unit)
{
	json_object *min = schema_get(schema, min_key);
	json_object *max = schema_get(schema, max_key);
	uint64_t lo = size_bound(min, 0);
	uint64_t hi = size_bound(max, UINT64_MAX);

	if ((uint64_t)size >= lo && (uint64_t)size <= hi)
		return;
	if (min && max)
		fail(v, "PORTER-CFG-LENGTH", NULL,
		     "must have %" PRIu64 " to %" PRIu64 " %s; got %zu", lo, hi, unit, size);
	else if (min)
		fail(v, "PORTER-CFG-LENGTH", NULL, "must have at least %" PRIu64 " %s; got %zu", lo,
		     unit, size);
	else
		fail(v, "PORTER-CFG-LENGTH", NULL, "must have at most %" PRIu64 " %s; got %zu", hi,
		     unit, size);
}

/* JSON Schema lengths count code points (draft-07 6.3.1). Strings reach
 * the validator as valid UTF-8, so a code point is a byte that does not
 * continue a sequence. */
static size_t code_points(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static void check_required(struct validator *v, json_object *schema, json_object *inst)
{
	json_object *required = schema_get(schema, "required");
	size_t n;

	if (!required || !json_object_is_type(required, json_type_array))
		return;
	n = json_object_array_length(required);
	for (size_t i = 0; i < n; i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(required, i));
		size_t saved;

		if (!name || json_object_object_get_ex(inst, name, NULL))
			continue;
		saved = path_push_key(v, name);
		fail(v, "PORTER-CFG-REQUIRED", "add it", "is required but missing");
		path_pop(v, saved);
	}
}

static void report_unknown(struct validator *v, json_object *props, const char *key)
{
	char allowed[SCHEMA_MSG_MAX / 2] = "";
	char quoted[SCHEMA_CLIP * 6 + 8];
	size_t len = 0, saved;

	if (props) {
		json_object_object_foreach(props, name, sub)
		{
			(void)sub;
			/* Whole names only; room is kept for ", ..." when they
			 * do not all fit. */
			if (len + strlen(name) + 4 + 5 >= sizeof(allowed)) {
				snprintf(allowed + len, sizeof(allowed) - len, ", ...");
				break;
			}
			len += (size_t)snprintf(allowed + len, sizeof(allowed) - len, "%s\"%s\"",
			                        len ? ", " : "", name);
		}
	}
	clip_quote(quoted, sizeof(quoted), key, strlen(key));
	saved = path_push_key(v, key);
	fail(v, "PORTER-CFG-UNKNOWN", "remove it, or correct its spelling",
	     "unknown property %s; allowed here: %s", quoted, len ? allowed : "none");
	path_pop(v, saved);
}

static void validate_object(struct validator *v, json_object *schema, json_object *inst, int depth)
{
	json_object *props = schema_get(schema, "properties");
	json_object *extra = schema_get(schema, "additionalProperties");

	if (props && !json_object_is_type(props, json_type_object))
		props = NULL;
	check_required(v, schema, inst);
	json_object_object_foreach(inst, key, val)
	{
		json_object *sub;
		size_t saved;

		if (props && json_object_object_get_ex(props, key, &sub)) {
			saved = path_push_key(v, key);
			validate(v, sub, val, depth + 1);
			path_pop(v, saved);
		} else if (extra && json_object_is_type(extra, json_type_boolean) &&
		           !json_object_get_boolean(extra)) {
			/* the admin's likeliest mistake: a misspelt name */
			report_unknown(v, props, key);
		} else if (extra) {
			saved = path_push_key(v, key);
			validate(v, extra, val, depth + 1);
			path_pop(v, saved);
		}
	}
}

static void validate_array(struct validator *v, json_object *schema, json_object *inst, int depth)
{
	json_object *items = schema_get(schema, "items");
	size_t n = json_object_array_length(inst);
	bool tuple = items && json_object_is_type(items, json_type_array);

	check_size(v, schema, "minItems", "maxItems", n, "items");
	if (!items)
		return;
	/* "items" as an array judges position by position; items past its
	 * end are free (additionalItems is not supported, so it is absent) */
	if (tuple && json_object_array_length(items) < n)
		n = json_object_array_length(items);
	for (size_t i = 0; i < n; i++) {
		size_t saved = path_push(v, "[%zu]", i);

		validate(v, tuple ? json_object_array_get_idx(items, i) : items,
		         json_object_array_get_idx(inst, i), depth + 1);
		path_pop(v, saved);
	}
}

static void validate(struct validator *v, json_object *schema, json_object *inst, int depth)
{
	if (depth > SCHEMA_MAX_DEPTH) {
		fail(v, "PORTER-CFG-DEPTH", NULL, "nested more than %d levels deep",
		     SCHEMA_MAX_DEPTH);
		return;
	}
	if (json_object_is_type(schema, json_type_boolean)) {
		if (!json_object_get_boolean(schema))
			fail(v, "PORTER-CFG-FALSE", "remove it", "no value is allowed here");
		return;
	}
	if (is_number(inst) && !number_representable(inst)) {
		fail(v, "PORTER-CFG-NUMBER", "write a smaller number",
		     "number too large for porter to compare exactly (whole numbers from "
		     "-9223372036854775807 to 18446744073709551614, decimals within a double)");
		return;
	}
	if (!check_type(v, schema, inst))
		return; /* every further check would only repeat the type error */
	check_enum(v, schema, inst);
	check_const(v, schema, inst);
	switch (json_object_get_type(inst)) {
	case json_type_object:
		validate_object(v, schema, inst, depth);
		break;
	case json_type_array:
		validate_array(v, schema, inst, depth);
		break;
	case json_type_string:
		check_size(v, schema, "minLength", "maxLength",
		           code_points(json_object_get_string(inst),
		                       (size_t)json_object_get_string_len(inst)),
		           "characters");
		break;
	case json_type_int:
	case json_type_double:
		check_range(v, schema, inst);
		break;
	default:
		break;
	}
}

int schema_validate(json_object *schema, json_object *instance, porter_report_fn report,
                    void *userdata)
{
	struct validator v = {.report = report, .userdata = userdata, .path = "$", .path_len = 1};

	check_schema(&v, schema, 0);
	if (v.errors > 0)
		return v.errors; /* a broken schema cannot judge a config */
	validate(&v, schema, instance, 0);
	return v.errors;
}

/* ---- Defaults ---------------------------------------------------------- */

static int fill(json_object *schema, json_object *inst, int depth)
{
	json_object *props = schema_get(schema, "properties");
	json_object *items = schema_get(schema, "items");
	int r;

	if (depth > SCHEMA_MAX_DEPTH || !json_object_is_type(schema, json_type_object))
		return 0;
	if (json_object_is_type(inst, json_type_array) && items &&
	    json_object_is_type(items, json_type_object)) {
		for (size_t i = 0; i < json_object_array_length(inst); i++) {
			r = fill(items, json_object_array_get_idx(inst, i), depth + 1);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (!json_object_is_type(inst, json_type_object) || !props ||
	    !json_object_is_type(props, json_type_object))
		return 0;
	json_object_object_foreach(props, name, sub)
	{
		json_object *child, *def = NULL;

		if (!json_object_object_get_ex(inst, name, &child)) {
			if (!json_object_is_type(sub, json_type_object) ||
			    !json_object_object_get_ex(sub, "default", &def))
				continue;
			if (!def) /* "default": null (json-c's NULL): leave it out, as null */
				continue;
			child = NULL;
			if (json_object_deep_copy(def, &child, NULL) != 0 || !child)
				return -ENOMEM;
			if (json_object_object_add(inst, name, child) != 0) {
				json_object_put(child);
				return -ENOMEM;
			}
		}
		/* a filled-in {} gets its own properties' defaults too */
		r = fill(sub, child, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int schema_fill_defaults(json_object *schema, json_object *instance)
{
	return fill(schema, instance, 0);
}
