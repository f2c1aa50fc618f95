/* SPDX-License-Identifier: MIT */
/*
 * ble_bus.c: a private libdbus connection on the host's loop. See ble_bus.h.
 *
 * libdbus gives a read and a write watch on the same socket; a host's loop
 * (epoll) takes one watch per fd, so the enabled flags of all libdbus
 * watches on an fd are merged into one host watch. Timeouts are periodic in
 * libdbus and one-shot at the host: re-armed before each is handled.
 */
#include "ble_bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define BUS_MAX_WATCHES     8
#define BUS_MAX_MESSAGE     (4 * 1024 * 1024) /* GetManagedObjects with many devices */
#define BUS_DISPATCH_BURST  256 /* messages per loop turn, so a flood cannot starve the host */
#define BUS_DEFAULT_ADDRESS "unix:path=/var/run/dbus/system_bus_socket"

struct bus_watch {
	DBusWatch *watch;
	int fd;
};

struct bus_fd {
	int fd;
	int64_t host_id; /* 0: none */
	uint32_t events; /* what the host watch asks for */
};

struct bus_timeout {
	struct ble_bus *bus;
	DBusTimeout *timeout;
	int64_t timer; /* 0: not armed */
};

struct bus_call {
	struct ble_bus *bus;
	DBusPendingCall *pending;
	ble_bus_reply_fn fn;
	void *userdata;
	uint64_t tag;
	struct bus_call *prev, *next;
};

struct bus_fd_slot {
	struct ble_bus *bus;
	size_t index;
};

struct ble_bus {
	const struct porter_host_services *services;
	DBusConnection *conn;
	ble_bus_signal_fn on_signal;
	ble_bus_lost_fn on_lost;
	void *userdata;
	struct bus_watch watches[BUS_MAX_WATCHES];
	size_t n_watches;
	struct bus_fd fds[BUS_MAX_WATCHES];
	struct bus_fd_slot fd_slots[BUS_MAX_WATCHES];
	struct bus_call *calls;
	int64_t dispatch_timer;
	int64_t lost_timer;
	bool lost;
};

const char *ble_bus_system_address(void)
{
	const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	return a && *a ? a : BUS_DEFAULT_ADDRESS;
}

/* ---- Dispatch ------------------------------------------------------------ */

static void dispatch_later(struct ble_bus *bus);

static void dispatch(struct ble_bus *bus)
{
	for (int i = 0; i < BUS_DISPATCH_BURST; i++) {
		if (dbus_connection_dispatch(bus->conn) != DBUS_DISPATCH_DATA_REMAINS)
			return;
	}
	dispatch_later(bus); /* the rest next turn */
}

static void dispatch_timer_fired(void *userdata)
{
	struct ble_bus *bus = userdata;
	bus->dispatch_timer = 0;
	dispatch(bus);
}

static void dispatch_later(struct ble_bus *bus)
{
	if (bus->dispatch_timer)
		return;
	int64_t id = bus->services->timer_add(bus->services->host, 0, dispatch_timer_fired, bus);
	bus->dispatch_timer = id > 0 ? id : 0;
}

/* libdbus says messages wait (e.g. after a timeout completed a call): they
 * are dispatched from the loop, never from inside this callback. */
static void dispatch_status_changed(DBusConnection *conn, DBusDispatchStatus status, void *data)
{
	if (status == DBUS_DISPATCH_DATA_REMAINS)
		dispatch_later(data);
}

/* ---- Watches ------------------------------------------------------------- */

static uint32_t host_events(const struct ble_bus *bus, int fd)
{
	uint32_t events = 0;
	for (size_t i = 0; i < bus->n_watches; i++) {
		DBusWatch *w = bus->watches[i].watch;
		if (bus->watches[i].fd != fd || !dbus_watch_get_enabled(w))
			continue;
		unsigned flags = dbus_watch_get_flags(w);
		if (flags & DBUS_WATCH_READABLE)
			events |= PORTER_IO_IN;
		if (flags & DBUS_WATCH_WRITABLE)
			events |= PORTER_IO_OUT;
	}
	return events;
}

static struct bus_fd *fd_find(struct ble_bus *bus, int fd)
{
	for (size_t i = 0; i < BUS_MAX_WATCHES; i++)
		if (bus->fds[i].host_id && bus->fds[i].fd == fd)
			return &bus->fds[i];
	return NULL;
}

