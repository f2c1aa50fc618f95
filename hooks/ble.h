/* SPDX-License-Identifier: MIT */
/*
 * ble.h: the BLE event hook. Phone credentials are not decided yet: the hook
 * validates the event's shape and bounds and answers "no opinion". A BLE
 * address never identifies anyone (phones rotate it).
 */
#ifndef PORTER_BLE_H
#define PORTER_BLE_H

#include "porter.h"

#define BLE_MAX_DATA 255 /* extended advertising data field bound */

int ble_on_event(porter_plugin *plugin, const struct porter_ble_event *event);

#endif
