/* SPDX-License-Identifier: MIT */
/*
 * usb_scanner_context.c: libusb on the host's loop, and the driver's life.
 *
 * libusb's file descriptors (its event fd, its timerfd, one per open
 * device) are watched with the host's watch_add/update/remove through
 * libusb's pollfd notifiers; when one is ready, events are handled with a
 * zero timeout, so the loop thread never waits in libusb. Where libusb
 * keeps timeouts without a timerfd, its next timeout is a host timer.
 *
 * Scanners arrive by libusb's hotplug callback (udev or netlink). Opening
 * is I/O, which a hotplug callback must not do: arrivals are queued and
 * opened from a zero-delay timer, retried briefly while the device node is
 * not there yet. Where libusb has no hotplug, a rescan timer enumerates
 * instead, the only timer an idle driver keeps.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "usb_scanner_private.h"

#define ATTACH_RETRY_US  100000 /* a node udev has not made yet: try again */
#define ATTACH_TRIES_MAX 10
#define STOP_WAIT_US     2000000 /* shutdown waits this long for transfers */

/* ---- libusb's fds and timeouts on the host loop ------------------------ */

static void arm_timeout(struct usb_scanners *o);

static void handle_events(struct usb_scanners *o)
{
	struct timeval zero = {0, 0};
	libusb_handle_events_timeout_completed(o->ctx, &zero, NULL);
	arm_timeout(o);
}

static void on_io(void *userdata, int fd, uint32_t revents)
{
	handle_events(userdata);
}

static void on_timeout(void *userdata)
{
	struct usb_scanners *o = userdata;
	o->timeout_timer = 0;
	handle_events(o);
}

static void remove_timer(struct usb_scanners *o, int64_t *id)
{
	if (*id > 0)
		o->services->timer_remove(o->services->host, *id);
	*id = 0;
}

/* Only where libusb has no timerfd of its own: an idle driver has no
 * transfer with a timeout, so this arms nothing. */
static void arm_timeout(struct usb_scanners *o)
{
	struct timeval tv;
	if (o->stopping || libusb_pollfds_handle_timeouts(o->ctx))
		return;
	remove_timer(o, &o->timeout_timer);
	if (libusb_get_next_timeout(o->ctx, &tv) != 1)
		return;
	uint64_t us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	int64_t id = o->services->timer_add(o->services->host, us, on_timeout, o);
	o->timeout_timer = id > 0 ? id : 0;
}

static uint32_t io_events(short events)
{
	return ((events & POLLIN) ? PORTER_IO_IN : 0) | ((events & POLLOUT) ? PORTER_IO_OUT : 0);
}

static void on_pollfd_added(int fd, short events, void *userdata)
{
	struct usb_scanners *o = userdata;
	for (size_t i = 0; i < o->n_watches; i++) {
		if (o->watches[i].fd == fd) { /* the same fd with new events */
			o->services->watch_update(o->services->host, o->watches[i].id,
			                          io_events(events));
			return;
		}
	}
	int64_t id =
	        o->n_watches < USB_WATCHES_MAX
	                ? o->services->watch_add(o->services->host, fd, io_events(events), on_io, o)
	                : -ENOSPC;
	if (id <= 0) {
		plog(o->services, PORTER_LOG_ERROR,
		     "USB scanners: cannot watch a libusb file descriptor: %s; a scanner opened "
		     "now is not read",
		     strerror((int)-id));
		return;
	}
	o->watches[o->n_watches++] = (struct usb_watch){fd, id};
}

static void on_pollfd_removed(int fd, void *userdata)
{
	struct usb_scanners *o = userdata;
	for (size_t i = 0; i < o->n_watches; i++) {
		if (o->watches[i].fd != fd)
			continue;
		o->services->watch_remove(o->services->host, o->watches[i].id);
		o->watches[i] = o->watches[--o->n_watches];
		return;
	}
}

