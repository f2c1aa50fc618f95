/* SPDX-License-Identifier: MIT */
/*
 * test_config_usb.c: config "usb_scanners" (porter's own USB scanner
 * driver) as an admin writes it: off by default, a match line's defaults,
 * every setting read, a reader id that is not a configured reader refused
 * with its path, and a line's USB port read or refused saying what is wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define LOCAL                                                         \
	"\"local\": {\"directory\": \"/etc/porter/directory.json\", " \
	"\"database\": \"/var/lib/porter/porter.db\", "               \
	"\"pin_key_file\": \"/etc/porter/pin.key\"}, "                \
	"\"readers\": [{\"id\": \"front\"}, {\"id\": \"garage-qr\"}]"

struct seen {
	char code[48];
	char path[160];
	char message[1024];
};

static struct {
	size_t n;
	struct seen items[32];
} reports;

static void collect(void *userdata, const struct porter_report *r)
{
	if (reports.n == sizeof(reports.items) / sizeof(reports.items[0]))
		return;
	struct seen *s = &reports.items[reports.n++];
	snprintf(s->code, sizeof(s->code), "%s", r->code ? r->code : "");
	snprintf(s->path, sizeof(s->path), "%s", r->path ? r->path : "");
	snprintf(s->message, sizeof(s->message), "%s", r->message ? r->message : "");
}

static struct config config;

/* LOCAL plus `usb` as the value of "usb_scanners" (NULL: left out). */
static int parse(const char *usb)
{
	char text[8192];
	if (usb)
		snprintf(text, sizeof(text), "{" LOCAL ", \"usb_scanners\": %s}", usb);
	else
		snprintf(text, sizeof(text), "{" LOCAL "}");
	reports.n = 0;
	return config_parse(text, strlen(text), &config, collect, NULL);
}

static void test_usb_scanners_are_off_when_left_out(void **state)
{
	assert_int_equal(parse(NULL), 0);
	assert_false(config.usb_scanners.enabled);
	assert_int_equal(config.usb_scanners.n_devices, 0);
	assert_int_equal(config.usb_scanners.rescan_interval_s, 5);
}

static void test_a_match_line_takes_the_defaults_for_what_it_leaves_out(void **state)
{
	assert_int_equal(parse("{\"enabled\": true, \"devices\": [{\"reader_id\": \"front\"}]}"),
	                 0);
	assert_true(config.usb_scanners.enabled);
	assert_int_equal(config.usb_scanners.n_devices, 1);
	const struct usb_scanner_entry *e = &config.usb_scanners.devices[0];
	assert_string_equal(e->reader_id, "front");
	assert_int_equal(e->vendor_id, USB_ID_ANY); /* the scanner makers porter knows */
	assert_int_equal(e->product_id, USB_ID_ANY);
	assert_int_equal(e->interface_class, 3); /* HID */
	assert_int_equal(e->decoder.protocol, SCAN_PROTOCOL_KEYBOARD);
	assert_int_equal(e->decoder.layout, SCAN_LAYOUT_US);
	assert_false(e->decoder.report_id);
	assert_int_equal(e->decoder.terminators, SCAN_END_ENTER | SCAN_END_TAB);
	assert_int_equal(e->decoder.char_timeout_us, 100000);
}

static void test_every_setting_of_a_match_line_is_read(void **state)
{
	assert_int_equal(parse("{\"enabled\": true, \"rescan_interval_s\": 30, \"devices\": ["
	                       "{\"reader_id\": \"front\"},"
	                       "{\"reader_id\": \"garage-qr\", \"vendor_id\": 3118, "
	                       "\"product_id\": 2913, \"interface_class\": 3, \"protocol\": "
	                       "\"hid_pos\", \"layout\": \"de\", \"report_id\": true, "
	                       "\"terminator\": \"tab\", \"char_timeout_ms\": 250}]}"),
	                 0);
	assert_int_equal(config.usb_scanners.rescan_interval_s, 30);
	assert_int_equal(config.usb_scanners.n_devices, 2);
	const struct usb_scanner_entry *e = &config.usb_scanners.devices[1];
	assert_string_equal(e->reader_id, "garage-qr");
	assert_int_equal(e->vendor_id, 0x0C2E);
	assert_int_equal(e->product_id, 0x0B61);
	assert_int_equal(e->decoder.protocol, SCAN_PROTOCOL_HID_POS);
	assert_int_equal(e->decoder.layout, SCAN_LAYOUT_DE);
	assert_true(e->decoder.report_id);
	assert_int_equal(e->decoder.terminators, SCAN_END_TAB);
	assert_int_equal(e->decoder.char_timeout_us, 250000);
}

