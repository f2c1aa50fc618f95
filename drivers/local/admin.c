/* SPDX-License-Identifier: MIT */
/*
 * admin.c: porter-admin, the local backend's command-line tool.
 *
 * It makes the site key, adds and removes people in the directory file (PINs
 * are read from stdin and stored only as HMACs), checks a directory, and shows
 * who is in. Edits are written to a temporary file, fsync'ed and renamed over
 * the directory, so porter never reads a half-written file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "admin_lockout.h"
#include "directory_file.h"
#include "pin_hash.h"

#define ADMIN_PIN_MIN 4
#define ADMIN_PIN_MAX 16

struct options {
	const char *directory, *key, *id, *kind, *name, *valid_from, *valid_until, *database;
};

static int usage(void)
{
	fprintf(stderr, "usage: porter-admin keygen KEYFILE\n"
	                "       porter-admin hash-pin --key KEYFILE            (PIN on stdin)\n"
	                "       porter-admin add --directory FILE --key KEYFILE --id ID --kind "
	                "member|visitor\n"
	                "                        --name NAME [--valid-from T] [--valid-until T]  "
	                "(PIN on stdin)\n"
	                "       porter-admin remove --directory FILE --id ID\n"
	                "       porter-admin list --directory FILE\n"
	                "       porter-admin check --directory FILE\n"
	                "       porter-admin presence --database FILE\n"
	                "       porter-admin lockouts --state-dir DIR | --database FILE\n"
	                "       porter-admin unlock --state-dir DIR --reader ID | --all\n"
	                "T is a UTC time like 2026-11-25T18:00:00Z.\n");
	return 2;
}

/* One line from stdin, without echo on a terminal. Never printed. */
static int read_pin(char *pin, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "PIN: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	char *line = fgets(pin, (int)size, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	if (!line) {
		fprintf(stderr, "porter-admin: no PIN on standard input\n");
		return -EINVAL;
	}
	pin[strcspn(pin, "\r\n")] = '\0';
	size_t len = strlen(pin);
	if (len < ADMIN_PIN_MIN || len > ADMIN_PIN_MAX || strspn(pin, "0123456789") != len) {
		fprintf(stderr, "porter-admin: a PIN is %d to %d digits\n", ADMIN_PIN_MIN,
		        ADMIN_PIN_MAX);
		return -EINVAL;
	}
	return 0;
}

static int hash_pin_hex(const char *key_path, char hex[PIN_HASH_HEX_LEN + 1])
{
	char err[1536], pin[64];
	uint8_t key[PIN_KEY_LEN], hash[PIN_HASH_LEN];
	int r = pin_key_load(key_path, key, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return r;
	}
	struct pin_hasher *h = pin_hasher_new(key);
	OPENSSL_cleanse(key, sizeof(key));
	r = h ? read_pin(pin, sizeof(pin)) : -ENOMEM;
	if (r == 0)
		r = pin_hasher_hash(h, pin, strlen(pin), hash);
	if (r == 0)
		pin_hash_to_hex(hash, hex);
	OPENSSL_cleanse(pin, sizeof(pin));
	pin_hasher_free(h);
	return r;
}

/* The directory as JSON, validated first: an edit never builds on a bad file. */
static json_object *load_directory_json(const char *path, bool create)
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

static int save_directory_json(const char *path, json_object *root)
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

