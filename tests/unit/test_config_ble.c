/* SPDX-License-Identifier: MIT */
/*
 * test_config_ble.c: the "ble_reader" settings (porter's own BLE reader) as
 * the admin meets them: the defaults, the values porter runs with, and each
 * wrong value refused with its code and JSON path.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define LOCAL                                                         \
	"\"local\": {\"directory\": \"/etc/porter/directory.json\", " \
	"\"database\": \"/var/lib/porter/porter.db\", "               \
	"\"pin_key_file\": \"/etc/porter/pin.key\"}"

static struct {
	size_t n;
	char code[16][48];
	char path[16][160];
} reports;

static void collect(void *userdata, const struct porter_report *r)
{
	if (reports.n == 16)
		return;
	snprintf(reports.code[reports.n], sizeof(reports.code[0]), "%s", r->code);
	snprintf(reports.path[reports.n], sizeof(reports.path[0]), "%s", r->path ? r->path : "");
	reports.n++;
}

static struct config config;

static int parse(const char *extra)
{
	char text[2048];
	snprintf(text, sizeof(text), "{" LOCAL "%s}", extra);
	reports.n = 0;
	return config_parse(text, strlen(text), &config, collect, NULL);
}

static void refused(const char *extra, const char *code, const char *path)
{
	assert_int_equal(parse(extra), -EINVAL);
	for (size_t i = 0; i < reports.n; i++)
		if (strcmp(reports.code[i], code) == 0 && strcmp(reports.path[i], path) == 0)
			return;
	for (size_t i = 0; i < reports.n; i++)
		fprintf(stderr, "  got %s at %s\n", reports.code[i], reports.path[i]);
	fail_msg("expected %s at %s", code, path);
}

static void ble_reader_is_off_by_default(void **state)
{
	assert_int_equal(parse(""), 0);
	assert_false(config.ble_reader_enabled);
	assert_string_equal(config.ble_reader_adapter, "");
	assert_string_equal(config.ble_reader_id, "ble");
	assert_int_equal(config.ble_reader_rssi_floor_dbm, -80);
	assert_int_equal(config.ble_reader_restart_after_s, 60);
}

static void ble_reader_settings_are_taken(void **state)
{
	assert_int_equal(parse(", \"ble_reader\": {\"enabled\": true, \"adapter\": \"hci1\", "
	                       "\"reader_id\": \"front\", \"rssi_floor_dbm\": -127, "
	                       "\"restart_after_s\": 5}"),
	                 0);
	assert_true(config.ble_reader_enabled);
	assert_string_equal(config.ble_reader_adapter, "hci1");
	assert_string_equal(config.ble_reader_id, "front");
	assert_int_equal(config.ble_reader_rssi_floor_dbm, -127);
	assert_int_equal(config.ble_reader_restart_after_s, 5);
}

/* JSON Schema: -80.0 and -8e1 are the integer -80; a multibyte adapter name
 * of 15 characters is within maxLength (the differential test found both). */
static void integers_written_as_decimals_and_multibyte_names_are_taken(void **state)
{
	assert_int_equal(parse(", \"ble_reader\": {\"rssi_floor_dbm\": -8e1}"), 0);
	assert_int_equal(config.ble_reader_rssi_floor_dbm, -80);
	assert_int_equal(parse(", \"ble_reader\": {\"adapter\": "
	                       "\"\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4"
	                       "\u00e4\u00e4\u00e4\u00e4\u00e4\"}"),
	                 0);
	assert_int_equal(strlen(config.ble_reader_adapter), 30);
}

static void wrong_ble_reader_settings_are_refused_with_their_path(void **state)
{
	refused(", \"ble_reader\": {\"rssi_floor_dbm\": 1}", "PORTER-CFG-RANGE",
	        "$.ble_reader.rssi_floor_dbm");
	refused(", \"ble_reader\": {\"rssi_floor_dbm\": -128}", "PORTER-CFG-RANGE",
	        "$.ble_reader.rssi_floor_dbm");
	refused(", \"ble_reader\": {\"restart_after_s\": 4}", "PORTER-CFG-RANGE",
	        "$.ble_reader.restart_after_s");
	refused(", \"ble_reader\": {\"adapter\": \"hci0123456789abcd\"}", "PORTER-CFG-LENGTH",
	        "$.ble_reader.adapter");
	refused(", \"ble_reader\": {\"reader_id\": \"\"}", "PORTER-CFG-LENGTH",
	        "$.ble_reader.reader_id");
	refused(", \"ble_reader\": {\"reader_id\": \"a\\nb\"}", "PORTER-CFG-ID",
	        "$.ble_reader.reader_id");
	refused(", \"ble_reader\": {\"enabled\": \"yes\"}", "PORTER-CFG-TYPE",
	        "$.ble_reader.enabled");
	refused(", \"ble_reader\": {\"scan\": true}", "PORTER-CFG-UNKNOWN", "$.ble_reader.scan");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ble_reader_is_off_by_default),
	        cmocka_unit_test(ble_reader_settings_are_taken),
	        cmocka_unit_test(integers_written_as_decimals_and_multibyte_names_are_taken),
	        cmocka_unit_test(wrong_ble_reader_settings_are_refused_with_their_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
