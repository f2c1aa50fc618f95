/* SPDX-License-Identifier: MIT */
/*
 * porter-advertise.c: a reference advertiser. It advertises a payload as
 * BLE manufacturer data through BlueZ's LE advertising API
 * (org.bluez.LEAdvertisingManager1), so an integrator can try porter's BLE
 * path with a second Linux machine and no phone app.
 *
 *     porter-advertise [--adapter hci0] [--company 0xFFFF] --data HEX
 *                      [--seconds N]
 *
 * It exports one org.bluez.LEAdvertisement1 object, registers it with a
 * pending call (bluetoothd reads the object's properties back while the
 * call is open, so the program keeps serving it), prints
 * "REGISTERED <bus name> <object path>" and advertises until SIGINT/SIGTERM
 * or N seconds, then unregisters. The payload is given in hex: the member
 * token's derivation (plugin/ble_token.c) is not part of porter yet; once it
 * is, this program computes the rotating token from a member's key itself.
 * A stand-alone example: it uses libdbus in its own small loop.
 */
#include <dbus/dbus.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADV_PATH  "/org/porter/advertisement0"
#define ADV_IFACE "org.bluez.LEAdvertisement1"
#define DATA_MAX  26 /* what fits a legacy advert beside the flags and company id */

static volatile sig_atomic_t stop;
static uint8_t data[DATA_MAX];
static size_t data_len;
static dbus_uint16_t company = 0xFFFF; /* Bluetooth SIG: reserved for tests */
static int state;                      /* 0 waiting, 1 registered, -1 failed */

static void on_signal(int sig)
{
	stop = 1;
}

static void variant_string(DBusMessageIter *dict, const char *key, const char *value)
{
	DBusMessageIter entry, v;
	dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
	dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
	dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "s", &v);
	dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &value);
	dbus_message_iter_close_container(&entry, &v);
	dbus_message_iter_close_container(dict, &entry);
}

static void variant_mfr(DBusMessageIter *dict)
{
	const char *key = "ManufacturerData";
	const uint8_t *p = data;
	DBusMessageIter entry, v, mdict, mentry, v2, bytes;
	dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
	dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
	dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "a{qv}", &v);
	dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "{qv}", &mdict);
	dbus_message_iter_open_container(&mdict, DBUS_TYPE_DICT_ENTRY, NULL, &mentry);
	dbus_message_iter_append_basic(&mentry, DBUS_TYPE_UINT16, &company);
	dbus_message_iter_open_container(&mentry, DBUS_TYPE_VARIANT, "ay", &v2);
	dbus_message_iter_open_container(&v2, DBUS_TYPE_ARRAY, "y", &bytes);
	dbus_message_iter_append_fixed_array(&bytes, DBUS_TYPE_BYTE, &p, (int)data_len);
	dbus_message_iter_close_container(&v2, &bytes);
	dbus_message_iter_close_container(&mentry, &v2);
	dbus_message_iter_close_container(&mdict, &mentry);
	dbus_message_iter_close_container(&v, &mdict);
	dbus_message_iter_close_container(&entry, &v);
	dbus_message_iter_close_container(dict, &entry);
}

/* The advertisement's properties, as bluetoothd reads them (GetAll). */
static void append_properties(DBusMessage *reply)
{
	DBusMessageIter it, dict;
	dbus_message_iter_init_append(reply, &it);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict);
	variant_string(&dict, "Type", "peripheral");
	variant_mfr(&dict);
	dbus_message_iter_close_container(&it, &dict);
}

