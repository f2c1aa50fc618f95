/* SPDX-License-Identifier: MIT */
/*
 * test_usb_driver.c: drivers/usb against the real libusb and emulated
 * scanners (fake_scanner.h, under umockdev), on the reference host loop:
 * enumerate and claim, reports become scans, unplug mid-scan and mid-
 * transfer, replug, shutdown with a transfer in flight, the diagnostics for
 * a node porter may not open, a busy interface and a scanner in serial
 * mode, reload, and an idle scanner's cost (no timer, no wakeup).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_scanner.h"
#include "host_loop.h"
#include "usb_scanner.h"

struct fixture {
	struct fake_usb *usb;
	struct host_loop *loop;
	const struct porter_host_services *services;
	struct usb_scanners_config config;
	struct usb_scanners *driver;
	char scans[8][256];
	char readers[8][64];
	size_t n_scans;
	char log[8192];
};

static void on_log(void *userdata, uint32_t level, const char *message)
{
	struct fixture *f = userdata;
	size_t used = strlen(f->log);
	snprintf(f->log + used, sizeof(f->log) - used, "%s\n", message);
	fprintf(stderr, "[%s] %s\n", host_loop_level_name(level), message);
}

static void on_scan(void *userdata, const char *reader_id, const uint8_t *data, size_t len)
{
	struct fixture *f = userdata;
	if (f->n_scans == 8)
		return;
	snprintf(f->scans[f->n_scans], sizeof(f->scans[0]), "%.*s", (int)len, (const char *)data);
	snprintf(f->readers[f->n_scans], sizeof(f->readers[0]), "%s", reader_id);
	f->n_scans++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->usb = fake_usb_new();
	if (!f->usb) {
		free(f);
		fprintf(stderr, "not under umockdev (LD_PRELOAD=libumockdev-preload.so.0)\n");
		return -1;
	}
	struct host_loop_callbacks cb = {.userdata = f, .log = on_log};
	f->loop = host_loop_new(&cb);
	f->services = host_loop_services(f->loop);
	f->config.enabled = true;
	f->config.rescan_interval_s = 5;
	f->config.n_devices = 1;
	struct usb_scanner_entry *e = &f->config.devices[0];
	snprintf(e->reader_id, sizeof(e->reader_id), "front-qr");
	e->vendor_id = USB_ID_ANY;
	e->product_id = USB_ID_ANY;
	e->interface_class = USB_CLASS_HID;
	/* Long: under valgrind a scan's reports may arrive slowly, and no test
	 * here waits for the timeout to end a scan. */
	e->decoder.char_timeout_us = 5000000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	f->driver = usb_scanners_stop(f->driver);
	host_loop_free(f->loop);
	fake_usb_free(f->usb);
	free(f);
	return 0;
}

static const struct fake_device_desc honeywell = {
        .vendor_id = 0x0C2E, .product_id = 0x0B61, .interface_class = 3};

/* Run the loop until `done` (checked after each dispatch) or 20 s: every
 * report is a few round trips to umockdev's thread, slow under valgrind. */
static bool run_until(struct fixture *f, bool (*done)(struct fixture *, void *), void *arg)
{
	uint64_t end = host_loop_now_us(f->loop) + 20000000;
	while (!done(f, arg) && host_loop_now_us(f->loop) < end)
		host_loop_run_once(f->loop, 1);
	return done(f, arg);
}

/* Whatever the loop has left to do now (a scanner let go is freed from a
 * zero-delay timer). */
static void settle(struct fixture *f)
{
	for (int i = 0; i < 20; i++)
		host_loop_run_once(f->loop, 1);
}

static bool attached(struct fixture *f, void *n)
{
	return usb_scanners_attached(f->driver) == (size_t)(uintptr_t)n;
}

static bool scans(struct fixture *f, void *n)
{
	return f->n_scans == (size_t)(uintptr_t)n;
}

static void start(struct fixture *f)
{
	assert_int_equal(usb_scanners_start(f->services, &f->config, on_scan, f, &f->driver), 0);
}

#define type fake_usb_type

struct found {
	const char *code;
	char message[1024], fix[1024];
	int n;
};

static void find_report(void *userdata, const struct porter_report *r)
{
	struct found *x = userdata;
	if (strcmp(r->code, x->code) != 0)
		return;
	x->n++;
	snprintf(x->message, sizeof(x->message), "%s", r->message);
	snprintf(x->fix, sizeof(x->fix), "%s", r->fix ? r->fix : "");
}

static struct found diagnostic(struct fixture *f, const char *code)
{
	struct found x = {.code = code};
	usb_scanners_diagnostics(f->driver, find_report, &x);
	return x;
}

static void test_a_plugged_scanner_is_claimed_and_its_scan_arrives(void **state)
{
	struct fixture *f = *state;
	struct fake_device *d = fake_usb_plug(f->usb, &honeywell);
	start(f);
	assert_true(run_until(f, attached, (void *)1));
	assert_true(fake_usb_claimed(d));
	assert_int_equal(fake_usb_urbs_in_flight(d), 1);
	type(d, "visitor42\n");
	assert_true(run_until(f, scans, (void *)1));
	assert_string_equal(f->scans[0], "visitor42");
	assert_string_equal(f->readers[0], "front-qr");
	assert_int_equal(diagnostic(f, DIAG_USB_MISSING).n, 0);
}

