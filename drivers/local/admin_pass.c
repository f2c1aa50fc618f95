/* SPDX-License-Identifier: MIT */
/* admin_pass.c: porter-admin pass keygen and issue. See admin_pass.h. */
#include "admin_pass.h"
#include "qr_png.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "directory_file.h"
#include "visitor_pass.h"

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "porter-admin: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: porter-admin pass keygen --private FILE --public FILE\n"
	                "       porter-admin pass issue --key FILE --visitor ID --valid-from T\n"
	                "                               --valid-until T [--single-use] [--id ID]\n"
	                "                               [--png FILE]\n"
	                "T is a UTC time like 2026-11-25T18:00:00Z.\n");
	return 2;
}

/* A new file with `mode`, never over an existing one. */
static FILE *create_new(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		fprintf(stderr, "porter-admin: %s: %s%s\n", path, strerror(errno),
		        errno == EEXIST ? " (not overwritten: remove it first if it must go)" : "");
		return NULL;
	}
	fchmod(fd, mode); /* whatever the umask */
	FILE *f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

static int finish(FILE *f, const char *path, bool ok)
{
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = false;
	if (!ok) {
		unlink(path);
		return fail("could not write %s", path);
	}
	return 0;
}

static int keygen(const char *private_path, const char *public_path)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return fail("could not make a key pair%s", "");
	}
	EVP_PKEY_CTX_free(ctx);
	int r = 1;
	FILE *priv = create_new(private_path, 0600);
	if (priv) {
		FILE *pub = create_new(public_path, 0644);
		if (!pub) {
			fclose(priv);
			unlink(private_path);
		} else {
			bool ok = PEM_write_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) == 1;
			r = finish(priv, private_path, ok);
			ok = PEM_write_PUBKEY(pub, key) == 1;
			if (finish(pub, public_path, ok) != 0) {
				unlink(private_path);
				r = 1;
			}
		}
	}
	EVP_PKEY_free(key);
	if (r == 0)
		printf("wrote the private key to %s (mode 0600: it signs passes, keep it with the "
		       "admin) and the public key to %s (for visitor_pass.public_keys)\n",
		       private_path, public_path);
	return r;
}

static EVP_PKEY *load_private(const char *path)
{
	struct stat st;
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "porter-admin: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		fclose(f);
		fail("%s: others may read or write this private key; chmod 600 it", path);
		return NULL;
	}
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		fail("%s: not an Ed25519 private key (porter-admin pass keygen)", path);
		return NULL;
	}
	return key;
}

static int parse_time(const char *text, const char *option, int64_t *ret)
{
	if (timestamp_parse(text, ret) < 0)
		return fail("%s: must be a UTC time like 2026-11-25T18:00:00Z", option);
	return 0;
}

struct issue_options {
	const char *key, *visitor, *from, *until, *id, *png;
	bool single_use;
};

static int issue(const struct issue_options *o)
{
	struct visitor_pass pass = {.single_use = o->single_use};
	char err[160], payload[VISITOR_PASS_MAX + 1];
	if (parse_time(o->from, "--valid-from", &pass.valid_from) ||
	    parse_time(o->until, "--valid-until", &pass.valid_until))
		return 1;
	snprintf(pass.visitor_id, sizeof(pass.visitor_id), "%s", o->visitor);
	if (strlen(o->visitor) >= sizeof(pass.visitor_id))
		return fail("--visitor: at most %d bytes", PERSON_ID_MAX);
	if (o->id) {
		if (strlen(o->id) >= sizeof(pass.pass_id))
			return fail("--id: at most %d characters", VISITOR_PASS_ID_MAX);
		strcpy(pass.pass_id, o->id);
	} else {
		uint8_t random[12]; /* 96 bits: no two passes share an id */
		if (RAND_bytes(random, sizeof(random)) != 1)
			return fail("no randomness for a pass id%s", "");
		base64url_encode(random, sizeof(random), pass.pass_id, sizeof(pass.pass_id));
	}
	if (visitor_pass_check_fields(&pass, err, sizeof(err)) < 0)
		return fail("%s", err);
	EVP_PKEY *key = load_private(o->key);
	if (!key)
		return 1;
	int n = visitor_pass_sign_with(key, &pass, payload, sizeof(payload));
	EVP_PKEY_free(key);
	if (n < 0)
		return fail("could not sign the pass (%s)", strerror(-n));
	int r = o->png ? qr_png_write(o->png, payload, 0644) : 0;
	if (r < 0)
		return fail("%s: %s%s", o->png, strerror(-r),
		            r == -EEXIST ? " (not overwritten: remove it first if it must go)"
		                         : "");
	printf("%s\n", payload);
	return 0;
}

int admin_pass_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"private", required_argument, NULL, 'p'},
	        {"public", required_argument, NULL, 'P'},
	        {"key", required_argument, NULL, 'k'},
	        {"visitor", required_argument, NULL, 'v'},
	        {"valid-from", required_argument, NULL, 'f'},
	        {"valid-until", required_argument, NULL, 'u'},
	        {"single-use", no_argument, NULL, 's'},
	        {"id", required_argument, NULL, 'i'},
	        {"png", required_argument, NULL, 'g'},
	        {NULL, 0, NULL, 0},
	};
	struct issue_options o = {0};
	const char *private_path = NULL, *public_path = NULL;
	if (argc < 3)
		return usage();
	const char *sub = argv[2];
	optind = 3;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			private_path = optarg;
			break;
		case 'P':
			public_path = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'v':
			o.visitor = optarg;
			break;
		case 'f':
			o.from = optarg;
			break;
		case 'u':
			o.until = optarg;
			break;
		case 's':
			o.single_use = true;
			break;
		case 'i':
			o.id = optarg;
			break;
		case 'g':
			o.png = optarg;
			break;
		case ':':
			return fail("%s needs a value", argv[optind - 1]);
		default:
			return fail("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return fail("unexpected argument \"%s\"", argv[optind]);
	if (strcmp(sub, "keygen") == 0) {
		if (!private_path || !public_path)
			return fail("pass keygen needs --private FILE and --public FILE%s", "");
		return keygen(private_path, public_path);
	}
	if (strcmp(sub, "issue") == 0) {
		if (!o.key || !o.visitor || !o.from || !o.until)
			return fail("pass issue needs --key, --visitor, --valid-from and "
			            "--valid-until%s",
			            "");
		return issue(&o);
	}
	return fail("unknown pass command \"%s\" (keygen or issue)", sub);
}