static int watch_existing_fds(struct usb_scanners *o)
{
	const struct libusb_pollfd **fds = libusb_get_pollfds(o->ctx);
	if (!fds)
		return -ENOMEM;
	for (size_t i = 0; fds[i]; i++)
		on_pollfd_added(fds[i]->fd, fds[i]->events, o);
	libusb_free_pollfds(fds);
	return 0;
}

/* ---- Problems (diagnostics) -------------------------------------------- */

void usb_scanner_problem(struct usb_scanners *o, const char *code, uint8_t bus, uint8_t address,
                         size_t entry, const char *message, const char *fix)
{
	struct usb_problem *p = NULL;
	for (size_t i = 0; i < o->n_problems && !p; i++) {
		if (o->problems[i].bus == bus && o->problems[i].address == address &&
		    strcmp(o->problems[i].code, code) == 0)
			p = &o->problems[i]; /* the same again: said once */
	}
	if (!p) {
		if (o->n_problems == USB_PROBLEMS_MAX)
			return;
		p = &o->problems[o->n_problems++];
		plog(o->services,
		     strcmp(code, DIAG_USB_MISSING) == 0 ? PORTER_LOG_WARNING : PORTER_LOG_ERROR,
		     "%s [%s] Fix: %s", message, code, fix);
	}
	p->code = code;
	p->severity = strcmp(code, DIAG_USB_MISSING) == 0 ? PORTER_SEVERITY_WARNING
	                                                  : PORTER_SEVERITY_ERROR;
	p->bus = bus;
	p->address = address;
	p->entry = entry;
	snprintf(p->path, sizeof(p->path), "$.usb_scanners.devices[%zu]", entry);
	snprintf(p->message, sizeof(p->message), "%s", message);
	snprintf(p->fix, sizeof(p->fix), "%s", fix);
}

void usb_scanner_forget_problems(struct usb_scanners *o, uint8_t bus, uint8_t address)
{
	for (size_t i = 0; i < o->n_problems;) {
		if (o->problems[i].bus == bus && o->problems[i].address == address)
			o->problems[i] = o->problems[--o->n_problems];
		else
			i++;
	}
}

/* What a libusb error at open or claim means for the admin. */
static void open_failed(struct usb_scanners *o, libusb_device *device, size_t entry, int error)
{
	struct libusb_device_descriptor dd;
	char message[USB_TEXT_MAX], fix[USB_TEXT_MAX];
	uint8_t bus = libusb_get_bus_number(device), address = libusb_get_device_address(device);
	libusb_get_device_descriptor(device, &dd);
	const char *reader = o->config.devices[entry].reader_id;
	if (error == LIBUSB_ERROR_ACCESS) {
		snprintf(message, sizeof(message),
		         "USB scanner %04x:%04x (reader %s): porter's user may not open "
		         "/dev/bus/usb/%03u/%03u (permission denied)",
		         dd.idVendor, dd.idProduct, reader, bus, address);
		snprintf(fix, sizeof(fix),
		         "install examples/70-porter-scanner.rules as "
		         "/etc/udev/rules.d/70-porter-scanner.rules (it gives group \"porter\" "
		         "read and write access to scanners; add a line for a scanner maker it "
		         "does not list), put porter's user in group \"porter\", run `udevadm "
		         "control --reload && udevadm trigger`, then plug the scanner in again or "
		         "reload porter's config");
		usb_scanner_problem(o, DIAG_USB_ACCESS, bus, address, entry, message, fix);
	} else if (error == LIBUSB_ERROR_BUSY) {
		snprintf(message, sizeof(message),
		         "USB scanner %04x:%04x (reader %s) on /dev/bus/usb/%03u/%03u is held by "
		         "another driver or program (interface busy)",
		         dd.idVendor, dd.idProduct, reader, bus, address);
		snprintf(fix, sizeof(fix),
		         "stop the program that holds it (`fuser -v /dev/bus/usb/%03u/%03u` names "
		         "it: another porter, a kiosk or POS program, the door controller's own "
		         "scanner support), then plug the scanner in again or reload porter's "
		         "config; porter detaches the kernel's keyboard driver itself",
		         bus, address);
		usb_scanner_problem(o, DIAG_USB_BUSY, bus, address, entry, message, fix);
	} else if (error != LIBUSB_ERROR_NOT_SUPPORTED) { /* NOT_SUPPORTED: said already */
		plog(o->services, PORTER_LOG_ERROR,
		     "USB scanner %04x:%04x on bus %u device %u (reader %s): cannot be opened: %s",
		     dd.idVendor, dd.idProduct, bus, address, reader, libusb_error_name(error));
	}
}

