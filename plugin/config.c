/* SPDX-License-Identifier: MIT */
/*
 * config.c: turns the host's config JSON into a validated struct config.
 *
 * The order matters for the admin: text-level problems (size, NUL bytes,
 * JSON syntax) stop early because nothing after them can be trusted; past
 * that, schema errors and semantic errors are all reported in one pass, and
 * the setup diagnostics (warnings) run on a config that is otherwise valid.
 *
 * File paths must be absolute: porter runs inside the host daemon, whose
 * working directory (often "/" under systemd) is not the admin's, so a
 * relative path would silently point somewhere else.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "config.h"
#include "diagnostics.h"
#include "feedback_text.h"
#include "json_strict.h"
#include "schema.h"

#define CONFIG_MSG_MAX    512
#define CONFIG_JSON_DEPTH 32 /* json-c's own nesting limit, stated here */

struct reporter {
	porter_report_fn report;
	void *userdata;
	int errors;
};

static void cfg_error(struct reporter *rep, const char *code, const char *path, const char *fix,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void cfg_error(struct reporter *rep, const char *code, const char *path, const char *fix,
                      const char *fmt, ...)
{
	char message[CONFIG_MSG_MAX];
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = PORTER_SEVERITY_ERROR,
	        .code = code,
	        .path = path,
	        .message = message,
	        .fix = fix,
	};
	va_list ap;

	rep->errors++;
	if (!rep->report)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	rep->report(rep->userdata, &r);
}

/* ---- Text -------------------------------------------------------------- */

/* Admins edit config files in text editors: say where, not just how far. */
static void line_column(const char *text, size_t offset, size_t *ret_line, size_t *ret_col)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < offset; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}

static void syntax_error(struct reporter *rep, const char *text, size_t offset, const char *what)
{
	size_t line, col;

	line_column(text, offset, &line, &col);
	cfg_error(rep, "PORTER-CFG-SYNTAX", "$", "correct the JSON text at that position",
	          "invalid JSON at byte %zu (line %zu, column %zu): %s", offset, line, col, what);
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Checks that need the raw bytes. Shortens *len by one trailing NUL: a
 * host passing a C string with its terminator means no harm. */
static int check_text(struct reporter *rep, const char *text, size_t *len)
{
	const char *nul;
	size_t i;

	if (*len > CONFIG_MAX_TEXT) {
		cfg_error(rep, "PORTER-CFG-SIZE", "$", "remove unused entries",
		          "config text is %zu bytes; at most %d are accepted", *len,
		          CONFIG_MAX_TEXT);
		return -E2BIG;
	}
	if (*len > 0 && text[*len - 1] == '\0')
		(*len)--;
	nul = memchr(text, '\0', *len);
	if (nul) {
		syntax_error(rep, text, (size_t)(nul - text),
		             "NUL byte inside the text; config must be UTF-8 JSON text");
		return -EINVAL;
	}
	for (i = 0; i < *len && is_json_space(text[i]); i++)
		;
	if (i == *len) {
		cfg_error(rep, "PORTER-CFG-SYNTAX", "$", "give at least {\"local\": {...}}",
		          "config is empty; expected a JSON object");
		return -EINVAL;
	}
	return 0;
}

/* Feeds the text, then a space: a bare number is only complete once
 * something follows it, and the space says the text ends there. */
static json_object *tokenize(struct reporter *rep, struct json_tokener *tok, const char *text,
                             size_t len)
{
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	size_t end = json_tokener_get_parse_end(tok);

	if (!root && json_tokener_get_error(tok) == json_tokener_continue) {
		root = json_tokener_parse_ex(tok, " ", 1);
		end = len;
		if (!root && json_tokener_get_error(tok) == json_tokener_continue) {
			syntax_error(rep, text, len,
			             "the text ends in the middle of the "
			             "document (truncated?)");
			return NULL;
		}
	}
	if (!root) {
		syntax_error(rep, text, end, json_tokener_error_desc(json_tokener_get_error(tok)));
		return NULL;
	}
	while (end < len && is_json_space(text[end]))
		end++;
	if (end < len) {
		json_object_put(root);
		syntax_error(rep, text, end, "unexpected text after the end of the JSON document");
		return NULL;
	}
	return root;
}

/* The strict reader first: it refuses everything RFC 8259 refuses and
 * json-c lets through (a key twice in one object, "1.", single quotes,
 * invalid UTF-8, ...) plus porter's rules on valid JSON (json_strict.h), and
 * names the JSON path of each. json-c then builds the tree from text already
 * known to be good. */
static int strict_check(struct reporter *rep, const char *text, size_t len)
{
	struct json_error e;
	int r = json_strict_check(text, len, CONFIG_JSON_DEPTH, &e);

	if (r == 0)
		return 0;
	switch (e.kind) {
	case JSON_ERROR_NOMEM:
		cfg_error(rep, "PORTER-CFG-NOMEM", "$", NULL, "out of memory reading the config");
		return -ENOMEM;
	case JSON_ERROR_DUPLICATE: {
		char line[sizeof(e.path) + sizeof(e.message) + 64];
		json_error_format(&e, line, sizeof(line));
		cfg_error(rep, "PORTER-CFG-DUPLICATE", e.path,
		          "keep one of them: porter does not guess which one you meant", "%s",
		          line);
		break;
	}
	case JSON_ERROR_RULE:
		cfg_error(rep, "PORTER-CFG-TEXT-RULE", e.path,
		          "write the value another way (README, Configuration)",
		          "refused at byte %zu (line %zu, column %zu): %s", e.offset, e.line,
		          e.column, e.message);
		break;
	default:
		cfg_error(
		        rep, "PORTER-CFG-SYNTAX", e.path, "correct the JSON text at that position",
		        "invalid JSON at byte %zu (line %zu, column %zu): %s%s", e.offset, e.line,
		        e.column, e.message, e.kind == JSON_ERROR_TRUNCATED ? " (truncated?)" : "");
		break;
	}
	return -EINVAL;
}

/* NULL with *ret_error -EINVAL or -ENOMEM when the text is refused. */
static json_object *parse_text(struct reporter *rep, const char *text, size_t len, int *ret_error)
{
	struct json_tokener *tok;
	json_object *root;

	*ret_error = strict_check(rep, text, len);
	if (*ret_error < 0)
		return NULL;
	tok = json_tokener_new_ex(CONFIG_JSON_DEPTH);
	if (!tok) {
		cfg_error(rep, "PORTER-CFG-NOMEM", "$", NULL, "out of memory parsing the config");
		*ret_error = -ENOMEM;
		return NULL;
	}
	/* Trailing text is checked by tokenize() to give it its own message. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
	                                    JSON_TOKENER_VALIDATE_UTF8);
	root = tokenize(rep, tok, text, len);
	json_tokener_free(tok);
	*ret_error = root ? 0 : -EINVAL;
	return root;
}

/* The manifest is embedded at build time, so failing here is a build bug;
 * it is still reported rather than trusted. Returns the manifest to put. */
static json_object *load_schema(struct reporter *rep, json_object **ret_schema)
{
	json_object *manifest = json_tokener_parse(porter_manifest_json);

	if (!manifest || !json_object_object_get_ex(manifest, "config_schema", ret_schema) ||
	    !json_object_is_type(*ret_schema, json_type_object)) {
		json_object_put(manifest);
		cfg_error(rep, "PORTER-SCHEMA", "$", NULL,
		          "internal error: the embedded plugin.json has no usable config_schema");
		return NULL;
	}
	return manifest;
}

/* ---- JSON access ------------------------------------------------------- */

/* The value at a dotted path ("keypad.pin_min_length"), or NULL. */
static json_object *lookup(json_object *obj, const char *dotted)
{
	char key[64];

	while (obj && *dotted) {
		size_t n = strcspn(dotted, ".");

		if (n >= sizeof(key) || !json_object_is_type(obj, json_type_object))
			return NULL;
		memcpy(key, dotted, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(obj, key, &obj))
			return NULL;
		dotted += n + (dotted[n] == '.');
	}
	return obj;
}

/* Values the schema refused (not whole, beyond 32 bits) are not compared:
 * a second error about the same value would only be noise. */
static bool integer_at(json_object *root, const char *dotted, int64_t *ret)
{
	json_object *val = lookup(root, dotted);
	double d;

	if (!json_object_is_type(val, json_type_int) && !json_object_is_type(val, json_type_double))
		return false;
	d = json_object_get_double(val);
	if (!(d >= INT32_MIN && d <= INT32_MAX) || (double)(int64_t)d != d)
		return false;
	*ret = (int64_t)d;
	return true;
}

/* ---- Semantic rules (what a schema cannot say) ------------------------- */

/* Only well-typed values are compared: a type error is already reported. */
static void check_not_greater(struct reporter *rep, json_object *root, const char *low_key,
                              const char *high_key, const char *path)
{
	int64_t low, high;

	if (!integer_at(root, low_key, &low) || !integer_at(root, high_key, &high) || low <= high)
		return;
	cfg_error(rep, "PORTER-CFG-MIN-MAX", path, "lower the first or raise the second",
	          "%s (%lld) must not be greater than %s (%lld)", low_key, (long long)low, high_key,
	          (long long)high);
}

static bool has_control_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	}
	return false;
}

