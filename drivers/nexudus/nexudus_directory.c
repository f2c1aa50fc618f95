/* SPDX-License-Identifier: MIT */
/* nexudus_directory.c: synced Nexudus people as porter's directory file. */
#include "nexudus_directory.h"
#include "qr_credential.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "directory.h"
#include "directory_file.h"

#define NX_ID_MAX        24           /* "nx-c-" and at most 19 digits */
#define TIME_MAX_WRITTEN 253402300799 /* 9999-12-31T23:59:59Z */

enum outcome {
	KEEP,
	LEFT_BAD_PIN,
	LEFT_NO_ARRIVAL,
	LEFT_EXPIRED,
	LEFT_INACTIVE,
};

/* One record as it will be written (or why it will not). No PIN in here:
 * only its HMAC. */
struct entry {
	int64_t nx_id, updated_on, valid_from, valid_until;
	size_t seq; /* order of arrival, for ties */
	enum person_kind kind;
	enum outcome outcome;
	bool has_pin, has_qr;
	uint8_t pin_hash[PIN_HASH_LEN];
	uint8_t qr_hash[PIN_HASH_LEN]; /* VisitorCode as a QR code (qr_credential.h) */
	char name[PERSON_NAME_MAX + 1];
};

struct nexudus_directory {
	struct nexudus_directory_options options;
	struct cutoff_rule day;
	struct pin_hasher *hasher;
	struct entry *entries;
	size_t n, cap;
	struct nexudus_directory_stats stats;
};

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

struct nexudus_directory *nexudus_directory_new(const uint8_t key[PIN_KEY_LEN],
                                                const struct nexudus_directory_options *options)
{
	if (!key || !options || !options->day || options->pin_min_length == 0 ||
	    options->pin_min_length > options->pin_max_length)
		return NULL;
	struct nexudus_directory *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->options = *options;
	d->day = *options->day; /* a copy: the caller's config may be reloaded meanwhile */
	d->options.day = &d->day;
	d->hasher = pin_hasher_new(key);
	if (!d->hasher)
		return nexudus_directory_free(d);
	return d;
}

struct nexudus_directory *nexudus_directory_free(struct nexudus_directory *d)
{
	if (!d)
		return NULL;
	pin_hasher_free(d->hasher);
	if (d->entries)
		OPENSSL_cleanse(d->entries, d->cap * sizeof(*d->entries));
	free(d->entries);
	free(d);
	return NULL;
}

const struct nexudus_directory_stats *nexudus_directory_stats(const struct nexudus_directory *d)
{
	return &d->stats;
}

static void person_id(enum person_kind kind, int64_t nx_id, char ret[NX_ID_MAX + 1])
{
	snprintf(ret, NX_ID_MAX + 1, "nx-%c-%lld", kind == PERSON_MEMBER ? 'c' : 'v',
	         (long long)nx_id);
}

/* ---- Names -------------------------------------------------------------- */

static bool unsafe_cp(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x2028 || cp == 0x2029;
}

/* Length of the valid UTF-8 character at s (0 if none), its code point in *cp. */
static size_t utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = s[0] < 0x80                    ? 1
	           : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
	           : s[0] >= 0xe0 && s[0] <= 0xef ? 3
	           : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
	                                          : 0;
	if (n == 0 || n > len)
		return 0;
	*cp = n == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> n));
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[k] & 0x3f);
	}
	if (*cp < min[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* What the directory loader accepts as a name (directory_file.c): UTF-8
 * without control or bidirectional formatting characters, 1 to
 * PERSON_NAME_MAX bytes. Unsafe characters become spaces, broken bytes '?';
 * a name with nothing but spaces becomes the id. */
static void clean_name(const char *in, const char *id, char out[PERSON_NAME_MAX + 1])
{
	const unsigned char *s = (const unsigned char *)in;
	size_t len = strlen(in), n = 0;
	bool visible = false;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t w = utf8_char(s + i, len - i, &cp);
		if (w == 0 || unsafe_cp(cp)) {
			if (n + 1 > PERSON_NAME_MAX)
				break;
			out[n++] = w == 0 ? '?' : ' ';
			visible |= w == 0;
			i += w ? w : 1;
			continue;
		}
		if (n + w > PERSON_NAME_MAX)
			break;
		memcpy(out + n, s + i, w);
		visible |= cp != ' ';
		n += w;
		i += w;
	}
	out[n] = '\0';
	if (!visible)
		snprintf(out, PERSON_NAME_MAX + 1, "%s", id);
}

/* ---- Adding records ----------------------------------------------------- */

static bool pin_fits(const struct nexudus_directory *d, const char *pin)
{
	size_t n = strlen(pin);
	if (n < d->options.pin_min_length || n > d->options.pin_max_length)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return false;
	return true;
}

/* Room for every record a sync may bring, left-outs and duplicates too. */
#define NX_RECORDS_MAX (2 * DIRECTORY_MAX_PEOPLE)

static int new_entry(struct nexudus_directory *d, struct entry **ret)
{
	if (d->n >= NX_RECORDS_MAX)
		return -E2BIG;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 256;
		struct entry *e = calloc(cap, sizeof(*e));
		if (!e)
			return -ENOMEM;
		if (d->n) {
			memcpy(e, d->entries, d->n * sizeof(*e));
			OPENSSL_cleanse(d->entries, d->cap * sizeof(*e));
		}
		free(d->entries);
		d->entries = e;
		d->cap = cap;
	}
	struct entry *e = &d->entries[d->n];
	memset(e, 0, sizeof(*e));
	e->seq = d->n++;
	*ret = e;
	return 0;
}

