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
 * Lengths (minLength/maxLength) count bytes, not characters: they guard C
 * buffers. The schema is walked once for unknown keywords before validating,
 * so a typo in plugin.json shows up in the first test run rather than as a
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

static bool known_keyword(const char *key)
{
	static const char *const keywords[] = {
	        "type",      "properties",  "required", "additionalProperties",
	        "items",     "enum",        "minimum",  "maximum",
	        "minLength", "maxLength",   "minItems", "maxItems",
	        "default",   "description", "title",    "$schema",
	        "examples",
	};

	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcmp(key, keywords[i]) == 0)
			return true;
	}
	return false;
}

static bool known_type(const char *type)
{
	static const char *const types[] = {
	        "object", "array", "string", "integer", "number", "boolean",
	};

	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(type, types[i]) == 0)
			return true;
	}
	return false;
}

/* Walk the schema once: an unsupported keyword would otherwise be a
 * constraint the admin UI shows but porter silently does not enforce. */
static void check_schema(struct validator *v, json_object *schema, int depth)
{
	json_object *props, *items;

	if (depth > SCHEMA_MAX_DEPTH || !json_object_is_type(schema, json_type_object)) {
		fail(v, "PORTER-SCHEMA", NULL, "schema bug: not an object, or nested too deeply");
		return;
	}
	json_object_object_foreach(schema, key, val)
	{
		if (!known_keyword(key))
			fail(v, "PORTER-SCHEMA", NULL, "schema bug: unsupported keyword \"%.40s\"",
			     key);
		else if (strcmp(key, "type") == 0 && !known_type(json_object_get_string(val)))
			fail(v, "PORTER-SCHEMA", NULL, "schema bug: unsupported type");
		else if (strcmp(key, "additionalProperties") == 0 &&
		         !json_object_is_type(val, json_type_boolean))
			fail(v, "PORTER-SCHEMA", NULL,
			     "schema bug: additionalProperties must be false");
	}
	if (json_object_object_get_ex(schema, "properties", &props) &&
	    json_object_is_type(props, json_type_object)) {
		json_object_object_foreach(props, name, sub)
		{
			size_t saved = path_push_key(v, name);

			check_schema(v, sub, depth + 1);
			path_pop(v, saved);
		}
	}
	if (json_object_object_get_ex(schema, "items", &items)) {
		size_t saved = path_push(v, "[*]");

		check_schema(v, items, depth + 1);
		path_pop(v, saved);
	}
}

/* ---- Validation -------------------------------------------------------- */

static void validate(struct validator *v, json_object *schema, json_object *inst, int depth);

static const char *schema_string(json_object *schema, const char *key)
{
	json_object *val;

	if (!json_object_object_get_ex(schema, key, &val) ||
	    !json_object_is_type(val, json_type_string))
		return NULL;
	return json_object_get_string(val);
}

static json_object *schema_get(json_object *schema, const char *key)
{
	json_object *val;

	return json_object_object_get_ex(schema, key, &val) ? val : NULL;
}

/* JSON Schema counts 5.0 as an integer; json-c parses it as a double.
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
	if (strcmp(type, "integer") == 0)
		return "a whole number";
	if (strcmp(type, "number") == 0)
		return "a number";
	return type;
}

static bool check_type(struct validator *v, json_object *schema, json_object *inst)
{
	const char *type = schema_string(schema, "type");
	char got[SCHEMA_CLIP * 6 + 16];

	if (!type || type_matches(type, inst))
		return true;
	describe_value(got, sizeof(got), inst);
	fail(v, "PORTER-CFG-TYPE", NULL, "must be %s; got %s", type_phrase(type), got);
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
		if (json_object_equal(json_object_array_get_idx(values, i), inst))
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

/* minimum/maximum; integers must also fit the config's 32-bit fields. The
 * message gives the schema's bounds when it has them: those are what the
 * admin needs, not the width of a C integer. */
