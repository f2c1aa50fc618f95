/* SPDX-License-Identifier: MIT */
/*
 * admin_ble.c: porter-admin's phone check-in commands.
 *
 *   porter-admin ble key ID (--directory FILE --key KEYFILE | --config CONFIG)
 *                           [--qr FILE.png]
 *       make a new BLE key for member ID (replacing any old one: a lost
 *       phone is retired so), store it sealed under the site key in the
 *       directory (ble_keys.h), and show it once for the phone app:
 *       "porter-ble:1:<64 hex>" on stdout and, with --qr, the same text as a
 *       QR code in a new PNG file (mode 0600). It is not shown again.
 *   porter-admin ble token ID (--directory FILE --key KEYFILE | --config CONFIG)
 *                             [--time UNIX] [--step SECONDS]
 *       the credential ID's phone advertises now (or at --time): its counter,
 *       the 12-byte payload in hex and as a service UUID
 *       (docs/ble-credential.md). For trying a reader without a phone app.
 *
 * The directory is edited as `porter-admin add` edits it: validated first,
 * written to a temporary file with the old file's owner and mode, fsync'ed
 * and renamed over it, so porter never reads half a file.
 */
#include "admin_ble.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin_check.h"
#include "admin_directory.h"
#include "ble_keys.h"
#include "ble_token.h"
#include "config.h"
#include "directory_file.h"
#include "pin_hash.h"
#include "qr_png.h"

struct ble_options {
	const char *directory, *key, *config, *qr, *time, *step;
	uint32_t step_s;
};

static int usage(FILE *out, int status)
{
	fputs("usage: porter-admin ble key ID (--directory FILE --key KEYFILE | --config CONFIG)\n"
	      "                              [--qr FILE.png]\n"
	      "       porter-admin ble token ID (--directory FILE --key KEYFILE | --config "
	      "CONFIG)\n"
	      "                                [--time UNIX] [--step SECONDS]\n"
	      "key makes member ID a new phone key (the old one stops working) and shows it\n"
	      "once, as text and with --qr as a QR code for the phone app to import.\n"
	      "token shows the credential ID's phone advertises now (docs/ble-credential.md).\n",
	      out);
	return status;
}

/* --config: the files and time step porter itself uses. */
static int load_config(struct ble_options *o)
{
	o->step_s = 30;
	if (!o->config)
		return 0;
	static struct config c;
	char *text = NULL, err[256];
	size_t len = 0;
	int r = admin_read_config(o->config, &text, &len, err, sizeof(err));
	if (r == 0)
		r = config_parse(text, len, &c, admin_print_config_error, NULL);
	free(text);
	if (r < 0) {
		fprintf(stderr, "porter-admin: %s: not a config porter accepts\n", o->config);
		return r;
	}
	o->directory = o->directory ? o->directory : c.directory_path;
	o->key = o->key ? o->key : c.pin_key_path;
	o->step_s = c.ble_time_step_s;
	return 0;
}

static int seal_key_of(const struct ble_options *o, uint8_t ret[BLE_KEY_LEN])
{
	char err[1536];
	uint8_t site[PIN_KEY_LEN];
	int r = pin_key_load(o->key, site, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return r;
	}
	r = ble_seal_key(site, ret);
	OPENSSL_cleanse(site, sizeof(site));
	return r;
}

static json_object *find_person(json_object *root, const char *id)
{
	json_object *people, *v;
	if (!json_object_object_get_ex(root, "people", &people))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(people); i++) {
		json_object *p = json_object_array_get_idx(people, i);
		if (json_object_object_get_ex(p, "id", &v) &&
		    strcmp(json_object_get_string(v), id) == 0)
			return p;
	}
	return NULL;
}

/* Validated as porter will read it, then written as `porter-admin add`
 * writes. */
