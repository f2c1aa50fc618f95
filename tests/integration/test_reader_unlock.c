/* SPDX-License-Identifier: MIT */
/*
 * test_reader_unlock.c: a reader row's unlock time as a form saves it.
 *
 * plugin.json gives readers[].unlock_ms the type ["integer", "null"] and the
 * default null, "use the door's unlock time", so a reader row added in an
 * admin form gets a value both a standard validator and porter accept
 * (a plain integer made the form fill in 0, which both refused). Through
 * dlopen, as a host runs porter: null and a left-out unlock_ms both unlock
 * for door.unlock_ms, a number for itself, and 0 is still refused.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recording_host.h"

/* Ana presents her PIN at `reader`; the door unlocks once; for how long. */
static uint32_t unlock_ms_at(struct site *s, const char *reader)
{
	size_t before = s->n_doors;
	uint64_t id;

	if (hook_pin(s, reader, PIN_ANA, strlen(PIN_ANA), &id) == PORTER_VERDICT_PENDING)
		assert_non_null(wait_result(s, id));
	run_for(s, 10);
	assert_int_equal(s->n_doors, before + 1);
	assert_string_equal(s->doors[before].reader, reader);
	return s->doors[before].ms;
}

static int site_setup(void **state)
{
	return site_open(state, &(struct site_options){
	                                .people = FX_ANA,
	                                .echo_level = PORTER_LOG_WARNING,
	                        });
}

static void a_reader_row_with_null_unlocks_for_the_doors_time(void **state)
{
	struct site *s = *state;

	start(s, ",\"repeat_window_ms\":0,\"door\":{\"unlock_ms\":7000},\"readers\":["
	         "{\"id\":\"side\",\"direction\":\"toggle\",\"pin_holders\":\"both\","
	         "\"unlock_ms\":null},"
	         "{\"id\":\"back\"},"
	         "{\"id\":\"gate\",\"unlock_ms\":1500}]");
	assert_int_equal(unlock_ms_at(s, "side"), 7000);
	assert_int_equal(unlock_ms_at(s, "back"), 7000);
	assert_int_equal(unlock_ms_at(s, "gate"), 1500);
	stop(s);
}

static void a_reader_row_with_zero_is_still_refused(void **state)
{
	struct site *s = *state;
	char *config = fx_config(s->dir, ",\"readers\":[{\"id\":\"side\",\"unlock_ms\":0}]");

	assert_non_null(config);
	s->n_reports = 0;
	assert_int_equal(api->check_config(config, strlen(config), rec_report, s), -EINVAL);
	assert_non_null(find_report(s, "PORTER-CFG-RANGE"));
	assert_string_equal(find_report(s, "PORTER-CFG-RANGE")->path, "$.readers[0].unlock_ms");
	free(config);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        CASE(a_reader_row_with_null_unlocks_for_the_doors_time),
	        CASE(a_reader_row_with_zero_is_still_refused),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must be set (meson test sets them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
