/* SPDX-License-Identifier: MIT */
/*
 * porter_verdicts.c: porter's side of the differential test (compare.py).
 *
 *   porter_verdicts --make-site DIR   a site in DIR made with the real
 *                                     porter-admin ($PORTER_ADMIN): pin.key
 *                                     and directory.json with one member
 *   porter_verdicts CONFIGS           check_config on every config in CONFIGS
 *
 * CONFIGS holds many configs, each as "<byte count>\n<bytes>\n", because a
 * config may contain any byte (newlines, NUL, invalid UTF-8). porter.so
 * ($PORTER_SO) is loaded once through porter.h, the way a host loads it, and
 * each config is checked as an admin UI would check it. One JSON line per
 * config goes to stdout:
 *
 *   {"rc":-22,"reports":[{"severity":1,"code":"PORTER-CFG-TYPE","path":"$.door"}]}
 *
 * Messages are left out: they are porter's wording, not its verdict, and the
 * comparison is by code and path. The configs hold no PIN or key.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loaded_porter.h"
#include "porter.h"
#include "porter_fixture.h"

/* One config's reports, written as one JSON array; NULL when out of memory. */
struct line {
	char *text;
	size_t len, cap;
	bool failed;
};

static void line_add(struct line *l, const char *s, size_t n)
{
	if (l->failed)
		return;
	if (l->len + n + 1 > l->cap) {
		size_t cap = (l->cap ? l->cap * 2 : 256) + n;
		char *text = realloc(l->text, cap);

		if (!text) {
			l->failed = true;
			return;
		}
		l->text = text;
		l->cap = cap;
	}
	memcpy(l->text + l->len, s, n);
	l->len += n;
	l->text[l->len] = '\0';
}

static void line_puts(struct line *l, const char *s)
{
	line_add(l, s, strlen(s));
}

/* A JSON string: paths may hold quotes, backslashes and any UTF-8 a key
 * held (porter quotes keys that are not identifiers). */
static void line_string(struct line *l, const char *s)
{
	char esc[8];

	if (!s) {
		line_puts(l, "null");
		return;
	}
	line_puts(l, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			line_add(l, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			line_puts(l, esc);
		} else {
			line_add(l, (const char *)p, 1);
		}
	}
	line_puts(l, "\"");
}

static void on_report(void *userdata, const struct porter_report *report)
{
	struct line *l = userdata;
	char severity[32];

	if (l->len > 1)
		line_puts(l, ",");
	snprintf(severity, sizeof(severity), "{\"severity\":%u,\"code\":", report->severity);
	line_puts(l, severity);
	line_string(l, report->code);
	line_puts(l, ",\"path\":");
	line_string(l, report->path);
	line_puts(l, "}");
}

/* Reads "<count>\n": the byte count of the next config. 1, 0 at the end,
 * -1 on a malformed file. */
static int read_count(FILE *in, size_t *ret)
{
	unsigned long long n;
	int c;

	if (fscanf(in, "%llu", &n) != 1)
		return feof(in) ? 0 : -1;
	c = fgetc(in);
	if (c != '\n')
		return -1;
	*ret = (size_t)n;
	return 1;
}

static int check_all(FILE *in)
{
	size_t n, count = 0;
	int r;

	while ((r = read_count(in, &n)) == 1) {
		char *config = malloc(n ? n : 1);
		struct line l = {0};
		char rc[64];

		if (!config)
			return -ENOMEM;
		if (fread(config, 1, n, in) != n || fgetc(in) != '\n') {
			free(config);
			fprintf(stderr, "porter_verdicts: config %zu is truncated\n", count);
			return -EINVAL;
		}
		line_puts(&l, "[");
		r = api->check_config(config, n, on_report, &l);
		line_puts(&l, "]");
		free(config);
		if (l.failed) {
			free(l.text);
			return -ENOMEM;
		}
		snprintf(rc, sizeof(rc), "{\"rc\":%d,\"reports\":", r);
		printf("%s%s}\n", rc, l.text);
		free(l.text);
		count++;
	}
	if (r < 0) {
		fprintf(stderr, "porter_verdicts: malformed configs file after config %zu\n",
		        count);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	FILE *in;
	int r;

	if (argc == 3 && strcmp(argv[1], "--make-site") == 0) {
		const char *admin = fx_env("PORTER_ADMIN");

		if (!admin) {
			fprintf(stderr, "porter_verdicts: PORTER_ADMIN is not set\n");
			return 2;
		}
		return fx_make_site(admin, argv[2], FX_ANA) == 0 ? 0 : 1;
	}
	if (argc != 2) {
		fprintf(stderr,
		        "usage: porter_verdicts --make-site DIR | porter_verdicts CONFIGS\n");
		return 2;
	}
	in = fopen(argv[1], "rb");
	if (!in) {
		fprintf(stderr, "porter_verdicts: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (load_porter(NULL) < 0) {
		fclose(in);
		return 2;
	}
	r = check_all(in);
	unload_porter(NULL);
	fclose(in);
	return r < 0 ? 1 : 0;
}
