/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c: libFuzzer target for config_parse().
 *
 * Config text comes from an admin UI or a file anyone with write access may
 * have edited; whatever it holds, parsing must end in 0 or a negative errno,
 * without a crash, a leak or a read past the `len` bytes it was given; and
 * the display texts it accepts render within their bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every field of each report, so a dangling or unterminated string
 * shows up under ASan here rather than in a host. */
static void check_report(void *userdata, const struct porter_report *report)
{
	size_t *total = userdata;

	*total += strlen(report->code) + strlen(report->path) + strlen(report->message);
	if (report->fix)
		*total += strlen(report->fix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, so ASan catches any read past it. */
	char *text = malloc(size ? size : 1);
	struct config config;
	size_t total = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (config_parse(text, size, &config, check_report, &total) == 0) {
		(void)config_reader(&config, "front");
		/* Every site text the config accepted renders within its bound. */
		struct feedback_values v = {
		        .name = "Zoë", .seconds = 30, .min_digits = 4, .max_digits = 8};
		char shown[FEEDBACK_TEXT_MAX + 1];
		for (int id = 0; id < FEEDBACK_TEXT_COUNT; id++)
			if (feedback_text_render(id, config.texts[id], &v, shown, sizeof(shown)) >
			    FEEDBACK_TEXT_MAX)
				abort();
	}
	free(text);
	return 0;
}
