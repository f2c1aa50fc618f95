/* SPDX-License-Identifier: MIT */
/*
 * keyboard_layout.c: the US, UK, German and French tables from HID usage to
 * typed characters, the dead keys' compositions, and the layouts' config
 * names. See keyboard_layout.h for why a scanner needs a layout at all.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "keyboard_layout.h"

/* Levels of a key: plain, Shift, AltGr, Shift+AltGr. */
enum { LEVEL_BASE, LEVEL_SHIFT, LEVEL_ALTGR, LEVEL_SHIFT_ALTGR, N_LEVELS };

struct key {
	const char *level[N_LEVELS];
	unsigned char dead; /* bit per level: that level is a dead key */
	bool letter;        /* Caps Lock shifts it */
};

/* The highest usage in a table: Keypad = (0x67). */
#define MAX_USAGE 0x67

#define LETTER(lo, up)                        \
	{                                     \
		{lo, up, NULL, NULL}, 0, true \
	}
#define LETTER_ALTGR(lo, up, a, sa)      \
	{                                \
		{lo, up, a, sa}, 0, true \
	}
#define KEY(b, s)                            \
	{                                    \
		{b, s, NULL, NULL}, 0, false \
	}
#define KEY_ALTGR(b, s, a)                \
	{                                 \
		{b, s, a, NULL}, 0, false \
	}
#define KEY_DEAD(b, s, a, dead)              \
	{                                    \
		{b, s, a, NULL}, dead, false \
	}
#define DEAD_BASE  (1u << LEVEL_BASE)
#define DEAD_SHIFT (1u << LEVEL_SHIFT)
#define DEAD_ALTGR (1u << LEVEL_ALTGR)

/* The numeric keypad with Num Lock on; `dec` is the decimal key's character. */
#define KEYPAD(dec)                                                             \
	[0x54] = KEY("/", "/"), [0x55] = KEY("*", "*"), [0x56] = KEY("-", "-"), \
	[0x57] = KEY("+", "+"), [0x59] = KEY("1", "1"), [0x5A] = KEY("2", "2"), \
	[0x5B] = KEY("3", "3"), [0x5C] = KEY("4", "4"), [0x5D] = KEY("5", "5"), \
	[0x5E] = KEY("6", "6"), [0x5F] = KEY("7", "7"), [0x60] = KEY("8", "8"), \
	[0x61] = KEY("9", "9"), [0x62] = KEY("0", "0"), [0x63] = KEY(dec, dec), \
	[0x67] = KEY("=", "=")

/* Letters every table shares, the ones no layout here moves or extends. */
#define COMMON_LETTERS                                                                   \
	[0x05] = LETTER("b", "B"), [0x06] = LETTER("c", "C"), [0x07] = LETTER("d", "D"), \
	[0x09] = LETTER("f", "F"), [0x0A] = LETTER("g", "G"), [0x0B] = LETTER("h", "H"), \
	[0x0D] = LETTER("j", "J"), [0x0E] = LETTER("k", "K"), [0x0F] = LETTER("l", "L"), \
	[0x11] = LETTER("n", "N"), [0x13] = LETTER("p", "P"), [0x15] = LETTER("r", "R"), \
	[0x16] = LETTER("s", "S"), [0x17] = LETTER("t", "T"), [0x19] = LETTER("v", "V"), \
	[0x1B] = LETTER("x", "X"), [0x2C] = KEY(" ", " ")