static void test_a_scanner_plugged_in_later_arrives_by_hotplug(void **state)
{
	struct fixture *f = *state;
	start(f);
	struct found missing = diagnostic(f, DIAG_USB_MISSING);
	assert_int_equal(missing.n, 1);
	assert_non_null(strstr(missing.message, "front-qr"));
	struct fake_device *d = fake_usb_plug(f->usb, &honeywell);
	assert_true(run_until(f, attached, (void *)1));
	assert_int_equal(diagnostic(f, DIAG_USB_MISSING).n, 0);
	type(d, "abc\n");
	assert_true(run_until(f, scans, (void *)1));
	assert_string_equal(f->scans[0], "abc");
}

static void test_unplugged_mid_scan_then_replugged_scans_resume(void **state)
{
	struct fixture *f = *state;
	struct fake_device *d = fake_usb_plug(f->usb, &honeywell);
	start(f);
	assert_true(run_until(f, attached, (void *)1));
	size_t timers = host_loop_n_timers(f->loop);
	type(d, "ab"); /* no Enter: a scan partly read */
	for (int i = 0; i < 50 && fake_usb_reports_queued(d); i++)
		host_loop_run_once(f->loop, 1);
	assert_int_equal(host_loop_n_timers(f->loop), timers + 1); /* the decoder's deadline */
	fake_usb_unplug(d);
	assert_true(run_until(f, attached, (void *)0));
	settle(f);
	/* The partial scan is dropped with the device, its timer too. */
	assert_int_equal(host_loop_n_timers(f->loop), timers);
	for (int i = 0; i < 200; i++)
		host_loop_run_once(f->loop, 1);
	assert_int_equal(f->n_scans, 0);
	struct fake_device *again = fake_usb_plug(f->usb, &honeywell);
	assert_true(run_until(f, attached, (void *)1));
	type(again, "xyz\n");
	assert_true(run_until(f, scans, (void *)1));
	assert_string_equal(f->scans[0], "xyz");
}

static void test_unplugged_with_a_transfer_in_flight_frees_the_device(void **state)
{
	struct fixture *f = *state;
	size_t watches = host_loop_n_watches(f->loop);
	struct fake_device *d = fake_usb_plug(f->usb, &honeywell);
	start(f);
	assert_true(run_until(f, attached, (void *)1));
	size_t with_device = host_loop_n_watches(f->loop);
	assert_int_equal(fake_usb_urbs_in_flight(d), 1);
	fake_usb_unplug(d);
	assert_true(run_until(f, attached, (void *)0));
	settle(f);
	/* The device's fd is no longer watched: libusb closed it. */
	assert_int_equal(host_loop_n_watches(f->loop), with_device - 1);
	f->driver = usb_scanners_stop(f->driver);
	assert_int_equal(host_loop_n_watches(f->loop), watches);
	assert_int_equal(host_loop_n_timers(f->loop), 0);
}

static void test_shutdown_with_a_transfer_in_flight_returns_and_nothing_runs_after(void **state)
{
	struct fixture *f = *state;
	struct fake_device *d = fake_usb_plug(f->usb, &honeywell);
	start(f);
	assert_true(run_until(f, attached, (void *)1));
	type(d, "ab");
	for (int i = 0; i < 50 && fake_usb_reports_queued(d); i++)
		host_loop_run_once(f->loop, 1);
	assert_int_equal(fake_usb_urbs_in_flight(d), 1);
	f->driver = usb_scanners_stop(f->driver);
	/* The URB was discarded and reaped, the interface released. */
	assert_int_equal(fake_usb_urbs_in_flight(d), 0);
	assert_false(fake_usb_claimed(d));
	assert_int_equal(host_loop_n_watches(f->loop), 0);
	assert_int_equal(host_loop_n_timers(f->loop), 0);
	type(d, "cd\n");
	for (int i = 0; i < 100; i++)
		assert_int_equal(host_loop_run_once(f->loop, 1), 0);
	assert_int_equal(f->n_scans, 0);
}

static void test_a_node_porter_may_not_open_says_which_udev_rule_and_group(void **state)
{
	struct fixture *f = *state;
	struct fake_device_desc desc = honeywell;
	desc.open_denied = true;
	fake_usb_plug(f->usb, &desc);
	start(f);
	struct found x = diagnostic(f, DIAG_USB_ACCESS);
	assert_int_equal(x.n, 1);
	assert_non_null(strstr(x.message, "permission denied"));
	assert_non_null(strstr(x.message, "/dev/bus/usb/001/005"));
	assert_non_null(strstr(x.fix, "examples/70-porter-scanner.rules"));
	assert_non_null(strstr(x.fix, "group \"porter\""));
	assert_non_null(strstr(f->log, DIAG_USB_ACCESS));
	/* The reader's missing scanner is this one: not said twice. */
	assert_int_equal(diagnostic(f, DIAG_USB_MISSING).n, 0);
}

