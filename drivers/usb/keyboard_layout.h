/* SPDX-License-Identifier: MIT */
/*
 * keyboard_layout.h: what a key (a HID keyboard usage) types on the keyboard
 * layout a keyboard-emulation scanner was set to ("keyboard country").
 *
 * A scanner turns each character of a code into the key presses that type it
 * on the layout it was told the computer uses; decoding with any other layout
 * turns "@" into '"' (UK) or "y" into "z" (DE). The tables follow the Windows
 * layouts scanners are made for (kbdus, kbduk, kbdgr, kbdfr), with the numeric
 * keypad typing digits (Num Lock on). Characters outside ASCII are UTF-8.
 *
 * Keys that type nothing (Enter, Tab, Caps Lock, F-keys, arrows, modifiers)
 * are not in the tables: the decoder handles the ones that matter.
 */
#ifndef PORTER_KEYBOARD_LAYOUT_H
#define PORTER_KEYBOARD_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "scan_decoder.h"

/* What one key press types. */
struct layout_char {
	const char *text; /* UTF-8, NUL-terminated; NULL: the key types nothing */
	bool dead;        /* a dead key: `text` is its accent, it waits for the next key */
};

/* Whether the right Alt key is AltGr on this layout (UK, DE, FR), rather than
 * a second Alt (US). */
bool keyboard_layout_has_altgr(enum scan_layout layout);

/* What pressing `usage` types with these modifiers. Caps Lock shifts letters
 * only (a Shift held with it types lower case), as on Windows for US, UK, DE
 * and for the letters of FR. */
struct layout_char keyboard_layout_char(enum scan_layout layout, uint8_t usage, bool shift,
                                        bool altgr, bool caps_lock);

/* A dead key's accent followed by `base`: the precomposed character (UTF-8),
 * or NULL when the pair does not combine (Windows then types both). */
const char *keyboard_layout_compose(const char *accent, const char *base);

/* The config name of a layout ("us", "uk", "de", "fr"). */
const char *scan_layout_name(enum scan_layout layout);

#endif
