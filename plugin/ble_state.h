/* SPDX-License-Identifier: MIT */
/*
 * ble_state.h: what phone check-in keeps between adverts: the keyring of
 * the directory in force, the proximity filter, the used tokens and an HMAC
 * context. plugin.c owns it (start, directory swaps, reload); hooks/ble.c
 * reads and updates it on the loop thread.
 */
#ifndef PORTER_BLE_STATE_H
#define PORTER_BLE_STATE_H

#include <stdint.h>

#include "ble_keys.h"
#include "ble_proximity.h"
#include "ble_replay.h"
#include "ble_token.h"
#include "directory.h"

#define BLE_DEVICES_MAX  2048        /* phones followed at once (a crowded lobby: 500) */
#define BLE_COOLING_MAX  1024        /* members in their cooldown at once */
#define BLE_USED_MAX     4096        /* members whose token is used within the drift window */
#define BLE_LOG_EVERY_US 10000000ull /* refused adverts: one log line per 10 s */

struct ble_state {
	struct ble_keyring *keyring; /* NULL: no keys (or memory ran out) */
	struct ble_proximity *proximity;
	struct ble_replay *replay;
	struct ble_hmac *hmac;
	uint8_t seal_key[BLE_KEY_LEN];
	uint64_t refusal_logged_us; /* adverts repeat: refusals are logged sparingly */
	uint64_t refusals_unlogged;
	uint64_t load_oldest_live; /* at start: used counters below it are stale */
};

struct ble_state *ble_state_new(const uint8_t seal_key[BLE_KEY_LEN]);
struct ble_state *ble_state_free(struct ble_state *state);

/* The site key changed (reload). */
void ble_state_set_seal_key(struct ble_state *state, const uint8_t seal_key[BLE_KEY_LEN]);

/* `directory` goes into force: its keys are unsealed. Returns the number of
 * keys that do not open (made under another site key, or copied from
 * another person), or -ENOMEM (phone check-in then knows nobody). */
int ble_state_directory(struct ble_state *state, const struct directory *directory);

/* store_load_ble_consumed's callback: a token used before this start. */
int ble_state_load_used(void *state, const char *person_id, uint64_t counter);

#endif
