/* SPDX-License-Identifier: MIT */
/*
 * fake_scanner.c: usbdevfs answered in process for umockdev (see
 * fake_scanner.h). umockdev runs the "handle-ioctl" handler on its own
 * thread, so every device's state is under one mutex.
 */
#include "fake_scanner.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>
#include <umockdev.h>

#define MAX_DEVICES 8
#define MAX_URBS    16
#define MAX_REPORTS 1024 /* a visitor pass typed: ~330 reports */
#define URB_SIZE    56   /* struct usbdevfs_urb on 64-bit Linux */
#define PAGE        4096

struct urb {
	UMockdevIoctlData *urb, *buf;
	uint64_t addr; /* the client's pointer: DISCARDURB names it */
	int buflen;
	bool in;
};

struct fake_device {
	struct fake_usb *usb;
	UMockdevIoctlBase *handler;
	char syspath[320], devnode[64], fifo[512];
	int ctl; /* our end of the node's FIFO: full = not writable */
	bool ready;
	struct fake_device_desc desc;
	bool gone, claimed;
	struct urb pending[MAX_URBS]; /* submitted, waiting for a report */
	size_t n_pending;
	struct urb done[MAX_URBS]; /* completed, to be reaped, oldest first */
	size_t n_done;
	uint8_t reports[MAX_REPORTS][64];
	size_t report_len[MAX_REPORTS];
	size_t n_reports;
};

#define MAX_HUBS 8

