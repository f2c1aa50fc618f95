/* SPDX-License-Identifier: MIT */
/*
 * porter-advertise.c: a reference advertiser. It advertises a member's
 * rotating BLE token (docs/ble-credential.md), or a raw payload, as BLE
 * manufacturer data through BlueZ's LE advertising API
 * (org.bluez.LEAdvertisingManager1), so an integrator can try porter's BLE
 * path with a second Linux machine and no phone app.
 *
 *     porter-advertise [--adapter hci0] [--company 0xFFFF] [--seconds N]
 *                      (--key-file FILE [--time-step S] | --data HEX)
 *
 * --key-file names a file holding the member's key as `porter-admin ble key`
 * prints it (porter-ble:1:<64 hex digits>) or the 64 hex digits alone; the
 * key is read from a file, never from the command line, where every user on
 * the machine could see it in ps. The token is computed with porter's own
 * plugin/ble_token.c, for the time step S (the door's ble.time_step_s, 30 s
 * by default); at each new step the advertisement is unregistered and
 * registered again, as bluetoothd reads an advertisement's data only when it
 * is registered. --data advertises HEX as it is.
 *
 * It exports one org.bluez.LEAdvertisement1 object, registers it with a
 * pending call (bluetoothd reads the object's properties back while the
 * call is open, so the program keeps serving it), prints
 * "TOKEN counter <n> payload <hex>" (with --key-file) and
 * "REGISTERED <bus name> <object path>" at each registration, and advertises
 * until SIGINT/SIGTERM or N seconds, then unregisters. The token printed is
 * public (it is on the air); the key is never printed.
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

#include "ble_token.h"

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

/* The member key from `path`: "porter-ble:1:" and 64 hex digits, or the hex
 * alone, with surrounding white space. 0, or -1 with the reason printed (the
 * key itself never is). */
static int read_key(const char *path, uint8_t key[BLE_KEY_LEN])
{
	char text[256];
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "porter-advertise: --key-file %s: cannot open it\n", path);
		return -1;
	}
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *hex = text + strspn(text, " \t\r\n");
	if (strncmp(hex, "porter-ble:1:", 13) == 0)
		hex += 13;
	size_t len = strcspn(hex, " \t\r\n");
	bool rest_blank = hex[len + strspn(hex + len, " \t\r\n")] == '\0';
	int r = rest_blank ? ble_key_from_hex(hex, len, key) : -1;
	explicit_bzero(text, sizeof(text));
	if (r < 0) {
		fprintf(stderr,
		        "porter-advertise: --key-file %s: want porter-ble:1: and %d hex digits "
		        "(what porter-admin ble key prints), or the %d hex digits alone\n",
		        path, BLE_KEY_HEX_LEN, BLE_KEY_HEX_LEN);
		return -1;
	}
	return 0;
}

/* data[] = the member's payload for `counter`. 0 or -1. */
static int make_token(struct ble_hmac *hmac, const uint8_t key[BLE_KEY_LEN], uint64_t counter)
{
	struct ble_credential cred;
	if (ble_token_make(hmac, key, counter, &cred) < 0) {
		fprintf(stderr, "porter-advertise: cannot compute the token (HMAC failed)\n");
		return -1;
	}
	ble_credential_encode(&cred, data);
	data_len = BLE_PAYLOAD_LEN;
	printf("TOKEN counter %llu payload ", (unsigned long long)counter);
	for (size_t i = 0; i < data_len; i++)
		printf("%02x", data[i]);
	printf("\n");
	return 0;
}

static uint64_t counter_now(uint32_t step_s)
{
	return ble_token_counter((int64_t)time(NULL), step_s);
}

/* RegisterAdvertisement with a pending call; registered() says how it went. */
static DBusPendingCall *register_advert(DBusConnection *c, const char *adapter_path);

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

static DBusPendingCall *register_advert(DBusConnection *c, const char *adapter_path)
{
	DBusPendingCall *pending = NULL;
	DBusMessage *m = manager_call(adapter_path, "RegisterAdvertisement");
	dbus_connection_send_with_reply(c, m, &pending, 10000);
	dbus_message_unref(m);
	if (!pending) {
		fprintf(stderr, "porter-advertise: cannot call RegisterAdvertisement\n");
		return NULL;
	}
	dbus_pending_call_set_notify(pending, registered, c, NULL);
	return pending;
}

int main(int argc, char **argv)
{
	const char *adapter = "hci0", *key_file = NULL;
	double seconds = 0;
	bool have_data = false;
	unsigned long step_s = 30;
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
		} else if (strcmp(argv[i], "--key-file") == 0) {
			key_file = argv[i + 1];
		} else if (strcmp(argv[i], "--time-step") == 0) {
			char *end;
			step_s = strtoul(argv[i + 1], &end, 10);
			/* 1 s is below what a door accepts (5): for trying rotation fast. */
			if (*end || step_s < 1 || step_s > 3600) {
				fprintf(stderr, "porter-advertise: --time-step: seconds, 1 to 3600 "
				                "(the door's ble.time_step_s)\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--seconds") == 0) {
			seconds = atof(argv[i + 1]);
		} else {
			fprintf(stderr, "porter-advertise: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (have_data == (key_file != NULL) || argc % 2 == 0) {
		fprintf(stderr, "usage: porter-advertise [--adapter hci0] [--company 0xFFFF] "
		                "[--seconds N] (--key-file FILE [--time-step S] | --data HEX)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	char adapter_path[128];
	snprintf(adapter_path, sizeof(adapter_path), "/org/bluez/%s", adapter);

	uint8_t key[BLE_KEY_LEN];
	struct ble_hmac *hmac = NULL;
	uint64_t counter = 0;
	if (key_file) {
		if (read_key(key_file, key) < 0)
			return 2;
		hmac = ble_hmac_new();
		counter = counter_now((uint32_t)step_s);
		if (!hmac || make_token(hmac, key, counter) < 0) {
			explicit_bzero(key, sizeof(key));
			ble_hmac_free(hmac);
			return 1;
		}
	}

	DBusError e;
	dbus_error_init(&e);
	DBusConnection *c = dbus_bus_get(DBUS_BUS_SYSTEM, &e);
	if (!c) {
		fprintf(stderr, "porter-advertise: system bus: %s\n", e.message);
		dbus_error_free(&e);
		explicit_bzero(key, sizeof(key));
		ble_hmac_free(hmac);
		return 1;
	}
	DBusObjectPathVTable vtable = {.message_function = on_object};
	dbus_connection_register_object_path(c, ADV_PATH, &vtable, NULL);
	DBusPendingCall *pending = register_advert(c, adapter_path);
	if (!pending)
		state = -1;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && state >= 0 && dbus_connection_read_write_dispatch(c, 100)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (seconds > 0 &&
		    (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
		/* A new time step: the new token, registered again. Only once the
		 * previous registration has been answered, so calls never overlap. */
		if (key_file && state == 1 && counter_now((uint32_t)step_s) != counter) {
			counter = counter_now((uint32_t)step_s);
			if (make_token(hmac, key, counter) < 0)
				break;
			DBusMessage *m = manager_call(adapter_path, "UnregisterAdvertisement");
			dbus_connection_send(c, m, NULL); /* ordered before the new Register */
			dbus_message_unref(m);
			dbus_pending_call_unref(pending);
			state = 0;
			pending = register_advert(c, adapter_path);
			if (!pending)
				state = -1;
		}
	}
	if (pending)
		dbus_pending_call_unref(pending);
	explicit_bzero(key, sizeof(key));
	ble_hmac_free(hmac);
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
