/* SPDX-License-Identifier: MIT */
/*
 * admin.c: porter-admin, the local backend's command-line tool.
 *
 * It makes the site key, adds and removes people in the directory file (PINs
 * are read from stdin and stored only as HMACs) and checks a directory. The
 * other commands live beside it, one file each: check --config
 * (admin_check.c), presence (admin_presence.c), lockouts and unlock
 * (admin_lockout.c), outbox (admin_outbox.c). Edits are written to a
 * temporary file with the old file's owner, group and mode, fsync'ed and
 * renamed over the directory (admin_directory.c), so porter never reads a
 * half-written file and can still read the new one.
 *
 * At a terminal a PIN is typed twice without echo; from a pipe (scripts) it
 * is one line. A PIN someone else already has is refused: porter would deny
 * both people as ambiguous.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "admin_attempts.h"
#include "admin_ble.h"
#include "admin_check.h"
#include "admin_directory.h"
#include "admin_lockout.h"
#include "admin_outbox.h"
#include "admin_pass.h"
#include "admin_presence.h"
#include "config.h"
#include "directory_file.h"
#include "pin_hash.h"
#include "qr_credential.h"

/* Without --config, the widest lengths porter's config accepts. */
#define ADMIN_PIN_MIN 4
#define ADMIN_PIN_MAX 16

struct options {
	const char *directory, *key, *id, *kind, *name, *valid_from, *valid_until, *database;
	const char *config_path;
	const char *qr_code_file;  /* add --qr-code-file: the visitor code's file */
	unsigned pin_min, pin_max; /* from --config, else ADMIN_PIN_MIN..MAX */
	struct config *site;       /* --config, parsed as porter parses it */
	bool json;                 /* check --config --json */
	bool ble_key;              /* add --ble-key: a phone key too (admin_ble.c) */
};

static const char usage_text[] =
        "usage: porter-admin keygen KEYFILE\n"
        "       porter-admin hash-pin (--key KEYFILE | --config CONFIG)\n"
        "       porter-admin add (--directory FILE --key KEYFILE | --config CONFIG)\n"
        "                        --id ID --kind member|visitor --name NAME\n"
        "                        [--valid-from T] [--valid-until T] [--qr-code-file FILE]\n"
        "                        [--ble-key]\n"
        "       porter-admin remove --directory FILE --id ID\n"
        "       porter-admin list --directory FILE\n"
        "       porter-admin check --directory FILE\n"
        "       porter-admin check --config CONFIG [--json]\n"
        "       porter-admin presence --database FILE | --config CONFIG\n"
        "                             [--directory FILE] [--tz ZONE] [--date YYYY-MM-DD]\n"
        "                             [--json]\n"
        "       porter-admin lockouts --state-dir DIR | --database FILE\n"
        "       porter-admin unlock --state-dir DIR --reader ID | --all\n"
        "       porter-admin attempts --database FILE [--since DAY] [--json]\n"
        "       porter-admin outbox --database FILE | --config CONFIG [--json] [--dead N]\n"
        "       porter-admin pass keygen --private FILE --public FILE\n"
        "       porter-admin pass issue --key FILE --visitor ID --valid-from T\n"
        "                               --valid-until T [--single-use] [--id ID] [--png FILE]\n"
        "       porter-admin ble key|token ID (--directory FILE --key KEYFILE | --config "
        "CONFIG)\n"
        "       porter-admin --help\n"
        "\n"
        "T is a UTC time like 2026-11-25T18:00:00Z.\n"
        "--config names the site's porter config: PINs must then fit its keypad\n"
        "lengths, and its local.directory, local.pin_key_file and local.database\n"
        "stand in for --directory, --key and --database.\n"
        "\n"
        "add and hash-pin ask for the PIN twice, without echo, at a terminal. From a\n"
        "pipe (scripts) they read one line: `porter-admin add ... <pinfile`.\n"
        "A PIN someone else already has is refused.\n"
        "\n"
        "check --config checks the config, the key, the directory and the database\n"
        "as porter's init would, and lists every problem and diagnostic with its\n"
        "code, JSON path, reason and fix; it exits 1 when porter would refuse the\n"
        "config. Run it as porter's user. --json prints one JSON document.\n"
        "presence shows who is in and one day's changes, in local time.\n"
        "outbox shows what is still to reach the backend and its dead letters; it\n"
        "exits 1 when there are dead letters.\n";

static int usage_hint(void)
{
	fprintf(stderr, "(porter-admin --help shows the usage)\n");
	return 2;
}

