/* SPDX-License-Identifier: MIT */
/*
 * test_usb_porter.c: porter.so loaded by a host (dlopen, the recording
 * host) with config usb_scanners on, an emulated scanner under umockdev:
 * the driver attaches, diagnostics say when no scanner is there, reload
 * stops and restarts the driver, and shutdown leaves no watch or timer
 * (stop() checks the host contract). End to end: a visitor scans a visitor
 * code or a signed visitor pass at porter's own scanner and is let in and
 * checked in, and out again; a forged pass is refused; a scanner unplugged
 * mid-scan and plugged in again checks the visitor in; a HID POS scanner
 * does the same. A driver's scan has no host request: the host never sees
 * complete(). The code and the passes are the site's secrets: the
 * recording host fails a test that shows or logs one.
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

#define USB_ON                                                                      \
	",\"readers\":[{\"id\":\"garage-qr\"}],\"usb_scanners\":{\"enabled\":true," \
	"\"devices\":[{\"reader_id\":\"garage-qr\"}]}"

static const struct fake_device_desc honeywell = {
        .vendor_id = 0x0C2E, .product_id = 0x0B61, .interface_class = 3};
/* The same maker's scanner set to HID POS mode. */
static const struct fake_device_desc honeywell_pos = {
        .vendor_id = 0x0C2E, .product_id = 0x0B6A, .interface_class = 3, .hid_pos = true};

#define QUINN_CODE "QV-7Q4K9ZX2" /* v-quinn's visitor code */

static struct fake_usb *usb;
/* Passes issued in a test, and the secrets the host looks for in every log
 * line and display (NULL-terminated; a pass is added as it is issued). */
static char issued[4][600];
static const char *secrets[8] = {QUINN_CODE, NULL};
static size_t n_issued;

/* v-quinn, a visitor from an hour ago to 8 h ahead with a visitor code (as
 * the registration e-mail gives it), and the site's visitor pass keys
 * (pass.key/pass.pub) and another admin's (other.*), all by porter-admin. */
static int add_quinn_and_keys(const char *admin, const char *dir)
{
	int r = fx_add_visitor_with_code(admin, dir, "v-quinn", "Quinn Visitor", "551177",
	                                 QUINN_CODE);
	if (r == 0)
		r = fx_pass_keygen(admin, dir, "pass");
	if (r == 0)
		r = fx_pass_keygen(admin, dir, "other");
	return r;
}

static int setup(void **state)
{
	/* Before porter's libusb starts: it reads the testbed's sysfs. */
	usb = fake_usb_new();
	if (!usb) {
		fprintf(stderr, "not under umockdev (LD_PRELOAD=libumockdev-preload.so.0)\n");
		return -1;
	}
	n_issued = 0;
	secrets[1] = NULL;
	return site_open(state, &(struct site_options){.people = FX_CAST,
	                                               .add_people = add_quinn_and_keys,
	                                               .more_pins = secrets,
	                                               .echo_level = PORTER_LOG_WARNING});
}

/* `porter-admin pass issue` with `key`, valid from a minute ago for an
 * hour, newline cut; the payload is added to the secrets. */