/* ---- Finding scanners -------------------------------------------------- */

/* A scanner a line would take but for the port it names: said once (per
 * device, until a reload), naming the port it is in, so an admin who
 * wrote the wrong port learns the right one from the log. */
static void tell_elsewhere(struct usb_scanners *o, libusb_device *device,
                           const struct libusb_device_descriptor *dd, const struct usb_port *at)
{
	uint8_t bus = libusb_get_bus_number(device), address = libusb_get_device_address(device);
	int entry = usb_scanner_match_ids_any_port(&o->config, dd->idVendor, dd->idProduct);
	if (entry < 0 || !at)
		return;
	for (size_t i = 0; i < o->n_elsewhere; i++) {
		if (o->elsewhere[i].bus == bus && o->elsewhere[i].address == address)
			return;
	}
	if (o->n_elsewhere < USB_PROBLEMS_MAX) {
		o->elsewhere[o->n_elsewhere].bus = bus;
		o->elsewhere[o->n_elsewhere++].address = address;
	}
	char here[USB_PORT_TEXT_MAX + 1], there[USB_PORT_TEXT_MAX + 1];
	usb_port_format(at, here, sizeof(here));
	usb_port_format(&o->config.devices[entry].port, there, sizeof(there));
	plog(o->services, PORTER_LOG_NOTICE,
	     "USB scanner %04x:%04x at port %s (on bus %u device %u) is not read: "
	     "usb_scanners.devices[%zu] (reader %s) has its ids but port %s; if this is that "
	     "reader's scanner, set the line's port to \"%s\"",
	     dd->idVendor, dd->idProduct, here, bus, address, (size_t)entry,
	     o->config.devices[entry].reader_id, there, here);
}

/* The match line for `device`, or -1 (also says D011 for a scanner whose
 * vendor matches but that is a serial port). */
static int match_device(struct usb_scanners *o, libusb_device *device)
{
	struct libusb_device_descriptor dd;
	if (libusb_get_device_descriptor(device, &dd) < 0)
		return -1;
	struct usb_port port;
	const struct usb_port *at = usb_scanner_device_port(device, &port) == 0 ? &port : NULL;
	int entry = usb_scanner_match_ids(&o->config, dd.idVendor, dd.idProduct, at);
	if (entry >= 0)
		return entry;
	/* A scanner switched to serial mode has another product id. */
	entry = usb_scanner_match_vendor(&o->config, dd.idVendor, at);
	if (entry < 0)
		tell_elsewhere(o, device, &dd, at);
	struct libusb_config_descriptor *cfg = NULL;
	if (entry < 0 || (libusb_get_active_config_descriptor(device, &cfg) < 0 &&
	                  libusb_get_config_descriptor(device, 0, &cfg) < 0))
		return -1;
	bool serial = usb_scanner_serial_mode(&dd, cfg);
	libusb_free_config_descriptor(cfg);
	return serial ? entry : -1;
}

/* Returns the libusb error of the attempt (0: attached or not a scanner). */
static int consider(struct usb_scanners *o, libusb_device *device)
{
	if (usb_scanner_find(o, device))
		return 0; /* an arrival reported twice */
	int entry = match_device(o, device);
	if (entry < 0)
		return 0;
	int r = usb_scanner_attach(o, device, (size_t)entry);
	if (r < 0 && r != LIBUSB_ERROR_NOT_FOUND && r != LIBUSB_ERROR_NO_DEVICE)
		open_failed(o, device, (size_t)entry, r);
	return r;
}

