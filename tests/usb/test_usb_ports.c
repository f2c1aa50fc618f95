/* SPDX-License-Identifier: MIT */
/*
 * test_usb_ports.c: two identical scanners at two doors, told apart by the
 * USB port each is plugged into (config usb_scanners.devices[].port),
 * through porter.so (dlopen, the recording host) and the real libusb
 * against emulated scanners under umockdev, plugged in behind a hub at
 * "1-1.3" and "1-1.4" as sysfs names them. Each scan reaches its own
 * reader; the attach log names the port; PORTER-D012 names the port a
 * line waits for and a scanner at another port is not taken; a reload
 * that moves a line to another port lets the first scanner go and takes
 * the one there.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_scanner.h"
#include "recording_host.h"

#define QUINN_CODE "QV-7Q4K9ZX2" /* v-quinn's visitor code */

/* The same scanner model twice, in two ports of one hub. */
static const struct fake_device_desc at_front = {
        .vendor_id = 0x0C2E, .product_id = 0x0B61, .interface_class = 3, .port = "1-1.4"};
static const struct fake_device_desc at_garage = {
        .vendor_id = 0x0C2E, .product_id = 0x0B61, .interface_class = 3, .port = "1-1.3"};
static const struct fake_device_desc at_spare = {
        .vendor_id = 0x0C2E, .product_id = 0x0B61, .interface_class = 3, .port = "1-1.2"};

/* Readers front and garage-qr; `lines` the usb_scanners devices. A long
 * char_timeout_ms: under valgrind a report can come late. */
#define PORTS_CONFIG(lines)                                                           \
	",\"readers\":[{\"id\":\"front\"},{\"id\":\"garage-qr\"}],\"usb_scanners\":{" \
	"\"enabled\":true,\"devices\":[" lines "]},\"repeat_window_ms\":0"
#define FRONT_AT(port) "{\"reader_id\":\"front\",\"port\":\"" port "\",\"char_timeout_ms\":5000}"
#define GARAGE_AT(port) \
	"{\"reader_id\":\"garage-qr\",\"port\":\"" port "\",\"char_timeout_ms\":5000}"

static struct fake_usb *usb;
static const char *secrets[] = {QUINN_CODE, NULL};

static int add_quinn(const char *admin, const char *dir)
{
	char from[32], until[32], cmd[4096];
	int64_t now = (int64_t)time(NULL);
	fx_timestamp(now - 3600, from);
	fx_timestamp(now + 8 * 3600, until);
	snprintf(cmd, sizeof(cmd),
	         "printf '%%s\\n' %s > %s/quinn.code && printf '551177\\n' | %s add "
	         "--directory %s/directory.json --key %s/pin.key --id v-quinn --kind visitor "
	         "--name 'Quinn Visitor' --valid-from %s --valid-until %s --qr-code-file "
	         "%s/quinn.code >/dev/null && rm %s/quinn.code",
	         QUINN_CODE, dir, admin, dir, dir, from, until, dir, dir);
	return system(cmd);
}

static int setup(void **state)
{
	usb = fake_usb_new(); /* before porter's libusb reads the testbed */
	if (!usb) {
		fprintf(stderr, "not under umockdev (LD_PRELOAD=libumockdev-preload.so.0)\n");
		return -1;
	}
	return site_open(state, &(struct site_options){.people = FX_CAST,
	                                               .add_people = add_quinn,
	                                               .more_pins = secrets,
	                                               .echo_level = PORTER_LOG_WARNING});
}

static int teardown(void **state)
{
	site_close(state);
	fake_usb_free(usb);
	usb = NULL;
	return 0;
}

/* The scanner reads `text` and sends Enter; what the host was told (at
 * most 30 s: the emulated scanner under valgrind is slow). */
