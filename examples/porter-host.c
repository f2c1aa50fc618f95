/* SPDX-License-Identifier: MIT */
/*
 * porter-host.c: the reference host daemon, a complete small program showing
 * how a door controller embeds porter.so through porter.h alone.
 *
 *   porter-host --plugin build/porter.so --config examples/config-local.json \
 *               --reader front
 *
 * The terminal plays the keypad: each character typed is one key press
 * ('0'..'9', '*' clears, '#' or Enter submits), read without echo when stdin
 * is a terminal; piped text works the same way. Escape sequences (function
 * keys, arrows) are skipped whole: their digits are not key presses. Door
 * actions, feedback and decisions are printed. A decision porter leaves
 * pending for more than 10 s is denied and cancelled (fail closed). SIGHUP
 * reloads the config file; EOF (Ctrl-D), SIGINT (Ctrl-C), SIGQUIT (Ctrl-\)
 * and SIGTERM shut porter down cleanly. Ctrl-Z suspends. The terminal's modes
 * are restored on every way out, a crash included.
 *
 * porter logs every config problem itself (one line each, through the log
 * service), so init and reload pass no report callback; `--check` shows the
 * structured reports an admin UI would get from check_config().
 *
 * As a service (examples/porter-host.service) there is no terminal:
 * --keypad PATH reads key presses from a FIFO instead of stdin (created if
 * missing; `echo 1234 > PATH` types a PIN), and log lines on stderr carry the
 * sd-daemon priority prefix "<N>" when stderr is the journal (JOURNAL_STREAM,
 * or --log=journal), so `journalctl -p warning` shows porter's warnings.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "host_loop.h"
#include "porter.h"

#define PENDING_TIMEOUT_US (10u * 1000000u)
#define MAX_PENDING        64
#define MAX_DOORS          8
#define CONFIG_MAX_BYTES   (1024 * 1024)
#define READER_ID_MAX      64

struct host;

struct pending {
	struct host *host;
	uint64_t request_id;
	int64_t timer;
	bool used;
};

struct door {
	struct host *host;
	char reader_id[READER_ID_MAX + 1];
	int64_t relock_timer; /* 0: locked */
};

struct host {
	struct host_loop *loop;
	struct host_plugin plugin;
	const struct porter_plugin_descriptor *porter_api;
	porter_plugin *porter;
	const char *config_path;
	const char *reader_id;
	bool verbose;
	bool check_only;
	const char *keypad_path; /* a FIFO instead of stdin (--keypad) */

	uint64_t last_request_id;
	struct pending pending[MAX_PENDING];
	size_t n_pending;
	struct door doors[MAX_DOORS];

	int signal_fd;
	int64_t signal_watch;
	int64_t stdin_watch;
	int64_t stdin_timer; /* stdin that epoll cannot watch (a regular file) */
	bool stdin_tty;
	bool stdin_eof;
	int esc_state; /* enum esc_state: inside a terminal escape sequence */
	unsigned esc_len;
};

/* The terminal must be restored however we exit, from a signal handler too,
 * so its saved modes are static. Normal ways out (EOF, SIGINT, SIGQUIT,
 * SIGTERM, errors) pass through host_stop(); exit() through atexit(); a
 * crash through terminal_crashed(). */
static struct {
	volatile sig_atomic_t saved;
	struct termios termios;
} terminal;

static void terminal_restore(void)
{
	if (terminal.saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &terminal.termios);
	terminal.saved = 0;
}

/* A fatal signal: restore (tcsetattr is async-signal-safe), then die of it
 * (SA_RESETHAND made the action the default again). */
static void terminal_crashed(int sig)
{
	if (terminal.saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &terminal.termios);
	raise(sig);
}

/* Keypad mode: one key per read, nothing echoed (a PIN never shows). Ctrl-C,
 * Ctrl-\ and Ctrl-Z still raise their signals. */
static void terminal_keypad_mode(void)
{
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
	static bool registered;
	struct sigaction sa = {.sa_handler = terminal_crashed, .sa_flags = SA_RESETHAND};
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &terminal.termios) < 0)
		return;
	if (!registered) {
		atexit(terminal_restore);
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			sigaction(fatal[i], &sa, NULL);
		registered = true;
	}
	raw = terminal.termios;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	terminal.saved = 1;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
}

