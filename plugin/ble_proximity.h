/* SPDX-License-Identifier: MIT */
/*
 * ble_proximity.h: "held next to the reader", from signal strength.
 *
 * One phone's approach repeats the same credential payload in many adverts
 * (whatever address it uses), so samples are kept per (reader, payload): a
 * payload counts as next to the reader once `samples` adverts at or above
 * `rssi_min_dbm` arrived within `window_us`. It fires once; later adverts
 * of the same payload are dropped cheaply. After a decision the member
 * cools down (`cooldown_us`, per member, all readers), so one approach is
 * one check-in even when the token's time step rolls over meanwhile.
 *
 * Memory is bounded: a fixed table of devices (a crowded lobby evicts the
 * least recently heard) and a fixed table of members cooling down.
 */
#ifndef PORTER_BLE_PROXIMITY_H
#define PORTER_BLE_PROXIMITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ble_token.h"

#define BLE_PROXIMITY_MAX_SAMPLES 16

struct ble_proximity_config {
	int32_t rssi_min_dbm;
	uint32_t samples; /* 1..BLE_PROXIMITY_MAX_SAMPLES */
	uint64_t window_us;
};

enum ble_proximity_state {
	BLE_FAR = 0, /* not (yet) next to the reader */
	BLE_NEAR,    /* next to it: decide now (returned once per payload) */
	BLE_FIRED,   /* this payload fired already */
};

struct ble_proximity;

/* `devices` and `members`: table sizes, rounded up to powers of two. */
struct ble_proximity *ble_proximity_new(size_t devices, size_t members);
struct ble_proximity *ble_proximity_free(struct ble_proximity *p);

/* One advert of `payload` at `reader_id` with `rssi_dbm`, at `now_us`. */
enum ble_proximity_state ble_proximity_sample(struct ble_proximity *p, const char *reader_id,
                                              const uint8_t payload[BLE_PAYLOAD_LEN],
                                              int32_t rssi_dbm, uint64_t now_us,
                                              const struct ble_proximity_config *config);

/* Member `person_id` was decided for: quiet until now_us + cooldown_us. */
void ble_proximity_cool(struct ble_proximity *p, const char *person_id, uint64_t now_us,
                        uint64_t cooldown_us);
bool ble_proximity_cooling(const struct ble_proximity *p, const char *person_id, uint64_t now_us);

/* Forget everything (a reload changed the rules). */
void ble_proximity_clear(struct ble_proximity *p);

/* How many devices are followed now (for tests of the bound). */
size_t ble_proximity_devices(const struct ble_proximity *p);

#endif