static void check_path(struct reporter *rep, json_object *root, const char *dotted,
                       const char *path)
{
	json_object *val = lookup(root, dotted);
	const char *s;
	size_t len;

	if (!json_object_is_type(val, json_type_string))
		return;
	s = json_object_get_string(val);
	len = (size_t)json_object_get_string_len(val);
	if (len == 0)
		return; /* minLength reports it */
	if (has_control_chars(s, len))
		cfg_error(rep, "PORTER-CFG-PATH", path, "remove the control characters",
		          "must not contain control characters (such as \\u0000 or a newline)");
	else if (s[0] != '/')
		cfg_error(rep, "PORTER-CFG-PATH", path, "write the full path, starting with \"/\"",
		          "must be an absolute path: porter runs in the host daemon, whose "
		          "working directory is not the admin's");
	else if (len >= CONFIG_PATH_MAX)
		/* maxLength counts characters (1023); the file system counts
		 * bytes, so this is porter's own rule, not maxLength's. */
		cfg_error(rep, "PORTER-CFG-BYTES", path, "use a shorter path",
		          "is %zu bytes long; a path may have at most %d bytes (UTF-8)", len,
		          CONFIG_PATH_MAX - 1);
}

/* Each visitor_pass.public_keys entry is a path like the others. */
static void check_pass_key_paths(struct reporter *rep, json_object *root)
{
	json_object *keys = lookup(root, "visitor_pass.public_keys");
	size_t n = json_object_is_type(keys, json_type_array) ? json_object_array_length(keys) : 0;
	for (size_t i = 0; i < n && i < 2; i++) {
		json_object *holder = json_object_new_object();
		char path[64];
		if (!holder)
			return;
		json_object_object_add(holder, "p",
		                       json_object_get(json_object_array_get_idx(keys, i)));
		snprintf(path, sizeof(path), "$.visitor_pass.public_keys[%zu]", i);
		check_path(rep, holder, "p", path);
		json_object_put(holder);
	}
}

/* Reader ids end up in log lines and in host calls: keep them one clean
 * line, and unique, or a reader's settings would silently be shadowed. */
