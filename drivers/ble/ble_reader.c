/* SPDX-License-Identifier: MIT */
/*
 * ble_reader.c: the adapter and discovery, and what keeps them going. See
 * ble_reader.h.
 *
 * Set-up is a chain of pending calls: GetNameOwner(org.bluez), then
 * GetManagedObjects (pick the adapter, note the devices BlueZ caches), then
 * SetDiscoveryFilter, then StartDiscovery. Anything that resets it
 * (bluetoothd gone, the adapter gone or off, the bus lost) bumps `epoch`, so
 * a reply to a call made before the reset is recognised as stale and
 * dropped. Signals come through match rules: NameOwnerChanged for org.bluez,
 * ObjectManager's InterfacesAdded/Removed and PropertiesChanged of Adapter1
 * and Device1.
 */
#include "ble_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ble_bus.h"
#include "log.h"

#define BLUEZ         "org.bluez"
#define ADAPTER_IFACE "org.bluez.Adapter1"
#define DEVICE_IFACE  "org.bluez.Device1"
#define OM_IFACE      "org.freedesktop.DBus.ObjectManager"
#define PROPS_IFACE   "org.freedesktop.DBus.Properties"
#define TIMEDATE      "org.freedesktop.timedate1"
#define TIMEDATE_PATH "/org/freedesktop/timedate1"
#define CALL_TIMEOUT  25000 /* ms; libdbus's own default */
#define ADAPTER_MAX   64
#define DIAG_TEXT_MAX 512

enum diag {
	D_NO_ADAPTER,
	D_NO_LE,
	D_NO_BLUEZ,
	D_NO_BUS,
	D_CLOCK,
	D_COUNT,
};

enum phase {
	PHASE_IDLE,    /* waiting: bus, bluetoothd or an adapter */
	PHASE_SETTING, /* GetManagedObjects .. StartDiscovery in flight */
	PHASE_DISCOVERING,
};

struct ble_reader {
	const struct porter_host_services *services;
	struct ble_reader_options options;
	char adapter_want[ADAPTER_MAX];
	char reader_id[257]; /* config.h CONFIG_ID_MAX + 1 */
	char bus_address[1024];
	struct ble_bus *bus;
	struct ble_devices *devices;
	ble_devices_event_fn fn;
	void *userdata;
	enum phase phase;
	uint64_t epoch;
	char adapter_path[BLE_DEVICE_PATH_MAX]; /* "": none chosen */
	uint64_t discovery_since_us;
	bool restarted_logged;
	int64_t reconnect_timer, watchdog_timer, clock_timer;
	struct pick *pick; /* during objects_received only */
	bool clock_unknown_logged;
	bool diag[D_COUNT];
	char diag_text[D_COUNT][DIAG_TEXT_MAX];
};

struct diag_text {
	const char *code;
	const char *path;
	const char *fix;
};

static const struct diag_text diag_texts[D_COUNT] = {
        [D_NO_ADAPTER] = {DIAG_BLE_NO_ADAPTER, "$.ble_reader.adapter",
                          "plug in a Bluetooth adapter and power it on (`bluetoothctl power on`), "
                          "or set ble_reader.adapter to one `bluetoothctl list` shows (empty: the "
                          "first powered one)"},
        [D_NO_LE] = {DIAG_BLE_NO_LE, "$.ble_reader.adapter",
                     "use an adapter that supports Bluetooth Low Energy (Bluetooth 4.0 or "
                     "later) and name it in ble_reader.adapter"},
        [D_NO_BLUEZ] = {DIAG_BLE_NO_BLUEZ, NULL,
                        "start bluetoothd (`systemctl enable --now bluetooth`) and let porter's "
                        "user talk to org.bluez on the system bus (D-Bus policy in "
                        "/etc/dbus-1/system.d/bluetooth.conf)"},
        [D_NO_BUS] = {DIAG_BLE_NO_BUS, NULL,
                      "run the D-Bus system bus (dbus-daemon or dbus-broker) and make its socket "
                      "reachable for porter's user (in a container: bind-mount "
                      "/run/dbus/system_bus_socket)"},
        [D_CLOCK] = {DIAG_BLE_CLOCK_UNSYNC, NULL,
                     "enable time synchronisation (`timedatectl set-ntp true`, "
                     "systemd-timesyncd or chrony) and let it reach a time server: phone "
                     "tokens are bound to the time and are refused by a clock that is off"},
};

