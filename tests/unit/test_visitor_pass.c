/* SPDX-License-Identifier: MIT */
/*
 * test_visitor_pass.c: porter's visitor pass as a third party and a forger
 * see it: the README's test vector, every byte of a pass altered, another
 * key, encodings that are not canonical, the public key file rules; the
 * bounds of a scan and the per-code memory; and a scan from porter's own
 * scanner driver (qr_from_driver), which has no host request.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "directory_file.h"
#include "fake_host.h"
#include "plugin.h"
#include "qr.h"
#include "qr_credential.h"
#include "visitor_pass.h"

/* RFC 8032 section 7.1, test 1: a key every Ed25519 library can load. */
static const unsigned char rfc8032_seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
                                               0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
                                               0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
                                               0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

/* The README's test vector ("Visitor passes"), word for word. */
static const char vector[] =
        "PV1.MXxleGFtcGxlLXBhc3MtMDAwMXx2LXZlcmF8MTc5ODc2MTYwMHwxNzk4ODQ4MDAwfDE."
        "sFWX5uIUeWZ9I5IOBtG3ZeW17dcxoQ5lPvxx3UXeCh4Dx2cwnv2xX3DU3SPDZp59Cs5tYuJBlsVvWYTFRn7SBg";
static const char vector_public_key[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
        "-----END PUBLIC KEY-----\n";

static char tmpdir[64];

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static struct visitor_pass_keys *keys_from(const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	write_text(path, text, 0644);
	const char *paths[] = {path};
	struct visitor_pass_keys *k = NULL;
	char err[512];
	assert_int_equal(visitor_pass_keys_load(paths, 1, &k, err, sizeof(err)), 0);
	return k;
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/porter-pass-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static EVP_PKEY *rfc8032_key(void)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, rfc8032_seed, 32);
	assert_non_null(k);
	return k;
}

static void test_the_readme_vector_signs_and_verifies(void **state)
{
	struct visitor_pass pass = {.pass_id = "example-pass-0001",
	                            .visitor_id = "v-vera",
	                            .valid_from = 1798761600,
	                            .valid_until = 1798848000,
	                            .single_use = true};
	char out[VISITOR_PASS_MAX + 1];
	EVP_PKEY *key = rfc8032_key();
	assert_int_equal(visitor_pass_sign_with(key, &pass, out, sizeof(out)), strlen(vector));
	EVP_PKEY_free(key);
	assert_string_equal(out, vector); /* Ed25519 is deterministic */

	struct visitor_pass_keys *keys = keys_from(vector_public_key);
	struct visitor_pass got;
	assert_int_equal(visitor_pass_verify(keys, (const uint8_t *)vector, strlen(vector), &got),
	                 0);
	assert_string_equal(got.pass_id, "example-pass-0001");
	assert_string_equal(got.visitor_id, "v-vera");
	assert_int_equal(got.valid_from, 1798761600);
	assert_int_equal(got.valid_until, 1798848000);
	assert_true(got.single_use);
	visitor_pass_keys_free(keys);
}

static void test_a_pass_altered_in_any_one_byte_is_refused(void **state)
{
	struct visitor_pass_keys *keys = keys_from(vector_public_key);
	size_t len = strlen(vector);
	for (size_t i = 0; i < len; i++) {
		char altered[sizeof(vector)];
		memcpy(altered, vector, sizeof(vector));
		altered[i] = altered[i] == 'A' ? 'B' : 'A';
		struct visitor_pass got;
		int r = visitor_pass_verify(keys, (const uint8_t *)altered, len, &got);
		if (r != -EINVAL && r != -EBADMSG)
			fail_msg("byte %zu altered: verify returned %d", i, r);
		assert_string_equal(got.visitor_id, ""); /* nothing of it is trusted */
	}
	visitor_pass_keys_free(keys);
}

static void test_a_pass_signed_by_another_key_is_refused(void **state)
{
	EVP_PKEY *other = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &other), 1);
	EVP_PKEY_CTX_free(ctx);
	struct visitor_pass pass = {
	        .pass_id = "p1", .visitor_id = "v-vera", .valid_from = 1, .valid_until = 2};
	char out[VISITOR_PASS_MAX + 1];
	assert_true(visitor_pass_sign_with(other, &pass, out, sizeof(out)) > 0);
	EVP_PKEY_free(other);
	struct visitor_pass_keys *keys = keys_from(vector_public_key);
	struct visitor_pass got;
	assert_int_equal(visitor_pass_verify(keys, (const uint8_t *)out, strlen(out), &got),
	                 -EBADMSG);
	assert_int_equal(visitor_pass_verify(NULL, (const uint8_t *)out, strlen(out), &got),
	                 -ENOKEY);
	visitor_pass_keys_free(keys);
}

