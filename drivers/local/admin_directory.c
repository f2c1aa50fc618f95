/* SPDX-License-Identifier: MIT */
/* admin_directory.c: the directory file as porter-admin edits it. See admin_directory.h. */
#include "admin_directory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "directory_file.h"

json_object *admin_directory_load(const char *path, bool create)
{
	char err[1536];
	struct directory *d;
	if (access(path, F_OK) != 0 && errno == ENOENT && create) {
		json_object *root = json_object_new_object();
		json_object_object_add(root, "porter_directory",
		                       json_object_new_int(DIRECTORY_FILE_FORMAT));
		json_object_object_add(root, "people", json_object_new_array());
		return root;
	}
	if (directory_file_load(path, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return NULL;
	}
	directory_free(d);
	return json_object_from_file(path);
}

/* The new file gets the old one's owner, group and mode: the daemon reading it
 * may run as another user than the admin (root) who edits it. */
static int keep_owner_and_mode(const char *path, int fd)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno; /* a new directory: the admin's, 0600 */
	if (fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, st.st_mode & 07777) < 0) {
		int r = -errno;
		fprintf(stderr,
		        "porter-admin: cannot give the new %s the owner (%u:%u) and mode (%04o) "
		        "of the old one: %s; nothing written (run as root or as its owner)\n",
		        path, (unsigned)st.st_uid, (unsigned)st.st_gid, st.st_mode & 07777,
		        strerror(-r));
		return r;
	}
	return 0;
}

int admin_directory_save(const char *path, json_object *root)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	const char *text = json_object_to_json_string_ext(
	        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "porter-admin: %s: %s\n", tmp, strerror(errno));
		return -errno;
	}
	if (keep_owner_and_mode(path, fd) < 0) {
		close(fd);
		unlink(tmp);
		return -EPERM;
	}
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		fprintf(stderr, "porter-admin: could not write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}