/* Usage on a mistake: say what was wrong, then where to look. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "porter-admin: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return usage_hint();
}

/* Names a required option that is missing; true when it is. The callers
 * check every option before they stop, so one run names all that are missing. */
static bool missing(const char *value, const char *option)
{
	if (!value)
		fprintf(stderr, "porter-admin: missing %s\n", option);
	return !value;
}

/* The terminal's modes while a PIN is typed without echo, so that a signal
 * (Ctrl-C at the prompt) does not leave the admin's shell without echo. */
static struct termios tty_saved, tty_no_echo;
static volatile sig_atomic_t tty_quiet;

static void tty_restore(void)
{
	if (tty_quiet)
		tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
	tty_quiet = 0;
}

static void tty_restore_and_die(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Ctrl-Z at the prompt: the shell gets its echo back while we are stopped;
 * typing goes on without echo once continued. */
static void tty_suspend(int sig)
{
	tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
	raise(SIGSTOP);
	if (tty_quiet)
		tcsetattr(STDIN_FILENO, TCSANOW, &tty_no_echo);
}

/* One PIN typed at the terminal, echo off for as long as it is typed. */
static char *prompt_quietly(const char *prompt, char *pin, size_t size)
{
	static const int signals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP};
	struct sigaction die = {.sa_handler = tty_restore_and_die}, old[5];
	struct sigaction stop = {.sa_handler = tty_suspend, .sa_flags = SA_RESTART};

	for (size_t i = 0; i < 5; i++)
		sigaction(signals[i], signals[i] == SIGTSTP ? &stop : &die, &old[i]);
	tty_no_echo = tty_saved;
	tty_no_echo.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tty_quiet = 1;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_no_echo);
	/* The prompt only once echo is off: what is typed after it never shows. */
	fprintf(stderr, "%s", prompt);
	char *line = fgets(pin, (int)size, stdin);
	tty_restore();
	for (size_t i = 0; i < 5; i++)
		sigaction(signals[i], &old[i], NULL);
	fprintf(stderr, "\n");
	return line;
}

/* A PIN from stdin: twice without echo at a terminal, one line from a pipe.
 * Checked against the site's lengths. Never printed. */
static int read_pin(const struct options *o, char *pin, size_t size)
{
	char again[64];
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &tty_saved) == 0;
	char *line = tty ? prompt_quietly("PIN: ", pin, size) : fgets(pin, (int)size, stdin);
	if (!line) {
		fprintf(stderr, "porter-admin: no PIN on standard input\n");
		return -EINVAL;
	}
	pin[strcspn(pin, "\r\n")] = '\0';
	size_t len = strlen(pin);
	if (len < o->pin_min || len > o->pin_max || strspn(pin, "0123456789") != len) {
		if (o->pin_min == o->pin_max)
			fprintf(stderr, "porter-admin: a PIN is %u digits%s\n", o->pin_min,
			        o->site ? " at this site (keypad in --config)" : "");
		else
			fprintf(stderr, "porter-admin: a PIN is %u to %u digits%s\n", o->pin_min,
			        o->pin_max, o->site ? " at this site (keypad in --config)" : "");
		return -EINVAL;
	}
	if (!tty)
		return 0;
	line = prompt_quietly("PIN again: ", again, sizeof(again));
	if (line)
		again[strcspn(again, "\r\n")] = '\0';
	int r = line && strcmp(again, pin) == 0 ? 0 : -EINVAL;
	OPENSSL_cleanse(again, sizeof(again));
	if (r < 0)
		fprintf(stderr, "porter-admin: the two PINs do not match; nothing written\n");
	return r;
}

static int hash_pin(const struct options *o, uint8_t hash[PIN_HASH_LEN])
{
	char err[1536], pin[64];
	uint8_t key[PIN_KEY_LEN];
	int r = pin_key_load(o->key, key, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return r;
	}
	struct pin_hasher *h = pin_hasher_new(key);
	OPENSSL_cleanse(key, sizeof(key));
	r = h ? read_pin(o, pin, sizeof(pin)) : -ENOMEM;
	if (r == 0)
		r = pin_hasher_hash(h, pin, strlen(pin), hash);
	OPENSSL_cleanse(pin, sizeof(pin));
	pin_hasher_free(h);
	return r;
}

/* --config: the site's config, read exactly as porter reads it, so the PIN
 * lengths and file names porter-admin uses are the ones porter will. */