static void check_reader_ids(struct reporter *rep, json_object *root)
{
	json_object *readers = lookup(root, "readers");
	size_t n;
	char path[64], first[64];

	if (!json_object_is_type(readers, json_type_array))
		return;
	n = json_object_array_length(readers);
	if (n > CONFIG_MAX_READERS)
		n = CONFIG_MAX_READERS; /* maxItems reports the rest; keeps this O(64^2) */
	for (size_t i = 0; i < n; i++) {
		json_object *id = lookup(json_object_array_get_idx(readers, i), "id");

		if (!json_object_is_type(id, json_type_string))
			continue;
		snprintf(path, sizeof(path), "$.readers[%zu].id", i);
		if (has_control_chars(json_object_get_string(id),
		                      (size_t)json_object_get_string_len(id)))
			cfg_error(rep, "PORTER-CFG-ID", path, "use letters, digits and punctuation",
			          "must not contain control characters");
		for (size_t j = 0; j < i; j++) {
			json_object *other = lookup(json_object_array_get_idx(readers, j), "id");

			if (!json_object_equal(id, other))
				continue;
			snprintf(first, sizeof(first), "$.readers[%zu].id", j);
			cfg_error(rep, "PORTER-CFG-DUPLICATE", path,
			          "give each reader its own id, or merge the two entries",
			          "duplicate reader id: the same id is already used at %s", first);
			break;
		}
	}
}

/* The BLE reader's id is a reader id like the others (see above). */
static void check_ble_reader_id(struct reporter *rep, json_object *root)
{
	json_object *id = lookup(root, "ble_reader.reader_id");

	if (json_object_is_type(id, json_type_string) &&
	    has_control_chars(json_object_get_string(id), (size_t)json_object_get_string_len(id)))
		cfg_error(rep, "PORTER-CFG-ID", "$.ble_reader.reader_id",
		          "use letters, digits and punctuation",
		          "must not contain control characters");
}

/* Each site text may use only its own placeholders ("$.texts.checked_in:
 * unknown placeholder {nme}; this text may use {name}"). Unknown keys and
 * lengths are the schema's. */
static void check_texts(struct reporter *rep, json_object *root)
{
	json_object *texts = lookup(root, "texts");
	char path[96], err[CONFIG_MSG_MAX / 2];

	if (!json_object_is_type(texts, json_type_object))
		return;
	json_object_object_foreach(texts, key, val)
	{
		int id = feedback_text_lookup(key);

		if (id < 0 || !json_object_is_type(val, json_type_string))
			continue;
		if (feedback_text_check((enum feedback_text)id, json_object_get_string(val),
		                        (size_t)json_object_get_string_len(val), err,
		                        sizeof(err)) == 0)
			continue;
		snprintf(path, sizeof(path), "$.texts.%s", key);
		cfg_error(rep, "PORTER-CFG-TEXT", path,
		          "use only the placeholders this text may use, and {{ or }} for a "
		          "literal brace",
		          "%s", err);
	}
}

/* A zone porter cannot use: the reason names the zone and what was wrong. */
static void zone_error(struct reporter *rep, const char *why)
{
	cfg_error(rep, "PORTER-CFG-TIME-ZONE", "$.daily_checkout.time_zone",
	          "use a tz database name such as \"Europe/Berlin\" (the names under "
	          "/usr/share/zoneinfo, package tzdata), \"local\" (the controller's zone) "
	          "or \"UTC\"",
	          "%s", why);
}

/* The daily check-out's time and zone: what the schema's lengths cannot say.
 * A named zone's file is read here, so an unknown one is refused now. */
static void check_daily_checkout(struct reporter *rep, json_object *root)
{
	json_object *time = lookup(root, "daily_checkout.time");
	json_object *zone = lookup(root, "daily_checkout.time_zone");
	struct cutoff_rule *rule = NULL;
	char why[TZ_ERROR_MAX + 64];
	int minute;

	if (json_object_is_type(time, json_type_string) &&
	    cutoff_parse_time(json_object_get_string(time), &minute) < 0)
		cfg_error(rep, "PORTER-CFG-TIME", "$.daily_checkout.time",
		          "write the local time as \"HH:MM\", for example \"23:30\" or \"00:00\"",
		          "must be a time of day from 00:00 to 23:59, as \"HH:MM\"");
	if (!json_object_is_type(zone, json_type_string))
		return;
	rule = malloc(sizeof(*rule)); /* a zone's transitions: too big for the stack */
	if (!rule)
		zone_error(rep, "out of memory reading the time zone");
	else if (cutoff_parse_zone(json_object_get_string(zone), rule, why, sizeof(why)) < 0)
		zone_error(rep, why);
	free(rule);
}

/* An https:// address, one clean line: TLS is not optional. */
static void check_url(struct reporter *rep, json_object *root, const char *dotted, const char *path)
{
	json_object *val = lookup(root, dotted);
	if (!json_object_is_type(val, json_type_string))
		return;
	const char *s = json_object_get_string(val);
	size_t len = (size_t)json_object_get_string_len(val);
	bool clean = !has_control_chars(s, len) && !strchr(s, ' ');
	if (!clean || strncmp(s, "https://", 8) != 0 || len == 8)
		cfg_error(rep, "PORTER-CFG-URL", path, "write the full https:// address",
		          "must be an https:// address without spaces or control characters: "
		          "porter sends presence only over verified TLS");
}

/* "sha256//" and the base64 of 32 bytes (44 characters, one '='). */
static void check_pins(struct reporter *rep, json_object *root, const char *dotted,
                       const char *path)
{
	json_object *pins = lookup(root, dotted);
	if (!json_object_is_type(pins, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(pins); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(pins, i));
		bool ok = s && strlen(s) == 52 && strncmp(s, "sha256//", 8) == 0 && s[51] == '=';
		for (size_t k = 8; ok && k < 51; k++)
			ok = isalnum((unsigned char)s[k]) || s[k] == '+' || s[k] == '/';
		if (!ok) {
			char at[80];
			snprintf(at, sizeof(at), "%s[%zu]", path, i);
			cfg_error(
			        rep, "PORTER-CFG-PIN", at,
			        "print the pin with: openssl x509 -pubkey -noout -in cert.pem | "
			        "openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | "
			        "base64",
			        "must be \"sha256//\" followed by the base64 SHA-256 of the "
			        "server's public key");
		}
	}
}