/* Ctrl-Z: give the shell its terminal back while stopped, keypad mode again
 * when continued. */
static void terminal_suspend(void)
{
	bool was_keypad = terminal.saved;

	terminal_restore();
	raise(SIGSTOP); /* returns once continued (fg) */
	if (was_keypad)
		terminal_keypad_mode();
}

/* ---- logging ------------------------------------------------------------- */

/* "<N>" before each stderr line when stderr is the journal: journald reads it
 * as the line's priority (sd-daemon(3)); porter's levels are syslog's. */
static bool log_journal;

/* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected; stderr is
 * the journal only if it is still that stream (not redirected by a script). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static const char *log_prefix(int priority)
{
	static const char prefixes[8][4] = {"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"};

	if (!log_journal)
		return "";
	return prefixes[priority < 0 ? 0 : priority > 7 ? 7 : priority];
}

/* One line of porter-host's own on stderr, at a syslog priority. */
static void host_log(int priority, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%sporter-host: ", log_prefix(priority));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len;

	if (!f)
		return NULL;
	buf = malloc(CONFIG_MAX_BYTES + 1);
	if (!buf)
		goto out;
	len = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f) || len > CONFIG_MAX_BYTES) {
		free(buf);
		buf = NULL;
		errno = ferror(f) ? EIO : EFBIG;
		goto out;
	}
	buf[len] = '\0';
	*ret_len = len;
out:
	fclose(f);
	return buf;
}

/* ---- what porter asks of the host ---------------------------------------- */

/* One problem found by check_config(), as an admin UI would list it. */
static void on_report(void *userdata, const struct porter_report *report)
{
	const char *kind = report->severity == PORTER_SEVERITY_ERROR ? "error" : "warning";

	(void)userdata;
	printf("%s %s at %s: %s\n", kind, report->code ? report->code : "?",
	       report->path ? report->path : "$", report->message ? report->message : "");
	if (report->fix)
		printf("    fix: %s\n", report->fix);
}

static void on_log(void *userdata, uint32_t level, const char *message)
{
	struct host *h = userdata;

	if (level >= PORTER_LOG_DEBUG && !h->verbose)
		return;
	fprintf(stderr, "%sporter %s: %s\n", log_prefix((int)level), host_loop_level_name(level),
	        message);
}

static void door_relock(void *userdata)
{
	struct door *door = userdata;

	door->relock_timer = 0;
	printf("[door %s] locked\n", door->reader_id);
	fflush(stdout);
}

static struct door *door_get(struct host *h, const char *reader_id)
{
	struct door *free_slot = NULL;

	for (size_t i = 0; i < MAX_DOORS; i++) {
		struct door *d = &h->doors[i];

		if (d->reader_id[0] && strcmp(d->reader_id, reader_id) == 0)
			return d;
		if (!d->reader_id[0] && !free_slot)
			free_slot = d;
	}
	if (free_slot && strlen(reader_id) <= READER_ID_MAX) {
		free_slot->host = h;
		strcpy(free_slot->reader_id, reader_id);
	}
	return free_slot && free_slot->reader_id[0] ? free_slot : NULL;
}

static int on_door_unlock(void *userdata, const char *reader_id, uint32_t duration_ms)
{
	struct host *h = userdata;
	struct door *door = door_get(h, reader_id ? reader_id : "?");

	printf("[door %s] unlocked for %" PRIu32 " ms\n", reader_id ? reader_id : "?", duration_ms);
	fflush(stdout);
	if (!door)
		return 0;
	host_loop_timer_remove(h->loop, door->relock_timer);
	int64_t t = host_loop_timer_add(h->loop, (uint64_t)duration_ms * 1000u, door_relock, door);
	door->relock_timer = t > 0 ? t : 0;
	return 0;
}

static const char *led_name(uint32_t led)
{
	switch (led) {
	case PORTER_LED_GREEN:
		return "GREEN";
	case PORTER_LED_RED:
		return "RED";
	case PORTER_LED_AMBER:
		return "AMBER";
	default:
		return "LED off";
	}
}

static const char *beep_name(uint32_t beep)
{
	switch (beep) {
	case PORTER_BEEP_OK:
		return " beep";
	case PORTER_BEEP_ERROR:
		return " long beep";
	default:
		return "";
	}
}