static void test_only_canonical_well_formed_payloads_parse(void **state)
{
	static const char *const bad[] = {
	        "PV1.",
	        "PV1..",
	        "PV2.MXxh.AAAA",
	        "pv1.MXxh.AAAA",
	        /* padding, and a stray low bit ('F' = ...0101 where 'E' ends in 00) */
	        "PV1.MXxleGFtcGxlLXBhc3MtMDAwMXx2LXZlcmF8MTc5ODc2MTYwMHwxNzk4ODQ4MDAwfDE=.AA",
	        "PV1.MXxleGFtcGxlLXBhc3MtMDAwMXx2LXZlcmF8MTc5ODc2MTYwMHwxNzk4ODQ4MDAwfDF.AA",
	};
	struct visitor_pass got;
	uint8_t sig[VISITOR_PASS_SIG_LEN];
	size_t n;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		        visitor_pass_parse((const uint8_t *)bad[i], strlen(bad[i]), &got, &n, sig),
		        -EINVAL);
	/* The vector with its last signature character's stray bits set. */
	char stray[sizeof(vector)];
	memcpy(stray, vector, sizeof(vector));
	stray[strlen(stray) - 1] = 'h'; /* 'g' = 100000, 'h' = 100001: a low bit set */
	assert_int_equal(visitor_pass_parse((const uint8_t *)stray, strlen(stray), &got, &n, sig),
	                 -EINVAL);
	assert_int_equal(visitor_pass_parse((const uint8_t *)vector, strlen(vector), &got, &n, sig),
	                 0);
	assert_int_equal(
	        n,
	        strlen("PV1.MXxleGFtcGxlLXBhc3MtMDAwMXx2LXZlcmF8MTc5ODc2MTYwMHwxNzk4ODQ4MDAwfDE"));
}

static void test_a_key_file_must_be_public_and_not_writable_by_others(void **state)
{
	char path[128], err[512];
	struct visitor_pass_keys *k = NULL;
	const char *paths[] = {path};
	snprintf(path, sizeof(path), "%s/open.pem", tmpdir);
	write_text(path, vector_public_key, 0666);
	assert_int_equal(visitor_pass_keys_load(paths, 1, &k, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod go-w"));

	EVP_PKEY *key = rfc8032_key();
	FILE *f = fopen(path, "w");
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(path, 0600);
	EVP_PKEY_free(key);
	assert_int_equal(visitor_pass_keys_load(paths, 1, &k, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "private key"));
	assert_null(strstr(err, "BEGIN")); /* never key material */

	write_text(path, "not a key\n", 0644);
	assert_int_equal(visitor_pass_keys_load(paths, 1, &k, err, sizeof(err)), -EINVAL);
	write_text(path, vector_public_key, 0644); /* readable by all: it is public */
	assert_int_equal(visitor_pass_keys_load(paths, 1, &k, err, sizeof(err)), 0);
	assert_int_equal(visitor_pass_keys_count(k), 1);
	visitor_pass_keys_free(k);
}

static void test_a_scan_is_bounded_printable_ascii(void **state)
{
	uint8_t big[QR_CODE_MAX + 1];
	size_t at;
	memset(big, 'A', sizeof(big));
	assert_int_equal(qr_code_check(big, QR_CODE_MAX, &at), 0);
	assert_int_equal(qr_code_check(big, QR_CODE_MAX + 1, &at), -E2BIG);
	assert_int_equal(qr_code_check(big, 0, &at), -EINVAL);
	assert_int_equal(qr_code_check((const uint8_t *)"AB CD", 5, &at), -EINVAL);
	assert_int_equal(at, 2);
	assert_int_equal(qr_code_check((const uint8_t *)"AB\xc3\xa4", 4, &at), -EINVAL);
	assert_int_equal(at, 2);
	assert_int_equal(qr_code_check((const uint8_t *)"AB\r", 3, &at), -EINVAL);
}

static void test_a_code_refused_too_often_is_locked_and_the_table_stays_bounded(void **state)
{
	struct qr_memory *m = qr_memory_new();
	uint8_t code[PIN_HASH_LEN] = {1}, other[PIN_HASH_LEN] = {2};
	assert_false(qr_code_failed(m, code, 1000, 3, 60000000));
	assert_false(qr_code_failed(m, code, 2000, 3, 60000000));
	assert_int_equal(qr_code_locked(m, code, 2500), 0);
	assert_true(qr_code_failed(m, code, 3000, 3, 60000000));
	assert_int_equal(qr_code_locked(m, code, 3000), 60);
	assert_int_equal(qr_code_locked(m, other, 3000), 0);
	/* A flood of other codes evicts old counts, never grows the table,
	 * and a fresh lock survives while the flood refuses older codes. */
	for (uint32_t i = 0; i < 5 * QR_CODES_MAX; i++) {
		uint8_t h[PIN_HASH_LEN] = {0};
		memcpy(h + 4, &i, sizeof(i));
		qr_code_failed(m, h, 4000 + i, 3, 60000000);
	}
	assert_int_equal(qr_code_locked(m, other, 10000), 0);
	qr_memory_free(m);
}

static void test_used_passes_are_remembered_until_they_expire(void **state)
{
	struct qr_memory *m = qr_memory_new();
	char id[32];
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "old-%d", i);
		assert_int_equal(qr_pass_mark_used(m, id, 100, 50), 0);
	}
	assert_true(qr_pass_used(m, "old-7"));
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "new-%d", i);
		assert_int_equal(qr_pass_mark_used(m, id, 1000, 500), 0); /* old ones expired */
	}
	assert_true(qr_pass_used(m, "new-99"));
	assert_true(qr_pass_used_count(m) <= 128);
	qr_memory_free(m);
}

