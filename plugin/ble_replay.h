/* SPDX-License-Identifier: MIT */
/*
 * ble_replay.h: tokens that were used, so none is accepted twice.
 *
 * A member's token is a function of their key and the time step's counter,
 * so "consumed" is kept as one number per member: the last counter that
 * made a decision. A token is accepted only for a counter above it, from
 * any address. Entries whose counter fell out of the drift window can go:
 * such tokens are refused as stale anyway. So the cache is bounded by the
 * members who used BLE within the last drift window, and capped; a cache
 * full of live entries refuses (fails closed) rather than forget one.
 *
 * Durable: the counter is written with the presence change it made, in the
 * recorder's transaction (store.h, table ble_consumed), and loaded back at
 * start, so a restart does not reopen a used token.
 */
#ifndef PORTER_BLE_REPLAY_H
#define PORTER_BLE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ble_replay;

struct ble_replay *ble_replay_new(size_t capacity);
struct ble_replay *ble_replay_free(struct ble_replay *r);

/* True when `person_id`'s token for `counter` (or a later one) was used. */
bool ble_replay_used(const struct ble_replay *r, const char *person_id, uint64_t counter);

/* Mark it used. Entries with a counter below `oldest_live` are dropped to
 * make room. 0, -ENOSPC (full of live entries), -EINVAL (id too long),
 * -ENOMEM. */
int ble_replay_use(struct ble_replay *r, const char *person_id, uint64_t counter,
                   uint64_t oldest_live);

size_t ble_replay_size(const struct ble_replay *r);

#endif
