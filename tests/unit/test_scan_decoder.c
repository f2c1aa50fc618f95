/* SPDX-License-Identifier: MIT */
/*
 * test_scan_decoder.c: keyboard-emulation scanners' report sequences, as
 * real scanners send them, become the scans a person presented (US layout;
 * the other layouts are in test_scan_layouts.c, HID POS in
 * test_scan_hid_pos.c).
 */
#include <errno.h>

#include "scan_fixture.h"

static const struct scan_decoder_options us_enter = {
        .protocol = SCAN_PROTOCOL_KEYBOARD,
        .layout = SCAN_LAYOUT_US,
        .terminators = SCAN_END_ENTER,
        .char_timeout_us = 50000,
};

static int setup(void **state)
{
	*state = scan_env_new(us_enter);
	return 0;
}

static int teardown(void **state)
{
	scan_env_free(*state);
	return 0;
}

static void test_each_key_down_then_all_up_types_the_code(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "v1 x9");
	assert_int_equal(env->n_scans, 0);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "v1 x9");
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
}

static void test_a_key_held_across_reports_types_once(void **state)
{
	struct scan_env *env = *state;
	/* The scanner repeats its key-down report while the key is down. */
	KEYS(env, 0, K_('a'));
	KEYS(env, 0, K_('a'));
	KEYS(env, 0, K_('a'));
	UP(env);
	KEYS(env, LSHIFT, K_('b'));
	KEYS(env, LSHIFT, K_('b'));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "aB");
}

static void test_a_key_pressed_twice_with_a_release_between_types_twice(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "b");
	TAP(env, 0, K_('o'));
	TAP(env, 0, K_('o'));
	type_plain(env, "k");
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "book");
}

static void test_the_same_key_twice_in_one_report_types_twice(void **state)
{
	struct scan_env *env = *state;
	KEYS(env, 0, K_('b'), K_('o'), K_('o'), K_('k'));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "book");
}

static void test_several_presses_in_one_report_type_in_order(void **state)
{
	struct scan_env *env = *state;
	KEYS(env, 0, K_('q'), K_('r'), K_('c'), KD(4), KD(2), K_('x'));
	UP(env);
	KEYS(env, 0, K_ENTER);
	UP(env);
	assert_one_scan(env, "qrc42x");
}

static void test_a_packed_report_holds_nothing_for_the_next(void **state)
{
	struct scan_env *env = *state;
	/* A report listing a key twice is a sequence of presses: the next
	 * report's keys are new presses even without a release between. */
	KEYS(env, 0, K_('a'), K_('b'), K_('a'));
	KEYS(env, 0, K_('a'));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "abaa");
}

static void test_a_repeated_key_counts_against_the_previous_report(void **state)
{
	struct scan_env *env = *state;
	KEYS(env, 0, K_('a'));
	KEYS(env, 0, K_('a'), K_('a')); /* one 'a' still held, one new */
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "aa");
}

static void test_shift_types_capitals_and_symbols(void **state)
{
	struct scan_env *env = *state;
	TAP(env, LSHIFT, K_('h'));
	TAP(env, RSHIFT, KD(1));
	/* Shift pressed alone first, then the key, then released separately. */
	KEYS(env, LSHIFT, 0);
	KEYS(env, LSHIFT, KD(2));
	KEYS(env, LSHIFT, 0);
	UP(env);
	/* Shift released in the same report as the next key is pressed. */
	KEYS(env, LSHIFT, K_('q'));
	KEYS(env, 0, K_('r'));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "H!@Qr");
}

static void test_rollover_types_each_key_once_in_press_order(void **state)
{
	struct scan_env *env = *state;
	/* The next key goes down before the last one is up. */
	KEYS(env, 0, K_('a'));
	KEYS(env, 0, K_('a'), K_('b'));
	KEYS(env, 0, K_('b'));
	KEYS(env, 0, K_('c'), K_('b')); /* a keyboard may list keys in any order */
	KEYS(env, 0, K_('c'));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "abc");
}

