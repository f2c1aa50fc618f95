/* SPDX-License-Identifier: MIT */
/*
 * fuzz_nexudus_page.c: libFuzzer target for nexudus_page_parse(), built
 * once per record kind (FUZZ_KIND: fuzz_nexudus_coworkers, _visitors,
 * _checkins).
 *
 * Every record handed to the callback holds what the header promises.
 * Coworkers and visitors then go through the directory writer into a file
 * on /dev/shm, which must always be written: whatever names and codes the
 * backend sends, the cache is one the directory loader accepts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexudus_directory.h"
#include "nexudus_reply.h"

#ifndef FUZZ_KIND
#define FUZZ_KIND NEXUDUS_COWORKERS
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t cap)
{
	if (strnlen(s, cap + 1) > cap)
		abort();
}

static void check_time(int64_t t, int nullable)
{
	if (t == INT64_MIN ? !nullable : t < -62167219200 - 86400 || t > 253402300799 + 86400)
		abort(); /* a 4-digit year, give or take an offset */
}

static int check(void *userdata, const struct nexudus_record *r)
{
	if (r->kind != FUZZ_KIND)
		abort();
	switch (r->kind) {
	case NEXUDUS_COWORKERS:
		if (r->coworker.id < 1)
			abort();
		check_string(r->coworker.full_name, NEXUDUS_NAME_MAX);
		check_string(r->coworker.pin, NEXUDUS_SECRET_MAX);
		check_string(r->coworker.access_card_id, NEXUDUS_SECRET_MAX);
		if (r->coworker.pin_too_long && r->coworker.pin[0])
			abort();
		check_time(r->coworker.updated_on, 1);
		break;
	case NEXUDUS_VISITORS:
		if (r->visitor.id < 1 || r->visitor.coworker_id < 0)
			abort();
		check_string(r->visitor.full_name, NEXUDUS_NAME_MAX);
		check_string(r->visitor.visitor_code, NEXUDUS_SECRET_MAX);
		check_time(r->visitor.expected_arrival, 1);
		check_time(r->visitor.arrival_date, 1);
		check_time(r->visitor.departure_date, 1);
		break;
	case NEXUDUS_CHECKINS:
		if (r->checkin.id < 1 || r->checkin.coworker_id < 0)
			abort();
		check_time(r->checkin.from_time, 0);
		check_time(r->checkin.to_time, 1);
		return 0;
	}
	return nexudus_directory_add(userdata, r);
}

static char path[64];

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[PIN_KEY_LEN] = {7};
	static struct cutoff_rule day = {.utc = true};
	char *text = malloc(size ? size : 1), err[512] = "";
	struct nexudus_directory_options o = {
	        .pin_min_length = 4, .pin_max_length = 8, .day = &day, .now = 1795593600};
	struct nexudus_directory *d = nexudus_directory_new(key, &o);
	struct nexudus_page page;
	if (!path[0]) {
		snprintf(path, sizeof(path), "/dev/shm/fuzz-nexudus-%d.json", (int)getpid());
		atexit(remove_file); /* the cache written by the last input */
	}
	if (!text || !d)
		abort();
	memcpy(text, data, size);
	int r = nexudus_page_parse(text, size, FUZZ_KIND, check, d, &page, err, sizeof(err));
	if (r < 0 && strlen(err) == 0)
		abort();
	if (r == 0 && FUZZ_KIND != NEXUDUS_CHECKINS &&
	    nexudus_directory_write(d, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "directory not written: %s\n", err);
		abort();
	}
	nexudus_directory_free(d);
	free(text);
	return 0;
}