static void test_a_scanner_for_a_reader_not_configured_is_refused_with_its_path(void **state)
{
	assert_int_equal(parse("{\"enabled\": true, \"devices\": [{\"reader_id\": \"front\"}, "
	                       "{\"reader_id\": \"frnt\"}]}"),
	                 -EINVAL);
	assert_int_equal(reports.n, 1);
	assert_string_equal(reports.items[0].code, "PORTER-CFG-USB-READER");
	assert_string_equal(reports.items[0].path, "$.usb_scanners.devices[1].reader_id");
	assert_non_null(strstr(reports.items[0].message, "frnt"));
}

static void test_a_vendor_id_beyond_16_bits_is_refused(void **state)
{
	assert_int_equal(parse("{\"devices\": [{\"reader_id\": \"front\", \"vendor_id\": 65536}]}"),
	                 -EINVAL);
	assert_string_equal(reports.items[0].path, "$.usb_scanners.devices[0].vendor_id");
}

/* A line's "port" ("1-1.4", as `lsusb -t` shows it): read, left out means
 * any port, and a path Linux would not write refused saying what is wrong. */
static void test_a_lines_port_is_read_and_left_out_means_any_port(void **state)
{
	assert_int_equal(parse("{\"enabled\": true, \"devices\": ["
	                       "{\"reader_id\": \"front\", \"port\": \"1-1.4\"},"
	                       "{\"reader_id\": \"garage-qr\", \"port\": null},"
	                       "{\"reader_id\": \"garage-qr\"}]}"),
	                 0);
	const struct usb_scanner_entry *e = config.usb_scanners.devices;
	assert_int_equal(e[0].port.bus, 1);
	assert_int_equal(e[0].port.depth, 2);
	assert_int_equal(e[0].port.ports[0], 1);
	assert_int_equal(e[0].port.ports[1], 4);
	assert_int_equal(e[1].port.bus, 0);
	assert_int_equal(e[2].port.bus, 0);
}

/* `port` refused at devices[1] with `what` in the message. */
static void assert_port_refused(const char *port, const char *what)
{
	char usb[512];
	snprintf(usb, sizeof(usb),
	         "{\"enabled\": true, \"devices\": [{\"reader_id\": \"front\", \"port\": "
	         "\"1-1.4\"}, {\"reader_id\": \"garage-qr\", \"port\": %s}]}",
	         port);
	assert_int_equal(parse(usb), -EINVAL);
	assert_int_equal(reports.n, 1);
	assert_string_equal(reports.items[0].path, "$.usb_scanners.devices[1].port");
	if (!strstr(reports.items[0].message, what))
		fail_msg("%s: \"%s\" not in \"%s\"", port, what, reports.items[0].message);
}

static void test_a_port_linux_would_not_write_is_refused_saying_what_is_wrong(void **state)
{
	assert_port_refused("\"1-1.\"", "\"1-1.\" is not a USB port path: it ends where a number");
	assert_port_refused("\"1.4\"", "not followed by '-'");
	assert_port_refused("\"1-0\"", "port number must be 1 to 255");
	assert_port_refused("\"0-1\"", "bus number must be 1 to 255");
	assert_port_refused("\"1-1.300\"", "port number must be 1 to 255");
	assert_port_refused("\"1-1.4:1.0\"", "interface");
	assert_port_refused("\"usb1\"", "root hub");
	assert_port_refused("\"1-1.2.3.4.5.6.7.1\"", "more than 7");
	assert_string_equal(reports.items[0].code, "PORTER-CFG-USB-PORT");
	/* Empty or longer than any path: the schema says so, once. */
	assert_port_refused("\"\"", "1 to 31 characters");
	assert_port_refused("\"1-1.2.3.4.5.6.7.1.2.3.4.5.6.7.1.2.3.4.5\"", "1 to 31 characters");
	assert_port_refused("14", ""); /* a number: it is a path, in quotes */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_usb_scanners_are_off_when_left_out),
	        cmocka_unit_test(test_a_match_line_takes_the_defaults_for_what_it_leaves_out),
	        cmocka_unit_test(test_every_setting_of_a_match_line_is_read),
	        cmocka_unit_test(
	                test_a_scanner_for_a_reader_not_configured_is_refused_with_its_path),
	        cmocka_unit_test(test_a_vendor_id_beyond_16_bits_is_refused),
	        cmocka_unit_test(test_a_lines_port_is_read_and_left_out_means_any_port),
	        cmocka_unit_test(test_a_port_linux_would_not_write_is_refused_saying_what_is_wrong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
