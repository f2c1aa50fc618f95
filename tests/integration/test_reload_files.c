/* SPDX-License-Identifier: MIT */
/*
 * test_reload_files.c: with the webhook backend, whose directory is the
 * admin's file as with local, a reload that names another directory file
 * and another site key puts both in force at once (README "What a reload
 * changes"). Only the Nexudus backend, which writes and hashes its own cache,
 * takes a restart for them (test_nexudus_reload.c).
 *
 * porter.so runs on the recording host (dlopen, porter.h alone). The
 * webhook endpoint is a port nobody listens on: changes wait in the outbox,
 * which is all this test needs of it.
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
#include <sys/stat.h>

#include <cmocka.h>

#include "recording_host.h"

static int setup(void **state)
{
	if (site_open(state, &(struct site_options){.people = FX_ANA, .echo_level = -1}) < 0)
		return -1;
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/webhook.secret", s->dir);
	if (fx_write_file(path, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") < 0 ||
	    chmod(path, 0600) < 0)
		return -1;
	return 0;
}

/* The webhook site's config, its directory and key in `files_dir`. */
static char *webhook_config(const struct site *s, const char *files_dir)
{
	char *text = NULL;
	int n = asprintf(&text,
	                 "{\"backend\":\"webhook\",\"webhook\":{\"url\":\"https://127.0.0.1:9/"
	                 "porter\",\"secret_file\":\"%s/webhook.secret\"},"
	                 "\"local\":{\"directory\":\"%s/directory.json\",\"database\":\"%s\","
	                 "\"pin_key_file\":\"%s/pin.key\"}}",
	                 s->dir, files_dir, s->db_path, files_dir);
	assert_true(n > 0);
	return text;
}

/* What the door showed for `pin`. */
static const char *present(struct site *s, const char *pin)
{
	uint64_t id;
	int rc = hook_pin(s, "front", pin, strlen(pin), &id);
	if (rc == PORTER_VERDICT_PENDING) {
		const struct seen_result *r = wait_result(s, id);
		assert_non_null(r);
		return r->code;
	}
	wait_feedback(s, s->n_feedback + 1);
	return s->last_code;
}

static void webhook_reload_puts_another_directory_and_key_in_force(void **state)
{
	struct site *s = *state;
	char *config = webhook_config(s, s->dir), other[FX_PATH_MAX + 32];
	s->shut_down = false;
	s->in_call = true;
	int r = api->init(&s->services, config, strlen(config), rec_report, s, &s->porter);
	s->in_call = false;
	free(config);
	assert_int_equal(r, 0);
	assert_string_equal(present(s, PIN_ANA), "checked_in");

	/* Another folder: a new site key, and Ben hashed under it. */
	snprintf(other, sizeof(other), "%s/other", s->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(fx_make_site(fx_env("PORTER_ADMIN"), other, FX_BEN), 0);
	config = webhook_config(s, other);
	s->in_call = true;
	r = api->reload(s->porter, config, strlen(config), rec_report, s);
	s->in_call = false;
	free(config);
	assert_int_equal(r, 0);
	assert_null(find_report(s, "PORTER-RESTART"));
	assert_string_equal(present(s, PIN_BEN), "checked_in");
	assert_string_equal(present(s, PIN_ANA), "unknown_pin");
	stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                webhook_reload_puts_another_directory_and_key_in_force, setup, site_close),
	};
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
