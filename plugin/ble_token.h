/* SPDX-License-Identifier: MIT */
/*
 * ble_token.h: porter's phone credential, format 1 (docs/ble-credential.md).
 *
 * A member's phone holds a 32-byte key shared with the door. Every time step
 * (config ble.time_step_s, 30 s by default) it advertises
 *
 *   payload = version (1) | hint (2) | step (1) | token (8)      12 bytes
 *
 *   counter = floor(unix seconds / time step)
 *   mac     = HMAC-SHA256(key, counter as 8 bytes big-endian)    (TOTP's input)
 *   token   = mac[0..7]                                          (a plain prefix)
 *   step    = counter mod 256
 *   hint    = HMAC-SHA256(key, "porter-ble-hint")[0..1]          (fixed per key)
 *
 * The hint lets the door try only the few keys that share it; the step byte
 * names the counter inside the drift window, so one HMAC per candidate key
 * decides. A plain 64-bit prefix rather than RFC 4226's dynamic truncation:
 * that yields 31 bits, which a lobby full of guessing transmitters could hit,
 * and a prefix is one line in any phone language.
 */
#ifndef PORTER_BLE_TOKEN_H
#define PORTER_BLE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLE_KEY_LEN         32
#define BLE_KEY_HEX_LEN     (2 * BLE_KEY_LEN)
#define BLE_TOKEN_LEN       8
#define BLE_MAC_LEN         32
#define BLE_PAYLOAD_LEN     12
#define BLE_FORMAT_VERSION  1
#define BLE_DRIFT_MAX_STEPS 10 /* the step byte must name one counter: < 128 */

struct ble_credential {
	uint8_t version;
	uint16_t hint;
	uint8_t step; /* counter mod 256 */
	uint8_t token[BLE_TOKEN_LEN];
};

/* One HMAC-SHA256 context, re-keyed per call (no allocation per advert).
 * Not thread-safe: one per thread. */
struct ble_hmac;
struct ble_hmac *ble_hmac_new(void);
struct ble_hmac *ble_hmac_free(struct ble_hmac *hmac);

/* HMAC-SHA256(key, data). 0 or -EIO. */
int ble_hmac_sha256(struct ble_hmac *hmac, const uint8_t *key, size_t key_len, const uint8_t *data,
                    size_t len, uint8_t ret_mac[BLE_MAC_LEN]);

/* The whole MAC of `counter` (for tests against RFC 6238's vectors). */
int ble_token_mac(struct ble_hmac *hmac, const uint8_t key[BLE_KEY_LEN], uint64_t counter,
                  uint8_t ret_mac[BLE_MAC_LEN]);

/* The counter of `unix_s` for a time step of `step_s` seconds (>= 1). */
uint64_t ble_token_counter(int64_t unix_s, uint32_t step_s);

int ble_token_hint(struct ble_hmac *hmac, const uint8_t key[BLE_KEY_LEN], uint16_t *ret_hint);

/* The credential a phone advertises for `counter`. 0 or -EIO. */
int ble_token_make(struct ble_hmac *hmac, const uint8_t key[BLE_KEY_LEN], uint64_t counter,
                   struct ble_credential *ret);

void ble_credential_encode(const struct ble_credential *cred, uint8_t ret[BLE_PAYLOAD_LEN]);

/* Read a payload: -EMSGSIZE when it is not BLE_PAYLOAD_LEN bytes, -EPROTO
 * for a version porter does not know. */
int ble_credential_decode(const uint8_t *data, size_t len, struct ble_credential *ret);

/* The counter within `drift` steps of `now_counter` whose low byte is the
 * credential's step byte: 0, or -ESTALE when none is (too old, too new). */
int ble_token_counter_of(const struct ble_credential *cred, uint64_t now_counter, uint32_t drift,
                         uint64_t *ret_counter);

/* Does `cred` carry the token of `key` for `counter`? Constant time in the
 * token. 1 yes, 0 no, -EIO. */
int ble_token_matches(struct ble_hmac *hmac, const uint8_t key[BLE_KEY_LEN], uint64_t counter,
                      const struct ble_credential *cred);

/* Hex <-> key: -EINVAL unless exactly BLE_KEY_HEX_LEN hex digits. */
int ble_key_from_hex(const char *hex, size_t len, uint8_t ret_key[BLE_KEY_LEN]);
void ble_key_to_hex(const uint8_t key[BLE_KEY_LEN], char ret_hex[BLE_KEY_HEX_LEN + 1]);

#endif
