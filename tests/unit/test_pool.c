/* SPDX-License-Identifier: MIT */
/* test_pool.c: the slab pool behind the hook's allocations (plugin/pool.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pool.h"

struct thing {
	char text[100];
	uint64_t n;
};

static void objects_are_distinct_aligned_and_zeroed(void **state)
{
	struct pool pool;
	struct thing *t[300];
	pool_init(&pool, sizeof(struct thing), 64);
	for (size_t i = 0; i < 300; i++) {
		t[i] = pool_get(&pool);
		assert_non_null(t[i]);
		assert_int_equal((uintptr_t)t[i] % _Alignof(max_align_t), 0);
		for (size_t k = 0; k < sizeof(t[i]->text); k++)
			assert_int_equal(t[i]->text[k], 0);
		assert_int_equal(t[i]->n, 0);
		memset(t[i], 0xab, sizeof(*t[i]));
	}
	/* No two objects overlap: each still holds only its own bytes. */
	for (size_t i = 0; i < 300; i++)
		for (size_t j = i + 1; j < 300; j++)
			assert_true((char *)t[j] >= (char *)(t[i] + 1) ||
			            (char *)t[i] >= (char *)(t[j] + 1));
	pool_release(&pool);
}

static void a_returned_object_is_reused_and_zeroed_again(void **state)
{
	struct pool pool;
	pool_init(&pool, sizeof(struct thing), 4);
	struct thing *a = pool_get(&pool);
	strcpy(a->text, "left behind");
	a->n = 42;
	pool_put(&pool, a);
	struct thing *b = pool_get(&pool);
	assert_ptr_equal(a, b);
	assert_string_equal(b->text, "");
	assert_int_equal(b->n, 0);
	pool_put(&pool, NULL); /* harmless */
	pool_release(&pool);
}

static void objects_smaller_than_a_pointer_still_work(void **state)
{
	struct pool pool;
	pool_init(&pool, 1, 0);
	char *a = pool_get(&pool), *b = pool_get(&pool);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	pool_put(&pool, a);
	pool_put(&pool, b);
	pool_release(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(objects_are_distinct_aligned_and_zeroed),
	        cmocka_unit_test(a_returned_object_is_reused_and_zeroed_again),
	        cmocka_unit_test(objects_smaller_than_a_pointer_still_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
