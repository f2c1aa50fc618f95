/* SPDX-License-Identifier: MIT */
/* admin_run.c: porter-admin runs for the integration tests (see admin_run.h). */
#include "admin_run.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

size_t admin_read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
	return n;
}

int admin_run(const char *dir, struct admin_run *ret, ...)
{
	char out_path[FX_PATH_MAX + 16], err_path[FX_PATH_MAX + 16];
	const char *admin = fx_env("PORTER_ADMIN");
	char *argv[32];
	int n = 0, status, r;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	va_list ap;

	if (!admin)
		return -ENOENT;
	argv[n++] = (char *)admin;
	va_start(ap, ret);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/admin.out", dir);
	snprintf(err_path, sizeof(err_path), "%s/admin.err", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC,
	                                 0600);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_TRUNC,
	                                 0600);
	r = posix_spawn(&pid, admin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	ret->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	admin_read_text(out_path, ret->out, sizeof(ret->out));
	admin_read_text(err_path, ret->err, sizeof(ret->err));
	unlink(out_path);
	unlink(err_path);
	return 0;
}

bool admin_line(const char *text, const char *prefix, char *ret, size_t size)
{
	size_t len = strlen(prefix);

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (n >= len && strncmp(line, prefix, len) == 0) {
			snprintf(ret, size, "%.*s", (int)n, line);
			return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}
