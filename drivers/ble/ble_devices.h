/* SPDX-License-Identifier: MIT */
/*
 * ble_devices.h: the devices BlueZ reports, followed by object path.
 *
 * Each Device1 update (InterfacesAdded, PropertiesChanged) that carries an
 * advert field (RSSI, ManufacturerData, ServiceData, UUIDs, TxPower) becomes
 * one normalised porter_ble_event with the device's current state. Input is
 * bounded: at most `max_devices` tracked, each data field at most
 * BLE_DEVICE_MAX_DATA bytes, at most BLE_DEVICE_MAX_UUIDS service UUIDs; a
 * property of the wrong D-Bus type or over a bound is ignored (the previous
 * value stays) with one log line per device and property.
 */
#ifndef PORTER_BLE_DEVICES_H
#define PORTER_BLE_DEVICES_H

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stddef.h>

#include "porter.h"

#define BLE_DEVICE_MAX_DATA  255 /* hooks/ble.h BLE_MAX_DATA */
#define BLE_DEVICE_MAX_UUIDS 16
#define BLE_DEVICE_PATH_MAX  128

typedef void (*ble_devices_event_fn)(void *userdata, const struct porter_ble_event *event);

struct ble_devices;

struct ble_devices_options {
	size_t max_devices;
	const char *reader_id; /* copied into each event; kept by the caller */
	int rssi_floor_dbm;    /* weaker samples are no event (BlueZ merges filters) */
};

struct ble_devices *ble_devices_new(const struct porter_host_services *services,
                                    const struct ble_devices_options *options,
                                    ble_devices_event_fn fn, void *userdata);
struct ble_devices *ble_devices_free(struct ble_devices *devices);

/* Forget every device (the adapter or bluetoothd went away). */
void ble_devices_clear(struct ble_devices *devices);

/*
 * Apply a Device1 property dict (`props` at an a{sv}, or NULL) and the names
 * in `invalidated` (at an as, or NULL) to the device at `path`, tracking it
 * when new. With `emit`, an update carrying an advert field is an event
 * (false for GetManagedObjects: BlueZ's cache is not a current advert).
 */
void ble_devices_update(struct ble_devices *devices, const char *path, DBusMessageIter *props,
                        DBusMessageIter *invalidated, bool emit);

void ble_devices_remove(struct ble_devices *devices, const char *path);

size_t ble_devices_count(const struct ble_devices *devices);

/* now_us of the last advert field seen (0: none yet). */
uint64_t ble_devices_last_advert_us(const struct ble_devices *devices);

#endif