static void test_error_rollover_keeps_the_held_keys(void **state)
{
	struct scan_env *env = *state;
	KEYS(env, 0, K_('a'));
	KEYS(env, 0, K_ROLLOVER, K_ROLLOVER, K_ROLLOVER, K_ROLLOVER, K_ROLLOVER, K_ROLLOVER);
	KEYS(env, 0, K_('a')); /* still the same press */
	KEYS(env, 0, K_('a'), K_('z'));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "az");
}

static void test_reports_of_modifiers_alone_type_nothing(void **state)
{
	struct scan_env *env = *state;
	KEYS(env, LSHIFT, 0);
	KEYS(env, LCTRL | LSHIFT, 0);
	KEYS(env, RALT, 0);
	UP(env);
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	assert_int_equal(env->n_scans + env->n_errors, 0);
}

static void test_report_id_prefix(void **state)
{
	struct scan_env *env = *state;
	struct scan_decoder_options options = us_enter;
	options.report_id = true;
	struct scan_env *ids = scan_env_new(options);
	uint8_t down[9] = {SCAN_KEYBOARD_REPORT_ID, LSHIFT, 0, K_('o')};
	uint8_t up[9] = {SCAN_KEYBOARD_REPORT_ID};
	uint8_t enter[9] = {SCAN_KEYBOARD_REPORT_ID, 0, 0, K_ENTER};
	uint8_t other[9] = {3, 0, 0, K_('x')}; /* e.g. a consumer-control report */
	feed(ids, down, sizeof(down));
	feed(ids, up, sizeof(up));
	feed(ids, other, sizeof(other));
	feed(ids, enter, sizeof(enter));
	assert_int_equal(ids->n_scans, 1);
	assert_string_equal((char *)ids->scans[0], "O");
	assert_int_equal(ids->n_errors, 1);
	assert_string_equal(ids->errors[0], "report id 3 unexpected (keyboard reports are id 1)");
	scan_env_free(ids);
	(void)env;
}

static void test_enter_and_keypad_enter_end_a_scan(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "one");
	TAP(env, 0, K_ENTER);
	type_plain(env, "two");
	TAP(env, 0, K_KP_ENTER);
	assert_int_equal(env->n_scans, 2);
	assert_string_equal((char *)env->scans[0], "one");
	assert_string_equal((char *)env->scans[1], "two");
}

static void test_tab_ends_a_scan_only_when_configured(void **state)
{
	struct scan_env *env = *state;
	/* Enter only: Tab is part of the code. */
	type_plain(env, "a");
	TAP(env, 0, K_TAB);
	type_plain(env, "b");
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "a\tb");

	struct scan_decoder_options options = us_enter;
	options.terminators = 0; /* Enter and Tab */
	struct scan_env *both = scan_env_new(options);
	type_plain(both, "a");
	TAP(both, 0, K_TAB);
	assert_one_scan(both, "a");
	scan_env_free(both);

	options.terminators = SCAN_END_TAB;
	struct scan_env *tab = scan_env_new(options);
	type_plain(tab, "a");
	TAP(tab, 0, K_ENTER);
	type_plain(tab, "b");
	TAP(tab, 0, K_TAB);
	assert_one_scan(tab, "a\rb");
	scan_env_free(tab);
}

static void test_a_chord_after_enter_starts_no_scan(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "abc");
	KEYS(env, 0, K_ENTER);
	/* Seen: Ctrl+Shift chords after the terminator, some with a key. */
	KEYS(env, LCTRL | LSHIFT, K_ENTER);
	KEYS(env, LCTRL | LSHIFT, 0);
	KEYS(env, LCTRL | LSHIFT, K_('j'));
	KEYS(env, LCTRL, 0);
	KEYS(env, LGUI, K_('r'));
	UP(env);
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	scan_decoder_expire(env->decoder, env->now_us + 10000000);
	assert_one_scan(env, "abc");
}

static void test_keys_after_the_terminator_in_its_report_are_not_presses(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "ab");
	KEYS(env, 0, K_ENTER, K_('x'));
	KEYS(env, 0, K_('x')); /* still held: not new either */
	UP(env);
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	assert_one_scan(env, "ab");
}

