/* SPDX-License-Identifier: MIT */
/* test_ble_parts.c: the BLE advert carriers, the proximity filter and the
 * replay cache, each on its own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ble_advert.h"
#include "ble_proximity.h"
#include "ble_replay.h"

static const uint8_t payload[BLE_PAYLOAD_LEN] = {1,    0x1b, 0xa9, 0xac, 0x36, 0x45,
                                                 0x93, 0x8d, 0x89, 0x6e, 0x5f, 0xa7};

static struct porter_ble_event event(void)
{
	struct porter_ble_event ev = {.size = sizeof(ev),
	                              .rssi_dbm = -40,
	                              .reader_id = "r1",
	                              .address = "AA:BB:CC:DD:EE:FF",
	                              .company_id = 0xFFFFFFFF,
	                              .tx_power_dbm = INT32_MIN};
	return ev;
}

static void test_service_data_carrier(void **state)
{
	struct porter_ble_event ev = event();
	struct ble_credential c;
	const char *why;
	ev.service_uuid = "0000FFF7-0000-1000-8000-00805F9B34FB"; /* case does not matter */
	ev.service_data = payload;
	ev.service_data_len = sizeof(payload);
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), 1);
	assert_int_equal(c.hint, 0x1ba9);
	assert_int_equal(c.step, 0xac);
	ev.service_data_len = 13;
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), -EINVAL);
	assert_string_equal(why, "credential of the wrong size");
	ev.service_uuid = "0000feaa-0000-1000-8000-00805f9b34fb"; /* someone else's */
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), 0);
}

static void test_manufacturer_carrier_under_configured_company(void **state)
{
	struct porter_ble_event ev = event();
	struct ble_credential c;
	const char *why;
	uint8_t v2[BLE_PAYLOAD_LEN];
	memcpy(v2, payload, sizeof(v2));
	ev.company_id = 0xFFFF;
	ev.manufacturer_data = payload;
	ev.manufacturer_data_len = sizeof(payload);
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), 1);
	assert_int_equal(ble_advert_parse(&ev, 0x004C, &c, &why), 0);
	v2[0] = 9;
	ev.manufacturer_data = v2;
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), -EINVAL);
	assert_string_equal(why, "unknown credential version");
}

static void test_uuid_carrier(void **state)
{
	struct porter_ble_event ev = event();
	struct ble_credential c;
	const char *why;
	const char *uuids[] = {"0000180f-0000-1000-8000-00805f9b34fb",
	                       "706f7274-011b-a9ac-3645-938d896e5fa7"};
	ev.service_uuids = uuids;
	ev.n_service_uuids = 2;
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), 1);
	uint8_t p[BLE_PAYLOAD_LEN];
	ble_credential_encode(&c, p);
	assert_memory_equal(p, payload, sizeof(p));
	uuids[1] = "706f7274-011b-a9ac-3645-938d896e5fzz";
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), -EINVAL);
	uuids[1] = "706f7274-011b";
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), -EINVAL);
	/* an older host's event has no list: not looked at */
	ev.size = offsetof(struct porter_ble_event, service_uuids);
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), 0);
	ev.size = sizeof(ev);
	ev.n_service_uuids = BLE_MAX_UUIDS + 1;
	assert_int_equal(ble_advert_parse(&ev, 0xFFFF, &c, &why), -EINVAL);
	assert_non_null(strstr(why, "service UUIDs"));
}

static const struct ble_proximity_config near3 = {
        .rssi_min_dbm = -50, .samples = 3, .window_us = 2000000};

