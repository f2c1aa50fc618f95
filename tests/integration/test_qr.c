/* SPDX-License-Identifier: MIT */
/*
 * test_qr.c: visitors at a QR scanner, through the built porter.so (on_qr),
 * on a site made with the real porter-admin: a visitor with a visitor code
 * (porter-admin add --qr-code-file), and visitor passes from porter-admin
 * pass keygen / pass issue. Every refusal a visitor can meet, a pass signed
 * by another key or altered in any byte, single use across a restart, the
 * scanner beeping twice, throttling per reader and per code, and scans that
 * are no credential. The visitor code, the garbage and the passes are in the
 * site's list of secrets: the recording host fails a test that shows or logs
 * one of them.
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
#include <time.h>

#include <cmocka.h>

#include "recording_host.h"

#define QUINN_CODE "QV-7Q4K9ZX2"   /* v-quinn's visitor code */
#define GARBAGE    "SeCrEtGaRbAgE" /* a misread: must never reach a log */

/* Passes issued in a test, to look for in every log line and display. */
static char issued[8][600];
/* NULL-terminated; each pass is added as it is issued. */
static const char *secrets[12] = {QUINN_CODE, GARBAGE, NULL};
static size_t n_issued;

static int sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* v-quinn, a visitor from an hour ago to 8 h ahead with a visitor code;
 * the site's pass keys (pass.key/pass.pub) and another admin's (other.*). */
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

static int site_setup(void **state)
{
	n_issued = 0;
	memset(issued, 0, sizeof(issued));
	secrets[2] = NULL;
	return site_open(state, &(struct site_options){
	                                .people = FX_CAST,
	                                .add_people = add_quinn_and_keys,
	                                .more_pins = secrets,
	                                .echo_level = PORTER_LOG_WARNING,
	                        });
}

/* `porter-admin pass issue`, times relative to now; the payload. */
static const char *issue(struct site *s, const char *key, const char *visitor, int64_t from,
                         int64_t until, bool single_use)
{
	char cmd[8192], t0[32], t1[32];
	int64_t now = (int64_t)time(NULL);
	fx_timestamp(now + from, t0);
	fx_timestamp(now + until, t1);
	snprintf(cmd, sizeof(cmd),
	         "%s pass issue --key %s/%s.key --visitor %s --valid-from %s --valid-until %s%s",
	         fx_env("PORTER_ADMIN"), s->dir, key, visitor, t0, t1,
	         single_use ? " --single-use" : "");
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_true(n_issued < 8);
	char *out = issued[n_issued++];
	assert_non_null(fgets(out, 600, p));
	assert_int_equal(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
	secrets[1 + n_issued] = out;
	secrets[2 + n_issued] = NULL;
	return out;
}

/* The config's visitor pass keys and QR settings, plus `more`. */
static void start_qr(struct site *s, const char *more)
{
	char extra[8192];
	snprintf(extra, sizeof(extra),
	         ",\"visitor_pass\":{\"public_keys\":[\"%s/pass.pub\"]},\"repeat_window_ms\":0%s",
	         s->dir, more);
	start(s, extra);
}

struct outcome {
	int rc;
	uint32_t verdict, direction;
	char code[64], person[72];
	size_t doors;
};

static struct outcome scan_len(struct site *s, const char *reader, const char *data, size_t len)
{
	struct outcome o = {0};
	size_t fb_mark = s->n_feedback, door_mark = s->n_doors;
	struct porter_qr_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++s->last_request_id,
	        .reader_id = reader,
	        .data = (const uint8_t *)data,
	        .data_len = len,
	};
	s->in_hook = true;
	o.rc = api->on_qr(s->porter, &ev);
	s->in_hook = false;
	o.verdict = o.rc > 0 ? (uint32_t)o.rc : 0;
	if (o.rc == PORTER_VERDICT_PENDING) {
		const struct seen_result *r = wait_result(s, ev.request_id);
		assert_non_null(r);
		o.verdict = r->verdict;
		o.direction = r->direction;
		snprintf(o.code, sizeof(o.code), "%s", r->code);
		snprintf(o.person, sizeof(o.person), "%s", r->person);
	} else if (o.rc != PORTER_VERDICT_NO_OPINION) {
		wait_feedback(s, fb_mark + 1);
		if (s->n_feedback > fb_mark)
			snprintf(o.code, sizeof(o.code), "%s", s->feedback[s->n_feedback - 1].code);
	}
	run_for(s, 10);
	o.doors = s->n_doors - door_mark;
	return o;
}

static struct outcome scan(struct site *s, const char *reader, const char *data)
{
	return scan_len(s, reader, data, strlen(data));
}