static const char *issue(struct site *s, const char *key, const char *visitor)
{
	char cmd[8192], t0[32], t1[32];
	int64_t now = (int64_t)time(NULL);
	fx_timestamp(now - 60, t0);
	fx_timestamp(now + 3600, t1);
	snprintf(cmd, sizeof(cmd),
	         "%s pass issue --key %s/%s.key --visitor %s --valid-from %s --valid-until %s",
	         fx_env("PORTER_ADMIN"), s->dir, key, visitor, t0, t1);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_true(n_issued < 4);
	char *out = issued[n_issued++];
	assert_non_null(fgets(out, sizeof(issued[0]), p));
	assert_int_equal(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
	secrets[n_issued] = out;
	secrets[n_issued + 1] = NULL;
	return out;
}

static int teardown(void **state)
{
	site_close(state);
	fake_usb_free(usb);
	usb = NULL;
	return 0;
}

/* Run the loop until the host saw `n` feedbacks (a driver's scan has no
 * request to wait for), at most 30 s: the emulated scanner under valgrind
 * is slow. Fails the test otherwise. */
static void await_feedback(struct site *s, size_t n)
{
	uint64_t end = host_loop_now_us(s->loop) + 30000000u;
	while (s->n_feedback < n && host_loop_now_us(s->loop) < end)
		host_loop_run_once(s->loop, 20);
	assert_int_equal(s->n_feedback, n);
}

/* The scanner reads `text` and sends Enter; what the host was told. */
static const struct seen_feedback *scan(struct site *s, struct fake_device *d, const char *text)
{
	size_t n = s->n_feedback;
	fake_usb_type(d, text);
	fake_usb_type(d, "\n");
	await_feedback(s, n + 1);
	run_for(s, 20); /* nothing more follows */
	assert_int_equal(s->n_feedback, n + 1);
	return &s->feedback[n];
}

/* usb_scanners on for reader garage-qr, the site's visitor pass key, and a
 * double-scan window of 3 s (a slow valgrind run still beeps twice inside it); `device` more
 * members of the devices line. */
static void start_visitors(struct site *s, const char *device)
{
	char extra[8192];
	snprintf(extra, sizeof(extra),
	         ",\"readers\":[{\"id\":\"garage-qr\"}],\"usb_scanners\":{\"enabled\":true,"
	         "\"devices\":[{\"reader_id\":\"garage-qr\"%s}]},\"visitor_pass\":{"
	         "\"public_keys\":[\"%s/pass.pub\"]},\"qr\":{\"repeat_ms\":3000},"
	         "\"repeat_window_ms\":0",
	         device, s->dir);
	start(s, extra);
}

static void test_a_code_nobody_has_is_refused_at_the_scanner_and_never_logged(void **state)
{
	struct site *s = *state;
	struct fake_device *d = fake_usb_plug(usb, &honeywell);
	/* Under valgrind on a loaded machine a report can come later than the
	 * default 100 ms a character, which would cut the scan in two. */
	start(s, ",\"readers\":[{\"id\":\"garage-qr\"}],\"usb_scanners\":{\"enabled\":true,"
	         "\"devices\":[{\"reader_id\":\"garage-qr\",\"char_timeout_ms\":5000}]}");
	assert_true(wait_log(s, PORTER_LOG_INFO, "reader garage-qr", 3000));
	assert_true(fake_usb_claimed(d));
	const struct seen_feedback *f = scan(s, d, "visitor42");

	assert_int_equal(fake_usb_reports_queued(d), 0); /* every report read */
	assert_string_equal(f->code, "qr_unknown");
	assert_string_equal(f->reader, "garage-qr");
	assert_int_equal(s->n_doors, 0);
	for (uint32_t level = 0; level <= PORTER_LOG_DEBUG; level++)
		assert_true(logged(s, level, "visitor42") < 0);
	stop(s);
	assert_false(fake_usb_claimed(d)); /* released at shutdown */
}

static void test_a_visitor_code_at_porters_scanner_checks_in_then_out(void **state)
{
	struct site *s = *state;
	struct fake_device *d = fake_usb_plug(usb, &honeywell);
	start_visitors(s, ",\"char_timeout_ms\":5000"); /* valgrind: see above */
	assert_true(wait_log(s, PORTER_LOG_INFO, "attached", 3000));
	const struct seen_feedback *in = scan(s, d, QUINN_CODE);
	size_t doors_in = s->n_doors;
	struct log_row rows[4];
	size_t n_in = db_log(s->db_path, "v-quinn", rows, 4);
	fake_usb_type(d, QUINN_CODE "\n"); /* the scanner beeps twice */
	for (int i = 0; i < 1000 && fake_usb_reports_queued(d); i++)
		host_loop_run_once(s->loop, 10); /* every report read (valgrind: slow) */
	run_for(s, 100);
	size_t after_twice = s->n_feedback;
	run_for(s, 3100); /* past qr.repeat_ms */
	const struct seen_feedback *out = scan(s, d, QUINN_CODE);

	assert_string_equal(in->code, "checked_in");
	assert_string_equal(in->reader, "garage-qr");
	assert_non_null(strstr(in->text, "Quinn Visitor"));
	assert_int_equal(doors_in, 1);
	assert_string_equal(s->doors[0].reader, "garage-qr");
	assert_int_equal(n_in, 1); /* recorded before the visitor was told */
	assert_string_equal(rows[0].direction, "in");
	assert_string_equal(rows[0].reader, "garage-qr");
	assert_string_equal(rows[0].cause, "credential");
	assert_int_equal(after_twice, 1); /* one check-in */
	assert_string_equal(out->code, "checked_out");
	assert_int_equal(db_log(s->db_path, "v-quinn", rows, 4), 2);
	assert_string_equal(rows[1].direction, "out");
	assert_string_equal(rows[1].reader, "garage-qr");
	assert_int_equal(s->n_results, 0); /* no host request: never complete() */
	stop(s);
}

static void
test_a_visitor_pass_at_porters_scanner_checks_in_and_a_forged_one_opens_nothing(void **state)
{
	struct site *s = *state;
	struct fake_device *d = fake_usb_plug(usb, &honeywell);
	/* 314 reports a pass: under valgrind slower than the default 100 ms a
	 * character, which would cut the scan in two. */
	start_visitors(s, ",\"char_timeout_ms\":5000");
	assert_true(wait_log(s, PORTER_LOG_INFO, "attached", 3000));
	const char *pass = issue(s, "pass", "v-vera");
	const char *forged = issue(s, "other", "v-vera"); /* another admin's key */
	const struct seen_feedback *in = scan(s, d, pass);
	size_t doors_in = s->n_doors;
	const struct seen_feedback *refused = scan(s, d, forged);
	size_t doors_refused = s->n_doors;
	run_for(s, 3100); /* past qr.repeat_ms */
	const struct seen_feedback *out = scan(s, d, pass);

	assert_string_equal(in->code, "checked_in");
	assert_non_null(strstr(in->text, "Vera Visitor"));
	assert_int_equal(doors_in, 1);
	assert_string_equal(refused->code, "visitor_pass_invalid");
	assert_string_equal(refused->reader, "garage-qr");
	assert_non_null(strstr(refused->text, "not valid"));
	assert_int_equal(refused->led, PORTER_LED_RED);
	assert_int_equal(doors_refused, 1); /* no door for the forgery */
	assert_string_equal(out->code, "checked_out");
	struct log_row rows[4];
	assert_int_equal(db_log(s->db_path, "v-vera", rows, 4), 2);
	assert_string_equal(rows[0].reader, "garage-qr");
	assert_string_equal(rows[0].direction, "in");
	assert_string_equal(rows[1].direction, "out");
	assert_int_equal(s->n_results, 0);
	stop(s);
}

static void
test_a_scanner_unplugged_mid_scan_and_plugged_in_again_checks_the_visitor_in(void **state)
{
	struct site *s = *state;
	struct fake_device *d = fake_usb_plug(usb, &honeywell);
	/* 1 s a character: the scan after the replug stays whole under valgrind
	 * on a loaded machine, and the half code still times out below. */
	start_visitors(s, ",\"char_timeout_ms\":1000");
	assert_true(wait_log(s, PORTER_LOG_INFO, "attached", 3000));
	fake_usb_type(d, "QV-7Q4"); /* half the code, then the cable goes */
	for (int i = 0; i < 500 && fake_usb_reports_queued(d); i++)
		host_loop_run_once(s->loop, 10);
	assert_int_equal(fake_usb_reports_queued(d), 0);
	fake_usb_unplug(d);
	assert_true(wait_log(s, PORTER_LOG_NOTICE, "unplugged", 3000));
	run_for(s, 1300); /* past char_timeout_ms: half a code is no scan */
	assert_int_equal(s->n_feedback, 0);
	struct fake_device *again = fake_usb_plug(usb, &honeywell);
	for (int i = 0; i < 300 && !fake_usb_claimed(again); i++)
		host_loop_run_once(s->loop, 10);
	assert_true(fake_usb_claimed(again));
	const struct seen_feedback *in = scan(s, again, QUINN_CODE);

	assert_string_equal(in->code, "checked_in");
	assert_int_equal(s->n_doors, 1);
	assert_int_equal(count_rows(s->db_path, "v-quinn"), 1);
	assert_int_equal(s->n_results, 0);
	stop(s);
	assert_false(fake_usb_claimed(again));
}

static void test_a_visitor_pass_at_a_hid_pos_scanner_checks_in(void **state)
{
	struct site *s = *state;
	struct fake_device *d = fake_usb_plug(usb, &honeywell_pos);
	start_visitors(s, ",\"protocol\":\"hid_pos\"");
	assert_true(wait_log(s, PORTER_LOG_INFO, "attached", 3000));
	const char *pass = issue(s, "pass", "v-vera");
	assert_true(strlen(pass) > 2 * 56); /* three chunks */
	fake_usb_pos_scan(d, pass);
	await_feedback(s, 1);

	assert_string_equal(s->feedback[0].code, "checked_in");
	assert_string_equal(s->feedback[0].reader, "garage-qr");
	assert_int_equal(s->n_doors, 1);
	assert_int_equal(count_rows(s->db_path, "v-vera"), 1);
	assert_int_equal(s->n_results, 0);
	stop(s);
}

static void test_diagnostics_say_no_scanner_is_plugged_in_for_the_reader(void **state)
{
	struct site *s = *state;
	start(s, USB_ON);
	run_for(s, 50);
	s->n_reports = 0;
	assert_true(api->diagnostics(s->porter, rec_report, s) >= 1);
	const struct seen_report *r = find_report(s, "PORTER-D012");
	assert_non_null(r);
	assert_string_equal(r->path, "$.usb_scanners.devices[0]");
	assert_non_null(strstr(r->message, "garage-qr"));
	struct fake_device *d = fake_usb_plug(usb, &honeywell);
	assert_true(wait_log(s, PORTER_LOG_INFO, "attached", 3000));
	assert_true(fake_usb_claimed(d));
	s->n_reports = 0;
	api->diagnostics(s->porter, rec_report, s);
	assert_null(find_report(s, "PORTER-D012"));
	stop(s);
}

static void test_a_reload_turning_usb_scanners_off_lets_the_scanner_go(void **state)
{
	struct site *s = *state;
	struct fake_device *d = fake_usb_plug(usb, &honeywell);
	start(s, USB_ON);
	assert_true(wait_log(s, PORTER_LOG_INFO, "attached", 3000));
	char *off = fx_config(s->dir, ",\"readers\":[{\"id\":\"garage-qr\"}]");
	assert_int_equal(api->reload(s->porter, off, strlen(off), NULL, NULL), 0);
	free(off);
	assert_false(fake_usb_claimed(d));
	char *on = fx_config(s->dir, USB_ON);
	assert_int_equal(api->reload(s->porter, on, strlen(on), NULL, NULL), 0);
	free(on);
	run_for(s, 100);
	assert_true(fake_usb_claimed(d));
	stop(s);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* BENCHMARKS.md "USB scanner": from the final report (Enter) on the wire
 * to the driver's next transfer submitted, which it does once the scan
 * went through qr_from_driver and was decided (a signed visitor pass
 * verified, v-vera checked in or out, the change queued for the disk),
 * beside on_qr alone with the same pass in the same run. */
#define SCANS 20

static void drain(struct site *s, struct fake_device *d)
{
	for (int i = 0; i < 5000 && (fake_usb_reports_queued(d) || fake_usb_urbs_in_flight(d) != 1);
	     i++)
		host_loop_run_once(s->loop, 0);
}

static void test_scan_to_decision_latency_beside_the_hook_alone(void **state)
{
	struct site *s = *state;
	struct fake_device *d = fake_usb_plug(usb, &honeywell);
	uint64_t scan_us[SCANS], hook_us[SCANS], empty_us[SCANS];
	uint8_t enter[8] = {0, 0, 0x28}, up[8] = {0};
	char extra[8192];
	snprintf(extra, sizeof(extra),
	         ",\"readers\":[{\"id\":\"garage-qr\"}],\"usb_scanners\":{\"enabled\":true,"
	         "\"devices\":[{\"reader_id\":\"garage-qr\",\"char_timeout_ms\":5000}]},"
	         "\"visitor_pass\":{\"public_keys\":[\"%s/pass.pub\"]},"
	         "\"qr\":{\"repeat_ms\":0},\"repeat_window_ms\":0",
	         s->dir);
	start(s, extra);
	assert_true(wait_log(s, PORTER_LOG_INFO, "attached", 3000));
	const char *pass = issue(s, "pass", "v-vera");
	for (int i = 0; i < SCANS; i++) {
		size_t told = s->n_feedback;
		fake_usb_type(d, pass);
		drain(s, d);
		uint64_t t0 = host_loop_now_us(s->loop);
		fake_usb_report(d, enter, sizeof(enter));
		drain(s, d);
		scan_us[i] = host_loop_now_us(s->loop) - t0;
		fake_usb_report(d, up, sizeof(up));
		drain(s, d);
		/* A lone Enter is dropped by the decoder: the emulated USB's own
		 * round trip (reap, resubmit through umockdev's socket). */
		t0 = host_loop_now_us(s->loop);
		fake_usb_report(d, enter, sizeof(enter));
		drain(s, d);
		empty_us[i] = host_loop_now_us(s->loop) - t0;
		fake_usb_report(d, up, sizeof(up));
		drain(s, d);
		await_feedback(s, told + 1); /* recorded, then told: not timed */
		assert_string_equal(s->feedback[told].code, "checked_in");
		struct porter_qr_event ev = {.size = sizeof(ev),
		                             .request_id = ++s->last_request_id,
		                             .reader_id = "garage-qr",
		                             .data = (const uint8_t *)pass,
		                             .data_len = strlen(pass)};
		t0 = host_loop_now_us(s->loop);
		int r = api->on_qr(s->porter, &ev);
		hook_us[i] = host_loop_now_us(s->loop) - t0;
		assert_int_equal(r, PORTER_VERDICT_PENDING);
		const struct seen_result *res = wait_result(s, ev.request_id);
		assert_non_null(res);
		assert_string_equal(res->code, "checked_out");
		if (s->n_feedback > MAX_SEEN - 4)
			s->n_feedback = 0; /* the host records 64 displays */
		s->n_results = 0;
	}
	qsort(scan_us, SCANS, sizeof(scan_us[0]), compare_u64);
	qsort(hook_us, SCANS, sizeof(hook_us[0]), compare_u64);
	qsort(empty_us, SCANS, sizeof(empty_us[0]), compare_u64);
	printf("scan-to-decision after the final report (umockdev, visitor pass verified, "
	       "check-in queued): median %llu us, p90 %llu us; on_qr alone (check-out): median "
	       "%llu us, p90 %llu us; a lone Enter (the emulated USB round trip alone): median "
	       "%llu us, p90 %llu us (%d scans of %zu bytes)\n",
	       (unsigned long long)scan_us[SCANS / 2], (unsigned long long)scan_us[SCANS * 9 / 10],
	       (unsigned long long)hook_us[SCANS / 2], (unsigned long long)hook_us[SCANS * 9 / 10],
	       (unsigned long long)empty_us[SCANS / 2],
	       (unsigned long long)empty_us[SCANS * 9 / 10], SCANS, strlen(pass));
	stop(s);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                test_a_code_nobody_has_is_refused_at_the_scanner_and_never_logged, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_visitor_code_at_porters_scanner_checks_in_then_out, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_visitor_pass_at_porters_scanner_checks_in_and_a_forged_one_opens_nothing,
	                setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_scanner_unplugged_mid_scan_and_plugged_in_again_checks_the_visitor_in,
	                setup, teardown),
	        cmocka_unit_test_setup_teardown(test_a_visitor_pass_at_a_hid_pos_scanner_checks_in,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_diagnostics_say_no_scanner_is_plugged_in_for_the_reader, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                test_a_reload_turning_usb_scanners_off_lets_the_scanner_go, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(test_scan_to_decision_latency_beside_the_hook_alone,
	                                        setup, teardown),
	};
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
