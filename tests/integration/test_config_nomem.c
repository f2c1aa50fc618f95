/* SPDX-License-Identifier: MIT */
/*
 * test_config_nomem.c: check_config, init and reload return -ENOMEM when
 * memory runs out (porter.h), not -EINVAL as though the config were wrong.
 *
 * This program defines malloc, calloc and realloc itself, so that porter.so
 * (loaded through porter.h, $PORTER_SO) allocates through them: they pass
 * to glibc's allocator until `allowed` allocations have been made, and fail
 * from then on. Built without sanitizers only (ASan has its own allocator);
 * skipped under valgrind, whose allocator replaces these functions.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_loop.h"
#include "loaded_porter.h"
#include "porter.h"
#include "porter_fixture.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static long allowed = -1; /* allocations still allowed; -1: no limit */

static bool out_of_memory(void)
{
	if (allowed < 0)
		return false;
	if (allowed == 0)
		return true;
	allowed--;
	return false;
}

void *malloc(size_t size)
{
	return out_of_memory() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return out_of_memory() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return out_of_memory() ? NULL : __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}

/* Whether porter's allocations reach the functions above: under valgrind,
 * which replaces malloc in the program too, they do not, and the tests that
 * need failing allocations are skipped. */
static bool allocations_can_fail(void)
{
	void *(*volatile alloc)(size_t) = malloc; /* not folded by the compiler */
	allowed = 0;
	void *p = alloc(16);
	allowed = -1;
	free(p);
	return p == NULL;
}

struct reports {
	size_t n;
	char code[64], path[64];
};

/* Must not allocate: it runs while allocations fail. */
static void record_report(void *userdata, const struct porter_report *r)
{
	struct reports *rs = userdata;
	if (r->severity != PORTER_SEVERITY_ERROR || rs->n++ > 0)
		return;
	snprintf(rs->code, sizeof(rs->code), "%s", r->code ? r->code : "");
	snprintf(rs->path, sizeof(rs->path), "%s", r->path ? r->path : "(null)");
}

static struct {
	char dir[FX_PATH_MAX];
	char *config;
} site;

static int group_setup(void **state)
{
	if (load_porter(state) < 0 || fx_mkdtemp(site.dir) < 0 ||
	    fx_make_site(fx_env("PORTER_ADMIN"), site.dir, FX_ANA) != 0)
		return -1;
	site.config = fx_config(site.dir, ",\"readers\":[{\"id\":\"front\"}]");
	return site.config ? 0 : -1;
}

static int group_teardown(void **state)
{
	fx_rmrf(site.dir);
	free(site.config);
	return unload_porter(state);
}

/* check_config with the first `n` allocations allowed and none after. */
static int check_with(long n, struct reports *rs)
{
	allowed = n;
	int r = api->check_config(site.config, strlen(site.config), rs ? record_report : NULL, rs);
	allowed = -1;
	return r;
}

static void the_site_is_usable_with_memory(void **state)
{
	(void)state;
	assert_int_equal(check_with(-1, NULL), 0);
}

/* The first allocations are check_config's own and the strict reader's of
 * the text: each failing is -ENOMEM, with at most a PORTER-CFG-NOMEM report
 * at "$" (with a NULL report function, the same return). */
static void check_config_out_of_memory_reading_the_text_is_ENOMEM(void **state)
{
	(void)state;
	if (!allocations_can_fail())
		skip();
	for (long n = 0; n < 3; n++) {
		struct reports rs = {0};
		assert_int_equal(check_with(n, &rs), -ENOMEM);
		assert_true(rs.n <= 1);
		if (rs.n == 1) {
			assert_string_equal(rs.code, "PORTER-CFG-NOMEM");
			assert_string_equal(rs.path, "$");
		}
		assert_int_equal(check_with(n, NULL), -ENOMEM);
	}
}

static void init_and_reload_out_of_memory_are_ENOMEM(void **state)
{
	(void)state;
	if (!allocations_can_fail())
		skip();
	struct host_loop *loop = host_loop_new(NULL);
	porter_plugin *p = NULL;
	assert_non_null(loop);

	allowed = 0;
	int r = api->init(host_loop_services(loop), site.config, strlen(site.config), NULL, NULL,
	                  &p);
	allowed = -1;
	assert_int_equal(r, -ENOMEM);

	assert_int_equal(api->init(host_loop_services(loop), site.config, strlen(site.config), NULL,
	                           NULL, &p),
	                 0);
	allowed = 0;
	r = api->reload(p, site.config, strlen(site.config), NULL, NULL);
	allowed = -1;
	assert_int_equal(r, -ENOMEM);
	api->shutdown(p);
	host_loop_drop_invokes(loop);
	host_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(the_site_is_usable_with_memory),
	        cmocka_unit_test(check_config_out_of_memory_reading_the_text_is_ENOMEM),
	        cmocka_unit_test(init_and_reload_out_of_memory_are_ENOMEM),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
