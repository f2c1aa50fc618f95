/* SPDX-License-Identifier: MIT */
/*
 * test_texts.c: the site's words on the door's display, through the built
 * porter.so (loaded by host_loop, porter.h only) on a site set up with the
 * real porter-admin.
 *
 * A site configured with the shipped German example (examples/texts-de.json)
 * shows German at the door: check-in, check-out, an unknown PIN, a lockout,
 * a key-by-key PIN that runs too long. A reload with a bad text is refused
 * with its path and the old texts stay; a good reload switches language.
 * No display ever shows a PIN.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_loop.h"
#include "porter.h"
#include "loaded_porter.h"
#include "porter_fixture.h"

#define PIN_ANA  "482913"
#define TEXT_MAX 512
#define WAIT_US  5000000u

struct site {
	char dir[FX_PATH_MAX];
	struct host_loop *loop;
	porter_plugin *porter;
	pthread_t loop_thread;
	uint64_t last_request_id;
	bool completed;
	char text[TEXT_MAX]; /* the last feedback shown */
	char code[64];
	char report_code[64];
	char report_path[128];
	char report_message[TEXT_MAX];
	int n_violations;
	char violation[TEXT_MAX];
};


static void violation(struct site *s, const char *what)
{
	if (s->n_violations++ == 0)
		snprintf(s->violation, sizeof(s->violation), "%s", what);
}

static void rec_log(void *userdata, uint32_t level, const char *message)
{
	struct site *s = userdata;
	if (strstr(message, PIN_ANA))
		violation(s, "a log line shows a PIN");
	if (level <= PORTER_LOG_WARNING || fx_env("PORTER_TEST_VERBOSE"))
		fprintf(stderr, "  porter %s: %s\n", host_loop_level_name(level), message);
}

static int rec_feedback(void *userdata, const struct porter_feedback *fb)
{
	struct site *s = userdata;
	if (!pthread_equal(pthread_self(), s->loop_thread))
		violation(s, "feedback off the loop thread");
	if (fb->text && strstr(fb->text, PIN_ANA))
		violation(s, "a display shows a PIN");
	snprintf(s->text, sizeof(s->text), "%s", fb->text ? fb->text : "");
	snprintf(s->code, sizeof(s->code), "%s", fb->code ? fb->code : "");
	return 0;
}

static void rec_complete(void *userdata, uint64_t request_id, const struct porter_result *res)
{
	struct site *s = userdata;
	s->completed = true;
}

static void rec_report(void *userdata, const struct porter_report *r)
{
	struct site *s = userdata;
	if (r->severity != PORTER_SEVERITY_ERROR || s->report_code[0])
		return; /* the first error is the one the tests look at */
	snprintf(s->report_code, sizeof(s->report_code), "%s", r->code ? r->code : "");
	snprintf(s->report_path, sizeof(s->report_path), "%s", r->path ? r->path : "");
	snprintf(s->report_message, sizeof(s->report_message), "%s", r->message ? r->message : "");
}

/* Present a PIN at "front"; returns the text shown once decided. */
static const char *present(struct site *s, const char *pin)
{
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = "front",
	        .pin = pin,
	        .pin_len = strlen(pin),
	};
	s->completed = false;
	s->text[0] = '\0';
	int rc = api->on_pin(s->porter, &ev);
	if (rc == PORTER_VERDICT_PENDING) {
		uint64_t end = host_loop_now_us(s->loop) + WAIT_US;
		while (!s->completed && host_loop_now_us(s->loop) < end)
			host_loop_run_once(s->loop, 20);
		assert_true(s->completed);
	}
	return s->text;
}

static const char *press(struct site *s, uint32_t key)
{
	struct porter_key_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = "front",
	        .key = key,
	};
	s->text[0] = '\0';
	api->on_key(s->porter, &ev);
	return s->text;
}

static char *example_texts(const char *name)
{
	char *text = fx_example_texts(name);
	if (!text)
		fail_msg("cannot read the texts of examples/%s", name);
	return text;
}

static char *site_config(struct site *s, const char *texts, const char *more)
{
	char extra[70000];
	snprintf(extra, sizeof(extra), "%s%s", texts, more);
	char *config = fx_config(s->dir, extra);
	assert_non_null(config);
	return config;
}

static void start(struct site *s, const char *texts, const char *more)
{
	char *config = site_config(s, texts, more);
	int r = api->init(host_loop_services(s->loop), config, strlen(config), rec_report, s,
	                  &s->porter);
	free(config);
	if (r != 0)
		fail_msg("init: %d: %s at %s: %s", r, s->report_code, s->report_path,
		         s->report_message);
}

static int reload(struct site *s, const char *texts, const char *more)
{
	char *config = site_config(s, texts, more);
	s->report_code[0] = '\0';
	int r = api->reload(s->porter, config, strlen(config), rec_report, s);
	free(config);
	return r;
}

static void stop(struct site *s)
{
	api->shutdown(s->porter);
	s->porter = NULL;
	host_loop_drop_invokes(s->loop);
	if (s->n_violations)
		fail_msg("%d violations, first: %s", s->n_violations, s->violation);
}

/* ---- the door speaks the site's language -------------------------------- */

#define GERMAN_SITE ",\"repeat_window_ms\":0,\"lockout\":{\"max_attempts\":3}"