static int load_site_config(struct options *o)
{
	o->pin_min = ADMIN_PIN_MIN;
	o->pin_max = ADMIN_PIN_MAX;
	if (!o->config_path)
		return 0;
	FILE *f = fopen(o->config_path, "re");
	int r = f ? 0 : -errno;
	char *text = malloc(CONFIG_MAX_TEXT + 1);
	o->site = malloc(sizeof(*o->site));
	size_t len = f && text ? fread(text, 1, CONFIG_MAX_TEXT + 1, f) : 0;
	if (r == 0)
		r = !text || !o->site ? -ENOMEM : ferror(f) ? -EIO : 0;
	if (f)
		fclose(f);
	if (r < 0)
		fprintf(stderr, "porter-admin: %s: %s\n", o->config_path, strerror(-r));
	else if (config_parse(text, len, o->site, admin_print_config_error, NULL) < 0)
		r = -EINVAL;
	free(text);
	if (r == -EINVAL)
		fprintf(stderr, "porter-admin: %s is not a config porter accepts (see above)\n",
		        o->config_path);
	if (r < 0)
		return r;
	o->pin_min = o->site->pin_min_length;
	o->pin_max = o->site->pin_max_length;
	o->directory = o->directory ? o->directory : o->site->directory_path;
	o->key = o->key ? o->key : o->site->pin_key_path;
	o->database = o->database ? o->database : o->site->database_path;
	return 0;
}

static int find_person(json_object *people, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(people); i++) {
		json_object *p = json_object_array_get_idx(people, i), *v;
		if (json_object_object_get_ex(p, "id", &v) &&
		    strcmp(json_object_get_string(v), id) == 0)
			return (int)i;
	}
	return -1;
}

/* The people who already have the new person's PIN (the new person, `self`,
 * excepted), named by id: the PIN itself is never printed. */
static bool pin_taken(const struct directory *d, const struct person *self)
{
	struct pin_match m;
	directory_match_pin(d, self->pin_hash, &m);
	if (m.n < 2)
		return false;
	fprintf(stderr, "porter-admin: not added: this PIN is already used by");
	for (size_t i = 0, shown = 0; i < m.n && i < PIN_MATCH_MAX; i++)
		if (m.people[i] != self)
			fprintf(stderr, "%s %s", shown++ ? "," : "", m.people[i]->id);
	fprintf(stderr, "%s; porter would refuse both as ambiguous. Choose another PIN.\n",
	        m.n > PIN_MATCH_MAX ? " and others" : "");
	return true;
}

static void warn_if_expired(const struct person *p)
{
	char until[32];
	if (p->valid_until == INT64_MAX || p->valid_until > (int64_t)time(NULL))
		return;
	timestamp_format(p->valid_until, until);
	fprintf(stderr,
	        "porter-admin: warning: %s's pass already expired (valid_until %s is in the "
	        "past); porter will not let them check in\n",
	        p->id, until);
}

/* The visitor code (the code in the registration e-mail that the visitor
 * scans as a QR code) from the first line of a file, never from the command
 * line, where ps and shell history would show it; stored only as its hash. */
static int hash_qr_code(const struct options *o, char hex[PIN_HASH_HEX_LEN + 1])
{
	char err[1536], code[QR_CODE_MAX + 2];
	uint8_t key[PIN_KEY_LEN], hash[PIN_HASH_LEN];
	size_t at;
	FILE *f = fopen(o->qr_code_file, "re");
	if (!f) {
		fprintf(stderr, "porter-admin: %s: %s\n", o->qr_code_file, strerror(errno));
		return -errno;
	}
	char *line = fgets(code, sizeof(code), f);
	fclose(f);
	if (line)
		code[strcspn(code, "\r\n")] = '\0';
	if (!line || qr_code_check((const uint8_t *)code, strlen(code), &at) < 0) {
		fprintf(stderr,
		        "porter-admin: %s: the first line must be the visitor code, 1-%d "
		        "printable characters without spaces\n",
		        o->qr_code_file, QR_CODE_MAX);
		OPENSSL_cleanse(code, sizeof(code));
		return -EINVAL;
	}
	int r = pin_key_load(o->key, key, err, sizeof(err));
	struct pin_hasher *h = r == 0 ? pin_hasher_new(key) : NULL;
	OPENSSL_cleanse(key, sizeof(key));
	if (r < 0)
		fprintf(stderr, "porter-admin: %s\n", err);
	else if (!h)
		r = -ENOMEM;
	else
		r = qr_code_hash(h, (const uint8_t *)code, strlen(code), hash);
	OPENSSL_cleanse(code, sizeof(code));
	pin_hasher_free(h);
	if (r == 0)
		pin_hash_to_hex(hash, hex);
	return r;
}

