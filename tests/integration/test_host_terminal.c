/* SPDX-License-Identifier: MIT */
/*
 * test_host_terminal.c: the reference host ($PORTER_HOST) with a terminal as
 * its keypad, driven through a pseudo-terminal as a person at a console.
 *
 * The terminal's modes are read before porter-host starts and again after it
 * is gone: however it leaves (end of input, Ctrl-C, Ctrl-\, SIGTERM, a crash)
 * they must be as it found them, or the admin's shell is left without echo.
 * Function keys and arrows send escape sequences with digits in them
 * ("ESC [ 1 7 ~" is F6); those digits must never reach porter as key presses.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <utmp.h>

#include <cmocka.h>

#include "porter_fixture.h"

#define PIN_ANA "482913"

struct session {
	char dir[FX_PATH_MAX];
	char config[FX_PATH_MAX + 16];
	struct termios before;
	int master;
	pid_t pid;
	char screen[16384];
};

static int session_setup(void **state)
{
	const char *admin = fx_env("PORTER_ADMIN");
	struct session *s = calloc(1, sizeof(*s));
	char *config;

	if (!s || !admin || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	*state = s;
	s->master = -1;
	snprintf(s->config, sizeof(s->config), "%s/config.json", s->dir);
	config = fx_config(s->dir, "");
	if (!config || fx_keygen(admin, s->dir) != 0 ||
	    fx_add_person(admin, s->dir, "m-ana", "member", "Ana Souza", PIN_ANA, NULL, NULL) !=
	            0 ||
	    fx_write_file(s->config, config) != 0) {
		free(config);
		return -1;
	}
	free(config);
	return 0;
}

static int session_teardown(void **state)
{
	struct session *s = *state;

	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	if (s->master >= 0)
		close(s->master);
	fx_rmrf(s->dir);
	free(s);
	return 0;
}

/* Read what the terminal shows until `want` appears (true), or EOF or 10 s
 * pass (false). want NULL: read to EOF. */
static bool expect(struct session *s, const char *want)
{
	size_t len = strlen(s->screen);

	for (int waited = 0; waited < 10000;) {
		if (want && strstr(s->screen, want))
			return true;
		struct pollfd p = {.fd = s->master, .events = POLLIN};
		if (poll(&p, 1, 100) == 0) {
			waited += 100;
			continue;
		}
		ssize_t n = read(s->master, s->screen + len, sizeof(s->screen) - 1 - len);
		if (n <= 0) /* EIO: porter-host and its terminal are gone */
			return want == NULL;
		len += (size_t)n;
		s->screen[len] = '\0';
	}
	return false;
}

static void type(struct session *s, const char *text)
{
	assert_int_equal(write(s->master, text, strlen(text)), (ssize_t)strlen(text));
}

/* porter-host on a fresh terminal, its modes noted first; returns once the
 * keypad is ready. */
static void start_host(struct session *s)
{
	int slave;

	assert_int_equal(openpty(&s->master, &slave, NULL, NULL, NULL), 0);
	assert_int_equal(tcgetattr(slave, &s->before), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core); /* the crash test leaves no core file */
		close(s->master);
		if (login_tty(slave) < 0)
			_exit(126);
		execl(fx_env("PORTER_HOST"), "porter-host", "--plugin", fx_env("PORTER_SO"),
		      "--config", s->config, "--reader", "front", (char *)NULL);
		_exit(127);
	}
	close(slave);
	if (!expect(s, "ready"))
		fail_msg("porter-host did not start:\n%s", s->screen);
}

/* Wait for porter-host to end; returns its wait status. */
static int wait_host(struct session *s)
{
	int status;

	expect(s, NULL);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	s->pid = 0;
	return status;
}

static void assert_terminal_as_before(struct session *s)
{
	struct termios after;

	assert_int_equal(tcgetattr(s->master, &after), 0);
	assert_int_equal(after.c_iflag, s->before.c_iflag);
	assert_int_equal(after.c_oflag, s->before.c_oflag);
	assert_int_equal(after.c_cflag, s->before.c_cflag);
	assert_int_equal(after.c_lflag, s->before.c_lflag);
	assert_memory_equal(after.c_cc, s->before.c_cc, sizeof(after.c_cc));
}

/* How many times `c` shows after the "ready" line (whose help text has a '*'). */
static size_t count(const char *screen, char c)
{
	const char *text = strstr(screen, "ready");
	size_t n = 0;

	text = text ? strchr(text, '\n') : NULL;
	for (; text && *text; text++)
		n += *text == c;
	return n;
}

static void function_keys_and_arrows_type_no_digits(void **state)
{
	struct session *s = *state;

	start_host(s);
	/* Ana's PIN with F6 (CSI), F2 (SS3), arrows and Ctrl-arrows in between. */
	type(s, "48");
	type(s, "\x1b[17~");
	type(s, "2\x1bOQ");
	type(s, "\x1b[A\x1b[1;5D9");
	type(s, "\x1b[[B13\x1b[200~\r");
	if (!expect(s, "person m-ana"))
		fail_msg("Ana's PIN was not taken as typed"); /* the screen may show it */
	assert_non_null(strstr(s->screen, "GRANT"));
	/* One star per digit typed, none for the digits inside the sequences. */
	assert_int_equal(count(s->screen, '*'), strlen(PIN_ANA));

	/* Function keys alone press nothing. */
	type(s, "\x1b[15~\x1b[24~\x1bOP\x1b[11;2~");
	type(s, "\x04"); /* Ctrl-D: end of input */
	assert_true(WIFEXITED(wait_host(s)));
	assert_int_equal(count(s->screen, '*'), strlen(PIN_ANA));
	assert_terminal_as_before(s);
}

static void end_of_input_restores_the_terminal(void **state)
{
	struct session *s = *state;

	start_host(s);
	type(s, "\x04");
	int status = wait_host(s);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_terminal_as_before(s);
}

static void ctrl_c_restores_the_terminal(void **state)
{
	struct session *s = *state;

	start_host(s);
	type(s, "\x03");
	int status = wait_host(s);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_terminal_as_before(s);
}

static void ctrl_backslash_restores_the_terminal(void **state)
{
	struct session *s = *state;

	start_host(s);
	type(s, "\x1c"); /* Ctrl-\: SIGQUIT */
	int status = wait_host(s);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_terminal_as_before(s);
}

static void sigterm_restores_the_terminal(void **state)
{
	struct session *s = *state;

	start_host(s);
	kill(s->pid, SIGTERM);
	int status = wait_host(s);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_terminal_as_before(s);
}

static void a_crash_still_restores_the_terminal(void **state)
{
	struct session *s = *state;

	start_host(s);
	kill(s->pid, SIGSEGV);
	int status = wait_host(s);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	assert_terminal_as_before(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, session_setup, session_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(function_keys_and_arrows_type_no_digits),
	        T(end_of_input_restores_the_terminal),
	        T(ctrl_c_restores_the_terminal),
	        T(ctrl_backslash_restores_the_terminal),
	        T(sigterm_restores_the_terminal),
	        T(a_crash_still_restores_the_terminal),
	};

	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN") || !fx_env("PORTER_HOST")) {
		fprintf(stderr, "PORTER_SO, PORTER_ADMIN and PORTER_HOST must name the built "
		                "files (meson test sets them)\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
