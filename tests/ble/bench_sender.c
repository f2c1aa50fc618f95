/* SPDX-License-Identifier: MIT */
/*
 * bench_sender.c: a crowded lobby for the BLE driver's benchmark. It takes
 * the name org.bluez on the (private) system bus, answers the driver's
 * set-up (GetManagedObjects with one powered adapter, the rest with an empty
 * reply), then sends PropertiesChanged adverts (RSSI and 20 bytes of
 * manufacturer data) for `devices` devices in turn at `rate` per second for
 * `seconds`, and prints how many it sent. A test tool: it blocks, and may.
 *
 *     bench_sender DEVICES RATE SECONDS
 */
#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool discovering;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void managed_objects(DBusMessage *reply)
{
	DBusMessageIter it, objs, obj, ifaces, iface, props, prop, v;
	const char *path = "/org/bluez/hci0", *name = "org.bluez.Adapter1", *key = "Powered";
	dbus_bool_t yes = TRUE;
	dbus_message_iter_init_append(reply, &it);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &objs);
	dbus_message_iter_open_container(&objs, DBUS_TYPE_DICT_ENTRY, NULL, &obj);
	dbus_message_iter_append_basic(&obj, DBUS_TYPE_OBJECT_PATH, &path);
	dbus_message_iter_open_container(&obj, DBUS_TYPE_ARRAY, "{sa{sv}}", &ifaces);
	dbus_message_iter_open_container(&ifaces, DBUS_TYPE_DICT_ENTRY, NULL, &iface);
	dbus_message_iter_append_basic(&iface, DBUS_TYPE_STRING, &name);
	dbus_message_iter_open_container(&iface, DBUS_TYPE_ARRAY, "{sv}", &props);
	dbus_message_iter_open_container(&props, DBUS_TYPE_DICT_ENTRY, NULL, &prop);
	dbus_message_iter_append_basic(&prop, DBUS_TYPE_STRING, &key);
	dbus_message_iter_open_container(&prop, DBUS_TYPE_VARIANT, "b", &v);
	dbus_message_iter_append_basic(&v, DBUS_TYPE_BOOLEAN, &yes);
	dbus_message_iter_close_container(&prop, &v);
	dbus_message_iter_close_container(&props, &prop);
	dbus_message_iter_close_container(&iface, &props);
	dbus_message_iter_close_container(&ifaces, &iface);
	dbus_message_iter_close_container(&obj, &ifaces);
	dbus_message_iter_close_container(&objs, &obj);
	dbus_message_iter_close_container(&it, &objs);
}

static DBusHandlerResult on_message(DBusConnection *c, DBusMessage *m, void *data)
{
	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	DBusMessage *reply = dbus_message_new_method_return(m);
	if (dbus_message_is_method_call(m, "org.freedesktop.DBus.ObjectManager",
	                                "GetManagedObjects"))
		managed_objects(reply);
	if (dbus_message_is_method_call(m, "org.bluez.Adapter1", "StartDiscovery"))
		discovering = true;
	dbus_connection_send(c, reply, NULL);
	dbus_message_unref(reply);
	return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusMessage *advert(int device, int16_t rssi)
{
	char path[64];
	snprintf(path, sizeof(path), "/org/bluez/hci0/dev_C0_FF_EE_00_%02X_%02X", device >> 8,
	         device & 0xff);
	DBusMessage *m = dbus_message_new_signal(path, "org.freedesktop.DBus.Properties",
	                                         "PropertiesChanged");
	DBusMessageIter it, props, prop, v, dict, entry, v2, bytes, inval;
	const char *iface = "org.bluez.Device1", *k_rssi = "RSSI", *k_mfr = "ManufacturerData";
	uint8_t data[20] = {0x02, 0x15};
	const uint8_t *p = data;
	dbus_uint16_t company = 0x004c;
	data[19] = (uint8_t)device;
	dbus_message_iter_init_append(m, &it);
	dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &props);
	dbus_message_iter_open_container(&props, DBUS_TYPE_DICT_ENTRY, NULL, &prop);
	dbus_message_iter_append_basic(&prop, DBUS_TYPE_STRING, &k_rssi);
	dbus_message_iter_open_container(&prop, DBUS_TYPE_VARIANT, "n", &v);
	dbus_message_iter_append_basic(&v, DBUS_TYPE_INT16, &rssi);
	dbus_message_iter_close_container(&prop, &v);
	dbus_message_iter_close_container(&props, &prop);
	dbus_message_iter_open_container(&props, DBUS_TYPE_DICT_ENTRY, NULL, &prop);
	dbus_message_iter_append_basic(&prop, DBUS_TYPE_STRING, &k_mfr);
	dbus_message_iter_open_container(&prop, DBUS_TYPE_VARIANT, "a{qv}", &v);
	dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "{qv}", &dict);
	dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
	dbus_message_iter_append_basic(&entry, DBUS_TYPE_UINT16, &company);
	dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "ay", &v2);
	dbus_message_iter_open_container(&v2, DBUS_TYPE_ARRAY, "y", &bytes);
	dbus_message_iter_append_fixed_array(&bytes, DBUS_TYPE_BYTE, &p, (int)sizeof(data));
	dbus_message_iter_close_container(&v2, &bytes);
	dbus_message_iter_close_container(&entry, &v2);
	dbus_message_iter_close_container(&dict, &entry);
	dbus_message_iter_close_container(&v, &dict);
	dbus_message_iter_close_container(&prop, &v);
	dbus_message_iter_close_container(&props, &prop);
	dbus_message_iter_close_container(&it, &props);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &inval);
	dbus_message_iter_close_container(&it, &inval);
	return m;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_sender DEVICES RATE SECONDS\n");
		return 2;
	}
	int devices = atoi(argv[1]);
	double rate = atof(argv[2]), seconds = atof(argv[3]);
	DBusError e;
	dbus_error_init(&e);
	DBusConnection *c = dbus_bus_get(DBUS_BUS_SYSTEM, &e);
	if (!c || dbus_bus_request_name(c, "org.bluez", DBUS_NAME_FLAG_DO_NOT_QUEUE, &e) !=
	                  DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
		fprintf(stderr, "bench_sender: %s\n", e.message ? e.message : "no name");
		return 1;
	}
	dbus_connection_add_filter(c, on_message, NULL, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("OWNER\n");
	while (!discovering && dbus_connection_read_write_dispatch(c, 100))
		;
	double start = now_s();
	long sent = 0;
	for (;;) {
		double t = now_s() - start;
		if (t >= seconds)
			break;
		while (sent < (long)(t * rate)) {
			DBusMessage *m = advert((int)(sent % devices), (int16_t)(-40 - sent % 30));
			dbus_connection_send(c, m, NULL);
			dbus_message_unref(m);
			sent++;
		}
		dbus_connection_read_write_dispatch(c, 1);
	}
	dbus_connection_flush(c);
	printf("SENT %ld %.3f\n", sent, now_s() - start);
	return 0;
}