/* Hash a credential now: the clear text goes no further than here. */
static int hash_pin(struct nexudus_directory *d, struct entry *e, const char *pin, bool too_long)
{
	if (!pin[0] && !too_long)
		return 0; /* no PIN: kept without one */
	if (too_long || !pin_fits(d, pin)) {
		e->outcome = LEFT_BAD_PIN;
		return 0;
	}
	e->has_pin = true;
	return pin_hasher_hash(d->hasher, pin, strlen(pin), e->pin_hash) < 0 ? -EIO : 0;
}

static int add_coworker(struct nexudus_directory *d, const struct nexudus_coworker *c)
{
	char id[NX_ID_MAX + 1];
	struct entry *e;
	int r = new_entry(d, &e);
	if (r < 0)
		return r;
	e->kind = PERSON_MEMBER;
	e->nx_id = c->id;
	e->updated_on = c->updated_on;
	e->valid_from = INT64_MIN;
	e->valid_until = INT64_MAX;
	person_id(e->kind, e->nx_id, id);
	clean_name(c->full_name, id, e->name);
	if (!c->active || c->archived) {
		e->outcome = LEFT_INACTIVE;
		return 0;
	}
	return hash_pin(d, e, c->pin, c->pin_too_long);
}

static int add_visitor(struct nexudus_directory *d, const struct nexudus_visitor *v)
{
	char id[NX_ID_MAX + 1];
	struct entry *e;
	int r = new_entry(d, &e);
	if (r < 0)
		return r;
	e->kind = PERSON_VISITOR;
	e->nx_id = v->id;
	e->updated_on = v->updated_on;
	person_id(e->kind, e->nx_id, id);
	clean_name(v->full_name, id, e->name);
	if (v->expected_arrival == INT64_MIN) {
		e->outcome = LEFT_NO_ARRIVAL;
		return 0;
	}
	/* Before 1970 (.NET's DateTime.MinValue for "unset" included): long
	 * over, and outside what the directory file writes. */
	if (v->expected_arrival < 0) {
		e->outcome = LEFT_EXPIRED;
		return 0;
	}
	e->valid_from = cutoff_previous(&d->day, v->expected_arrival);
	e->valid_until = cutoff_next(&d->day, v->expected_arrival);
	/* The file's times have four-digit years: the last day of 9999 ends
	 * there, not in the year 10000. */
	if (e->valid_until > TIME_MAX_WRITTEN)
		e->valid_until = TIME_MAX_WRITTEN;
	if (e->valid_until <= d->options.now) {
		e->outcome = LEFT_EXPIRED;
		return 0;
	}
	/* The registration e-mail's QR code carries the VisitorCode: the
	 * same code, hashed for a scanner as porter-admin add --qr-code-file does. */
	size_t at, len = strlen(v->visitor_code);
	if (!v->visitor_code_too_long &&
	    qr_code_check((const uint8_t *)v->visitor_code, len, &at) == 0) {
		if (qr_code_hash(d->hasher, (const uint8_t *)v->visitor_code, len, e->qr_hash) < 0)
			return -EIO;
		e->has_qr = true;
	}
	return hash_pin(d, e, v->visitor_code, v->visitor_code_too_long);
}

int nexudus_directory_add(struct nexudus_directory *d, const struct nexudus_record *record)
{
	if (!d || !record)
		return -EINVAL;
	if (record->kind == NEXUDUS_COWORKERS)
		return add_coworker(d, &record->coworker);
	if (record->kind == NEXUDUS_VISITORS)
		return add_visitor(d, &record->visitor);
	return -EINVAL;
}

int nexudus_directory_add_record(void *userdata, const struct nexudus_record *record)
{
	return nexudus_directory_add(userdata, record);
}

/* ---- Writing ------------------------------------------------------------ */

/* Kind, then Nexudus id, then arrival: one person's versions side by side. */
static int by_person(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->nx_id != y->nx_id)
		return x->nx_id < y->nx_id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void warn(struct nexudus_directory *d, const struct entry *e)
{
	char id[NX_ID_MAX + 1], line[160];
	person_id(e->kind, e->nx_id, id);
	if (e->outcome == LEFT_BAD_PIN) {
		d->stats.bad_pin++;
		snprintf(line, sizeof(line),
		         "%s: left out: its %s is not %u to %u digits, so no keypad can take it",
		         id, e->kind == PERSON_MEMBER ? "AccessPincode" : "VisitorCode",
		         d->options.pin_min_length, d->options.pin_max_length);
	} else if (e->outcome == LEFT_NO_ARRIVAL) {
		d->stats.no_arrival++;
		snprintf(line, sizeof(line), "%s: left out: a visitor without ExpectedArrival", id);
	} else {
		return;
	}
	if (d->options.warn)
		d->options.warn(d->options.userdata, line);
}

