/* SPDX-License-Identifier: MIT */
/* lockout_file.c: lockouts.json and unlock requests. See lockout_file.h. */
#include "lockout_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "directory_file.h"
#include "reader.h"

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

int lockout_state_dir(const char *database_path, char *ret, size_t size)
{
	const char *slash = strrchr(database_path, '/');
	size_t n = slash ? (size_t)(slash - database_path) : 1;
	if (n >= size)
		return -ENAMETOOLONG;
	if (!slash)
		memcpy(ret, ".", 1);
	else if (n == 0)
		memcpy(ret, "/", (n = 1));
	else
		memcpy(ret, database_path, n);
	ret[n] = '\0';
	return 0;
}

static void iso(int64_t unix_us, char ret[32])
{
	timestamp_format(unix_us / 1000000, ret);
}

/* Write `text` to DIR/NAME through DIR/.NAME.tmp: readers see the old file
 * or the new one, never half of one, and it survives a power cut. */
static int write_atomically(const char *dir, const char *name, const char *text, char *err,
                            size_t errlen)
{
	char path[CONFIG_PATH_MAX + 96], tmp[CONFIG_PATH_MAX + 96];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp))
		return fail(err, errlen, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, -errno, "could not write %s: %s", tmp, strerror(errno));
	size_t len = strlen(text), done = 0;
	int r = fchmod(fd, 0600) < 0 ? -errno : 0;
	while (r == 0 && done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno != EINTR)
			r = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		int e = r;
		unlink(tmp);
		return fail(err, errlen, e, "could not write %s: %s", path, strerror(-e));
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		/* The rename itself must survive a power cut too. */
		r = fsync(dfd) < 0 ? -errno : 0;
		close(dfd);
	}
	return r < 0 ? fail(err, errlen, r, "could not sync %s: %s", dir, strerror(-r)) : 0;
}

int lockout_file_write(const char *dir, const struct lockout_record *records, size_t n,
                       int64_t now_unix_us, char *err, size_t errlen)
{
	char when[32];
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	iso(now_unix_us, when);
	json_object_object_add(root, "porter_lockouts", json_object_new_int(LOCKOUT_FILE_FORMAT));
	json_object_object_add(root, "written_at", json_object_new_string(when));
	for (size_t i = 0; i < n; i++) {
		const struct lockout_record *rec = &records[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "reader", json_object_new_string(rec->reader_id));
		json_object_object_add(o, "level", json_object_new_int64(rec->level));
		json_object_object_add(o, "failures", json_object_new_int64(rec->failures));
		json_object_object_add(o, "first_failure_us",
		                       json_object_new_int64(rec->first_failure_us));
		json_object_object_add(o, "last_failure_us",
		                       json_object_new_int64(rec->last_failure_us));
		json_object_object_add(o, "locked_until_us",
		                       json_object_new_int64(rec->locked_until_us));
		if (rec->locked_until_us) {
			iso(rec->locked_until_us, when);
			json_object_object_add(o, "locked_until", json_object_new_string(when));
		}
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "readers", arr);
	const char *text = json_object_to_json_string_ext(
	        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = text ? write_atomically(dir, LOCKOUT_FILE_NAME, text, err, errlen)
	             : fail(err, errlen, -ENOMEM, "out of memory");
	json_object_put(root);
	return r;
}

/* Read a small regular file; with `ours`, only one owned by this user or root. */
static int read_small(const char *path, size_t max, bool ours, char **ret, size_t *ret_len,
                      char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = fail(err, errlen, -EINVAL, "%s: not a regular file", path);
	else if (ours && st.st_uid != geteuid() && st.st_uid != 0)
		r = fail(err, errlen, -EPERM,
		         "%s: owned by uid %u, not by porter's user or root; refused", path,
		         (unsigned)st.st_uid);
	else if ((size_t)st.st_size > max)
		r = fail(err, errlen, -E2BIG, "%s: larger than %zu bytes", path, max);
	char *text = r == 0 ? malloc((size_t)st.st_size + 1) : NULL;
	if (r == 0 && !text)
		r = fail(err, errlen, -ENOMEM, "out of memory");
	size_t len = 0;
	while (r == 0 && len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = fail(err, errlen, n < 0 ? -errno : -EIO, "%s: could not read", path);
		else
			len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(text);
		return r;
	}
	text[len] = '\0';
	*ret = text;
	*ret_len = len;
	return 0;
}

static bool get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*ret = json_object_get_int64(v);
	return errno == 0 && *ret >= min && *ret <= max;
}

static int parse_record(json_object *o, size_t i, struct lockout_record *rec, char *err,
                        size_t errlen)
{
	json_object *v;
	int64_t level, failures;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "reader", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !reader_id_valid(json_object_get_string(v)))
		return fail(err, errlen, -EINVAL, "readers[%zu].reader: not a reader id", i);
	snprintf(rec->reader_id, sizeof(rec->reader_id), "%s", json_object_get_string(v));
	if (!get_int(o, "level", 0, UINT32_MAX, &level) ||
	    !get_int(o, "failures", 0, UINT32_MAX, &failures) ||
	    !get_int(o, "first_failure_us", 0, INT64_MAX, &rec->first_failure_us) ||
	    !get_int(o, "last_failure_us", 0, INT64_MAX, &rec->last_failure_us) ||
	    !get_int(o, "locked_until_us", 0, INT64_MAX, &rec->locked_until_us))
		return fail(err, errlen, -EINVAL,
		            "readers[%zu] (%s): level, failures and the *_us times must be "
		            "non-negative integers",
		            i, rec->reader_id);
	rec->level = (uint32_t)level;
	rec->failures = (uint32_t)failures;
	return 0;
}