/* The chosen backend's settings are there and usable (JSON Schema cannot
 * say "required when backend is ..." with the keywords porter supports). */
static void check_backend(struct reporter *rep, json_object *root)
{
	const char *backend = json_object_get_string(lookup(root, "backend"));
	if (backend && strcmp(backend, "webhook") == 0 && !lookup(root, "webhook"))
		cfg_error(rep, "PORTER-CFG-BACKEND", "$.webhook",
		          "add \"webhook\": {\"url\": ..., \"secret_file\": ...}",
		          "backend is \"webhook\" but the webhook settings are missing");
	if (backend && strcmp(backend, "nexudus") == 0 && !lookup(root, "nexudus"))
		cfg_error(rep, "PORTER-CFG-BACKEND", "$.nexudus",
		          "add \"nexudus\": {\"business_id\": ..., \"credentials_file\": ...}",
		          "backend is \"nexudus\" but the Nexudus settings are missing");
	check_url(rep, root, "webhook.url", "$.webhook.url");
	check_url(rep, root, "nexudus.url", "$.nexudus.url");
	check_path(rep, root, "webhook.secret_file", "$.webhook.secret_file");
	check_path(rep, root, "webhook.ca_file", "$.webhook.ca_file");
	check_path(rep, root, "nexudus.credentials_file", "$.nexudus.credentials_file");
	check_path(rep, root, "nexudus.ca_file", "$.nexudus.ca_file");
	check_pins(rep, root, "webhook.pinned_public_keys", "$.webhook.pinned_public_keys");
	check_pins(rep, root, "nexudus.pinned_public_keys", "$.nexudus.pinned_public_keys");
}

/* A scanner feeds a reader that is configured, so its direction and
 * unlock time are the admin's choice, not the defaults by accident (a typo
 * in an id would otherwise make a reader of its own). */
static void check_usb_readers(struct reporter *rep, json_object *root)
{
	json_object *devices = lookup(root, "usb_scanners.devices");
	json_object *readers = lookup(root, "readers");
	if (!json_object_is_type(devices, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(devices) && i < USB_SCANNERS_MAX; i++) {
		json_object *id = lookup(json_object_array_get_idx(devices, i), "reader_id");
		bool found = false;
		if (!json_object_is_type(id, json_type_string))
			continue;
		for (size_t k = 0; json_object_is_type(readers, json_type_array) &&
		                   k < json_object_array_length(readers) && !found;
		     k++)
			found = json_object_equal(
			        id, lookup(json_object_array_get_idx(readers, k), "id"));
		if (found)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "$.usb_scanners.devices[%zu].reader_id", i);
		cfg_error(rep, "PORTER-CFG-USB-READER", path,
		          "add a reader with this id to readers, or use the id of one listed there",
		          "scanner's reader \"%.256s\" is not one of the readers listed in readers",
		          json_object_get_string(id));
	}
}

/* A line's port is a path Linux would write ("1-1.4"), so a typo is
 * refused here rather than waiting for a scanner that can never match. */
static void check_usb_ports(struct reporter *rep, json_object *root)
{
	json_object *devices = lookup(root, "usb_scanners.devices");
	if (!json_object_is_type(devices, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(devices) && i < USB_SCANNERS_MAX; i++) {
		json_object *port = lookup(json_object_array_get_idx(devices, i), "port");
		struct usb_port parsed;
		const char *why = NULL;
		/* Empty or too long: the schema's minLength/maxLength say so. */
		if (!json_object_is_type(port, json_type_string) ||
		    json_object_get_string_len(port) == 0 ||
		    json_object_get_string_len(port) > USB_PORT_TEXT_MAX ||
		    usb_port_parse(json_object_get_string(port), &parsed, &why) == 0)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "$.usb_scanners.devices[%zu].port", i);
		cfg_error(rep, "PORTER-CFG-USB-PORT", path,
		          "write the port as `lsusb -t` or `udevadm info` shows it: the bus, '-', "
		          "then the port numbers joined by '.' (\"1-1.4\"); porter's log line "
		          "\"USB scanner ... attached\" names the port a scanner is in",
		          "\"%.64s\" is not a USB port path: %s", json_object_get_string(port),
		          why);
	}
}

static void check_semantics(struct reporter *rep, json_object *root)
{
	check_not_greater(rep, root, "keypad.pin_min_length", "keypad.pin_max_length",
	                  "$.keypad.pin_min_length");
	check_not_greater(rep, root, "lockout.base_lockout_s", "lockout.max_lockout_s",
	                  "$.lockout.base_lockout_s");
	check_path(rep, root, "local.directory", "$.local.directory");
	check_path(rep, root, "local.database", "$.local.database");
	check_path(rep, root, "local.pin_key_file", "$.local.pin_key_file");
	check_pass_key_paths(rep, root);
	check_reader_ids(rep, root);
	check_ble_reader_id(rep, root);
	check_texts(rep, root);
	check_daily_checkout(rep, root);
	check_backend(rep, root);
	check_usb_readers(rep, root);
	check_usb_ports(rep, root);
}

/* ---- Copying into struct config ----------------------------------------
 * Runs only on a document the schema accepted, with defaults filled in, so
 * every value is there and well-typed. A failure here means plugin.json and
 * this file disagree (a build bug), and is reported as such. */

static const char *const backend_names[] = {
        [BACKEND_LOCAL] = "local",
        [BACKEND_WEBHOOK] = "webhook",
        [BACKEND_NEXUDUS] = "nexudus",
};
static const char *const direction_names[] = {
        [READER_TOGGLE] = "toggle",
        [READER_ENTRY] = "entry",
        [READER_EXIT] = "exit",
};
static const char *const holders_names[] = {
        [PIN_HOLDERS_BOTH] = "both",
        [PIN_HOLDERS_MEMBERS] = "members",
        [PIN_HOLDERS_VISITORS] = "visitors",
};
static const char *const collision_names[] = {
        [PIN_COLLISION_DENY] = "deny",
        [PIN_COLLISION_MEMBER] = "member",
        [PIN_COLLISION_VISITOR] = "visitor",
};

