/* SPDX-License-Identifier: MIT */
/*
 * fuzz_keypad.c: libFuzzer target for the keypad hooks, down the whole
 * decision path: check-in and check-out, the recorder, cancel and repeats.
 *
 * Keys and whole PINs come from hardware on a wire anyone can reach. The site
 * has people with short known PINs (written with the same library calls as
 * the unit tests), so fuzzed keys do hit real PINs. Every input runs against
 * a fresh porter and an empty database, so a crash reproduces from its input
 * alone.
 *
 * Input: first byte 0: the rest is whole PINs for on_pin, split at '#' (NUL
 * bytes included). Otherwise each byte is one event:
 *   0xF0  a pause past the inter-key timeout (and the repeat window);
 *   0xF1  the host cancels the last pending request (if not completed);
 *   0xF2  wait until every change is durable and its requests told;
 *   0xF3  a key that is no keypad key;
 *   0xF4  a short pause (100 ms);
 *   0xF5  wait until a change is durable, without telling porter yet (so a
 *         cancel that follows reverses it rather than withdraws it);
 *   any other byte: a key, '0'..'9', '*' and '#' as themselves, the rest
 *   mapped onto "0123456789*#" by value. Every seventh key goes to an
 *   entry-only reader.
 *
 * After each input porter must have kept the contract: no completion after
 * cancel or twice, one door unlock per grant, nothing left in flight.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "fake_host.h"
#include "keypad.h"
#include "plugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 400 /* below FAKE_MAX: every completion is recorded */
#define SITE_CONFIG                                                                    \
	"\"keypad\": {\"pin_max_length\": 8}, \"repeat_window_ms\": 500, "             \
	"\"readers\": [{\"id\": \"entry\", \"direction\": \"entry\"}], "               \
	"\"lockout\": {\"max_attempts\": 5, \"window_s\": 10, \"base_lockout_s\": 1, " \
	"\"max_lockout_s\": 2}"

static struct fake_host host;
static struct fake_site site;
static porter_plugin *plugin;

static uint64_t next_request;
static uint64_t last_pending;
static bool cancelled[MAX_REQUESTS];
static size_t n_sync_grants;

static char key_text[256], directory_text[4096];

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;
	if (!f || n == size - 1)
		abort();
	buf[n] = '\0';
	fclose(f);
}

static void spill(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* The key and directory once, made by the library calls the unit tests use;
 * kept in memory so nothing is left on disk between inputs. */
static void make_site_text(void)
{
	char t[4][32];
	struct fake_person people[] = {
	        {"m-1", "member", "Fuzz Member", "1234", NULL, NULL},
	        {"m-2", "member", "Other Member", "5678", NULL, NULL},
	        {"m-3", "member", "Former Member", "4321", NULL, fake_time(-60, t[0])},
	        {"v-1", "visitor", "Fuzz Visitor", "2468", fake_time(-86400, t[1]),
	         fake_time(30 * 86400, t[2])},
	        {"v-2", "visitor", "Late Visitor", "1357", NULL, fake_time(-60, t[3])},
	        {"v-3", "visitor", "Shared Pin", "5678", NULL, fake_time(30 * 86400, t[2])},
	};
	fake_site_create(&site, people, sizeof(people) / sizeof(people[0]), SITE_CONFIG);
	slurp(site.key_path, key_text, sizeof(key_text));
	slurp(site.directory_path, directory_text, sizeof(directory_text));
	fake_site_destroy(&site);
}

/* A fresh site for one input, in memory-backed storage where there is one:
 * disk syncs are not what a fuzzer should spend its time on. */
static void site_create(void)
{
	snprintf(site.dir, sizeof(site.dir), "/dev/shm/porter-fuzz-XXXXXX");
	if (!mkdtemp(site.dir)) {
		snprintf(site.dir, sizeof(site.dir), "/tmp/porter-fuzz-XXXXXX");
		if (!mkdtemp(site.dir))
			abort();
	}
	snprintf(site.key_path, sizeof(site.key_path), "%s/pin.key", site.dir);
	snprintf(site.directory_path, sizeof(site.directory_path), "%s/directory.json", site.dir);
	snprintf(site.database_path, sizeof(site.database_path), "%s/presence.db", site.dir);
	spill(site.key_path, key_text);
	spill(site.directory_path, directory_text);
	fake_site_set_config(&site, SITE_CONFIG);
}

/* Run the callbacks porter's thread has queued so far, without waiting. */
static void run_queued_invokes(void)
{
	struct fake_invoke batch[FAKE_MAX];
	pthread_mutex_lock(&host.lock);
	size_t n = host.n_invokes;
	memcpy(batch, host.invokes, n * sizeof(batch[0]));
	host.n_invokes = 0;
	pthread_mutex_unlock(&host.lock);
	for (size_t i = 0; i < n; i++)
		batch[i].cb(batch[i].userdata);
}

static bool invokes_queued(void)
{
	pthread_mutex_lock(&host.lock);
	bool queued = host.n_invokes > 0;
	pthread_mutex_unlock(&host.lock);
	return queued;
}

/* Wait (up to 100 ms) for porter's thread to queue an invoke; it signals. */
static void wait_invoke(void)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += 100000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&host.lock);
	if (host.n_invokes == 0)
		pthread_cond_timedwait(&host.cond, &host.lock, &deadline);
	pthread_mutex_unlock(&host.lock);
}