static void fd_ready(void *userdata, int fd, uint32_t revents);

/* Make the host watch on `fd` ask for what the enabled libdbus watches ask. */
static void fd_sync(struct ble_bus *bus, int fd)
{
	uint32_t events = host_events(bus, fd);
	struct bus_fd *f = fd_find(bus, fd);
	const struct porter_host_services *s = bus->services;
	if (f && !events) {
		s->watch_remove(s->host, f->host_id);
		f->host_id = 0;
		return;
	}
	if (f) {
		if (f->events != events &&
		    (!s->watch_update || s->watch_update(s->host, f->host_id, events) < 0)) {
			s->watch_remove(s->host, f->host_id);
			f->host_id = 0;
			fd_sync(bus, fd); /* added afresh below */
			return;
		}
		f->events = events;
		return;
	}
	if (!events)
		return;
	for (size_t i = 0; i < BUS_MAX_WATCHES; i++) {
		if (bus->fds[i].host_id)
			continue;
		bus->fd_slots[i] = (struct bus_fd_slot){bus, i};
		int64_t id = s->watch_add(s->host, fd, events, fd_ready, &bus->fd_slots[i]);
		if (id <= 0) {
			plog(s, PORTER_LOG_ERROR,
			     "BLE: the host refused a watch on the D-Bus socket: %s",
			     strerror(id < 0 ? (int)-id : EIO));
			return;
		}
		bus->fds[i] = (struct bus_fd){fd, id, events};
		return;
	}
}

static bool watch_present(const struct ble_bus *bus, DBusWatch *w)
{
	for (size_t i = 0; i < bus->n_watches; i++)
		if (bus->watches[i].watch == w)
			return true;
	return false;
}

static void fd_ready(void *userdata, int fd, uint32_t revents)
{
	struct bus_fd_slot *slot = userdata;
	struct ble_bus *bus = slot->bus;
	DBusWatch *ready[BUS_MAX_WATCHES];
	size_t n = 0;
	for (size_t i = 0; i < bus->n_watches; i++)
		if (bus->watches[i].fd == fd && dbus_watch_get_enabled(bus->watches[i].watch))
			ready[n++] = bus->watches[i].watch;
	unsigned flags = 0;
	if (revents & PORTER_IO_IN)
		flags |= DBUS_WATCH_READABLE;
	if (revents & PORTER_IO_OUT)
		flags |= DBUS_WATCH_WRITABLE;
	if (revents & PORTER_IO_ERR)
		flags |= DBUS_WATCH_ERROR;
	if (revents & PORTER_IO_HUP)
		flags |= DBUS_WATCH_HANGUP;
	dbus_connection_ref(bus->conn);
	for (size_t i = 0; i < n; i++) {
		/* An earlier handle may have removed this watch. */
		if (!watch_present(bus, ready[i]))
			continue;
		unsigned want =
		        dbus_watch_get_flags(ready[i]) | DBUS_WATCH_ERROR | DBUS_WATCH_HANGUP;
		if (flags & want)
			dbus_watch_handle(ready[i], flags & want);
	}
	dispatch(bus);
	dbus_connection_unref(bus->conn);
}

static dbus_bool_t watch_added(DBusWatch *w, void *data)
{
	struct ble_bus *bus = data;
	if (bus->n_watches == BUS_MAX_WATCHES)
		return FALSE;
	int fd = dbus_watch_get_unix_fd(w);
	bus->watches[bus->n_watches++] = (struct bus_watch){w, fd};
	fd_sync(bus, fd);
	return TRUE;
}

static void watch_removed(DBusWatch *w, void *data)
{
	struct ble_bus *bus = data;
	for (size_t i = 0; i < bus->n_watches; i++) {
		if (bus->watches[i].watch != w)
			continue;
		int fd = bus->watches[i].fd;
		bus->watches[i] = bus->watches[--bus->n_watches];
		fd_sync(bus, fd);
		return;
	}
}

static void watch_toggled(DBusWatch *w, void *data)
{
	struct ble_bus *bus = data;
	for (size_t i = 0; i < bus->n_watches; i++)
		if (bus->watches[i].watch == w)
			fd_sync(bus, bus->watches[i].fd);
}

/* ---- Timeouts ------------------------------------------------------------ */

