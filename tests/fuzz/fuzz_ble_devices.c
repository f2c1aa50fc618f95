/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ble_devices.c: libFuzzer target for porter's BlueZ driver reading
 * Device1 properties (drivers/ble/ble_devices.c), the part of the driver
 * that reads what any radio nearby chose to send.
 *
 * The input is a D-Bus message in wire format (dbus_message_demarshal: the
 * fuzzer learns the header and signature rules itself; a seed corpus of real
 * messages is in corpus/ble_devices). Like the driver, a message whose
 * signature is PropertiesChanged's (sa{sv}as) is applied as a property dict
 * and invalidated names, and InterfacesAdded's (oa{sa{sv}}) as one dict per
 * interface; the device path is the message's path or the object path
 * argument, so both new and known devices are exercised (a second update to
 * the same device, and its removal, follow). Every event must be
 * well-formed: data lengths within the driver's bounds, pointers set when
 * lengths are not zero.
 */
#include <dbus/dbus.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ble_devices.h"
#include "fake_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_host host;
static int init;

static void on_event(void *userdata, const struct porter_ble_event *ev)
{
	/* Touch every byte so ASan checks each length against its buffer. */
	volatile uint8_t sum = 0;
	if (ev->manufacturer_data_len > BLE_DEVICE_MAX_DATA ||
	    ev->service_data_len > BLE_DEVICE_MAX_DATA)
		abort();
	if ((ev->manufacturer_data_len && !ev->manufacturer_data) ||
	    (ev->service_data_len && !ev->service_data))
		abort();
	for (size_t i = 0; i < ev->manufacturer_data_len; i++)
		sum += ev->manufacturer_data[i];
	for (size_t i = 0; i < ev->service_data_len; i++)
		sum += ev->service_data[i];
	if (ev->reader_id)
		sum += (uint8_t)strlen(ev->reader_id);
	if (ev->service_uuid)
		sum += (uint8_t)strlen(ev->service_uuid);
	(void)sum;
}

static void apply(struct ble_devices *devices, DBusMessage *m)
{
	const char *sig = dbus_message_get_signature(m);
	const char *path = dbus_message_get_path(m);
	DBusMessageIter it, props;
	dbus_message_iter_init(m, &it);
	if (strcmp(sig, "sa{sv}as") == 0 && path) {
		dbus_message_iter_next(&it);
		props = it;
		dbus_message_iter_next(&it);
		ble_devices_update(devices, path, &props, &it, true);
		ble_devices_update(devices, path, &props, NULL, true); /* known device */
		ble_devices_remove(devices, path);
	} else if (strcmp(sig, "oa{sa{sv}}") == 0) {
		DBusMessageIter ifaces, entry;
		dbus_message_iter_get_basic(&it, &path);
		dbus_message_iter_next(&it);
		dbus_message_iter_recurse(&it, &ifaces);
		for (; dbus_message_iter_get_arg_type(&ifaces) == DBUS_TYPE_DICT_ENTRY;
		     dbus_message_iter_next(&ifaces)) {
			dbus_message_iter_recurse(&ifaces, &entry);
			dbus_message_iter_next(&entry);
			ble_devices_update(devices, path, &entry, NULL, true);
		}
	} else if (path) {
		/* Any other body: the driver never passes it, but the reader must
		 * still refuse what is not a{sv} without reading past it. */
		ble_devices_update(devices, path, &it, NULL, true);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!init) {
		fake_host_init(&host);
		init = 1;
	}
	if (size > 1 << 16)
		return 0;
	DBusError e;
	dbus_error_init(&e);
	DBusMessage *m = dbus_message_demarshal((const char *)data, (int)size, &e);
	if (!m) {
		dbus_error_free(&e);
		return 0;
	}
	struct ble_devices_options options = {
	        .max_devices = 4, .reader_id = "front", .rssi_floor_dbm = -127};
	struct ble_devices *devices = ble_devices_new(&host.services, &options, on_event, NULL);
	if (devices) {
		apply(devices, m);
		ble_devices_free(devices);
	}
	dbus_message_unref(m);
	return 0;
}