static void test_a_key_held_across_the_terminator_is_not_a_new_press(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "x");
	KEYS(env, 0, K_('c'));
	KEYS(env, 0, K_('c'), K_ENTER);
	KEYS(env, 0, K_('c'));
	UP(env);
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	assert_one_scan(env, "xc");
}

static void test_the_inter_character_timeout_ends_a_partial_scan(void **state)
{
	struct scan_env *env = *state;
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	type_plain(env, "ab");
	uint64_t last_char = env->now_us - 1000; /* the last key-down report */
	assert_int_equal(scan_decoder_deadline(env->decoder), last_char + 50000);
	scan_decoder_expire(env->decoder, last_char + 49999);
	assert_int_equal(env->n_scans, 0);
	scan_decoder_expire(env->decoder, last_char + 50000);
	assert_one_scan(env, "ab");
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
}

static void test_key_ups_do_not_extend_the_timeout(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "a");
	uint64_t deadline = scan_decoder_deadline(env->decoder);
	UP(env);
	KEYS(env, LSHIFT, 0);
	assert_int_equal(scan_decoder_deadline(env->decoder), deadline);
}

static void test_a_report_after_the_deadline_ends_the_old_scan_first(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "ab");
	env->now_us += 60000; /* the driver's timer has not fired yet */
	type_plain(env, "c");
	assert_one_scan(env, "ab");
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 2);
	assert_string_equal((char *)env->scans[1], "c");
}

static void test_ctrl_letters_inside_a_scan_are_control_characters(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "01");
	TAP(env, LCTRL, 0x30);    /* Ctrl+]: GS, the GS1 separator */
	TAP(env, RCTRL, K_('d')); /* Ctrl+D: EOT */
	TAP(env, LCTRL, KD(2));   /* Ctrl+2 types nothing */
	type_plain(env, "2");
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "01\x1d\x04"
	                     "2");
}

static void test_alt_and_keypad_digits_type_one_byte(void **state)
{
	struct scan_env *env = *state;
	/* Alt down, each digit down and up, Alt up: 'A' (065). */
	KEYS(env, LALT, 0);
	KEYS(env, LALT, KP(0));
	KEYS(env, LALT, 0);
	KEYS(env, LALT, KP(6));
	KEYS(env, LALT, 0);
	KEYS(env, LALT, KP(5));
	KEYS(env, LALT, 0);
	assert_int_equal(env->n_scans, 0);
	UP(env);
	/* Without a leading 0, the next digit down before the last one is up,
	 * Alt released together with the last digit. */
	KEYS(env, LALT, KP(6));
	KEYS(env, LALT, KP(6), KP(9));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "AE");
}

static void test_alt_keypad_digits_packed_in_one_report(void **state)
{
	struct scan_env *env = *state;
	KEYS(env, LALT, KP(0), KP(2), KP(5), KP(5));
	UP(env);
	KEYS(env, LALT, KP(0), KP(0), KP(9), KP(7));
	UP(env);
	KEYS(env, LALT, KP(1), KP(1), KP(1));
	KEYS(env, 0, 0);
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_errors, 0);
	assert_int_equal(env->n_scans, 1);
	assert_int_equal(env->lens[0], 3);
	assert_memory_equal(env->scans[0], "\xff\x61\x6f", 3);
}

static void test_alt_keypad_types_any_byte_inside_a_code(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "a");
	TAP(env, LALT, KP(0));                /* NUL */
	KEYS(env, LALT, KP(0), KP(2), KP(9)); /* GS */
	UP(env);
	KEYS(env, LALT, KP(1), KP(3));
	UP(env); /* CR, as a byte of the code, not the terminator */
	KEYS(env, LALT, KP(0), KP(2), KP(3), KP(3)); /* 0xE9 with the leading 0 */
	UP(env);
	KEYS(env, LALT, KP(2), KP(3), KP(3)); /* the same byte without it */
	UP(env);
	type_plain(env, "z");
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_errors, 0);
	assert_int_equal(env->n_scans, 1);
	assert_int_equal(env->lens[0], 7);
	assert_memory_equal(env->scans[0], "a\0\x1d\r\xe9\xe9z", 7);
}

