/* SPDX-License-Identifier: MIT */
/*
 * scan_decoder.c: a scanner's input reports in, whole scans out (the
 * contract is scan_decoder.h). How reports are read, precisely:
 *
 * Keyboard emulation (boot keyboard reports: modifier bits, a reserved byte,
 * key usages; after the report id SCAN_KEYBOARD_REPORT_ID when report_id):
 * - A key types once, when it is pressed. A report normally lists the keys
 *   held down, so a key in this report and the previous one is still held
 *   (a scanner that repeats its key-down report does not double the
 *   character), and a key pressed, released and pressed again types twice.
 *   Keys new in a report are presses in the order listed.
 * - But some scanners pack several presses into one report, in order, even
 *   the same key twice. A report that lists a key twice cannot be a set of
 *   held keys: it is read as a sequence of presses, every key in it one
 *   press, and nothing it lists is held for the next report. (Against the
 *   previous report, the keys are counted: [a] then [a, a] is one new 'a'.)
 * - ErrorRollOver (0x01) anywhere in the keys means the keyboard could not
 *   tell which keys are down: the keys of that report are ignored and the
 *   held keys stay as they were (the HID specification's rule); its
 *   modifiers count. Usages 0x02 and 0x03 and modifier usages are no keys.
 *   An all-zero report releases everything.
 * - Modifiers change before the report's keys are pressed. Shift (either)
 *   and Caps Lock (letters only) choose capitals; on UK, DE and FR, right
 *   Alt is AltGr, and so is Ctrl+left Alt (as on Windows); on US right Alt
 *   is a second Alt. A dead key (DE ^ ´ `, FR ^ ¨ and AltGr's ~ `) waits for
 *   the next key: with a space it types the accent, with a vowel the
 *   accented letter, with anything else both (as Windows does).
 * - Alt + keypad digits (usages 0x59-0x62, Alt held and no AltGr) type one
 *   byte when Alt is released: the decimal number, with or without a leading
 *   0. The scan is bytes, not text: a scanner in Alt mode sends the code's
 *   bytes (a UTF-8 code arrives byte by byte), so porter keeps the byte
 *   rather than translating it as Windows would (through code page 1252
 *   after a leading 0, code page 437 without). 0 to 255, control characters
 *   included; a code over 255 refuses the scan ("Alt+keypad code over 255").
 *   Alt with any other key is a shortcut and types nothing.
 * - Ctrl + a key whose character is @, A-Z, [, \, ], ^, _ or a-z types that
 *   control character (scanners' "Control + ASCII" mode, e.g. GS as Ctrl+])
 *   inside a scan; outside a scan a Ctrl chord is ignored, so the chord some
 *   scanners send after the terminator does not start a scan. A GUI (Windows
 *   key) chord never types.
 * - Enter (0x28, keypad 0x58) and Tab (0x2B) end the scan when
 *   options.terminators says so, whatever modifiers are held, and otherwise
 *   type CR and HT. The keys a report lists after its terminator are not
 *   presses (a scan never begins in the report that ended the last one), and
 *   keys held across the terminator are not new in later reports.
 * - Keys that type nothing (F-keys, arrows, Esc, Backspace, Num Lock) are
 *   ignored; the keypad types digits (Num Lock is taken as on).
 *
 * HID POS (after the report id SCAN_HID_POS_REPORT_ID when report_id): the
 * chunks of hid_pos.h are joined until one without the more-data bit; the
 * AIM symbology identifier is not part of the scan. A scan whose next chunk
 * never comes is refused at the timeout ("HID POS scan incomplete"), not
 * passed on cut short; a chunk that cannot be read refuses the scan it was
 * part of.
 *
 * Both: a scan ends at its terminator (keyboard), its last chunk (HID POS),
 * or char_timeout_us after its last character, checked when the driver's
 * timer calls scan_decoder_expire() and before each report is read. A scan
 * longer than SCAN_MAX_BYTES is read to its end and refused whole, with one
 * error. Empty scans (a lone Enter) are dropped silently, as are empty
 * reports (a zero-length packet carries nothing). Errors say what was wrong
 * and never quote what was scanned.
 *
 * The callbacks must not free the decoder, nor feed, expire or reset it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hid_pos.h"
#include "keyboard_layout.h"
#include "scan_decoder.h"

/* Modifier bits of a boot keyboard report. */
#define MOD_LCTRL  0x01u
#define MOD_LSHIFT 0x02u
#define MOD_LALT   0x04u
#define MOD_LGUI   0x08u
#define MOD_RCTRL  0x10u
#define MOD_RSHIFT 0x20u
#define MOD_RALT   0x40u
#define MOD_RGUI   0x80u
#define MOD_CTRL   (MOD_LCTRL | MOD_RCTRL)
#define MOD_SHIFT  (MOD_LSHIFT | MOD_RSHIFT)
#define MOD_GUI    (MOD_LGUI | MOD_RGUI)

