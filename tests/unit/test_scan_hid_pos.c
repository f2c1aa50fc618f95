/* SPDX-License-Identifier: MIT */
/*
 * test_scan_hid_pos.c: HID POS scanners (usage page 0x8C): 64-byte reports
 * with report id 0x02, a length byte, the AIM symbology identifier, data,
 * Honeywell's code id and the more-data bit; long codes come in chunks that
 * porter joins, and the keyboard layout plays no part.
 */
#include "scan_fixture.h"

#define REPORT_LEN 64
#define CHUNK_MAX  56 /* data bytes in a 64-byte report */

/* One report as a Honeywell scanner sends it; without the report id (as
 * some stacks deliver it) everything moves one byte earlier. */
static size_t chunk(uint8_t *report, bool with_id, const char *data, size_t len, bool more)
{
	memset(report, 0, REPORT_LEN);
	uint8_t *p = report;
	if (with_id)
		*p++ = SCAN_HID_POS_REPORT_ID;
	p[0] = (uint8_t)len;
	memcpy(p + 1, "]Q1", 3); /* QR Code */
	memcpy(p + 4, data, len);
	size_t total = with_id ? REPORT_LEN : REPORT_LEN - 1;
	report[total - 3] = 's'; /* Honeywell code id for QR */
	report[total - 1] = more ? 0x01 : 0x00;
	return total;
}

static struct scan_env *hid_pos_env(bool with_id)
{
	return scan_env_new((struct scan_decoder_options){.protocol = SCAN_PROTOCOL_HID_POS,
	                                                  .layout = SCAN_LAYOUT_DE,
	                                                  .report_id = with_id,
	                                                  .char_timeout_us = 100000});
}

/* Sends `code` in as many chunks as it takes. */
static void send_code(struct scan_env *env, bool with_id, const char *code, size_t len)
{
	uint8_t report[REPORT_LEN];
	do {
		size_t n = len < CHUNK_MAX ? len : CHUNK_MAX;
		size_t size = chunk(report, with_id, code, n, len > n);
		feed(env, report, size);
		code += n;
		len -= n;
	} while (len);
}

static void test_one_chunk_is_one_scan_without_the_symbology(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	const char *code = "https://example.org/v/zy?x=1"; /* y and z as sent: no layout */
	send_code(env, true, code, strlen(code));
	assert_one_scan(env, code);
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	scan_env_free(env);
}

static void test_chunks_are_joined_until_the_more_bit_is_clear(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	char code[3 * CHUNK_MAX + 9];
	for (size_t i = 0; i < sizeof(code); i++)
		code[i] = (char)('A' + i % 26);
	code[sizeof(code) - 1] = '\0';
	uint8_t report[REPORT_LEN];
	size_t size = chunk(report, true, code, CHUNK_MAX, true);
	feed(env, report, size);
	assert_int_equal(env->n_scans, 0);
	assert_int_not_equal(scan_decoder_deadline(env->decoder), 0);
	send_code(env, true, code + CHUNK_MAX, strlen(code) - CHUNK_MAX);
	assert_one_scan(env, code);
	scan_env_free(env);
}

static void test_reports_without_the_report_id(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(false);
	char code[CHUNK_MAX + 20];
	memset(code, '7', sizeof(code) - 1);
	code[sizeof(code) - 1] = '\0';
	send_code(env, false, code, strlen(code));
	assert_one_scan(env, code);
	scan_env_free(env);
}

static void test_binary_bytes_pass_as_they_are(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	const char code[] = {'\x00', '\x1d', '\r', '\xff', 'a'};
	send_code(env, true, code, sizeof(code));
	assert_int_equal(env->n_scans, 1);
	assert_int_equal(env->lens[0], sizeof(code));
	assert_memory_equal(env->scans[0], code, sizeof(code));
	scan_env_free(env);
}

static void test_a_length_past_the_report_is_refused(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	uint8_t report[REPORT_LEN];
	size_t size = chunk(report, true, "abc", 3, false);
	report[1] = CHUNK_MAX + 1;
	feed(env, report, size);
	assert_int_equal(env->n_scans, 0);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(env->errors[0],
	                    "HID POS chunk length 57 exceeds its report (at most 56 data bytes)");
	uint8_t tiny[4] = {SCAN_HID_POS_REPORT_ID, 1, ']', 'Q'};
	feed(env, tiny, sizeof(tiny));
	assert_string_equal(env->errors[1], "HID POS report too short (3 bytes, at least 7)");
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	scan_env_free(env);
}