static int on_feedback(void *userdata, const struct porter_feedback *fb)
{
	const char *code = PORTER_HAS_FIELD(fb, struct porter_feedback, code) ? fb->code : NULL;

	(void)userdata;
	printf("[%s] %s%s: %s", fb->reader_id ? fb->reader_id : "?", led_name(fb->led),
	       beep_name(fb->beep), fb->text ? fb->text : "");
	if (code)
		printf(" (%s)", code);
	printf("\n");
	fflush(stdout);
	return 0;
}

/* ---- pending decisions ------------------------------------------------------ */

static struct pending *pending_find(struct host *h, uint64_t request_id)
{
	for (size_t i = 0; i < MAX_PENDING; i++)
		if (h->pending[i].used && h->pending[i].request_id == request_id)
			return &h->pending[i];
	return NULL;
}

static void pending_release(struct pending *p)
{
	host_loop_timer_remove(p->host->loop, p->timer);
	p->used = false;
	p->host->n_pending--;
	if (p->host->stdin_eof && p->host->n_pending == 0)
		host_loop_quit(p->host->loop);
}

/* The host's side of fail-closed: nobody waits at a door forever. */
static void pending_timed_out(void *userdata)
{
	struct pending *p = userdata;
	struct host *h = p->host;
	uint64_t id = p->request_id;

	p->timer = 0;
	printf("[%s] request %" PRIu64 ": no decision within 10 s: DENY (cancelled)\n",
	       h->reader_id, id);
	fflush(stdout);
	pending_release(p);
	h->porter_api->cancel(h->porter, id);
}

static void pending_add(struct host *h, uint64_t request_id)
{
	for (size_t i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &h->pending[i];

		if (p->used)
			continue;
		int64_t t = host_loop_timer_add(h->loop, PENDING_TIMEOUT_US, pending_timed_out, p);
		if (t < 0)
			break;
		*p = (struct pending){
		        .host = h, .request_id = request_id, .timer = t, .used = true};
		h->n_pending++;
		return;
	}
	/* Cannot track it: fail closed now rather than wait without a limit. */
	printf("[%s] request %" PRIu64 ": too many pending: DENY (cancelled)\n", h->reader_id,
	       request_id);
	h->porter_api->cancel(h->porter, request_id);
}

static const char *direction_name(uint32_t direction)
{
	switch (direction) {
	case PORTER_DIRECTION_IN:
		return " in";
	case PORTER_DIRECTION_OUT:
		return " out";
	default:
		return "";
	}
}

static void on_complete(void *userdata, uint64_t request_id, const struct porter_result *result)
{
	struct host *h = userdata;
	struct pending *p = pending_find(h, request_id);

	if (!p) {
		host_log(LOG_WARNING, "completion for unknown request %" PRIu64 " ignored",
		         request_id);
		return;
	}
	printf("[%s] request %" PRIu64 ": %s%s", h->reader_id, request_id,
	       result->verdict == PORTER_VERDICT_GRANT ? "GRANT" : "DENY",
	       direction_name(result->direction));
	if (result->code)
		printf(" (%s)", result->code);
	if (result->person_id)
		printf(" person %s", result->person_id);
	printf("\n");
	fflush(stdout);
	pending_release(p);
}

static void report_verdict(struct host *h, uint64_t request_id, int r)
{
	if (r == PORTER_VERDICT_PENDING) {
		pending_add(h, request_id);
	} else if (r == PORTER_VERDICT_GRANT || r == PORTER_VERDICT_DENY) {
		printf("[%s] request %" PRIu64 ": %s\n", h->reader_id, request_id,
		       r == PORTER_VERDICT_GRANT ? "GRANT" : "DENY");
	} else if (r < 0) {
		printf("[%s] request %" PRIu64 ": key refused: %s\n", h->reader_id, request_id,
		       strerror(-r));
	}
	fflush(stdout);
}

/* ---- the keypad ------------------------------------------------------------ */

