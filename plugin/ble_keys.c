/* SPDX-License-Identifier: MIT */
/* ble_keys.c: sealed BLE keys and the keyring. See ble_keys.h. */
#include "ble_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define NONCE_LEN 12
#define TAG_LEN   16

int ble_seal_key(const uint8_t site_key[PIN_KEY_LEN], uint8_t ret[BLE_KEY_LEN])
{
	static const char label[] = "porter-ble-seal";
	struct ble_hmac *h = ble_hmac_new();
	int r = h ? ble_hmac_sha256(h, site_key, PIN_KEY_LEN, (const uint8_t *)label,
	                            sizeof(label) - 1, ret)
	          : -ENOMEM;
	ble_hmac_free(h);
	return r;
}

static int gcm(bool seal, const uint8_t key[BLE_KEY_LEN], const char *person_id,
               const uint8_t nonce[NONCE_LEN], const uint8_t *in, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, r = -EIO;
	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, seal) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)person_id, (int)strlen(person_id)) !=
	            1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, BLE_KEY_LEN) != 1 || n != BLE_KEY_LEN)
		goto out;
	if (!seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1) {
		r = seal ? -EIO : -EBADMSG;
		goto out;
	}
	if (seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int ble_key_seal(const uint8_t seal_key[BLE_KEY_LEN], const char *person_id,
                 const uint8_t key[BLE_KEY_LEN], uint8_t ret[PERSON_BLE_SEALED_LEN])
{
	if (RAND_bytes(ret, NONCE_LEN) != 1)
		return -EIO;
	return gcm(true, seal_key, person_id, ret, key, ret + NONCE_LEN,
	           ret + NONCE_LEN + BLE_KEY_LEN);
}

int ble_key_unseal(const uint8_t seal_key[BLE_KEY_LEN], const char *person_id,
                   const uint8_t sealed[PERSON_BLE_SEALED_LEN], uint8_t ret_key[BLE_KEY_LEN])
{
	uint8_t tag[TAG_LEN];
	memcpy(tag, sealed + NONCE_LEN + BLE_KEY_LEN, TAG_LEN);
	int r = gcm(false, seal_key, person_id, sealed, sealed + NONCE_LEN, ret_key, tag);
	if (r < 0)
		OPENSSL_cleanse(ret_key, BLE_KEY_LEN);
	return r;
}

struct ring_entry {
	uint16_t hint;
	const struct person *person;
	uint8_t key[BLE_KEY_LEN];
};

struct ble_keyring {
	struct ring_entry *entries; /* sorted by hint */
	size_t n;
};

static int by_hint(const void *a, const void *b)
{
	const struct ring_entry *x = a, *y = b;
	return (int)x->hint - (int)y->hint;
}

struct ble_keyring *ble_keyring_new(const struct directory *d, const uint8_t seal_key[BLE_KEY_LEN],
                                    size_t *ret_bad)
{
	struct ble_keyring *ring = calloc(1, sizeof(*ring));
	struct ble_hmac *h = ble_hmac_new();
	size_t n = 0, size = directory_size(d);
	*ret_bad = 0;
	for (size_t i = 0; i < size; i++)
		n += directory_person(d, i)->has_ble_key;
	if (!ring || !h || !(ring->entries = calloc(n ? n : 1, sizeof(*ring->entries)))) {
		ble_hmac_free(h);
		return ble_keyring_free(ring);
	}
	for (size_t i = 0; i < size; i++) {
		const struct person *p = directory_person(d, i);
		struct ring_entry *e = &ring->entries[ring->n];
		if (!p->has_ble_key)
			continue;
		if (ble_key_unseal(seal_key, p->id, p->ble_key_sealed, e->key) < 0 ||
		    ble_token_hint(h, e->key, &e->hint) < 0) {
			OPENSSL_cleanse(e->key, BLE_KEY_LEN);
			(*ret_bad)++;
			continue;
		}
		e->person = p;
		ring->n++;
	}
	ble_hmac_free(h);
	qsort(ring->entries, ring->n, sizeof(*ring->entries), by_hint);
	return ring;
}

struct ble_keyring *ble_keyring_free(struct ble_keyring *ring)
{
	if (!ring)
		return NULL;
	if (ring->entries)
		OPENSSL_cleanse(ring->entries, ring->n * sizeof(*ring->entries));
	free(ring->entries);
	free(ring);
	return NULL;
}

size_t ble_keyring_size(const struct ble_keyring *ring)
{
	return ring ? ring->n : 0;
}

size_t ble_keyring_find(const struct ble_keyring *ring, uint16_t hint, size_t *ret_first)
{
	size_t lo = 0, hi = ring ? ring->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ring->entries[mid].hint < hint)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	while (lo + n < (ring ? ring->n : 0) && ring->entries[lo + n].hint == hint)
		n++;
	*ret_first = lo;
	return n;
}

const struct person *ble_keyring_entry(const struct ble_keyring *ring, size_t index,
                                       const uint8_t **ret_key)
{
	*ret_key = ring->entries[index].key;
	return ring->entries[index].person;
}