static void test_only_a_visitor_may_have_a_visitor_code(void **state)
{
	static const char member[] =
	        "{\"porter_directory\": 1, \"people\": [{\"id\": \"m-1\", \"kind\": \"member\","
	        " \"name\": \"Ana\", \"qr_hmac\": "
	        "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}";
	struct directory *d = NULL;
	char err[256];
	assert_int_equal(directory_parse(member, strlen(member), &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "only a visitor has a visitor code"));
}

/* ---- porter's own scanner: qr_from_driver ------------------------------------ */

static void test_a_drivers_scan_checks_in_without_a_host_request(void **state)
{
	struct fake_host host;
	struct fake_site site;
	char from[32], until[32], extra[512], key_path[400];
	fake_host_init(&host);
	struct fake_person people[] = {
	        {"v-vera", "visitor", "Vera Visitor", "2468", fake_time(-3600, from),
	         fake_time(3600, until)},
	};
	fake_site_create(&site, people, 1, "");
	snprintf(key_path, sizeof(key_path), "%s/pass.pub", site.dir);
	write_text(key_path, vector_public_key, 0644);
	snprintf(extra, sizeof(extra), "\"visitor_pass\": {\"public_keys\": [\"%s\"]}", key_path);
	fake_site_set_config(&site, extra);
	porter_plugin *plugin;
	assert_int_equal(
	        plugin_init(&host.services, site.config, strlen(site.config), NULL, NULL, &plugin),
	        0);

	int64_t now = (int64_t)time(NULL);
	struct visitor_pass pass = {.pass_id = "drv-1",
	                            .visitor_id = "v-vera",
	                            .valid_from = now - 60,
	                            .valid_until = now + 3600};
	char payload[VISITOR_PASS_MAX + 1];
	EVP_PKEY *key = rfc8032_key();
	assert_true(visitor_pass_sign_with(key, &pass, payload, sizeof(payload)) > 0);
	EVP_PKEY_free(key);
	struct porter_qr_event ev = {.size = sizeof(ev),
	                             .request_id = 0,
	                             .reader_id = "lobby",
	                             .data = (const uint8_t *)payload,
	                             .data_len = strlen(payload)};
	qr_from_driver(plugin, &ev);
	while (host.n_feedback < 1)
		assert_true(fake_host_run_next_invokes(&host));
	assert_string_equal(host.feedback[0].code, "checked_in");
	assert_non_null(strstr(host.feedback[0].text, "Vera Visitor"));
	assert_int_equal(host.n_doors, 1);
	assert_int_equal(host.n_completions, 0); /* nobody to complete */
	/* The scanner beeps twice: nothing more happens. */
	qr_from_driver(plugin, &ev);
	assert_int_equal(host.n_feedback, 1);
	/* A driver's garbage is refused at the door, its content never logged. */
	struct porter_qr_event junk = {.size = sizeof(ev),
	                               .reader_id = "lobby",
	                               .data = (const uint8_t *)"SECRET\x01JUNK",
	                               .data_len = 11};
	qr_from_driver(plugin, &junk);
	assert_string_equal(fake_host_last_code(&host), "qr_unreadable");
	assert_true(fake_host_logged(&host, "QR scan refused: byte 7 of 11"));
	assert_false(fake_host_logged(&host, "SECRET"));
	assert_false(fake_host_logged(&host, payload));
	plugin_shutdown(plugin);
	fake_site_destroy(&site);
	fake_host_destroy(&host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_the_readme_vector_signs_and_verifies),
	        cmocka_unit_test(test_a_pass_altered_in_any_one_byte_is_refused),
	        cmocka_unit_test(test_a_pass_signed_by_another_key_is_refused),
	        cmocka_unit_test(test_only_canonical_well_formed_payloads_parse),
	        cmocka_unit_test(test_a_key_file_must_be_public_and_not_writable_by_others),
	        cmocka_unit_test(test_a_scan_is_bounded_printable_ascii),
	        cmocka_unit_test(
	                test_a_code_refused_too_often_is_locked_and_the_table_stays_bounded),
	        cmocka_unit_test(test_used_passes_are_remembered_until_they_expire),
	        cmocka_unit_test(test_only_a_visitor_may_have_a_visitor_code),
	        cmocka_unit_test(test_a_drivers_scan_checks_in_without_a_host_request),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
