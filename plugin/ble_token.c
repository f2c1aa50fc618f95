/* SPDX-License-Identifier: MIT */
/* ble_token.c: derive and check phone tokens, format 1. See ble_token.h. */
#include "ble_token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

struct ble_hmac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

struct ble_hmac *ble_hmac_new(void)
{
	struct ble_hmac *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (h->mac)
		h->ctx = EVP_MAC_CTX_new(h->mac);
	if (!h->ctx)
		return ble_hmac_free(h);
	return h;
}

struct ble_hmac *ble_hmac_free(struct ble_hmac *h)
{
	if (!h)
		return NULL;
	EVP_MAC_CTX_free(h->ctx); /* clears the keyed state */
	EVP_MAC_free(h->mac);
	free(h);
	return NULL;
}

int ble_hmac_sha256(struct ble_hmac *h, const uint8_t *key, size_t key_len, const uint8_t *data,
                    size_t len, uint8_t ret_mac[BLE_MAC_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	        OSSL_PARAM_construct_end(),
	};
	size_t out_len = 0;
	if (!h || !key || (!data && len) || !EVP_MAC_init(h->ctx, key, key_len, params) ||
	    !EVP_MAC_update(h->ctx, data, len) ||
	    !EVP_MAC_final(h->ctx, ret_mac, &out_len, BLE_MAC_LEN) || out_len != BLE_MAC_LEN)
		return -EIO;
	return 0;
}

int ble_token_mac(struct ble_hmac *h, const uint8_t key[BLE_KEY_LEN], uint64_t counter,
                  uint8_t ret_mac[BLE_MAC_LEN])
{
	uint8_t msg[8];
	for (int i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (uint8_t)counter;
	return ble_hmac_sha256(h, key, BLE_KEY_LEN, msg, sizeof(msg), ret_mac);
}

uint64_t ble_token_counter(int64_t unix_s, uint32_t step_s)
{
	if (unix_s < 0 || step_s == 0)
		return 0;
	return (uint64_t)unix_s / step_s;
}

int ble_token_hint(struct ble_hmac *h, const uint8_t key[BLE_KEY_LEN], uint16_t *ret_hint)
{
	static const char label[] = "porter-ble-hint";
	uint8_t mac[BLE_MAC_LEN];
	int r = ble_hmac_sha256(h, key, BLE_KEY_LEN, (const uint8_t *)label, sizeof(label) - 1,
	                        mac);
	if (r == 0)
		*ret_hint = (uint16_t)(mac[0] << 8 | mac[1]);
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

int ble_token_make(struct ble_hmac *h, const uint8_t key[BLE_KEY_LEN], uint64_t counter,
                   struct ble_credential *ret)
{
	uint8_t mac[BLE_MAC_LEN];
	int r = ble_token_hint(h, key, &ret->hint);
	if (r == 0)
		r = ble_token_mac(h, key, counter, mac);
	if (r < 0)
		return r;
	ret->version = BLE_FORMAT_VERSION;
	ret->step = (uint8_t)counter;
	memcpy(ret->token, mac, BLE_TOKEN_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

void ble_credential_encode(const struct ble_credential *c, uint8_t ret[BLE_PAYLOAD_LEN])
{
	ret[0] = c->version;
	ret[1] = (uint8_t)(c->hint >> 8);
	ret[2] = (uint8_t)c->hint;
	ret[3] = c->step;
	memcpy(ret + 4, c->token, BLE_TOKEN_LEN);
}

int ble_credential_decode(const uint8_t *data, size_t len, struct ble_credential *ret)
{
	if (!data || len != BLE_PAYLOAD_LEN)
		return -EMSGSIZE;
	if (data[0] != BLE_FORMAT_VERSION)
		return -EPROTO;
	ret->version = data[0];
	ret->hint = (uint16_t)(data[1] << 8 | data[2]);
	ret->step = data[3];
	memcpy(ret->token, data + 4, BLE_TOKEN_LEN);
	return 0;
}

int ble_token_counter_of(const struct ble_credential *c, uint64_t now, uint32_t drift,
                         uint64_t *ret_counter)
{
	if (drift > BLE_DRIFT_MAX_STEPS)
		drift = BLE_DRIFT_MAX_STEPS;
	/* The signed distance from now's low byte to the step byte, in
	 * -128..127: unique because the window is narrower than 128 steps. */
	int8_t delta = (int8_t)(uint8_t)(c->step - (uint8_t)now);
	if (delta > (int)drift || delta < -(int)drift || (delta < 0 && now < (uint64_t)-delta) ||
	    (delta > 0 && now > UINT64_MAX - (uint64_t)delta))
		return -ESTALE;
	*ret_counter = now + (int64_t)delta;
	return 0;
}

int ble_token_matches(struct ble_hmac *h, const uint8_t key[BLE_KEY_LEN], uint64_t counter,
                      const struct ble_credential *c)
{
	uint8_t mac[BLE_MAC_LEN];
	int r = ble_token_mac(h, key, counter, mac);
	if (r == 0)
		r = CRYPTO_memcmp(mac, c->token, BLE_TOKEN_LEN) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ble_key_from_hex(const char *hex, size_t len, uint8_t ret_key[BLE_KEY_LEN])
{
	if (!hex || len != BLE_KEY_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < BLE_KEY_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(ret_key, BLE_KEY_LEN);
			return -EINVAL;
		}
		ret_key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void ble_key_to_hex(const uint8_t key[BLE_KEY_LEN], char ret_hex[BLE_KEY_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < BLE_KEY_LEN; i++) {
		ret_hex[2 * i] = digits[key[i] >> 4];
		ret_hex[2 * i + 1] = digits[key[i] & 0xf];
	}
	ret_hex[BLE_KEY_HEX_LEN] = '\0';
}
