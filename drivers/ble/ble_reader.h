/* SPDX-License-Identifier: MIT */
/*
 * ble_reader.h: porter's own BLE reader, BlueZ over libdbus on the host's
 * loop, for door controllers without a BLE stack of their own.
 *
 * It picks the configured adapter (or the first powered one), sets the
 * discovery filter (LE, duplicate data on, an RSSI floor), starts discovery
 * and turns every advert update into one porter_ble_event for `fn` (the
 * plugin passes them to ble_from_driver). It restarts discovery when adverts
 * stop arriving, sets up again when bluetoothd, the adapter or the system
 * bus go away and come back, and says what stops it (ble_reader_diagnostics).
 * Everything runs on the loop thread through pending calls; nothing blocks.
 */
#ifndef PORTER_BLE_READER_H
#define PORTER_BLE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "ble_devices.h"
#include "porter.h"

/* Setups that cannot work (README, Diagnostics). */
#define DIAG_BLE_NO_ADAPTER   "PORTER-D020"
#define DIAG_BLE_NO_LE        "PORTER-D021"
#define DIAG_BLE_NO_BLUEZ     "PORTER-D022"
#define DIAG_BLE_NO_BUS       "PORTER-D023"
#define DIAG_BLE_CLOCK_UNSYNC "PORTER-D024"

struct ble_reader_options {
	const char *adapter;   /* "hci0", or "" / NULL: the first powered one */
	const char *reader_id; /* events' reader_id */
	int rssi_floor_dbm;
	uint32_t restart_after_ms; /* no advert for this long: restart discovery */
	uint32_t reconnect_ms;     /* retry the system bus this often (0: 5000) */
	uint32_t clock_check_ms;   /* ask timedated this often (0: 600000) */
	size_t max_devices;        /* 0: 1024 */
	const char *bus_address;   /* NULL: the system bus ($DBUS_SYSTEM_BUS_ADDRESS) */
};

struct ble_reader;

/* Start (strings are copied). Returns 0, or -EINVAL (a needed service,
 * watch_add/watch_remove, is missing; logged), -ENOMEM. A bus, bluetoothd or
 * adapter that is not there is no error: it is a diagnostic until it is. */
int ble_reader_start(const struct porter_host_services *services,
                     const struct ble_reader_options *options, ble_devices_event_fn fn,
                     void *userdata, struct ble_reader **ret);

/* Ask BlueZ to stop discovery without waiting, remove every watch and
 * timer, close. No callback runs after it returns. NULL-safe; returns NULL. */
struct ble_reader *ble_reader_stop(struct ble_reader *reader);

/* The diagnostics that apply now, one report each; returns how many.
 * NULL-safe (0). */
int ble_reader_diagnostics(const struct ble_reader *reader, porter_report_fn report,
                           void *userdata);

#endif
