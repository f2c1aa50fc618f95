/* SPDX-License-Identifier: MIT */
/*
 * test_admin.c: porter-admin as an operator meets it. Each test runs the
 * built tool ($PORTER_ADMIN) on a private site and checks what it printed,
 * its exit status and what it left in the directory file. The interactive
 * prompt is driven through a pseudo-terminal, as a person at a shell would.
 *
 * The PINs below are test data; the tests check that porter-admin never
 * prints them (neither in its messages nor through the terminal's echo).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "porter_fixture.h"

extern char **environ;

#define PIN_ANA "4821"
#define PIN_BOB "7710"

struct site {
	char dir[FX_PATH_MAX];
	char directory[FX_PATH_MAX + 32];
	char key[FX_PATH_MAX + 16];
	char config[FX_PATH_MAX + 16];
};

/* What one porter-admin run did. */
struct run {
	int status;
	char out[8192];
	char err[8192];
};

static const char *admin(void)
{
	return fx_env("PORTER_ADMIN");
}

static void read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Run porter-admin with `args` (NULL-terminated) and `input` on stdin (a
 * pipe, as a script would), capturing stdout and stderr. */
static void run_admin(const struct site *s, struct run *ret, const char *input, ...)
{
	char out_path[FX_PATH_MAX + 16], err_path[FX_PATH_MAX + 16];
	char *argv[32];
	int n = 0, in[2], status;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	va_list ap;

	argv[n++] = (char *)admin();
	va_start(ap, input);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/out.txt", s->dir);
	snprintf(err_path, sizeof(err_path), "%s/err.txt", s->dir);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC,
	                                 0600);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_TRUNC,
	                                 0600);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	if (input && write(in[1], input, strlen(input)) < 0) {
		/* the tool may have exited before reading: its stderr says why */
	}
	close(in[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ret->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	read_text(out_path, ret->out, sizeof(ret->out));
	read_text(err_path, ret->err, sizeof(ret->err));
}

/* `porter-admin add` of a member into the site's directory, PIN on stdin. */
static void add_member(const struct site *s, struct run *ret, const char *id, const char *pin)
{
	char line[32];

	snprintf(line, sizeof(line), "%s\n", pin);
	run_admin(s, ret, line, "add", "--directory", s->directory, "--key", s->key, "--id", id,
	          "--kind", "member", "--name", "Some Member", NULL);
}

static int site_setup(void **state)
{
	struct site *s = calloc(1, sizeof(*s));

	if (!s || !admin() || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	snprintf(s->directory, sizeof(s->directory), "%s/directory.json", s->dir);
	snprintf(s->key, sizeof(s->key), "%s/pin.key", s->dir);
	snprintf(s->config, sizeof(s->config), "%s/config.json", s->dir);
	*state = s;
	return fx_keygen(admin(), s->dir) == 0 ? 0 : -1;
}

static int site_teardown(void **state)
{
	struct site *s = *state;

	fx_rmrf(s->dir);
	free(s);
	return 0;
}

static void assert_no_pin(const struct run *r, const char *pin)
{
	if (strstr(r->out, pin) || strstr(r->err, pin))
		fail_msg("porter-admin printed a PIN");
}

/* ---- options and help ------------------------------------------------- */

static void help_is_printed_on_stdout_and_exits_0(void **state)
{
	struct run r;

	run_admin(*state, &r, NULL, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "porter-admin add"));
	assert_string_equal(r.err, "");

	run_admin(*state, &r, NULL, "add", "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "porter-admin add"));
	assert_string_equal(r.err, "");
}

static void a_missing_option_is_named(void **state)
{
	struct site *s = *state;
	struct run r;

	run_admin(s, &r, PIN_ANA "\n", "add", "--key", s->key, "--id", "m-ana", "--kind", "member",
	          "--name", "Ana", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "missing --directory"));

	run_admin(s, &r, NULL, "remove", "--directory", s->directory, NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "missing --id"));

	run_admin(s, &r, NULL, "frobnicate", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "frobnicate"));
}

/* ---- PINs ---------------------------------------------------------------- */

static void a_pin_already_used_by_someone_else_is_refused(void **state)
{
	struct site *s = *state;
	char before[8192], after[8192];
	struct run r;

	add_member(s, &r, "m-ana", PIN_ANA);
	assert_int_equal(r.status, 0);
	read_text(s->directory, before, sizeof(before));

	add_member(s, &r, "m-bob", PIN_ANA);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "m-ana")); /* whose PIN it is, never the PIN */
	assert_no_pin(&r, PIN_ANA);
	read_text(s->directory, after, sizeof(after));
	assert_string_equal(before, after);

	add_member(s, &r, "m-bob", PIN_BOB);
	assert_int_equal(r.status, 0);
}