static int save(const char *path, json_object *root)
{
	char err[1536];
	struct directory *d = NULL;
	const char *text = json_object_to_json_string_ext(
	        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (directory_parse(text, strlen(text), &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: nothing written: %s\n", err);
		return -EINVAL;
	}
	directory_free(d);
	return admin_directory_save(path, root);
}

static int cmd_key(const struct ble_options *o, const char *id)
{
	uint8_t seal[BLE_KEY_LEN], key[BLE_KEY_LEN], sealed[PERSON_BLE_SEALED_LEN];
	char hex[BLE_SEALED_HEX_LEN + 1], shown[BLE_KEY_HEX_LEN + 1], text[BLE_KEY_HEX_LEN + 16];
	json_object *root = admin_directory_load(o->directory, false),
	            *p = root ? find_person(root, id) : NULL;
	int r = -ENOENT;
	if (root && !p)
		fprintf(stderr, "porter-admin: %s is not in the directory\n", id);
	if (!p || (r = seal_key_of(o, seal)) < 0)
		goto out;
	r = RAND_priv_bytes(key, sizeof(key)) == 1 ? ble_key_seal(seal, id, key, sealed) : -EIO;
	if (r < 0) {
		fprintf(stderr, "porter-admin: no randomness for a new key\n");
		goto out;
	}
	for (size_t i = 0; i < sizeof(sealed); i++)
		sprintf(hex + 2 * i, "%02x", sealed[i]);
	json_object_object_add(p, "ble_key", json_object_new_string(hex));
	ble_key_to_hex(key, shown);
	snprintf(text, sizeof(text), "porter-ble:1:%s", shown);
	/* The QR code first: a key only the directory knows is of no use. */
	if (o->qr && (r = qr_png_write(o->qr, text, 0600)) < 0) {
		fprintf(stderr, "porter-admin: %s: %s; nothing written\n", o->qr, strerror(-r));
		goto out;
	}
	r = save(o->directory, root);
	if (r < 0) {
		if (o->qr)
			unlink(o->qr);
		goto out;
	}
	printf("%s\n", text);
	fprintf(stderr,
	        "porter-admin: new BLE key for %s%s%s; import it into the phone app now: it is "
	        "not shown again\n",
	        id, o->qr ? ", QR code in " : "", o->qr ? o->qr : "");
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(seal, sizeof(seal));
	OPENSSL_cleanse(shown, sizeof(shown));
	OPENSSL_cleanse(text, sizeof(text));
	json_object_put(root);
	return r < 0 ? 1 : 0;
}

static int cmd_token(const struct ble_options *o, const char *id)
{
	char err[1536];
	uint8_t seal[BLE_KEY_LEN], key[BLE_KEY_LEN];
	struct directory *d = NULL;
	int r = directory_file_load(o->directory, &d, err, sizeof(err));
	const struct person *p = r == 0 ? directory_find_id(d, id) : NULL;
	if (r < 0)
		fprintf(stderr, "porter-admin: %s\n", err);
	else if (!p || !p->has_ble_key)
		fprintf(stderr, "porter-admin: %s has no BLE key (porter-admin ble key %s)\n", id,
		        id);
	if (!p || !p->has_ble_key || seal_key_of(o, seal) < 0)
		goto fail;
	if (ble_key_unseal(seal, id, p->ble_key_sealed, key) < 0) {
		fprintf(stderr, "porter-admin: %s's BLE key does not open with this site key\n",
		        id);
		goto fail;
	}
	int64_t t = o->time ? strtoll(o->time, NULL, 10) : (int64_t)time(NULL);
	uint64_t counter = ble_token_counter(t, o->step_s);
	struct ble_credential c;
	struct ble_hmac *h = ble_hmac_new();
	r = h ? ble_token_make(h, key, counter, &c) : -ENOMEM;
	ble_hmac_free(h);
	OPENSSL_cleanse(key, sizeof(key));
	if (r < 0)
		goto fail;
	uint8_t b[BLE_PAYLOAD_LEN];
	char x[2 * BLE_PAYLOAD_LEN + 1];
	ble_credential_encode(&c, b);
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(x + 2 * i, "%02x", b[i]);
	printf("counter %llu payload %s uuid 706f7274-%.4s-%.4s-%.4s-%.12s\n",
	       (unsigned long long)counter, x, x, x + 4, x + 8, x + 12);
	OPENSSL_cleanse(seal, sizeof(seal));
	directory_free(d);
	return 0;
fail:
	OPENSSL_cleanse(seal, sizeof(seal));
	directory_free(d);
	return 1;
}

int admin_ble_new_key(const char *directory, const char *key_file, const char *id)
{
	struct ble_options o = {.directory = directory, .key = key_file, .step_s = 30};
	return cmd_key(&o, id);
}

int admin_ble_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"directory", required_argument, NULL, 'd'},
	        {"key", required_argument, NULL, 'k'},
	        {"config", required_argument, NULL, 'c'},
	        {"qr", required_argument, NULL, 'q'},
	        {"time", required_argument, NULL, 't'},
	        {"step", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct ble_options o = {0};
	int c;
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.directory = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'q':
			o.qr = optarg;
			break;
		case 't':
			o.time = optarg;
			break;
		case 's':
			o.step = optarg;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			fprintf(stderr, "porter-admin: %s: unknown option or missing value\n",
			        argv[optind - 1]);
			return usage(stderr, 2);
		}
	}
	if (argc - optind != 2)
		return usage(stderr, 2);
	const char *what = argv[optind], *id = argv[optind + 1];
	if (load_config(&o) < 0)
		return 1;
	if (o.step) {
		long s = strtol(o.step, NULL, 10);
		if (s < 5 || s > 300) {
			fprintf(stderr, "porter-admin: --step must be 5 to 300 seconds\n");
			return 2;
		}
		o.step_s = (uint32_t)s;
	}
	if (!o.directory || !o.key) {
		fprintf(stderr, "porter-admin: ble needs --directory and --key, or --config\n");
		return 2;
	}
	if (strcmp(what, "key") == 0)
		return cmd_key(&o, id);
	if (strcmp(what, "token") == 0)
		return cmd_token(&o, id);
	return usage(stderr, 2);
}