#define N_NAMES(a) (sizeof(a) / sizeof((a)[0]))

static void internal_error(struct reporter *rep, const char *dotted)
{
	cfg_error(rep, "PORTER-CFG-INTERNAL", "$", NULL,
	          "internal error: \"%s\" in the schema does not match porter's code", dotted);
}

static int get_enum(struct reporter *rep, json_object *obj, const char *dotted,
                    const char *const *names, size_t n_names)
{
	const char *s = json_object_get_string(lookup(obj, dotted));

	for (size_t i = 0; s && i < n_names; i++) {
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	}
	internal_error(rep, dotted);
	return 0;
}

/* A whole number in [min, max] (the schema checked it; 0 and an internal
 * error if not). */
static int64_t get_whole(struct reporter *rep, json_object *obj, const char *dotted, int64_t min,
                         int64_t max)
{
	json_object *val = lookup(obj, dotted);
	int64_t v;

	/* A whole number written as -80.0 or -8e1 is an integer to the schema. */
	if (!val || (!json_object_is_type(val, json_type_int) &&
	             !json_object_is_type(val, json_type_double))) {
		internal_error(rep, dotted);
		return 0;
	}
	v = json_object_get_int64(val);
	if (v < min || v > max) {
		internal_error(rep, dotted);
		return 0;
	}
	return v;
}

static uint32_t get_u32(struct reporter *rep, json_object *obj, const char *dotted)
{
	return (uint32_t)get_whole(rep, obj, dotted, 0, UINT32_MAX);
}

static bool get_bool(struct reporter *rep, json_object *obj, const char *dotted)
{
	json_object *val = lookup(obj, dotted);

	if (!json_object_is_type(val, json_type_boolean)) {
		internal_error(rep, dotted);
		return false;
	}
	return json_object_get_boolean(val);
}

static void get_string(struct reporter *rep, json_object *obj, const char *dotted, char *buf,
                       size_t size)
{
	json_object *val = lookup(obj, dotted);
	size_t len = (size_t)json_object_get_string_len(val);

	buf[0] = '\0';
	if (!json_object_is_type(val, json_type_string) || len >= size) {
		internal_error(rep, dotted);
		return;
	}
	memcpy(buf, json_object_get_string(val), len + 1);
}

static void fill_reader(struct reporter *rep, json_object *obj, struct reader_config *reader,
                        uint32_t default_unlock_ms)
{
	reader->direction = (enum reader_direction)get_enum(rep, obj, "direction", direction_names,
	                                                    N_NAMES(direction_names));
	reader->pin_holders = (enum pin_holders)get_enum(rep, obj, "pin_holders", holders_names,
	                                                 N_NAMES(holders_names));
	/* unlock_ms left out or null (its schema default, so that a reader row
	 * added in an admin form is valid as it stands) follows door.unlock_ms.
	 * lookup() returns NULL for both: json-c holds a JSON null as NULL. */
	reader->unlock_ms =
	        lookup(obj, "unlock_ms") ? get_u32(rep, obj, "unlock_ms") : default_unlock_ms;
}

static void fill_readers(struct reporter *rep, json_object *root, struct config *c)
{
	json_object *readers = lookup(root, "readers");

	c->reader_defaults.id[0] = '\0';
	fill_reader(rep, lookup(root, "reader_defaults"), &c->reader_defaults,
	            c->default_unlock_ms);
	if (!json_object_is_type(readers, json_type_array) ||
	    json_object_array_length(readers) > CONFIG_MAX_READERS) {
		internal_error(rep, "readers");
		return;
	}
	c->n_readers = json_object_array_length(readers);
	for (size_t i = 0; i < c->n_readers; i++) {
		json_object *obj = json_object_array_get_idx(readers, i);

		get_string(rep, obj, "id", c->readers[i].id, sizeof(c->readers[i].id));
		fill_reader(rep, obj, &c->readers[i], c->default_unlock_ms);
	}
}

/* dBm are negative: get_u32 does not take them. */
static int32_t get_dbm(struct reporter *rep, json_object *obj, const char *dotted)
{
	json_object *val = lookup(obj, dotted);
	int64_t v = val ? json_object_get_int64(val) : 0;
	if (!val ||
	    (!json_object_is_type(val, json_type_int) &&
	     !json_object_is_type(val, json_type_double)) ||
	    v < -100 || v > 0) {
		internal_error(rep, dotted);
		return 0;
	}
	return (int32_t)v;
}

/* The ble section, and each reader's own ble_* settings (null or left out:
 * the section's). */
static void fill_ble(struct reporter *rep, json_object *root, struct config *c)
{
	c->ble_time_step_s = get_u32(rep, root, "ble.time_step_s");
	c->ble_drift_steps = get_u32(rep, root, "ble.drift_steps");
	c->ble_company_id = get_u32(rep, root, "ble.company_id");
	c->ble_calibration = get_bool(rep, root, "ble.calibration");
	struct reader_config *d = &c->reader_defaults;
	d->ble_rssi_min_dbm = get_dbm(rep, root, "ble.rssi_min_dbm");
	d->ble_samples = get_u32(rep, root, "ble.samples");
	d->ble_window_ms = get_u32(rep, root, "ble.window_ms");
	d->ble_cooldown_ms = get_u32(rep, root, "ble.cooldown_ms");
	json_object *readers = lookup(root, "readers");
	for (size_t i = 0; i < c->n_readers; i++) {
		json_object *obj = json_object_array_get_idx(readers, i);
		struct reader_config *r = &c->readers[i];
		r->ble_rssi_min_dbm = lookup(obj, "ble_rssi_min_dbm")
		                              ? get_dbm(rep, obj, "ble_rssi_min_dbm")
		                              : d->ble_rssi_min_dbm;
		r->ble_samples =
		        lookup(obj, "ble_samples") ? get_u32(rep, obj, "ble_samples") : d->ble_samples;
		r->ble_window_ms = lookup(obj, "ble_window_ms") ? get_u32(rep, obj, "ble_window_ms")
		                                                : d->ble_window_ms;
		r->ble_cooldown_ms = lookup(obj, "ble_cooldown_ms")
		                             ? get_u32(rep, obj, "ble_cooldown_ms")
		                             : d->ble_cooldown_ms;
	}
}

