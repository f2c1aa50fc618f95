/* SPDX-License-Identifier: MIT */
/*
 * test_scan_layouts.c: what each keyboard layout's scanner sends for the
 * characters a QR code holds, and what porter reads from it: every printable
 * ASCII character that is not a plain letter or digit, each layout's own
 * characters (UTF-8), AltGr, dead keys, and config names.
 *
 * Each row is one key press as the scanner sends it (key-down report, then
 * all keys up), with what it types; a layout's rows are one scan.
 */
#include <errno.h>

#include "scan_fixture.h"

#define S  LSHIFT
#define AG RALT

struct press {
	uint8_t mods, usage;
	const char *types; /* "" for a dead key: it types with the next press */
};

static void type_rows(enum scan_layout layout, const struct press *rows, size_t n)
{
	struct scan_env *env = scan_env_new((struct scan_decoder_options){
	        .protocol = SCAN_PROTOCOL_KEYBOARD, .layout = layout});
	char expected[1024] = "";
	for (size_t i = 0; i < n; i++) {
		TAP(env, rows[i].mods, rows[i].usage);
		strcat(expected, rows[i].types);
	}
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_errors, 0);
	assert_int_equal(env->n_scans, 1);
	assert_string_equal((char *)env->scans[0], expected);
	scan_env_free(env);
}

#define TYPE_ROWS(layout, rows) type_rows((layout), (rows), sizeof(rows) / sizeof((rows)[0]))

/* The punctuation row and the shifted digits, where a US keyboard has them. */
static void test_us_types_every_printable_ascii_symbol(void **state)
{
	static const struct press rows[] = {
	        {S, 0x1E, "!"},    {S, 0x1F, "@"},     {S, 0x20, "#"},      {S, 0x21, "$"},
	        {S, 0x22, "%"},    {S, 0x23, "^"},     {S, 0x24, "&"},      {S, 0x25, "*"},
	        {S, 0x26, "("},    {S, 0x27, ")"},     {0, 0x2D, "-"},      {S, 0x2D, "_"},
	        {0, 0x2E, "="},    {S, 0x2E, "+"},     {0, 0x2F, "["},      {S, 0x2F, "{"},
	        {0, 0x30, "]"},    {S, 0x30, "}"},     {0, 0x31, "\\"},     {S, 0x31, "|"},
	        {0, 0x33, ";"},    {S, 0x33, ":"},     {0, 0x34, "'"},      {S, 0x34, "\""},
	        {0, 0x35, "`"},    {S, 0x35, "~"},     {0, 0x36, ","},      {S, 0x36, "<"},
	        {0, 0x37, "."},    {S, 0x37, ">"},     {0, 0x38, "/"},      {S, 0x38, "?"},
	        {0, K_SPACE, " "}, {0, 0x1C, "y"},     {RSHIFT, 0x1D, "Z"}, {0, 0x64, "\\"},
	        {0, 0x56, "-"},    {0, K_KP_DOT, "."},
	};
	(void)state;
	TYPE_ROWS(SCAN_LAYOUT_US, rows);
}

static void test_uk_moves_quote_at_hash_and_tilde(void **state)
{
	static const struct press rows[] = {
	        {S, 0x1F, "\""},      {S, 0x34, "@"},       {0, 0x34, "'"},
	        {0, 0x32, "#"},       {S, 0x32, "~"},       {0, 0x31, "#"},
	        {0, 0x64, "\\"},      {S, 0x64, "|"},       {0, 0x35, "`"},
	        {S, 0x23, "^"},       {S, 0x1E, "!"},       {S, 0x21, "$"},
	        {S, 0x20, "\u00a3"},  {S, 0x35, "\u00ac"},  {AG, 0x35, "\u00a6"},
	        {AG, 0x21, "\u20ac"}, {AG, 0x08, "\u00e9"}, {AG | S, 0x04, "\u00c1"},
	        {0, 0x2F, "["},       {S, 0x30, "}"},       {0, 0x1C, "y"},
	        {0, 0x1D, "z"},
	};
	(void)state;
	TYPE_ROWS(SCAN_LAYOUT_UK, rows);
}