static int cmd_add(const struct options *o)
{
	char qr_hex[PIN_HASH_HEX_LEN + 1] = "";
	char hex[PIN_HASH_HEX_LEN + 1];
	uint8_t hash[PIN_HASH_LEN];
	char err[1536];
	if (missing(o->directory, "--directory (or --config)") |
	    missing(o->key, "--key (or --config)") | missing(o->id, "--id") |
	    missing(o->kind, "--kind") | missing(o->name, "--name"))
		return usage_hint();
	json_object *root = admin_directory_load(o->directory, true), *people;
	if (!root)
		return 1;
	json_object_object_get_ex(root, "people", &people);
	if (find_person(people, o->id) >= 0) {
		fprintf(stderr, "porter-admin: %s is already in the directory\n", o->id);
		json_object_put(root);
		return 1;
	}
	if ((o->qr_code_file && hash_qr_code(o, qr_hex) < 0) || hash_pin(o, hash) < 0) {
		json_object_put(root);
		return 1;
	}
	pin_hash_to_hex(hash, hex);
	json_object *p = json_object_new_object();
	json_object_object_add(p, "id", json_object_new_string(o->id));
	json_object_object_add(p, "kind", json_object_new_string(o->kind));
	json_object_object_add(p, "name", json_object_new_string(o->name));
	json_object_object_add(p, "pin_hmac", json_object_new_string(hex));
	if (qr_hex[0])
		json_object_object_add(p, "qr_hmac", json_object_new_string(qr_hex));
	if (o->valid_from)
		json_object_object_add(p, "valid_from", json_object_new_string(o->valid_from));
	if (o->valid_until)
		json_object_object_add(p, "valid_until", json_object_new_string(o->valid_until));
	json_object_array_add(people, p);

	/* Validate the result exactly as porter will read it. */
	const char *text = json_object_to_json_string(root);
	struct directory *d = NULL;
	int r = directory_parse(text, strlen(text), &d, err, sizeof(err));
	const struct person *self = r == 0 ? directory_find_id(d, o->id) : NULL;
	if (r < 0)
		fprintf(stderr, "porter-admin: not added: %s\n", err);
	else if (pin_taken(d, self))
		r = -EEXIST;
	else
		r = admin_directory_save(o->directory, root);
	if (r == 0)
		warn_if_expired(self);
	directory_free(d);
	json_object_put(root);
	if (r == 0)
		printf("added %s (%s)\n", o->id, o->kind);
	return r < 0 ? 1 : 0;
}

static int cmd_remove(const struct options *o)
{
	if (missing(o->directory, "--directory (or --config)") | missing(o->id, "--id"))
		return usage_hint();
	json_object *root = admin_directory_load(o->directory, false), *people;
	if (!root)
		return 1;
	json_object_object_get_ex(root, "people", &people);
	int i = find_person(people, o->id), r = 1;
	if (i < 0)
		fprintf(stderr, "porter-admin: %s is not in the directory\n", o->id);
	else if (json_object_array_del_idx(people, (size_t)i, 1) == 0 &&
	         admin_directory_save(o->directory, root) == 0)
		r = 0;
	json_object_put(root);
	if (r == 0)
		printf("removed %s\n", o->id);
	return r;
}

static void print_window(int64_t t, const char *label)
{
	char text[32];
	if (t == INT64_MIN || t == INT64_MAX)
		return;
	timestamp_format(t, text);
	printf(" %s %s", label, text);
}

static void print_shared_pin(void *unused, const struct person *a, const struct person *b)
{
	printf("warning: %s and %s have the same PIN\n", a->id, b->id);
}