/* Texts left out keep "" (the default): "texts" has no schema default. */
static void fill_texts(struct reporter *rep, json_object *root, struct config *c)
{
	char dotted[64];

	for (int id = 0; id < FEEDBACK_TEXT_COUNT; id++) {
		snprintf(dotted, sizeof(dotted), "texts.%s", feedback_text_key(id));
		if (lookup(root, dotted))
			get_string(rep, root, dotted, c->texts[id], sizeof(c->texts[id]));
	}
}

static void fill_daily_checkout(struct reporter *rep, json_object *root, struct config *c)
{
	c->daily_checkout = get_bool(rep, root, "daily_checkout.enabled");
	if (cutoff_parse_time(json_object_get_string(lookup(root, "daily_checkout.time")),
	                      &c->daily_checkout_at.minute_of_day) < 0)
		internal_error(rep, "daily_checkout.time");
	char why[TZ_ERROR_MAX + 64];
	/* Read again (checked above): a zone file removed in between is said so. */
	if (cutoff_parse_zone(json_object_get_string(lookup(root, "daily_checkout.time_zone")),
	                      &c->daily_checkout_at, why, sizeof(why)) < 0)
		zone_error(rep, why);
}

/* A string the schema lets out: "" when absent. */
static void get_optional_string(struct reporter *rep, json_object *obj, const char *dotted,
                                char *buf, size_t size)
{
	buf[0] = '\0';
	if (lookup(obj, dotted))
		get_string(rep, obj, dotted, buf, size);
}

/* "sha256//A;sha256//B", libcurl's form, or "". */
static void get_pins(json_object *obj, const char *dotted, char *buf, size_t size)
{
	json_object *pins = lookup(obj, dotted);
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; json_object_is_type(pins, json_type_array) &&
	                   i < json_object_array_length(pins) && o < size;
	     i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ";" : "",
		                      json_object_get_string(json_object_array_get_idx(pins, i)));
}

static void fill_backend(struct reporter *rep, json_object *root, struct config *c)
{
	if (lookup(root, "webhook")) {
		get_string(rep, root, "webhook.url", c->webhook_url, sizeof(c->webhook_url));
		get_string(rep, root, "webhook.secret_file", c->webhook_secret_path,
		           sizeof(c->webhook_secret_path));
		get_optional_string(rep, root, "webhook.ca_file", c->webhook_ca_path,
		                    sizeof(c->webhook_ca_path));
		get_pins(root, "webhook.pinned_public_keys", c->webhook_pins,
		         sizeof(c->webhook_pins));
		c->webhook_timeout_ms = get_u32(rep, root, "webhook.timeout_ms");
	}
	if (lookup(root, "nexudus")) {
		get_string(rep, root, "nexudus.url", c->nexudus_url, sizeof(c->nexudus_url));
		c->nexudus_business_id = json_object_get_int64(lookup(root, "nexudus.business_id"));
		get_string(rep, root, "nexudus.credentials_file", c->nexudus_credentials_path,
		           sizeof(c->nexudus_credentials_path));
		get_optional_string(rep, root, "nexudus.ca_file", c->nexudus_ca_path,
		                    sizeof(c->nexudus_ca_path));
		get_pins(root, "nexudus.pinned_public_keys", c->nexudus_pins,
		         sizeof(c->nexudus_pins));
		c->nexudus_timeout_ms = get_u32(rep, root, "nexudus.timeout_ms");
		c->nexudus_sync_interval_s = get_u32(rep, root, "nexudus.sync_interval_s");
		c->nexudus_presence_interval_s = get_u32(rep, root, "nexudus.presence_interval_s");
		c->nexudus_doors_sharing_account =
		        get_u32(rep, root, "nexudus.doors_sharing_account");
	}
	c->outbox_max_backlog = get_u32(rep, root, "outbox.max_backlog");
	c->outbox_retry_max_s = get_u32(rep, root, "outbox.retry_max_s");
	c->offline_max_age_s = get_u32(rep, root, "offline.max_age_s");
}

static int32_t get_i32(struct reporter *rep, json_object *obj, const char *dotted)
{
	return (int32_t)get_whole(rep, obj, dotted, INT32_MIN, INT32_MAX);
}

static void fill_ble_reader(struct reporter *rep, json_object *root, struct config *c)
{
	c->ble_reader_enabled = get_bool(rep, root, "ble_reader.enabled");
	get_string(rep, root, "ble_reader.adapter", c->ble_reader_adapter,
	           sizeof(c->ble_reader_adapter));
	get_string(rep, root, "ble_reader.reader_id", c->ble_reader_id, sizeof(c->ble_reader_id));
	c->ble_reader_rssi_floor_dbm = get_i32(rep, root, "ble_reader.rssi_floor_dbm");
	c->ble_reader_restart_after_s = get_u32(rep, root, "ble_reader.restart_after_s");
}