static void test_de_qwertz_umlauts_altgr_and_dead_keys(void **state)
{
	static const struct press rows[] = {
	        /* y and z swapped */
	        {0, 0x1C, "z"},
	        {0, 0x1D, "y"},
	        {S, 0x1C, "Z"},
	        {S, 0x1D, "Y"},
	        /* ß and umlauts, UTF-8 */
	        {0, 0x2D, "\u00df"},
	        {0, 0x2F, "\u00fc"},
	        {S, 0x2F, "\u00dc"},
	        {0, 0x33, "\u00f6"},
	        {0, 0x34, "\u00e4"},
	        {S, 0x34, "\u00c4"},
	        /* @ on AltGr+Q, and Ctrl+left Alt is AltGr too */
	        {AG, 0x14, "@"},
	        {LCTRL | LALT, 0x14, "@"},
	        {AG, 0x08, "\u20ac"},
	        {AG, 0x24, "{"},
	        {AG, 0x25, "["},
	        {AG, 0x26, "]"},
	        {AG, 0x27, "}"},
	        {AG, 0x2D, "\\"},
	        {AG, 0x30, "~"},
	        {AG, 0x64, "|"},
	        /* symbols on shifted digits and moved punctuation */
	        {S, 0x1E, "!"},
	        {S, 0x1F, "\""},
	        {S, 0x20, "\u00a7"},
	        {S, 0x21, "$"},
	        {S, 0x22, "%"},
	        {S, 0x23, "&"},
	        {S, 0x24, "/"},
	        {S, 0x25, "("},
	        {S, 0x26, ")"},
	        {S, 0x27, "="},
	        {S, 0x2D, "?"},
	        {0, 0x30, "+"},
	        {S, 0x30, "*"},
	        {0, 0x32, "#"},
	        {S, 0x32, "'"},
	        {0, 0x38, "-"},
	        {S, 0x38, "_"},
	        {0, 0x36, ","},
	        {S, 0x36, ";"},
	        {0, 0x37, "."},
	        {S, 0x37, ":"},
	        {0, 0x64, "<"},
	        {S, 0x64, ">"},
	        {S, 0x35, "\u00b0"},
	        /* dead keys: with a space the accent alone, with a vowel the
	         * accented letter, with anything else both, twice both */
	        {0, 0x35, ""},
	        {0, K_SPACE, "^"},
	        {S, 0x2E, ""},
	        {0, K_SPACE, "`"},
	        {0, 0x2E, ""},
	        {0, K_SPACE, "\u00b4"},
	        {0, 0x35, ""},
	        {0, 0x08, "\u00ea"},
	        {0, 0x2E, ""},
	        {S, 0x08, "\u00c9"},
	        {0, 0x35, ""},
	        {0, 0x1B, "^x"},
	        {0, 0x35, ""},
	        {0, 0x35, "^^"},
	        /* the keypad's decimal key types a comma */
	        {0, K_KP_DOT, ","},
	};
	(void)state;
	TYPE_ROWS(SCAN_LAYOUT_DE, rows);
}

static void test_fr_azerty_digits_need_shift(void **state)
{
	static const struct press rows[] = {
	        /* the top row: digits on Shift, the plain keys type symbols */
	        {S, 0x1E, "1"},
	        {S, 0x1F, "2"},
	        {S, 0x20, "3"},
	        {S, 0x21, "4"},
	        {S, 0x22, "5"},
	        {S, 0x23, "6"},
	        {S, 0x24, "7"},
	        {S, 0x25, "8"},
	        {S, 0x26, "9"},
	        {S, 0x27, "0"},
	        {0, 0x1E, "&"},
	        {0, 0x1F, "\u00e9"},
	        {0, 0x20, "\""},
	        {0, 0x21, "'"},
	        {0, 0x22, "("},
	        {0, 0x23, "-"},
	        {0, 0x24, "\u00e8"},
	        {0, 0x25, "_"},
	        {0, 0x26, "\u00e7"},
	        {0, 0x27, "\u00e0"},
	        /* a/q and z/w swapped, m right of l, comma where US has m */
	        {0, 0x14, "a"},
	        {0, 0x04, "q"},
	        {0, 0x1A, "z"},
	        {0, 0x1D, "w"},
	        {0, 0x33, "m"},
	        {S, 0x33, "M"},
	        {0, 0x10, ","},
	        {S, 0x10, "?"},
	        /* punctuation */
	        {0, 0x2D, ")"},
	        {S, 0x2D, "\u00b0"},
	        {0, 0x2E, "="},
	        {S, 0x2E, "+"},
	        {0, 0x36, ";"},
	        {S, 0x36, "."},
	        {0, 0x37, ":"},
	        {S, 0x37, "/"},
	        {0, 0x38, "!"},
	        {S, 0x38, "\u00a7"},
	        {0, 0x34, "\u00f9"},
	        {S, 0x34, "%"},
	        {0, 0x30, "$"},
	        {S, 0x30, "\u00a3"},
	        {0, 0x31, "*"},
	        {0, 0x64, "<"},
	        {S, 0x64, ">"},
	        {0, 0x35, "\u00b2"},
	        /* AltGr */
	        {AG, 0x20, "#"},
	        {AG, 0x21, "{"},
	        {AG, 0x22, "["},
	        {AG, 0x23, "|"},
	        {AG, 0x25, "\\"},
	        {AG, 0x26, "^"},
	        {AG, 0x27, "@"},
	        {AG, 0x2D, "]"},
	        {AG, 0x2E, "}"},
	        {AG, 0x08, "\u20ac"},
	        /* dead keys: AltGr's ~ and `, ^ and ¨ */
	        {AG, 0x1F, ""},
	        {0, K_SPACE, "~"},
	        {AG, 0x24, ""},
	        {0, K_SPACE, "`"},
	        {0, 0x2F, ""},
	        {0, 0x14, "\u00e2"},
	        {S, 0x2F, ""},
	        {0, 0x08, "\u00eb"},
	        {AG, 0x1F, ""},
	        {0, 0x11, "\u00f1"},
	        {0, K_KP_DOT, "."},
	};
	(void)state;
	TYPE_ROWS(SCAN_LAYOUT_FR, rows);
}

