/* SPDX-License-Identifier: MIT */
/*
 * bench_ble.c: what phone check-in costs the host's thread in a crowded
 * lobby, beside the PIN hook's latency in the same run.
 *
 * porter.so is loaded through porter.h on the reference host loop, with a
 * site of `phones` members, each with a PIN and a sealed BLE key (made with
 * porter's own sealing, as porter-admin does). Synthetic adverts go through
 * on_ble as a host's BLE stack would deliver them:
 *   - the crowd: every phone in range but far (-80 dBm), advertising its
 *     current token in manufacturer data, round after round: the common
 *     case, which must cost little (a parse and a table look-up);
 *   - the approach: each phone in turn held next to the reader (3 adverts
 *     at -40 dBm), the third deciding (token check + engine);
 *   - on_pin for a known PIN between crowd adverts, in the same run.
 * Not a test: it prints figures for BENCHMARKS.md.
 *
 *   bench_ble PORTER_SO [phones] [rounds]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ble_keys.h"
#include "ble_token.h"
#include "host_loop.h"

struct bench {
	struct host_loop *loop;
	struct host_plugin plugin;
	porter_plugin *porter;
	char dir[64];
	size_t phones;
	uint8_t (*payloads)[BLE_PAYLOAD_LEN];
	size_t completed;
	uint64_t next_request;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_complete(void *userdata, uint64_t request_id, const struct porter_result *r)
{
	((struct bench *)userdata)->completed++;
}

static void quiet_log(void *userdata, uint32_t level, const char *message)
{
	if (level <= PORTER_LOG_ERROR)
		fprintf(stderr, "porter: %s\n", message);
}

static void make_site(struct bench *b)
{
	uint8_t site[32], seal[BLE_KEY_LEN], key[BLE_KEY_LEN], sealed[PERSON_BLE_SEALED_LEN];
	uint8_t mac[32];
	char path[128], pin[16];
	struct ble_hmac *h = ble_hmac_new();
	snprintf(b->dir, sizeof(b->dir), "/tmp/porter-bench-ble-XXXXXX");
	if (!h || !mkdtemp(b->dir))
		exit(1);
	for (size_t i = 0; i < sizeof(site); i++)
		site[i] = (uint8_t)(i * 31 + 7);
	snprintf(path, sizeof(path), "%s/pin.key", b->dir);
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < sizeof(site); i++)
		fprintf(f, "%02x", site[i]);
	fclose(f);
	chmod(path, 0600);
	ble_seal_key(site, seal);
	uint64_t counter = ble_token_counter((int64_t)time(NULL), 30);
	b->payloads = calloc(b->phones, sizeof(*b->payloads));
	snprintf(path, sizeof(path), "%s/directory.json", b->dir);
	f = fopen(path, "w");
	fprintf(f, "{\"porter_directory\": 1, \"people\": [\n");
	for (size_t i = 0; i < b->phones; i++) {
		char id[32];
		unsigned len = 0;
		snprintf(id, sizeof(id), "m-%zu", i);
		snprintf(pin, sizeof(pin), "%08zu", 10000000 + i);
		HMAC(EVP_sha256(), site, sizeof(site), (unsigned char *)pin, 8, mac, &len);
		for (size_t k = 0; k < sizeof(key); k++)
			key[k] = (uint8_t)(k * 7 + 1);
		key[0] = (uint8_t)i; /* a key per phone */
		key[1] = (uint8_t)(i >> 8);
		key[2] = (uint8_t)(i >> 16);
		ble_key_seal(seal, id, key, sealed);
		struct ble_credential c;
		ble_token_make(h, key, counter, &c);
		ble_credential_encode(&c, b->payloads[i]);
		fprintf(f,
		        "%s{\"id\": \"%s\", \"kind\": \"member\", \"name\": \"M\", \"pin_hmac\": "
		        "\"",
		        i ? ",\n" : "", id);
		for (unsigned k = 0; k < len; k++)
			fprintf(f, "%02x", mac[k]);
		fprintf(f, "\", \"ble_key\": \"");
		for (size_t k = 0; k < sizeof(sealed); k++)
			fprintf(f, "%02x", sealed[k]);
		fprintf(f, "\"}");
	}
	fprintf(f, "]}\n");
	fclose(f);
	ble_hmac_free(h);
}

static void cleanup_site(struct bench *b)
{
	const char *names[] = {"pin.key",         "directory.json",  "presence.db",
	                       "presence.db-wal", "presence.db-shm", ".presence.db.marker"};
	char path[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", b->dir, names[i]);
		unlink(path);
	}
	rmdir(b->dir);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *s, size_t n)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	printf("%-40s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64 " %8zu\n", what, s[n / 2],
	       s[n * 99 / 100], s[n * 999 / 1000], s[n - 1], n);
}

