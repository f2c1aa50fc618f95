/* SPDX-License-Identifier: MIT */
/*
 * ble_devices.c: device tracking and Device1 property parsing. See
 * ble_devices.h. Every value from the bus is type-checked before it is read:
 * a D-Bus message is outside input like an advert.
 */
#include "ble_devices.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ADDRESS_LEN 17 /* "AA:BB:CC:DD:EE:FF" */
#define UUID_LEN    36

/* Properties, as bits: which ones a device has been logged about. */
enum prop {
	PROP_RSSI = 1u << 0,
	PROP_TX = 1u << 1,
	PROP_MFR = 1u << 2,
	PROP_SVC = 1u << 3,
	PROP_UUIDS = 1u << 4,
	PROP_ADDRESS = 1u << 5,
};

struct ble_device {
	struct ble_device *next; /* hash chain */
	char path[BLE_DEVICE_PATH_MAX];
	char address[ADDRESS_LEN + 1];
	bool has_rssi, has_tx;
	int16_t rssi, tx;
	uint32_t company; /* 0xFFFFFFFF: none */
	uint8_t mfr[BLE_DEVICE_MAX_DATA];
	size_t mfr_len;
	char svc_uuid[UUID_LEN + 1]; /* "": none */
	uint8_t svc[BLE_DEVICE_MAX_DATA];
	size_t svc_len;
	char uuids[BLE_DEVICE_MAX_UUIDS][UUID_LEN + 1];
	size_t n_uuids;
	uint32_t logged; /* enum prop bits */
};

struct ble_devices {
	const struct porter_host_services *services;
	struct ble_devices_options options;
	ble_devices_event_fn fn;
	void *userdata;
	struct ble_device **buckets;
	size_t n_buckets; /* a power of two */
	size_t count;
	uint64_t last_advert_us;
	bool full_logged;
};

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

struct ble_devices *ble_devices_new(const struct porter_host_services *services,
                                    const struct ble_devices_options *options,
                                    ble_devices_event_fn fn, void *userdata)
{
	struct ble_devices *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->services = services;
	d->options = *options;
	d->fn = fn;
	d->userdata = userdata;
	d->n_buckets = 64;
	while (d->n_buckets < options->max_devices && d->n_buckets < 8192)
		d->n_buckets *= 2;
	d->buckets = calloc(d->n_buckets, sizeof(*d->buckets));
	if (!d->buckets) {
		free(d);
		return NULL;
	}
	return d;
}

void ble_devices_clear(struct ble_devices *d)
{
	for (size_t i = 0; i < d->n_buckets; i++) {
		while (d->buckets[i]) {
			struct ble_device *dev = d->buckets[i];
			d->buckets[i] = dev->next;
			free(dev);
		}
	}
	d->count = 0;
	d->full_logged = false;
}

struct ble_devices *ble_devices_free(struct ble_devices *d)
{
	if (!d)
		return NULL;
	ble_devices_clear(d);
	free(d->buckets);
	free(d);
	return NULL;
}

size_t ble_devices_count(const struct ble_devices *d)
{
	return d->count;
}

uint64_t ble_devices_last_advert_us(const struct ble_devices *d)
{
	return d->last_advert_us;
}

static struct ble_device **slot_of(struct ble_devices *d, const char *path)
{
	struct ble_device **p = &d->buckets[hash_path(path) & (d->n_buckets - 1)];
	while (*p && strcmp((*p)->path, path) != 0)
		p = &(*p)->next;
	return p;
}

/* "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF" -> "AA:BB:CC:DD:EE:FF", until the
 * Address property says otherwise. */
static void address_from_path(const char *path, char *out)
{
	const char *dev = strrchr(path, '/');
	out[0] = '\0';
	if (!dev || strncmp(dev, "/dev_", 5) != 0 || strlen(dev + 5) != ADDRESS_LEN)
		return;
	for (size_t i = 0; i < ADDRESS_LEN; i++)
		out[i] = dev[5 + i] == '_' ? ':' : dev[5 + i];
	out[ADDRESS_LEN] = '\0';
}

