/* SPDX-License-Identifier: MIT */
/*
 * test_ble.c: phone check-in through the built porter.so (on_ble), as a
 * door controller with its own BLE stack delivers adverts.
 *
 * The site is made by the real porter-admin: members Ana and Ben, and a
 * BLE key for Ana (`porter-admin ble key`). A phone is simulated by the
 * adverts it would send: the credential `porter-admin ble token` computes
 * for a moment, in one of the three carriers, at some signal strength, from
 * some (rotating) address. Each test asserts what a person at the door and
 * an operator reading the log and the database would observe.
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

/* Near needs 3 adverts at -50 dBm or more within 2 s; 1 s of cooldown. */
#define BLE_CONFIG \
	",\"ble\":{\"rssi_min_dbm\":-50,\"samples\":3,\"window_ms\":2000,\"cooldown_ms\":1000}"

static int give_ana_a_key(const char *admin, const char *dir)
{
	char cmd[3 * FX_PATH_MAX];
	snprintf(cmd, sizeof(cmd),
	         "'%s' ble key m-ana --directory '%s/directory.json' --key '%s/pin.key' "
	         ">'%s/ana.key' 2>/dev/null",
	         admin, dir, dir, dir);
	return system(cmd);
}

static int setup(void **state)
{
	struct site_options o = {
	        .people = FX_ANA | FX_BEN, .add_people = give_ana_a_key, .echo_level = -1};
	return site_open(state, &o);
}

/* The 12-byte payload Ana's phone advertises at unix time `t`. */
static void token_at(struct site *s, int64_t t, uint8_t ret[12])
{
	char cmd[3 * FX_PATH_MAX], hex[64] = "";
	snprintf(cmd, sizeof(cmd),
	         "'%s' ble token m-ana --directory '%s/directory.json' --key '%s/pin.key' "
	         "--time %lld",
	         fx_env("PORTER_ADMIN"), s->dir, s->dir, (long long)t);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	unsigned long long counter;
	assert_int_equal(fscanf(p, "counter %llu payload %24s", &counter, hex), 2);
	assert_int_equal(pclose(p), 0);
	for (int i = 0; i < 12; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		ret[i] = (uint8_t)v;
	}
}

enum carrier { MANUFACTURER, SERVICE_DATA, UUID };

struct phone {
	const char *address;
	enum carrier carrier;
	uint8_t payload[12];
	char uuid[40];
	const char *uuids[1];
};

