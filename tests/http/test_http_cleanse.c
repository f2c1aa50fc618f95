/* SPDX-License-Identifier: MIT */
/*
 * test_http_cleanse.c: the HTTPS client (drivers/http) leaves no copy of a
 * request's secrets (an Authorization bearer, a password grant form) in
 * memory it frees.
 *
 * How it looks without knowing the client's insides: this program defines
 * free() itself (ELF interposition: libcurl, OpenSSL and porter's code all
 * call it) and, while a request runs and after the client is freed, scans
 * every block handed to free() for the secret before passing it to glibc.
 * One kind of block is allowed to hold it: libcurl's own serialised request
 * (it starts with the request line "POST /..."), a buffer libcurl builds,
 * sends and frees inside itself, out of any caller's reach. Blocks freed by
 * realloc() are not seen (glibc frees those internally).
 *
 * Skipped (77) under ASan and valgrind, whose allocators replace glibc's.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "host_loop.h"
#include "http_client.h"
#include "https_fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define SECRET "5ecret-CLEANSE-me"

extern void __libc_free(void *p);

static struct {
	bool watching;
	unsigned seen;     /* blocks scanned while watching */
	unsigned leaked;   /* blocks holding the secret, not the wire request */
	unsigned wire;     /* libcurl's serialised request, holding it */
	char first[96];    /* the start of the first leaked block, secret masked */
	size_t first_size; /* its usable size */
} F;

#ifndef UNDER_ASAN
static bool holds_secret(const char *p, size_t n)
{
	return memmem(p, n, SECRET, sizeof(SECRET) - 1) != NULL;
}

void free(void *p)
{
	if (p && F.watching) {
		size_t n = malloc_usable_size(p);
		F.seen++;
		if (holds_secret(p, n)) {
			if (n > 6 && (memcmp(p, "POST /", 6) == 0 || memcmp(p, "PUT /", 5) == 0)) {
				F.wire++;
			} else if (F.leaked++ == 0) {
				size_t k = n < sizeof(F.first) - 1 ? n : sizeof(F.first) - 1;
				for (size_t i = 0; i < k; i++) {
					char ch = ((const char *)p)[i];
					F.first[i] = ch >= 32 && ch < 127 ? ch : '.';
				}
				char *s;
				while ((s = strstr(F.first, SECRET)))
					memset(s, '*', sizeof(SECRET) - 1);
				F.first_size = n;
			}
		}
	}
	__libc_free(p);
}
#endif

static struct https_fixture fx;
static struct host_loop *loop;

struct result {
	int calls;
	long status;
};

static void on_done(void *userdata, const struct http_response *r)
{
	struct result *res = userdata;
	res->calls++;
	res->status = r->status;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void run_until_done(struct result *res)
{
	uint64_t end = mono_ms() + 10000;
	while (res->calls == 0 && mono_ms() < end)
		host_loop_run_once(loop, 20);
}

/* A request with secrets in a header and the body, against a route that
 * does not echo them back (the answer is the server's to hold). */
static void post_secret(struct http_client *c, bool never_resend)
{
	char url[128], body[128], auth[128];
	struct result res = {0};

	snprintf(url, sizeof(url), "%s/stats", fx.base);
	snprintf(auth, sizeof(auth), "Authorization: Bearer tok-%s", SECRET);
	snprintf(body, sizeof(body), "grant_type=password&username=u&password=pw-%s", SECRET);
	const char *const headers[] = {auth, "Content-Type: application/x-www-form-urlencoded",
	                               NULL};
	struct http_request rq = {.method = "POST",
	                          .url = url,
	                          .headers = headers,
	                          .body = body,
	                          .body_len = strlen(body),
	                          .never_resend = never_resend};
	assert_int_equal(http_client_request(c, &rq, on_done, &res, NULL), 0);
	/* The caller's buffers are the caller's to wipe; only the client's
	 * copies are looked at from here on. */
	memset(auth, 0, sizeof(auth));
	memset(body, 0, sizeof(body));
	run_until_done(&res);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.status, 200);
}

static void test_no_freed_block_holds_a_request_secret(void **state)
{
	struct http_client_options o = {.ca_file = fx.ca, .keep_alive = true};
	struct http_client *c = NULL;

	assert_int_equal(http_client_new(host_loop_services(loop), &o, &c), 0);
	F.watching = true;
	post_secret(c, false);
	post_secret(c, true); /* a request on a connection of its own */
	post_secret(c, false);
	c = http_client_free(c);
	F.watching = false;
	printf("http_cleanse: %u blocks freed; %u held the secret: %u libcurl's wire request, "
	       "%u other\n",
	       F.seen, F.wire + F.leaked, F.wire, F.leaked);
	if (F.leaked)
		printf("http_cleanse: first other block (%zu bytes): \"%s\"\n", F.first_size,
		       F.first);
	assert_true(F.seen > 100); /* the interposed free() did run */
	assert_int_equal(F.leaked, 0);
}

int main(void)
{
	const char *preload = getenv("LD_PRELOAD");
#ifdef UNDER_ASAN
	puts("skipped: ASan replaces the allocator this test interposes");
	return 77;
#endif
	if (preload && strstr(preload, "vgpreload")) {
		puts("skipped: valgrind replaces the allocator this test interposes");
		return 77;
	}
	if (https_fixture_start(&fx) < 0)
		return 1;
	loop = host_loop_new(NULL);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_no_freed_block_holds_a_request_secret),
	};
	int r = loop ? cmocka_run_group_tests(tests, NULL, NULL) : 1;
	host_loop_free(loop);
	https_fixture_stop(&fx);
	return r;
}
