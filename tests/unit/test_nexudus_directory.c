/* SPDX-License-Identifier: MIT */
/*
 * test_nexudus_directory.c: coworkers and visitors synced from Nexudus
 * become a directory file the local loader reads unchanged, a synced PIN
 * matches at the door, and no PIN is ever written in clear.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "directory_file.h"
#include "nexudus_directory.h"
#include "qr_credential.h"

static const uint8_t key[PIN_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                         12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                         23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

#define NOW 1795593600 /* 2026-11-25T08:00:00Z */

struct fixture {
	char dir[64], path[96], warnings[2048];
	size_t n_warnings;
	struct cutoff_rule day;
	struct nexudus_directory *d;
};

static void remember_warning(void *userdata, const char *message)
{
	struct fixture *f = userdata;
	f->n_warnings++;
	strncat(f->warnings, message, sizeof(f->warnings) - strlen(f->warnings) - 2);
	strcat(f->warnings, "\n");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-nxdir-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/directory.json", f->dir);
	f->day.minute_of_day = 0;
	assert_int_equal(cutoff_parse_zone("Europe/Berlin", &f->day, err, sizeof(err)), 0);
	struct nexudus_directory_options o = {.pin_min_length = 4,
	                                      .pin_max_length = 8,
	                                      .day = &f->day,
	                                      .now = NOW,
	                                      .warn = remember_warning,
	                                      .userdata = f};
	f->d = nexudus_directory_new(key, &o);
	assert_non_null(f->d);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	nexudus_directory_free(f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void add_coworker(struct fixture *f, int64_t id, const char *name, const char *pin)
{
	struct nexudus_record r = {.kind = NEXUDUS_COWORKERS};
	r.coworker.id = id;
	r.coworker.active = true;
	r.coworker.updated_on = INT64_MIN;
	snprintf(r.coworker.full_name, sizeof(r.coworker.full_name), "%s", name);
	snprintf(r.coworker.pin, sizeof(r.coworker.pin), "%s", pin ? pin : "");
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
}

static void add_visitor(struct fixture *f, int64_t id, const char *code, int64_t expected)
{
	struct nexudus_record r = {.kind = NEXUDUS_VISITORS};
	r.visitor.id = id;
	r.visitor.expected_arrival = expected;
	r.visitor.updated_on = INT64_MIN;
	snprintf(r.visitor.full_name, sizeof(r.visitor.full_name), "Visitor %lld", (long long)id);
	snprintf(r.visitor.visitor_code, sizeof(r.visitor.visitor_code), "%s", code);
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
}

static struct directory *write_and_load(struct fixture *f)
{
	char err[512];
	struct directory *dir = NULL;
	int r = nexudus_directory_write(f->d, f->path, err, sizeof(err));
	if (r < 0)
		fail_msg("write: %d %s", r, err);
	r = directory_file_load(f->path, &dir, err, sizeof(err));
	if (r < 0)
		fail_msg("load: %d %s", r, err);
	return dir;
}

static const struct person *match(const struct directory *dir, const char *pin)
{
	struct pin_hasher *h = pin_hasher_new(key);
	uint8_t hash[PIN_HASH_LEN];
	struct pin_match m;
	assert_int_equal(pin_hasher_hash(h, pin, strlen(pin), hash), 0);
	pin_hasher_free(h);
	directory_match_pin(dir, hash, &m);
	return m.n == 1 ? m.people[0] : NULL;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = calloc(1, 1 << 16);
	assert_non_null(fp);
	size_t n = fread(text, 1, (1 << 16) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

static void test_a_written_directory_loads_and_a_synced_pin_matches(void **state)
{
	struct fixture *f = *state;
	add_coworker(f, 1001, "Ana Souza", "482913");
	add_coworker(f, 1002, "Bo Chen", "5550");
	add_visitor(f, 2001, "731406", NOW + 3600);
	struct directory *dir = write_and_load(f);
	assert_int_equal(directory_size(dir), 3);
	const struct person *p = match(dir, "482913");
	assert_non_null(p);
	assert_string_equal(p->id, "nx-c-1001");
	assert_string_equal(p->name, "Ana Souza");
	assert_int_equal(p->kind, PERSON_MEMBER);
	assert_true(p->valid_from == INT64_MIN && p->valid_until == INT64_MAX);
	p = match(dir, "731406");
	assert_non_null(p);
	assert_string_equal(p->id, "nx-v-2001");
	assert_int_equal(p->kind, PERSON_VISITOR);
	assert_null(match(dir, "000000"));
	directory_free(dir);
	const struct nexudus_directory_stats *s = nexudus_directory_stats(f->d);
	assert_int_equal(s->members, 2);
	assert_int_equal(s->visitors, 1);
	assert_int_equal(f->n_warnings, 0);
}

static void test_a_sync_that_found_nobody_writes_an_empty_directory(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = write_and_load(f);
	assert_int_equal(directory_size(dir), 0);
	directory_free(dir);
}

static void test_no_pin_is_ever_written_in_clear(void **state)
{
	struct fixture *f = *state;
	add_coworker(f, 1001, "Ana Souza", "48291377");
	add_visitor(f, 2001, "73140622", NOW);
	directory_free(write_and_load(f));
	char *text = slurp(f->path);
	assert_null(strstr(text, "48291377"));
	assert_null(strstr(text, "73140622"));
	assert_non_null(strstr(text, "\"pin_hmac\""));
	free(text);
}

static void test_a_coworker_without_a_pin_is_kept_without_one(void **state)
{
	struct fixture *f = *state;
	add_coworker(f, 7, "No Pin", NULL);
	struct directory *dir = write_and_load(f);
	const struct person *p = directory_find_id(dir, "nx-c-7");
	assert_non_null(p);
	assert_false(p->has_pin);
	assert_int_equal(nexudus_directory_stats(f->d)->without_pin, 1);
	directory_free(dir);
}

static void test_a_pin_the_keypad_cannot_take_is_left_out_with_a_warning(void **state)
{
	struct fixture *f = *state;
	add_coworker(f, 1, "Letters", "12ab");
	add_coworker(f, 2, "Short", "123");
	add_coworker(f, 3, "Long", "123456789");
	add_visitor(f, 4, "QR-CODE-77", NOW);
	struct nexudus_record r = {.kind = NEXUDUS_COWORKERS};
	r.coworker.id = 5;
	r.coworker.active = true;
	r.coworker.pin_too_long = true;
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
	add_coworker(f, 6, "Fine", "2468");
	struct directory *dir = write_and_load(f);
	assert_int_equal(directory_size(dir), 1);
	assert_non_null(directory_find_id(dir, "nx-c-6"));
	assert_int_equal(nexudus_directory_stats(f->d)->bad_pin, 5);
	assert_int_equal(f->n_warnings, 5);
	assert_non_null(strstr(f->warnings, "nx-c-1: left out: its AccessPincode is not 4 to 8 "
	                                    "digits"));
	assert_non_null(strstr(f->warnings, "nx-v-4: left out: its VisitorCode"));
	assert_null(strstr(f->warnings, "12ab"));
	assert_null(strstr(f->warnings, "123456789"));
	assert_null(strstr(f->warnings, "QR-CODE"));
	directory_free(dir);
}

static void test_inactive_and_archived_coworkers_are_left_out(void **state)
{
	struct fixture *f = *state;
	struct nexudus_record r = {.kind = NEXUDUS_COWORKERS};
	r.coworker.id = 1;
	r.coworker.active = false;
	strcpy(r.coworker.pin, "1111");
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
	r.coworker.id = 2;
	r.coworker.active = true;
	r.coworker.archived = true;
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
	add_coworker(f, 3, "Member", "2222");
	struct directory *dir = write_and_load(f);
	assert_int_equal(directory_size(dir), 1);
	assert_null(match(dir, "1111"));
	assert_int_equal(nexudus_directory_stats(f->d)->inactive, 2);
	assert_int_equal(f->n_warnings, 0);
	directory_free(dir);
}

static void test_a_visitor_is_valid_on_the_local_day_of_the_expected_arrival(void **state)
{
	struct fixture *f = *state;
	int64_t t;
	/* 00:30 on 26 November in Berlin is still 25 November in UTC. */
	assert_int_equal(timestamp_parse("2026-11-25T23:30:00Z", &t), 0);
	add_visitor(f, 1, "1234", t);
	struct directory *dir = write_and_load(f);
	const struct person *p = directory_find_id(dir, "nx-v-1");
	char from[32], until[32];
	timestamp_format(p->valid_from, from);
	timestamp_format(p->valid_until, until);
	assert_string_equal(from, "2026-11-25T23:00:00Z");  /* 26 Nov, 00:00 CET */
	assert_string_equal(until, "2026-11-26T23:00:00Z"); /* 27 Nov, 00:00 CET */
	directory_free(dir);
}

static void test_visitors_without_a_day_or_whose_day_is_over_are_left_out(void **state)
{
	struct fixture *f = *state;
	add_visitor(f, 1, "1234", INT64_MIN);
	add_visitor(f, 2, "2345", NOW - 2 * 86400);
	int64_t dotnet_min;
	assert_int_equal(timestamp_parse("0001-01-01T00:00:00Z", &dotnet_min), 0);
	add_visitor(f, 3, "3456", dotnet_min);
	add_visitor(f, 4, "4567", NOW + 86400);
	int64_t last_day;
	assert_int_equal(timestamp_parse("9999-12-31T23:30:00Z", &last_day), 0);
	add_visitor(f, 5, "5678", last_day); /* its day ends in the year 10000 */
	struct directory *dir = write_and_load(f);
	assert_int_equal(directory_size(dir), 2);
	assert_non_null(directory_find_id(dir, "nx-v-4"));
	assert_int_equal(directory_find_id(dir, "nx-v-5")->valid_until, 253402300799);
	const struct nexudus_directory_stats *s = nexudus_directory_stats(f->d);
	assert_int_equal(s->no_arrival, 1);
	assert_int_equal(s->expired, 2);
	assert_int_equal(f->n_warnings, 1);
	assert_non_null(strstr(f->warnings, "nx-v-1: left out: a visitor without ExpectedArrival"));
	directory_free(dir);
}

static void test_a_record_seen_twice_keeps_its_latest_version(void **state)
{
	struct fixture *f = *state;
	struct nexudus_record r = {.kind = NEXUDUS_COWORKERS};
	r.coworker.id = 9;
	r.coworker.active = true;
	r.coworker.updated_on = NOW - 100;
	strcpy(r.coworker.full_name, "Old Name");
	strcpy(r.coworker.pin, "1111");
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
	r.coworker.updated_on = NOW;
	strcpy(r.coworker.full_name, "New Name");
	strcpy(r.coworker.pin, "2222");
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
	r.coworker.updated_on = NOW - 50; /* an older copy, later in the sync */
	strcpy(r.coworker.pin, "3333");
	assert_int_equal(nexudus_directory_add(f->d, &r), 0);
	add_visitor(f, 9, "4444", NOW); /* the same number as a visitor is someone else */
	struct directory *dir = write_and_load(f);
	assert_int_equal(directory_size(dir), 2);
	assert_string_equal(directory_find_id(dir, "nx-c-9")->name, "New Name");
	assert_non_null(match(dir, "2222"));
	assert_null(match(dir, "1111"));
	assert_null(match(dir, "3333"));
	assert_non_null(directory_find_id(dir, "nx-v-9"));
	assert_int_equal(nexudus_directory_stats(f->d)->duplicates, 2);
	directory_free(dir);
}

static void test_names_are_made_safe_for_the_loader(void **state)
{
	struct fixture *f = *state;
	char longname[NEXUDUS_NAME_MAX + 1] = "";
	for (int i = 0; i < 100; i++)
		strcat(longname, "\xc3\xa9"); /* 200 bytes */
	add_coworker(f, 1, "Evil\x1b[2J\xe2\x80\xaeName\"\\", "1234");
	add_coworker(f, 2, "", "2345");
	add_coworker(f, 3, " \t ", "3456");
	add_coworker(f, 4, longname, "4567");
	add_coworker(f, 5, "Bad \xff byte", "5678");
	struct directory *dir = write_and_load(f);
	assert_string_equal(directory_find_id(dir, "nx-c-1")->name, "Evil [2J Name\"\\");
	assert_string_equal(directory_find_id(dir, "nx-c-2")->name, "nx-c-2");
	assert_string_equal(directory_find_id(dir, "nx-c-3")->name, "nx-c-3");
	assert_int_equal(strlen(directory_find_id(dir, "nx-c-4")->name), PERSON_NAME_MAX);
	assert_string_equal(directory_find_id(dir, "nx-c-5")->name, "Bad ? byte");
	directory_free(dir);
}

static void test_writing_replaces_the_file_whole_and_leaves_no_temporary_file(void **state)
{
	struct fixture *f = *state;
	struct stat before, after;
	FILE *fp = fopen(f->path, "w");
	fputs("{\"porter_directory\":1,\"people\":[]}", fp);
	fclose(fp);
	assert_int_equal(stat(f->path, &before), 0);
	add_coworker(f, 1, "Ana", "1234");
	directory_free(write_and_load(f));
	assert_int_equal(stat(f->path, &after), 0);
	assert_true(before.st_ino != after.st_ino); /* renamed into place, not rewritten */
	assert_int_equal(after.st_mode & 0777, 0640);
	DIR *dir = opendir(f->dir);
	struct dirent *de;
	size_t files = 0;
	while ((de = readdir(dir)))
		files += de->d_name[0] != '.';
	closedir(dir);
	assert_int_equal(files, 1);
}

static void test_a_write_that_fails_says_why_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	char err[512], path[160];
	add_coworker(f, 1, "Ana", "1234");
	snprintf(path, sizeof(path), "%s/missing/directory.json", f->dir);
	assert_int_equal(nexudus_directory_write(f->d, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_null(strstr(err, "1234"));
}

static void test_a_checkin_record_is_not_a_person(void **state)
{
	struct fixture *f = *state;
	struct nexudus_record r = {.kind = NEXUDUS_CHECKINS};
	r.checkin.id = 1;
	assert_int_equal(nexudus_directory_add(f->d, &r), -EINVAL);
	struct cutoff_rule day = {0};
	struct nexudus_directory_options bad = {
	        .pin_min_length = 8, .pin_max_length = 4, .day = &day};
	assert_null(nexudus_directory_new(key, &bad));
	bad.pin_min_length = 4;
	bad.day = NULL;
	assert_null(nexudus_directory_new(key, &bad));
}

static void test_pages_parsed_straight_into_the_directory(void **state)
{
	struct fixture *f = *state;
	const char *coworkers =
	        "{\"Records\":[{\"Id\":1001,\"FullName\":\"Ana "
	        "Souza\",\"AccessPincode\":\"482913\","
	        "\"AccessCardId\":\"04A1\",\"Active\":true,\"UpdatedOn\":\"2026-11-20T10:30:00Z\"},"
	        "{\"Id\":1002,\"FullName\":\"Bo\",\"AccessPincode\":null}],"
	        "\"TotalItems\":2,\"TotalPages\":1,\"HasNextPage\":false,\"CurrentPage\":1}";
	const char *visitors =
	        "{\"Records\":[{\"Id\":2001,\"FullName\":\"Vera\",\"CoworkerId\":1001,"
	        "\"ExpectedArrival\":\"2026-11-25T10:00:00Z\",\"VisitorCode\":\"731406\","
	        "\"Arrived\":false,\"ArrivalDate\":null,\"DepartureDate\":null}],"
	        "\"TotalItems\":1,\"TotalPages\":1,\"HasNextPage\":false,\"CurrentPage\":1}";
	struct nexudus_page page;
	char err[256];
	assert_int_equal(nexudus_page_parse(coworkers, strlen(coworkers), NEXUDUS_COWORKERS,
	                                    nexudus_directory_add_record, f->d, &page, err,
	                                    sizeof(err)),
	                 0);
	assert_int_equal(nexudus_page_parse(visitors, strlen(visitors), NEXUDUS_VISITORS,
	                                    nexudus_directory_add_record, f->d, &page, err,
	                                    sizeof(err)),
	                 0);
	struct directory *dir = write_and_load(f);
	assert_int_equal(directory_size(dir), 3);
	assert_string_equal(match(dir, "482913")->id, "nx-c-1001");
	assert_string_equal(match(dir, "731406")->id, "nx-v-2001");
	directory_free(dir);
}

/* The registration e-mail's QR code carries the VisitorCode: a scanner
 * finds the visitor by it, hashed apart from the PIN. */
static void test_a_visitor_code_is_stored_for_the_scanner_too(void **state)
{
	struct fixture *f = *state;
	add_visitor(f, 2001, "73140622", NOW);
	struct directory *dir = write_and_load(f);
	struct pin_hasher *h = pin_hasher_new(key);
	uint8_t hash[PIN_HASH_LEN];
	size_t n;
	assert_int_equal(qr_code_hash(h, (const uint8_t *)"73140622", 8, hash), 0);
	pin_hasher_free(h);
	const struct person *p = directory_match_qr(dir, hash, &n);
	assert_non_null(p);
	assert_int_equal(n, 1);
	assert_string_equal(p->id, "nx-v-2001");
	assert_true(p->has_pin);
	assert_int_not_equal(memcmp(p->qr_hash, p->pin_hash, PIN_HASH_LEN), 0);
	directory_free(dir);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_a_visitor_code_is_stored_for_the_scanner_too),
	        T(test_a_written_directory_loads_and_a_synced_pin_matches),
	        T(test_a_sync_that_found_nobody_writes_an_empty_directory),
	        T(test_no_pin_is_ever_written_in_clear),
	        T(test_a_coworker_without_a_pin_is_kept_without_one),
	        T(test_a_pin_the_keypad_cannot_take_is_left_out_with_a_warning),
	        T(test_inactive_and_archived_coworkers_are_left_out),
	        T(test_a_visitor_is_valid_on_the_local_day_of_the_expected_arrival),
	        T(test_visitors_without_a_day_or_whose_day_is_over_are_left_out),
	        T(test_a_record_seen_twice_keeps_its_latest_version),
	        T(test_names_are_made_safe_for_the_loader),
	        T(test_writing_replaces_the_file_whole_and_leaves_no_temporary_file),
	        T(test_a_write_that_fails_says_why_and_leaves_nothing),
	        T(test_a_checkin_record_is_not_a_person),
	        T(test_pages_parsed_straight_into_the_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