/* Keeps one entry per person (the later UpdatedOn, the first on a tie),
 * counts, warns, and returns how many are written. */
static size_t settle(struct nexudus_directory *d)
{
	size_t out = 0;
	memset(&d->stats, 0, sizeof(d->stats));
	if (d->n) /* entries is NULL until the first record */
		qsort(d->entries, d->n, sizeof(*d->entries), by_person);
	for (size_t i = 0; i < d->n;) {
		size_t best = i, j = i + 1;
		for (; j < d->n && d->entries[j].kind == d->entries[i].kind &&
		       d->entries[j].nx_id == d->entries[i].nx_id;
		     j++)
			if (d->entries[j].updated_on > d->entries[best].updated_on)
				best = j;
		d->stats.duplicates += j - i - 1;
		struct entry *e = &d->entries[best];
		i = j;
		warn(d, e);
		if (e->outcome == LEFT_EXPIRED)
			d->stats.expired++;
		if (e->outcome == LEFT_INACTIVE)
			d->stats.inactive++;
		if (e->outcome != KEEP)
			continue;
		if (e->kind == PERSON_MEMBER)
			d->stats.members++;
		else
			d->stats.visitors++;
		d->stats.without_pin += !e->has_pin;
		if (&d->entries[out] != e)
			d->entries[out] = *e;
		out++;
	}
	return out;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int render(const struct entry *entries, size_t n, char **ret, size_t *ret_len)
{
	FILE *f = open_memstream(ret, ret_len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "{\"porter_directory\": %d,\n \"people\": [", DIRECTORY_FILE_FORMAT);
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &entries[i];
		char id[NX_ID_MAX + 1], hex[PIN_HASH_HEX_LEN + 1], from[32], until[32];
		person_id(e->kind, e->nx_id, id);
		fprintf(f, "%s\n  {\"id\": \"%s\", \"kind\": \"%s\", \"name\": ", i ? "," : "", id,
		        e->kind == PERSON_MEMBER ? "member" : "visitor");
		put_string(f, e->name);
		if (e->has_pin) {
			pin_hash_to_hex(e->pin_hash, hex);
			fprintf(f, ", \"pin_hmac\": \"%s\"", hex);
		}
		if (e->has_qr) {
			pin_hash_to_hex(e->qr_hash, hex);
			fprintf(f, ", \"qr_hmac\": \"%s\"", hex);
		}
		if (e->kind == PERSON_VISITOR) {
			timestamp_format(e->valid_from, from);
			timestamp_format(e->valid_until, until);
			fprintf(f, ", \"valid_from\": \"%s\", \"valid_until\": \"%s\"", from,
			        until);
		}
		fputc('}', f);
	}
	fputs("\n ]}\n", f);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, text, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		text += w;
		len -= (size_t)w;
	}
	return 0;
}

static int fsync_folder(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 || fsync(fd) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

static int write_atomic(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int r;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp))
		return fail(err, errlen, -ENAMETOOLONG, "%s: the path is too long", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: cannot create a temporary file beside it: %s",
		            path, strerror(errno));
	/* The HMACs are worthless without the site key, but nobody but the
	 * service and its group has business reading who the members are. */
	r = fchmod(fd, 0640) < 0 ? -errno : write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return fail(err, errlen, r, "%s: cannot write %s: %s", path, tmp, strerror(-r));
	}
	if ((r = fsync_folder(path)) < 0)
		return fail(err, errlen, r, "%s: written, but its folder could not be synced: %s",
		            path, strerror(-r));
	return 0;
}

int nexudus_directory_write(struct nexudus_directory *d, const char *path, char *err, size_t errlen)
{
	char *text = NULL, sub[256];
	size_t len = 0;
	struct directory *check = NULL;
	if (!d || !path)
		return fail(err, errlen, -EINVAL, "no directory or path");
	size_t n = settle(d);
	d->n = n; /* what settle dropped is gone; writing again writes the same */
	int r = render(d->entries, n, &text, &len);
	if (r < 0)
		return fail(err, errlen, r, "out of memory writing %zu people", n);
	if (len > DIRECTORY_FILE_MAX_BYTES)
		r = fail(err, errlen, -E2BIG, "%zu people make %zu bytes, at most %u are loaded", n,
		         len, DIRECTORY_FILE_MAX_BYTES);
	else if ((r = directory_parse(text, len, &check, sub, sizeof(sub))) < 0)
		r = fail(err, errlen, r, "the directory written would not load (%s); %s kept", sub,
		         path);
	else
		r = write_atomic(path, text, len, err, errlen);
	directory_free(check);
	OPENSSL_cleanse(text, len);
	free(text);
	return r;
}
