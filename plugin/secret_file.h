/* SPDX-License-Identifier: MIT */
/*
 * secret_file.h: reading a file that holds a secret (the site's PIN key, a
 * webhook signing secret, backend credentials).
 *
 * One rule for all of them: the file is a regular file (not a symlink),
 * owned by porter's own user or root (whoever owns it can rewrite it or open
 * it up), and neither group nor others may read or write it. Anything else
 * is refused with a message that names the file, what is wrong and the
 * command that fixes it, never the secret.
 */
#ifndef PORTER_SECRET_FILE_H
#define PORTER_SECRET_FILE_H

#include <stddef.h>

/* Read at most `size` bytes of the secret file at `path` into `buf` and set
 * *ret_len; trailing newlines are dropped. `what` names the file in
 * messages ("PIN key file"). A file longer than `size` sets *ret_len to
 * `size` (the caller decides whether that is too long). Returns 0 or a
 * negative errno: -EPERM for the owner and mode rules, -EINVAL for what is
 * not a regular file, or the error of open/read. The caller cleanses `buf`. */
int secret_file_read(const char *path, const char *what, char *buf, size_t size, size_t *ret_len,
                     char *err, size_t errlen);

#endif