static void fill_qr(struct reporter *rep, json_object *root, struct config *c)
{
	json_object *keys = lookup(root, "visitor_pass.public_keys");
	c->qr_repeat_ms = get_u32(rep, root, "qr.repeat_ms");
	c->qr_code_max_attempts = get_u32(rep, root, "qr.code_max_attempts");
	c->qr_code_lockout_s = get_u32(rep, root, "qr.code_lockout_s");
	size_t n = json_object_is_type(keys, json_type_array) ? json_object_array_length(keys) : 0;
	for (size_t i = 0; i < n && i < 2; i++) {
		const char *path = json_object_get_string(json_object_array_get_idx(keys, i));
		if (!path || strlen(path) >= CONFIG_PATH_MAX) {
			internal_error(rep, "visitor_pass.public_keys");
			return;
		}
		strcpy(c->visitor_pass_keys[i], path);
		c->n_visitor_pass_keys++;
	}
}

static const char *const protocol_names[] = {
        [SCAN_PROTOCOL_KEYBOARD] = "keyboard",
        [SCAN_PROTOCOL_HID_POS] = "hid_pos",
};
static const char *const layout_names[] = {
        [SCAN_LAYOUT_US] = "us",
        [SCAN_LAYOUT_UK] = "uk",
        [SCAN_LAYOUT_DE] = "de",
        [SCAN_LAYOUT_FR] = "fr",
};
static const char *const terminator_names[] = {"enter", "tab", "enter_or_tab"};
static const unsigned terminator_bits[] = {SCAN_END_ENTER, SCAN_END_TAB,
                                           SCAN_END_ENTER | SCAN_END_TAB};

/* null (the schema's default) is "any". */
static int32_t get_usb_id(struct reporter *rep, json_object *obj, const char *dotted)
{
	return lookup(obj, dotted) ? (int32_t)get_u32(rep, obj, dotted) : USB_ID_ANY;
}

static void fill_usb_scanners(struct reporter *rep, json_object *root, struct config *c)
{
	struct usb_scanners_config *u = &c->usb_scanners;
	json_object *devices = lookup(root, "usb_scanners.devices");
	u->enabled = get_bool(rep, root, "usb_scanners.enabled");
	u->rescan_interval_s = get_u32(rep, root, "usb_scanners.rescan_interval_s");
	if (!json_object_is_type(devices, json_type_array) ||
	    json_object_array_length(devices) > USB_SCANNERS_MAX) {
		internal_error(rep, "usb_scanners.devices");
		return;
	}
	u->n_devices = json_object_array_length(devices);
	for (size_t i = 0; i < u->n_devices; i++) {
		json_object *obj = json_object_array_get_idx(devices, i);
		struct usb_scanner_entry *e = &u->devices[i];
		get_string(rep, obj, "reader_id", e->reader_id, sizeof(e->reader_id));
		e->vendor_id = get_usb_id(rep, obj, "vendor_id");
		e->product_id = get_usb_id(rep, obj, "product_id");
		e->interface_class = (uint8_t)get_u32(rep, obj, "interface_class");
		e->port = (struct usb_port){0};
		if (json_object_is_type(lookup(obj, "port"), json_type_string) &&
		    usb_port_parse(json_object_get_string(lookup(obj, "port")), &e->port, NULL) < 0)
			internal_error(rep, "usb_scanners.devices[].port");
		e->decoder.protocol = (enum scan_protocol)get_enum(
		        rep, obj, "protocol", protocol_names, N_NAMES(protocol_names));
		e->decoder.layout = (enum scan_layout)get_enum(rep, obj, "layout", layout_names,
		                                               N_NAMES(layout_names));
		e->decoder.report_id = get_bool(rep, obj, "report_id");
		e->decoder.terminators = terminator_bits[get_enum(
		        rep, obj, "terminator", terminator_names, N_NAMES(terminator_names))];
		e->decoder.char_timeout_us = (uint64_t)get_u32(rep, obj, "char_timeout_ms") * 1000;
	}
}

static void fill_config(struct reporter *rep, json_object *root, struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->backend = (enum backend_kind)get_enum(rep, root, "backend", backend_names,
	                                         N_NAMES(backend_names));
	get_string(rep, root, "local.directory", c->directory_path, sizeof(c->directory_path));
	get_string(rep, root, "local.database", c->database_path, sizeof(c->database_path));
	get_string(rep, root, "local.pin_key_file", c->pin_key_path, sizeof(c->pin_key_path));
	c->pin_min_length = get_u32(rep, root, "keypad.pin_min_length");
	c->pin_max_length = get_u32(rep, root, "keypad.pin_max_length");
	c->inter_key_timeout_ms = get_u32(rep, root, "keypad.inter_key_timeout_ms");
	c->repeat_window_ms = get_u32(rep, root, "repeat_window_ms");
	c->pin_collision = (enum pin_collision)get_enum(rep, root, "pin_collision", collision_names,
	                                                N_NAMES(collision_names));
	c->visitor_checkin = get_bool(rep, root, "visitor_checkin");
	c->default_unlock_ms = get_u32(rep, root, "door.unlock_ms");
	c->lockout_max_attempts = get_u32(rep, root, "lockout.max_attempts");
	c->lockout_window_s = get_u32(rep, root, "lockout.window_s");
	c->lockout_base_s = get_u32(rep, root, "lockout.base_lockout_s");
	c->lockout_max_s = get_u32(rep, root, "lockout.max_lockout_s");
	c->records_denied_days = get_u32(rep, root, "records.denied_days");
	c->records_denied_max_rows = get_u32(rep, root, "records.denied_max_rows");
	c->salto_ks_enabled = get_bool(rep, root, "access_control.salto_ks.enabled");
	c->salto_ks_visitor_access = get_bool(rep, root, "access_control.salto_ks.visitor_access");
	fill_qr(rep, root, c);
	fill_daily_checkout(rep, root, c);
	fill_readers(rep, root, c);
	fill_ble(rep, root, c);
	fill_texts(rep, root, c);
	fill_backend(rep, root, c);
	fill_ble_reader(rep, root, c);
	fill_usb_scanners(rep, root, c);
}

/* ---- What only a restart may change ------------------------------------ */

/*
 * The sections backend_setup_start() builds the backend and its outbox from,
 * once, at init. Whole sections, never their members one by one: a setting
 * added to one of them in plugin.json is restart-only without a word here
 * (a member compared by hand and forgotten would be a silent backend change
 * on reload).
 */