static void pin_length_follows_the_site_config(void **state)
{
	struct site *s = *state;
	struct run r;
	char *config = fx_config(s->dir, ",\"keypad\":{\"pin_min_length\":6,"
	                                 "\"pin_max_length\":6}");

	assert_non_null(config);
	assert_int_equal(fx_write_file(s->config, config), 0);
	free(config);

	/* 4 digits is fine for porter-admin alone, not for this site. */
	run_admin(s, &r, "4821\n", "add", "--config", s->config, "--id", "m-ana", "--kind",
	          "member", "--name", "Ana", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "6 digits"));
	assert_int_equal(access(s->directory, F_OK), -1);

	run_admin(s, &r, "4821000\n", "add", "--config", s->config, "--id", "m-ana", "--kind",
	          "member", "--name", "Ana", NULL);
	assert_int_equal(r.status, 1);

	/* --config also names the directory and the key. */
	run_admin(s, &r, "482100\n", "add", "--config", s->config, "--id", "m-ana", "--kind",
	          "member", "--name", "Ana", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(access(s->directory, F_OK), 0);
	assert_no_pin(&r, "482100");
}

static void a_config_with_errors_is_refused(void **state)
{
	struct site *s = *state;
	struct run r;

	assert_int_equal(fx_write_file(s->config, "{\"backend\":\"local\"}"), 0);
	run_admin(s, &r, PIN_ANA "\n", "add", "--config", s->config, "--id", "m-bob", "--kind",
	          "member", "--name", "Bob", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, s->config));
}

/* ---- visitor passes ------------------------------------------------------ */

static void add_visitor(const struct site *s, struct run *r, const char *from, const char *until)
{
	run_admin(s, r, PIN_BOB "\n", "add", "--directory", s->directory, "--key", s->key, "--id",
	          "v-vera", "--kind", "visitor", "--name", "Vera", "--valid-from", from,
	          "--valid-until", until, NULL);
}

static void an_expired_pass_is_added_with_a_warning(void **state)
{
	struct site *s = *state;
	struct run r;

	add_visitor(s, &r, "2020-01-01T08:00:00Z", "2020-01-01T20:00:00Z");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "warning"));
	assert_non_null(strstr(r.err, "expired"));
}

static void a_current_pass_is_added_without_a_warning(void **state)
{
	struct site *s = *state;
	char from[32], until[32];
	struct run r;

	fx_timestamp((int64_t)time(NULL) - 3600, from);
	fx_timestamp((int64_t)time(NULL) + 3600, until);
	add_visitor(s, &r, from, until);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
}

static void a_pass_that_ends_before_it_starts_is_refused(void **state)
{
	struct site *s = *state;
	struct run r;

	add_visitor(s, &r, "2030-01-01T20:00:00Z", "2030-01-01T08:00:00Z");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "valid_until"));
	assert_int_equal(access(s->directory, F_OK), -1);

	add_visitor(s, &r, "2030-01-01T08:00:00Z", "2030-01-01T08:00:00Z");
	assert_int_equal(r.status, 1);
}

/* ---- the directory file ------------------------------------------------- */