static void test_an_alt_code_over_255_refuses_the_scan(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "ab");
	KEYS(env, LALT, KP(3), KP(0), KP(0));
	UP(env);
	type_plain(env, "cd");
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 0);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(env->errors[0], "Alt+keypad code over 255");
	/* The next scan is read as usual. */
	type_plain(env, "ok");
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 1);
	assert_string_equal((char *)env->scans[0], "ok");
}

static void test_right_alt_is_alt_on_us_and_alt_letters_type_nothing(void **state)
{
	struct scan_env *env = *state;
	KEYS(env, RALT, KP(6), KP(6));
	UP(env);
	TAP(env, LALT, K_('f')); /* a menu shortcut */
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "B");
}

static void test_an_alt_code_pending_at_the_terminator_is_kept(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "x");
	KEYS(env, LALT, KP(6), KP(7));
	KEYS(env, LALT, K_ENTER);
	UP(env);
	assert_one_scan(env, "xC");
}

static void test_caps_lock_shifts_letters_only(void **state)
{
	struct scan_env *env = *state;
	TAP(env, 0, K_CAPS);
	TAP(env, 0, K_('a'));
	TAP(env, LSHIFT, K_('b'));
	TAP(env, 0, KD(1));
	TAP(env, 0, K_CAPS);
	TAP(env, 0, K_('c'));
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "Ab1c");
}

static void test_keys_that_type_nothing_are_ignored(void **state)
{
	struct scan_env *env = *state;
	TAP(env, 0, K_ESC);
	TAP(env, 0, 0x3A); /* F1 */
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	type_plain(env, "a");
	TAP(env, 0, 0x4F); /* Right arrow */
	TAP(env, 0, K_KP_DOT);
	TAP(env, 0, KP(7));
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "a.7");
}

/* 4096 bytes pass, 4097 are refused whole, with one error that does not
 * quote them, and the next scan is read as usual. */
static void test_a_scan_longer_than_the_limit_is_refused_whole(void **state)
{
	struct scan_env *env = *state;
	for (int i = 0; i < SCAN_MAX_BYTES; i++)
		TAP(env, 0, K_('q'));
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 1);
	assert_int_equal(env->lens[0], SCAN_MAX_BYTES);

	for (int i = 0; i < SCAN_MAX_BYTES + 1; i++)
		TAP(env, 0, K_('q'));
	type_plain(env, "secret");
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 1);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(env->errors[0], "scan too long");

	type_plain(env, "next");
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 2);
	assert_string_equal((char *)env->scans[1], "next");
	assert_int_equal(env->n_errors, 1);
}

static void test_a_too_long_scan_without_terminator_is_refused_at_the_timeout(void **state)
{
	struct scan_env *env = *state;
	for (int i = 0; i < SCAN_MAX_BYTES + 10; i++)
		TAP(env, 0, K_('w'));
	scan_decoder_expire(env->decoder, scan_decoder_deadline(env->decoder));
	assert_int_equal(env->n_scans, 0);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(env->errors[0], "scan too long");
}

static void test_reports_of_the_wrong_size_are_refused(void **state)
{
	struct scan_env *env = *state;
	uint8_t big[SCAN_MAX_REPORT + 1] = {0, 0, K_('a')};
	feed(env, big, sizeof(big));
	uint8_t tiny[2] = {LSHIFT, 0};
	feed(env, tiny, sizeof(tiny));
	feed(env, tiny, 0); /* a zero-length packet: nothing */
	assert_int_equal(env->n_errors, 2);
	assert_string_equal(env->errors[0], "report too long (65 bytes, at most 64)");
	assert_string_equal(env->errors[1], "keyboard report too short (2 bytes, at least 3)");
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	/* Longer than boot reports (up to the limit): more keys. */
	uint8_t wide[SCAN_MAX_REPORT] = {0, 0, K_('o'), K_('k')};
	feed(env, wide, sizeof(wide));
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 1);
	assert_string_equal((char *)env->scans[0], "ok");
}