/* Until nothing is in flight: every change durable and its requests told. */
static void drain(void)
{
	for (int i = 0; plugin->engine.n_in_flight > 0 || invokes_queued(); i++) {
		if (i > 200)
			abort(); /* 20 s: the recorder is stuck */
		if (plugin->engine.n_in_flight > 0)
			wait_invoke();
		run_queued_invokes();
	}
}

static void check(int verdict, uint64_t request_id)
{
	if (verdict == PORTER_VERDICT_GRANT)
		n_sync_grants++;
	if (verdict == PORTER_VERDICT_PENDING)
		last_pending = request_id;
}

static bool completed(uint64_t request_id)
{
	for (size_t i = 0; i < host.n_completions; i++)
		if (host.completions[i].request_id == request_id)
			return true;
	return false;
}

static void check_contract(void)
{
	size_t grants = n_sync_grants;
	for (size_t i = 0; i < host.n_completions; i++) {
		const struct fake_completion *c = &host.completions[i];
		if (c->request_id >= MAX_REQUESTS || cancelled[c->request_id])
			abort(); /* complete() after cancel() */
		for (size_t j = 0; j < i; j++)
			if (host.completions[j].request_id == c->request_id)
				abort(); /* complete() twice */
		grants += c->verdict == PORTER_VERDICT_GRANT;
	}
	if (host.n_completions < FAKE_MAX && host.n_doors < FAKE_MAX && host.n_doors != grants)
		abort(); /* a grant without its door, or a door without a grant */
	if (plugin->engine.n_in_flight != 0)
		abort();
}

static uint32_t key_for(uint8_t b)
{
	static const char keys[] = "0123456789*#";
	if ((b >= '0' && b <= '9') || b == '*' || b == '#')
		return b;
	return (uint8_t)keys[b % 12];
}

static void whole_pins(const uint8_t *data, size_t size)
{
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '#')
			continue;
		uint64_t id = ++next_request;
		struct porter_pin_event ev = {.size = sizeof(ev),
		                              .request_id = id,
		                              .reader_id = "front",
		                              .pin = (const char *)data + start,
		                              .pin_len = i - start};
		check(keypad_on_pin(plugin, &ev), id);
		start = i + 1;
		if (next_request >= MAX_REQUESTS - 1)
			return;
	}
}

static void key_events(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size && next_request < MAX_REQUESTS - 1; i++) {
		uint32_t key;
		switch (data[i]) {
		case 0xF0:
			fake_host_advance(&host, 6000000);
			continue;
		case 0xF1:
			if (last_pending && !completed(last_pending)) {
				cancelled[last_pending] = true;
				plugin_cancel(plugin, last_pending);
			}
			continue;
		case 0xF2:
			drain();
			continue;
		case 0xF3:
			key = 'x';
			break;
		case 0xF4:
			fake_host_advance(&host, 100000);
			continue;
		case 0xF5:
			if (plugin->engine.n_in_flight > 0)
				wait_invoke();
			continue;
		default:
			key = key_for(data[i]);
		}
		uint64_t id = ++next_request;
		struct porter_key_event ev = {.size = sizeof(ev),
		                              .key = key,
		                              .request_id = id,
		                              .reader_id = i % 7 == 6 ? "entry" : "front"};
		check(keypad_on_key(plugin, &ev), id);
		run_queued_invokes(); /* completions arrive in between, as on a loop */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool host_ready;
	if (!host_ready) {
		fake_host_init(&host);
		make_site_text();
	}
	host_ready = true;
	site_create();
	host.n_feedback = host.n_logs = host.n_doors = host.n_completions = 0;
	next_request = last_pending = n_sync_grants = 0;
	memset(cancelled, 0, sizeof(cancelled));
	fake_host_advance(&host, 20000000);
	if (plugin_init(&host.services, site.config, strlen(site.config), NULL, NULL, &plugin) < 0)
		abort();
	if (size > 0 && data[0] == 0)
		whole_pins(data + 1, size - 1);
	else
		key_events(data, size);
	drain();
	check_contract();
	plugin_shutdown(plugin);
	plugin = NULL;
	fake_site_destroy(&site);
	return 0;
}