static void timeout_disarm(struct bus_timeout *t)
{
	if (t->timer)
		t->bus->services->timer_remove(t->bus->services->host, t->timer);
	t->timer = 0;
}

static void timeout_fired(void *userdata);

static void timeout_arm(struct bus_timeout *t)
{
	timeout_disarm(t);
	if (!dbus_timeout_get_enabled(t->timeout))
		return;
	uint64_t delay = (uint64_t)dbus_timeout_get_interval(t->timeout) * 1000;
	int64_t id = t->bus->services->timer_add(t->bus->services->host, delay, timeout_fired, t);
	t->timer = id > 0 ? id : 0;
}

static void timeout_fired(void *userdata)
{
	struct bus_timeout *t = userdata;
	struct ble_bus *bus = t->bus;
	t->timer = 0;
	timeout_arm(t); /* periodic in libdbus; handling it may remove it (and this timer) */
	dbus_connection_ref(bus->conn);
	dbus_timeout_handle(t->timeout);
	dispatch(bus);
	dbus_connection_unref(bus->conn);
}

static dbus_bool_t timeout_added(DBusTimeout *timeout, void *data)
{
	struct bus_timeout *t = calloc(1, sizeof(*t));
	if (!t)
		return FALSE;
	t->bus = data;
	t->timeout = timeout;
	dbus_timeout_set_data(timeout, t, NULL);
	timeout_arm(t);
	return TRUE;
}

static void timeout_removed(DBusTimeout *timeout, void *data)
{
	struct bus_timeout *t = dbus_timeout_get_data(timeout);
	if (!t)
		return;
	timeout_disarm(t);
	dbus_timeout_set_data(timeout, NULL, NULL);
	free(t);
}

static void timeout_toggled(DBusTimeout *timeout, void *data)
{
	struct bus_timeout *t = dbus_timeout_get_data(timeout);
	if (t)
		timeout_arm(t);
}

/* ---- Messages ------------------------------------------------------------ */

static void lost_timer_fired(void *userdata)
{
	struct ble_bus *bus = userdata;
	bus->lost_timer = 0;
	if (bus->on_lost)
		bus->on_lost(bus->userdata); /* may close the bus */
}