static void diag_set(struct ble_reader *r, enum diag d, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void diag_set(struct ble_reader *r, enum diag d, const char *fmt, ...)
{
	char text[DIAG_TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Logged when it starts or its reason changes, not every time it is seen. */
	if (!r->diag[d] || strcmp(text, r->diag_text[d]) != 0)
		plog(r->services, PORTER_LOG_WARNING, "BLE [%s]: %s. Fix: %s", diag_texts[d].code,
		     text, diag_texts[d].fix);
	r->diag[d] = true;
	memcpy(r->diag_text[d], text, sizeof(text));
}

static void diag_clear(struct ble_reader *r, enum diag d)
{
	if (r->diag[d])
		plog(r->services, PORTER_LOG_NOTICE, "BLE [%s]: resolved", diag_texts[d].code);
	r->diag[d] = false;
}

int ble_reader_diagnostics(const struct ble_reader *r, porter_report_fn report, void *userdata)
{
	int n = 0;
	if (!r)
		return 0;
	for (int d = 0; d < D_COUNT; d++) {
		if (!r->diag[d])
			continue;
		n++;
		if (!report)
			continue;
		struct porter_report rep = {
		        .size = sizeof(rep),
		        .severity = PORTER_SEVERITY_WARNING,
		        .code = diag_texts[d].code,
		        .path = diag_texts[d].path,
		        .message = r->diag_text[d],
		        .fix = diag_texts[d].fix,
		};
		report(userdata, &rep);
	}
	return n;
}

/* ---- Timers ------------------------------------------------------------ */

static void timer_cancel(struct ble_reader *r, int64_t *id)
{
	if (*id)
		r->services->timer_remove(r->services->host, *id);
	*id = 0;
}

static void timer_set(struct ble_reader *r, int64_t *id, uint64_t delay_ms, porter_timer_fn fn)
{
	timer_cancel(r, id);
	int64_t t = r->services->timer_add(r->services->host, delay_ms * 1000, fn, r);
	if (t <= 0)
		plog(r->services, PORTER_LOG_ERROR,
		     "BLE: the host refused a timer; discovery is not watched over");
	*id = t > 0 ? t : 0;
}

/* ---- Calls ------------------------------------------------------------- */

static bool is_error(DBusMessage *reply)
{
	return !reply || dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR;
}

static const char *error_name(DBusMessage *reply)
{
	const char *name = reply ? dbus_message_get_error_name(reply) : NULL;
	return name ? name : "no reply";
}

/* The error's own text when it has one: BlueZ and the bus say what is wrong. */
static const char *error_text(DBusMessage *reply)
{
	const char *text = NULL;
	if (reply && dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID))
		return text;
	return error_name(reply);
}

static void call(struct ble_reader *r, const char *dest, const char *path, const char *iface,
                 const char *method, DBusMessage *m, ble_bus_reply_fn fn)
{
	if (!m)
		m = dbus_message_new_method_call(dest, path, iface, method);
	int e = r->bus ? ble_bus_call(r->bus, m, CALL_TIMEOUT, fn, r, r->epoch) : -ENOTCONN;
	if (!r->bus && m)
		dbus_message_unref(m);
	if (e < 0)
		plog(r->services, PORTER_LOG_ERROR, "BLE: cannot call %s.%s: %s", iface, method,
		     strerror(-e));
}

/* ---- Set-up chain ------------------------------------------------------ */

static void query_objects(struct ble_reader *r);
static void watchdog_fired(void *userdata);

/* Back to waiting: drops the adapter, its devices and replies in flight. */
static void reset(struct ble_reader *r)
{
	r->epoch++;
	r->phase = PHASE_IDLE;
	r->adapter_path[0] = '\0';
	ble_devices_clear(r->devices);
	timer_cancel(r, &r->watchdog_timer);
}

static void arm_watchdog(struct ble_reader *r)
{
	uint64_t now = r->services->now_us(r->services->host);
	uint64_t last = ble_devices_last_advert_us(r->devices);
	uint64_t since = last > r->discovery_since_us ? last : r->discovery_since_us;
	uint64_t due = since + (uint64_t)r->options.restart_after_ms * 1000;
	timer_set(r, &r->watchdog_timer, due > now ? (due - now + 999) / 1000 : 0, watchdog_fired);
}

static void discovery_started(void *userdata, uint64_t tag, DBusMessage *reply)
{
	struct ble_reader *r = userdata;
	if (tag != r->epoch)
		return;
	if (is_error(reply) && strcmp(error_name(reply), "org.bluez.Error.InProgress") != 0) {
		plog(r->services, PORTER_LOG_WARNING,
		     "BLE: %s refused StartDiscovery (%s); trying again in %u s", r->adapter_path,
		     error_text(reply), (unsigned)(r->options.restart_after_ms / 1000));
		r->phase = PHASE_DISCOVERING; /* the watchdog tries again */
	} else if (r->phase != PHASE_DISCOVERING) {
		plog(r->services, PORTER_LOG_INFO, "BLE: discovering on %s (RSSI floor %d dBm)",
		     r->adapter_path, r->options.rssi_floor_dbm);
		r->phase = PHASE_DISCOVERING;
	}
	r->discovery_since_us = r->services->now_us(r->services->host);
	arm_watchdog(r);
}

static void start_discovery(struct ble_reader *r)
{
	call(r, BLUEZ, r->adapter_path, ADAPTER_IFACE, "StartDiscovery", NULL, discovery_started);
}

static void filter_set(void *userdata, uint64_t tag, DBusMessage *reply)
{
	struct ble_reader *r = userdata;
	if (tag != r->epoch)
		return;
	if (is_error(reply) && strcmp(error_name(reply), "org.bluez.Error.NotSupported") == 0) {
		diag_set(r, D_NO_LE, "adapter %s does not support Bluetooth Low Energy (%s)",
		         r->adapter_path, error_text(reply));
		reset(r);
		return;
	}
	if (is_error(reply)) /* discovery without the filter still sees LE adverts */
		plog(r->services, PORTER_LOG_WARNING,
		     "BLE: %s refused the discovery filter (%s); discovering without it",
		     r->adapter_path, error_text(reply));
	start_discovery(r);
}

static void dict_add(DBusMessageIter *dict, const char *key, int type, const void *value)
{
	char sig[2] = {(char)type, 0};
	DBusMessageIter entry, v;
	dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
	dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
	dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, sig, &v);
	dbus_message_iter_append_basic(&v, type, value);
	dbus_message_iter_close_container(&entry, &v);
	dbus_message_iter_close_container(dict, &entry);
}

