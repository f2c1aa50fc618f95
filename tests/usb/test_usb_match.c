/* SPDX-License-Identifier: MIT */
/*
 * test_usb_match.c: the driver's match list and USB-mode checks, and the
 * udev rule in examples/ that must grant access to exactly the scanner
 * makers porter matches by default.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "usb_scanner_match.h"

static void test_the_udev_rule_grants_every_default_maker_and_no_other(void **state)
{
	char path[1024], line[512];
	snprintf(path, sizeof(path), "%s/examples/70-porter-scanner.rules",
	         getenv("PORTER_SOURCE_DIR"));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	unsigned vendors = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *v = strstr(line, "ATTR{idVendor}==\"");
		if (line[0] == '#' || !v)
			continue;
		unsigned id = (unsigned)strtoul(v + 17, NULL, 16);
		assert_true(usb_scanner_default_vendor((uint16_t)id));
		assert_non_null(strstr(line, "GROUP=\"porter\""));
		assert_non_null(strstr(line, "MODE=\"0660\""));
		vendors++;
	}
	fclose(f);
	unsigned defaults = 0;
	for (unsigned id = 0; id <= 0xFFFF; id++)
		defaults += usb_scanner_default_vendor((uint16_t)id);
	assert_int_equal(vendors, defaults);
	assert_false(usb_scanner_default_vendor(0x1A86)); /* a USB bridge chip, not a maker */
}

static void test_a_line_without_ids_matches_the_default_makers_only(void **state)
{
	struct usb_scanners_config c = {.n_devices = 2};
	c.devices[0] = (struct usb_scanner_entry){.vendor_id = 0x05E0, .product_id = 0x1200};
	c.devices[1] =
	        (struct usb_scanner_entry){.vendor_id = USB_ID_ANY, .product_id = USB_ID_ANY};
	assert_int_equal(usb_scanner_match_ids(&c, 0x05E0, 0x1200, NULL), 0);
	assert_int_equal(usb_scanner_match_ids(&c, 0x05E0, 0x0600, NULL), 1);
	assert_int_equal(usb_scanner_match_ids(&c, 0x0C2E, 0x0B61, NULL), 1);
	assert_int_equal(usb_scanner_match_ids(&c, 0x046D, 0xC31C, NULL), -1); /* a keyboard */
	assert_int_equal(usb_scanner_match_vendor(&c, 0x05E0, NULL), 0);
}

static void test_a_serial_port_is_serial_mode_unless_it_also_has_hid(void **state)
{
	struct libusb_interface_descriptor cdc = {.bInterfaceClass = 0x02};
	struct libusb_interface_descriptor data = {.bInterfaceClass = 0x0A};
	struct libusb_interface_descriptor hid = {.bInterfaceClass = 3};
	struct libusb_interface itf[2] = {{.altsetting = &cdc, .num_altsetting = 1},
	                                  {.altsetting = &data, .num_altsetting = 1}};
	struct libusb_config_descriptor cfg = {.bNumInterfaces = 2, .interface = itf};
	struct libusb_device_descriptor dev = {.bDeviceClass = 0};
	assert_true(usb_scanner_serial_mode(&dev, &cfg));
	itf[1].altsetting = &hid;
	assert_false(usb_scanner_serial_mode(&dev, &cfg));
}

static void test_the_interrupt_in_endpoint_of_the_hid_interface_is_read(void **state)
{
	struct libusb_endpoint_descriptor eps[2] = {
	        {.bEndpointAddress = 0x02, .bmAttributes = 3, .wMaxPacketSize = 8},
	        {.bEndpointAddress = 0x83, .bmAttributes = 3, .wMaxPacketSize = 64}};
	struct libusb_interface_descriptor hid = {
	        .bInterfaceNumber = 1, .bInterfaceClass = 3, .bNumEndpoints = 2, .endpoint = eps};
	struct libusb_interface itf = {.altsetting = &hid, .num_altsetting = 1};
	struct libusb_config_descriptor cfg = {.bNumInterfaces = 1, .interface = &itf};
	struct usb_scanner_iface found;
	assert_int_equal(usb_scanner_find_interface(&cfg, 3, &found), 0);
	assert_int_equal(found.number, 1);
	assert_int_equal(found.endpoint, 0x83);
	assert_int_equal(found.max_packet, 64);
	assert_int_equal(usb_scanner_find_interface(&cfg, 2, &found), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_the_udev_rule_grants_every_default_maker_and_no_other),
	        cmocka_unit_test(test_a_line_without_ids_matches_the_default_makers_only),
	        cmocka_unit_test(test_a_serial_port_is_serial_mode_unless_it_also_has_hid),
	        cmocka_unit_test(test_the_interrupt_in_endpoint_of_the_hid_interface_is_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
