/* SPDX-License-Identifier: MIT */
/*
 * test_site_files.c: what a host sees when the directory file or the PIN
 * key file an admin prepared is wrong in a way json-c or a mode check alone
 * would let through. porter.so is loaded through porter.h ($PORTER_SO), the
 * site made with the real porter-admin ($PORTER_ADMIN); init must refuse,
 * report the config path of the file and a message naming what to fix.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "host_loop.h"
#include "loaded_porter.h"
#include "porter.h"
#include "porter_fixture.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"

struct site {
	char dir[FX_PATH_MAX];
	struct host_loop *loop;
	char code[64], path[128], message[1024];
	size_t n_errors;
};

static void rec_report(void *userdata, const struct porter_report *r)
{
	struct site *s = userdata;
	if (r->severity != PORTER_SEVERITY_ERROR)
		return;
	s->n_errors++;
	snprintf(s->code, sizeof(s->code), "%s", r->code);
	snprintf(s->path, sizeof(s->path), "%s", r->path);
	snprintf(s->message, sizeof(s->message), "%s", r->message);
}

static void quiet_log(void *userdata, uint32_t level, const char *message)
{
}

static int site_setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));
	struct host_loop_callbacks cb = {.log = quiet_log};
	if (!s || fx_mkdtemp(s->dir) < 0)
		return -1;
	*state = s;
	cb.userdata = s;
	s->loop = host_loop_new(&cb);
	if (!s->loop || fx_make_site(fx_env("PORTER_ADMIN"), s->dir, FX_ANA) != 0)
		return -1;
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;
	host_loop_free(s->loop);
	fx_rmrf(s->dir);
	free(s);
	return 0;
}

/* init on the site; returns its result, having checked nothing started. */
static int start(struct site *s)
{
	porter_plugin *porter = NULL;
	char *config = fx_config(s->dir, "");
	int r = api->init(host_loop_services(s->loop), config, strlen(config), rec_report, s,
	                  &porter);
	free(config);
	if (r == 0)
		api->shutdown(porter);
	else
		assert_null(porter);
	return r;
}

static void write_directory(struct site *s, const char *text)
{
	char path[FX_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/directory.json", s->dir);
	assert_int_equal(fx_write_file(path, text), 0);
}

static void a_directory_with_a_key_twice_is_refused_naming_it(void **state)
{
	struct site *s = *state;
	write_directory(
	        s, "{\"porter_directory\": 1, \"people\": [\n"
	           "  {\"id\": \"m-1\", \"kind\": \"member\", \"name\": \"A\", \"pin_hmac\": \"" H1
	           "\"},\n"
	           "  {\"id\": \"m-2\", \"kind\": \"visitor\", \"kind\": \"member\", "
	           "\"name\": \"B\"}]}\n");
	assert_int_not_equal(start(s), 0);
	assert_string_equal(s->code, "PORTER-DIRECTORY");
	assert_string_equal(s->path, "$.local.directory");
	assert_non_null(strstr(s->message, "$.people[1].kind appears twice"));
	assert_non_null(strstr(s->message, "line 3"));
}

static void a_directory_name_with_a_bidi_override_is_refused(void **state)
{
	struct site *s = *state;
	write_directory(s, "{\"porter_directory\": 1, \"people\": [{\"id\": \"m-1\", \"kind\": "
	                   "\"member\", \"name\": \"Ana \\u202eznuoS\"}]}");
	assert_int_not_equal(start(s), 0);
	assert_string_equal(s->code, "PORTER-DIRECTORY");
	assert_non_null(strstr(s->message, "people[0] (m-1).name"));
}

static void a_pin_key_owned_by_another_user_is_refused(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	snprintf(path, sizeof(path), "%s/pin.key", s->dir);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_not_equal(start(s), 0);
	assert_string_equal(s->code, "PORTER-KEY");
	assert_string_equal(s->path, "$.local.pin_key_file");
	assert_non_null(strstr(s->message, "owned by uid 65534"));
	assert_non_null(strstr(s->message, "chown"));
}

static void an_all_zero_pin_key_is_refused(void **state)
{
	struct site *s = *state;
	char path[FX_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/pin.key", s->dir);
	assert_int_equal(
	        fx_write_file(path,
	                      "0000000000000000000000000000000000000000000000000000000000000000\n"),
	        0);
	assert_int_not_equal(start(s), 0);
	assert_string_equal(s->code, "PORTER-KEY");
	assert_non_null(strstr(s->message, "all zero"));
}

static void the_site_as_made_starts(void **state)
{
	struct site *s = *state;
	assert_int_equal(start(s), 0);
	assert_int_equal(s->n_errors, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(the_site_as_made_starts, site_setup, site_teardown),
	        cmocka_unit_test_setup_teardown(a_directory_with_a_key_twice_is_refused_naming_it,
	                                        site_setup, site_teardown),
	        cmocka_unit_test_setup_teardown(a_directory_name_with_a_bidi_override_is_refused,
	                                        site_setup, site_teardown),
	        cmocka_unit_test_setup_teardown(a_pin_key_owned_by_another_user_is_refused,
	                                        site_setup, site_teardown),
	        cmocka_unit_test_setup_teardown(an_all_zero_pin_key_is_refused, site_setup,
	                                        site_teardown),
	};
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
