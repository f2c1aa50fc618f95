/* SPDX-License-Identifier: MIT */
/*
 * test_lockout_words.c: what the host is told when a reader locks, through
 * the built porter.so. A reader's lockout counts wrong QR codes and wrong
 * PINs alike (README "QR codes"), so its "locked_out" text must be true
 * whichever credential locked it: it names failed attempts, not PINs, in
 * English (the default) and in every language porter ships as an example
 * (examples/texts-*.json). The code stays "locked_out".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recording_host.h"

#define LOCKOUT ",\"qr\":{\"repeat_ms\":0},\"lockout\":{\"max_attempts\":3}"

static int site_setup(void **state)
{
	return site_open(state, &(struct site_options){
	                                .people = FX_ANA,
	                                .echo_level = PORTER_LOG_ERROR,
	                        });
}

static char *example_texts(const char *name)
{
	char *text = fx_example_texts(name);
	if (!text)
		fail_msg("cannot read the texts of examples/%s", name);
	return text;
}

static void start_in(struct site *s, const char *example)
{
	char *texts = example ? example_texts(example) : NULL;
	char *extra = malloc(70000);
	assert_non_null(extra);
	snprintf(extra, 70000, "%s%s", texts ? texts : "", LOCKOUT);
	start(s, extra);
	free(extra);
	free(texts);
}

static const struct seen_feedback *scan(struct site *s, const char *reader, const char *code)
{
	size_t before = s->n_feedback;
	struct porter_qr_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = reader,
	        .data = (const uint8_t *)code,
	        .data_len = strlen(code),
	};
	s->in_hook = true;
	assert_int_equal(api->on_qr(s->porter, &ev), PORTER_VERDICT_DENY);
	s->in_hook = false;
	wait_feedback(s, before + 1);
	assert_true(s->n_feedback > before);
	return &s->feedback[s->n_feedback - 1];
}

static const struct seen_feedback *pin(struct site *s, const char *reader, const char *digits)
{
	size_t before = s->n_feedback;
	assert_int_equal(hook_pin(s, reader, digits, strlen(digits), NULL), PORTER_VERDICT_DENY);
	wait_feedback(s, before + 1);
	assert_true(s->n_feedback > before);
	return &s->feedback[s->n_feedback - 1];
}

/* Three wrong QR codes lock "scanner"; three wrong PINs lock "keypad". The
 * host is told the same text for both, and it speaks of no PIN. */
static void assert_lockout_text(struct site *s, const char *expected)
{
	scan(s, "scanner", "WRONG-CODE-1");
	scan(s, "scanner", "WRONG-CODE-2");
	const struct seen_feedback *by_codes = scan(s, "scanner", "WRONG-CODE-3");
	assert_string_equal(by_codes->code, "locked_out");
	assert_string_equal(by_codes->reader, "scanner");
	assert_string_equal(by_codes->text, expected);
	assert_null(strstr(by_codes->text, "PIN"));

	pin(s, "keypad", "111111");
	pin(s, "keypad", "222222");
	const struct seen_feedback *by_pins = pin(s, "keypad", "333333");
	assert_string_equal(by_pins->code, "locked_out");
	assert_string_equal(by_pins->text, expected);
	stop(s);
}

static void wrong_codes_lock_a_reader_in_words_true_for_codes(void **state)
{
	struct site *s = *state;
	start_in(s, NULL);
	assert_lockout_text(s, "Too many failed attempts. Try again in 30 s.");
}

static void a_german_site_says_the_same(void **state)
{
	struct site *s = *state;
	start_in(s, "texts-de.json");
	assert_lockout_text(s, "Zu viele Fehlversuche. Bitte in 30 s erneut versuchen.");
}

static void a_french_site_says_the_same(void **state)
{
	struct site *s = *state;
	start_in(s, "texts-fr.json");
	assert_lockout_text(s, "Trop de tentatives échouées. Réessayez dans 30 s.");
}

#define WORDS(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        WORDS(wrong_codes_lock_a_reader_in_words_true_for_codes),
	        WORDS(a_german_site_says_the_same),
	        WORDS(a_french_site_says_the_same),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must name the built porter.so and "
		                "porter-admin (meson test sets them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
