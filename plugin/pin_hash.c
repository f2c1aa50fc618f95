/* SPDX-License-Identifier: MIT */
/* pin_hash.c: keyed PIN hashing and the site key file. See pin_hash.h. */
#include "pin_hash.h"
#include "secret_file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

struct pin_hasher {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

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

static int hex_decode(const char *hex, size_t len, uint8_t *out, size_t out_len)
{
	if (len != 2 * out_len)
		return -EINVAL;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int pin_hash_from_hex(const char *hex, size_t len, uint8_t ret_hash[PIN_HASH_LEN])
{
	return hex_decode(hex, len, ret_hash, PIN_HASH_LEN);
}

void pin_hash_to_hex(const uint8_t hash[PIN_HASH_LEN], char ret_hex[PIN_HASH_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < PIN_HASH_LEN; i++) {
		ret_hex[2 * i] = digits[hash[i] >> 4];
		ret_hex[2 * i + 1] = digits[hash[i] & 0xf];
	}
	ret_hex[PIN_HASH_HEX_LEN] = '\0';
}

/* Constant time, like every look at key material. */
static bool key_is_zero(const uint8_t key[PIN_KEY_LEN])
{
	uint8_t acc = 0;
	for (size_t i = 0; i < PIN_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

int pin_key_load(const char *path, uint8_t ret_key[PIN_KEY_LEN], char *err, size_t errlen)
{
	char text[2 * PIN_KEY_LEN + 4];
	size_t len;
	int r = secret_file_read(path, "PIN key file", text, sizeof(text), &len, err, errlen);
	if (r < 0)
		goto out;
	if (len == 0) {
		r = -EINVAL;
		snprintf(err, errlen,
		         "PIN key file %s: is empty; a key is %d hex digits (%d bytes) "
		         "(make one with porter-admin keygen)",
		         path, 2 * PIN_KEY_LEN, PIN_KEY_LEN);
	} else if (len != 2 * PIN_KEY_LEN) {
		r = -EINVAL; /* a short key is a weak key: never padded or accepted */
		snprintf(err, errlen,
		         "PIN key file %s: holds %s%zu characters; a key is exactly %d hex digits "
		         "(%d bytes) (make one with porter-admin keygen)",
		         path, len == sizeof(text) ? "more than " : "", len, 2 * PIN_KEY_LEN,
		         PIN_KEY_LEN);
	} else if (hex_decode(text, len, ret_key, PIN_KEY_LEN) < 0) {
		r = -EINVAL;
		snprintf(err, errlen,
		         "PIN key file %s: must hold exactly %d hex digits (%d bytes) "
		         "(make one with porter-admin keygen)",
		         path, 2 * PIN_KEY_LEN, PIN_KEY_LEN);
	} else if (key_is_zero(ret_key)) {
		r = -EINVAL; /* what a zeroed or truncated-then-padded file gives */
		snprintf(err, errlen,
		         "PIN key file %s: the key is all zero bytes, which is no secret "
		         "(make a new one with porter-admin keygen and re-add the PINs)",
		         path);
	}
	if (r < 0)
		OPENSSL_cleanse(ret_key, PIN_KEY_LEN);
out:
	OPENSSL_cleanse(text, sizeof(text));
	return r;
}

int pin_key_create(const char *path, char *err, size_t errlen)
{
	uint8_t key[PIN_KEY_LEN];
	char hex[2 * PIN_KEY_LEN + 2];
	int r = 0;

	if (RAND_priv_bytes(key, sizeof(key)) != 1) {
		snprintf(err, errlen, "no randomness available for a new key");
		return -EIO;
	}
	pin_hash_to_hex(key, hex); /* PIN_KEY_LEN == PIN_HASH_LEN */
	hex[2 * PIN_KEY_LEN] = '\n';
	hex[2 * PIN_KEY_LEN + 1] = '\0';

	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "PIN key file %s: %s", path, strerror(errno));
		goto out;
	}
	size_t want = 2 * PIN_KEY_LEN + 1;
	if (write(fd, hex, want) != (ssize_t)want || fsync(fd) < 0) {
		r = -EIO;
		snprintf(err, errlen, "PIN key file %s: could not write it", path);
		unlink(path);
	}
	close(fd);
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	return r;
}

struct pin_hasher *pin_hasher_new(const uint8_t key[PIN_KEY_LEN])
{
	struct pin_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	        OSSL_PARAM_construct_end(),
	};
	h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (h->mac)
		h->ctx = EVP_MAC_CTX_new(h->mac);
	if (!h->ctx || !EVP_MAC_init(h->ctx, key, PIN_KEY_LEN, params))
		return pin_hasher_free(h);
	return h;
}

struct pin_hasher *pin_hasher_free(struct pin_hasher *h)
{
	if (!h)
		return NULL;
	EVP_MAC_CTX_free(h->ctx); /* clears the keyed state */
	EVP_MAC_free(h->mac);
	free(h);
	return NULL;
}

int pin_hasher_hash(struct pin_hasher *h, const char *pin, size_t len,
                    uint8_t ret_hash[PIN_HASH_LEN])
{
	size_t out_len = 0;
	/* A NULL key re-initialises with the key set in pin_hasher_new(): no
	 * re-fetch, no allocation, on the hook's hot path. */
	if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(h->ctx, (const unsigned char *)pin, len) ||
	    !EVP_MAC_final(h->ctx, ret_hash, &out_len, PIN_HASH_LEN) || out_len != PIN_HASH_LEN)
		return -EIO;
	return 0;
}
