/* SPDX-License-Identifier: MIT */
/*
 * ble_advert.h: find porter's credential in a BLE advert (one of three
 * carriers, docs/ble-credential.md):
 *
 *   service data   under the 16-bit service UUID 0xFFF7 (BLE_SERVICE_UUID)
 *   manufacturer   under a company id (config ble.company_id, 0xFFFF: the
 *                  Bluetooth SIG's id for tests and development)
 *   service UUID   706f7274-VVHH-HHSS-TTTT-TTTTTTTTTTTT ("port", then the
 *                  12-byte payload): what a foreground iOS app can advertise
 *
 * Adverts of other devices are not porter's and are dropped without a word;
 * an advert in a porter carrier with the wrong size or version is refused
 * with a reason, for the log.
 */
#ifndef PORTER_BLE_ADVERT_H
#define PORTER_BLE_ADVERT_H

#include <stdint.h>

#include "ble_token.h"
#include "porter.h"

#define BLE_SERVICE_UUID       "0000fff7-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_PREFIX        "706f7274-"
#define BLE_COMPANY_ID_DEFAULT 0xFFFFu
#define BLE_MAX_UUIDS          64 /* more service UUIDs than fit in any advert */
#define BLE_UUID_TEXT_LEN      36

/* 1: *ret holds a credential; 0: no porter carrier in the advert; -EINVAL:
 * a porter carrier that is malformed, *ret_reason says how (static text). */
int ble_advert_parse(const struct porter_ble_event *event, uint32_t company_id,
                     struct ble_credential *ret, const char **ret_reason);

#endif