static void a_rewrite_keeps_owner_group_and_mode(void **state)
{
	struct site *s = *state;
	struct stat st;
	struct run r;
	uid_t uid = geteuid() == 0 ? 4321 : geteuid();
	gid_t gid = geteuid() == 0 ? 8765 : getegid();

	add_member(s, &r, "m-ana", PIN_ANA);
	assert_int_equal(r.status, 0);
	assert_int_equal(chown(s->directory, uid, gid), 0);
	assert_int_equal(chmod(s->directory, 0640), 0);

	add_member(s, &r, "m-bob", PIN_BOB);
	assert_int_equal(r.status, 0);
	assert_int_equal(stat(s->directory, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);

	run_admin(s, &r, NULL, "remove", "--directory", s->directory, "--id", "m-ana", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(stat(s->directory, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

/* ---- the interactive prompt, through a pseudo-terminal ------------------- */

/* Read from the terminal until `want` has been seen (or EOF or 10 s).
 * Everything read is appended to `buf`. */
static bool expect(int master, char *buf, size_t size, const char *want)
{
	size_t len = strlen(buf);

	for (int waited = 0; waited < 10000;) {
		if (want && strstr(buf, want))
			return true;
		struct pollfd p = {.fd = master, .events = POLLIN};
		int n = poll(&p, 1, 100);
		if (n == 0) {
			waited += 100;
			continue;
		}
		ssize_t got = read(master, buf + len, size - 1 - len);
		if (got <= 0) /* EIO: the other side closed */
			return want == NULL;
		len += (size_t)got;
		buf[len] = '\0';
	}
	return false;
}

/* Run `porter-admin add` on a terminal, answer both prompts, return its exit
 * status and everything the terminal showed. */
static int add_on_terminal(const struct site *s, const char *pin, const char *again, char *screen,
                           size_t size)
{
	int master, status;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(admin(), admin(), "add", "--directory", s->directory, "--key", s->key, "--id",
		      "m-ana", "--kind", "member", "--name", "Ana", (char *)NULL);
		_exit(127);
	}
	screen[0] = '\0';
	/* The prompt comes after echo is off, so what we type now is not shown. */
	assert_true(expect(master, screen, size, "PIN: "));
	assert_true(write(master, pin, strlen(pin)) > 0 && write(master, "\n", 1) == 1);
	assert_true(expect(master, screen, size, "again: "));
	assert_true(write(master, again, strlen(again)) > 0 && write(master, "\n", 1) == 1);
	expect(master, screen, size, NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(master);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void a_pin_typed_at_a_terminal_is_asked_twice_and_never_shown(void **state)
{
	struct site *s = *state;
	char screen[4096], line[32], hmac[128];
	char text[8192];
	struct run r;

	assert_int_equal(add_on_terminal(s, PIN_ANA, PIN_ANA, screen, sizeof(screen)), 0);
	if (strstr(screen, PIN_ANA))
		fail_msg("the PIN was shown on the terminal");
	assert_non_null(strstr(screen, "added m-ana"));

	/* What was stored is the HMAC of the PIN typed, as porter will compute it. */
	snprintf(line, sizeof(line), "%s\n", PIN_ANA);
	run_admin(s, &r, line, "hash-pin", "--key", s->key, NULL);
	assert_int_equal(r.status, 0);
	snprintf(hmac, sizeof(hmac), "\"%.64s\"", r.out);
	read_text(s->directory, text, sizeof(text));
	assert_non_null(strstr(text, hmac));
}

static void two_different_pins_at_a_terminal_write_nothing(void **state)
{
	struct site *s = *state;
	char screen[4096];

	assert_int_equal(add_on_terminal(s, PIN_ANA, PIN_BOB, screen, sizeof(screen)), 1);
	if (strstr(screen, PIN_ANA) || strstr(screen, PIN_BOB))
		fail_msg("a PIN was shown on the terminal");
	assert_non_null(strstr(screen, "do not match"));
	assert_int_equal(access(s->directory, F_OK), -1);
}

static void ctrl_c_at_the_prompt_gives_the_echo_back(void **state)
{
	struct site *s = *state;
	char screen[4096] = "";
	struct termios after;
	int master, status;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(admin(), admin(), "add", "--directory", s->directory, "--key", s->key, "--id",
		      "m-ana", "--kind", "member", "--name", "Ana", (char *)NULL);
		_exit(127);
	}
	assert_true(expect(master, screen, sizeof(screen), "PIN: "));
	assert_int_equal(write(master, "\x03", 1), 1); /* Ctrl-C */
	expect(master, screen, sizeof(screen), NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(tcgetattr(master, &after), 0);
	close(master);
	assert_true(after.c_lflag & ECHO);
	assert_int_equal(access(s->directory, F_OK), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(help_is_printed_on_stdout_and_exits_0),
	        T(a_missing_option_is_named),
	        T(a_pin_already_used_by_someone_else_is_refused),
	        T(pin_length_follows_the_site_config),
	        T(a_config_with_errors_is_refused),
	        T(an_expired_pass_is_added_with_a_warning),
	        T(a_current_pass_is_added_without_a_warning),
	        T(a_pass_that_ends_before_it_starts_is_refused),
	        T(a_rewrite_keeps_owner_group_and_mode),
	        T(a_pin_typed_at_a_terminal_is_asked_twice_and_never_shown),
	        T(two_different_pins_at_a_terminal_write_nothing),
	        T(ctrl_c_at_the_prompt_gives_the_echo_back),
	};

	if (!admin()) {
		fprintf(stderr, "PORTER_ADMIN must name the built porter-admin (meson test sets "
		                "it)\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
