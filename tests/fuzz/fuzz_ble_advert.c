/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ble_advert.c: libFuzzer target for porter's BLE advert reading
 * (plugin/ble_advert.c) and the proximity filter behind it.
 *
 * The input is cut into an advert as a host or porter's BlueZ driver hands
 * it over: a control byte (which fields are there, the company id's low
 * byte, the struct size an older host would set), then manufacturer data,
 * service data, a service data UUID and a list of service UUIDs, each in an
 * allocation of its exact size so ASan sees any read past it. Whatever the
 * advert, the reader answers found / not porter's / refused with a reason,
 * and a credential it found encodes back to a payload it decodes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ble_advert.h"
#include "ble_proximity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next piece: a length byte, then that many bytes (or what is left). */
static uint8_t *piece(const uint8_t **data, size_t *size, size_t *ret_len)
{
	if (*size == 0) {
		*ret_len = 0;
		return NULL;
	}
	size_t n = **data;
	(*data)++;
	(*size)--;
	if (n > *size)
		n = *size;
	uint8_t *p = malloc(n ? n : 1);
	if (p && n)
		memcpy(p, *data, n);
	*data += n;
	*size -= n;
	*ret_len = n;
	return p;
}

static char *text(const uint8_t **data, size_t *size)
{
	size_t n;
	uint8_t *p = piece(data, size, &n);
	char *s = p ? realloc(p, n + 1) : NULL;
	if (!s) {
		free(p);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ble_proximity *prox;
	if (!prox)
		prox = ble_proximity_new(64, 64);
	if (size < 2 || size > 4096)
		return 0;
	uint8_t control = data[0], company = data[1];
	data += 2;
	size -= 2;
	struct porter_ble_event ev = {.size = sizeof(ev),
	                              .rssi_dbm = -40,
	                              .reader_id = "r",
	                              .address = "00:00:00:00:00:00",
	                              .tx_power_dbm = INT32_MIN};
	ev.company_id = control & 1 ? 0xFF00u | company : 0xFFFFFFFFu;
	if (control & 2)
		ev.size = offsetof(struct porter_ble_event, service_uuids); /* an older host */
	uint8_t *mfr = piece(&data, &size, &ev.manufacturer_data_len);
	uint8_t *svc = piece(&data, &size, &ev.service_data_len);
	ev.manufacturer_data = mfr;
	ev.service_data = svc;
	char *svc_uuid = control & 4 ? text(&data, &size) : NULL;
	ev.service_uuid = svc_uuid;
	char *uuids[80];
	size_t n = 0;
	while (size && n < sizeof(uuids) / sizeof(uuids[0]))
		if (!(uuids[n++] = text(&data, &size)))
			n--;
	ev.service_uuids = (const char *const *)uuids;
	ev.n_service_uuids = n;

	struct ble_credential c;
	const char *why = NULL;
	int r = ble_advert_parse(&ev, 0xFFFF, &c, &why);
	if (r < 0 && (r != -EINVAL || !why))
		abort();
	if (r == 1) {
		uint8_t p[BLE_PAYLOAD_LEN], again[BLE_PAYLOAD_LEN];
		struct ble_credential back;
		ble_credential_encode(&c, p);
		if (ble_credential_decode(p, sizeof(p), &back) != 0)
			abort();
		ble_credential_encode(&back, again); /* fields, not the struct's padding */
		if (memcmp(p, again, sizeof(p)) != 0)
			abort();
		struct ble_proximity_config near = {-50, 2, 1000000};
		ble_proximity_sample(prox, "r", p, -40 - (control >> 4), control, &near);
		if (ble_proximity_devices(prox) > 64)
			abort();
	}
	for (size_t i = 0; i < n; i++)
		free(uuids[i]);
	free(svc_uuid);
	free(mfr);
	free(svc);
	return 0;
}