/*
 * Terminals send function keys and arrows as escape sequences with digits in
 * them: F6 is ESC [ 1 7 ~, Ctrl-Left ESC [ 1 ; 5 D, F2 (SS3) ESC O Q. Those
 * digits are not key presses: a sequence is skipped whole, from ESC to its
 * final byte (0x40-0x7e for ESC [, the next byte for ESC O). ESC followed by
 * any other byte (Alt+key, or Esc pressed alone) ends there and that byte
 * counts. A control character inside a sequence ends it and counts (ECMA-48
 * executes it); a sequence longer than ESC_MAX bytes is dropped.
 */
#define ESC_MAX 32

enum esc_state { ESC_NONE, ESC_START, ESC_CSI, ESC_SS3 };

/* Feed one byte; true when it is typed text rather than part of a sequence. */
static bool escape_filter(struct host *h, unsigned char c)
{
	if (c == 0x1b) {
		h->esc_state = ESC_START;
		h->esc_len = 0;
		return false;
	}
	switch (h->esc_state) {
	case ESC_START:
		h->esc_state = c == '[' ? ESC_CSI : c == 'O' ? ESC_SS3 : ESC_NONE;
		return h->esc_state == ESC_NONE;
	case ESC_SS3:
		h->esc_state = ESC_NONE;
		return c < 0x20;
	case ESC_CSI:
		if (c < 0x20 || (c >= 0x40 && c <= 0x7e) || ++h->esc_len > ESC_MAX)
			h->esc_state = ESC_NONE;
		return c < 0x20;
	default:
		return true;
	}
}

/* One key press. Only the twelve keypad keys count; Enter is '#'. */
static void press_key(struct host *h, char c)
{
	uint32_t key;

	if (c >= '0' && c <= '9') {
		key = (uint32_t)c;
		fputs("*", stdout); /* never the digit itself */
	} else if (c == '*') {
		key = '*';
		fputs(" [cleared]\n", stdout);
	} else if (c == '#' || c == '\n') {
		key = '#';
		fputs("\n", stdout);
	} else {
		return;
	}
	fflush(stdout);

	struct porter_key_event ev = {
	        .size = sizeof(ev),
	        .key = key,
	        .request_id = ++h->last_request_id,
	        .reader_id = h->reader_id,
	};
	report_verdict(h, ev.request_id, h->porter_api->on_key(h->porter, &ev));
}

static void stdin_eof(struct host *h)
{
	h->stdin_eof = true;
	host_loop_watch_remove(h->loop, h->stdin_watch);
	h->stdin_watch = 0;
	if (h->n_pending == 0)
		host_loop_quit(h->loop);
}

/* Read what is there and press each key. Returns false at EOF. */
static bool stdin_read_keys(struct host *h)
{
	char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++) {
		if (h->stdin_tty && buf[i] == 0x04) /* Ctrl-D in keypad mode */
			return false;
		if (escape_filter(h, (unsigned char)buf[i]))
			press_key(h, buf[i]);
	}
	return true;
}

static void on_stdin(void *userdata, int fd, uint32_t revents)
{
	struct host *h = userdata;

	(void)fd;
	(void)revents;
	if (!stdin_read_keys(h))
		stdin_eof(h);
}

static void on_stdin_timer(void *userdata)
{
	struct host *h = userdata;

	h->stdin_timer = 0;
	if (!stdin_read_keys(h)) {
		stdin_eof(h);
		return;
	}
	int64_t t = host_loop_timer_add(h->loop, 1000, on_stdin_timer, h);
	h->stdin_timer = t > 0 ? t : 0;
}

/* --keypad: a FIFO in place of stdin. Opened read-write so it never reaches
 * EOF when a writer (echo 1234 > FIFO) closes it: a service keeps running. */