/* kbdus: 0x32 (ISO "#") and 0x64 (ISO "\") type what the ANSI backslash key does. */
static const struct key us[MAX_USAGE + 1] = {
        COMMON_LETTERS,
        [0x04] = LETTER("a", "A"),
        [0x08] = LETTER("e", "E"),
        [0x0C] = LETTER("i", "I"),
        [0x10] = LETTER("m", "M"),
        [0x12] = LETTER("o", "O"),
        [0x14] = LETTER("q", "Q"),
        [0x18] = LETTER("u", "U"),
        [0x1A] = LETTER("w", "W"),
        [0x1C] = LETTER("y", "Y"),
        [0x1D] = LETTER("z", "Z"),
        [0x1E] = KEY("1", "!"),
        [0x1F] = KEY("2", "@"),
        [0x20] = KEY("3", "#"),
        [0x21] = KEY("4", "$"),
        [0x22] = KEY("5", "%"),
        [0x23] = KEY("6", "^"),
        [0x24] = KEY("7", "&"),
        [0x25] = KEY("8", "*"),
        [0x26] = KEY("9", "("),
        [0x27] = KEY("0", ")"),
        [0x2D] = KEY("-", "_"),
        [0x2E] = KEY("=", "+"),
        [0x2F] = KEY("[", "{"),
        [0x30] = KEY("]", "}"),
        [0x31] = KEY("\\", "|"),
        [0x32] = KEY("\\", "|"),
        [0x33] = KEY(";", ":"),
        [0x34] = KEY("'", "\""),
        [0x35] = KEY("`", "~"),
        [0x36] = KEY(",", "<"),
        [0x37] = KEY(".", ">"),
        [0x38] = KEY("/", "?"),
        [0x64] = KEY("\\", "|"),
        KEYPAD("."),
};

/* kbduk: " on Shift+2, @ on Shift+', # and ~ on the ISO key (0x31 types the
 * same: an ANSI keyboard's backslash key is the ISO "#" key's scan code),
 * \ and | on the key left of Z; AltGr gives €, ¦ and acute vowels. */
static const struct key uk[MAX_USAGE + 1] = {
        COMMON_LETTERS,
        [0x04] = LETTER_ALTGR("a", "A", "\u00e1", "\u00c1"),
        [0x08] = LETTER_ALTGR("e", "E", "\u00e9", "\u00c9"),
        [0x0C] = LETTER_ALTGR("i", "I", "\u00ed", "\u00cd"),
        [0x10] = LETTER("m", "M"),
        [0x12] = LETTER_ALTGR("o", "O", "\u00f3", "\u00d3"),
        [0x14] = LETTER("q", "Q"),
        [0x18] = LETTER_ALTGR("u", "U", "\u00fa", "\u00da"),
        [0x1A] = LETTER("w", "W"),
        [0x1C] = LETTER("y", "Y"),
        [0x1D] = LETTER("z", "Z"),
        [0x1E] = KEY("1", "!"),
        [0x1F] = KEY("2", "\""),
        [0x20] = KEY("3", "\u00a3"),
        [0x21] = KEY_ALTGR("4", "$", "\u20ac"),
        [0x22] = KEY("5", "%"),
        [0x23] = KEY("6", "^"),
        [0x24] = KEY("7", "&"),
        [0x25] = KEY("8", "*"),
        [0x26] = KEY("9", "("),
        [0x27] = KEY("0", ")"),
        [0x2D] = KEY("-", "_"),
        [0x2E] = KEY("=", "+"),
        [0x2F] = KEY("[", "{"),
        [0x30] = KEY("]", "}"),
        [0x31] = KEY("#", "~"),
        [0x32] = KEY("#", "~"),
        [0x33] = KEY(";", ":"),
        [0x34] = KEY("'", "@"),
        [0x35] = KEY_ALTGR("`", "\u00ac", "\u00a6"),
        [0x36] = KEY(",", "<"),
        [0x37] = KEY(".", ">"),
        [0x38] = KEY("/", "?"),
        [0x64] = KEY("\\", "|"),
        KEYPAD("."),
};

/* kbdgr (QWERTZ): y and z swapped, umlauts and ß where US has punctuation,
 * brackets and braces on AltGr+7..0, @ on AltGr+Q; ^, ´ and ` are dead keys.
 * The keypad's decimal key types a comma. */