struct fake_usb {
	UMockdevTestbed *testbed;
	char *root;
	struct fake_device *devices[MAX_DEVICES];
	size_t n_devices;
	char hubs[MAX_HUBS][32]; /* "1-1": hubs plugged in for desc.port */
	size_t n_hubs;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char denied[MAX_DEVICES][64];

/* ---- open() interposed: permission denied for a chosen node ------------ */

static bool is_denied(const char *path)
{
	for (size_t i = 0; path && i < MAX_DEVICES; i++) {
		if (denied[i][0] && strcmp(denied[i], path) == 0)
			return true;
	}
	return false;
}

int open(const char *path, int flags, ...);
int open(const char *path, int flags, ...)
{
	static int (*next)(const char *, int, ...);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (is_denied(path)) {
		errno = EACCES;
		return -1;
	}
	if (!next)
		next = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	return next(path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

/* ---- Readiness --------------------------------------------------------- */

/* Writable only while something waits to be reaped (lock held). */
static void set_ready(struct fake_device *d, bool ready)
{
	static uint8_t page[PAGE];
	if (ready == d->ready || d->ctl < 0)
		return;
	ssize_t n = ready ? read(d->ctl, page, PAGE) : write(d->ctl, page, PAGE);
	if (n == PAGE)
		d->ready = ready;
}

static void update_ready(struct fake_device *d)
{
	set_ready(d, d->n_done > 0 || d->gone);
}

/* ---- usbdevfs ---------------------------------------------------------- */

static void complete_urb(struct fake_device *d, struct urb u, int status, const uint8_t *data,
                         size_t len)
{
	if (data && len)
		umockdev_ioctl_data_update(u.buf, 0, (guint8 *)data, (gint)len);
	int32_t st = status, actual = (int32_t)len;
	umockdev_ioctl_data_update(u.urb, 4, (guint8 *)&st, 4);
	umockdev_ioctl_data_update(u.urb, 28, (guint8 *)&actual, 4);
	if (d->n_done < MAX_URBS)
		d->done[d->n_done++] = u;
}

/* Reports waiting meet URBs waiting (lock held). */
static void deliver(struct fake_device *d)
{
	while (d->n_reports && d->n_pending && !d->gone) {
		struct urb u = d->pending[0];
		memmove(d->pending, d->pending + 1, --d->n_pending * sizeof(u));
		size_t len = d->report_len[0];
		if ((int)len > u.buflen)
			len = (size_t)u.buflen;
		complete_urb(d, u, 0, d->reports[0], len);
		memmove(d->reports, d->reports + 1, (d->n_reports - 1) * sizeof(d->reports[0]));
		memmove(d->report_len, d->report_len + 1, (d->n_reports - 1) * sizeof(size_t));
		d->n_reports--;
	}
	update_ready(d);
}

static void answer(UMockdevIoctlClient *client, long result, int error)
{
	umockdev_ioctl_client_complete(client, result, error);
}

static void submit(struct fake_device *d, UMockdevIoctlClient *client)
{
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	struct urb u = {0};
	memcpy(&u.addr, arg->data, sizeof(u.addr));
	u.urb = umockdev_ioctl_data_resolve(arg, 0, URB_SIZE, NULL);
	struct usbdevfs_urb *raw = (struct usbdevfs_urb *)u.urb->data;
	u.buflen = raw->buffer_length;
	u.in = raw->endpoint & 0x80;
	u.buf = umockdev_ioctl_data_resolve(u.urb, 16, (gsize)(u.buflen > 0 ? u.buflen : 1), NULL);
	if (raw->type == USBDEVFS_URB_TYPE_CONTROL || !u.in) {
		complete_urb(d, u, -EPIPE, NULL, 0); /* STALL: porter sends none */
	} else if (d->n_pending < MAX_URBS) {
		d->pending[d->n_pending++] = u;
	}
	deliver(d);
	answer(client, 0, 0);
}

static void discard(struct fake_device *d, UMockdevIoctlClient *client)
{
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	uint64_t addr = 0;
	memcpy(&addr, arg->data, arg->data_len < 8 ? (size_t)arg->data_len : 8);
	for (size_t i = 0; i < d->n_pending; i++) {
		if (d->pending[i].addr != addr)
			continue;
		struct urb u = d->pending[i];
		memmove(d->pending + i, d->pending + i + 1, (--d->n_pending - i) * sizeof(u));
		complete_urb(d, u, -ENOENT, NULL, 0);
		update_ready(d);
		answer(client, 0, 0);
		return;
	}
	answer(client, -1, EINVAL);
}

static void reap(struct fake_device *d, UMockdevIoctlClient *client)
{
	if (!d->n_done) {
		update_ready(d);
		answer(client, -1, d->gone ? ENODEV : EAGAIN);
		return;
	}
	struct urb u = d->done[0];
	memmove(d->done, d->done + 1, --d->n_done * sizeof(u));
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	UMockdevIoctlData *out = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), NULL);
	umockdev_ioctl_data_set_ptr(out, 0, u.urb);
	g_object_unref(out);
	g_object_unref(u.buf);
	g_object_unref(u.urb);
	update_ready(d);
	answer(client, 0, 0);
}

static gboolean on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer userdata)
{
	struct fake_device *d = userdata;
	gulong request = umockdev_ioctl_client_get_request(client);
	pthread_mutex_lock(&lock);
	if (request == USBDEVFS_REAPURBNDELAY) {
		reap(d, client);
	} else if (d->gone) {
		answer(client, -1, ENODEV);
	} else if (request == USBDEVFS_SUBMITURB) {
		submit(d, client);
	} else if (request == USBDEVFS_DISCARDURB) {
		discard(d, client);
	} else if (request == USBDEVFS_GET_CAPABILITIES) {
		UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
		uint32_t caps = 0;
		umockdev_ioctl_data_update(arg, 0, (guint8 *)&caps, sizeof(caps));
		answer(client, 0, 0);
	} else if (request == USBDEVFS_GETDRIVER) {
		answer(client, -1, ENODATA);
	} else if (request == USBDEVFS_DISCONNECT_CLAIM || request == USBDEVFS_CLAIMINTERFACE) {
		if (d->desc.claim_errno) {
			answer(client, -1, d->desc.claim_errno);
		} else {
			d->claimed = true;
			answer(client, 0, 0);
		}
	} else if (request == USBDEVFS_RELEASEINTERFACE) {
		d->claimed = false;
		answer(client, 0, 0);
	} else {
		answer(client, 0, 0); /* SETINTERFACE, IOCTL (reattach), CLEAR_HALT, ... */
	}
	pthread_mutex_unlock(&lock);
	return TRUE;
}