/* LE only; every advert, not only changes (DuplicateData: its documented
 * default changed between BlueZ versions); BlueZ drops weaker ones. */
static void set_filter(struct ble_reader *r)
{
	DBusMessage *m = dbus_message_new_method_call(BLUEZ, r->adapter_path, ADAPTER_IFACE,
	                                              "SetDiscoveryFilter");
	if (m) {
		DBusMessageIter it, dict;
		const char *le = "le";
		dbus_bool_t dup = TRUE;
		dbus_int16_t rssi = (dbus_int16_t)r->options.rssi_floor_dbm;
		dbus_message_iter_init_append(m, &it);
		dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict);
		dict_add(&dict, "Transport", DBUS_TYPE_STRING, &le);
		dict_add(&dict, "DuplicateData", DBUS_TYPE_BOOLEAN, &dup);
		dict_add(&dict, "RSSI", DBUS_TYPE_INT16, &rssi);
		dbus_message_iter_close_container(&it, &dict);
	}
	call(r, BLUEZ, r->adapter_path, ADAPTER_IFACE, "SetDiscoveryFilter", m, filter_set);
}

/* What GetManagedObjects says about one adapter. */
struct adapter_info {
	const char *path;
	bool powered;
	bool has_roles, central;
};

static void read_adapter(DBusMessageIter *props, struct adapter_info *a)
{
	DBusMessageIter entries, entry, v;
	dbus_message_iter_recurse(props, &entries);
	for (; dbus_message_iter_get_arg_type(&entries) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&entries)) {
		const char *name;
		dbus_message_iter_recurse(&entries, &entry);
		dbus_message_iter_get_basic(&entry, &name);
		dbus_message_iter_next(&entry);
		dbus_message_iter_recurse(&entry, &v);
		int type = dbus_message_iter_get_arg_type(&v);
		if (strcmp(name, "Powered") == 0 && type == DBUS_TYPE_BOOLEAN) {
			dbus_bool_t b;
			dbus_message_iter_get_basic(&v, &b);
			a->powered = b;
		} else if (strcmp(name, "Roles") == 0 && type == DBUS_TYPE_ARRAY &&
		           dbus_message_iter_get_element_type(&v) == DBUS_TYPE_STRING) {
			/* BlueZ 5.56+: LE roles; an adapter without LE lists none. */
			DBusMessageIter it;
			a->has_roles = true;
			dbus_message_iter_recurse(&v, &it);
			for (; dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_STRING;
			     dbus_message_iter_next(&it)) {
				const char *role;
				dbus_message_iter_get_basic(&it, &role);
				a->central |= strncmp(role, "central", 7) == 0;
			}
		}
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static bool under_adapter(const struct ble_reader *r, const char *path)
{
	size_t n = strlen(r->adapter_path);
	return n && strncmp(path, r->adapter_path, n) == 0 && path[n] == '/';
}

/* The objects' signature is a{oa{sa{sv}}}: checked before it is walked. */
static bool objects_valid(DBusMessage *reply)
{
	return strcmp(dbus_message_get_signature(reply), "a{oa{sa{sv}}}") == 0;
}

/* Calls `fn` for every (path, interface, properties) of the reply. */
static void foreach_object(DBusMessage *reply,
                           void (*fn)(struct ble_reader *, const char *, const char *,
                                      DBusMessageIter *),
                           struct ble_reader *r)
{
	DBusMessageIter it, objects, object, ifaces, iface;
	dbus_message_iter_init(reply, &it);
	dbus_message_iter_recurse(&it, &objects);
	for (; dbus_message_iter_get_arg_type(&objects) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&objects)) {
		const char *path;
		dbus_message_iter_recurse(&objects, &object);
		dbus_message_iter_get_basic(&object, &path);
		dbus_message_iter_next(&object);
		dbus_message_iter_recurse(&object, &ifaces);
		for (; dbus_message_iter_get_arg_type(&ifaces) == DBUS_TYPE_DICT_ENTRY;
		     dbus_message_iter_next(&ifaces)) {
			const char *name;
			dbus_message_iter_recurse(&ifaces, &iface);
			dbus_message_iter_get_basic(&iface, &name);
			dbus_message_iter_next(&iface);
			fn(r, path, name, &iface);
		}
	}
}