static int keypad_open(const char *path)
{
	struct stat st;
	int fd;

	if (mkfifo(path, 0620) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (dup2(fd, STDIN_FILENO) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

static int stdin_start(struct host *h)
{
	if (h->keypad_path) {
		int r = keypad_open(h->keypad_path);
		if (r < 0) {
			host_log(LOG_ERR, "keypad FIFO %s: %s", h->keypad_path, strerror(-r));
			return r;
		}
	}
	h->stdin_tty = isatty(STDIN_FILENO);
	if (h->stdin_tty)
		terminal_keypad_mode();
	int64_t w = host_loop_watch_add(h->loop, STDIN_FILENO, PORTER_IO_IN, on_stdin, h);
	if (w > 0) {
		h->stdin_watch = w;
		return 0;
	}
	if (w != -EPERM) /* epoll refuses regular files and /dev/null: poll by timer */
		return (int)w;
	w = host_loop_timer_add(h->loop, 0, on_stdin_timer, h);
	h->stdin_timer = w > 0 ? w : 0;
	return w > 0 ? 0 : (int)w;
}

/* ---- signals and reload ------------------------------------------------------ */

static void reload_config(struct host *h)
{
	size_t len = 0;
	char *text = read_file(h->config_path, &len);

	if (!text) {
		host_log(LOG_ERR, "cannot read %s: %s; config unchanged", h->config_path,
		         strerror(errno));
		return;
	}
	int r = h->porter_api->reload(h->porter, text, len, NULL, NULL);
	free(text);
	if (r < 0)
		host_log(LOG_ERR, "reload refused (%s); the previous config stays", strerror(-r));
	else
		host_log(LOG_NOTICE, "config reloaded from %s", h->config_path);
}

static void on_signal(void *userdata, int fd, uint32_t revents)
{
	struct host *h = userdata;
	struct signalfd_siginfo si;

	(void)revents;
	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		reload_config(h);
		return;
	}
	if (si.ssi_signo == SIGTSTP) {
		terminal_suspend();
		return;
	}
	host_log(LOG_NOTICE, "%s, shutting down", strsignal((int)si.ssi_signo));
	host_loop_quit(h->loop);
}

/* Block the signals before porter starts threads, so they all arrive here. */
static int signals_start(struct host *h)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT); /* Ctrl-\: a clean stop too, not a core dump */
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTSTP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	h->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (h->signal_fd < 0)
		return -errno;
	int64_t w = host_loop_watch_add(h->loop, h->signal_fd, PORTER_IO_IN, on_signal, h);
	h->signal_watch = w > 0 ? w : 0;
	return w > 0 ? 0 : (int)w;
}

/* ---- start and stop ---------------------------------------------------------- */

static int porter_start(struct host *h)
{
	size_t len = 0;
	char *text = read_file(h->config_path, &len);

	if (!text) {
		host_log(LOG_ERR, "cannot read config %s: %s", h->config_path, strerror(errno));
		return -errno;
	}
	int r = h->porter_api->init(host_loop_services(h->loop), text, len, NULL, NULL, &h->porter);
	free(text);
	if (r == -EINVAL)
		host_log(LOG_ERR, "porter refused the config %s (errors above)", h->config_path);
	else if (r == -ENOTSUP)
		host_log(LOG_ERR, "porter is disabled by this config");
	else if (r < 0)
		host_log(LOG_ERR, "porter failed to start: %s", strerror(-r));
	if (r < 0)
		h->porter = NULL;
	return r;
}

/* porter first (it may complete pending requests while shutting down), then
 * whatever porter queued and our own sources, then the library itself. */
static void host_stop(struct host *h)
{
	if (h->porter) {
		h->porter_api->shutdown(h->porter);
		h->porter = NULL;
	}
	host_loop_drop_invokes(h->loop);
	for (size_t i = 0; i < MAX_PENDING; i++) {
		if (h->pending[i].used) {
			printf("[%s] request %" PRIu64 ": not decided at shutdown: DENY\n",
			       h->reader_id, h->pending[i].request_id);
			h->stdin_eof = false;
			pending_release(&h->pending[i]);
		}
	}
	for (size_t i = 0; i < MAX_DOORS; i++)
		host_loop_timer_remove(h->loop, h->doors[i].relock_timer);
	host_loop_timer_remove(h->loop, h->stdin_timer);
	host_loop_watch_remove(h->loop, h->stdin_watch);
	host_loop_watch_remove(h->loop, h->signal_watch);
	if (host_loop_n_watches(h->loop) || host_loop_n_timers(h->loop))
		host_log(LOG_WARNING, "porter left %zu watches and %zu timers behind",
		         host_loop_n_watches(h->loop), host_loop_n_timers(h->loop));
	if (h->signal_fd >= 0)
		close(h->signal_fd);
	h->loop = host_loop_free(h->loop);
	host_plugin_unload(&h->plugin);
	terminal_restore();
	fflush(stdout);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: porter-host --plugin PATH/porter.so --config CONFIG.json "
	             "[--reader ID] [--verbose] [--check] [--keypad FIFO] "
	             "[--log=auto|journal|plain]\n"
	             "--check only validates the config and prints every problem.\n"
	             "--keypad reads keys from FIFO (made if missing) instead of stdin.\n"
	             "--log=journal prefixes stderr lines with their priority <N>; auto (the\n"
	             "default) does when stderr is the journal (JOURNAL_STREAM).\n"
	             "Type a PIN and press Enter (or #); * clears. Ctrl-C quits.\n"
	             "SIGHUP reloads the config file.\n");
}

