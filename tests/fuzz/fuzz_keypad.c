/* SPDX-License-Identifier: MIT */
/*
 * fuzz_keypad.c: libFuzzer target for the keypad hooks.
 *
 * Keys and whole PINs come from hardware on a wire anyone can reach. Input:
 * first byte 0: the rest is one whole PIN for on_pin (NUL bytes included);
 * otherwise every byte is one key press for on_key, 0xFF standing for a
 * pause long enough to time the entry out. Nobody in the directory can be
 * reached (16-digit PINs), so every verdict must be "no opinion" or a deny.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "keypad.h"
#include "plugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_host host;
static struct fake_site site;
static porter_plugin *plugin;

static void start(void)
{
	struct fake_person people[] = {{"m-1", "member", "Fuzz Member", "9081726354657483", NULL, NULL}};
	fake_host_init(&host);
	fake_site_create(&site, people, 1,
			 "\"keypad\": {\"pin_max_length\": 16}, "
			 "\"lockout\": {\"max_attempts\": 100, \"window_s\": 10, \"base_lockout_s\": 1}");
	if (plugin_init(&host.services, site.config, strlen(site.config), NULL, NULL, &plugin) < 0)
		abort();
}

static void check(int verdict)
{
	if (verdict == PORTER_VERDICT_GRANT || verdict == PORTER_VERDICT_PENDING || host.n_doors)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!plugin)
		start();
	host.n_feedback = host.n_logs = 0; /* keep the records from filling up */
	fake_host_advance(&host, 20000000); /* each input starts after any lockout */
	if (size > 0 && data[0] == 0) {
		struct porter_pin_event ev = {.size = sizeof(ev), .request_id = 1, .reader_id = "front",
					      .pin = (const char *)data + 1, .pin_len = size - 1};
		check(keypad_on_pin(plugin, &ev));
		return 0;
	}
	for (size_t i = 0; i < size; i++) {
		if (data[i] == 0xFF) {
			fake_host_advance(&host, 6000000);
			continue;
		}
		struct porter_key_event ev = {.size = sizeof(ev), .key = data[i], .request_id = i,
					      .reader_id = "front"};
		check(keypad_on_key(plugin, &ev));
	}
	return 0;
}
