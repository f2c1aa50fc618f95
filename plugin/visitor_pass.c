/* SPDX-License-Identifier: MIT */
/* visitor_pass.c: parse, verify and sign porter's visitor pass. See visitor_pass.h. */
#include "visitor_pass.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#define FIELDS_MAX 256 /* decoded fields: 1+32+64+20+20+1 and separators fit */

struct visitor_pass_keys {
	EVP_PKEY *keys[VISITOR_PASS_KEYS_MAX];
	size_t n;
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64url_encode(const uint8_t *in, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t take = len - i < 3 ? len - i : 3;
		if (take > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (take > 2)
			v |= in[i + 2];
		for (size_t k = 0; k < take + 1; k++) {
			if (o + 1 < size)
				out[o] = b64[(v >> (18 - 6 * k)) & 63];
			o++;
		}
	}
	if (size)
		out[o < size ? o : size - 1] = '\0';
	return o;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int base64url_decode(const char *in, size_t len, uint8_t *out, size_t size)
{
	if (len % 4 == 1)
		return -EINVAL;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* One encoding per value: the bits past the last byte must be zero. */
	if (acc & ((1u << bits) - 1))
		return -EINVAL;
	return (int)o;
}

bool visitor_pass_looks_like(const uint8_t *d, size_t len)
{
	size_t i = 2;
	if (len < 4 || d[0] != 'P' || d[1] != 'V')
		return false;
	while (i < len && i < 6 && d[i] >= '0' && d[i] <= '9')
		i++;
	return i > 2 && i < len && d[i] == '.';
}

/* A decimal of unix seconds: "0" or no leading zero, at most 11 digits. */
static int parse_seconds(const char *s, size_t len, int64_t *ret)
{
	if (len == 0 || len > 11 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

static bool id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static int check_pass_id(const char *s, size_t len)
{
	if (len == 0 || len > VISITOR_PASS_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!id_char(s[i]))
			return -EINVAL;
	return 0;
}

static int check_visitor_id(const char *s, size_t len)
{
	if (len == 0 || len > PERSON_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '|')
			return -EINVAL;
	return 0;
}

/* The six fields of the decoded text. */
static int parse_fields(const char *f, size_t len, struct visitor_pass *ret)
{
	const char *part[6];
	size_t plen[6], n = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && f[i] != '|')
			continue;
		if (n == 6)
			return -EINVAL;
		part[n] = f + start;
		plen[n++] = i - start;
		start = i + 1;
	}
	if (n != 6 || plen[0] != 1 || part[0][0] != '1')
		return -EINVAL;
	if (check_pass_id(part[1], plen[1]) < 0 || check_visitor_id(part[2], plen[2]) < 0)
		return -EINVAL;
	if (parse_seconds(part[3], plen[3], &ret->valid_from) < 0 ||
	    parse_seconds(part[4], plen[4], &ret->valid_until) < 0 ||
	    ret->valid_from >= ret->valid_until)
		return -EINVAL;
	if (plen[5] != 1 || (part[5][0] != '0' && part[5][0] != '1'))
		return -EINVAL;
	memcpy(ret->pass_id, part[1], plen[1]);
	ret->pass_id[plen[1]] = '\0';
	memcpy(ret->visitor_id, part[2], plen[2]);
	ret->visitor_id[plen[2]] = '\0';
	ret->single_use = part[5][0] == '1';
	return 0;
}

int visitor_pass_parse(const uint8_t *data, size_t len, struct visitor_pass *ret,
                       size_t *ret_signed_len, uint8_t ret_sig[VISITOR_PASS_SIG_LEN])
{
	const size_t plen = sizeof(VISITOR_PASS_PREFIX) - 1;
	*ret = (struct visitor_pass){0};
	if (!data || len > VISITOR_PASS_MAX || len < plen ||
	    memcmp(data, VISITOR_PASS_PREFIX, plen) != 0)
		return -EINVAL;
	const char *body = (const char *)data + plen;
	size_t body_len = len - plen;
	const char *dot = memchr(body, '.', body_len);
	if (!dot)
		return -EINVAL;
	size_t fields_b64 = (size_t)(dot - body), sig_b64 = body_len - fields_b64 - 1;
	char fields[FIELDS_MAX];
	int n = base64url_decode(body, fields_b64, (uint8_t *)fields, sizeof(fields));
	if (n <= 0)
		return -EINVAL;
	if (base64url_decode(dot + 1, sig_b64, ret_sig, VISITOR_PASS_SIG_LEN) !=
	    VISITOR_PASS_SIG_LEN)
		return -EINVAL;
	if (parse_fields(fields, (size_t)n, ret) < 0) {
		*ret = (struct visitor_pass){0};
		return -EINVAL;
	}
	*ret_signed_len = plen + fields_b64;
	return 0;
}

int visitor_pass_check_fields(const struct visitor_pass *p, char *err, size_t errlen)
{
	if (check_pass_id(p->pass_id, strlen(p->pass_id)) < 0) {
		snprintf(err, errlen, "pass id: must be 1-%d of A-Z a-z 0-9 - _",
		         VISITOR_PASS_ID_MAX);
		return -EINVAL;
	}
	if (check_visitor_id(p->visitor_id, strlen(p->visitor_id)) < 0) {
		snprintf(err, errlen,
		         "visitor id: must be 1-%d printable characters, no spaces and no '|'",
		         PERSON_ID_MAX);
		return -EINVAL;
	}
	if (p->valid_from < 0 || p->valid_until > 99999999999 || p->valid_from >= p->valid_until) {
		snprintf(err, errlen, "valid-from must be before valid-until (both after 1970)");
		return -EINVAL;
	}
	return 0;
}

int visitor_pass_sign_with(void *evp_pkey, const struct visitor_pass *p, char *out, size_t size)
{
	char fields[FIELDS_MAX], err[128];
	if (visitor_pass_check_fields(p, err, sizeof(err)) < 0)
		return -EINVAL;
	int n = snprintf(fields, sizeof(fields), "1|%s|%s|%" PRId64 "|%" PRId64 "|%d", p->pass_id,
	                 p->visitor_id, p->valid_from, p->valid_until, p->single_use ? 1 : 0);
	if (n < 0 || (size_t)n >= sizeof(fields))
		return -EINVAL;
	char text[VISITOR_PASS_MAX + 1];
	size_t len = (size_t)snprintf(text, sizeof(text), "%s", VISITOR_PASS_PREFIX);
	len += base64url_encode((const uint8_t *)fields, (size_t)n, text + len, sizeof(text) - len);
	uint8_t sig[VISITOR_PASS_SIG_LEN];
	size_t sig_len = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, evp_pkey) == 1 &&
	         EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)text, len) == 1 &&
	         sig_len == sizeof(sig);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	char sig_text[100];
	base64url_encode(sig, sizeof(sig), sig_text, sizeof(sig_text));
	n = snprintf(out, size, "%s.%s", text, sig_text);
	if (n < 0 || (size_t)n >= size || (size_t)n > VISITOR_PASS_MAX)
		return -E2BIG;
	return n;
}