struct pick {
	struct adapter_info chosen;
	char path[BLE_DEVICE_PATH_MAX];
	size_t n_adapters;
	bool named_found;
};

static void consider_adapter(struct ble_reader *r, const char *path, const char *iface,
                             DBusMessageIter *props)
{
	struct pick *p = r->pick;
	if (strcmp(iface, ADAPTER_IFACE) != 0 || strlen(path) >= sizeof(p->path))
		return;
	struct adapter_info a = {.path = path};
	read_adapter(props, &a);
	p->n_adapters++;
	bool named = r->adapter_want[0] && strcmp(base_name(path), r->adapter_want) == 0;
	if (r->adapter_want[0] ? !named : (!a.powered || p->path[0]))
		return;
	p->named_found |= named;
	p->chosen = a;
	snprintf(p->path, sizeof(p->path), "%s", path);
}

static void consider_device(struct ble_reader *r, const char *path, const char *iface,
                            DBusMessageIter *props)
{
	if (strcmp(iface, DEVICE_IFACE) == 0 && under_adapter(r, path))
		ble_devices_update(r->devices, path, props, NULL, false);
}

/* Say why no adapter can be used; true when one can. */
static bool adapter_usable(struct ble_reader *r, const struct pick *p)
{
	if (!p->path[0]) {
		if (r->adapter_want[0])
			diag_set(r, D_NO_ADAPTER, "Bluetooth adapter %s is not there (%zu other%s)",
			         r->adapter_want, p->n_adapters, p->n_adapters == 1 ? "" : "s");
		else if (p->n_adapters)
			diag_set(r, D_NO_ADAPTER,
			         "none of the %zu Bluetooth adapters is powered on", p->n_adapters);
		else
			diag_set(r, D_NO_ADAPTER, "there is no Bluetooth adapter");
		return false;
	}
	if (!p->chosen.powered) {
		diag_set(r, D_NO_ADAPTER, "Bluetooth adapter %s is powered off", r->adapter_want);
		return false;
	}
	diag_clear(r, D_NO_ADAPTER);
	if (p->chosen.has_roles && !p->chosen.central) {
		diag_set(r, D_NO_LE, "Bluetooth adapter %s does not support Bluetooth Low Energy",
		         base_name(p->path));
		return false;
	}
	diag_clear(r, D_NO_LE);
	return true;
}