/* Keyboard usages (HID Usage Tables, page 0x07). */
#define USAGE_ERROR_ROLLOVER 0x01
#define USAGE_A              0x04
#define USAGE_ENTER          0x28
#define USAGE_TAB            0x2B
#define USAGE_CAPS_LOCK      0x39
#define USAGE_KP_ENTER       0x58
#define USAGE_KP_1           0x59
#define USAGE_KP_0           0x62
#define USAGE_FIRST_MODIFIER 0xE0
#define USAGE_LAST_MODIFIER  0xE7

/* modifiers, reserved byte, at least one key */
#define KEYBOARD_REPORT_MIN 3

struct scan_decoder {
	struct scan_decoder_options options;
	scan_done_fn done;
	scan_error_fn error;
	void *userdata;

	/* Keyboard: what the previous report held down. */
	uint8_t modifiers;
	uint8_t held[SCAN_MAX_REPORT];
	size_t n_held;
	bool caps_lock;
	const char *dead;    /* a dead key's accent waiting for the next key */
	unsigned alt_code;   /* Alt + keypad digits so far (stops growing past 255) */
	unsigned alt_digits; /* how many */

	/* The scan being read. */
	bool partial;
	const char *refused; /* why the scan is refused when it ends, or NULL */
	uint64_t last_us;    /* when its last character arrived */
	size_t len;
	char why[128]; /* an error message with a number in it */
	uint8_t bytes[SCAN_MAX_BYTES];
};

static void report_error(struct scan_decoder *d, const char *what)
{
	if (d->error)
		d->error(d->userdata, what);
}

static void touch(struct scan_decoder *d, uint64_t now_us)
{
	d->partial = true;
	d->last_us = now_us;
}

static void refuse(struct scan_decoder *d, const char *why, uint64_t now_us)
{
	touch(d, now_us);
	if (!d->refused)
		d->refused = why;
}

static void add_bytes(struct scan_decoder *d, const void *bytes, size_t n, uint64_t now_us)
{
	touch(d, now_us);
	if (d->refused)
		return;
	if (n > SCAN_MAX_BYTES - d->len) {
		d->refused = "scan too long";
		return;
	}
	memcpy(d->bytes + d->len, bytes, n);
	d->len += n;
}

static void add_text(struct scan_decoder *d, const char *text, uint64_t now_us)
{
	add_bytes(d, text, strlen(text), now_us);
}

static void flush_dead(struct scan_decoder *d, uint64_t now_us)
{
	const char *accent = d->dead;
	d->dead = NULL;
	if (accent)
		add_text(d, accent, now_us);
}

/* A typed (not dead) character, combined with a dead key waiting for it. */
static void type_text(struct scan_decoder *d, const char *text, uint64_t now_us)
{
	if (d->dead) {
		const char *accent = d->dead;
		d->dead = NULL;
		if (!strcmp(text, " ")) {
			add_text(d, accent, now_us);
			return;
		}
		const char *composed = keyboard_layout_compose(accent, text);
		if (composed) {
			add_text(d, composed, now_us);
			return;
		}
		add_text(d, accent, now_us);
	}
	add_text(d, text, now_us);
}

static void flush_alt(struct scan_decoder *d, uint64_t now_us)
{
	if (!d->alt_digits)
		return;
	unsigned code = d->alt_code;
	d->alt_code = 0;
	d->alt_digits = 0;
	flush_dead(d, now_us);
	if (code > 255) {
		refuse(d, "Alt+keypad code over 255", now_us);
		return;
	}
	uint8_t byte = (uint8_t)code;
	add_bytes(d, &byte, 1, now_us);
}

static void clear_scan(struct scan_decoder *d)
{
	d->partial = false;
	d->refused = NULL;
	d->len = 0;
	d->dead = NULL;
	d->alt_code = 0;
	d->alt_digits = 0;
}

/* Ends the scan being read: passes it on, or says why it is refused. */
static void end_scan(struct scan_decoder *d, bool timed_out, uint64_t now_us)
{
	flush_alt(d, now_us);
	flush_dead(d, now_us);
	if (!d->partial)
		return;
	const char *refused = d->refused;
	if (!refused && timed_out && d->options.protocol == SCAN_PROTOCOL_HID_POS)
		refused = "HID POS scan incomplete: the scanner announced more data and sent none";
	size_t len = d->len;
	clear_scan(d);
	if (refused)
		report_error(d, refused);
	else if (len)
		d->done(d->userdata, d->bytes, len);
}

