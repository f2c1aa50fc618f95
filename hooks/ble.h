/* SPDX-License-Identifier: MIT */
/*
 * ble.h: the BLE event hook: a member's phone held next to a reader checks
 * them in or out (README "Phone check-in (BLE)", docs/ble-credential.md).
 * A BLE address never identifies anyone (phones rotate it): a time-bound,
 * use-once token does.
 */
#ifndef PORTER_BLE_H
#define PORTER_BLE_H

#include "porter.h"

#define BLE_MAX_DATA 255 /* extended advertising data field bound */

int ble_on_event(porter_plugin *plugin, const struct porter_ble_event *event);

/* An advert seen by porter's own BLE driver (loop thread), in the same
 * normalised form: it takes the hook's path from here on. There is no host
 * request: `request_id` is ignored and complete() is never called for it;
 * the person is answered by feedback and the door alone. */
void ble_from_driver(porter_plugin *plugin, const struct porter_ble_event *event);

#endif