static bool has_problem(const struct usb_scanners *o, size_t entry, bool device)
{
	for (size_t k = 0; k < o->n_problems; k++) {
		if (o->problems[k].entry == entry && (o->problems[k].bus != 0) == device)
			return true;
	}
	return false;
}

/* D012: a reader whose scanner is not plugged in; said once, until one is
 * (a device there that porter cannot read says why itself). */
static void check_missing(struct usb_scanners *o)
{
	for (size_t i = 0; i < o->config.n_devices; i++) {
		const char *reader = o->config.devices[i].reader_id;
		bool found = false;
		for (struct usb_scanner *s = o->scanners; s && !found; s = s->next)
			found = !s->closing && strcmp(s->entry.reader_id, reader) == 0;
		/* Bus 0 (no device is there), address i + 1 names the line. */
		if (found || has_problem(o, i, true)) {
			usb_scanner_forget_problems(o, 0, (uint8_t)(i + 1));
			continue;
		}
		if (has_problem(o, i, false))
			continue;
		char message[USB_TEXT_MAX], fix[USB_TEXT_MAX], port[USB_PORT_TEXT_MAX + 1];
		usb_port_format(&o->config.devices[i].port, port, sizeof(port));
		if (port[0]) {
			snprintf(
			        message, sizeof(message),
			        "no USB scanner for reader %s is plugged in at USB port %s "
			        "(usb_scanners.devices[%zu]); porter attaches one as soon as it is",
			        reader, port, i);
			snprintf(fix, sizeof(fix),
			         "plug the scanner into port %s; if it is plugged in elsewhere, "
			         "porter's log names the port it is in (\"USB scanner ... at port "
			         "...\", or `lsusb -t`): set usb_scanners.devices[%zu].port to it",
			         port, i);
		} else {
			snprintf(
			        message, sizeof(message),
			        "no USB scanner for reader %s is plugged in "
			        "(usb_scanners.devices[%zu]); porter attaches one as soon as it is",
			        reader, i);
			snprintf(fix, sizeof(fix),
			         "plug the scanner in; if it is, `lsusb` shows its vendor:product "
			         "ids: set usb_scanners.devices[%zu].vendor_id and product_id to "
			         "them",
			         i);
		}
		usb_scanner_problem(o, DIAG_USB_MISSING, 0, (uint8_t)(i + 1), i, message, fix);
	}
}