static DBusHandlerResult on_object(DBusConnection *c, DBusMessage *m, void *userdata)
{
	DBusMessage *reply = NULL;
	if (dbus_message_is_method_call(m, DBUS_INTERFACE_PROPERTIES, "GetAll")) {
		reply = dbus_message_new_method_return(m);
		append_properties(reply);
	} else if (dbus_message_is_method_call(m, ADV_IFACE, "Release")) {
		reply = dbus_message_new_method_return(m);
		fprintf(stderr, "porter-advertise: bluetoothd released the advertisement\n");
		stop = 1;
	} else {
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	dbus_connection_send(c, reply, NULL);
	dbus_message_unref(reply);
	return DBUS_HANDLER_RESULT_HANDLED;
}

static void registered(DBusPendingCall *pending, void *userdata)
{
	DBusConnection *c = userdata;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR) {
		const char *text = "";
		dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID);
		fprintf(stderr, "porter-advertise: RegisterAdvertisement failed: %s %s\n",
		        dbus_message_get_error_name(reply), text);
		state = -1;
	} else {
		printf("REGISTERED %s %s\n", dbus_bus_get_unique_name(c), ADV_PATH);
		state = 1;
	}
	dbus_message_unref(reply);
}

static int parse_hex(const char *s)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > DATA_MAX || n == 0)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		data[i] = (uint8_t)v;
	}
	data_len = n / 2;
	return 0;
}

static DBusMessage *manager_call(const char *adapter_path, const char *method)
{
	DBusMessage *m = dbus_message_new_method_call("org.bluez", adapter_path,
	                                              "org.bluez.LEAdvertisingManager1", method);
	const char *path = ADV_PATH;
	DBusMessageIter it, dict;
	dbus_message_iter_init_append(m, &it);
	dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &path);
	if (strcmp(method, "RegisterAdvertisement") == 0) {
		dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict);
		dbus_message_iter_close_container(&it, &dict);
	}
	return m;
}

int main(int argc, char **argv)
{
	const char *adapter = "hci0";
	double seconds = 0;
	bool have_data = false;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--adapter") == 0) {
			adapter = argv[i + 1];
		} else if (strcmp(argv[i], "--company") == 0) {
			company = (dbus_uint16_t)strtoul(argv[i + 1], NULL, 0);
		} else if (strcmp(argv[i], "--data") == 0) {
			if (parse_hex(argv[i + 1]) < 0) {
				fprintf(stderr, "porter-advertise: --data: 1 to %d bytes in hex\n",
				        DATA_MAX);
				return 2;
			}
			have_data = true;
		} else if (strcmp(argv[i], "--seconds") == 0) {
			seconds = atof(argv[i + 1]);
		}
	}
	if (!have_data || argc % 2 == 0) {
		fprintf(stderr, "usage: porter-advertise [--adapter hci0] [--company 0xFFFF] "
		                "--data HEX [--seconds N]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	char adapter_path[128];
	snprintf(adapter_path, sizeof(adapter_path), "/org/bluez/%s", adapter);

	DBusError e;
	dbus_error_init(&e);
	DBusConnection *c = dbus_bus_get(DBUS_BUS_SYSTEM, &e);
	if (!c) {
		fprintf(stderr, "porter-advertise: system bus: %s\n", e.message);
		return 1;
	}
	DBusObjectPathVTable vtable = {.message_function = on_object};
	dbus_connection_register_object_path(c, ADV_PATH, &vtable, NULL);
	DBusPendingCall *pending = NULL;
	dbus_connection_send_with_reply(c, manager_call(adapter_path, "RegisterAdvertisement"),
	                                &pending, 10000);
	if (!pending) {
		fprintf(stderr, "porter-advertise: cannot call RegisterAdvertisement\n");
		return 1;
	}
	dbus_pending_call_set_notify(pending, registered, c, NULL);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && state >= 0 && dbus_connection_read_write_dispatch(c, 100)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (seconds > 0 &&
		    (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
	}
	dbus_pending_call_unref(pending);
	if (state == 1) {
		DBusMessage *m = manager_call(adapter_path, "UnregisterAdvertisement");
		DBusMessage *reply = dbus_connection_send_with_reply_and_block(c, m, 5000, NULL);
		dbus_message_unref(m);
		if (reply)
			dbus_message_unref(reply);
		printf("UNREGISTERED\n");
	}
	dbus_connection_unref(c);
	return state == 1 ? 0 : 1;
}