int lockout_file_read(const char *dir, struct lockout_record **ret, size_t *ret_n, char *err,
                      size_t errlen)
{
	char path[CONFIG_PATH_MAX + 32], *text;
	size_t len;
	snprintf(path, sizeof(path), "%s/%s", dir, LOCKOUT_FILE_NAME);
	/* Not owner-checked: porter-admin reads it as another user (root). */
	int r = read_small(path, LOCKOUT_FILE_MAX_BYTES, false, &text, &len, err, errlen);
	if (r < 0)
		return r;
	json_tokener *tok = json_tokener_new();
	json_object *root = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL, *fmt, *arr;
	bool whole = tok && json_tokener_get_error(tok) == json_tokener_success &&
	             json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	free(text);
	struct lockout_record *records = NULL;
	size_t n = 0;
	if (!root || !whole || !json_object_is_type(root, json_type_object))
		r = fail(err, errlen, -EINVAL, "%s: not JSON", path);
	else if (!json_object_object_get_ex(root, "porter_lockouts", &fmt) ||
	         json_object_get_int(fmt) != LOCKOUT_FILE_FORMAT)
		r = fail(err, errlen, -EINVAL, "%s: \"porter_lockouts\" must be %d", path,
		         LOCKOUT_FILE_FORMAT);
	else if (!json_object_object_get_ex(root, "readers", &arr) ||
	         !json_object_is_type(arr, json_type_array) ||
	         json_object_array_length(arr) > LOCKOUT_FILE_MAX_READERS)
		r = fail(err, errlen, -EINVAL, "%s: \"readers\" must be an array of at most %d",
		         path, LOCKOUT_FILE_MAX_READERS);
	else if (!(records = calloc(json_object_array_length(arr) + 1, sizeof(*records))))
		r = fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < json_object_array_length(arr); i++, n++) {
		r = parse_record(json_object_array_get_idx(arr, i), i, &records[i], err, errlen);
		if (r < 0) {
			char inner[256];
			snprintf(inner, sizeof(inner), "%s", err);
			fail(err, errlen, r, "%s: %s", path, inner);
		}
	}
	json_object_put(root);
	if (r < 0) {
		free(records);
		return r;
	}
	*ret = records;
	*ret_n = n;
	return 0;
}

bool unlock_request_name(const char *name)
{
	size_t n = strlen(name);
	return n > 12 && n < 128 && strncmp(name, "unlock-", 7) == 0 &&
	       strcmp(name + n - 5, ".json") == 0 && !strchr(name, '/');
}

int unlock_request_write(const char *dir, const char *reader_id, char *ret_path, size_t size,
                         char *err, size_t errlen)
{
	char name[96];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Unique per admin run: two admins never overwrite each other's request. */
	snprintf(name, sizeof(name), "unlock-%lld%09ld-%d.json", (long long)ts.tv_sec, ts.tv_nsec,
	         (int)getpid());
	json_object *root = json_object_new_object();
	json_object_object_add(root, "porter_unlock", json_object_new_int(1));
	if (reader_id)
		json_object_object_add(root, "reader", json_object_new_string(reader_id));
	else
		json_object_object_add(root, "all", json_object_new_boolean(1));
	int r = write_atomically(dir, name, json_object_to_json_string(root), err, errlen);
	json_object_put(root);
	if (r == 0)
		snprintf(ret_path, size, "%s/%s", dir, name);
	return r;
}

int unlock_request_parse(const char *text, size_t len, char ret_reader[CONFIG_ID_MAX + 1],
                         bool *ret_all, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new();
	json_object *root = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL, *v;
	bool whole = tok && json_tokener_get_error(tok) == json_tokener_success &&
	             json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	int r = 0;
	bool has_reader = root && json_object_object_get_ex(root, "reader", &v);
	*ret_all = root && json_object_object_get_ex(root, "all", &v) &&
	           json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	ret_reader[0] = '\0';
	if (!root || !whole || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "porter_unlock", &v) || json_object_get_int(v) != 1)
		r = fail(err, errlen, -EINVAL, "not an unlock request (\"porter_unlock\": 1)");
	else if (has_reader == *ret_all)
		r = fail(err, errlen, -EINVAL,
		         "must name exactly one of \"reader\" or \"all\": true");
	else if (has_reader) {
		json_object_object_get_ex(root, "reader", &v);
		if (!json_object_is_type(v, json_type_string) ||
		    !reader_id_valid(json_object_get_string(v)))
			r = fail(err, errlen, -EINVAL, "\"reader\" is not a reader id");
		else
			snprintf(ret_reader, CONFIG_ID_MAX + 1, "%s", json_object_get_string(v));
	}
	json_object_put(root);
	return r;
}

int unlock_request_read(const char *path, char ret_reader[CONFIG_ID_MAX + 1], bool *ret_all,
                        char *err, size_t errlen)
{
	char *text, inner[256];
	size_t len;
	/* Only porter's user or root may lift a lockout. */
	int r = read_small(path, UNLOCK_REQUEST_MAX_BYTES, true, &text, &len, err, errlen);
	if (r < 0)
		return r;
	r = unlock_request_parse(text, len, ret_reader, ret_all, inner, sizeof(inner));
	free(text);
	return r < 0 ? fail(err, errlen, r, "%s: %s", path, inner) : 0;
}
