/* SPDX-License-Identifier: MIT */
/*
 * test_usb_port.c: USB port paths as an admin copies them from `lsusb -t`
 * or porter's log ("1-1.4"): parsed, refused with what is wrong, written
 * back the same; and a match line with a port takes only a device there,
 * lines tried in order, and a reload sees a changed port.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "usb_port.h"
#include "usb_scanner_match.h"

static struct usb_port parse_ok(const char *text)
{
	struct usb_port p;
	const char *why = "not set";
	assert_int_equal(usb_port_parse(text, &p, &why), 0);
	return p;
}

/* The reason `text` is refused. */
static const char *refused(const char *text)
{
	struct usb_port p = {.bus = 99};
	const char *why = NULL;
	assert_int_equal(usb_port_parse(text, &p, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(p.bus, 99); /* untouched */
	return why;
}

static void test_a_port_behind_a_hub_is_its_bus_and_each_port_on_the_way(void **state)
{
	struct usb_port p = parse_ok("1-1.4");
	assert_int_equal(p.bus, 1);
	assert_int_equal(p.depth, 2);
	assert_int_equal(p.ports[0], 1);
	assert_int_equal(p.ports[1], 4);

	p = parse_ok("3-2");
	assert_int_equal(p.bus, 3);
	assert_int_equal(p.depth, 1);
	assert_int_equal(p.ports[0], 2);

	p = parse_ok("255-255.1.2.3.4.5.6"); /* the largest numbers, 7 deep */
	assert_int_equal(p.bus, 255);
	assert_int_equal(p.depth, 7);
	assert_int_equal(p.ports[6], 6);
}

static void test_a_port_is_written_back_as_linux_writes_it(void **state)
{
	const char *paths[] = {"1-1.4", "3-2", "2-10.3.12", "255-255.255.255.255.255.255.255"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char text[USB_PORT_TEXT_MAX + 1];
		struct usb_port p = parse_ok(paths[i]);
		usb_port_format(&p, text, sizeof(text));
		assert_string_equal(text, paths[i]);
	}
	char text[8] = "x";
	usb_port_format(&(struct usb_port){0}, text, sizeof(text));
	assert_string_equal(text, ""); /* no port given */
}

static void test_a_malformed_port_is_refused_saying_what_is_wrong(void **state)
{
	assert_non_null(strstr(refused(""), "empty"));
	assert_non_null(strstr(refused("1"), "not followed by '-'"));
	assert_non_null(strstr(refused("1-"), "ends where a number belongs"));
	assert_non_null(strstr(refused("1-1."), "ends where a number belongs"));
	assert_non_null(strstr(refused("1-1..4"), "number is missing"));
	assert_non_null(strstr(refused("-1"), "number is missing"));
	assert_non_null(strstr(refused("1-a"), "number is missing"));
	assert_non_null(strstr(refused(" 1-1"), "number is missing"));
	assert_non_null(strstr(refused("1-1-4"), "other than '.'"));
	assert_non_null(strstr(refused("1-1.4 "), "other than '.'"));
	assert_non_null(strstr(refused("0-1"), "bus number must be 1 to 255"));
	assert_non_null(strstr(refused("256-1"), "bus number must be 1 to 255"));
	assert_non_null(strstr(refused("1-0"), "port number must be 1 to 255"));
	assert_non_null(strstr(refused("1-1.256"), "port number must be 1 to 255"));
	assert_non_null(strstr(refused("1-1.99999999999"), "port number must be 1 to 255"));
	assert_non_null(strstr(refused("1-04"), "leading zero"));
	assert_non_null(strstr(refused("usb1"), "root hub"));
	assert_non_null(strstr(refused("1-1.4:1.0"), "interface"));
	assert_non_null(strstr(refused("1-1.2.3.4.5.6.7.1"), "more than 7"));
	assert_non_null(strstr(refused("1-1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1"), "longer"));
}

static const struct usb_port front = {.bus = 1, .depth = 2, .ports = {1, 4}};
static const struct usb_port garage = {.bus = 1, .depth = 2, .ports = {1, 3}};

/* Two identical scanners (same ids): each line names its port. */
static void test_a_line_with_a_port_takes_only_the_scanner_at_that_port(void **state)
{
	struct usb_scanners_config c = {.n_devices = 2};
	c.devices[0] = (struct usb_scanner_entry){
	        .vendor_id = 0x0C2E, .product_id = 0x0B61, .port = front};
	c.devices[1] = (struct usb_scanner_entry){
	        .vendor_id = 0x0C2E, .product_id = 0x0B61, .port = garage};
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &front), 0);
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &garage), 1);
	/* Another port, a port one hub deeper, another bus: no line. */
	const struct usb_port other = {.bus = 1, .depth = 2, .ports = {1, 2}},
	                      deeper = {.bus = 1, .depth = 3, .ports = {1, 4, 1}},
	                      bus2 = {.bus = 2, .depth = 2, .ports = {1, 4}};
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &other), -1);
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &deeper), -1);
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &bus2), -1);
	/* A device whose port libusb does not know matches no port line. */
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, NULL), -1);
	/* The serial-mode check (any product of the vendor) keeps to the port. */
	assert_int_equal(usb_scanner_match_vendor(&c, 0x0C2E, &garage), 1);
	assert_int_equal(usb_scanner_match_vendor(&c, 0x0C2E, &other), -1);
}

static void test_lines_are_tried_in_order_so_the_first_that_matches_wins(void **state)
{
	struct usb_scanners_config c = {.n_devices = 2};
	c.devices[0] = (struct usb_scanner_entry){
	        .vendor_id = USB_ID_ANY, .product_id = USB_ID_ANY, .port = front};
	c.devices[1] =
	        (struct usb_scanner_entry){.vendor_id = USB_ID_ANY, .product_id = USB_ID_ANY};
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &front), 0);
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &garage), 1);
	/* A line without a port first takes every scanner, the port line none. */
	c.devices[0].port = (struct usb_port){0};
	c.devices[1].port = front;
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, &front), 0);
}

static void test_a_line_whose_port_changed_is_another_line_on_reload(void **state)
{
	struct usb_scanner_entry a = {.vendor_id = 0x0C2E, .product_id = 0x0B61, .port = front};
	struct usb_scanner_entry b = a;
	assert_true(usb_scanner_entry_equal(&a, &b));
	b.port = garage;
	assert_false(usb_scanner_entry_equal(&a, &b));
	b.port = (struct usb_port){0};
	assert_false(usb_scanner_entry_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_a_port_behind_a_hub_is_its_bus_and_each_port_on_the_way),
	        cmocka_unit_test(test_a_port_is_written_back_as_linux_writes_it),
	        cmocka_unit_test(test_a_malformed_port_is_refused_saying_what_is_wrong),
	        cmocka_unit_test(test_a_line_with_a_port_takes_only_the_scanner_at_that_port),
	        cmocka_unit_test(test_lines_are_tried_in_order_so_the_first_that_matches_wins),
	        cmocka_unit_test(test_a_line_whose_port_changed_is_another_line_on_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