static int cmd_list(const struct options *o, bool check_only)
{
	char err[1536];
	struct directory *d;
	if (missing(o->directory, "--directory (or --config)"))
		return usage_hint();
	if (directory_file_load(o->directory, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return 1;
	}
	size_t shared = directory_foreach_shared_pin(d, print_shared_pin, NULL);
	for (size_t i = 0; i < directory_size(d) && !check_only; i++) {
		const struct person *p = directory_person(d, i);
		printf("%-16s %-8s %s%s", p->id, p->kind == PERSON_MEMBER ? "member" : "visitor",
		       p->name, p->has_pin ? "" : " (no PIN)");
		print_window(p->valid_from, "from");
		print_window(p->valid_until, "until");
		printf("\n");
	}
	if (check_only)
		printf("%s: %zu people, valid%s\n", o->directory, directory_size(d),
		       shared ? " (with shared PINs)" : "");
	directory_free(d);
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	char err[1536];
	if (optind != argc - 1)
		return usage_error("keygen takes one KEYFILE");
	if (pin_key_create(argv[optind], err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return 1;
	}
	printf("wrote a new PIN key to %s (mode 0600)\n", argv[optind]);
	return 0;
}

static int cmd_hash_pin(const struct options *o)
{
	char hex[PIN_HASH_HEX_LEN + 1];
	uint8_t hash[PIN_HASH_LEN];
	if (missing(o->key, "--key (or --config)"))
		return usage_hint();
	if (hash_pin(o, hash) < 0)
		return 1;
	pin_hash_to_hex(hash, hex);
	printf("%s\n", hex);
	return 0;
}

static int run_command(const char *cmd, struct options *o, int argc, char **argv)
{
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (optind != argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (strcmp(cmd, "check") == 0 && o->config_path) {
		/* The files init uses are the config's: none stands in for them. */
		if (o->directory || o->key || o->database)
			return usage_error("check --config checks the files the config names; "
			                   "check a directory alone with check --directory FILE");
		return admin_check_config(o->config_path, o->json);
	}
	if (o->json)
		return usage_error("--json is for check --config and presence");
	if (load_site_config(o) < 0)
		return 1;
	if (strcmp(cmd, "hash-pin") == 0)
		return cmd_hash_pin(o);
	if (strcmp(cmd, "add") == 0) {
		int r = cmd_add(o);
		return r == 0 && o->ble_key ? admin_ble_new_key(o->directory, o->key, o->id) : r;
	}
	if (strcmp(cmd, "remove") == 0)
		return cmd_remove(o);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(o, false);
	if (strcmp(cmd, "check") == 0)
		return cmd_list(o, true);
	return usage_error("unknown command \"%s\"", cmd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"directory", required_argument, NULL, 'd'},
	        {"key", required_argument, NULL, 'k'},
	        {"id", required_argument, NULL, 'i'},
	        {"kind", required_argument, NULL, 't'},
	        {"name", required_argument, NULL, 'n'},
	        {"valid-from", required_argument, NULL, 'f'},
	        {"valid-until", required_argument, NULL, 'u'},
	        {"database", required_argument, NULL, 'b'},
	        {"config", required_argument, NULL, 'c'},
	        {"json", no_argument, NULL, 'j'},
	        {"qr-code-file", required_argument, NULL, 'q'},
	        {"ble-key", no_argument, NULL, 'B'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct options o = {0};
	if (argc < 2)
		return usage_error("which command?");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "lockouts") == 0 || strcmp(cmd, "unlock") == 0)
		return admin_lockout_main(argc, argv); /* its own options */
	if (strcmp(cmd, "attempts") == 0)
		return admin_attempts_main(argc, argv);
	if (strcmp(cmd, "presence") == 0)
		return admin_presence_main(argc, argv); /* its own options */
	if (strcmp(cmd, "outbox") == 0)
		return admin_outbox_main(argc, argv); /* its own options */
	if (strcmp(cmd, "pass") == 0)
		return admin_pass_main(argc, argv); /* its own options */
	if (strcmp(cmd, "ble") == 0)
		return admin_ble_main(argc, argv); /* phone keys: its own options */
	int c;
	optind = 2;
	opterr = 0; /* our own message, naming the option */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		const char **slot[] = {
		        ['d'] = &o.directory,   ['k'] = &o.key,      ['i'] = &o.id,
		        ['t'] = &o.kind,        ['n'] = &o.name,     ['f'] = &o.valid_from,
		        ['u'] = &o.valid_until, ['b'] = &o.database, ['c'] = &o.config_path,
		        ['q'] = &o.qr_code_file};
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		if (c == 'j') {
			o.json = true;
			continue;
		}
		if (c == 'B') {
			o.ble_key = true;
			continue;
		}
		if (c == ':')
			return usage_error("%s needs a value", argv[optind - 1]);
		if (c < 0 || c >= (int)(sizeof(slot) / sizeof(slot[0])) || !slot[c])
			return usage_error("unknown option \"%s\"", argv[optind - 1]);
		*slot[c] = optarg;
	}
	int r = run_command(cmd, &o, argc, argv);
	free(o.site);
	return r;
}