static void bluez_unreachable(struct ble_reader *r, DBusMessage *reply)
{
	const char *name = error_name(reply);
	if (strcmp(name, DBUS_ERROR_ACCESS_DENIED) == 0)
		diag_set(r, D_NO_BLUEZ,
		         "bluetoothd is not reachable: the system bus refuses porter's user (%s)",
		         error_text(reply));
	else
		diag_set(r, D_NO_BLUEZ, "bluetoothd is not running (%s)", error_text(reply));
}

static void objects_received(void *userdata, uint64_t tag, DBusMessage *reply)
{
	struct ble_reader *r = userdata;
	if (tag != r->epoch)
		return;
	if (is_error(reply)) {
		bluez_unreachable(r, reply);
		r->phase = PHASE_IDLE;
		return;
	}
	diag_clear(r, D_NO_BLUEZ);
	if (!objects_valid(reply)) {
		plog(r->services, PORTER_LOG_ERROR,
		     "BLE: GetManagedObjects answered %s, not a{oa{sa{sv}}}",
		     dbus_message_get_signature(reply));
		r->phase = PHASE_IDLE;
		return;
	}
	struct pick p = {0};
	r->pick = &p;
	foreach_object(reply, consider_adapter, r);
	r->pick = NULL;
	if (!adapter_usable(r, &p)) {
		r->phase = PHASE_IDLE;
		return;
	}
	snprintf(r->adapter_path, sizeof(r->adapter_path), "%s", p.path);
	foreach_object(reply, consider_device, r);
	set_filter(r);
}

/* (Re)run the set-up from the top: a fresh view of BlueZ's objects. */
static void query_objects(struct ble_reader *r)
{
	reset(r);
	r->phase = PHASE_SETTING;
	call(r, BLUEZ, "/", OM_IFACE, "GetManagedObjects", NULL, objects_received);
}

static void owner_received(void *userdata, uint64_t tag, DBusMessage *reply)
{
	struct ble_reader *r = userdata;
	if (tag != r->epoch)
		return;
	if (is_error(reply)) {
		bluez_unreachable(r, reply);
		return; /* NameOwnerChanged says when it starts */
	}
	query_objects(r);
}

/* ---- The clock --------------------------------------------------------- */

static void clock_check(void *userdata);

static void clock_received(void *userdata, uint64_t tag, DBusMessage *reply)
{
	struct ble_reader *r = userdata;
	DBusMessageIter it, v;
	if (is_error(reply)) {
		/* Without timedated porter cannot tell; it says so once. */
		if (r->clock_unknown_logged)
			return;
		r->clock_unknown_logged = true;
		plog(r->services, PORTER_LOG_INFO,
		     "BLE: cannot ask systemd-timedated whether the clock is synchronised (%s)",
		     error_text(reply));
		return;
	}
	dbus_message_iter_init(reply, &it);
	if (dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_VARIANT)
		return;
	dbus_message_iter_recurse(&it, &v);
	if (dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_BOOLEAN)
		return;
	dbus_bool_t synced;
	dbus_message_iter_get_basic(&v, &synced);
	if (synced)
		diag_clear(r, D_CLOCK);
	else
		diag_set(r, D_CLOCK,
		         "the system clock is not synchronised (systemd-timedated: "
		         "NTPSynchronized is false)");
}