/* ---- The testbed ------------------------------------------------------- */

struct fake_usb *fake_usb_new(void)
{
	struct fake_usb *usb = calloc(1, sizeof(*usb));
	usb->testbed = umockdev_testbed_new();
	/* Only after the testbed exists: the check looks at /sys (pitfall 2). */
	if (!umockdev_in_mock_environment()) {
		g_object_unref(usb->testbed);
		free(usb);
		return NULL;
	}
	usb->root = umockdev_testbed_get_root_dir(usb->testbed);
	return usb;
}

/* A boot keyboard (or CDC) device, with its descriptors as sysfs holds them. */
static void descriptors(const struct fake_device_desc *desc, char *hex, size_t size)
{
	/* A HID POS scanner's interface is no boot keyboard. */
	uint8_t sub = desc->interface_class == 3 && !desc->hid_pos ? 1 : 0,
	        proto = desc->interface_class == 3 && !desc->hid_pos ? 1 : 0;
	uint8_t d[] = {0x12, 0x01, 0x00, 0x02, desc->device_class, 0, 0, 8, desc->vendor_id & 0xff,
	               desc->vendor_id >> 8, desc->product_id & 0xff, desc->product_id >> 8, 0, 1,
	               1, 2, 3, 1,
	               /* configuration */
	               0x09, 0x02, 0x22, 0x00, 1, 1, 0, 0xA0, 0x32,
	               /* interface 0 */
	               0x09, 0x04, 0, 0, 1, desc->interface_class, sub, proto, 0,
	               /* HID */
	               0x09, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x3F, 0,
	               /* endpoint 0x81, interrupt, 8 (64 for HID POS) bytes, 10 ms */
	               0x07, 0x05, 0x81, 0x03, desc->hid_pos ? 0x40 : 0x08, 0x00, 0x0A};
	for (size_t i = 0; i < sizeof(d) && 2 * i + 2 < size; i++)
		snprintf(hex + 2 * i, 3, "%02X", d[i]);
}

/* The sysfs record of a device named `name` ("1-1.4") at `devpath`
 * ("/devices/.../usb1/1-1/1-1.4") on `bus`. */
static void record(char *text, size_t size, const char *devpath, const char *name, unsigned bus,
                   unsigned devnum, const char *hex)
{
	const char *dash = strchr(name, '-');
	snprintf(text, size,
	         "P: %s\n"
	         "N: bus/usb/%03u/%03u=%s\n"
	         "E: DEVNAME=/dev/bus/usb/%03u/%03u\nE: DEVTYPE=usb_device\nE: SUBSYSTEM=usb\n"
	         "E: BUSNUM=%03u\nE: DEVNUM=%03u\n"
	         "A: busnum=%u\\n\nA: devnum=%u\\n\nA: devpath=%s\\n\nA: speed=12\\n\n"
	         "A: dev=189:%u\nA: bConfigurationValue=1\\n\n"
	         "H: descriptors=%s\n",
	         devpath, bus, devnum, hex, bus, devnum, bus, devnum, bus, devnum,
	         dash ? dash + 1 : name, (bus - 1) * 128 + devnum - 1, hex);
}

/* "/devices/.../usbB/B-P/B-P.Q" for port "B-P.Q"; each hub on the way
 * ("B-P") plugged in first if it is not yet. */