static void assert_refused(const struct outcome *o, const char *code)
{
	assert_int_equal(o->rc, PORTER_VERDICT_DENY);
	assert_string_equal(o->code, code);
	assert_int_equal(o->doors, 0);
}

/* ---- visitor codes ------------------------------------------------------------ */

static void a_visitor_code_checks_in_then_out(void **state)
{
	struct site *s = *state;
	start_qr(s, ",\"qr\":{\"repeat_ms\":0}");
	struct outcome in = scan(s, "lobby", QUINN_CODE);
	struct outcome out = scan(s, "lobby", QUINN_CODE);

	assert_int_equal(in.rc, PORTER_VERDICT_PENDING);
	assert_string_equal(in.code, "checked_in");
	assert_string_equal(in.person, "v-quinn");
	assert_int_equal(in.direction, PORTER_DIRECTION_IN);
	assert_int_equal(in.doors, 1);
	assert_non_null(strstr(s->feedback[0].text, "Quinn Visitor"));
	assert_string_equal(out.code, "checked_out");
	assert_int_equal(out.direction, PORTER_DIRECTION_OUT);
	assert_int_equal(count_rows(s->db_path, "v-quinn"), 2);
	stop(s);
}

static void a_scanner_beeping_twice_is_one_check_in(void **state)
{
	struct site *s = *state;
	start_qr(s, ""); /* qr.repeat_ms: 2000 by default */
	struct outcome first = scan(s, "lobby", QUINN_CODE);
	size_t feedback = s->n_feedback;
	struct outcome again = scan(s, "lobby", QUINN_CODE);

	assert_string_equal(first.code, "checked_in");
	assert_int_equal(again.rc, PORTER_VERDICT_NO_OPINION);
	assert_int_equal(again.doors, 0);
	assert_int_equal(s->n_feedback, feedback); /* quiet: the first is answered */
	assert_int_equal(count_rows(s->db_path, "v-quinn"), 1);
	/* At another reader it is a presentation of its own. */
	struct outcome elsewhere = scan(s, "garage", QUINN_CODE);
	assert_string_equal(elsewhere.code, "checked_out");
	stop(s);
}

static void a_code_refused_too_often_is_locked_everywhere(void **state)
{
	struct site *s = *state;
	start_qr(s, ",\"qr\":{\"repeat_ms\":0,\"code_max_attempts\":2,\"code_lockout_s\":60}");
	struct outcome a = scan(s, "lobby", "NOT-A-CODE-1");
	struct outcome b = scan(s, "garage", "NOT-A-CODE-1");
	struct outcome c = scan(s, "side", "NOT-A-CODE-1");
	struct outcome quinn = scan(s, "lobby", QUINN_CODE);

	assert_refused(&a, "qr_unknown");
	assert_refused(&b, "qr_unknown");
	assert_refused(&c, "qr_code_locked"); /* at a third reader too */
	assert_non_null(strstr(s->feedback[2].text, "60 s"));
	assert_string_equal(quinn.code, "checked_in"); /* other codes are not locked */
	assert_true(logged(s, PORTER_LOG_WARNING, "locked for 60 s") >= 0);
	stop(s);
}

static void scans_that_are_no_credential_are_refused_without_logging_them(void **state)
{
	struct site *s = *state;
	char big[600];
	memset(big, 'A', sizeof(big));
	memcpy(big, GARBAGE, strlen(GARBAGE));
	start_qr(s, ",\"qr\":{\"repeat_ms\":0}");
	struct outcome bad_byte = scan(s, "lobby", GARBAGE "\x1b[2J");
	struct outcome space = scan(s, "lobby", GARBAGE " x");
	struct outcome too_long = scan_len(s, "lobby", big, sizeof(big));
	struct outcome empty = scan_len(s, "lobby", "", 0);
	struct outcome garbage = scan(s, "lobby", GARBAGE);

	assert_int_equal(bad_byte.rc, -EINVAL);
	assert_string_equal(bad_byte.code, "qr_unreadable");
	assert_int_equal(space.rc, -EINVAL);
	assert_int_equal(too_long.rc, -E2BIG);
	assert_string_equal(too_long.code, "qr_unreadable");
	assert_int_equal(empty.rc, -EINVAL);
	assert_refused(&garbage, "qr_unknown"); /* printable: looked up, nobody has it */
	assert_true(logged(s, PORTER_LOG_NOTICE,
	                   "QR scan refused: byte 14 of 17 is not printable") >= 0);
	assert_true(logged(s, PORTER_LOG_NOTICE, "QR scan refused: 600 bytes, at most 512") >= 0);
	assert_int_equal(s->n_doors, 0);
	stop(s); /* fails if GARBAGE reached a log line or a display */
}