static void clock_check(void *userdata)
{
	struct ble_reader *r = userdata;
	r->clock_timer = 0;
	DBusMessage *m = dbus_message_new_method_call(TIMEDATE, TIMEDATE_PATH, PROPS_IFACE, "Get");
	const char *iface = TIMEDATE, *prop = "NTPSynchronized";
	if (m && !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &prop,
	                                   DBUS_TYPE_INVALID)) {
		dbus_message_unref(m);
		m = NULL;
	}
	if (m)
		call(r, TIMEDATE, TIMEDATE_PATH, PROPS_IFACE, "Get", m, clock_received);
	timer_set(r, &r->clock_timer, r->options.clock_check_ms, clock_check);
}

/* ---- Signals ------------------------------------------------------------- */

static void name_owner_changed(struct ble_reader *r, DBusMessage *m)
{
	const char *name, *old_owner, *new_owner;
	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
	                           DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) ||
	    strcmp(name, BLUEZ) != 0)
		return;
	if (!*new_owner) {
		reset(r);
		diag_set(r, D_NO_BLUEZ, "bluetoothd stopped");
		return;
	}
	plog(r->services, PORTER_LOG_INFO, "BLE: bluetoothd %s; setting up again",
	     *old_owner ? "restarted" : "started");
	query_objects(r);
}

static void interfaces_added(struct ble_reader *r, DBusMessage *m)
{
	DBusMessageIter it, ifaces, iface;
	const char *path, *name;
	if (strcmp(dbus_message_get_signature(m), "oa{sa{sv}}") != 0)
		return;
	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &path);
	dbus_message_iter_next(&it);
	dbus_message_iter_recurse(&it, &ifaces);
	for (; dbus_message_iter_get_arg_type(&ifaces) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&ifaces)) {
		dbus_message_iter_recurse(&ifaces, &iface);
		dbus_message_iter_get_basic(&iface, &name);
		dbus_message_iter_next(&iface);
		if (strcmp(name, ADAPTER_IFACE) == 0 && !r->adapter_path[0] &&
		    r->phase == PHASE_IDLE) {
			plog(r->services, PORTER_LOG_INFO, "BLE: adapter %s appeared", path);
			query_objects(r);
			return;
		}
		if (strcmp(name, DEVICE_IFACE) == 0 && under_adapter(r, path))
			ble_devices_update(r->devices, path, &iface, NULL,
			                   r->phase == PHASE_DISCOVERING);
	}
}

static void interfaces_removed(struct ble_reader *r, DBusMessage *m)
{
	DBusMessageIter it, names;
	const char *path, *name;
	if (strcmp(dbus_message_get_signature(m), "oas") != 0)
		return;
	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &path);
	dbus_message_iter_next(&it);
	dbus_message_iter_recurse(&it, &names);
	for (; dbus_message_iter_get_arg_type(&names) == DBUS_TYPE_STRING;
	     dbus_message_iter_next(&names)) {
		dbus_message_iter_get_basic(&names, &name);
		if (strcmp(name, ADAPTER_IFACE) == 0 && r->adapter_path[0] &&
		    strcmp(path, r->adapter_path) == 0) {
			reset(r);
			diag_set(r, D_NO_ADAPTER, "Bluetooth adapter %s went away",
			         base_name(path));
			return;
		}
		if (strcmp(name, DEVICE_IFACE) == 0)
			ble_devices_remove(r->devices, path);
	}
}

static bool powered_in(DBusMessageIter *props, bool *ret)
{
	DBusMessageIter entries, entry, v;
	dbus_message_iter_recurse(props, &entries);
	for (; dbus_message_iter_get_arg_type(&entries) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&entries)) {
		const char *name;
		dbus_message_iter_recurse(&entries, &entry);
		dbus_message_iter_get_basic(&entry, &name);
		dbus_message_iter_next(&entry);
		dbus_message_iter_recurse(&entry, &v);
		if (strcmp(name, "Powered") == 0 &&
		    dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_BOOLEAN) {
			dbus_bool_t b;
			dbus_message_iter_get_basic(&v, &b);
			*ret = b;
			return true;
		}
	}
	return false;
}

