/* SPDX-License-Identifier: MIT */
/*
 * qr_credential.h: what a QR scan may be, and the memory porter keeps about
 * scanned codes (in RAM, bounded; never the scanned text itself).
 *
 * A scan is 1..QR_CODE_MAX bytes of printable ASCII without space (0x21 to
 * 0x7e): every visitor code and every visitor pass is, and a misread or a
 * scanner set to the wrong keyboard layout usually is not. It is either a
 * visitor pass (visitor_pass.h) or a visitor code, looked up in the
 * directory by its hash: HMAC-SHA256(site key, "qr:" + code), the "qr:"
 * keeping a code's hash apart from the same digits typed as a PIN.
 *
 * Per code (by that hash): a code refused code_max_attempts times in a row
 * is locked for code_lockout_s; the table holds QR_CODES_MAX codes and
 * forgets the least recently refused. Used single-use passes: loaded from
 * the database at start, added when a pass's check-in is durable, forgotten
 * once the pass has expired or that check-in's reversal is durable.
 */
#ifndef PORTER_QR_CREDENTIAL_H
#define PORTER_QR_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pin_hash.h"

#define QR_CODE_MAX  512  /* bytes of a scan porter reads as a credential */
#define QR_CODES_MAX 1024 /* codes whose refusals are counted */

/* 0 when `data` may be a credential, else -E2BIG (too long) or -EINVAL
 * (empty, or a byte outside 0x21..0x7e at *ret_at). */
int qr_code_check(const uint8_t *data, size_t len, size_t *ret_at);

/* HMAC-SHA256(site key, "qr:" + code). */
int qr_code_hash(struct pin_hasher *hasher, const uint8_t *code, size_t len,
                 uint8_t ret[PIN_HASH_LEN]);

struct qr_memory;

struct qr_memory *qr_memory_new(void);
struct qr_memory *qr_memory_free(struct qr_memory *memory);

/* Seconds (rounded up) this code stays locked, 0 when it is not. */
unsigned qr_code_locked(const struct qr_memory *memory, const uint8_t hash[PIN_HASH_LEN],
                        uint64_t now_us);
/* A refusal of this code. Returns true when it locks the code now. */
bool qr_code_failed(struct qr_memory *memory, const uint8_t hash[PIN_HASH_LEN], uint64_t now_us,
                    unsigned max_attempts, uint64_t lockout_us);
/* A code that checked someone in or out: its count starts over. */
void qr_code_succeeded(struct qr_memory *memory, const uint8_t hash[PIN_HASH_LEN]);

/* Single-use passes already used. `now_s` prunes expired ones. */
bool qr_pass_used(const struct qr_memory *memory, const char *pass_id);
int qr_pass_mark_used(struct qr_memory *memory, const char *pass_id, int64_t valid_until,
                      int64_t now_s);
size_t qr_pass_used_count(const struct qr_memory *memory);
/* A pass whose check-in was reversed (the visitor was not let in) is not
 * used any more. */
void qr_pass_forget(struct qr_memory *memory, const char *pass_id);

#endif