static void test_proximity_needs_n_strong_samples_in_window(void **state)
{
	struct ble_proximity *p = ble_proximity_new(64, 64);
	uint64_t t = 1000000;
	/* far away: never near, however many adverts */
	for (int i = 0; i < 20; i++)
		assert_int_equal(ble_proximity_sample(p, "r1", payload, -80, t += 100000, &near3),
		                 BLE_FAR);
	/* two strong, then a gap longer than the window, then two: not yet */
	assert_int_equal(ble_proximity_sample(p, "r1", payload, -45, t += 100000, &near3), BLE_FAR);
	assert_int_equal(ble_proximity_sample(p, "r1", payload, -45, t += 100000, &near3), BLE_FAR);
	t += 3000000;
	assert_int_equal(ble_proximity_sample(p, "r1", payload, -50, t += 100000, &near3), BLE_FAR);
	assert_int_equal(ble_proximity_sample(p, "r1", payload, -45, t += 100000, &near3), BLE_FAR);
	/* the same payload at another reader is counted apart */
	assert_int_equal(ble_proximity_sample(p, "r2", payload, -45, t, &near3), BLE_FAR);
	assert_int_equal(ble_proximity_sample(p, "r1", payload, -45, t += 100000, &near3),
	                 BLE_NEAR);
	/* fires once */
	assert_int_equal(ble_proximity_sample(p, "r1", payload, -30, t += 100000, &near3),
	                 BLE_FIRED);
	ble_proximity_free(p);
}

static void test_proximity_memory_is_bounded(void **state)
{
	struct ble_proximity *p = ble_proximity_new(64, 64);
	uint8_t other[BLE_PAYLOAD_LEN] = {1};
	for (uint32_t i = 0; i < 10000; i++) {
		memcpy(other + 4, &i, sizeof(i));
		ble_proximity_sample(p, "r1", other, -90, 1000 + i, &near3);
	}
	assert_true(ble_proximity_devices(p) <= 64);
	/* the newest devices are the ones followed */
	uint32_t last = 9999;
	memcpy(other + 4, &last, sizeof(last));
	ble_proximity_sample(p, "r1", other, -40, 20000, &near3);
	ble_proximity_sample(p, "r1", other, -40, 20001, &near3);
	assert_int_equal(ble_proximity_sample(p, "r1", other, -40, 20002, &near3), BLE_NEAR);
	ble_proximity_free(p);
}

static void test_cooldown_per_member(void **state)
{
	struct ble_proximity *p = ble_proximity_new(64, 16);
	ble_proximity_cool(p, "m-1", 1000, 500);
	assert_true(ble_proximity_cooling(p, "m-1", 1000));
	assert_true(ble_proximity_cooling(p, "m-1", 1499));
	assert_false(ble_proximity_cooling(p, "m-1", 1500));
	assert_false(ble_proximity_cooling(p, "m-2", 1000));
	/* many members: bounded, and the newest still cools */
	char id[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "x-%d", i);
		ble_proximity_cool(p, id, 2000 + (uint64_t)i, 10000);
	}
	assert_true(ble_proximity_cooling(p, id, 3000));
	ble_proximity_free(p);
}

static void test_replay_cache_refuses_used_and_older_counters(void **state)
{
	struct ble_replay *r = ble_replay_new(4);
	assert_false(ble_replay_used(r, "m-1", 100));
	assert_int_equal(ble_replay_use(r, "m-1", 100, 99), 0);
	assert_true(ble_replay_used(r, "m-1", 100));
	assert_true(ble_replay_used(r, "m-1", 99));
	assert_false(ble_replay_used(r, "m-1", 101));
	assert_false(ble_replay_used(r, "m-2", 100));
	ble_replay_free(r);
}

static void test_replay_cache_bounds(void **state)
{
	struct ble_replay *r = ble_replay_new(4);
	char id[16];
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "m-%d", i);
		assert_int_equal(ble_replay_use(r, id, 100, 99), 0);
	}
	/* full of live entries: refused, nothing forgotten */
	assert_int_equal(ble_replay_use(r, "m-9", 100, 99), -ENOSPC);
	assert_true(ble_replay_used(r, "m-0", 100));
	/* once they are older than the drift window, they make room */
	assert_int_equal(ble_replay_use(r, "m-9", 110, 105), 0);
	assert_int_equal(ble_replay_size(r), 1);
	assert_true(ble_replay_used(r, "m-9", 110));
	ble_replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_service_data_carrier),
	        cmocka_unit_test(test_manufacturer_carrier_under_configured_company),
	        cmocka_unit_test(test_uuid_carrier),
	        cmocka_unit_test(test_proximity_needs_n_strong_samples_in_window),
	        cmocka_unit_test(test_proximity_memory_is_bounded),
	        cmocka_unit_test(test_cooldown_per_member),
	        cmocka_unit_test(test_replay_cache_refuses_used_and_older_counters),
	        cmocka_unit_test(test_replay_cache_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