static bool place(struct fake_usb *usb, const char *port, unsigned *ret_bus, char *devpath,
                  size_t size)
{
	unsigned bus = (unsigned)atoi(port);
	int n = snprintf(devpath, size, "/devices/pci0000:00/0000:00:14.0/usb%u", bus);
	for (const char *p = strchr(port, '-'); p; p = strchr(p + 1, '.')) {
		char name[32];
		const char *end = strchr(p + 1, '.');
		snprintf(name, sizeof(name), "%.*s", (int)(end ? end - port : (long)strlen(port)),
		         port);
		n += snprintf(devpath + n, size - (size_t)n, "/%s", name);
		if (!end)
			break;
		bool known = false;
		for (size_t i = 0; i < usb->n_hubs && !known; i++)
			known = strcmp(usb->hubs[i], name) == 0;
		if (known)
			continue;
		if (usb->n_hubs == MAX_HUBS)
			return false;
		char hex[256], text[1536];
		const struct fake_device_desc hub = {.vendor_id = 0x05E3,
		                                     .product_id = 0x0610,
		                                     .device_class = 9,
		                                     .interface_class = 9};
		descriptors(&hub, hex, sizeof(hex));
		record(text, sizeof(text), devpath, name, bus, 100 + (unsigned)usb->n_hubs, hex);
		snprintf(usb->hubs[usb->n_hubs++], sizeof(usb->hubs[0]), "%s", name);
		GError *error = NULL;
		if (!umockdev_testbed_add_from_string(usb->testbed, text, &error)) {
			fprintf(stderr, "fake_usb_plug: hub %s: %s\n", name, error->message);
			g_error_free(error);
			return false;
		}
	}
	*ret_bus = bus;
	return true;
}

struct fake_device *fake_usb_plug(struct fake_usb *usb, const struct fake_device_desc *desc)
{
	if (usb->n_devices == MAX_DEVICES)
		return NULL;
	unsigned devnum = 5 + (unsigned)usb->n_devices, bus = 1;
	char hex[256], text[1536], devpath[256], name[32];
	snprintf(name, sizeof(name), "1-%u", devnum);
	snprintf(devpath, sizeof(devpath), "/devices/pci0000:00/0000:00:14.0/usb1/%s", name);
	if (desc->port) {
		snprintf(name, sizeof(name), "%s", desc->port);
		if (!place(usb, desc->port, &bus, devpath, sizeof(devpath)))
			return NULL;
	}
	struct fake_device *d = calloc(1, sizeof(*d));
	d->usb = usb;
	d->desc = *desc;
	d->ctl = -1;
	descriptors(desc, hex, sizeof(hex));
	snprintf(d->syspath, sizeof(d->syspath), "/sys%s", devpath);
	snprintf(d->devnode, sizeof(d->devnode), "/dev/bus/usb/%03u/%03u", bus, devnum);
	record(text, sizeof(text), devpath, name, bus, devnum, hex);
	if (desc->open_denied)
		snprintf(denied[usb->n_devices], sizeof(denied[0]), "%s", d->devnode);
	d->handler = umockdev_ioctl_base_new();
	g_signal_connect(d->handler, "handle-ioctl", G_CALLBACK(on_ioctl), d);
	usb->devices[usb->n_devices++] = d;
	/* The "add" uevent goes out with the device; a driver opens the node
	 * later, from its loop, which this thread is not running. */
	snprintf(d->fifo, sizeof(d->fifo), "%s%s", usb->root, d->devnode);
	GError *error = NULL;
	if (!umockdev_testbed_add_from_string(usb->testbed, text, &error)) {
		fprintf(stderr, "fake_usb_plug: %s\n", error->message);
		g_error_free(error);
		return NULL;
	}
	pthread_mutex_lock(&lock);
	unlink(d->fifo);
	mkfifo(d->fifo, 0666);
	d->ctl = open(d->fifo, O_RDWR | O_NONBLOCK);
	fcntl(d->ctl, F_SETPIPE_SZ, PAGE);
	d->ready = true; /* empty pipe: writable */
	set_ready(d, false);
	pthread_mutex_unlock(&lock);
	if (!umockdev_testbed_attach_ioctl(usb->testbed, d->devnode, d->handler, &error)) {
		fprintf(stderr, "fake_usb_plug: %s\n", error->message);
		g_error_free(error);
		return NULL;
	}
	return d;
}

