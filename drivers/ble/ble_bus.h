/* SPDX-License-Identifier: MIT */
/*
 * ble_bus.h: one private libdbus connection driven by the host's loop.
 *
 * libdbus's watches and timeouts become the host's fd watches and one-shot
 * timers; messages are dispatched from those callbacks (never re-entrantly).
 * Nothing here blocks: the socket connect is local, Hello is a pending call
 * like every other call, match rules are sent without waiting. Every call
 * goes through ble_bus_call(), so closing the bus cancels what is still
 * pending and no reply handler runs after ble_bus_close().
 */
#ifndef PORTER_BLE_BUS_H
#define PORTER_BLE_BUS_H

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>

#include "porter.h"

struct ble_bus;

/* Incoming signals (and method calls, which the reader ignores). */
typedef void (*ble_bus_signal_fn)(void *userdata, DBusMessage *message);
/* The reply (or error) to a call; `reply` is NULL when the bus closed
 * without one (never after ble_bus_close()). */
typedef void (*ble_bus_reply_fn)(void *userdata, uint64_t tag, DBusMessage *reply);
/* The connection was lost (the bus daemon went away). Runs from the loop,
 * outside dispatch, so the owner may close the bus from it. */
typedef void (*ble_bus_lost_fn)(void *userdata);

/* The system bus address: $DBUS_SYSTEM_BUS_ADDRESS or libdbus's default. */
const char *ble_bus_system_address(void);

/* Connect to `address` and say Hello. Returns 0 and *ret, or a negative
 * errno with a reason in `err` (-ENOENT/-ECONNREFUSED: no bus there). */
int ble_bus_open(const struct porter_host_services *services, const char *address,
                 ble_bus_signal_fn on_signal, ble_bus_lost_fn on_lost, void *userdata,
                 struct ble_bus **ret, char *err, size_t errlen);

/* Send `message` (taken over, unref'd here) and run `fn` with the reply and
 * `tag` (the caller's way to tell a stale reply). Returns 0, or a negative
 * errno (nothing will run). */
int ble_bus_call(struct ble_bus *bus, DBusMessage *message, int timeout_ms, ble_bus_reply_fn fn,
                 void *userdata, uint64_t tag);

/* Send without waiting for any reply (a best-effort StopDiscovery). */
void ble_bus_send(struct ble_bus *bus, DBusMessage *message);

/* Add a match rule without waiting for the bus's answer. */
void ble_bus_add_match(struct ble_bus *bus, const char *rule);

/* Cancel pending calls, remove every watch and timer, close. NULL-safe;
 * returns NULL. */
struct ble_bus *ble_bus_close(struct ble_bus *bus);

#endif
