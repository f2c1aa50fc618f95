/* SPDX-License-Identifier: MIT */
/*
 * ble_keys.h: members' BLE keys, sealed at rest and indexed by hint.
 *
 * The door needs each member's key itself (to compute HMACs), not a hash of
 * it, so a key cannot be stored like a PIN. It is sealed instead: AES-256-GCM
 * under a key derived from the site key (HMAC-SHA256(site key,
 * "porter-ble-seal")), with the person's id as associated data, stored in
 * the directory as "ble_key" (120 hex digits: nonce 12 | ciphertext 32 |
 * tag 16). So the directory file stays what it was (readable by an admin, no
 * secret in it: a copy of it alone opens nothing), the site key file stays
 * the one secret file, and a sealed key copied onto another person fails to
 * open. porter unseals the keys once per directory, into a keyring in
 * memory, cleared when the directory goes.
 */
#ifndef PORTER_BLE_KEYS_H
#define PORTER_BLE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ble_token.h"
#include "directory.h"
#include "pin_hash.h"

#define BLE_SEALED_HEX_LEN (2 * PERSON_BLE_SEALED_LEN)

/* The sealing key of a site key. */
int ble_seal_key(const uint8_t site_key[PIN_KEY_LEN], uint8_t ret[BLE_KEY_LEN]);

/* Seal `key` for `person_id` (a fresh random nonce each time). 0 or -EIO. */
int ble_key_seal(const uint8_t seal_key[BLE_KEY_LEN], const char *person_id,
                 const uint8_t key[BLE_KEY_LEN], uint8_t ret[PERSON_BLE_SEALED_LEN]);
/* 0, or -EBADMSG when it was sealed under another site key or person. */
int ble_key_unseal(const uint8_t seal_key[BLE_KEY_LEN], const char *person_id,
                   const uint8_t sealed[PERSON_BLE_SEALED_LEN], uint8_t ret_key[BLE_KEY_LEN]);

struct ble_keyring;

/* Unseal the keys of everyone in `directory` who has one. People whose key
 * does not open are counted in *ret_bad (and left out). NULL on ENOMEM. */
struct ble_keyring *ble_keyring_new(const struct directory *directory,
                                    const uint8_t seal_key[BLE_KEY_LEN], size_t *ret_bad);
struct ble_keyring *ble_keyring_free(struct ble_keyring *ring);

size_t ble_keyring_size(const struct ble_keyring *ring);

/* The holders of `hint`: index of the first in *ret_first, returns how
 * many; ble_keyring_entry() gives each. */
size_t ble_keyring_find(const struct ble_keyring *ring, uint16_t hint, size_t *ret_first);
const struct person *ble_keyring_entry(const struct ble_keyring *ring, size_t index,
                                       const uint8_t **ret_key);

#endif
