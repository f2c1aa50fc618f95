/* SPDX-License-Identifier: MIT */
/* test_ble_token.c: the phone token (format 1) against published HMAC and
 * TOTP vectors and against the vectors in docs/ble-credential.md. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ble_keys.h"
#include "ble_token.h"
#include "directory_file.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* RFC 4231, test cases 1 and 2: HMAC-SHA256 itself. */
static void test_hmac_matches_rfc4231(void **state)
{
	struct ble_hmac *h = ble_hmac_new();
	uint8_t key[20], mac[BLE_MAC_LEN];
	char out[2 * BLE_MAC_LEN + 1];
	memset(key, 0x0b, sizeof(key));
	assert_int_equal(ble_hmac_sha256(h, key, 20, (const uint8_t *)"Hi There", 8, mac), 0);
	hex(mac, BLE_MAC_LEN, out);
	assert_string_equal(out,
	                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	assert_int_equal(ble_hmac_sha256(h, (const uint8_t *)"Jefe", 4,
	                                 (const uint8_t *)"what do ya want for nothing?", 28, mac),
	                 0);
	hex(mac, BLE_MAC_LEN, out);
	assert_string_equal(out,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	ble_hmac_free(h);
}

/* RFC 6238 appendix B, SHA-256: the counter goes into the MAC as TOTP's
 * does; RFC 4226's dynamic truncation of our MAC gives the published codes. */
static void test_counter_mac_matches_rfc6238(void **state)
{
	static const struct {
		int64_t t;
		uint32_t code;
	} v[] = {{59, 46119246},         {1111111109, 68084774}, {1111111111, 67062674},
	         {1234567890, 91819424}, {2000000000, 90698825}, {20000000000, 77737706}};
	struct ble_hmac *h = ble_hmac_new();
	const uint8_t *key = (const uint8_t *)"12345678901234567890123456789012";
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t mac[BLE_MAC_LEN];
		assert_int_equal(ble_token_mac(h, key, ble_token_counter(v[i].t, 30), mac), 0);
		int off = mac[BLE_MAC_LEN - 1] & 0xf;
		uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
		               (uint32_t)mac[off + 2] << 8 | mac[off + 3];
		assert_int_equal(bin % 100000000u, v[i].code);
	}
	ble_hmac_free(h);
}

/* Every "vector" line of the credential document is what the code makes. */
static void test_document_vectors(void **state)
{
	char path[1024];
	const char *src = getenv("PORTER_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/docs/ble-credential.md", src ? src : ".");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	uint8_t key[BLE_KEY_LEN];
	for (int i = 0; i < BLE_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	struct ble_hmac *h = ble_hmac_new();
	char line[512];
	int seen = 0;
	while (fgets(line, sizeof(line), f)) {
		long long t;
		unsigned long long counter;
		char hint[8], payload[32], uuid[40];
		if (sscanf(line, "vector %lld %llu %7s %31s %39s", &t, &counter, hint, payload,
		           uuid) != 5)
			continue;
		assert_int_equal(ble_token_counter(t, 30), counter);
		struct ble_credential c;
		assert_int_equal(ble_token_make(h, key, counter, &c), 0);
		char got[64];
		snprintf(got, sizeof(got), "%04x", c.hint);
		assert_string_equal(got, hint);
		uint8_t p[BLE_PAYLOAD_LEN];
		ble_credential_encode(&c, p);
		hex(p, sizeof(p), got);
		assert_string_equal(got, payload);
		char u[40];
		snprintf(u, sizeof(u), "706f7274-%.4s-%.4s-%.4s-%.12s", got, got + 4, got + 8,
		         got + 12);
		assert_string_equal(u, uuid);
		struct ble_credential back;
		assert_int_equal(ble_credential_decode(p, sizeof(p), &back), 0);
		assert_int_equal(ble_token_matches(h, key, counter, &back), 1);
		seen++;
	}
	fclose(f);
	ble_hmac_free(h);
	assert_true(seen >= 3);
}

static struct ble_credential cred_with_step(uint8_t step)
{
	struct ble_credential c = {.version = 1, .step = step};
	return c;
}

static void test_drift_window_edges(void **state)
{
	uint64_t got = 0;
	struct ble_credential c;
	/* now 1000, drift 1: 999..1001 name a counter, 998 and 1002 do not */
	c = cred_with_step((uint8_t)999);
	assert_int_equal(ble_token_counter_of(&c, 1000, 1, &got), 0);
	assert_int_equal(got, 999);
	c = cred_with_step((uint8_t)1001);
	assert_int_equal(ble_token_counter_of(&c, 1000, 1, &got), 0);
	assert_int_equal(got, 1001);
	c = cred_with_step((uint8_t)998);
	assert_int_equal(ble_token_counter_of(&c, 1000, 1, &got), -ESTALE);
	c = cred_with_step((uint8_t)1002);
	assert_int_equal(ble_token_counter_of(&c, 1000, 1, &got), -ESTALE);
	/* drift 0: the current step only */
	c = cred_with_step((uint8_t)1000);
	assert_int_equal(ble_token_counter_of(&c, 1000, 0, &got), 0);
	c = cred_with_step((uint8_t)999);
	assert_int_equal(ble_token_counter_of(&c, 1000, 0, &got), -ESTALE);
	/* across the step byte's wrap: now 256 (byte 0), step byte 255 is 255 */
	c = cred_with_step(255);
	assert_int_equal(ble_token_counter_of(&c, 256, 1, &got), 0);
	assert_int_equal(got, 255);
	/* a step 256 counters old has the same byte: still stale by its MAC,
	 * it names the current counter, whose token it is not */
	c = cred_with_step(0);
	assert_int_equal(ble_token_counter_of(&c, 256, 1, &got), 0);
	assert_int_equal(got, 256);
	/* never below counter 0 */
	c = cred_with_step(255);
	assert_int_equal(ble_token_counter_of(&c, 0, 1, &got), -ESTALE);
	/* nor past the last counter (found by fuzz_ble_token) */
	c = cred_with_step(0);
	assert_int_equal(ble_token_counter_of(&c, UINT64_MAX, 1, &got), -ESTALE);
}

static void test_token_of_another_step_or_key_does_not_match(void **state)
{
	struct ble_hmac *h = ble_hmac_new();
	uint8_t key[BLE_KEY_LEN] = {1}, other[BLE_KEY_LEN] = {2};
	struct ble_credential c;
	assert_int_equal(ble_token_make(h, key, 500, &c), 0);
	assert_int_equal(ble_token_matches(h, key, 500, &c), 1);
	assert_int_equal(ble_token_matches(h, key, 501, &c), 0);
	assert_int_equal(ble_token_matches(h, other, 500, &c), 0);
	c.token[7] ^= 1;
	assert_int_equal(ble_token_matches(h, key, 500, &c), 0);
	ble_hmac_free(h);
}

static void test_payload_size_and_version_are_checked(void **state)
{
	uint8_t p[BLE_PAYLOAD_LEN + 1] = {1};
	struct ble_credential c;
	assert_int_equal(ble_credential_decode(p, BLE_PAYLOAD_LEN, &c), 0);
	assert_int_equal(ble_credential_decode(p, BLE_PAYLOAD_LEN - 1, &c), -EMSGSIZE);
	assert_int_equal(ble_credential_decode(p, BLE_PAYLOAD_LEN + 1, &c), -EMSGSIZE);
	assert_int_equal(ble_credential_decode(NULL, 0, &c), -EMSGSIZE);
	p[0] = 2;
	assert_int_equal(ble_credential_decode(p, BLE_PAYLOAD_LEN, &c), -EPROTO);
}

static void test_key_hex_round_trip(void **state)
{
	uint8_t key[BLE_KEY_LEN], back[BLE_KEY_LEN];
	char text[BLE_KEY_HEX_LEN + 1];
	for (int i = 0; i < BLE_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 7);
	ble_key_to_hex(key, text);
	assert_int_equal(ble_key_from_hex(text, strlen(text), back), 0);
	assert_memory_equal(key, back, BLE_KEY_LEN);
	assert_int_equal(ble_key_from_hex(text, strlen(text) - 1, back), -EINVAL);
	text[5] = 'g';
	assert_int_equal(ble_key_from_hex(text, strlen(text), back), -EINVAL);
}

/* A sealed key opens only for its person, under its site key. */
static void test_sealed_key_opens_for_its_person_only(void **state)
{
	uint8_t site[PIN_KEY_LEN] = {7}, other_site[PIN_KEY_LEN] = {8};
	uint8_t seal[BLE_KEY_LEN], other_seal[BLE_KEY_LEN], key[BLE_KEY_LEN] = {42},
	                                                    back[BLE_KEY_LEN];
	uint8_t sealed[PERSON_BLE_SEALED_LEN], again[PERSON_BLE_SEALED_LEN];
	assert_int_equal(ble_seal_key(site, seal), 0);
	assert_int_equal(ble_seal_key(other_site, other_seal), 0);
	assert_int_equal(ble_key_seal(seal, "m-ana", key, sealed), 0);
	assert_int_equal(ble_key_unseal(seal, "m-ana", sealed, back), 0);
	assert_memory_equal(key, back, BLE_KEY_LEN);
	assert_int_equal(ble_key_unseal(seal, "m-ben", sealed, back), -EBADMSG);
	assert_int_equal(ble_key_unseal(other_seal, "m-ana", sealed, back), -EBADMSG);
	sealed[20] ^= 1;
	assert_int_equal(ble_key_unseal(seal, "m-ana", sealed, back), -EBADMSG);
	/* a fresh nonce each time: sealing twice never repeats */
	assert_int_equal(ble_key_seal(seal, "m-ana", key, again), 0);
	assert_memory_not_equal(again, sealed, 12);
}

/* The directory file takes "ble_key" as 120 hex digits, and names a bad one. */
static void test_directory_ble_key_field(void **state)
{
	char text[1024], err[512];
	struct directory *d = NULL;
	char hex[121];
	memset(hex, 'a', 120);
	hex[120] = '\0';
	snprintf(text, sizeof(text),
	         "{\"porter_directory\":1,\"people\":[{\"id\":\"m-1\",\"kind\":\"member\","
	         "\"name\":\"A\",\"ble_key\":\"%s\"}]}",
	         hex);
	assert_int_equal(directory_parse(text, strlen(text), &d, err, sizeof(err)), 0);
	assert_true(directory_find_id(d, "m-1")->has_ble_key);
	assert_int_equal(directory_find_id(d, "m-1")->ble_key_sealed[0], 0xaa);
	directory_free(d);
	hex[7] = 'x';
	snprintf(text, sizeof(text),
	         "{\"porter_directory\":1,\"people\":[{\"id\":\"m-1\",\"kind\":\"member\","
	         "\"name\":\"A\",\"ble_key\":\"%s\"}]}",
	         hex);
	assert_int_equal(directory_parse(text, strlen(text), &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ble_key: must be 120 hex digits"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hmac_matches_rfc4231),
	        cmocka_unit_test(test_counter_mac_matches_rfc6238),
	        cmocka_unit_test(test_document_vectors),
	        cmocka_unit_test(test_drift_window_edges),
	        cmocka_unit_test(test_token_of_another_step_or_key_does_not_match),
	        cmocka_unit_test(test_payload_size_and_version_are_checked),
	        cmocka_unit_test(test_key_hex_round_trip),
	        cmocka_unit_test(test_sealed_key_opens_for_its_person_only),
	        cmocka_unit_test(test_directory_ble_key_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