static int parse_args(struct host *h, int argc, char **argv, const char **ret_plugin)
{
	static const struct option options[] = {
	        {"plugin", required_argument, NULL, 'p'},
	        {"config", required_argument, NULL, 'c'},
	        {"reader", required_argument, NULL, 'r'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"check", no_argument, NULL, 'k'},
	        {"keypad", required_argument, NULL, 'K'},
	        {"log", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:c:r:vkh", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			*ret_plugin = optarg;
			break;
		case 'c':
			h->config_path = optarg;
			break;
		case 'r':
			h->reader_id = optarg;
			break;
		case 'v':
			h->verbose = true;
			break;
		case 'k':
			h->check_only = true;
			break;
		case 'K':
			h->keypad_path = optarg;
			break;
		case 'l':
			if (strcmp(optarg, "journal") == 0)
				log_journal = true;
			else if (strcmp(optarg, "plain") == 0)
				log_journal = false;
			else if (strcmp(optarg, "auto") != 0) {
				fprintf(stderr,
				        "porter-host: --log=%s: want auto, journal or plain\n",
				        optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (!*ret_plugin || !h->config_path || optind != argc)
		return -EINVAL;
	return 0;
}

/* --check: what an admin UI does before saving a config. */
static int check_config(struct host *h)
{
	size_t len = 0;
	char *text = read_file(h->config_path, &len);

	if (!text) {
		host_log(LOG_ERR, "cannot read config %s: %s", h->config_path, strerror(errno));
		return -1;
	}
	int r = h->porter_api->check_config(text, len, on_report, h);
	free(text);
	printf("%s: %s\n", h->config_path, r == 0 ? "usable" : "refused");
	return r;
}

static int host_start(struct host *h, const char *plugin_path)
{
	char err[1024];
	struct host_loop_callbacks callbacks = {
	        .userdata = h,
	        .log = on_log,
	        .door_unlock = on_door_unlock,
	        .feedback = on_feedback,
	        .complete = on_complete,
	};

	if (host_plugin_load(plugin_path, &h->plugin, err, sizeof(err)) < 0) {
		host_log(LOG_ERR, "%s", err);
		return -1;
	}
	h->porter_api = h->plugin.descriptor;
	if (h->check_only)
		return check_config(h) == 0 ? 1 : -1;
	h->loop = host_loop_new(&callbacks);
	if (!h->loop || signals_start(h) < 0) {
		host_log(LOG_ERR, "cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	if (porter_start(h) < 0)
		return -1;
	if (stdin_start(h) < 0) {
		host_log(LOG_ERR, "cannot read the keypad (%s)",
		         h->keypad_path ? h->keypad_path : "stdin");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct host h = {.reader_id = "front", .signal_fd = -1};
	const char *plugin_path = NULL;
	int r;

	log_journal = stderr_is_journal(); /* --log overrides */

	if (parse_args(&h, argc, argv, &plugin_path) < 0) {
		usage(stderr);
		return 2;
	}
	r = host_start(&h, plugin_path);
	if (r > 0) { /* --check done */
		host_stop(&h);
		return 0;
	}
	if (r == 0) {
		printf("porter %s loaded; keypad '%s' ready. Type a PIN and press Enter "
		       "(* clears, Ctrl-C quits).\n",
		       h.porter_api->version ? h.porter_api->version : "?", h.reader_id);
		fflush(stdout);
		r = host_loop_run(h.loop);
		if (r < 0)
			host_log(LOG_ERR, "event loop failed: %s", strerror(-r));
	}
	host_stop(&h);
	return r == 0 ? 0 : 1;
}