static bool altgr_held(const struct scan_decoder *d, unsigned mods)
{
	if (!keyboard_layout_has_altgr(d->options.layout))
		return false;
	return (mods & MOD_RALT) || ((mods & MOD_CTRL) && (mods & MOD_LALT));
}

static bool alt_held(const struct scan_decoder *d, unsigned mods)
{
	if (altgr_held(d, mods))
		return false;
	if (mods & MOD_LALT)
		return true;
	return !keyboard_layout_has_altgr(d->options.layout) && (mods & MOD_RALT);
}

static void press_with_ctrl(struct scan_decoder *d, uint8_t usage, unsigned mods, uint64_t now_us)
{
	/* Outside a scan a chord is a scanner's (or a person's) shortcut. */
	if (!d->partial)
		return;
	struct layout_char c = keyboard_layout_char(d->options.layout, usage, mods & MOD_SHIFT,
	                                            false, d->caps_lock);
	if (!c.text || c.dead || c.text[0] == '\0' || c.text[1] != '\0')
		return;
	unsigned char ch = (unsigned char)c.text[0];
	if ((ch >= '@' && ch <= '_') || (ch >= 'a' && ch <= 'z')) {
		uint8_t control = ch & 0x1F;
		flush_dead(d, now_us);
		add_bytes(d, &control, 1, now_us);
	}
}

/* A key pressed (new in this report). True when it ended the scan. */
static bool press(struct scan_decoder *d, uint8_t usage, unsigned mods, uint64_t now_us)
{
	unsigned ends = d->options.terminators;
	if (usage == USAGE_ENTER || usage == USAGE_KP_ENTER || usage == USAGE_TAB) {
		unsigned bit = usage == USAGE_TAB ? SCAN_END_TAB : SCAN_END_ENTER;
		if (ends & bit) {
			end_scan(d, false, now_us);
			return true;
		}
		type_text(d, usage == USAGE_TAB ? "\t" : "\r", now_us);
		return false;
	}
	if (usage == USAGE_CAPS_LOCK) {
		d->caps_lock = !d->caps_lock;
		return false;
	}
	if (alt_held(d, mods)) {
		if (usage >= USAGE_KP_1 && usage <= USAGE_KP_0) {
			unsigned digit = usage == USAGE_KP_0 ? 0 : usage - USAGE_KP_1 + 1;
			if (d->alt_code <= 255)
				d->alt_code = d->alt_code * 10 + digit;
			d->alt_digits++;
			touch(d, now_us);
		}
		return false;
	}
	if (mods & MOD_GUI)
		return false;
	bool altgr = altgr_held(d, mods);
	if ((mods & MOD_CTRL) && !altgr) {
		press_with_ctrl(d, usage, mods, now_us);
		return false;
	}
	struct layout_char c = keyboard_layout_char(d->options.layout, usage, mods & MOD_SHIFT,
	                                            altgr, d->caps_lock);
	if (!c.text)
		return false;
	if (!c.dead) {
		type_text(d, c.text, now_us);
	} else if (d->dead) {
		/* Two dead keys: Windows types both accents. */
		flush_dead(d, now_us);
		add_text(d, c.text, now_us);
	} else {
		d->dead = c.text;
		touch(d, now_us);
	}
	return false;
}

/* Whether `usage` was held in the previous report and is not yet matched to
 * a key of this one (keys are counted, so a repeated key matches once). */
static bool still_held(const struct scan_decoder *d, bool *matched, uint8_t usage)
{
	for (size_t i = 0; i < d->n_held; i++)
		if (!matched[i] && d->held[i] == usage) {
			matched[i] = true;
			return true;
		}
	return false;
}