static const struct seen_feedback *scan(struct site *s, struct fake_device *d, const char *text)
{
	size_t n = s->n_feedback;
	fake_usb_type(d, text);
	fake_usb_type(d, "\n");
	uint64_t end = host_loop_now_us(s->loop) + 30000000u;
	while (s->n_feedback < n + 1 && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	run_for(s, 20); /* nothing more follows */
	assert_int_equal(s->n_feedback, n + 1);
	return &s->feedback[n];
}

static bool both_attached(struct site *s)
{
	for (int i = 0; i < 150; i++) {
		if (logged(s, PORTER_LOG_INFO, "at port 1-1.4 (on bus 1 device") >= 0 &&
		    logged(s, PORTER_LOG_INFO, "at port 1-1.3 (on bus 1 device") >= 0)
			return true;
		run_for(s, 20);
	}
	return false;
}

static void test_two_identical_scanners_each_feed_the_reader_of_their_port(void **state)
{
	struct site *s = *state;
	struct fake_device *garage = fake_usb_plug(usb, &at_garage);
	struct fake_device *front = fake_usb_plug(usb, &at_front);
	assert_non_null(garage);
	assert_non_null(front);
	/* The garage's line first: listed either way round, a port decides. */
	start(s, PORTS_CONFIG(GARAGE_AT("1-1.3") "," FRONT_AT("1-1.4")));
	assert_true(both_attached(s));
	int i = logged(s, PORTER_LOG_INFO, "at port 1-1.4 (on bus 1 device");
	assert_non_null(strstr(s->logs[i].text, "attached"));
	assert_non_null(strstr(s->logs[i].text, "reader front"));
	assert_true(fake_usb_claimed(front));
	assert_true(fake_usb_claimed(garage));

	const struct seen_feedback *f = scan(s, garage, QUINN_CODE);
	assert_string_equal(f->reader, "garage-qr");
	assert_string_equal(f->code, "checked_in");
	assert_int_equal(s->n_doors, 1);
	assert_string_equal(s->doors[0].reader, "garage-qr");

	f = scan(s, front, "visitor42");
	assert_string_equal(f->reader, "front");
	assert_string_equal(f->code, "qr_unknown");
	assert_int_equal(s->n_doors, 1);

	f = scan(s, front, QUINN_CODE);
	assert_string_equal(f->reader, "front");
	assert_string_equal(f->code, "checked_out");
	assert_int_equal(s->n_doors, 2);
	assert_string_equal(s->doors[1].reader, "front");
	stop(s);
}

static void test_a_line_waits_for_its_port_and_diagnostics_name_it(void **state)
{
	struct site *s = *state;
	start(s, PORTS_CONFIG(FRONT_AT("1-1.4")));
	run_for(s, 50);
	s->n_reports = 0;
	api->diagnostics(s->porter, rec_report, s);
	const struct seen_report *r = find_report(s, "PORTER-D012");
	assert_non_null(r);
	assert_string_equal(r->path, "$.usb_scanners.devices[0]");
	assert_non_null(strstr(r->message, "reader front"));
	assert_non_null(strstr(r->message, "at USB port 1-1.4"));
	assert_non_null(strstr(r->fix, "port 1-1.4"));

	/* The same model in another port is not this line's scanner. */
	struct fake_device *spare = fake_usb_plug(usb, &at_spare);
	run_for(s, 300);
	assert_false(fake_usb_claimed(spare));
	assert_true(logged(s, PORTER_LOG_INFO, "attached") < 0);
	/* The log says where it is, so a wrong port is put right from there. */
	int i = logged(s, PORTER_LOG_NOTICE, "at port 1-1.2 (on bus 1 device");
	assert_true(i >= 0);
	assert_non_null(strstr(s->logs[i].text, "is not read"));
	assert_non_null(strstr(s->logs[i].text, "usb_scanners.devices[0] (reader front)"));
	assert_non_null(strstr(s->logs[i].text, "but port 1-1.4"));
	assert_non_null(strstr(s->logs[i].text, "set the line's port to \"1-1.2\""));
	run_for(s, 100);
	size_t told = 0;
	for (size_t k = 0; k < s->n_logs; k++)
		told += strstr(s->logs[k].text, "at port 1-1.2") != NULL;
	assert_int_equal(told, 1); /* once */
	s->n_reports = 0;
	api->diagnostics(s->porter, rec_report, s);
	assert_non_null(find_report(s, "PORTER-D012"));

	struct fake_device *front = fake_usb_plug(usb, &at_front);
	assert_true(wait_log(s, PORTER_LOG_INFO, "at port 1-1.4 (on bus 1 device", 3000));
	assert_true(fake_usb_claimed(front));
	assert_false(fake_usb_claimed(spare));
	s->n_reports = 0;
	api->diagnostics(s->porter, rec_report, s);
	assert_null(find_report(s, "PORTER-D012"));
	stop(s);
}

static void test_a_reload_moving_a_line_to_another_port_takes_the_scanner_there(void **state)
{
	struct site *s = *state;
	struct fake_device *garage = fake_usb_plug(usb, &at_garage);
	struct fake_device *front = fake_usb_plug(usb, &at_front);
	start(s, PORTS_CONFIG(GARAGE_AT("1-1.3")));
	assert_true(wait_log(s, PORTER_LOG_INFO, "at port 1-1.3 (on bus 1 device", 3000));
	assert_true(fake_usb_claimed(garage));
	assert_false(fake_usb_claimed(front));

	char *moved = fx_config(s->dir, PORTS_CONFIG(GARAGE_AT("1-1.4")));
	assert_int_equal(api->reload(s->porter, moved, strlen(moved), NULL, NULL), 0);
	free(moved);
	assert_true(wait_log(s, PORTER_LOG_INFO, "at port 1-1.4 (on bus 1 device", 3000));
	run_for(s, 50);
	assert_false(fake_usb_claimed(garage));
	assert_true(fake_usb_claimed(front));
	const struct seen_feedback *f = scan(s, front, "visitor42");
	assert_string_equal(f->reader, "garage-qr");
	stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                test_two_identical_scanners_each_feed_the_reader_of_their_port, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_line_waits_for_its_port_and_diagnostics_name_it, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_reload_moving_a_line_to_another_port_takes_the_scanner_there, setup,
	                teardown),
	};
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