static void test_reset_drops_the_partial_scan_and_releases_every_key(void **state)
{
	struct scan_env *env = *state;
	type_plain(env, "lost");
	KEYS(env, LSHIFT, K_('k'));
	scan_decoder_reset(env->decoder); /* unplugged with the key down */
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	scan_decoder_expire(env->decoder, env->now_us + 10000000);
	KEYS(env, 0, K_('k')); /* after replug: a new press */
	UP(env);
	TAP(env, 0, K_ENTER);
	assert_one_scan(env, "k");
}

static void test_options_out_of_range_are_refused(void **state)
{
	struct scan_decoder_options bad[] = {
	        {.protocol = 2},
	        {.layout = 4},
	        {.terminators = 4},
	        {.char_timeout_us = SCAN_CHAR_TIMEOUT_MAX_US + 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(scan_decoder_new(&bad[i], scan_env_done, scan_env_error, *state));
		assert_int_equal(errno, EINVAL);
	}
	struct scan_decoder_options fine = {0};
	assert_null(scan_decoder_new(&fine, NULL, NULL, NULL));
	struct scan_decoder *d = scan_decoder_new(&fine, scan_env_done, NULL, *state);
	assert_non_null(d);
	scan_decoder_free(d);
}

static void test_zero_options_mean_enter_tab_and_the_default_timeout(void **state)
{
	(void)state;
	struct scan_env *env = scan_env_new((struct scan_decoder_options){0});
	type_plain(env, "a");
	assert_int_equal(scan_decoder_deadline(env->decoder),
	                 env->now_us - 1000 + SCAN_CHAR_TIMEOUT_DEFAULT_US);
	TAP(env, 0, K_TAB);
	type_plain(env, "b");
	TAP(env, 0, K_ENTER);
	assert_int_equal(env->n_scans, 2);
	scan_env_free(env);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_each_key_down_then_all_up_types_the_code),
	        T(test_a_key_held_across_reports_types_once),
	        T(test_a_key_pressed_twice_with_a_release_between_types_twice),
	        T(test_the_same_key_twice_in_one_report_types_twice),
	        T(test_several_presses_in_one_report_type_in_order),
	        T(test_a_packed_report_holds_nothing_for_the_next),
	        T(test_a_repeated_key_counts_against_the_previous_report),
	        T(test_shift_types_capitals_and_symbols),
	        T(test_rollover_types_each_key_once_in_press_order),
	        T(test_error_rollover_keeps_the_held_keys),
	        T(test_reports_of_modifiers_alone_type_nothing),
	        T(test_report_id_prefix),
	        T(test_enter_and_keypad_enter_end_a_scan),
	        T(test_tab_ends_a_scan_only_when_configured),
	        T(test_a_chord_after_enter_starts_no_scan),
	        T(test_keys_after_the_terminator_in_its_report_are_not_presses),
	        T(test_a_key_held_across_the_terminator_is_not_a_new_press),
	        T(test_the_inter_character_timeout_ends_a_partial_scan),
	        T(test_key_ups_do_not_extend_the_timeout),
	        T(test_a_report_after_the_deadline_ends_the_old_scan_first),
	        T(test_ctrl_letters_inside_a_scan_are_control_characters),
	        T(test_alt_and_keypad_digits_type_one_byte),
	        T(test_alt_keypad_digits_packed_in_one_report),
	        T(test_alt_keypad_types_any_byte_inside_a_code),
	        T(test_an_alt_code_over_255_refuses_the_scan),
	        T(test_right_alt_is_alt_on_us_and_alt_letters_type_nothing),
	        T(test_an_alt_code_pending_at_the_terminator_is_kept),
	        T(test_caps_lock_shifts_letters_only),
	        T(test_keys_that_type_nothing_are_ignored),
	        T(test_a_scan_longer_than_the_limit_is_refused_whole),
	        T(test_a_too_long_scan_without_terminator_is_refused_at_the_timeout),
	        T(test_reports_of_the_wrong_size_are_refused),
	        T(test_reset_drops_the_partial_scan_and_releases_every_key),
	        T(test_options_out_of_range_are_refused),
	        T(test_zero_options_mean_enter_tab_and_the_default_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
