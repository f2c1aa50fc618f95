/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ble_token.c: libFuzzer target for decoding and checking a phone's
 * credential (plugin/ble_token.c) and opening a sealed key
 * (plugin/ble_keys.c), the parts of the BLE path that take outside bytes.
 *
 * Input: 8 bytes of the door's counter, a drift byte, then the payload; the
 * rest, if 60 bytes, is tried as a sealed key. Whatever comes in: a decoded
 * credential names a counter within the drift window or none, a forged
 * token never matches, and a sealed key that was not sealed under the
 * fuzzer's key never opens.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ble_keys.h"
#include "ble_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ble_hmac *h;
	static const uint8_t key[BLE_KEY_LEN] = {1, 2, 3};
	if (!h)
		h = ble_hmac_new();
	if (size < 9 || size > 1024)
		return 0;
	uint64_t now = 0;
	for (int i = 0; i < 8; i++)
		now = now << 8 | data[i];
	uint32_t drift = data[8];
	data += 9;
	size -= 9;
	size_t plen = size < BLE_PAYLOAD_LEN + 4 ? size : BLE_PAYLOAD_LEN + (data[0] & 3);
	uint8_t *payload = malloc(plen ? plen : 1);
	if (!payload)
		return 0;
	memcpy(payload, data, plen);
	struct ble_credential c;
	int r = ble_credential_decode(payload, plen, &c);
	if (r == 0) {
		uint64_t counter;
		if (ble_token_counter_of(&c, now, drift, &counter) == 0) {
			uint32_t d = drift > BLE_DRIFT_MAX_STEPS ? BLE_DRIFT_MAX_STEPS : drift;
			if ((counter > now ? counter - now : now - counter) > d ||
			    (uint8_t)counter != c.step)
				abort();
			/* the genuine token matches; one bit off never does */
			struct ble_credential real;
			if (ble_token_make(h, key, counter, &real) != 0 ||
			    ble_token_matches(h, key, counter, &real) != 1)
				abort();
			real.token[c.step % BLE_TOKEN_LEN] ^= (uint8_t)(1u << (c.hint & 7));
			if (ble_token_matches(h, key, counter, &real) != 0)
				abort();
			(void)ble_token_matches(h, key, counter, &c);
		}
	} else if (r != -EMSGSIZE && r != -EPROTO) {
		abort();
	}
	free(payload);
	data += plen;
	size -= plen;
	if (size == PERSON_BLE_SEALED_LEN) {
		uint8_t out[BLE_KEY_LEN];
		if (ble_key_unseal(key, "m-1", data, out) != -EBADMSG)
			abort(); /* only a sealer with the key makes a tag that holds */
	}
	char *hex = malloc(size + 1);
	if (hex) {
		memcpy(hex, data, size);
		hex[size] = '\0';
		uint8_t k[BLE_KEY_LEN];
		if (ble_key_from_hex(hex, size, k) == 0 && size != BLE_KEY_HEX_LEN)
			abort();
		free(hex);
	}
	return 0;
}