static void enumerate(struct usb_scanners *o)
{
	libusb_device **list;
	ssize_t n = libusb_get_device_list(o->ctx, &list);
	if (n < 0) {
		plog(o->services, PORTER_LOG_ERROR, "USB scanners: cannot list USB devices: %s",
		     libusb_error_name((int)n));
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		consider(o, list[i]);
	libusb_free_device_list(list, 1);
	if (!o->enumerate_after_reap) /* a reload's scanners come back then */
		check_missing(o);
}

static void on_rescan(void *userdata);

static void arm_rescan(struct usb_scanners *o)
{
	remove_timer(o, &o->rescan_timer);
	if (o->hotplug || o->stopping)
		return;
	int64_t id = o->services->timer_add(
	        o->services->host, (uint64_t)o->config.rescan_interval_s * 1000000, on_rescan, o);
	o->rescan_timer = id > 0 ? id : 0;
}

static void on_rescan(void *userdata)
{
	struct usb_scanners *o = userdata;
	o->rescan_timer = 0;
	enumerate(o);
	arm_timeout(o);
	arm_rescan(o);
}

static void on_reap(void *userdata)
{
	struct usb_scanners *o = userdata;
	o->reap_timer = 0;
	usb_scanner_reap(o);
	if (o->enumerate_after_reap) {
		o->enumerate_after_reap = false;
		enumerate(o);
		arm_timeout(o);
	} else {
		check_missing(o);
	}
}

void usb_scanners_reap_soon(struct usb_scanners *o)
{
	if (o->reap_timer || o->stopping)
		return;
	int64_t id = o->services->timer_add(o->services->host, 0, on_reap, o);
	o->reap_timer = id > 0 ? id : 0;
}

/* ---- Hotplug ----------------------------------------------------------- */

static void drop_pending(struct usb_scanners *o, size_t i)
{
	libusb_unref_device(o->pending[i]);
	o->n_pending--;
	o->pending[i] = o->pending[o->n_pending];
	o->pending_tries[i] = o->pending_tries[o->n_pending];
}

static void on_attach(void *userdata)
{
	struct usb_scanners *o = userdata;
	o->attach_timer = 0;
	for (size_t i = 0; i < o->n_pending;) {
		int r = consider(o, o->pending[i]);
		bool retry = (r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_NO_DEVICE) &&
		             ++o->pending_tries[i] < ATTACH_TRIES_MAX;
		if (retry)
			i++;
		else
			drop_pending(o, i);
	}
	check_missing(o);
	arm_timeout(o);
	if (o->n_pending && !o->stopping) {
		int64_t id =
		        o->services->timer_add(o->services->host, ATTACH_RETRY_US, on_attach, o);
		o->attach_timer = id > 0 ? id : 0;
	}
}

static int on_hotplug(libusb_context *ctx, libusb_device *device, libusb_hotplug_event event,
                      void *userdata)
{
	struct usb_scanners *o = userdata;
	if (o->stopping)
		return 0;
	for (size_t i = 0; i < o->n_pending; i++) {
		if (o->pending[i] == device)
			drop_pending(o, i); /* left, or arrived twice: decided anew */
	}
	if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT) {
		usb_scanner_forget_problems(o, libusb_get_bus_number(device),
		                            libusb_get_device_address(device));
		struct usb_scanner *s = usb_scanner_find(o, device);
		if (s) {
			plog(o->services, PORTER_LOG_NOTICE,
			     "USB scanner %s (reader %s): unplugged", s->name, s->entry.reader_id);
			usb_scanner_detach(s);
		}
		check_missing(o);
		return 0;
	}
	if (o->n_pending == USB_PENDING_MAX)
		return 0;
	o->pending_tries[o->n_pending] = 0;
	o->pending[o->n_pending++] = libusb_ref_device(device);
	if (!o->attach_timer) {
		int64_t id = o->services->timer_add(o->services->host, 0, on_attach, o);
		o->attach_timer = id > 0 ? id : 0;
	}
	return 0;
}

/* ---- Life -------------------------------------------------------------- */

int usb_scanners_start(const struct porter_host_services *services,
                       const struct usb_scanners_config *config, usb_scan_fn scan, void *userdata,
                       struct usb_scanners **ret)
{
	*ret = NULL;
	if (!services->watch_add || !services->watch_update || !services->watch_remove) {
		plog(services, PORTER_LOG_ERROR,
		     "USB scanners: the host gives porter no fd watches (watch_add, watch_update, "
		     "watch_remove), which porter's USB driver needs; scanners are not read. Use "
		     "the host's own scanner support and its on_qr, or a host with fd watches");
		return -ENOTSUP;
	}
	struct usb_scanners *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->services = services;
	o->config = *config;
	o->scan = scan;
	o->userdata = userdata;
	int r = libusb_init(&o->ctx);
	if (r < 0) {
		plog(services, PORTER_LOG_ERROR,
		     "USB scanners: libusb cannot start (%s): is /dev/bus/usb there (in a "
		     "container: passed in)?",
		     libusb_error_name(r));
		free(o);
		return r == LIBUSB_ERROR_NO_MEM ? -ENOMEM : -ENODEV;
	}
	libusb_set_pollfd_notifiers(o->ctx, on_pollfd_added, on_pollfd_removed, o);
	r = watch_existing_fds(o);
	if (r == 0 && libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
		o->hotplug = libusb_hotplug_register_callback(
		                     o->ctx,
		                     LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
		                             LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
		                     0, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
		                     LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, o,
		                     &o->hotplug_handle) == LIBUSB_SUCCESS;
	}
	if (r < 0) {
		*ret = o;
		usb_scanners_stop(o);
		*ret = NULL;
		return r;
	}
	plog(services, PORTER_LOG_INFO, "USB scanners: started, %zu match lines, %s",
	     config->n_devices, o->hotplug ? "hotplug" : "rescanning (no hotplug here)");
	enumerate(o);
	arm_timeout(o);
	arm_rescan(o);
	*ret = o;
	return 0;
}