void fake_usb_unplug(struct fake_device *d)
{
	pthread_mutex_lock(&lock);
	d->gone = true;
	while (d->n_pending) {
		struct urb u = d->pending[--d->n_pending];
		complete_urb(d, u, -ESHUTDOWN, NULL, 0); /* still reapable */
	}
	update_ready(d);
	pthread_mutex_unlock(&lock);
	umockdev_testbed_uevent(d->usb->testbed, d->syspath, "remove");
}

void fake_usb_report(struct fake_device *d, const uint8_t *report, size_t len)
{
	pthread_mutex_lock(&lock);
	if (d->n_reports < MAX_REPORTS && len <= sizeof(d->reports[0])) {
		memcpy(d->reports[d->n_reports], report, len);
		d->report_len[d->n_reports++] = len;
	}
	deliver(d);
	pthread_mutex_unlock(&lock);
}

/* A character's key on a US keyboard, and whether it takes Shift. */
static uint8_t us_key(char c, bool *shift)
{
	*shift = (c >= 'A' && c <= 'Z') || c == '_';
	if (c == '\n')
		return 0x28;
	if (c >= '1' && c <= '9')
		return (uint8_t)(0x1e + c - '1');
	if (c == '0')
		return 0x27;
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(0x04 + c - 'a');
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(0x04 + c - 'A');
	return c == '-' || c == '_' ? 0x2d : c == '.' ? 0x37 : 0x2c /* space */;
}

void fake_usb_type(struct fake_device *d, const char *text)
{
	for (const char *c = text; *c; c++) {
		bool shift;
		uint8_t key = us_key(*c, &shift);
		uint8_t down[8] = {shift ? 0x02 : 0, 0, key}, up[8] = {0};
		fake_usb_report(d, down, sizeof(down));
		fake_usb_report(d, up, sizeof(up));
	}
}

void fake_usb_pos_scan(struct fake_device *d, const char *text)
{
	size_t len = strlen(text);
	do {
		uint8_t report[64] = {0};
		size_t n = len < 56 ? len : 56;
		report[0] = (uint8_t)n;
		memcpy(report + 1, "]Q1", 3);
		memcpy(report + 4, text, n);
		text += n;
		len -= n;
		report[63] = len ? 1 : 0; /* more chunks follow */
		fake_usb_report(d, report, sizeof(report));
	} while (len);
}

unsigned fake_usb_urbs_in_flight(struct fake_device *d)
{
	pthread_mutex_lock(&lock);
	unsigned n = (unsigned)d->n_pending;
	pthread_mutex_unlock(&lock);
	return n;
}

unsigned fake_usb_reports_queued(struct fake_device *d)
{
	pthread_mutex_lock(&lock);
	unsigned n = (unsigned)d->n_reports;
	pthread_mutex_unlock(&lock);
	return n;
}

bool fake_usb_claimed(struct fake_device *d)
{
	pthread_mutex_lock(&lock);
	bool c = d->claimed;
	pthread_mutex_unlock(&lock);
	return c;
}

const char *fake_usb_devnode(struct fake_device *d)
{
	return d->devnode;
}

void fake_usb_free(struct fake_usb *usb)
{
	if (!usb)
		return;
	for (size_t i = 0; i < usb->n_devices; i++) {
		struct fake_device *d = usb->devices[i];
		umockdev_testbed_detach_ioctl(usb->testbed, d->devnode, NULL);
		pthread_mutex_lock(&lock);
		for (size_t k = 0; k < d->n_pending; k++) {
			g_object_unref(d->pending[k].buf);
			g_object_unref(d->pending[k].urb);
		}
		for (size_t k = 0; k < d->n_done; k++) {
			g_object_unref(d->done[k].buf);
			g_object_unref(d->done[k].urb);
		}
		pthread_mutex_unlock(&lock);
		if (d->ctl >= 0)
			close(d->ctl);
		g_object_unref(d->handler);
		free(d);
	}
	memset(denied, 0, sizeof(denied));
	g_free(usb->root);
	g_object_unref(usb->testbed);
	free(usb);
}