static int advert(struct bench *b, size_t phone, int rssi, uint64_t *ret_ns)
{
	char address[18];
	snprintf(address, sizeof(address), "02:00:00:00:%02zx:%02zx", phone >> 8 & 0xff,
	         phone & 0xff);
	struct porter_ble_event ev = {.size = sizeof(ev),
	                              .rssi_dbm = rssi,
	                              .request_id = ++b->next_request,
	                              .reader_id = "lobby",
	                              .address = address,
	                              .company_id = 0xFFFF,
	                              .tx_power_dbm = INT32_MIN,
	                              .manufacturer_data = b->payloads[phone],
	                              .manufacturer_data_len = BLE_PAYLOAD_LEN};
	uint64_t t0 = now_ns();
	int r = b->plugin.descriptor->on_ble(b->porter, &ev);
	*ret_ns = now_ns() - t0;
	return r;
}

static int pin(struct bench *b, size_t i, uint64_t *ret_ns)
{
	char text[16];
	snprintf(text, sizeof(text), "%08zu", 10000000 + i);
	struct porter_pin_event ev = {.size = sizeof(ev),
	                              .request_id = ++b->next_request,
	                              .reader_id = "keypad",
	                              .pin = text,
	                              .pin_len = 8};
	uint64_t t0 = now_ns();
	int r = b->plugin.descriptor->on_pin(b->porter, &ev);
	*ret_ns = now_ns() - t0;
	return r;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	char err[512], config[1024];
	if (argc < 2) {
		fprintf(stderr, "usage: bench_ble PORTER_SO [phones] [rounds]\n");
		return 2;
	}
	b.phones = argc > 2 ? strtoul(argv[2], NULL, 10) : 500;
	size_t rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 400;
	struct host_loop_callbacks cb = {.userdata = &b, .log = quiet_log, .complete = on_complete};
	b.loop = host_loop_new(&cb);
	if (host_plugin_load(argv[1], &b.plugin, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	make_site(&b);
	snprintf(config, sizeof(config),
	         "{\"local\": {\"directory\": \"%s/directory.json\", \"database\": "
	         "\"%s/presence.db\", \"pin_key_file\": \"%s/pin.key\"}, \"repeat_window_ms\": 0,"
	         " \"ble\": {\"samples\": 3, \"rssi_min_dbm\": -50}}",
	         b.dir, b.dir, b.dir);
	if (b.plugin.descriptor->init(host_loop_services(b.loop), config, strlen(config), NULL,
	                              NULL, &b.porter) < 0) {
		fprintf(stderr, "init failed\n");
		return 1;
	}
	size_t n = b.phones * rounds, n_pins = 0, pending = 0;
	uint64_t *s = calloc(n, sizeof(*s)), *p = calloc(n / 100 + 1, sizeof(*p));
	printf("%zu phones in range of one reader, %zu rounds\n", b.phones, rounds);
	printf("%-40s %8s %8s %8s %9s %8s\n", "hook latency (ns)", "p50", "p99", "p99.9", "max",
	       "calls");
	uint64_t t0 = now_ns(), in_hooks = 0;
	for (size_t i = 0; i < n; i++) {
		if (advert(&b, i % b.phones, -80, &s[i]) != PORTER_VERDICT_NO_OPINION)
			return 1;
		in_hooks += s[i];
		if (i % 100 == 99) { /* a PIN typed meanwhile, at another reader */
			pending += pin(&b, n_pins % b.phones, &p[n_pins]) == PORTER_VERDICT_PENDING;
			n_pins++;
			host_loop_run_once(b.loop, 0);
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	report("on_ble, crowd far away (no opinion)", s, n);
	report("on_pin, known PIN, beside the crowd", p, n_pins);
	printf("adverts/s, hook alone: %.0f; with the loop and PINs: %.0f\n",
	       (double)n / ((double)in_hooks / 1e9), (double)n / secs);
	while (b.completed < pending)
		host_loop_run_once(b.loop, 100);
	/* Each phone held next to the reader; its PIN checked it in above, so
	 * this is a check-out: the deciding advert runs the whole path. */
	size_t decided = 0;
	uint64_t *d = calloc(b.phones, sizeof(*d)), *q = calloc(2 * b.phones, sizeof(*q));
	size_t nq = 0, base = b.completed;
	for (size_t i = 0; i < b.phones; i++) {
		for (int k = 0; k < 2; k++)
			advert(&b, i, -40, &q[nq++]);
		int r = advert(&b, i, -40, &d[decided]);
		if (r == PORTER_VERDICT_PENDING)
			decided++;
		else if (getenv("BENCH_DEBUG"))
			fprintf(stderr, "phone %zu: %d\n", i, r);
		host_loop_run_once(b.loop, 0);
	}
	report("on_ble, near, not yet (2 of 3 samples)", q, nq);
	report("on_ble, deciding advert (token + engine)", d, decided);
	while (b.completed < base + decided)
		host_loop_run_once(b.loop, 100);
	b.plugin.descriptor->shutdown(b.porter);
	host_loop_drop_invokes(b.loop);
	host_plugin_unload(&b.plugin);
	host_loop_free(b.loop);
	cleanup_site(&b);
	free(s);
	free(p);
	free(d);
	free(q);
	free(b.payloads);
	return decided == b.phones ? 0 : 1;
}
