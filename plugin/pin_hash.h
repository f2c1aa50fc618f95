/* SPDX-License-Identifier: MIT */
/*
 * pin_hash.h: PINs are never stored or compared in clear.
 *
 * A PIN is reduced to HMAC-SHA256(site key, PIN). The site key lives in a
 * secrets file only the service account can read, so a copy of the directory
 * file alone does not give away PINs (a bare hash of a 4-8 digit PIN would be
 * reversed in seconds). One site-wide key, not a per-person salt, because the
 * door must find a person from the PIN alone, in memory, in microseconds.
 */
#ifndef PORTER_PIN_HASH_H
#define PORTER_PIN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PIN_HASH_LEN     32 /* bytes of HMAC-SHA256 */
#define PIN_HASH_HEX_LEN (2 * PIN_HASH_LEN)
#define PIN_KEY_LEN      32 /* bytes of site key */

struct pin_hasher;

/*
 * Read a key file: PIN_KEY_LEN bytes as hex text, optional trailing newline.
 * Refuses (-EPERM) a file that group or others can read or write, or that
 * belongs to anyone but the effective user or root, since the key turns the
 * directory's hashes back into PINs and its owner can rewrite or expose it.
 * Refuses (-EINVAL) a key that is short, long, not hex, or all zero bytes.
 * On error, a message naming the problem and its fix (never the key) is
 * written to `err`.
 */
int pin_key_load(const char *path, uint8_t ret_key[PIN_KEY_LEN], char *err, size_t errlen);

/* Create a new random key file with mode 0600. Refuses to overwrite. */
int pin_key_create(const char *path, char *err, size_t errlen);

/* A hasher keyed once, reused for every PIN (no allocation per hash). */
struct pin_hasher *pin_hasher_new(const uint8_t key[PIN_KEY_LEN]);
struct pin_hasher *pin_hasher_free(struct pin_hasher *hasher);

/* HMAC of `pin` (`len` bytes). Returns 0 or -EIO. Not thread-safe: one
 * hasher per thread. */
int pin_hasher_hash(struct pin_hasher *hasher, const char *pin, size_t len,
                    uint8_t ret_hash[PIN_HASH_LEN]);

/* Hex text <-> hash. pin_hash_from_hex returns -EINVAL unless `hex` is
 * exactly PIN_HASH_HEX_LEN hex digits. */
int pin_hash_from_hex(const char *hex, size_t len, uint8_t ret_hash[PIN_HASH_LEN]);
void pin_hash_to_hex(const uint8_t hash[PIN_HASH_LEN], char ret_hex[PIN_HASH_HEX_LEN + 1]);

#endif