static struct ble_device *device_get(struct ble_devices *d, const char *path)
{
	struct ble_device **slot = slot_of(d, path);
	if (*slot)
		return *slot;
	if (strlen(path) >= BLE_DEVICE_PATH_MAX)
		return NULL;
	if (d->count >= d->options.max_devices) {
		if (!d->full_logged)
			plog(d->services, PORTER_LOG_WARNING,
			     "BLE: %zu devices in range, the most tracked; more are ignored until "
			     "some go",
			     d->count);
		d->full_logged = true;
		return NULL;
	}
	struct ble_device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	snprintf(dev->path, sizeof(dev->path), "%s", path);
	address_from_path(path, dev->address);
	dev->company = 0xFFFFFFFFu;
	*slot = dev;
	d->count++;
	return dev;
}

void ble_devices_remove(struct ble_devices *d, const char *path)
{
	struct ble_device **slot = slot_of(d, path);
	struct ble_device *dev = *slot;
	if (!dev)
		return;
	*slot = dev->next;
	free(dev);
	d->count--;
	if (d->count < d->options.max_devices)
		d->full_logged = false;
}

/* ---- Property parsing ---------------------------------------------------- */

static void ignored(struct ble_devices *d, struct ble_device *dev, enum prop bit, const char *name,
                    const char *why)
{
	if (dev->logged & bit)
		return;
	dev->logged |= bit;
	plog(d->services, PORTER_LOG_NOTICE, "BLE: device %s: %s ignored: %s",
	     dev->address[0] ? dev->address : "?", name, why);
}

