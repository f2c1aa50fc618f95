/* SPDX-License-Identifier: MIT */
/* ble_state.c: phone check-in's state. See ble_state.h. */
#include "ble_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct ble_state *ble_state_new(const uint8_t seal_key[BLE_KEY_LEN])
{
	struct ble_state *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->proximity = ble_proximity_new(BLE_DEVICES_MAX, BLE_COOLING_MAX);
	s->replay = ble_replay_new(BLE_USED_MAX);
	s->hmac = ble_hmac_new();
	if (!s->proximity || !s->replay || !s->hmac)
		return ble_state_free(s);
	memcpy(s->seal_key, seal_key, BLE_KEY_LEN);
	return s;
}

struct ble_state *ble_state_free(struct ble_state *s)
{
	if (!s)
		return NULL;
	ble_keyring_free(s->keyring);
	ble_proximity_free(s->proximity);
	ble_replay_free(s->replay);
	ble_hmac_free(s->hmac);
	OPENSSL_cleanse(s->seal_key, sizeof(s->seal_key));
	free(s);
	return NULL;
}

void ble_state_set_seal_key(struct ble_state *s, const uint8_t seal_key[BLE_KEY_LEN])
{
	memcpy(s->seal_key, seal_key, BLE_KEY_LEN);
}

int ble_state_directory(struct ble_state *s, const struct directory *directory)
{
	size_t bad = 0;
	s->keyring = ble_keyring_free(s->keyring);
	s->keyring = ble_keyring_new(directory, s->seal_key, &bad);
	return s->keyring ? (int)bad : -ENOMEM;
}

int ble_state_load_used(void *state, const char *person_id, uint64_t counter)
{
	struct ble_state *s = state;
	if (counter < s->load_oldest_live)
		return 0; /* its tokens are refused as stale anyway */
	int r = ble_replay_use(s->replay, person_id, counter, 0);
	return r == -ENOSPC || r == -EINVAL ? 0 : r;
}