static int cmd_add(const struct options *o)
{
	char hex[PIN_HASH_HEX_LEN + 1];
	char err[1536];
	if (!o->directory || !o->key || !o->id || !o->kind || !o->name)
		return usage();
	json_object *root = load_directory_json(o->directory, true), *people;
	if (!root)
		return 1;
	json_object_object_get_ex(root, "people", &people);
	if (find_person(people, o->id) >= 0) {
		fprintf(stderr, "porter-admin: %s is already in the directory\n", o->id);
		json_object_put(root);
		return 1;
	}
	if (hash_pin_hex(o->key, hex) < 0) {
		json_object_put(root);
		return 1;
	}
	json_object *p = json_object_new_object();
	json_object_object_add(p, "id", json_object_new_string(o->id));
	json_object_object_add(p, "kind", json_object_new_string(o->kind));
	json_object_object_add(p, "name", json_object_new_string(o->name));
	json_object_object_add(p, "pin_hmac", json_object_new_string(hex));
	if (o->valid_from)
		json_object_object_add(p, "valid_from", json_object_new_string(o->valid_from));
	if (o->valid_until)
		json_object_object_add(p, "valid_until", json_object_new_string(o->valid_until));
	json_object_array_add(people, p);

	/* Validate the result exactly as porter will read it. */
	const char *text = json_object_to_json_string(root);
	struct directory *d;
	int r = directory_parse(text, strlen(text), &d, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "porter-admin: not added: %s\n", err);
	else
		r = save_directory_json(o->directory, root);
	directory_free(d);
	json_object_put(root);
	if (r == 0)
		printf("added %s (%s)\n", o->id, o->kind);
	return r < 0 ? 1 : 0;
}

static int cmd_remove(const struct options *o)
{
	if (!o->directory || !o->id)
		return usage();
	json_object *root = load_directory_json(o->directory, false), *people;
	if (!root)
		return 1;
	json_object_object_get_ex(root, "people", &people);
	int i = find_person(people, o->id), r = 1;
	if (i < 0)
		fprintf(stderr, "porter-admin: %s is not in the directory\n", o->id);
	else if (json_object_array_del_idx(people, (size_t)i, 1) == 0 &&
	         save_directory_json(o->directory, root) == 0)
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
	if (!o->directory)
		return usage();
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

static int cmd_presence(const struct options *o)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	if (!o->database)
		return usage();
	if (sqlite3_open_v2(o->database, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	            db, "SELECT person_id, since FROM presence WHERE state='in' ORDER BY since", -1,
	            &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "porter-admin: %s: %s\n", o->database, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		printf("%-16s in since %s\n", sqlite3_column_text(st, 0),
		       sqlite3_column_text(st, 1));
		n++;
	}
	printf("%d checked in\n", n);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
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
	        {NULL, 0, NULL, 0},
	};
	struct options o = {0};
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "lockouts") == 0 || strcmp(cmd, "unlock") == 0)
		return admin_lockout_main(argc, argv); /* its own options */
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char **slot[] = {
		        ['d'] = &o.directory,   ['k'] = &o.key,     ['i'] = &o.id,
		        ['t'] = &o.kind,        ['n'] = &o.name,    ['f'] = &o.valid_from,
		        ['u'] = &o.valid_until, ['b'] = &o.database};
		if (c < 0 || c >= (int)(sizeof(slot) / sizeof(slot[0])) || !slot[c])
			return usage();
		*slot[c] = optarg;
	}
	if (strcmp(cmd, "keygen") == 0) {
		char err[1536];
		if (optind != argc - 1)
			return usage();
		if (pin_key_create(argv[optind], err, sizeof(err)) < 0) {
			fprintf(stderr, "porter-admin: %s\n", err);
			return 1;
		}
		printf("wrote a new PIN key to %s (mode 0600)\n", argv[optind]);
		return 0;
	}
	if (optind != argc)
		return usage();
	if (strcmp(cmd, "hash-pin") == 0) {
		char hex[PIN_HASH_HEX_LEN + 1];
		if (!o.key)
			return usage();
		if (hash_pin_hex(o.key, hex) < 0)
			return 1;
		printf("%s\n", hex);
		return 0;
	}
	if (strcmp(cmd, "add") == 0)
		return cmd_add(&o);
	if (strcmp(cmd, "remove") == 0)
		return cmd_remove(&o);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(&o, false);
	if (strcmp(cmd, "check") == 0)
		return cmd_list(&o, true);
	if (strcmp(cmd, "presence") == 0)
		return cmd_presence(&o);
	return usage();
}