static void test_another_report_id_is_refused(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	uint8_t report[REPORT_LEN];
	size_t size = chunk(report, true, "abc", 3, false);
	report[0] = 0x04;
	feed(env, report, size);
	assert_int_equal(env->n_scans, 0);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(env->errors[0], "report id 4 unexpected (HID POS reports are id 2)");
	scan_env_free(env);
}

static void test_a_scan_whose_last_chunk_never_comes_is_refused(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	uint8_t report[REPORT_LEN];
	size_t size = chunk(report, true, "first part", 10, true);
	feed(env, report, size);
	uint64_t deadline = scan_decoder_deadline(env->decoder);
	assert_int_equal(deadline, env->now_us + 100000);
	scan_decoder_expire(env->decoder, deadline);
	assert_int_equal(env->n_scans, 0);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(
	        env->errors[0],
	        "HID POS scan incomplete: the scanner announced more data and sent none");
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	scan_env_free(env);
}

static void test_a_damaged_chunk_refuses_its_scan_not_only_itself(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	uint8_t report[REPORT_LEN];
	feed(env, report, chunk(report, true, "head-", 5, true));
	chunk(report, true, "lost", 4, true);
	report[1] = 200;
	feed(env, report, REPORT_LEN);
	feed(env, report, chunk(report, true, "-tail", 5, false));
	assert_int_equal(env->n_scans, 0); /* never "head--tail" */
	assert_int_equal(env->n_errors, 2);
	assert_string_equal(env->errors[1],
	                    "HID POS scan refused: one of its chunks could not be read");
	send_code(env, true, "next", 4);
	assert_int_equal(env->n_scans, 1);
	assert_string_equal((char *)env->scans[0], "next");
	scan_env_free(env);
}

static void test_a_code_longer_than_the_limit_is_refused_whole(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	static char code[SCAN_MAX_BYTES + 1];
	memset(code, 'k', sizeof(code));
	send_code(env, true, code, SCAN_MAX_BYTES);
	assert_int_equal(env->n_scans, 1);
	assert_int_equal(env->lens[0], SCAN_MAX_BYTES);
	send_code(env, true, code, SCAN_MAX_BYTES + 1);
	assert_int_equal(env->n_scans, 1);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(env->errors[0], "scan too long");
	send_code(env, true, "ok", 2);
	assert_int_equal(env->n_scans, 2);
	assert_string_equal((char *)env->scans[1], "ok");
	scan_env_free(env);
}

static void test_empty_chunks_and_long_reports(void **state)
{
	(void)state;
	struct scan_env *env = hid_pos_env(true);
	uint8_t report[SCAN_MAX_REPORT + 1];
	feed(env, report, chunk(report, true, "", 0, false)); /* nothing scanned */
	assert_int_equal(scan_decoder_deadline(env->decoder), 0);
	memset(report, 0, sizeof(report));
	report[0] = SCAN_HID_POS_REPORT_ID;
	feed(env, report, sizeof(report));
	assert_int_equal(env->n_scans, 0);
	assert_int_equal(env->n_errors, 1);
	assert_string_equal(env->errors[0], "report too long (65 bytes, at most 64)");
	scan_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_one_chunk_is_one_scan_without_the_symbology),
	        cmocka_unit_test(test_chunks_are_joined_until_the_more_bit_is_clear),
	        cmocka_unit_test(test_reports_without_the_report_id),
	        cmocka_unit_test(test_binary_bytes_pass_as_they_are),
	        cmocka_unit_test(test_a_length_past_the_report_is_refused),
	        cmocka_unit_test(test_another_report_id_is_refused),
	        cmocka_unit_test(test_a_scan_whose_last_chunk_never_comes_is_refused),
	        cmocka_unit_test(test_a_damaged_chunk_refuses_its_scan_not_only_itself),
	        cmocka_unit_test(test_a_code_longer_than_the_limit_is_refused_whole),
	        cmocka_unit_test(test_empty_chunks_and_long_reports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