static bool uuid_valid(const char *s)
{
	if (strlen(s) != UUID_LEN)
		return false;
	for (size_t i = 0; i < UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static void uuid_copy(char *out, const char *s)
{
	for (size_t i = 0; i <= UUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
}

static bool address_valid(const char *s)
{
	if (strlen(s) != ADDRESS_LEN)
		return false;
	for (size_t i = 0; i < ADDRESS_LEN; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* `v` at a variant holding ay: its bytes, or a reason it is not usable. */
static const char *read_bytes(DBusMessageIter *v, const uint8_t **ret, int *ret_len)
{
	if (dbus_message_iter_get_arg_type(v) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(v) != DBUS_TYPE_BYTE)
		return "wrong D-Bus type (expected ay)";
	DBusMessageIter bytes;
	dbus_message_iter_recurse(v, &bytes);
	dbus_message_iter_get_fixed_array(&bytes, ret, ret_len);
	if (*ret_len > BLE_DEVICE_MAX_DATA)
		return "over 255 bytes";
	return NULL;
}

/* a{qv} or a{sv} of ay: the first entry, whose key is read by `key_type`.
 * Returns NULL and fills the out-parameters, or why it is not usable. */
static const char *read_data_dict(DBusMessageIter *value, int key_type, DBusMessageIter *ret_key,
                                  const uint8_t **ret, int *ret_len, bool *ret_empty)
{
	char sig[8] = {'a', '{', key_type == DBUS_TYPE_UINT16 ? 'q' : 's', 'v', '}', 0};
	char *actual = dbus_message_iter_get_signature(value);
	bool right = actual && strcmp(actual, sig) == 0;
	dbus_free(actual);
	if (!right)
		return key_type == DBUS_TYPE_UINT16 ? "wrong D-Bus type (expected a{qv})"
		                                    : "wrong D-Bus type (expected a{sv})";
	if (dbus_message_iter_get_element_count(value) > BLE_DEVICE_MAX_UUIDS)
		return "too many entries";
	DBusMessageIter entries, entry, v;
	dbus_message_iter_recurse(value, &entries);
	*ret_empty = dbus_message_iter_get_arg_type(&entries) != DBUS_TYPE_DICT_ENTRY;
	if (*ret_empty)
		return NULL;
	/* Every entry is checked, the first one kept: one event has one field. */
	const char *why = NULL;
	bool first = true;
	for (; dbus_message_iter_get_arg_type(&entries) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&entries)) {
		dbus_message_iter_recurse(&entries, &entry);
		DBusMessageIter key = entry;
		dbus_message_iter_next(&entry);
		dbus_message_iter_recurse(&entry, &v);
		const uint8_t *b;
		int n;
		why = read_bytes(&v, &b, &n);
		if (why)
			return why;
		if (first) {
			*ret_key = key;
			*ret = b;
			*ret_len = n;
			first = false;
		}
	}
	return NULL;
}

static bool parse_rssi_like(DBusMessageIter *v, int16_t *out)
{
	if (dbus_message_iter_get_arg_type(v) != DBUS_TYPE_INT16)
		return false;
	dbus_int16_t x;
	dbus_message_iter_get_basic(v, &x);
	*out = x;
	return true;
}

static bool parse_mfr(struct ble_devices *d, struct ble_device *dev, DBusMessageIter *v)
{
	DBusMessageIter key;
	const uint8_t *b = NULL;
	int n = 0;
	bool empty = false;
	const char *why = read_data_dict(v, DBUS_TYPE_UINT16, &key, &b, &n, &empty);
	if (why) {
		ignored(d, dev, PROP_MFR, "ManufacturerData", why);
		return false;
	}
	if (empty) {
		dev->company = 0xFFFFFFFFu;
		dev->mfr_len = 0;
		return true;
	}
	dbus_uint16_t company;
	dbus_message_iter_get_basic(&key, &company);
	dev->company = company;
	memcpy(dev->mfr, b, (size_t)n);
	dev->mfr_len = (size_t)n;
	return true;
}

static bool parse_svc(struct ble_devices *d, struct ble_device *dev, DBusMessageIter *v)
{
	DBusMessageIter key;
	const uint8_t *b = NULL;
	int n = 0;
	bool empty = false;
	const char *why = read_data_dict(v, DBUS_TYPE_STRING, &key, &b, &n, &empty);
	const char *uuid = NULL;
	if (!why && !empty) {
		dbus_message_iter_get_basic(&key, &uuid);
		if (!uuid_valid(uuid))
			why = "its UUID is not a 128-bit UUID";
	}
	if (why) {
		ignored(d, dev, PROP_SVC, "ServiceData", why);
		return false;
	}
	if (empty) {
		dev->svc_uuid[0] = '\0';
		dev->svc_len = 0;
		return true;
	}
	uuid_copy(dev->svc_uuid, uuid);
	memcpy(dev->svc, b, (size_t)n);
	dev->svc_len = (size_t)n;
	return true;
}

static bool parse_uuids(struct ble_devices *d, struct ble_device *dev, DBusMessageIter *v)
{
	if (dbus_message_iter_get_arg_type(v) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(v) != DBUS_TYPE_STRING) {
		ignored(d, dev, PROP_UUIDS, "UUIDs", "wrong D-Bus type (expected as)");
		return false;
	}
	if (dbus_message_iter_get_element_count(v) > BLE_DEVICE_MAX_UUIDS) {
		ignored(d, dev, PROP_UUIDS, "UUIDs", "more than 16 entries");
		return false;
	}
	char uuids[BLE_DEVICE_MAX_UUIDS][UUID_LEN + 1];
	size_t n = 0;
	DBusMessageIter it;
	dbus_message_iter_recurse(v, &it);
	for (; dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_STRING;
	     dbus_message_iter_next(&it)) {
		const char *s;
		dbus_message_iter_get_basic(&it, &s);
		if (!uuid_valid(s)) {
			ignored(d, dev, PROP_UUIDS, "UUIDs", "an entry is not a 128-bit UUID");
			return false;
		}
		uuid_copy(uuids[n++], s);
	}
	memcpy(dev->uuids, uuids, sizeof(uuids));
	dev->n_uuids = n;
	return true;
}

/* One property; returns true when it was an advert field that was used. */
static bool apply_property(struct ble_devices *d, struct ble_device *dev, const char *name,
                           DBusMessageIter *v)
{
	if (strcmp(name, "RSSI") == 0) {
		if (!parse_rssi_like(v, &dev->rssi)) {
			ignored(d, dev, PROP_RSSI, "RSSI", "wrong D-Bus type (expected n)");
			return false;
		}
		dev->has_rssi = true;
		return true;
	}
	if (strcmp(name, "TxPower") == 0) {
		if (!parse_rssi_like(v, &dev->tx)) {
			ignored(d, dev, PROP_TX, "TxPower", "wrong D-Bus type (expected n)");
			return false;
		}
		dev->has_tx = true;
		return true;
	}
	if (strcmp(name, "ManufacturerData") == 0)
		return parse_mfr(d, dev, v);
	if (strcmp(name, "ServiceData") == 0)
		return parse_svc(d, dev, v);
	if (strcmp(name, "UUIDs") == 0)
		return parse_uuids(d, dev, v);
	if (strcmp(name, "Address") == 0) {
		const char *a = NULL;
		if (dbus_message_iter_get_arg_type(v) == DBUS_TYPE_STRING)
			dbus_message_iter_get_basic(v, &a);
		if (a && address_valid(a))
			snprintf(dev->address, sizeof(dev->address), "%s", a);
		else
			ignored(d, dev, PROP_ADDRESS, "Address", "not a Bluetooth address string");
	}
	return false;
}

static void invalidate(struct ble_device *dev, const char *name)
{
	if (strcmp(name, "RSSI") == 0)
		dev->has_rssi = false;
	else if (strcmp(name, "TxPower") == 0)
		dev->has_tx = false;
	else if (strcmp(name, "ManufacturerData") == 0)
		dev->company = 0xFFFFFFFFu, dev->mfr_len = 0;
	else if (strcmp(name, "ServiceData") == 0)
		dev->svc_uuid[0] = '\0', dev->svc_len = 0;
	else if (strcmp(name, "UUIDs") == 0)
		dev->n_uuids = 0;
}

static void emit(struct ble_devices *d, const struct ble_device *dev)
{
	const char *uuids[BLE_DEVICE_MAX_UUIDS];
	for (size_t i = 0; i < dev->n_uuids; i++)
		uuids[i] = dev->uuids[i];
	struct porter_ble_event ev = {
	        .size = sizeof(ev),
	        .rssi_dbm = dev->rssi,
	        .reader_id = d->options.reader_id,
	        .address = dev->address,
	        .company_id = dev->company,
	        .tx_power_dbm = dev->has_tx ? dev->tx : INT32_MIN,
	        .manufacturer_data = dev->mfr_len ? dev->mfr : NULL,
	        .manufacturer_data_len = dev->mfr_len,
	        .service_data = dev->svc_len ? dev->svc : NULL,
	        .service_data_len = dev->svc_len,
	        .service_uuid = dev->svc_uuid[0] ? dev->svc_uuid : NULL,
	        .service_uuids = dev->n_uuids ? uuids : NULL,
	        .n_service_uuids = dev->n_uuids,
	};
	d->fn(d->userdata, &ev);
}

void ble_devices_update(struct ble_devices *d, const char *path, DBusMessageIter *props,
                        DBusMessageIter *invalidated, bool emit_event)
{
	struct ble_device *dev = device_get(d, path);
	if (!dev)
		return;
	bool advert = false;
	if (props && dbus_message_iter_get_arg_type(props) == DBUS_TYPE_ARRAY) {
		DBusMessageIter entries, entry, v;
		dbus_message_iter_recurse(props, &entries);
		for (; dbus_message_iter_get_arg_type(&entries) == DBUS_TYPE_DICT_ENTRY;
		     dbus_message_iter_next(&entries)) {
			dbus_message_iter_recurse(&entries, &entry);
			const char *name;
			if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_STRING)
				return;
			dbus_message_iter_get_basic(&entry, &name);
			dbus_message_iter_next(&entry);
			if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_VARIANT)
				return;
			dbus_message_iter_recurse(&entry, &v);
			advert |= apply_property(d, dev, name, &v);
		}
	}
	if (invalidated && dbus_message_iter_get_arg_type(invalidated) == DBUS_TYPE_ARRAY &&
	    dbus_message_iter_get_element_type(invalidated) == DBUS_TYPE_STRING) {
		DBusMessageIter it;
		dbus_message_iter_recurse(invalidated, &it);
		for (; dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_STRING;
		     dbus_message_iter_next(&it)) {
			const char *name;
			dbus_message_iter_get_basic(&it, &name);
			invalidate(dev, name);
		}
	}
	if (!advert || !emit_event)
		return;
	d->last_advert_us = d->services->now_us(d->services->host);
	/* A device whose strength is unknown, or under the floor, is not near. */
	if (dev->has_rssi && dev->rssi >= d->options.rssi_floor_dbm)
		emit(d, dev);
}
