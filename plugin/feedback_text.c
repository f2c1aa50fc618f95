/* SPDX-License-Identifier: MIT */
/*
 * feedback_text.c: the table of display texts, and the one template
 * language sites write them in. See feedback_text.h.
 *
 * The table is the single list: config.c validates against it, the engine
 * renders from it, and tests hold plugin.json's "texts" schema, README's
 * list and the example translations to it.
 */
#include "feedback_text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum placeholder {
	P_NAME = 1u << 0,
	P_SECONDS = 1u << 1,
	P_MIN_DIGITS = 1u << 2,
	P_MAX_DIGITS = 1u << 3,
};

static const struct {
	enum placeholder bit;
	const char *name;
} placeholders[] = {
        {P_NAME, "name"},
        {P_SECONDS, "seconds"},
        {P_MIN_DIGITS, "min_digits"},
        {P_MAX_DIGITS, "max_digits"},
};

#define N_PLACEHOLDERS (sizeof(placeholders) / sizeof(placeholders[0]))
#define P_DIGITS       (P_MIN_DIGITS | P_MAX_DIGITS)

struct text_def {
	const char *key;
	const char *code; /* porter_feedback.code shown with it */
	unsigned allowed; /* enum placeholder bits */
	const char *english;
};

/* A person who is not let in hears nobody's name: the answer to a PIN that
 * is refused must not tell a guesser whose PIN it was. */
static const struct text_def texts[FEEDBACK_TEXT_COUNT] = {
        [FT_CHECKED_IN] = {"checked_in", "checked_in", P_NAME,
                           "Welcome, {name}. You are checked in."},
        [FT_CHECKED_OUT] = {"checked_out", "checked_out", P_NAME,
                            "Goodbye, {name}. You are checked out."},
        [FT_ALREADY_IN] = {"already_in", "already_in", P_NAME,
                           "Already checked in. Welcome, {name}."},
        [FT_ALREADY_OUT] = {"already_out", "already_out", P_NAME,
                            "Already checked out. Goodbye, {name}."},
        [FT_UNKNOWN_PIN] = {"unknown_pin", "unknown_pin", 0,
                            "PIN not recognised. Please try again."},
        [FT_LOCKED_OUT] = {"locked_out", "locked_out", P_SECONDS,
                           "Too many failed attempts. Try again in {seconds} s."},
        [FT_AMBIGUOUS_PIN] = {"ambiguous_pin", "ambiguous_pin", 0,
                              "This PIN is not unique. Please see reception."},
        [FT_WRONG_KEYPAD_MEMBERS] = {"wrong_keypad_members", "wrong_keypad", 0,
                                     "This keypad is for members only."},
        [FT_WRONG_KEYPAD_VISITORS] = {"wrong_keypad_visitors", "wrong_keypad", 0,
                                      "This keypad is for visitors only."},
        [FT_VISITOR_CHECKIN_DISABLED] =
                {"visitor_checkin_disabled", "visitor_checkin_disabled", 0,
                 "Visitor check-in is not available here. Please see reception."},
        [FT_VISITOR_CHECKIN_UNSUPPORTED] =
                {"visitor_checkin_unsupported", "visitor_checkin_unsupported", 0,
                 "Visitor check-in is not available here. Please see reception."},
        [FT_VISITOR_PASS_NOT_YET_VALID] =
                {"visitor_pass_not_yet_valid", "visitor_pass_not_yet_valid", 0,
                 "Your visitor pass is not valid yet. Please see reception."},
        [FT_MEMBERSHIP_NOT_YET_VALID] =
                {"membership_not_yet_valid", "membership_not_yet_valid", 0,
                 "Your membership is not active yet. Please see reception."},
        [FT_VISITOR_PASS_EXPIRED] = {"visitor_pass_expired", "visitor_pass_expired", 0,
                                     "Your visitor pass has expired. Please see reception."},
        [FT_MEMBERSHIP_EXPIRED] = {"membership_expired", "membership_expired", 0,
                                   "Your membership has ended. Please see reception."},
        [FT_DOOR_FAILED] = {"door_failed", "door_failed", 0,
                            "The door could not be opened. Please see reception."},
        [FT_BUSY] = {"busy", "busy", 0, "One moment, please, then try again."},
        [FT_BACKLOG_FULL] = {"backlog_full", "backlog_full", 0,
                             "Check-in is paused. Please see reception."},
        [FT_DIRECTORY_OUTDATED] = {"directory_outdated", "directory_outdated", 0,
                                   "Check-in is not possible right now. Please see reception."},
        [FT_RECORD_FAILED] = {"record_failed", "record_failed", 0,
                              "Sorry, your check-in could not be saved. Please try again."},
        [FT_PIN_TOO_SHORT] = {"pin_too_short", "pin_too_short", P_DIGITS,
                              "PIN too short: at least {min_digits} digits. Please try again."},
        [FT_PIN_TOO_LONG] = {"pin_too_long", "pin_too_long", P_DIGITS,
                             "PIN too long: at most {max_digits} digits. Please try again."},
        [FT_PIN_TOO_LONG_KEY_BY_KEY] =
                {"pin_too_long_key_by_key", "pin_too_long", P_DIGITS,
                 "PIN too long: at most {max_digits} digits. Press * and start again."},
        [FT_INVALID_PIN] = {"invalid_pin", "invalid_pin", 0,
                            "Only digits can be used in a PIN. Please try again."},
        [FT_INVALID_KEY] = {"invalid_key", "invalid_key", 0,
                            "Key not recognised. PIN cleared, please start again."},
        [FT_ENTRY_TIMEOUT] = {"entry_timeout", "entry_timeout", 0,
                              "PIN entry timed out. Please start again."},
        [FT_QR_UNREADABLE] =
                {"qr_unreadable", "qr_unreadable", 0,
                 "Code not readable. Please hold the QR code from your invitation to the scanner."},
        [FT_QR_UNKNOWN] = {"qr_unknown", "qr_unknown", 0,
                           "Code not recognised. Please see reception."},
        [FT_QR_CODE_LOCKED] =
                {"qr_code_locked", "qr_code_locked", P_SECONDS,
                 "This code was refused too often. Try again in {seconds} s."},
        [FT_VISITOR_PASS_INVALID] =
                {"visitor_pass_invalid", "visitor_pass_invalid", 0,
                 "This visitor pass is not valid. Please ask your host for a new one."},
        [FT_VISITOR_PASS_USED] = {"visitor_pass_used", "visitor_pass_used", 0,
                                  "This visitor pass was already used. Please see reception."},
        [FT_VISITOR_UNKNOWN] = {"visitor_unknown", "visitor_unknown", 0,
                                "Your visit is not registered here. Please see reception."},
};