static const struct key de[MAX_USAGE + 1] = {
        COMMON_LETTERS,
        [0x04] = LETTER("a", "A"),
        [0x08] = LETTER_ALTGR("e", "E", "\u20ac", NULL),
        [0x0C] = LETTER("i", "I"),
        [0x10] = LETTER_ALTGR("m", "M", "\u00b5", NULL),
        [0x12] = LETTER("o", "O"),
        [0x14] = LETTER_ALTGR("q", "Q", "@", NULL),
        [0x18] = LETTER("u", "U"),
        [0x1A] = LETTER("w", "W"),
        [0x1C] = LETTER("z", "Z"),
        [0x1D] = LETTER("y", "Y"),
        [0x1E] = KEY("1", "!"),
        [0x1F] = KEY_ALTGR("2", "\"", "\u00b2"),
        [0x20] = KEY_ALTGR("3", "\u00a7", "\u00b3"),
        [0x21] = KEY("4", "$"),
        [0x22] = KEY("5", "%"),
        [0x23] = KEY("6", "&"),
        [0x24] = KEY_ALTGR("7", "/", "{"),
        [0x25] = KEY_ALTGR("8", "(", "["),
        [0x26] = KEY_ALTGR("9", ")", "]"),
        [0x27] = KEY_ALTGR("0", "=", "}"),
        [0x2D] = KEY_ALTGR("\u00df", "?", "\\"),
        [0x2E] = KEY_DEAD("\u00b4", "`", NULL, DEAD_BASE | DEAD_SHIFT),
        [0x2F] = LETTER("\u00fc", "\u00dc"),
        [0x30] = KEY_ALTGR("+", "*", "~"),
        [0x31] = KEY("#", "'"),
        [0x32] = KEY("#", "'"),
        [0x33] = LETTER("\u00f6", "\u00d6"),
        [0x34] = LETTER("\u00e4", "\u00c4"),
        [0x35] = KEY_DEAD("^", "\u00b0", NULL, DEAD_BASE),
        [0x36] = KEY(",", ";"),
        [0x37] = KEY(".", ":"),
        [0x38] = KEY("-", "_"),
        [0x64] = KEY_ALTGR("<", ">", "|"),
        KEYPAD(","),
};

/* kbdfr (AZERTY): a/q and z/w swapped, m right of l, the digits on Shift
 * (plain, the top row types & é " ' ( - è _ ç à); # { [ | ` \ ^ @ ] } on
 * AltGr; ^ and ¨ (and AltGr's ~ and `) are dead keys. */
static const struct key fr[MAX_USAGE + 1] = {
        COMMON_LETTERS,
        [0x04] = LETTER("q", "Q"),
        [0x08] = LETTER_ALTGR("e", "E", "\u20ac", NULL),
        [0x0C] = LETTER("i", "I"),
        [0x10] = KEY(",", "?"),
        [0x12] = LETTER("o", "O"),
        [0x14] = LETTER("a", "A"),
        [0x18] = LETTER("u", "U"),
        [0x1A] = LETTER("z", "Z"),
        [0x1C] = LETTER("y", "Y"),
        [0x1D] = LETTER("w", "W"),
        [0x1E] = KEY("&", "1"),
        [0x1F] = KEY_DEAD("\u00e9", "2", "~", DEAD_ALTGR),
        [0x20] = KEY_ALTGR("\"", "3", "#"),
        [0x21] = KEY_ALTGR("'", "4", "{"),
        [0x22] = KEY_ALTGR("(", "5", "["),
        [0x23] = KEY_ALTGR("-", "6", "|"),
        [0x24] = KEY_DEAD("\u00e8", "7", "`", DEAD_ALTGR),
        [0x25] = KEY_ALTGR("_", "8", "\\"),
        [0x26] = KEY_ALTGR("\u00e7", "9", "^"),
        [0x27] = KEY_ALTGR("\u00e0", "0", "@"),
        [0x2D] = KEY_ALTGR(")", "\u00b0", "]"),
        [0x2E] = KEY_ALTGR("=", "+", "}"),
        [0x2F] = KEY_DEAD("^", "\u00a8", NULL, DEAD_BASE | DEAD_SHIFT),
        [0x30] = KEY_ALTGR("$", "\u00a3", "\u00a4"),
        [0x31] = KEY("*", "\u00b5"),
        [0x32] = KEY("*", "\u00b5"),
        [0x33] = LETTER("m", "M"),
        [0x34] = KEY("\u00f9", "%"),
        [0x35] = KEY("\u00b2", NULL),
        [0x36] = KEY(";", "."),
        [0x37] = KEY(":", "/"),
        [0x38] = KEY("!", "\u00a7"),
        [0x64] = KEY("<", ">"),
        KEYPAD("."),
};

