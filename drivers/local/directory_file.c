/* SPDX-License-Identifier: MIT */
/* directory_file.c: parse and validate the local directory file. */
#include "directory_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

int timestamp_parse(const char *text, int64_t *ret)
{
	struct tm tm = {0};
	int consumed = 0;
	if (strlen(text) != 20 || text[10] != 'T' || text[19] != 'Z')
		return -EINVAL;
	for (int i = 0; i < 19; i++)
		if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
		    (text[i] < '0' || text[i] > '9'))
			return -EINVAL;
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
	    consumed != 20)
		return -EINVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	int mday = tm.tm_mday;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (tm.tm_mday != mday) /* 2026-02-31 normalised into March */
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

void timestamp_format(int64_t t, char ret[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(ret, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Printable UTF-8 without control characters: names reach a door display. */
static bool text_is_clean(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if ((uint8_t)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool id_is_clean(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PERSON_ID_MAX)
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

static const char *get_string(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int parse_window(json_object *entry, size_t i, struct person *p, char *err, size_t errlen)
{
	static const char *const keys[2] = {"valid_from", "valid_until"};
	int64_t *fields[2] = {&p->valid_from, &p->valid_until};
	for (int k = 0; k < 2; k++) {
		json_object *v;
		if (!json_object_object_get_ex(entry, keys[k], &v))
			continue;
		if (!json_object_is_type(v, json_type_string) ||
		    timestamp_parse(json_object_get_string(v), fields[k]) < 0)
			return fail(err, errlen, -EINVAL,
			            "people[%zu].%s: must be a UTC time like 2026-11-25T08:00:00Z",
			            i, keys[k]);
	}
	if (p->kind == PERSON_VISITOR && p->valid_until == INT64_MAX)
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s): a visitor needs valid_until (passes always expire)",
		            i, p->id);
	if (p->valid_from != INT64_MIN && p->valid_until != INT64_MAX &&
	    p->valid_from >= p->valid_until)
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s): valid_from is not before valid_until", i, p->id);
	return 0;
}

static int parse_person(json_object *entry, size_t i, struct person *p, char *err, size_t errlen)
{
	static const char *const known[] = {"id",         "kind",        "name", "pin_hmac",
	                                    "valid_from", "valid_until", NULL};
	if (!json_object_is_type(entry, json_type_object))
		return fail(err, errlen, -EINVAL, "people[%zu]: must be an object", i);
	json_object_object_foreach(entry, key, val)
	{
		(void)val;
		size_t k = 0;
		while (known[k] && strcmp(known[k], key) != 0)
			k++;
		if (!known[k])
			return fail(err, errlen, -EINVAL, "people[%zu]: unknown field \"%.32s\"", i,
			            key);
	}
	const char *id = get_string(entry, "id"), *kind = get_string(entry, "kind");
	const char *name = get_string(entry, "name"), *pin = get_string(entry, "pin_hmac");
	if (!id || !id_is_clean(id))
		return fail(err, errlen, -EINVAL,
		            "people[%zu].id: must be 1-%d printable characters without spaces", i,
		            PERSON_ID_MAX);
	*p = (struct person){.valid_from = INT64_MIN, .valid_until = INT64_MAX};
	memcpy(p->id, id, strlen(id) + 1);
	if (!kind || (strcmp(kind, "member") != 0 && strcmp(kind, "visitor") != 0))
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s).kind: must be \"member\" or \"visitor\"", i, id);
	p->kind = strcmp(kind, "member") == 0 ? PERSON_MEMBER : PERSON_VISITOR;
	if (!name || !text_is_clean(name, PERSON_NAME_MAX))
		return fail(err, errlen, -EINVAL,
		            "people[%zu] (%s).name: must be 1-%d bytes without control characters",
		            i, id, PERSON_NAME_MAX);
	memcpy(p->name, name, strlen(name) + 1);
	if (pin) {
		if (pin_hash_from_hex(pin, strlen(pin), p->pin_hash) < 0)
			return fail(err, errlen, -EINVAL,
			            "people[%zu] (%s).pin_hmac: must be %d hex digits "
			            "(porter-admin hash-pin)",
			            i, id, PIN_HASH_HEX_LEN);
		p->has_pin = true;
	}
	return parse_window(entry, i, p, err, errlen);
}

static int check_unique_ids(const struct directory *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < directory_size(d); i++) {
		const struct person *p = directory_person(d, i);
		if (directory_find_id(d, p->id) != p)
			return fail(err, errlen, -EINVAL, "people[%zu]: id \"%s\" appears twice", i,
			            p->id);
	}
	return 0;
}

