/* SPDX-License-Identifier: MIT */
/* ble_proximity.c: RSSI over several samples, and cooldowns. See ble_proximity.h. */
#include "ble_proximity.h"

#include <stdlib.h>
#include <string.h>

/* Slots looked at for one key: a bound on the work per advert. A key not
 * found in its probe run takes the stalest slot of the run. */
#define PROBES 8

struct device {
	uint64_t reader_hash;
	uint64_t last_us; /* 0: never used */
	uint8_t payload[BLE_PAYLOAD_LEN];
	bool fired;
	uint8_t n;    /* strong samples held in `at` */
	uint8_t head; /* ring index of the oldest */
	uint64_t at[BLE_PROXIMITY_MAX_SAMPLES];
};

struct member {
	uint64_t hash;
	uint64_t until_us; /* 0: free */
};

struct ble_proximity {
	struct device *devices;
	struct member *members;
	size_t n_devices, n_members; /* powers of two */
};

/* FNV-1a, 64 bits: ids and payloads are short, and a collision only mixes
 * two phones' samples or cooldowns (never lets anyone in: tokens decide). */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv_str(const char *s)
{
	return fnv(0xcbf29ce484222325ull, s, strlen(s));
}

static size_t pow2(size_t n)
{
	size_t p = PROBES;
	while (p < n)
		p <<= 1;
	return p;
}

struct ble_proximity *ble_proximity_new(size_t devices, size_t members)
{
	struct ble_proximity *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->n_devices = pow2(devices);
	p->n_members = pow2(members);
	p->devices = calloc(p->n_devices, sizeof(*p->devices));
	p->members = calloc(p->n_members, sizeof(*p->members));
	if (!p->devices || !p->members)
		return ble_proximity_free(p);
	return p;
}

struct ble_proximity *ble_proximity_free(struct ble_proximity *p)
{
	if (!p)
		return NULL;
	free(p->devices);
	free(p->members);
	free(p);
	return NULL;
}

void ble_proximity_clear(struct ble_proximity *p)
{
	memset(p->devices, 0, p->n_devices * sizeof(*p->devices));
	memset(p->members, 0, p->n_members * sizeof(*p->members));
}

size_t ble_proximity_devices(const struct ble_proximity *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_devices; i++)
		n += p->devices[i].last_us != 0;
	return n;
}

static struct device *find_device(struct ble_proximity *p, uint64_t reader_hash,
                                  const uint8_t payload[BLE_PAYLOAD_LEN])
{
	uint64_t h = fnv(reader_hash, payload, BLE_PAYLOAD_LEN);
	struct device *stalest = NULL;
	for (size_t k = 0; k < PROBES; k++) {
		struct device *d = &p->devices[(h + k) & (p->n_devices - 1)];
		if (d->last_us && d->reader_hash == reader_hash &&
		    memcmp(d->payload, payload, BLE_PAYLOAD_LEN) == 0)
			return d;
		if (!stalest || d->last_us < stalest->last_us)
			stalest = d;
	}
	memset(stalest, 0, sizeof(*stalest));
	stalest->reader_hash = reader_hash;
	memcpy(stalest->payload, payload, BLE_PAYLOAD_LEN);
	return stalest;
}

enum ble_proximity_state ble_proximity_sample(struct ble_proximity *p, const char *reader_id,
                                              const uint8_t payload[BLE_PAYLOAD_LEN],
                                              int32_t rssi_dbm, uint64_t now_us,
                                              const struct ble_proximity_config *c)
{
	struct device *d = find_device(p, fnv_str(reader_id), payload);
	d->last_us = now_us ? now_us : 1;
	if (d->fired)
		return BLE_FIRED;
	if (rssi_dbm < c->rssi_min_dbm)
		return BLE_FAR;
	uint32_t want = c->samples;
	if (want < 1)
		want = 1;
	if (want > BLE_PROXIMITY_MAX_SAMPLES)
		want = BLE_PROXIMITY_MAX_SAMPLES;
	/* Drop strong samples older than the window, then add this one. */
	while (d->n && d->at[d->head] + c->window_us < now_us) {
		d->head = (uint8_t)((d->head + 1) % BLE_PROXIMITY_MAX_SAMPLES);
		d->n--;
	}
	if (d->n == BLE_PROXIMITY_MAX_SAMPLES) {
		d->head = (uint8_t)((d->head + 1) % BLE_PROXIMITY_MAX_SAMPLES);
		d->n--;
	}
	d->at[(d->head + d->n) % BLE_PROXIMITY_MAX_SAMPLES] = now_us;
	d->n++;
	if (d->n < want)
		return BLE_FAR;
	d->fired = true;
	return BLE_NEAR;
}

static struct member *find_member(const struct ble_proximity *p, uint64_t h, bool create,
                                  uint64_t now_us)
{
	struct member *soonest = NULL;
	for (size_t k = 0; k < PROBES; k++) {
		struct member *m = &p->members[(h + k) & (p->n_members - 1)];
		if (m->until_us && m->hash == h)
			return m;
		if (!soonest || m->until_us < soonest->until_us)
			soonest = m;
	}
	if (!create)
		return NULL;
	/* An expired slot is free; else the cooldown nearest its end goes. */
	soonest->hash = h;
	soonest->until_us = 0;
	(void)now_us;
	return soonest;
}

void ble_proximity_cool(struct ble_proximity *p, const char *person_id, uint64_t now_us,
                        uint64_t cooldown_us)
{
	struct member *m = find_member(p, fnv_str(person_id), true, now_us);
	m->until_us = now_us + cooldown_us;
	if (!m->until_us)
		m->until_us = 1;
}

bool ble_proximity_cooling(const struct ble_proximity *p, const char *person_id, uint64_t now_us)
{
	const struct member *m = find_member(p, fnv_str(person_id), false, now_us);
	return m && now_us < m->until_us;
}
