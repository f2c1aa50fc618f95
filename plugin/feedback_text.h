/* SPDX-License-Identifier: MIT */
/*
 * feedback_text.h: the words on the door's display.
 *
 * Every text porter shows a person has a key ("checked_in", "unknown_pin",
 * ...), an English default and the placeholders it may use ({name},
 * {seconds}, {min_digits}, {max_digits}). A site replaces any of them in its
 * config ("texts": {"checked_in": "Willkommen, {name}!"}); config.c checks
 * each template with feedback_text_check() and the engine renders the site's
 * template, or the default, with feedback_text_render().
 *
 * Template syntax: "{name}" is a placeholder, "{{" and "}}" are literal
 * braces; anything else between braces, an unclosed "{", a lone "}" or a
 * control character is an error. No placeholder can carry a PIN: the values
 * are a person's name and numbers from the config.
 *
 * The key is usually the feedback code the host sees (porter_feedback.code);
 * where one code is shown with different words (a members-only or a
 * visitors-only keypad), each wording has its own key.
 */
#ifndef PORTER_FEEDBACK_TEXT_H
#define PORTER_FEEDBACK_TEXT_H

#include <stddef.h>

/* Bytes of a site's template (plugin.json's maxLength says the same). */
#define FEEDBACK_TEMPLATE_CHARS 160 /* plugin.json maxLength, in characters */
/* A template's bytes at most: up to 4 a UTF-8 character. */
#define FEEDBACK_TEMPLATE_MAX (FEEDBACK_TEMPLATE_CHARS * 4)
/* Bytes of a rendered text, cut on a UTF-8 character boundary. */
#define FEEDBACK_TEXT_MAX 255

enum feedback_text {
	FT_CHECKED_IN = 0,
	FT_CHECKED_OUT,
	FT_ALREADY_IN,
	FT_ALREADY_OUT,
	FT_UNKNOWN_PIN,
	FT_LOCKED_OUT,
	FT_AMBIGUOUS_PIN,
	FT_WRONG_KEYPAD_MEMBERS,
	FT_WRONG_KEYPAD_VISITORS,
	FT_VISITOR_CHECKIN_DISABLED,
	FT_VISITOR_CHECKIN_UNSUPPORTED,
	FT_VISITOR_PASS_NOT_YET_VALID,
	FT_MEMBERSHIP_NOT_YET_VALID,
	FT_VISITOR_PASS_EXPIRED,
	FT_MEMBERSHIP_EXPIRED,
	FT_DOOR_FAILED,
	FT_BUSY,
	FT_RECORD_FAILED,
	FT_PIN_TOO_SHORT,
	FT_PIN_TOO_LONG,
	FT_PIN_TOO_LONG_KEY_BY_KEY,
	FT_INVALID_PIN,
	FT_INVALID_KEY,
	FT_ENTRY_TIMEOUT,
	FT_BACKLOG_FULL,
	FT_DIRECTORY_OUTDATED,
	FT_QR_UNREADABLE,
	FT_QR_UNKNOWN,
	FT_QR_CODE_LOCKED,
	FT_VISITOR_PASS_INVALID,
	FT_VISITOR_PASS_USED,
	FT_VISITOR_UNKNOWN,
	FEEDBACK_TEXT_COUNT
};

/* What a text may show. Fields a text does not declare are never read. */
struct feedback_values {
	const char *name; /* the person's name from the directory; NULL: "" */
	unsigned seconds; /* until the keypad takes PINs again */
	unsigned min_digits, max_digits;
};

/* The config key ("checked_in"), or NULL for an id out of range. */
const char *feedback_text_key(enum feedback_text id);

/* The English default template. */
const char *feedback_text_default(enum feedback_text id);

/* The feedback code the host sees with this text ("wrong_keypad"). */
const char *feedback_text_code(enum feedback_text id);

/* The id for a config key, or -1. */
int feedback_text_lookup(const char *key);

/* "{name}", "{min_digits}, {max_digits}", or "" for none. */
void feedback_text_placeholders(enum feedback_text id, char *out, size_t size);

/*
 * Check a site's template (`len` bytes of valid UTF-8) for text `id`.
 * Returns 0, or -EINVAL with a one-line reason in `err` ("unknown
 * placeholder {nme}; this text may use {name}"). Length is the schema's.
 */
int feedback_text_check(enum feedback_text id, const char *tmpl, size_t len, char *err,
                        size_t err_size);

/*
 * Render text `id` into `out` (NUL-terminated, at most FEEDBACK_TEXT_MAX
 * bytes and size - 1, cut on a UTF-8 character boundary) from `tmpl`, or
 * from the default when `tmpl` is NULL or "". `values` may be NULL.
 * Returns the length written.
 */
size_t feedback_text_render(enum feedback_text id, const char *tmpl,
                            const struct feedback_values *values, char *out, size_t size);

#endif
