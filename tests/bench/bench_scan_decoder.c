/* SPDX-License-Identifier: MIT */
/*
 * bench_scan_decoder.c: what decoding a scanner's reports costs, per report,
 * next to a bare loop over the same reports in the same run (copy each
 * report, read its bytes: the least any driver does with one). Not a test:
 * it prints figures for BENCHMARKS.md.
 *
 * The scans are a visitor pass's size (PAYLOAD bytes of base64url and dots),
 * sent the ways scanners send them: a keyboard-emulation scanner on US
 * layout (key-down report then all-up, Shift for capitals), one packing six
 * presses into a report, one sending every byte as Alt + keypad digits, and
 * a HID POS scanner (56-byte chunks). Each round feeds every report of
 * `scans` scans; the figure is the median round. Times are the thread's CPU
 * time, so the waits of a machine shared with other work do not count.
 *
 *   bench_scan_decoder [scans=2000] [rounds=11]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scan_decoder.h"

#define PAYLOAD 212 /* "PV1." and a signed pass in base64url, about */

struct stream {
	const char *name;
	enum scan_protocol protocol;
	bool report_id;
	size_t n, cap;
	uint8_t (*reports)[SCAN_MAX_REPORT];
	uint8_t *lens;
};

static void die(const char *why)
{
	fprintf(stderr, "bench_scan_decoder: %s\n", why);
	exit(1);
}

/* CPU time of this thread, ns. */
static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void add(struct stream *s, const uint8_t *report, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->reports = realloc(s->reports, s->cap * sizeof(*s->reports));
		s->lens = realloc(s->lens, s->cap);
		if (!s->reports || !s->lens)
			die("out of memory");
	}
	memcpy(s->reports[s->n], report, len);
	s->lens[s->n++] = (uint8_t)len;
}

static void add_keys(struct stream *s, uint8_t mods, const uint8_t *keys, size_t n)
{
	uint8_t r[8] = {mods};
	memcpy(r + 2, keys, n);
	add(s, r, sizeof(r));
}

/* A US keyboard's usage (and Shift) for a base64url character or '.'. */
static uint8_t us_usage(char c, uint8_t *mods)
{
	*mods = 0;
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(0x04 + c - 'a');
	if (c >= 'A' && c <= 'Z') {
		*mods = 0x02;
		return (uint8_t)(0x04 + c - 'A');
	}
	if (c >= '1' && c <= '9')
		return (uint8_t)(0x1E + c - '1');
	if (c == '0')
		return 0x27;
	if (c == '.')
		return 0x37;
	if (c == '_')
		*mods = 0x02;
	return 0x2D; /* '-' and '_' */
}

static void payload(char *out, unsigned seed)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	memcpy(out, "PV1.", 4);
	for (size_t i = 4; i < PAYLOAD; i++) {
		seed = seed * 1103515245u + 12345u;
		out[i] = i == 100 ? '.' : b64[(seed >> 16) & 63];
	}
}

static const uint8_t enter = 0x28;

static void keyboard_scan(struct stream *s, const char *code)
{
	for (size_t i = 0; i < PAYLOAD; i++) {
		uint8_t mods, usage = us_usage(code[i], &mods);
		add_keys(s, mods, &usage, 1);
		add_keys(s, 0, NULL, 0);
	}
	add_keys(s, 0, &enter, 1);
	add_keys(s, 0, NULL, 0);
}

/* Six presses per report, split where the Shift state changes. */
static void packed_scan(struct stream *s, const char *code)
{
	size_t i = 0;
	while (i < PAYLOAD) {
		uint8_t keys[6], mods0, n = 0;
		us_usage(code[i], &mods0);
		while (i < PAYLOAD && n < 6) {
			uint8_t mods, usage = us_usage(code[i], &mods);
			if (mods != mods0)
				break;
			keys[n++] = usage;
			i++;
		}
		add_keys(s, mods0, keys, n);
		add_keys(s, 0, NULL, 0);
	}
	add_keys(s, 0, &enter, 1);
	add_keys(s, 0, NULL, 0);
}

/* Alt + 0ddd on the keypad for every byte, the digits in one report. */
static void alt_scan(struct stream *s, const char *code)
{
	for (size_t i = 0; i < PAYLOAD; i++) {
		unsigned b = (unsigned char)code[i];
		uint8_t digits[4] = {0, (uint8_t)(b / 100), (uint8_t)(b / 10 % 10),
		                     (uint8_t)(b % 10)};
		uint8_t keys[4];
		for (int k = 0; k < 4; k++)
			keys[k] = digits[k] ? (uint8_t)(0x59 + digits[k] - 1) : 0x62;
		add_keys(s, 0x04, keys, 4);
		add_keys(s, 0, NULL, 0);
	}
	add_keys(s, 0, &enter, 1);
	add_keys(s, 0, NULL, 0);
}