static const char *const restart_sections[] = {"backend", "webhook", "nexudus", "outbox",
                                               "offline"};

#define RESTART_MAX_KEYS 64 /* members of one object; the schema allows far fewer */

static void digest_bytes(EVP_MD_CTX *md, char tag, const void *data, size_t len)
{
	uint64_t n = len;
	EVP_DigestUpdate(md, &tag, 1);
	EVP_DigestUpdate(md, &n, sizeof(n)); /* length first: no two values hash alike */
	EVP_DigestUpdate(md, data, len);
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A value in canonical form: members by name, numbers by value (300 and
 * 300.0 alike), so only a change of meaning changes the digest. */
static void digest_value(EVP_MD_CTX *md, json_object *v)
{
	char num[32];
	switch (json_object_get_type(v)) {
	case json_type_null:
		digest_bytes(md, 'n', "", 0);
		break;
	case json_type_boolean:
		digest_bytes(md, json_object_get_boolean(v) ? 't' : 'f', "", 0);
		break;
	case json_type_int:
		snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(v));
		digest_bytes(md, '#', num, strlen(num));
		break;
	case json_type_double: {
		double d = json_object_get_double(v);
		if (d > -9e15 && d < 9e15 && d == (double)(long long)d)
			snprintf(num, sizeof(num), "%lld", (long long)d);
		else
			snprintf(num, sizeof(num), "%.17g", d);
		digest_bytes(md, '#', num, strlen(num));
		break;
	}
	case json_type_string:
		digest_bytes(md, 's', json_object_get_string(v),
		             (size_t)json_object_get_string_len(v));
		break;
	case json_type_array: {
		size_t n = json_object_array_length(v);
		digest_bytes(md, '[', &n, sizeof(n));
		for (size_t i = 0; i < n; i++)
			digest_value(md, json_object_array_get_idx(v, i));
		break;
	}
	case json_type_object: {
		const char *keys[RESTART_MAX_KEYS];
		size_t n = 0;
		json_object_object_foreach(v, key, unused)
		{
			(void)unused;
			if (n < RESTART_MAX_KEYS)
				keys[n++] = key;
		}
		qsort(keys, n, sizeof(keys[0]), compare_keys);
		digest_bytes(md, '{', &n, sizeof(n));
		for (size_t i = 0; i < n; i++) {
			json_object *member = NULL;
			json_object_object_get_ex(v, keys[i], &member);
			digest_bytes(md, 'k', keys[i], strlen(keys[i]));
			digest_value(md, member);
		}
		break;
	}
	}
}

/* SHA-256 of the restart-only sections of `root` (defaults filled in).
 * 0, or -ENOMEM. */
static int restart_digest(json_object *root, unsigned char ret[CONFIG_DIGEST_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	for (size_t i = 0; i < N_NAMES(restart_sections); i++) {
		json_object *section = NULL;
		digest_bytes(md, 'k', restart_sections[i], strlen(restart_sections[i]));
		json_object_object_get_ex(root, restart_sections[i], &section);
		digest_value(md, section); /* left out: null */
	}
	int r = EVP_DigestFinal_ex(md, ret, &len) == 1 ? 0 : -ENOMEM;
	EVP_MD_CTX_free(md);
	return r;
}

/* ---- Entry points ------------------------------------------------------ */

/* Schema, semantic rules, copy, diagnostics; *c is valid only on 0. */
static int validate_document(struct reporter *rep, json_object *root, struct config *c)
{
	json_object *schema = NULL;
	json_object *manifest = load_schema(rep, &schema);

	if (!manifest)
		return -EINVAL;
	rep->errors += schema_validate(schema, root, rep->report, rep->userdata);
	/* Defaults are annotations: filled in after validation, never judged,
	 * so the semantic rules and the copy below see one whole document. */
	if (schema_fill_defaults(schema, root) < 0)
		cfg_error(rep, "PORTER-CFG-NOMEM", "$", NULL, "out of memory filling in defaults");
	json_object_put(manifest);
	check_semantics(rep, root);
	if (rep->errors > 0)
		return -EINVAL;
	fill_config(rep, root, c);
	if (rep->errors > 0)
		return -EINVAL;
	if (restart_digest(root, c->restart_digest) < 0) {
		cfg_error(rep, "PORTER-CFG-NOMEM", "$", NULL, "out of memory reading the backend");
		return -ENOMEM;
	}
	/* Warnings are reported in the same pass, so the admin sees them with
	 * the config that causes them. */
	diagnostics_run(c, rep->report, rep->userdata);
	return diagnostics_have_errors(c) ? -EINVAL : 0;
}

int config_parse(const char *text, size_t len, struct config *ret, porter_report_fn report,
                 void *userdata)
{
	struct reporter rep = {.report = report, .userdata = userdata};
	struct config *c;
	json_object *root;
	int r;

	if (!ret || (!text && len > 0))
		return -EINVAL;
	if (!text)
		text = "";
	r = check_text(&rep, text, &len);
	if (r < 0)
		return r;
	root = parse_text(&rep, text, len, &r);
	if (!root)
		return r;
	/* Built aside and copied on success: a caller reloading into its live
	 * config keeps the old one when the new one is refused. */
	c = calloc(1, sizeof(*c));
	if (!c) {
		json_object_put(root);
		return -ENOMEM;
	}
	r = validate_document(&rep, root, c);
	if (r == 0)
		*ret = *c;
	free(c);
	json_object_put(root);
	return r;
}

const struct reader_config *config_reader(const struct config *config, const char *reader_id)
{
	if (!config)
		return NULL;
	for (size_t i = 0; reader_id && i < config->n_readers; i++) {
		if (strcmp(config->readers[i].id, reader_id) == 0)
			return &config->readers[i];
	}
	return &config->reader_defaults;
}