static void a_german_site_greets_in_german(void **state)
{
	struct site *s = *state;
	char *de = example_texts("texts-de.json");
	start(s, de, GERMAN_SITE);
	assert_string_equal(present(s, PIN_ANA), "Willkommen, Ana Souza! Du bist eingecheckt.");
	assert_string_equal(s->code, "checked_in"); /* the code stays the host's */
	assert_string_equal(present(s, PIN_ANA), "Bis bald, Ana Souza! Du bist ausgecheckt.");
	assert_string_equal(s->code, "checked_out");
	stop(s);
	free(de);
}

static void a_german_site_refuses_and_locks_out_in_german(void **state)
{
	struct site *s = *state;
	char *de = example_texts("texts-de.json");
	start(s, de, GERMAN_SITE);
	assert_string_equal(present(s, "111111"), "PIN unbekannt. Bitte noch einmal versuchen.");
	assert_string_equal(s->code, "unknown_pin");
	present(s, "222222");
	assert_string_equal(present(s, "333333"),
	                    "Zu viele Fehlversuche. Bitte in 30 s erneut versuchen.");
	assert_string_equal(s->code, "locked_out");
	/* While locked, even a good PIN hears the lockout, with the time left. */
	assert_string_equal(present(s, PIN_ANA),
	                    "Zu viele Fehlversuche. Bitte in 30 s erneut versuchen.");
	stop(s);
	free(de);
}

static void a_german_key_by_key_keypad_speaks_german(void **state)
{
	struct site *s = *state;
	char *de = example_texts("texts-de.json");
	start(s, de, GERMAN_SITE);
	for (int i = 0; i < 8; i++)
		press(s, '1');
	assert_string_equal(press(s, '1'),
	                    "PIN zu lang: höchstens 8 Ziffern. * drücken und neu beginnen.");
	assert_string_equal(s->code, "pin_too_long");
	press(s, '*');
	assert_string_equal(press(s, 'A'), "Unbekannte Taste. PIN gelöscht, bitte neu beginnen.");
	stop(s);
	free(de);
}

static void a_site_without_texts_speaks_english(void **state)
{
	struct site *s = *state;
	start(s, "", GERMAN_SITE);
	assert_string_equal(present(s, PIN_ANA), "Welcome, Ana Souza. You are checked in.");
	assert_string_equal(present(s, "111111"), "PIN not recognised. Please try again.");
	stop(s);
}

/* ---- reload ---------------------------------------------------------------- */

static void a_reload_with_a_bad_text_keeps_the_old_texts(void **state)
{
	struct site *s = *state;
	char *de = example_texts("texts-de.json");
	start(s, de, GERMAN_SITE);
	assert_int_equal(reload(s, ",\"texts\":{\"checked_in\":\"Hallo {nme}\"}", GERMAN_SITE),
	                 -EINVAL);
	assert_string_equal(s->report_code, "PORTER-CFG-TEXT");
	assert_string_equal(s->report_path, "$.texts.checked_in");
	assert_string_equal(s->report_message,
	                    "unknown placeholder {nme}; this text may use {name}");
	assert_string_equal(present(s, PIN_ANA), "Willkommen, Ana Souza! Du bist eingecheckt.");
	assert_string_equal(present(s, "111111"), "PIN unbekannt. Bitte noch einmal versuchen.");
	stop(s);
	free(de);
}

static void a_reload_changes_the_language(void **state)
{
	struct site *s = *state;
	char *de = example_texts("texts-de.json"), *fr = example_texts("texts-fr.json");
	start(s, de, GERMAN_SITE);
	assert_string_equal(present(s, "111111"), "PIN unbekannt. Bitte noch einmal versuchen.");
	assert_int_equal(reload(s, fr, GERMAN_SITE), 0);
	assert_string_equal(present(s, "222222"), "Code PIN inconnu. Veuillez réessayer.");
	assert_string_equal(present(s, PIN_ANA), "Bienvenue, Ana Souza. Entrée enregistrée.");
	/* Texts left out of a reload are English again. */
	assert_int_equal(reload(s, "", GERMAN_SITE), 0);
	assert_string_equal(present(s, PIN_ANA), "Goodbye, Ana Souza. You are checked out.");
	stop(s);
	free(de);
	free(fr);
}

/* ---- fixtures ------------------------------------------------------------ */

static int site_setup(void **state)
{
	const char *admin_path = fx_env("PORTER_ADMIN");
	struct site *s = calloc(1, sizeof(*s));
	struct host_loop_callbacks cb = {
	        .log = rec_log,
	        .feedback = rec_feedback,
	        .complete = rec_complete,
	};
	if (!s || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	*state = s;
	s->loop_thread = pthread_self();
	cb.userdata = s;
	s->loop = host_loop_new(&cb);
	if (!s->loop || fx_keygen(admin_path, s->dir) != 0 ||
	    fx_add_person(admin_path, s->dir, "m-ana", "member", "Ana Souza", PIN_ANA, NULL,
	                  NULL) != 0)
		return -1;
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;
	if (!s)
		return 0;
	if (s->porter)
		api->shutdown(s->porter);
	host_loop_drop_invokes(s->loop);
	host_loop_free(s->loop);
	fx_rmrf(s->dir);
	free(s);
	return 0;
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        CASE(a_german_site_greets_in_german),
	        CASE(a_german_site_refuses_and_locks_out_in_german),
	        CASE(a_german_key_by_key_keypad_speaks_german),
	        CASE(a_site_without_texts_speaks_english),
	        CASE(a_reload_with_a_bad_text_keeps_the_old_texts),
	        CASE(a_reload_changes_the_language),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN") || !fx_env("PORTER_SOURCE_DIR")) {
		fprintf(stderr, "PORTER_SO, PORTER_ADMIN and PORTER_SOURCE_DIR must be set (meson "
		                "test sets them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
