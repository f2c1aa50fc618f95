/* SPDX-License-Identifier: MIT */
/* webhook_message.c: see webhook_message.h. */
#include "webhook_message.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "secret_file.h"
#include "utc_time.h"

#define SECRET_PREFIX   "whsec_"
#define SECRET_TEXT_MAX (sizeof(SECRET_PREFIX) + 4 * ((WEBHOOK_SECRET_MAX + 2) / 3) + 2)

int webhook_secret_parse(const char *text, size_t len, struct webhook_secret *ret, char *err,
                         size_t errlen)
{
	const size_t prefix = strlen(SECRET_PREFIX);
	uint8_t decoded[4 * ((WEBHOOK_SECRET_MAX + 2) / 3) + 4];
	memset(ret, 0, sizeof(*ret));
	if (len < prefix || memcmp(text, SECRET_PREFIX, prefix) != 0) {
		snprintf(err, errlen,
		         "must start with \"whsec_\" followed by base64 (the Standard "
		         "Webhooks secret format)");
		return -EINVAL;
	}
	size_t b64 = len - prefix;
	if (b64 == 0 || b64 % 4 != 0 || b64 > 4 * ((WEBHOOK_SECRET_MAX + 2) / 3)) {
		snprintf(err, errlen, "the base64 after \"whsec_\" must encode %d to %d bytes",
		         WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
		return -EINVAL;
	}
	for (size_t i = prefix; i < len; i++) {
		char c = text[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || (c == '=' && i >= len - 2))) {
			snprintf(err, errlen, "the text after \"whsec_\" is not base64");
			return -EINVAL;
		}
	}
	int n = EVP_DecodeBlock(decoded, (const unsigned char *)text + prefix, (int)b64);
	if (n < 0) {
		snprintf(err, errlen, "the text after \"whsec_\" is not base64");
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts padding as zero bytes. */
	n -= (text[len - 1] == '=') + (text[len - 2] == '=');
	if (n < WEBHOOK_SECRET_MIN || n > WEBHOOK_SECRET_MAX) {
		OPENSSL_cleanse(decoded, sizeof(decoded));
		snprintf(err, errlen, "the secret is %d bytes; it must be %d to %d random bytes", n,
		         WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
		return -EINVAL;
	}
	memcpy(ret->key, decoded, (size_t)n);
	ret->len = (size_t)n;
	OPENSSL_cleanse(decoded, sizeof(decoded));
	return 0;
}

int webhook_secret_load(const char *path, struct webhook_secret *ret, char *err, size_t errlen)
{
	char text[SECRET_TEXT_MAX + 1];
	char why[160];
	size_t len;
	int r = secret_file_read(path, "webhook secret file", text, sizeof(text), &len, err,
	                         errlen);
	if (r == 0 && len == sizeof(text)) {
		snprintf(err, errlen, "webhook secret file %s: too long for a secret", path);
		r = -EINVAL;
	} else if (r == 0 && webhook_secret_parse(text, len, ret, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "webhook secret file %s: %s", path, why);
		r = -EINVAL;
	}
	OPENSSL_cleanse(text, sizeof(text));
	return r;
}

void webhook_secret_clear(struct webhook_secret *secret)
{
	OPENSSL_cleanse(secret, sizeof(*secret));
}

int webhook_body(const struct delivery *d, char *buf, size_t size)
{
	char at[UTC_TIME_US_LEN + 1];
	if (utc_time_format_us(d->at_unix_us, at) < 0)
		return -ERANGE; /* store.c never records such a time */
	json_object *root = json_object_new_object(), *data = json_object_new_object();
	if (!root || !data) {
		json_object_put(root);
		json_object_put(data);
		return -ENOMEM;
	}
	json_object_object_add(
	        root, "type",
	        json_object_new_string(d->in ? "presence.checked_in" : "presence.checked_out"));
	json_object_object_add(root, "timestamp", json_object_new_string(at));
	json_object_object_add(data, "event_key", json_object_new_string(d->event_key));
	json_object_object_add(data, "person_id", json_object_new_string(d->person_id));
	json_object_object_add(data, "direction", json_object_new_string(d->in ? "in" : "out"));
	json_object_object_add(data, "reader_id", json_object_new_string(d->reader_id));
	json_object_object_add(data, "at", json_object_new_string(at));
	json_object_object_add(data, "cause", json_object_new_string(d->cause));
	json_object_object_add(root, "data", data);
	size_t len;
	const char *text = json_object_to_json_string_length(
	        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	int r = -E2BIG;
	if (text && len < size) {
		memcpy(buf, text, len + 1);
		r = (int)len;
	}
	json_object_put(root);
	return r;
}

int webhook_sign(const struct webhook_secret *secret, const char *id, int64_t timestamp,
                 const char *body, size_t body_len, char ret[WEBHOOK_SIGNATURE_MAX])
{
	/* The signed content is id.timestamp.body, in one buffer for the
	 * one-shot HMAC (bodies are bounded by WEBHOOK_BODY_MAX). */
	char content[128 + WEBHOOK_BODY_MAX];
	int n = snprintf(content, sizeof(content), "%s.%lld.", id, (long long)timestamp);
	if (n < 0 || (size_t)n >= 128 || body_len > WEBHOOK_BODY_MAX)
		return -E2BIG;
	memcpy(content + n, body, body_len);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	if (!HMAC(EVP_sha256(), secret->key, (int)secret->len, (const unsigned char *)content,
	          (size_t)n + body_len, mac, &mac_len))
		return -EIO;
	memcpy(ret, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)ret + 3, mac, (int)mac_len);
	return 0;
}