void usb_scanners_reload(struct usb_scanners *o, const struct usb_scanners_config *config)
{
	if (!o)
		return;
	/* Scanners whose line is unchanged keep reading: a reload for another
	 * setting must not drop a scan in progress. */
	for (struct usb_scanner *s = o->scanners, *next; s; s = next) {
		next = s->next;
		bool kept = false;
		for (size_t i = 0; i < config->n_devices && !kept; i++)
			kept = usb_scanner_entry_equal(&s->entry, &config->devices[i]);
		if (!kept && !s->closing) {
			usb_scanner_detach(s);
			/* Matched again (maybe for another reader) once closed. */
			o->enumerate_after_reap = true;
		}
	}
	o->config = *config;
	o->n_problems = 0; /* tried again now: an admin may have fixed them */
	o->n_elsewhere = 0;
	enumerate(o);
	arm_timeout(o);
	arm_rescan(o);
}

static bool any_in_flight(const struct usb_scanners *o)
{
	for (const struct usb_scanner *s = o->scanners; s; s = s->next) {
		if (s->in_flight)
			return true;
	}
	return false;
}

struct usb_scanners *usb_scanners_stop(struct usb_scanners *o)
{
	if (!o)
		return NULL;
	o->stopping = true;
	remove_timer(o, &o->rescan_timer);
	remove_timer(o, &o->attach_timer);
	remove_timer(o, &o->timeout_timer);
	remove_timer(o, &o->reap_timer);
	while (o->n_pending)
		drop_pending(o, 0);
	if (o->hotplug)
		libusb_hotplug_deregister_callback(o->ctx, o->hotplug_handle);
	for (struct usb_scanner *s = o->scanners, *next; s; s = next) {
		next = s->next;
		usb_scanner_detach(s);
	}
	/* Every cancelled transfer comes back through its callback, which frees
	 * its scanner; only then may libusb close the device. A shutdown is the
	 * one place porter waits on libusb, and not for long. */
	uint64_t until = o->services->now_us(o->services->host) + STOP_WAIT_US;
	while (any_in_flight(o) && o->services->now_us(o->services->host) < until) {
		struct timeval tv = {0, 50000};
		libusb_handle_events_timeout_completed(o->ctx, &tv, NULL);
	}
	usb_scanner_reap(o);
	if (o->scanners)
		plog(o->services, PORTER_LOG_WARNING,
		     "USB scanners: a transfer did not come back within %d s of its cancel",
		     STOP_WAIT_US / 1000000);
	libusb_set_pollfd_notifiers(o->ctx, NULL, NULL, NULL);
	for (size_t i = 0; i < o->n_watches; i++)
		o->services->watch_remove(o->services->host, o->watches[i].id);
	o->n_watches = 0;
	/* libusb_exit closes what is still open (a transfer that never came
	 * back): its callback is not run. */
	libusb_exit(o->ctx);
	free(o);
	return NULL;
}

int usb_scanners_diagnostics(const struct usb_scanners *o, porter_report_fn report, void *userdata)
{
	if (!o)
		return 0;
	for (size_t i = 0; report && i < o->n_problems; i++) {
		const struct usb_problem *p = &o->problems[i];
		struct porter_report r = {
		        .size = sizeof(r),
		        .severity = p->severity,
		        .code = p->code,
		        .path = p->path,
		        .message = p->message,
		        .fix = p->fix,
		};
		report(userdata, &r);
	}
	return (int)o->n_problems;
}

size_t usb_scanners_attached(const struct usb_scanners *o)
{
	size_t n = 0;
	for (const struct usb_scanner *s = o ? o->scanners : NULL; s; s = s->next)
		n += !s->closing;
	return n;
}