static bool valid_id(enum feedback_text id)
{
	return (unsigned)id < FEEDBACK_TEXT_COUNT;
}

const char *feedback_text_key(enum feedback_text id)
{
	return valid_id(id) ? texts[id].key : NULL;
}

const char *feedback_text_default(enum feedback_text id)
{
	return valid_id(id) ? texts[id].english : NULL;
}

const char *feedback_text_code(enum feedback_text id)
{
	return valid_id(id) ? texts[id].code : NULL;
}

int feedback_text_lookup(const char *key)
{
	for (int i = 0; key && i < FEEDBACK_TEXT_COUNT; i++) {
		if (strcmp(texts[i].key, key) == 0)
			return i;
	}
	return -1;
}

void feedback_text_placeholders(enum feedback_text id, char *out, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; valid_id(id) && i < N_PLACEHOLDERS && len < size; i++) {
		if (texts[id].allowed & placeholders[i].bit)
			len += (size_t)snprintf(out + len, size - len, "%s{%s}", len ? ", " : "",
			                        placeholders[i].name);
	}
}

/* The placeholder named by `len` bytes at `s`, or NULL. */
static const char *placeholder_at(const char *s, size_t len, enum placeholder *ret_bit)
{
	for (size_t i = 0; i < N_PLACEHOLDERS; i++) {
		if (strlen(placeholders[i].name) == len &&
		    memcmp(placeholders[i].name, s, len) == 0) {
			*ret_bit = placeholders[i].bit;
			return placeholders[i].name;
		}
	}
	return NULL;
}

/* Length of the longest prefix of `s` (`len` bytes) of at most `max` bytes
 * that does not end inside a UTF-8 character. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* A display shows control characters as garbage or obeys them: C0, DEL and
 * C1 (U+0080-U+009F, UTF-8 C2 80..C2 9F) are refused. */
static bool control_at(const char *s, size_t len, size_t i)
{
	unsigned char c = (unsigned char)s[i];

	if (c < 0x20 || c == 0x7f)
		return true;
	return c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
	       (unsigned char)s[i + 1] <= 0x9f;
}

