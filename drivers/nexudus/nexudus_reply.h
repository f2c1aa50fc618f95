/* SPDX-License-Identifier: MIT */
/*
 * nexudus_reply.h: the Nexudus REST API's replies, read strictly.
 *
 * Pure functions over the bytes of one HTTP reply body: no I/O, no
 * allocation that outlives a call except a token's two strings. The
 * Nexudus backend calls them on the bodies its HTTP client collected.
 *
 * Every parser reads the body once with porter's strict pull reader
 * (json_strict.h: duplicate keys, bad UTF-8, raw control characters are
 * refused), refuses a body over its documented size before reading a byte
 * of it, and nesting deeper than NEXUDUS_REPLY_DEPTH. Members porter does
 * not use are skipped (the real API sends dozens per record); a member porter
 * uses that holds the wrong type is an error naming it and where:
 * "Records[3].FromTime: not a time". A reply that is refused yields nothing
 * the caller should keep.
 *
 * Secrets (tokens, PINs, visitor codes, access card ids) are never copied
 * into an error text, and are cleansed (OPENSSL_cleanse) wherever this code
 * held them. The caller owns the body and cleanses it after the call; the
 * strict reader's scratch buffer is freed without cleansing (json_strict.c).
 *
 * Times: ISO 8601 with a zone, "2026-11-25T08:00:00Z", optionally with a
 * fraction of a second (.NET writes up to 7 digits, dropped here) or an
 * offset ("+01:00"). A time without a zone is refused: porter would have to
 * guess whose clock it is.
 */
#ifndef PORTER_NEXUDUS_REPLY_H
#define PORTER_NEXUDUS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bodies larger than these are refused (-E2BIG) unread. A token reply is
 * under 2 KiB; an envelope echoes at most one record; a page of 100 full
 * coworker records (porter asks for pages of at most 100) is about 600 KiB,
 * so 8 MiB leaves room for pages of 1,000. */
#define NEXUDUS_TOKEN_REPLY_MAX    (64u * 1024)
#define NEXUDUS_ENVELOPE_REPLY_MAX (1u * 1024 * 1024)
#define NEXUDUS_PAGE_REPLY_MAX     (8u * 1024 * 1024)
/* Nesting: a page is 3 deep to a record's members; real records hold small
 * arrays and objects (Businesses, CustomFields). */
#define NEXUDUS_REPLY_DEPTH 16

#define NEXUDUS_TOKEN_MAX  4096 /* bytes of an access or refresh token */
#define NEXUDUS_NAME_MAX   256  /* bytes of a FullName kept (longer: cut, see below) */
#define NEXUDUS_SECRET_MAX 64   /* bytes of a PIN, visitor code or card id kept */

/* ---- POST /api/token ---------------------------------------------------- */

struct nexudus_token {
	char *access_token;  /* 1..NEXUDUS_TOKEN_MAX printable ASCII, no spaces */
	char *refresh_token; /* the same, or NULL when the reply had none */
	int64_t expires_in;  /* seconds, 1..NEXUDUS_TOKEN_LIFETIME_MAX */
};

#define NEXUDUS_TOKEN_LIFETIME_MAX (366 * 24 * 3600)

/*
 * Parse a token reply (HTTP 200) or a token error (HTTP 400: the caller
 * passes the body whatever the status). Returns
 *   0        a token in *ret (token_type "bearer"; free with
 *            nexudus_token_clear);
 *   -EACCES  {"error":"invalid_grant"}: the user name, password or refresh
 *            token was refused. Not worth retrying until the admin acts;
 *   -EPROTO  another OAuth error ("unsupported_grant_type": porter sent the
 *            grant in the wrong form, a bug), named in err;
 *   -EINVAL  anything else (not JSON, a member of the wrong type, a token
 *            with a space or control character: it goes into an HTTP header);
 *   -E2BIG   a body over NEXUDUS_TOKEN_REPLY_MAX; -ENOMEM.
 * err never holds a token.
 */
int nexudus_token_parse(const char *text, size_t len, struct nexudus_token *ret, char *err,
                        size_t errlen);

/* Cleanse and free both tokens; *token is zeroed. NULL is fine. */
void nexudus_token_clear(struct nexudus_token *token);

/* ---- The write envelope ------------------------------------------------- */

#define NEXUDUS_REASON_MAX 512

struct nexudus_envelope {
	bool was_successful;
	int64_t status;   /* Status, or 0 when absent or null */
	int64_t value_id; /* Value.Id (a created record's id), or 0 */
	size_t n_errors;  /* entries in Errors[] */
	/* Message and each error's "PropertyName: Message", one line of
	 * printable text for logs, porter-admin and the dead-letter list.
	 * Never AttemptedValue (it may be a PIN): its text is also masked
	 * ("***") wherever a message quotes it. */
	char reason[NEXUDUS_REASON_MAX];
};

