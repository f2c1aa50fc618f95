/* SPDX-License-Identifier: MIT */
/* secret_file.c: see secret_file.h. */
#include "secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check(int fd, const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		return -EINVAL;
	}
	/* Whoever owns the file can rewrite it or open it up to everyone:
	 * only porter's own user and root may. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen,
		         "%s %s: owned by uid %u, but porter runs as uid %u; refusing a secret "
		         "another account controls (chown %u %s)",
		         what, path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(),
		         path);
		return -EPERM;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
		         "%s %s: mode %04o lets other users read it; refusing it "
		         "(chmod 600 %s)",
		         what, path, (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

int secret_file_read(const char *path, const char *what, char *buf, size_t size, size_t *ret_len,
                     char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int r = -errno;
		if (errno == ELOOP)
			snprintf(err, errlen, "%s %s: is a symbolic link; name the file itself",
			         what, path);
		else
			snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return r;
	}
	int r = check(fd, path, what, err, errlen);
	size_t len = 0;
	while (r == 0 && len < size) {
		ssize_t n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		}
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	*ret_len = r == 0 ? len : 0;
	return r;
}
