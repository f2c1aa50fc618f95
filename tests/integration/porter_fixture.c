/* SPDX-License-Identifier: MIT */
/*
 * porter_fixture.c: temp dirs, porter-admin runs and configs for the
 * integration tests (see porter_fixture.h).
 */
#include "porter_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *fx_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int fx_mkdtemp(char ret[FX_PATH_MAX])
{
	const char *tmp = fx_env("TMPDIR");

	snprintf(ret, FX_PATH_MAX, "%s/porter-it-XXXXXX", tmp ? tmp : "/tmp");
	return mkdtemp(ret) ? 0 : -errno;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void fx_rmrf(const char *dir)
{
	if (dir && *dir)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int fx_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text), done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		done += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

void fx_timestamp(int64_t t, char ret[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(ret, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Run argv with `input` on its stdin and its stdout discarded; its stderr
 * stays ours so a failure explains itself. Returns the exit status. */
static int run(char *const argv[], const char *input)
{
	posix_spawn_file_actions_t fa;
	int in[2], status = 0, r;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	if (r != 0) {
		close(in[1]);
		return -r;
	}
	if (input) {
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		if (write(in[1], input, strlen(input)) < 0) {
			/* the child said why on stderr */
		}
		signal(SIGPIPE, old);
	}
	close(in[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int fx_admin(char *out, size_t size, ...)
{
	char *argv[FX_ADMIN_ARGS_MAX + 2] = {(char *)fx_env("PORTER_ADMIN")};
	posix_spawn_file_actions_t fa;
	int fds[2], status = 0, r;
	size_t argc = 1, len = 0;
	va_list ap;
	pid_t pid;

	va_start(ap, size);
	for (const char *a; argc <= FX_ADMIN_ARGS_MAX && (a = va_arg(ap, const char *));)
		argv[argc++] = (char *)a;
	va_end(ap);
	if (!argv[0] || pipe2(fds, O_CLOEXEC) < 0)
		return -EINVAL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r != 0) {
		close(fds[0]);
		return -r;
	}
	for (ssize_t n; len + 1 < size && (n = read(fds[0], out + len, size - 1 - len)) > 0;)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int fx_keygen(const char *admin, const char *dir)
{
	char key[FX_PATH_MAX + 16];

	snprintf(key, sizeof(key), "%s/pin.key", dir);
	char *argv[] = { (char *)admin, "keygen", key, NULL };
	return run(argv, NULL);
}

/* `porter-admin add`, and with `code_file` its --qr-code-file. */
static int add_person(const char *admin, const char *dir, const char *id, const char *kind,
		      const char *name, const char *pin, const char *valid_from,
		      const char *valid_until, const char *code_file)
{
	char directory[FX_PATH_MAX + 32], key[FX_PATH_MAX + 16], line[64];
	char *argv[22];
	int n = 0;

	snprintf(directory, sizeof(directory), "%s/directory.json", dir);
	snprintf(key, sizeof(key), "%s/pin.key", dir);
	snprintf(line, sizeof(line), "%s\n", pin);
	argv[n++] = (char *)admin;
	argv[n++] = "add";
	argv[n++] = "--directory";
	argv[n++] = directory;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--id";
	argv[n++] = (char *)id;
	argv[n++] = "--kind";
	argv[n++] = (char *)kind;
	argv[n++] = "--name";
	argv[n++] = (char *)name;
	if (valid_from) {
		argv[n++] = "--valid-from";
		argv[n++] = (char *)valid_from;
	}
	if (valid_until) {
		argv[n++] = "--valid-until";
		argv[n++] = (char *)valid_until;
	}
	if (code_file) {
		argv[n++] = "--qr-code-file";
		argv[n++] = (char *)code_file;
	}
	argv[n] = NULL;
	return run(argv, line);
}

int fx_add_person(const char *admin, const char *dir, const char *id, const char *kind,
		  const char *name, const char *pin, const char *valid_from,
		  const char *valid_until)
{
	return add_person(admin, dir, id, kind, name, pin, valid_from, valid_until, NULL);
}

int fx_add_visitor_with_code(const char *admin, const char *dir, const char *id,
			     const char *name, const char *pin, const char *code)
{
	char from[32], until[32], file[FX_PATH_MAX + 32], text[600];
	int64_t now = (int64_t)time(NULL);

	fx_timestamp(now - 3600, from);
	fx_timestamp(now + 8 * 3600, until);
	snprintf(file, sizeof(file), "%s/%s.code", dir, id);
	snprintf(text, sizeof(text), "%s\n", code);
	int r = fx_write_file(file, text);
	if (r == 0)
		r = add_person(admin, dir, id, "visitor", name, pin, from, until, file);
	unlink(file); /* the code is a secret like a PIN: not left on disk */
	return r;
}

int fx_pass_keygen(const char *admin, const char *dir, const char *name)
{
	char private[FX_PATH_MAX + 80], public[FX_PATH_MAX + 80];

	snprintf(private, sizeof(private), "%s/%s.key", dir, name);
	snprintf(public, sizeof(public), "%s/%s.pub", dir, name);
	char *argv[] = {(char *)admin, "pass", "keygen", "--private", private,
	                "--public", public, NULL};
	return run(argv, NULL);
}

int fx_make_site(const char *admin, const char *dir, unsigned people)
{
	char from[32], until[32];
	int64_t now = (int64_t)time(NULL);
	int r = fx_keygen(admin, dir);

	if (r != 0)
		return r;
	fx_timestamp(now - 3600, from);
	fx_timestamp(now + 8 * 3600, until);
	if (people & FX_ANA)
		r |= fx_add_person(admin, dir, "m-ana", "member", "Ana Souza", FX_PIN_ANA, NULL,
		                   NULL);
	if (people & FX_BEN)
		r |= fx_add_person(admin, dir, "m-ben", "member", "Ben Okafor", FX_PIN_BEN, NULL,
		                   NULL);
	if (people & FX_VERA)
		r |= fx_add_person(admin, dir, "v-vera", "visitor", "Vera Visitor", FX_PIN_VERA,
		                   from, until);
	if (people & FX_OTTO)
		r |= fx_add_person(admin, dir, "v-otto", "visitor", "Otto Expired", FX_PIN_OTTO,
		                   "2020-01-01T08:00:00Z", "2020-01-01T20:00:00Z");
	return r;
}

char *fx_config(const char *dir, const char *extra)
{
#define CONFIG_FMT                                                 \
	"{\"backend\":\"local\",\"local\":{"                              \
	"\"directory\":\"%s/directory.json\","                             \
	"\"database\":\"%s/presence.db\","                                 \
	"\"pin_key_file\":\"%s/pin.key\"}%s}"
	size_t len = sizeof(CONFIG_FMT) + 3 * strlen(dir) + strlen(extra) + 1;
	char *text = malloc(len);

	if (text)
		snprintf(text, len, CONFIG_FMT, dir, dir, dir, extra);
	return text;
#undef CONFIG_FMT
}

char *fx_example_texts(const char *name)
{
	char path[FX_PATH_MAX];
	const char *root = fx_env("PORTER_SOURCE_DIR");
	if (!root)
		return NULL;
	snprintf(path, sizeof(path), "%s/examples/%s", root, name);
	FILE *f = fopen(path, "rb");
	char *text = f ? calloc(1, 65536) : NULL;
	size_t n = text ? fread(text, 1, 65535, f) : 0;
	if (f)
		fclose(f);
	char *open = text ? strchr(text, '{') : NULL, *close = text ? strrchr(text, '}') : NULL;
	if (n == 0 || !open || !close || close < open) {
		free(text);
		return NULL;
	}
	*open = ',';
	*close = '\0';
	return text;
}