static void check_range(struct validator *v, json_object *schema, json_object *inst)
{
	json_object *min = schema_get(schema, "minimum");
	json_object *max = schema_get(schema, "maximum");
	const char *type = schema_string(schema, "type");
	double d = json_object_get_double(inst);
	char lo[64], hi[64], got[SCHEMA_CLIP * 6 + 16];
	bool integer = type && strcmp(type, "integer") == 0;
	bool low = (min && d < json_object_get_double(min)) || (integer && d < INT32_MIN);
	bool high = (max && d > json_object_get_double(max)) || (integer && d > INT32_MAX);

	if (!low && !high)
		return;
	if (min)
		format_bound(lo, sizeof(lo), min);
	else
		snprintf(lo, sizeof(lo), "%" PRId32, INT32_MIN);
	if (max)
		format_bound(hi, sizeof(hi), max);
	else
		snprintf(hi, sizeof(hi), "%" PRId32, INT32_MAX);
	describe_value(got, sizeof(got), inst);
	if (min && !max && !integer)
		fail(v, "PORTER-CFG-RANGE", NULL, "must be at least %s; got %s", lo, got);
	else if (max && !min && !integer)
		fail(v, "PORTER-CFG-RANGE", NULL, "must be at most %s; got %s", hi, got);
	else
		fail(v, "PORTER-CFG-RANGE", NULL, "must be between %s and %s; got %s", lo, hi, got);
}

/* Shared by minLength/maxLength (bytes) and minItems/maxItems (items). */
static void check_size(struct validator *v, json_object *schema, const char *min_key,
                       const char *max_key, size_t size, const char *unit)
{
	json_object *min = schema_get(schema, min_key);
	json_object *max = schema_get(schema, max_key);
	int64_t lo = min ? json_object_get_int64(min) : 0;
	int64_t hi = max ? json_object_get_int64(max) : INT64_MAX;

	if ((int64_t)size >= lo && (uint64_t)size <= (uint64_t)hi)
		return;
	if (min && max)
		fail(v, "PORTER-CFG-LENGTH", NULL, "must have %lld to %lld %s; got %zu",
		     (long long)lo, (long long)hi, unit, size);
	else if (min)
		fail(v, "PORTER-CFG-LENGTH", NULL, "must have at least %lld %s; got %zu",
		     (long long)lo, unit, size);
	else
		fail(v, "PORTER-CFG-LENGTH", NULL, "must have at most %lld %s; got %zu",
		     (long long)hi, unit, size);
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

/* A missing property with a "default" gets a copy of it, which is then
 * validated like input so that its own nested defaults are filled too. */
static void insert_default(struct validator *v, json_object *inst, const char *name,
                           json_object *sub, int depth)
{
	json_object *def = schema_get(sub, "default");
	json_object *copy = NULL;

	if (!def)
		return;
	if (json_object_deep_copy(def, &copy, NULL) != 0 || !copy) {
		fail(v, "PORTER-CFG-NOMEM", NULL, "out of memory filling in the default");
		return;
	}
	if (json_object_object_add(inst, name, copy) != 0) {
		json_object_put(copy);
		fail(v, "PORTER-CFG-NOMEM", NULL, "out of memory filling in the default");
		return;
	}
	validate(v, sub, copy, depth + 1);
}

static void validate_object(struct validator *v, json_object *schema, json_object *inst, int depth)
{
	json_object *props = schema_get(schema, "properties");
	json_object *extra = schema_get(schema, "additionalProperties");
	bool closed = extra && json_object_is_type(extra, json_type_boolean) &&
	              !json_object_get_boolean(extra);

	if (props && !json_object_is_type(props, json_type_object))
		props = NULL;
	check_required(v, schema, inst);
	if (closed) {
		json_object_object_foreach(inst, key, val)
		{
			(void)val;
			if (!props || !json_object_object_get_ex(props, key, NULL))
				report_unknown(v, props, key);
		}
	}
	if (!props)
		return;
	json_object_object_foreach(props, name, sub)
	{
		json_object *child;
		size_t saved = path_push_key(v, name);

		if (json_object_object_get_ex(inst, name, &child))
			validate(v, sub, child, depth + 1);
		else
			insert_default(v, inst, name, sub, depth);
		path_pop(v, saved);
	}
}

static void validate_array(struct validator *v, json_object *schema, json_object *inst, int depth)
{
	json_object *items = schema_get(schema, "items");
	size_t n = json_object_array_length(inst);

	check_size(v, schema, "minItems", "maxItems", n, "items");
	if (!items)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t saved = path_push(v, "[%zu]", i);

		validate(v, items, json_object_array_get_idx(inst, i), depth + 1);
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
	if (!check_type(v, schema, inst))
		return; /* every further check would only repeat the type error */
	check_enum(v, schema, inst);
	switch (json_object_get_type(inst)) {
	case json_type_object:
		validate_object(v, schema, inst, depth);
		break;
	case json_type_array:
		validate_array(v, schema, inst, depth);
		break;
	case json_type_string:
		check_size(v, schema, "minLength", "maxLength",
		           (size_t)json_object_get_string_len(inst), "bytes");
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