static void properties_changed(struct ble_reader *r, DBusMessage *m)
{
	DBusMessageIter it, props;
	const char *iface, *path = dbus_message_get_path(m);
	if (!path || strcmp(dbus_message_get_signature(m), "sa{sv}as") != 0)
		return;
	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &iface);
	dbus_message_iter_next(&it);
	props = it;
	dbus_message_iter_next(&it);
	if (strcmp(iface, DEVICE_IFACE) == 0) {
		if (under_adapter(r, path))
			ble_devices_update(r->devices, path, &props, &it,
			                   r->phase == PHASE_DISCOVERING);
		return;
	}
	bool powered;
	if (strcmp(iface, ADAPTER_IFACE) != 0 || !powered_in(&props, &powered))
		return;
	if (!powered && r->adapter_path[0] && strcmp(path, r->adapter_path) == 0) {
		reset(r);
		diag_set(r, D_NO_ADAPTER, "Bluetooth adapter %s was powered off", base_name(path));
	} else if (powered && !r->adapter_path[0] && r->phase == PHASE_IDLE) {
		query_objects(r);
	}
}

static void on_signal(void *userdata, DBusMessage *m)
{
	struct ble_reader *r = userdata;
	if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged"))
		name_owner_changed(r, m);
	else if (dbus_message_is_signal(m, OM_IFACE, "InterfacesAdded"))
		interfaces_added(r, m);
	else if (dbus_message_is_signal(m, OM_IFACE, "InterfacesRemoved"))
		interfaces_removed(r, m);
	else if (dbus_message_is_signal(m, PROPS_IFACE, "PropertiesChanged"))
		properties_changed(r, m);
}

/* ---- Discovery watchdog ------------------------------------------------ */

static void stop_done(void *userdata, uint64_t tag, DBusMessage *reply)
{
	struct ble_reader *r = userdata;
	if (tag == r->epoch)
		start_discovery(r);
}

/* BlueZ's discovery can stall with Discovering still true: when no advert
 * came for restart_after_ms, stop and start it again. An empty room looks
 * the same, so this repeats quietly while nothing is in range. */
static void watchdog_fired(void *userdata)
{
	struct ble_reader *r = userdata;
	r->watchdog_timer = 0;
	if (r->phase != PHASE_DISCOVERING)
		return;
	uint64_t now = r->services->now_us(r->services->host);
	uint64_t last = ble_devices_last_advert_us(r->devices);
	uint64_t since = last > r->discovery_since_us ? last : r->discovery_since_us;
	if (now - since < (uint64_t)r->options.restart_after_ms * 1000) {
		arm_watchdog(r);
		return;
	}
	bool quiet = r->restarted_logged && last < r->discovery_since_us;
	plog(r->services, quiet ? PORTER_LOG_DEBUG : PORTER_LOG_NOTICE,
	     "BLE: no advert for %u ms on %s: discovery restarted", r->options.restart_after_ms,
	     r->adapter_path);
	r->restarted_logged = true;
	r->discovery_since_us = now; /* not again before the restart has had its time */
	call(r, BLUEZ, r->adapter_path, ADAPTER_IFACE, "StopDiscovery", NULL, stop_done);
}

/* ---- The bus ------------------------------------------------------------- */

static void connect_bus(void *userdata);

static void bus_lost(void *userdata)
{
	struct ble_reader *r = userdata;
	r->bus = ble_bus_close(r->bus);
	reset(r);
	timer_cancel(r, &r->clock_timer);
	diag_set(r, D_NO_BUS, "the D-Bus system bus at %s went away", r->bus_address);
	timer_set(r, &r->reconnect_timer, r->options.reconnect_ms, connect_bus);
}