static int check_placeholder(enum feedback_text id, const char *name, size_t len, char *err,
                             size_t err_size)
{
	enum placeholder bit;
	char may[96];
	const char *known = placeholder_at(name, len, &bit);

	if (known && (texts[id].allowed & bit))
		return 0;
	feedback_text_placeholders(id, may, sizeof(may));
	/* The text between the braces is the admin's: clipped, and it cannot
	 * hold a brace or a control character (the caller stopped at those). */
	size_t shown = utf8_prefix(name, len, 40);
	snprintf(err, err_size, "%s {%.*s%s}; %s%s",
	         known ? "this text cannot show" : "unknown placeholder", (int)shown, name,
	         shown < len ? "..." : "",
	         may[0] ? "this text may use " : "this text takes no placeholders", may);
	return -EINVAL;
}

int feedback_text_check(enum feedback_text id, const char *tmpl, size_t len, char *err,
                        size_t err_size)
{
	if (!valid_id(id) || (!tmpl && len > 0)) {
		snprintf(err, err_size, "no such text");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (control_at(tmpl, len, i)) {
			snprintf(
			        err, err_size,
			        "must not contain control characters (such as a newline or a tab): "
			        "a display shows them as garbage");
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < len; i++) {
		if ((tmpl[i] == '{' || tmpl[i] == '}') && i + 1 < len && tmpl[i + 1] == tmpl[i]) {
			i++; /* "{{" or "}}": a literal brace */
			continue;
		}
		if (tmpl[i] == '}') {
			snprintf(err, err_size,
			         "a single } at byte %zu; write }} for a literal brace", i);
			return -EINVAL;
		}
		if (tmpl[i] != '{')
			continue;
		size_t end = i + 1;
		while (end < len && tmpl[end] != '}' && tmpl[end] != '{')
			end++;
		if (end >= len || tmpl[end] != '}') {
			snprintf(err, err_size,
			         "the { at byte %zu is not closed; write {{ for a literal brace",
			         i);
			return -EINVAL;
		}
		if (check_placeholder(id, tmpl + i + 1, end - i - 1, err, err_size) < 0)
			return -EINVAL;
		i = end;
	}
	return 0;
}

/* An output buffer that stops on a character boundary when full. */
struct out {
	char *buf;
	size_t len, max;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->len + n > o->max) {
		n = utf8_prefix(s, n, o->max - o->len);
		o->full = true;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void put_number(struct out *o, unsigned v)
{
	char num[16];
	int n = snprintf(num, sizeof(num), "%u", v);

	put(o, num, (size_t)n);
}

static void put_value(struct out *o, enum placeholder bit, const struct feedback_values *v)
{
	static const struct feedback_values none = {0};

	if (!v)
		v = &none;
	switch (bit) {
	case P_NAME:
		put(o, v->name ? v->name : "", v->name ? strlen(v->name) : 0);
		break;
	case P_SECONDS:
		put_number(o, v->seconds);
		break;
	case P_MIN_DIGITS:
		put_number(o, v->min_digits);
		break;
	case P_MAX_DIGITS:
		put_number(o, v->max_digits);
		break;
	}
}

size_t feedback_text_render(enum feedback_text id, const char *tmpl,
                            const struct feedback_values *values, char *out, size_t size)
{
	if (size == 0)
		return 0;
	struct out o = {out, 0, size - 1 < FEEDBACK_TEXT_MAX ? size - 1 : FEEDBACK_TEXT_MAX, false};
	if (!valid_id(id)) {
		out[0] = '\0';
		return 0;
	}
	if (!tmpl || !*tmpl)
		tmpl = texts[id].english;
	/* Templates were checked when the config was read; whatever is not a
	 * declared placeholder is shown as written rather than trusted. */
	for (const char *p = tmpl; *p && !o.full;) {
		if ((*p == '{' || *p == '}') && p[1] == *p) {
			put(&o, p, 1);
			p += 2;
			continue;
		}
		const char *close = *p == '{' ? strchr(p + 1, '}') : NULL;
		enum placeholder bit;
		if (close && placeholder_at(p + 1, (size_t)(close - p - 1), &bit) &&
		    (texts[id].allowed & bit)) {
			put_value(&o, bit, values);
			p = close + 1;
			continue;
		}
		size_t n = strcspn(p + 1, "{}") + 1;
		put(&o, p, n);
		p += n;
	}
	out[o.len] = '\0';
	return o.len;
}