/* ---- visitor passes -------------------------------------------------------------- */

static void a_visitor_pass_checks_in_and_out_offline(void **state)
{
	struct site *s = *state;
	start_qr(s, ",\"qr\":{\"repeat_ms\":0}");
	const char *pass = issue(s, "pass", "v-vera", -60, 3600, false);
	struct outcome in = scan(s, "lobby", pass);
	struct outcome out = scan(s, "lobby", pass);
	struct outcome back = scan(s, "lobby", pass); /* not single use: again */

	assert_string_equal(in.code, "checked_in");
	assert_string_equal(in.person, "v-vera");
	assert_string_equal(out.code, "checked_out");
	assert_string_equal(back.code, "checked_in");
	stop(s);
}

static void every_refusal_of_a_pass_says_what_to_do(void **state)
{
	struct site *s = *state;
	start_qr(s, ",\"qr\":{\"repeat_ms\":0},\"lockout\":{\"max_attempts\":100}");
	struct outcome expired = scan(s, "lobby", issue(s, "pass", "v-vera", -7200, -60, false));
	struct outcome early = scan(s, "lobby", issue(s, "pass", "v-vera", 3600, 7200, false));
	struct outcome forged = scan(s, "lobby", issue(s, "other", "v-vera", -60, 3600, false));
	struct outcome stranger = scan(s, "lobby", issue(s, "pass", "v-nobody", -60, 3600, false));

	assert_refused(&expired, "visitor_pass_expired");
	assert_refused(&early, "visitor_pass_not_yet_valid");
	assert_refused(&forged, "visitor_pass_invalid");
	assert_non_null(strstr(s->feedback[2].text, "not valid"));
	assert_refused(&stranger, "visitor_unknown");
	assert_true(logged(s, PORTER_LOG_NOTICE, "no configured key signed") >= 0);
	stop(s);
}

static void a_pass_altered_in_any_byte_opens_nothing(void **state)
{
	struct site *s = *state;
	start_qr(s, ",\"qr\":{\"repeat_ms\":0},\"lockout\":{\"max_attempts\":100}");
	const char *pass = issue(s, "pass", "v-vera", -60, 3600, false);
	size_t len = strlen(pass);
	char altered[600], reader[16];
	for (size_t i = 0; i < len; i++) {
		memcpy(altered, pass, len + 1);
		altered[i] = altered[i] == 'A' ? 'B' : 'A';
		snprintf(reader, sizeof(reader), "door-%zu", i % 4); /* under each lockout */
		s->n_feedback = 0; /* the host records 64 displays; these are counted below */
		struct outcome o = scan(s, reader, altered);
		assert_int_equal(o.rc, PORTER_VERDICT_DENY);
		assert_int_equal(o.doors, 0);
	}
	assert_int_equal(count_rows(s->db_path, NULL), 0);
	stop(s);
	/* Each refusal is on record: "PV1." altered is no longer a pass, so an unknown visitor
	 * code. */
	const char *sql = "SELECT count(*) FROM door_events WHERE code=?1";
	assert_int_equal(db_int(s->db_path, sql, "qr_unknown"), 4);
	assert_int_equal(db_int(s->db_path, sql, "visitor_pass_invalid"), (int)len - 4);
}

static void a_single_use_pass_stays_used_across_a_restart(void **state)
{
	struct site *s = *state;
	const char *pass;
	start_qr(s, ",\"qr\":{\"repeat_ms\":0}");
	pass = issue(s, "pass", "v-vera", -60, 3600, true);
	struct outcome in = scan(s, "lobby", pass);
	struct outcome out = scan(s, "lobby", pass); /* someone in may always leave */
	stop(s);
	start_qr(s, ",\"qr\":{\"repeat_ms\":0}");
	struct outcome again = scan(s, "lobby", pass);

	assert_string_equal(in.code, "checked_in");
	assert_string_equal(out.code, "checked_out");
	assert_refused(&again, "visitor_pass_used");
	assert_non_null(strstr(s->feedback[s->n_feedback - 1].text, "already used"));
	assert_int_equal(db_int(s->db_path,
	                        "SELECT count(*) FROM visitor_pass_uses WHERE person_id=?1",
	                        "v-vera"),
	                 1);
	stop(s);
}