static void connect_bus(void *userdata)
{
	struct ble_reader *r = userdata;
	char err[512];
	r->reconnect_timer = 0;
	int e = ble_bus_open(r->services, r->bus_address, on_signal, bus_lost, r, &r->bus, err,
	                     sizeof(err));
	if (e < 0) {
		diag_set(r, D_NO_BUS, "the D-Bus system bus at %s is not reachable: %s",
		         r->bus_address, err);
		timer_set(r, &r->reconnect_timer, r->options.reconnect_ms, connect_bus);
		return;
	}
	diag_clear(r, D_NO_BUS);
	ble_bus_add_match(r->bus, "type='signal',sender='" DBUS_SERVICE_DBUS
	                          "',interface='" DBUS_INTERFACE_DBUS
	                          "',member='NameOwnerChanged',arg0='" BLUEZ "'");
	ble_bus_add_match(r->bus, "type='signal',sender='" BLUEZ "',interface='" OM_IFACE "'");
	ble_bus_add_match(r->bus, "type='signal',sender='" BLUEZ "',interface='" PROPS_IFACE
	                          "',member='PropertiesChanged',arg0='" DEVICE_IFACE "'");
	ble_bus_add_match(r->bus, "type='signal',sender='" BLUEZ "',interface='" PROPS_IFACE
	                          "',member='PropertiesChanged',arg0='" ADAPTER_IFACE "'");
	reset(r);
	DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
	                                              DBUS_INTERFACE_DBUS, "GetNameOwner");
	const char *name = BLUEZ;
	if (m && !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID)) {
		dbus_message_unref(m);
		m = NULL;
	}
	if (m)
		call(r, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, "GetNameOwner", m,
		     owner_received);
	clock_check(r);
}

/* ---- Lifecycle ----------------------------------------------------------- */

int ble_reader_start(const struct porter_host_services *services,
                     const struct ble_reader_options *options, ble_devices_event_fn fn,
                     void *userdata, struct ble_reader **ret)
{
	if (!services->watch_add || !services->watch_remove) {
		plog(services, PORTER_LOG_ERROR,
		     "BLE: the host gives no fd watches (watch_add, watch_remove); porter's BLE "
		     "reader needs them and stays off");
		return -EINVAL;
	}
	struct ble_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->services = services;
	r->options = *options;
	r->fn = fn;
	r->userdata = userdata;
	snprintf(r->adapter_want, sizeof(r->adapter_want), "%s",
	         options->adapter ? options->adapter : "");
	snprintf(r->reader_id, sizeof(r->reader_id), "%s", options->reader_id);
	snprintf(r->bus_address, sizeof(r->bus_address), "%s",
	         options->bus_address ? options->bus_address : ble_bus_system_address());
	r->options.adapter = r->adapter_want;
	r->options.reader_id = r->reader_id;
	r->options.bus_address = r->bus_address;
	if (!r->options.reconnect_ms)
		r->options.reconnect_ms = 5000;
	if (!r->options.clock_check_ms)
		r->options.clock_check_ms = 600000;
	if (!r->options.max_devices)
		r->options.max_devices = 1024;
	if (!r->options.restart_after_ms)
		r->options.restart_after_ms = 60000;
	struct ble_devices_options dopt = {r->options.max_devices, r->reader_id,
	                                   r->options.rssi_floor_dbm};
	r->devices = ble_devices_new(services, &dopt, fn, userdata);
	if (!r->devices) {
		free(r);
		return -ENOMEM;
	}
	connect_bus(r);
	*ret = r;
	return 0;
}

struct ble_reader *ble_reader_stop(struct ble_reader *r)
{
	if (!r)
		return NULL;
	if (r->bus && r->phase == PHASE_DISCOVERING) {
		/* Best effort, unanswered: BlueZ also ends a client's discovery
		 * when the client leaves the bus, which closing does next. */
		ble_bus_send(r->bus, dbus_message_new_method_call(BLUEZ, r->adapter_path,
		                                                  ADAPTER_IFACE, "StopDiscovery"));
	}
	r->bus = ble_bus_close(r->bus);
	timer_cancel(r, &r->watchdog_timer);
	timer_cancel(r, &r->clock_timer);
	timer_cancel(r, &r->reconnect_timer);
	r->devices = ble_devices_free(r->devices);
	free(r);
	return NULL;
}