/* ---- keys ---------------------------------------------------------------- */

#define KEY_FILE_MAX 4096

static int load_one(const char *path, EVP_PKEY **ret, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "visitor pass key %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "visitor pass key %s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		close(fd);
		snprintf(err, errlen,
		         "visitor pass key %s: group or others may write it, and whoever replaces "
		         "it can mint passes (chmod go-w %s)",
		         path, path);
		return -EPERM;
	}
	char text[KEY_FILE_MAX + 1];
	ssize_t n = read(fd, text, KEY_FILE_MAX + 1);
	close(fd);
	if (n < 0 || n > KEY_FILE_MAX) {
		snprintf(err, errlen, "visitor pass key %s: %s", path,
		         n < 0 ? "cannot be read" : "too long for a public key");
		return n < 0 ? -EIO : -EFBIG;
	}
	text[n] = '\0';
	if (strstr(text, "PRIVATE KEY")) {
		snprintf(err, errlen,
		         "visitor pass key %s: holds a private key; a door takes only the public "
		         "one (porter-admin pass keygen --public), the private key stays with the "
		         "admin",
		         path);
		return -EPERM;
	}
	BIO *bio = BIO_new_mem_buf(text, (int)n);
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!key || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		snprintf(err, errlen,
		         "visitor pass key %s: not an Ed25519 public key in PEM (made by "
		         "porter-admin pass keygen)",
		         path);
		return -EINVAL;
	}
	*ret = key;
	return 0;
}

int visitor_pass_keys_load(const char *const *paths, size_t n, struct visitor_pass_keys **ret,
                           char *err, size_t errlen)
{
	*ret = NULL;
	if (n > VISITOR_PASS_KEYS_MAX) {
		snprintf(err, errlen, "at most %d visitor pass keys", VISITOR_PASS_KEYS_MAX);
		return -E2BIG;
	}
	struct visitor_pass_keys *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = load_one(paths[i], &k->keys[k->n], err, errlen);
		if (r < 0) {
			visitor_pass_keys_free(k);
			return r;
		}
		k->n++;
	}
	*ret = k;
	return 0;
}

struct visitor_pass_keys *visitor_pass_keys_free(struct visitor_pass_keys *k)
{
	if (!k)
		return NULL;
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->keys[i]);
	free(k);
	return NULL;
}

size_t visitor_pass_keys_count(const struct visitor_pass_keys *k)
{
	return k ? k->n : 0;
}

static bool verify_one(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	          EVP_DigestVerify(ctx, sig, VISITOR_PASS_SIG_LEN, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

int visitor_pass_verify(const struct visitor_pass_keys *keys, const uint8_t *data, size_t len,
                        struct visitor_pass *ret)
{
	uint8_t sig[VISITOR_PASS_SIG_LEN];
	size_t signed_len;
	if (visitor_pass_parse(data, len, ret, &signed_len, sig) < 0)
		return -EINVAL;
	if (visitor_pass_keys_count(keys) == 0)
		return -ENOKEY;
	for (size_t i = 0; i < keys->n; i++)
		if (verify_one(keys->keys[i], data, signed_len, sig))
			return 0;
	*ret = (struct visitor_pass){0};
	return -EBADMSG;
}