static void keyboard_report(struct scan_decoder *d, const uint8_t *report, size_t len,
                            uint64_t now_us)
{
	if (len < KEYBOARD_REPORT_MIN) {
		snprintf(d->why, sizeof(d->why),
		         "keyboard report too short (%zu bytes, at least %d)", len,
		         KEYBOARD_REPORT_MIN);
		report_error(d, d->why);
		return;
	}
	unsigned mods = report[0];
	const uint8_t *keys = report + 2;
	size_t n_keys = len - 2;

	if (alt_held(d, d->modifiers) && !alt_held(d, mods))
		flush_alt(d, now_us);
	d->modifiers = (uint8_t)mods;

	if (memchr(keys, USAGE_ERROR_ROLLOVER, n_keys))
		return;

	uint8_t held[SCAN_MAX_REPORT];
	bool matched[SCAN_MAX_REPORT] = {false};
	size_t n_held = 0;
	bool sequence = false, ended = false;
	for (size_t i = 0; i < n_keys; i++) {
		uint8_t usage = keys[i];
		if (usage < USAGE_A ||
		    (usage >= USAGE_FIRST_MODIFIER && usage <= USAGE_LAST_MODIFIER))
			continue;
		if (memchr(held, usage, n_held))
			sequence = true;
		held[n_held++] = usage;
		if (still_held(d, matched, usage) || ended)
			continue;
		ended = press(d, usage, mods, now_us);
	}
	memcpy(d->held, held, n_held);
	d->n_held = sequence ? 0 : n_held;
}

static void hid_pos_report(struct scan_decoder *d, const uint8_t *report, size_t len,
                           uint64_t now_us)
{
	struct hid_pos_chunk chunk;
	if (hid_pos_parse(report, len, &chunk, d->why, sizeof(d->why)) < 0) {
		report_error(d, d->why);
		/* The scan it belonged to lost a piece: its other chunks must not
		 * pass for a whole scan. */
		if (d->partial)
			refuse(d, "HID POS scan refused: one of its chunks could not be read",
			       now_us);
		return;
	}
	if (!chunk.len && !chunk.more && !d->partial)
		return;
	add_bytes(d, chunk.data, chunk.len, now_us);
	if (!chunk.more)
		end_scan(d, false, now_us);
}

struct scan_decoder *scan_decoder_new(const struct scan_decoder_options *options, scan_done_fn done,
                                      scan_error_fn error, void *userdata)
{
	if (!options || !done || (unsigned)options->protocol > SCAN_PROTOCOL_HID_POS ||
	    (unsigned)options->layout > SCAN_LAYOUT_FR ||
	    (options->terminators & ~(SCAN_END_ENTER | SCAN_END_TAB)) ||
	    options->char_timeout_us > SCAN_CHAR_TIMEOUT_MAX_US) {
		errno = EINVAL;
		return NULL;
	}
	struct scan_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->options = *options;
	if (!d->options.terminators)
		d->options.terminators = SCAN_END_ENTER | SCAN_END_TAB;
	if (!d->options.char_timeout_us)
		d->options.char_timeout_us = SCAN_CHAR_TIMEOUT_DEFAULT_US;
	d->done = done;
	d->error = error;
	d->userdata = userdata;
	return d;
}

void scan_decoder_free(struct scan_decoder *decoder)
{
	free(decoder);
}

void scan_decoder_feed(struct scan_decoder *d, const uint8_t *report, size_t len, uint64_t now_us)
{
	scan_decoder_expire(d, now_us);
	if (!len)
		return;
	if (len > SCAN_MAX_REPORT) {
		snprintf(d->why, sizeof(d->why), "report too long (%zu bytes, at most %d)", len,
		         SCAN_MAX_REPORT);
		report_error(d, d->why);
		return;
	}
	bool keyboard = d->options.protocol == SCAN_PROTOCOL_KEYBOARD;
	if (d->options.report_id) {
		unsigned want = keyboard ? SCAN_KEYBOARD_REPORT_ID : SCAN_HID_POS_REPORT_ID;
		if (report[0] != want) {
			snprintf(d->why, sizeof(d->why),
			         "report id %u unexpected (%s reports are id %u)", report[0],
			         keyboard ? "keyboard" : "HID POS", want);
			report_error(d, d->why);
			return;
		}
		report++;
		len--;
	}
	if (keyboard)
		keyboard_report(d, report, len, now_us);
	else
		hid_pos_report(d, report, len, now_us);
}

uint64_t scan_decoder_deadline(const struct scan_decoder *d)
{
	if (!d->partial)
		return 0;
	uint64_t timeout = d->options.char_timeout_us;
	if (d->last_us > UINT64_MAX - timeout)
		return UINT64_MAX;
	return d->last_us + timeout;
}

void scan_decoder_expire(struct scan_decoder *d, uint64_t now_us)
{
	if (d->partial && now_us >= scan_decoder_deadline(d))
		end_scan(d, true, now_us);
}

void scan_decoder_reset(struct scan_decoder *d)
{
	clear_scan(d);
	d->modifiers = 0;
	d->n_held = 0;
	d->caps_lock = false;
}