static void hid_pos_scan(struct stream *s, const char *code)
{
	for (size_t at = 0; at < PAYLOAD; at += 56) {
		size_t n = PAYLOAD - at < 56 ? PAYLOAD - at : 56;
		uint8_t r[64] = {0x02, (uint8_t)n, ']', 'Q', '1'};
		memcpy(r + 5, code + at, n);
		r[61] = 's';
		r[63] = at + n < PAYLOAD;
		add(s, r, sizeof(r));
	}
}

static size_t scans_seen;

static void on_done(void *userdata, const uint8_t *data, size_t len)
{
	(void)userdata;
	(void)data;
	if (len != PAYLOAD)
		die("a scan came out wrong");
	scans_seen++;
}

static void on_error(void *userdata, const char *what)
{
	(void)userdata;
	fprintf(stderr, "bench_scan_decoder: decoder error: %s\n", what);
	exit(1);
}

static double decode_round(const struct stream *s)
{
	struct scan_decoder_options options = {.protocol = s->protocol, .report_id = s->report_id};
	struct scan_decoder *d = scan_decoder_new(&options, on_done, on_error, NULL);
	if (!d)
		die("scan_decoder_new failed");
	uint64_t t = 1000000;
	double t0 = now_ns();
	for (size_t i = 0; i < s->n; i++)
		scan_decoder_feed(d, s->reports[i], s->lens[i], t += 1000);
	double t1 = now_ns();
	scan_decoder_free(d);
	return t1 - t0;
}

static volatile unsigned sink;

static double bare_round(const struct stream *s)
{
	uint8_t copy[SCAN_MAX_REPORT];
	unsigned acc = 0;
	double t0 = now_ns();
	for (size_t i = 0; i < s->n; i++) {
		memcpy(copy, s->reports[i], s->lens[i]);
		for (size_t k = 0; k < s->lens[i]; k++)
			acc += copy[k];
		sink = acc; /* each report's copy is read, not optimised away */
	}
	double t1 = now_ns();
	return t1 - t0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), by_value);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int scans = argc > 1 ? atoi(argv[1]) : 2000;
	int rounds = argc > 2 ? atoi(argv[2]) : 11;
	if (scans < 1 || rounds < 1 || rounds > 101)
		die("usage: bench_scan_decoder [scans=2000] [rounds=11]");

	struct stream streams[] = {
	        {.name = "keyboard, US, key-down + all-up", .protocol = SCAN_PROTOCOL_KEYBOARD},
	        {.name = "keyboard, 6 presses per report", .protocol = SCAN_PROTOCOL_KEYBOARD},
	        {.name = "keyboard, Alt + keypad per byte", .protocol = SCAN_PROTOCOL_KEYBOARD},
	        {.name = "HID POS, 64-byte chunks",
	         .protocol = SCAN_PROTOCOL_HID_POS,
	         .report_id = true},
	};
	void (*build[])(struct stream *, const char *) = {keyboard_scan, packed_scan, alt_scan,
	                                                  hid_pos_scan};
	char code[PAYLOAD];
	for (size_t k = 0; k < 4; k++)
		for (int i = 0; i < scans; i++) {
			payload(code, (unsigned)i);
			build[k](&streams[k], code);
		}

	printf("scan decoder: %d scans of %d bytes per round, median of %d rounds\n", scans,
	       PAYLOAD, rounds);
	printf("| scanner sends | reports/scan | decoder ns/report | bare loop ns/report | ratio | "
	       "decoder us/scan |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
	for (size_t k = 0; k < 4; k++) {
		struct stream *s = &streams[k];
		double dec[101], bare[101];
		for (int r = 0; r < rounds; r++) {
			scans_seen = 0;
			dec[r] = decode_round(s);
			if (scans_seen != (size_t)scans)
				die("scans lost");
			bare[r] = bare_round(s);
		}
		double d = median(dec, rounds) / (double)s->n;
		double b = median(bare, rounds) / (double)s->n;
		printf("| %s | %zu | %.1f | %.1f | %.1f | %.2f |\n", s->name, s->n / (size_t)scans,
		       d, b, d / b, d * (double)s->n / scans / 1000.0);
		free(s->reports);
		free(s->lens);
	}
	return 0;
}
