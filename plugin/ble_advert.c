/* SPDX-License-Identifier: MIT */
/* ble_advert.c: the credential carriers of a BLE advert. See ble_advert.h. */
#include "ble_advert.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The 12 payload bytes of a porter UUID, or -EINVAL. */
static int uuid_payload(const char *uuid, uint8_t ret[BLE_PAYLOAD_LEN])
{
	size_t n = 0;
	for (size_t i = sizeof(BLE_UUID_PREFIX) - 1; i < BLE_UUID_TEXT_LEN; i++) {
		if (i == 13 || i == 18 || i == 23) {
			if (uuid[i] != '-')
				return -EINVAL;
			continue;
		}
		int hi = hex_nibble(uuid[i]), lo = hex_nibble(uuid[i + 1]);
		if (hi < 0 || lo < 0 || n == BLE_PAYLOAD_LEN)
			return -EINVAL;
		ret[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return n == BLE_PAYLOAD_LEN ? 0 : -EINVAL;
}

static int decoded(int r, const char **ret_reason)
{
	if (r == -EPROTO)
		*ret_reason = "unknown credential version";
	else if (r < 0)
		*ret_reason = "credential of the wrong size";
	return r < 0 ? -EINVAL : 1;
}

int ble_advert_parse(const struct porter_ble_event *ev, uint32_t company_id,
                     struct ble_credential *ret, const char **ret_reason)
{
	*ret_reason = NULL;
	if (ev->service_data && ev->service_uuid &&
	    strncasecmp(ev->service_uuid, BLE_SERVICE_UUID, sizeof(BLE_SERVICE_UUID)) == 0)
		return decoded(ble_credential_decode(ev->service_data, ev->service_data_len, ret),
		               ret_reason);
	if (ev->manufacturer_data && ev->company_id == company_id)
		return decoded(ble_credential_decode(ev->manufacturer_data,
		                                     ev->manufacturer_data_len, ret),
		               ret_reason);
	if (!PORTER_HAS_FIELD(ev, struct porter_ble_event, n_service_uuids) || !ev->service_uuids)
		return 0;
	if (ev->n_service_uuids > BLE_MAX_UUIDS) {
		*ret_reason = "more service UUIDs than an advert holds";
		return -EINVAL;
	}
	for (size_t i = 0; i < ev->n_service_uuids; i++) {
		const char *u = ev->service_uuids[i];
		if (!u || strncasecmp(u, BLE_UUID_PREFIX, sizeof(BLE_UUID_PREFIX) - 1) != 0)
			continue;
		uint8_t payload[BLE_PAYLOAD_LEN];
		if (strnlen(u, BLE_UUID_TEXT_LEN + 1) != BLE_UUID_TEXT_LEN ||
		    uuid_payload(u, payload) < 0) {
			*ret_reason = "porter service UUID that is not a UUID";
			return -EINVAL;
		}
		return decoded(ble_credential_decode(payload, sizeof(payload), ret), ret_reason);
	}
	return 0;
}