static int advert(struct site *s, const char *reader, struct phone *ph, int rssi, uint64_t *ret_id)
{
	struct porter_ble_event ev = {
	        .size = sizeof(ev),
	        .rssi_dbm = rssi,
	        .request_id = ++s->last_request_id,
	        .reader_id = reader,
	        .address = ph->address,
	        .company_id = 0xFFFFFFFF,
	        .tx_power_dbm = INT32_MIN,
	};
	if (ph->carrier == MANUFACTURER) {
		ev.company_id = 0xFFFF;
		ev.manufacturer_data = ph->payload;
		ev.manufacturer_data_len = sizeof(ph->payload);
	} else if (ph->carrier == SERVICE_DATA) {
		ev.service_uuid = "0000fff7-0000-1000-8000-00805f9b34fb";
		ev.service_data = ph->payload;
		ev.service_data_len = sizeof(ph->payload);
	} else {
		const uint8_t *b = ph->payload;
		snprintf(ph->uuid, sizeof(ph->uuid),
		         "706f7274-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]);
		ph->uuids[0] = ph->uuid;
		ev.service_uuids = ph->uuids;
		ev.n_service_uuids = 1;
	}
	s->in_hook = true;
	int r = api->on_ble(s->porter, &ev);
	s->in_hook = false;
	if (ret_id)
		*ret_id = ev.request_id;
	return r;
}

/* The phone held next to `reader`: adverts until one is decided (at most
 * `max`), 100 ms apart. Returns the last hook result, its request id in *ret_id. */
static int hold_near(struct site *s, const char *reader, struct phone *ph, int max,
                     uint64_t *ret_id)
{
	int r = PORTER_VERDICT_NO_OPINION;
	for (int i = 0; i < max && r == PORTER_VERDICT_NO_OPINION; i++) {
		if (i)
			run_for(s, 100);
		r = advert(s, reader, ph, -40, ret_id);
	}
	return r;
}

static struct phone phone_now(struct site *s, const char *address, enum carrier carrier,
                              int64_t offset_s)
{
	struct phone ph = {.address = address, .carrier = carrier};
	token_at(s, (int64_t)time(NULL) + offset_s, ph.payload);
	return ph;
}

static void test_far_phone_does_nothing_then_near_checks_in(void **state)
{
	struct site *s = *state;
	start(s, BLE_CONFIG);
	struct phone ph = phone_now(s, "11:22:33:44:55:66", MANUFACTURER, 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(advert(s, "front", &ph, -80, NULL), PORTER_VERDICT_NO_OPINION);
		run_for(s, 50);
	}
	assert_int_equal(s->n_feedback, 0);
	assert_int_equal(s->n_doors, 0);
	uint64_t id;
	/* near: the first two strong adverts are not enough, the third decides */
	assert_int_equal(advert(s, "front", &ph, -45, NULL), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(advert(s, "front", &ph, -45, NULL), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(advert(s, "front", &ph, -45, &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_non_null(r);
	assert_int_equal(r->verdict, PORTER_VERDICT_GRANT);
	assert_string_equal(r->code, "checked_in");
	assert_string_equal(r->person, "m-ana");
	assert_int_equal(s->n_doors, 1);
	/* the same approach goes on advertising: one decision */
	for (int i = 0; i < 5; i++)
		assert_int_equal(advert(s, "front", &ph, -40, NULL), PORTER_VERDICT_NO_OPINION);
	/* the used token is in the database with the change */
	assert_true(db_int(s->db_path, "SELECT counter FROM ble_consumed WHERE person_id = ?1",
	                   "m-ana") > 0);
	stop(s);
}

static void test_new_address_same_member_token_not_taken_twice_then_checks_out(void **state)
{
	struct site *s = *state;
	start(s, BLE_CONFIG);
	struct phone ph = phone_now(s, "11:22:33:44:55:66", SERVICE_DATA, 0);
	uint64_t id;
	assert_int_equal(hold_near(s, "front", &ph, 5, &id), PORTER_VERDICT_PENDING);
	assert_string_equal(wait_result(s, id)->code, "checked_in");
	size_t feedback = s->n_feedback, doors = s->n_doors;
	run_for(s, 3100); /* past the cooldown and the repeat window */
	/* the same token from another address (a recording replayed, or the
	 * phone rotated its address) at another reader: refused, silently */
	struct phone copy = ph;
	copy.address = "AA:AA:AA:AA:AA:AA";
	assert_int_equal(hold_near(s, "side", &copy, 5, NULL), PORTER_VERDICT_DENY);
	assert_true(logged(s, PORTER_LOG_NOTICE, "already used") >= 0);
	assert_int_equal(s->n_feedback, feedback);
	assert_int_equal(s->n_doors, doors);
	/* the phone's next token, from yet another address: the same member,
	 * checked out */
	struct phone next = phone_now(s, "CC:CC:CC:CC:CC:CC", UUID, 30);
	assert_int_equal(hold_near(s, "front", &next, 5, &id), PORTER_VERDICT_PENDING);
	const struct seen_result *r = wait_result(s, id);
	assert_string_equal(r->code, "checked_out");
	assert_string_equal(r->person, "m-ana");
	stop(s);
}

static void test_stale_and_forged_tokens_are_refused(void **state)
{
	struct site *s = *state;
	start(s, BLE_CONFIG);
	struct phone old = phone_now(s, "11:22:33:44:55:66", MANUFACTURER, -120);
	assert_int_equal(hold_near(s, "front", &old, 5, NULL), PORTER_VERDICT_DENY);
	assert_true(logged(s, PORTER_LOG_NOTICE, "stale token") >= 0);
	run_for(s, 100);
	struct phone forged = phone_now(s, "22:22:33:44:55:66", MANUFACTURER, 0);
	forged.payload[11] ^= 0x01;
	assert_int_equal(hold_near(s, "side", &forged, 5, NULL), PORTER_VERDICT_DENY);
	assert_int_equal(s->n_feedback, 0);
	assert_int_equal(s->n_doors, 0);
	assert_int_equal(count_rows(s->db_path, "m-ana"), 0);
	stop(s);
	/* both logged (the second refusal within 10 s is counted, not lost) */
	assert_true(logged(s, PORTER_LOG_NOTICE, "BLE token refused") >= 0);
}

static void test_forged_token_is_logged_as_no_members(void **state)
{
	struct site *s = *state;
	start(s, BLE_CONFIG);
	struct phone forged = phone_now(s, "22:22:33:44:55:66", UUID, 0);
	forged.payload[4] ^= 0x80;
	assert_int_equal(hold_near(s, "front", &forged, 5, NULL), PORTER_VERDICT_DENY);
	assert_true(logged(s, PORTER_LOG_NOTICE, "made by no member's key") >= 0);
	stop(s);
}

static void test_malformed_adverts_are_refused_with_a_log_line(void **state)
{
	struct site *s = *state;
	start(s, BLE_CONFIG);
	uint8_t thirteen[13] = {1};
	struct porter_ble_event ev = {.size = sizeof(ev),
	                              .rssi_dbm = -40,
	                              .reader_id = "front",
	                              .address = "11:22:33:44:55:66",
	                              .company_id = 0xFFFF,
	                              .tx_power_dbm = INT32_MIN,
	                              .manufacturer_data = thirteen,
	                              .manufacturer_data_len = sizeof(thirteen)};
	assert_int_equal(api->on_ble(s->porter, &ev), -EINVAL);
	assert_true(logged(s, PORTER_LOG_NOTICE, "credential of the wrong size") >= 0);
	/* oversized data */
	static uint8_t big[300];
	ev.manufacturer_data = big;
	ev.manufacturer_data_len = sizeof(big);
	assert_int_equal(api->on_ble(s->porter, &ev), -EINVAL);
	assert_true(logged(s, PORTER_LOG_NOTICE, "data over 255 bytes") >= 0);
	/* more service UUIDs than any advert holds */
	const char *many[65];
	for (int i = 0; i < 65; i++)
		many[i] = "706f7274-011b-a9ac-3645-938d896e5fa7";
	ev.manufacturer_data = NULL;
	ev.manufacturer_data_len = 0;
	ev.company_id = 0xFFFFFFFF;
	ev.service_uuids = many;
	ev.n_service_uuids = 65;
	run_for(s, 10);
	assert_int_equal(api->on_ble(s->porter, &ev), -EINVAL);
	/* someone else's advert is no opinion, without a word */
	ev.n_service_uuids = 1;
	many[0] = "0000180f-0000-1000-8000-00805f9b34fb";
	size_t logs = s->n_logs;
	assert_int_equal(api->on_ble(s->porter, &ev), PORTER_VERDICT_NO_OPINION);
	assert_int_equal(s->n_logs, logs);
	assert_int_equal(s->n_feedback, 0);
	stop(s);
}

static void test_used_token_stays_used_across_a_restart(void **state)
{
	struct site *s = *state;
	start(s, BLE_CONFIG);
	struct phone ph = phone_now(s, "11:22:33:44:55:66", MANUFACTURER, 0);
	uint64_t id;
	assert_int_equal(hold_near(s, "front", &ph, 5, &id), PORTER_VERDICT_PENDING);
	assert_string_equal(wait_result(s, id)->code, "checked_in");
	stop(s);
	start(s, BLE_CONFIG); /* fresh proximity and cooldowns: only the store remembers */
	size_t doors = s->n_doors;
	ph.address = "99:99:99:99:99:99";
	assert_int_equal(hold_near(s, "front", &ph, 5, NULL), PORTER_VERDICT_DENY);
	assert_true(logged(s, PORTER_LOG_NOTICE, "already used") >= 0);
	assert_int_equal(s->n_doors, doors);
	assert_int_equal(count_rows(s->db_path, "m-ana"), 1);
	stop(s);
}

static void test_calibration_logs_member_and_rssi_only(void **state)
{
	struct site *s = *state;
	start(s, ",\"ble\":{\"calibration\":true,\"rssi_min_dbm\":-30}");
	struct phone ph = phone_now(s, "11:22:33:44:55:66", MANUFACTURER, 0);
	assert_int_equal(advert(s, "front", &ph, -63, NULL), PORTER_VERDICT_NO_OPINION);
	assert_true(logged(s, PORTER_LOG_INFO,
	                   "BLE calibration: reader front member m-ana -63 dBm") >= 0);
	/* never the token or the key */
	char hex[25], key[128] = "";
	for (int i = 0; i < 12; i++)
		sprintf(hex + 2 * i, "%02x", ph.payload[i]);
	char path[FX_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/ana.key", s->dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(key, sizeof(key), f));
	fclose(f);
	assert_non_null(strstr(key, "porter-ble:1:"));
	key[strcspn(key, "\n")] = '\0';
	for (size_t i = 0; i < s->n_logs; i++) {
		assert_null(strstr(s->logs[i].text, hex + 8));
		assert_null(strstr(s->logs[i].text, key + 13));
	}
	assert_int_equal(s->n_feedback, 0);
	stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_far_phone_does_nothing_then_near_checks_in,
	                                        setup, site_close),
	        cmocka_unit_test_setup_teardown(
	                test_new_address_same_member_token_not_taken_twice_then_checks_out, setup,
	                site_close),
	        cmocka_unit_test_setup_teardown(test_stale_and_forged_tokens_are_refused, setup,
	                                        site_close),
	        cmocka_unit_test_setup_teardown(test_forged_token_is_logged_as_no_members, setup,
	                                        site_close),
	        cmocka_unit_test_setup_teardown(test_malformed_adverts_are_refused_with_a_log_line,
	                                        setup, site_close),
	        cmocka_unit_test_setup_teardown(test_used_token_stays_used_across_a_restart, setup,
	                                        site_close),
	        cmocka_unit_test_setup_teardown(test_calibration_logs_member_and_rssi_only, setup,
	                                        site_close),
	};
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