static int parse_people(json_object *root, struct directory **ret, char *err, size_t errlen)
{
	json_object *fmt, *arr;
	if (!json_object_is_type(root, json_type_object))
		return fail(err, errlen, -EINVAL, "the directory must be a JSON object");
	if (!json_object_object_get_ex(root, "porter_directory", &fmt) ||
	    !json_object_is_type(fmt, json_type_int) ||
	    json_object_get_int64(fmt) != DIRECTORY_FILE_FORMAT)
		return fail(err, errlen, -EINVAL,
		            "porter_directory: must be %d (the file format version)",
		            DIRECTORY_FILE_FORMAT);
	if (!json_object_object_get_ex(root, "people", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return fail(err, errlen, -EINVAL, "people: must be an array");
	size_t n = json_object_array_length(arr);
	if (n > DIRECTORY_MAX_PEOPLE)
		return fail(err, errlen, -E2BIG, "people: %zu entries, at most %d", n,
		            DIRECTORY_MAX_PEOPLE);
	struct person *people = calloc(n ? n : 1, sizeof(*people));
	if (!people)
		return fail(err, errlen, -ENOMEM, "out of memory for %zu people", n);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++)
		r = parse_person(json_object_array_get_idx(arr, i), i, &people[i], err, errlen);
	if (r == 0) {
		*ret = directory_new(people, n);
		if (!*ret)
			r = fail(err, errlen, -ENOMEM, "out of memory for %zu people", n);
		else if ((r = check_unique_ids(*ret, err, errlen)) < 0)
			*ret = directory_free(*ret);
	}
	explicit_bzero(people, (n ? n : 1) * sizeof(*people));
	free(people);
	return r;
}

/* `text` is not NUL-terminated: bounded, unlike strspn(). */
static bool only_whitespace(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
			return false;
	return true;
}

int directory_parse(const char *text, size_t len, struct directory **ret, char *err, size_t errlen)
{
	*ret = NULL;
	if (len > DIRECTORY_FILE_MAX_BYTES)
		return fail(err, errlen, -E2BIG, "%zu bytes, at most %u", len,
		            DIRECTORY_FILE_MAX_BYTES);
	if (memchr(text, '\0', len))
		return fail(err, errlen, -EINVAL, "contains a NUL byte at offset %zu",
		            (size_t)((const char *)memchr(text, '\0', len) - text));
	json_tokener *tok = json_tokener_new_ex(64);
	if (!tok)
		return fail(err, errlen, -ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t offset = json_tokener_get_parse_end(tok);
	int r;
	if (jerr == json_tokener_continue)
		r = fail(err, errlen, -EINVAL, "not valid JSON: the text ends early");
	else if (!root)
		r = fail(err, errlen, -EINVAL, "not valid JSON at byte %zu: %s", offset,
		         json_tokener_error_desc(jerr));
	else if (!only_whitespace(text + offset, len - offset))
		r = fail(err, errlen, -EINVAL, "not valid JSON: extra text after byte %zu", offset);
	else
		r = parse_people(root, ret, err, errlen);
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

int directory_file_load(const char *path, struct directory **ret, char *err, size_t errlen)
{
	char sub[384];
	struct stat st;
	*ret = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "directory %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DIRECTORY_FILE_MAX_BYTES) {
		close(fd);
		return fail(err, errlen, -EINVAL,
		            "directory %s: not a regular file of at most %u bytes", path,
		            DIRECTORY_FILE_MAX_BYTES);
	}
	size_t len = (size_t)st.st_size, got = 0;
	char *text = malloc(len + 1);
	if (!text) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "directory %s: out of memory", path);
	}
	while (got < len) {
		ssize_t n = read(fd, text + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	int r = got == len ? directory_parse(text, len, ret, sub, sizeof(sub)) : -EIO;
	if (got != len)
		snprintf(sub, sizeof(sub), "short read");
	if (r < 0)
		fail(err, errlen, r, "directory %s: %s", path, sub);
	free(text);
	return r;
}