static DBusHandlerResult filter(DBusConnection *conn, DBusMessage *m, void *data)
{
	struct ble_bus *bus = data;
	if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		if (!bus->lost) {
			bus->lost = true;
			/* Not from inside dispatch: the owner closes the bus. */
			int64_t id = bus->services->timer_add(bus->services->host, 0,
			                                      lost_timer_fired, bus);
			bus->lost_timer = id > 0 ? id : 0;
		}
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL) {
		bus->on_signal(bus->userdata, m);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static void call_unlink(struct bus_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->bus->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void call_done(DBusPendingCall *pending, void *data)
{
	struct bus_call *c = data;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	call_unlink(c);
	dbus_pending_call_unref(c->pending);
	ble_bus_reply_fn fn = c->fn;
	void *userdata = c->userdata;
	uint64_t tag = c->tag;
	free(c);
	fn(userdata, tag, reply);
	if (reply)
		dbus_message_unref(reply);
}

int ble_bus_call(struct ble_bus *bus, DBusMessage *message, int timeout_ms, ble_bus_reply_fn fn,
                 void *userdata, uint64_t tag)
{
	if (!message)
		return -ENOMEM;
	struct bus_call *c = calloc(1, sizeof(*c));
	DBusPendingCall *pending = NULL;
	if (!c || !dbus_connection_send_with_reply(bus->conn, message, &pending, timeout_ms)) {
		free(c);
		dbus_message_unref(message);
		return -ENOMEM;
	}
	dbus_message_unref(message);
	if (!pending) { /* the connection is closed */
		free(c);
		return -ENOTCONN;
	}
	*c = (struct bus_call){bus, pending, fn, userdata, tag, NULL, bus->calls};
	if (bus->calls)
		bus->calls->prev = c;
	bus->calls = c;
	if (!dbus_pending_call_set_notify(pending, call_done, c, NULL)) {
		call_unlink(c);
		dbus_pending_call_cancel(pending);
		dbus_pending_call_unref(pending);
		free(c);
		return -ENOMEM;
	}
	return 0;
}

void ble_bus_send(struct ble_bus *bus, DBusMessage *message)
{
	if (!message)
		return;
	dbus_message_set_no_reply(message, TRUE);
	dbus_connection_send(bus->conn, message, NULL);
	dbus_message_unref(message);
}

void ble_bus_add_match(struct ble_bus *bus, const char *rule)
{
	dbus_bus_add_match(bus->conn, rule, NULL); /* NULL error: sent, not waited for */
}

static void hello_done(void *userdata, uint64_t tag, DBusMessage *reply)
{
	struct ble_bus *bus = userdata;
	const char *name = NULL;
	if (reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN &&
	    dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
		dbus_bus_set_unique_name(bus->conn, name);
	else
		plog(bus->services, PORTER_LOG_WARNING, "BLE: the system bus did not accept Hello");
}

int ble_bus_open(const struct porter_host_services *services, const char *address,
                 ble_bus_signal_fn on_signal, ble_bus_lost_fn on_lost, void *userdata,
                 struct ble_bus **ret, char *err, size_t errlen)
{
	struct ble_bus *bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	*bus = (struct ble_bus){.services = services,
	                        .on_signal = on_signal,
	                        .on_lost = on_lost,
	                        .userdata = userdata};
	DBusError e;
	dbus_error_init(&e);
	/* A local socket connect; authentication continues on the loop. */
	bus->conn = dbus_connection_open_private(address, &e);
	if (!bus->conn) {
		snprintf(err, errlen, "%s", e.message ? e.message : "cannot connect");
		int r = dbus_error_has_name(&e, DBUS_ERROR_NO_MEMORY) ? -ENOMEM : -ENOENT;
		dbus_error_free(&e);
		free(bus);
		return r;
	}
	dbus_connection_set_exit_on_disconnect(bus->conn, FALSE);
	dbus_connection_set_max_message_size(bus->conn, BUS_MAX_MESSAGE);
	dbus_connection_set_max_received_size(bus->conn, 2 * BUS_MAX_MESSAGE);
	if (!dbus_connection_add_filter(bus->conn, filter, bus, NULL) ||
	    !dbus_connection_set_watch_functions(bus->conn, watch_added, watch_removed,
	                                         watch_toggled, bus, NULL) ||
	    !dbus_connection_set_timeout_functions(bus->conn, timeout_added, timeout_removed,
	                                           timeout_toggled, bus, NULL)) {
		snprintf(err, errlen, "out of memory");
		ble_bus_close(bus);
		return -ENOMEM;
	}
	dbus_connection_set_dispatch_status_function(bus->conn, dispatch_status_changed, bus, NULL);
	int r = ble_bus_call(bus,
	                     dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
	                                                  DBUS_INTERFACE_DBUS, "Hello"),
	                     -1, hello_done, bus, 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot send Hello: %s", strerror(-r));
		ble_bus_close(bus);
		return r;
	}
	*ret = bus;
	return 0;
}

struct ble_bus *ble_bus_close(struct ble_bus *bus)
{
	if (!bus)
		return NULL;
	const struct porter_host_services *s = bus->services;
	while (bus->calls) {
		struct bus_call *c = bus->calls;
		call_unlink(c);
		dbus_pending_call_cancel(c->pending);
		dbus_pending_call_unref(c->pending);
		free(c);
	}
	/* One write attempt that does not wait: a last message (StopDiscovery)
	 * queued just before gets its chance to leave. */
	if (dbus_connection_get_is_connected(bus->conn))
		dbus_connection_read_write(bus->conn, 0);
	dbus_connection_close(bus->conn);
	dbus_connection_remove_filter(bus->conn, filter, bus);
	dbus_connection_set_dispatch_status_function(bus->conn, NULL, NULL, NULL);
	/* Replacing the functions removes every watch and timeout through ours. */
	dbus_connection_set_watch_functions(bus->conn, NULL, NULL, NULL, NULL, NULL);
	dbus_connection_set_timeout_functions(bus->conn, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < BUS_MAX_WATCHES; i++)
		if (bus->fds[i].host_id)
			s->watch_remove(s->host, bus->fds[i].host_id);
	if (bus->dispatch_timer)
		s->timer_remove(s->host, bus->dispatch_timer);
	if (bus->lost_timer)
		s->timer_remove(s->host, bus->lost_timer);
	dbus_connection_unref(bus->conn);
	free(bus);
	return NULL;
}