/* Parse {Status, Message, Value, WasSuccessful, Errors:[{AttemptedValue,
 * Message, PropertyName}]}. WasSuccessful is required. Returns 0 (whatever
 * WasSuccessful says), -EINVAL, -E2BIG over NEXUDUS_ENVELOPE_REPLY_MAX, or
 * -ENOMEM, with err naming what was wrong. */
int nexudus_envelope_parse(const char *text, size_t len, struct nexudus_envelope *ret, char *err,
                           size_t errlen);

/* ---- Paged lists -------------------------------------------------------- */

enum nexudus_kind {
	NEXUDUS_COWORKERS = 0, /* /api/spaces/coworkers */
	NEXUDUS_VISITORS,      /* /api/spaces/visitors */
	NEXUDUS_CHECKINS,      /* /api/spaces/checkins */
};

/* Times are unix seconds. Optional times are INT64_MIN when absent or null;
 * optional ids 0. Strings are NUL-terminated; a secret field over
 * NEXUDUS_SECRET_MAX bytes is kept as its first bytes with `*_too_long`
 * set (a caller refuses it as a credential; it is not a malformed reply). */
struct nexudus_coworker {
	int64_t id;                           /* Id, required, >= 1 */
	char full_name[NEXUDUS_NAME_MAX + 1]; /* "" when absent or null */
	char pin[NEXUDUS_SECRET_MAX + 1];     /* AccessPincode, "" when none */
	bool pin_too_long;
	char access_card_id[NEXUDUS_SECRET_MAX + 1]; /* AccessCardId, "" when none */
	bool access_card_id_too_long;
	bool active;        /* Active (inferred); true when absent */
	bool archived;      /* Archived (inferred); false when absent */
	int64_t updated_on; /* UpdatedOn */
};

struct nexudus_visitor {
	int64_t id;
	char full_name[NEXUDUS_NAME_MAX + 1];
	char visitor_code[NEXUDUS_SECRET_MAX + 1]; /* VisitorCode, "" when none */
	bool visitor_code_too_long;
	int64_t expected_arrival;             /* ExpectedArrival */
	int64_t coworker_id;                  /* CoworkerId: the member they visit */
	bool arrived;                         /* Arrived; false when absent */
	int64_t arrival_date, departure_date; /* ArrivalDate, DepartureDate */
	int64_t updated_on;
};

struct nexudus_checkin {
	int64_t id;
	int64_t coworker_id; /* CoworkerId, 0 when absent or null */
	int64_t from_time;   /* FromTime, required */
	int64_t to_time;     /* ToTime; INT64_MIN while the check-in is open */
	int64_t updated_on;
	/* The milliseconds of FromTime and ToTime (0..999), or -1 when the text
	 * has no fraction: porter writes them, so a look can tell two records
	 * made in the same second apart. */
	int32_t from_ms, to_ms;
};

struct nexudus_record {
	enum nexudus_kind kind;
	size_t index; /* in Records[] */
	union {
		struct nexudus_coworker coworker;
		struct nexudus_visitor visitor;
		struct nexudus_checkin checkin;
	};
};

/* Called once per record, in order, while the page is read. The record and
 * its secrets live only for the call (they are cleansed after it): copy
 * what is kept, hash what is secret. A negative return stops the parse and
 * is returned from nexudus_page_parse. */
typedef int (*nexudus_record_fn)(void *userdata, const struct nexudus_record *record);

struct nexudus_page {
	size_t records;       /* delivered to fn */
	int64_t total_items;  /* TotalItems, required */
	int64_t total_pages;  /* TotalPages, required */
	int64_t current_page; /* CurrentPage, 0 when absent */
	bool has_next_page;   /* HasNextPage, required */
};

/*
 * Parse one page {Records:[...], TotalItems, TotalPages, HasNextPage,
 * CurrentPage, ...} of `kind` records, giving each record to fn as it is
 * read. Returns 0 with *ret filled, or -EINVAL/-E2BIG/-ENOMEM (err says what
 * and where), or fn's negative value. Records are delivered before the end
 * of the body is checked: on an error, discard whatever fn received from this
 * page (a sync builds into a staging set that it keeps only when every page
 * parsed).
 */
int nexudus_page_parse(const char *text, size_t len, enum nexudus_kind kind, nexudus_record_fn fn,
                       void *userdata, struct nexudus_page *ret, char *err, size_t errlen);

/* "2026-11-25T08:00:00Z", "2026-11-25T08:00:00.1234567Z",
 * "2026-11-25T09:00:00+01:00" -> unix seconds. 0 or -EINVAL. */
int nexudus_time_parse(const char *text, size_t len, int64_t *ret);

#endif