static void test_an_interface_held_elsewhere_says_busy_and_how_to_find_who(void **state)
{
	struct fixture *f = *state;
	struct fake_device_desc desc = honeywell;
	desc.claim_errno = EBUSY;
	fake_usb_plug(f->usb, &desc);
	start(f);
	struct found x = diagnostic(f, DIAG_USB_BUSY);
	assert_int_equal(x.n, 1);
	assert_non_null(strstr(x.message, "another driver or program"));
	assert_non_null(strstr(x.fix, "fuser -v /dev/bus/usb/001/005"));
	assert_int_equal(usb_scanners_attached(f->driver), 0);
	assert_int_equal(host_loop_n_watches(f->loop), 2); /* libusb's own: the device closed */
}

static void test_a_scanner_in_serial_mode_says_to_scan_the_hid_programming_barcode(void **state)
{
	struct fixture *f = *state;
	/* Zebra in serial (CDC ACM) mode: product id 0x0600, no HID interface. */
	struct fake_device_desc desc = {
	        .vendor_id = 0x05E0, .product_id = 0x0600, .device_class = 2, .interface_class = 2};
	fake_usb_plug(f->usb, &desc);
	f->config.devices[0].product_id = 0x1200; /* the keyboard mode's */
	start(f);
	struct found x = diagnostic(f, DIAG_USB_SERIAL);
	assert_int_equal(x.n, 1);
	assert_non_null(strstr(x.message, "serial port emulation"));
	assert_non_null(strstr(x.fix, "\"USB HID keyboard\""));
	assert_non_null(strstr(x.fix, "\"HID POS\""));
	assert_non_null(strstr(x.fix, "product_id"));
	assert_int_equal(usb_scanners_attached(f->driver), 0);
}

static void test_a_reload_keeps_an_unchanged_scanner_and_moves_a_changed_one(void **state)
{
	struct fixture *f = *state;
	struct fake_device *d = fake_usb_plug(f->usb, &honeywell);
	start(f);
	assert_true(run_until(f, attached, (void *)1));
	type(d, "ab"); /* partly read: an unchanged line keeps it */
	for (int i = 0; i < 50 && fake_usb_reports_queued(d); i++)
		host_loop_run_once(f->loop, 1);
	f->config.rescan_interval_s = 7; /* not the scanner's line */
	usb_scanners_reload(f->driver, &f->config);
	type(d, "c\n");
	assert_true(run_until(f, scans, (void *)1));
	assert_string_equal(f->scans[0], "abc");
	snprintf(f->config.devices[0].reader_id, sizeof(f->config.devices[0].reader_id), "back");
	usb_scanners_reload(f->driver, &f->config);
	assert_true(run_until(f, attached, (void *)1));
	type(d, "de\n");
	assert_true(run_until(f, scans, (void *)2));
	assert_string_equal(f->scans[1], "de");
	assert_string_equal(f->readers[1], "back");
}

/* BENCHMARKS.md "USB scanner: idle cost": nobody scans for IDLE_MS. */
#define IDLE_MS 2000

static void test_an_idle_attached_scanner_arms_no_timer_and_wakes_nothing(void **state)
{
	struct fixture *f = *state;
	struct fake_device *d = fake_usb_plug(f->usb, &honeywell);
	start(f);
	assert_true(run_until(f, attached, (void *)1));
	type(d, "warm\n");
	assert_true(run_until(f, scans, (void *)1));
	settle(f); /* the last reap's EAGAIN */
	int dispatched = 0;
	uint64_t t0 = host_loop_now_us(f->loop);
	while (host_loop_now_us(f->loop) - t0 < IDLE_MS * 1000ull)
		dispatched += host_loop_run_once(f->loop, 100);
	size_t timers = host_loop_n_timers(f->loop);
	printf("idle %d ms, scanner attached: %zu porter timers armed, %d callbacks run\n", IDLE_MS,
	       timers, dispatched);
	assert_int_equal(timers, 0);
	assert_int_equal(dispatched, 0);
	assert_int_equal(fake_usb_urbs_in_flight(d), 1); /* still reading */
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                test_a_plugged_scanner_is_claimed_and_its_scan_arrives, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_a_scanner_plugged_in_later_arrives_by_hotplug,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unplugged_mid_scan_then_replugged_scans_resume,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_unplugged_with_a_transfer_in_flight_frees_the_device, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_shutdown_with_a_transfer_in_flight_returns_and_nothing_runs_after,
	                setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_node_porter_may_not_open_says_which_udev_rule_and_group, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_an_interface_held_elsewhere_says_busy_and_how_to_find_who, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_scanner_in_serial_mode_says_to_scan_the_hid_programming_barcode,
	                setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_reload_keeps_an_unchanged_scanner_and_moves_a_changed_one, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_an_idle_attached_scanner_arms_no_timer_and_wakes_nothing, setup,
	                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
