/* SPDX-License-Identifier: MIT */
/*
 * visitor_pass.h: porter's own signed visitor pass, a text that fits a QR
 * code and that a door verifies offline with a public key alone.
 *
 *   PV1.<base64url(fields)>.<base64url(signature)>
 *
 * fields (ASCII, '|'-separated, in this order):
 *   version      "1"
 *   pass id      1-32 of [A-Za-z0-9_-], unique per pass (single use is per id)
 *   visitor id   1-64 printable ASCII bytes but '|': the person's directory id
 *   valid from   unix seconds, decimal without leading zeros
 *   valid until  unix seconds, after valid from; the pass works in
 *                [valid from, valid until)
 *   single use   "1" single use, "0" not
 * signature: Ed25519 (RFC 8032) over the ASCII bytes before the last '.'
 * ("PV1." and the encoded fields), 64 bytes. base64url is RFC 4648 section
 * 5 without padding; a non-canonical encoding (padding, stray bits) is
 * refused. README "Visitor passes" is the description a third party
 * implements from, with a test vector.
 *
 * A door holds only public keys (config visitor_pass.public_keys: the
 * current one and the next, for rotation); porter-admin holds the private
 * key that signs.
 */
#ifndef PORTER_VISITOR_PASS_H
#define PORTER_VISITOR_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory.h"

#define VISITOR_PASS_PREFIX   "PV1."
#define VISITOR_PASS_ID_MAX   32
#define VISITOR_PASS_MAX      512 /* bytes of a whole payload */
#define VISITOR_PASS_SIG_LEN  64
#define VISITOR_PASS_KEYS_MAX 2

struct visitor_pass {
	char pass_id[VISITOR_PASS_ID_MAX + 1];
	char visitor_id[PERSON_ID_MAX + 1];
	int64_t valid_from, valid_until;
	bool single_use;
};

/* True when `data` claims to be a pass ("PV" then a version and '.'):
 * anything else is a visitor code. */
bool visitor_pass_looks_like(const uint8_t *data, size_t len);

/* Parse without verifying (the fuzzed part). On 0, *ret_signed_len is how
 * many leading bytes the signature covers and ret_sig holds it. -EINVAL
 * for anything malformed, including an unknown version. */
int visitor_pass_parse(const uint8_t *data, size_t len, struct visitor_pass *ret,
                       size_t *ret_signed_len, uint8_t ret_sig[VISITOR_PASS_SIG_LEN]);

struct visitor_pass_keys;

/* Load up to VISITOR_PASS_KEYS_MAX PEM public keys (Ed25519). A key file is
 * public and may be world-readable, but one that group or others may write,
 * or that holds a private key, is refused: whoever can replace it can mint
 * passes, and a door must never hold a key that signs. Returns 0 or a
 * negative errno with what is wrong in `err` (never key material). */
int visitor_pass_keys_load(const char *const *paths, size_t n, struct visitor_pass_keys **ret,
                           char *err, size_t errlen);
struct visitor_pass_keys *visitor_pass_keys_free(struct visitor_pass_keys *keys);
size_t visitor_pass_keys_count(const struct visitor_pass_keys *keys);

/* Parse and verify against every key. 0: signed by one of them (times and
 * single use are the caller's to judge); -EINVAL malformed; -EBADMSG no
 * key's signature (forged, altered, another key); -ENOKEY no keys. */
int visitor_pass_verify(const struct visitor_pass_keys *keys, const uint8_t *data, size_t len,
                        struct visitor_pass *ret);

/* Sign `pass` with a PEM private key file's key (porter-admin): writes the
 * payload, NUL-terminated, to `out`. Returns its length or a negative errno. */
int visitor_pass_sign_with(void *evp_pkey, const struct visitor_pass *pass, char *out, size_t size);

/* Checks a pass's own fields the way the parser does (porter-admin, before
 * it signs): 0 or -EINVAL with the reason in `err`. */
int visitor_pass_check_fields(const struct visitor_pass *pass, char *err, size_t errlen);

/* base64url without padding. encode returns the length written (NUL
 * added); decode returns the bytes or -EINVAL (non-canonical too). */
size_t base64url_encode(const uint8_t *in, size_t len, char *out, size_t size);
int base64url_decode(const char *in, size_t len, uint8_t *out, size_t size);

#endif