/* A URL as a French scanner sends it: every ':' '/' '.' '?' and digit is a
 * different key than on US. */
static void test_fr_url_as_a_scanner_sends_it(void **state)
{
	static const struct press rows[] = {
	        {0, 0x0B, "h"}, {0, 0x17, "t"}, {0, 0x17, "t"}, {0, 0x13, "p"}, {0, 0x16, "s"},
	        {0, 0x37, ":"}, {S, 0x37, "/"}, {S, 0x37, "/"}, {0, 0x1B, "x"}, {S, 0x36, "."},
	        {0, 0x09, "f"}, {0, 0x15, "r"}, {S, 0x37, "/"}, {S, 0x10, "?"}, {0, 0x14, "a"},
	        {0, 0x2E, "="}, {S, 0x1E, "1"}, {S, 0x1E, "1"}, {0, 0x1E, "&"}, {0, 0x1D, "w"},
	        {0, 0x2E, "="}, {S, 0x23, "6"},
	};
	(void)state;
	TYPE_ROWS(SCAN_LAYOUT_FR, rows);
}

static void test_caps_lock_on_de_shifts_umlauts_too(void **state)
{
	(void)state;
	struct scan_env *env = scan_env_new((struct scan_decoder_options){
	        .protocol = SCAN_PROTOCOL_KEYBOARD, .layout = SCAN_LAYOUT_DE});
	TAP(env, 0, K_CAPS);
	TAP(env, 0, 0x34);
	TAP(env, 0, 0x1C);
	TAP(env, 0, 0x2D); /* ß has no capital on the keyboard */
	TAP(env, 0, KD(7));
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "\u00c4Z\u00df"
	                     "7");
	scan_env_free(env);
}

static void test_right_alt_is_altgr_so_alt_codes_need_left_alt(void **state)
{
	(void)state;
	struct scan_env *env = scan_env_new((struct scan_decoder_options){
	        .protocol = SCAN_PROTOCOL_KEYBOARD, .layout = SCAN_LAYOUT_DE});
	KEYS(env, RALT, KP(6), KP(5)); /* AltGr + keypad types nothing (as on Windows) */
	UP(env);
	KEYS(env, LALT, KP(6), KP(5)); /* Alt + keypad: 'A' */
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "A");
	scan_env_free(env);
}

static void test_a_dead_key_pending_at_the_end_types_its_accent(void **state)
{
	(void)state;
	struct scan_env *env =
	        scan_env_new((struct scan_decoder_options){.protocol = SCAN_PROTOCOL_KEYBOARD,
	                                                   .layout = SCAN_LAYOUT_FR,
	                                                   .char_timeout_us = 10000});
	type_plain(env, "b");
	TAP(env, 0, 0x2F);
	TAP(env, 0, K_ENTER);
	TAP(env, 0, 0x2F); /* a dead key alone is a partial scan: it times out */
	assert_int_not_equal(scan_decoder_deadline(env->decoder), 0);
	scan_decoder_expire(env->decoder, env->now_us + 10000);
	assert_int_equal(env->n_scans, 2);
	assert_string_equal((char *)env->scans[0], "b^");
	assert_string_equal((char *)env->scans[1], "^");
	scan_env_free(env);
}

static void test_layout_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum scan_layout layout;
	} names[] = {{"us", SCAN_LAYOUT_US},
	             {"uk", SCAN_LAYOUT_UK},
	             {"de", SCAN_LAYOUT_DE},
	             {"fr", SCAN_LAYOUT_FR}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum scan_layout layout = SCAN_LAYOUT_FR;
		assert_int_equal(scan_layout_from_name(names[i].name, &layout), 0);
		assert_int_equal(layout, names[i].layout);
	}
	enum scan_layout untouched = SCAN_LAYOUT_UK;
	assert_int_equal(scan_layout_from_name("US", &untouched), -EINVAL);
	assert_int_equal(scan_layout_from_name("gb", &untouched), -EINVAL);
	assert_int_equal(scan_layout_from_name("", &untouched), -EINVAL);
	assert_int_equal(scan_layout_from_name(NULL, &untouched), -EINVAL);
	assert_int_equal(untouched, SCAN_LAYOUT_UK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_us_types_every_printable_ascii_symbol),
	        cmocka_unit_test(test_uk_moves_quote_at_hash_and_tilde),
	        cmocka_unit_test(test_de_qwertz_umlauts_altgr_and_dead_keys),
	        cmocka_unit_test(test_fr_azerty_digits_need_shift),
	        cmocka_unit_test(test_fr_url_as_a_scanner_sends_it),
	        cmocka_unit_test(test_caps_lock_on_de_shifts_umlauts_too),
	        cmocka_unit_test(test_right_alt_is_altgr_so_alt_codes_need_left_alt),
	        cmocka_unit_test(test_a_dead_key_pending_at_the_end_types_its_accent),
	        cmocka_unit_test(test_layout_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