static const struct key *table(enum scan_layout layout)
{
	switch (layout) {
	case SCAN_LAYOUT_UK:
		return uk;
	case SCAN_LAYOUT_DE:
		return de;
	case SCAN_LAYOUT_FR:
		return fr;
	case SCAN_LAYOUT_US:
	default:
		return us;
	}
}

bool keyboard_layout_has_altgr(enum scan_layout layout)
{
	return layout != SCAN_LAYOUT_US;
}

struct layout_char keyboard_layout_char(enum scan_layout layout, uint8_t usage, bool shift,
                                        bool altgr, bool caps_lock)
{
	struct layout_char none = {NULL, false};
	if (usage > MAX_USAGE)
		return none;
	const struct key *k = &table(layout)[usage];
	if (k->letter && caps_lock)
		shift = !shift;
	unsigned level = (altgr ? LEVEL_ALTGR : LEVEL_BASE) + (shift ? 1 : 0);
	return (struct layout_char){k->level[level], (k->dead >> level) & 1};
}

/* Dead key + base letter = precomposed letter, for the accents the four
 * layouts have as dead keys (Windows' compositions for Latin letters). */
static const struct {
	const char *accent, *base, *composed;
} compositions[] = {
        {"^", "a", "\u00e2"},      {"^", "e", "\u00ea"},      {"^", "i", "\u00ee"},
        {"^", "o", "\u00f4"},      {"^", "u", "\u00fb"},      {"^", "A", "\u00c2"},
        {"^", "E", "\u00ca"},      {"^", "I", "\u00ce"},      {"^", "O", "\u00d4"},
        {"^", "U", "\u00db"},      {"`", "a", "\u00e0"},      {"`", "e", "\u00e8"},
        {"`", "i", "\u00ec"},      {"`", "o", "\u00f2"},      {"`", "u", "\u00f9"},
        {"`", "A", "\u00c0"},      {"`", "E", "\u00c8"},      {"`", "I", "\u00cc"},
        {"`", "O", "\u00d2"},      {"`", "U", "\u00d9"},      {"\u00b4", "a", "\u00e1"},
        {"\u00b4", "e", "\u00e9"}, {"\u00b4", "i", "\u00ed"}, {"\u00b4", "o", "\u00f3"},
        {"\u00b4", "u", "\u00fa"}, {"\u00b4", "y", "\u00fd"}, {"\u00b4", "A", "\u00c1"},
        {"\u00b4", "E", "\u00c9"}, {"\u00b4", "I", "\u00cd"}, {"\u00b4", "O", "\u00d3"},
        {"\u00b4", "U", "\u00da"}, {"\u00b4", "Y", "\u00dd"}, {"~", "a", "\u00e3"},
        {"~", "o", "\u00f5"},      {"~", "n", "\u00f1"},      {"~", "A", "\u00c3"},
        {"~", "O", "\u00d5"},      {"~", "N", "\u00d1"},      {"\u00a8", "a", "\u00e4"},
        {"\u00a8", "e", "\u00eb"}, {"\u00a8", "i", "\u00ef"}, {"\u00a8", "o", "\u00f6"},
        {"\u00a8", "u", "\u00fc"}, {"\u00a8", "y", "\u00ff"}, {"\u00a8", "A", "\u00c4"},
        {"\u00a8", "E", "\u00cb"}, {"\u00a8", "I", "\u00cf"}, {"\u00a8", "O", "\u00d6"},
        {"\u00a8", "U", "\u00dc"},
};

const char *keyboard_layout_compose(const char *accent, const char *base)
{
	for (size_t i = 0; i < sizeof(compositions) / sizeof(compositions[0]); i++)
		if (!strcmp(compositions[i].accent, accent) && !strcmp(compositions[i].base, base))
			return compositions[i].composed;
	return NULL;
}

static const char *const names[] = {
        [SCAN_LAYOUT_US] = "us",
        [SCAN_LAYOUT_UK] = "uk",
        [SCAN_LAYOUT_DE] = "de",
        [SCAN_LAYOUT_FR] = "fr",
};

const char *scan_layout_name(enum scan_layout layout)
{
	if ((unsigned)layout >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[layout];
}

int scan_layout_from_name(const char *name, enum scan_layout *ret)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], name)) {
			*ret = (enum scan_layout)i;
			return 0;
		}
	return -EINVAL;
}
