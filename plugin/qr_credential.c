/* SPDX-License-Identifier: MIT */
/* qr_credential.c: scan bounds, code hashes, per-code throttling, used passes. See qr_credential.h.
 */
#include "qr_credential.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "visitor_pass.h"

struct code_count {
	uint8_t hash[16]; /* the first half of the code's HMAC: enough to tell codes apart */
	unsigned failures;
	uint64_t last_us, locked_until_us;
	bool used;
};

struct used_pass {
	char pass_id[VISITOR_PASS_ID_MAX + 1];
	int64_t valid_until;
};

struct qr_memory {
	struct code_count codes[QR_CODES_MAX];
	struct used_pass *used; /* unsorted; a door sees tens a day, not millions */
	size_t n_used, cap_used;
};

int qr_code_check(const uint8_t *data, size_t len, size_t *ret_at)
{
	*ret_at = 0;
	if (len > QR_CODE_MAX)
		return -E2BIG;
	if (len == 0 || !data)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (data[i] < 0x21 || data[i] > 0x7e) {
			*ret_at = i;
			return -EINVAL;
		}
	}
	return 0;
}

int qr_code_hash(struct pin_hasher *hasher, const uint8_t *code, size_t len,
                 uint8_t ret[PIN_HASH_LEN])
{
	char buf[3 + QR_CODE_MAX];
	if (len > QR_CODE_MAX)
		return -E2BIG;
	memcpy(buf, "qr:", 3);
	memcpy(buf + 3, code, len);
	int r = pin_hasher_hash(hasher, buf, 3 + len, ret);
	OPENSSL_cleanse(buf, 3 + len);
	return r;
}

struct qr_memory *qr_memory_new(void)
{
	return calloc(1, sizeof(struct qr_memory));
}

struct qr_memory *qr_memory_free(struct qr_memory *m)
{
	if (m) {
		free(m->used);
		free(m);
	}
	return NULL;
}

static struct code_count *find_code(const struct qr_memory *m, const uint8_t hash[PIN_HASH_LEN])
{
	for (size_t i = 0; i < QR_CODES_MAX; i++)
		if (m->codes[i].used && memcmp(m->codes[i].hash, hash, 16) == 0)
			return (struct code_count *)&m->codes[i];
	return NULL;
}

unsigned qr_code_locked(const struct qr_memory *m, const uint8_t hash[PIN_HASH_LEN],
                        uint64_t now_us)
{
	const struct code_count *c = find_code(m, hash);
	if (!c || c->locked_until_us <= now_us)
		return 0;
	return (unsigned)((c->locked_until_us - now_us + 999999) / 1000000);
}

bool qr_code_failed(struct qr_memory *m, const uint8_t hash[PIN_HASH_LEN], uint64_t now_us,
                    unsigned max_attempts, uint64_t lockout_us)
{
	struct code_count *c = find_code(m, hash);
	if (!c) {
		/* A free slot, else the one refused longest ago: a flood of
		 * random codes pushes out old counts, never grows memory. */
		c = &m->codes[0];
		for (size_t i = 0; i < QR_CODES_MAX && c->used; i++)
			if (!m->codes[i].used || m->codes[i].last_us < c->last_us)
				c = &m->codes[i];
		*c = (struct code_count){.used = true};
		memcpy(c->hash, hash, 16);
	}
	if (c->locked_until_us && c->locked_until_us <= now_us) {
		c->failures = 0; /* served its lockout: counting starts over */
		c->locked_until_us = 0;
	}
	c->last_us = now_us;
	if (++c->failures < max_attempts)
		return false;
	c->failures = 0;
	c->locked_until_us = now_us + lockout_us;
	return true;
}

void qr_code_succeeded(struct qr_memory *m, const uint8_t hash[PIN_HASH_LEN])
{
	struct code_count *c = find_code(m, hash);
	if (c)
		*c = (struct code_count){0};
}

bool qr_pass_used(const struct qr_memory *m, const char *pass_id)
{
	for (size_t i = 0; i < m->n_used; i++)
		if (strcmp(m->used[i].pass_id, pass_id) == 0)
			return true;
	return false;
}

int qr_pass_mark_used(struct qr_memory *m, const char *pass_id, int64_t valid_until, int64_t now_s)
{
	if (strlen(pass_id) > VISITOR_PASS_ID_MAX)
		return -EINVAL;
	if (qr_pass_used(m, pass_id))
		return 0;
	if (m->n_used == m->cap_used) {
		size_t k = 0; /* an expired pass is refused as expired: forget it */
		for (size_t i = 0; i < m->n_used; i++)
			if (m->used[i].valid_until > now_s)
				m->used[k++] = m->used[i];
		m->n_used = k;
	}
	if (m->n_used == m->cap_used) {
		size_t cap = m->cap_used ? 2 * m->cap_used : 64;
		struct used_pass *u = realloc(m->used, cap * sizeof(*u));
		if (!u)
			return -ENOMEM;
		m->used = u;
		m->cap_used = cap;
	}
	struct used_pass *u = &m->used[m->n_used++];
	strcpy(u->pass_id, pass_id);
	u->valid_until = valid_until;
	return 0;
}

size_t qr_pass_used_count(const struct qr_memory *m)
{
	return m->n_used;
}

void qr_pass_forget(struct qr_memory *m, const char *pass_id)
{
	for (size_t i = 0; i < m->n_used; i++) {
		if (strcmp(m->used[i].pass_id, pass_id) == 0) {
			m->used[i] = m->used[--m->n_used]; /* unsorted: the last takes its place */
			return;
		}
	}
}