static void wrong_codes_lock_the_reader_like_wrong_pins(void **state)
{
	struct site *s = *state;
	start_qr(s, ",\"qr\":{\"repeat_ms\":0},\"lockout\":{\"max_attempts\":3}");
	struct outcome a = scan(s, "lobby", "WRONG-1");
	struct outcome b = scan(s, "lobby", issue(s, "other", "v-vera", -60, 3600, false));
	struct outcome c = scan(s, "lobby", "WRONG-3");
	struct outcome quinn = scan(s, "lobby", QUINN_CODE);
	struct outcome pin = (struct outcome){0};
	uint64_t id;
	pin.rc = hook_pin(s, "lobby", PIN_ANA, strlen(PIN_ANA), &id);

	assert_refused(&a, "qr_unknown");
	assert_refused(&b, "visitor_pass_invalid");
	assert_refused(&c, "locked_out"); /* the third wrong code starts the lockout */
	assert_refused(&quinn, "locked_out");
	assert_int_equal(pin.rc, PORTER_VERDICT_DENY); /* the keypad of that reader too */
	assert_true(logged(s, PORTER_LOG_WARNING, "reader lobby: locked out") >= 0);
	stop(s);
}

static void a_pass_key_file_others_can_write_is_refused_at_start(void **state)
{
	struct site *s = *state;
	char extra[8192];
	assert_int_equal(sh("chmod 666 %s/pass.pub", s->dir), 0);
	snprintf(extra, sizeof(extra), ",\"visitor_pass\":{\"public_keys\":[\"%s/pass.pub\"]}",
	         s->dir);
	assert_int_equal(start_with(s, &s->services, extra), -EINVAL);
	const struct seen_report *r = find_report(s, "PORTER-PASS-KEY");
	assert_non_null(r);
	assert_non_null(strstr(r->message, "chmod go-w"));
	assert_string_equal(r->path, "$.visitor_pass.public_keys");
}

static void porter_admin_writes_the_pass_as_a_qr_image(void **state)
{
	struct site *s = *state;
	char cmd[16384], t0[32], t1[32], got[600] = "";
	int64_t now = (int64_t)time(NULL);
	fx_timestamp(now, t0);
	fx_timestamp(now + 3600, t1);
	snprintf(cmd, sizeof(cmd),
	         "%s pass issue --key %s/pass.key --visitor v-vera --valid-from %s "
	         "--valid-until %s --single-use --png %s/pass.png",
	         fx_env("PORTER_ADMIN"), s->dir, t0, t1, s->dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(fgets(issued[0], 600, p));
	assert_int_equal(pclose(p), 0);
	issued[0][strcspn(issued[0], "\n")] = '\0';
	secrets[2] = issued[0];
	secrets[3] = NULL;
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s/pass.png 2>/dev/null", s->dir);
	p = popen(cmd, "r");
	assert_non_null(fgets(got, sizeof(got), p));
	pclose(p);
	got[strcspn(got, "\n")] = '\0';
	assert_string_equal(got, issued[0]);
	/* Never over an existing image or key. */
	assert_int_not_equal(sh("%s pass issue --key %s/pass.key --visitor v-vera --valid-from %s "
	                        "--valid-until %s --png %s/pass.png >/dev/null 2>&1",
	                        fx_env("PORTER_ADMIN"), s->dir, t0, t1, s->dir),
	                     0);
	assert_int_not_equal(sh("%s pass keygen --private %s/pass.key --public %s/new.pub "
	                        "2>/dev/null",
	                        fx_env("PORTER_ADMIN"), s->dir, s->dir),
	                     0);
}

#define QR_TEST(f) cmocka_unit_test_setup_teardown(f, site_setup, site_close)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        QR_TEST(a_visitor_code_checks_in_then_out),
	        QR_TEST(a_scanner_beeping_twice_is_one_check_in),
	        QR_TEST(a_code_refused_too_often_is_locked_everywhere),
	        QR_TEST(scans_that_are_no_credential_are_refused_without_logging_them),
	        QR_TEST(a_visitor_pass_checks_in_and_out_offline),
	        QR_TEST(every_refusal_of_a_pass_says_what_to_do),
	        QR_TEST(a_pass_altered_in_any_byte_opens_nothing),
	        QR_TEST(a_single_use_pass_stays_used_across_a_restart),
	        QR_TEST(wrong_codes_lock_the_reader_like_wrong_pins),
	        QR_TEST(a_pass_key_file_others_can_write_is_refused_at_start),
	        QR_TEST(porter_admin_writes_the_pass_as_a_qr_image),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN")) {
		fprintf(stderr, "PORTER_SO and PORTER_ADMIN must name the built porter.so and "
		                "porter-admin (meson test sets them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
