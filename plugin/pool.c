/* SPDX-License-Identifier: MIT */
/* pool.c: slabs of fixed-size objects with a free list. See pool.h. */
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pool_slab {
	struct pool_slab *next;
	max_align_t align[]; /* the objects */
};

void pool_init(struct pool *pool, size_t object_size, size_t per_slab)
{
	size_t a = sizeof(max_align_t);
	if (object_size < sizeof(void *))
		object_size = sizeof(void *);
	*pool = (struct pool){
	        .object_size = (object_size + a - 1) / a * a,
	        .per_slab = per_slab ? per_slab : 1,
	};
}

static int add_slab(struct pool *pool)
{
	size_t bytes = pool->object_size * pool->per_slab;
	struct pool_slab *slab = malloc(sizeof(*slab) + bytes);
	if (!slab)
		return -1;
	/* Written, not calloc'ed: calloc may hand back fresh pages untouched,
	 * and the point is to take their faults now, not in a hook. */
	memset(slab->align, 0, bytes);
	slab->next = pool->slabs;
	pool->slabs = slab;
	char *objects = (char *)slab->align;
	for (size_t i = pool->per_slab; i-- > 0;) {
		void *o = objects + i * pool->object_size;
		*(void **)o = pool->free_list;
		pool->free_list = o;
	}
	return 0;
}

void *pool_get(struct pool *pool)
{
	if (!pool->free_list && add_slab(pool) < 0)
		return NULL;
	void *o = pool->free_list;
	pool->free_list = *(void **)o;
	memset(o, 0, pool->object_size);
	return o;
}

void pool_put(struct pool *pool, void *object)
{
	if (!object)
		return;
	*(void **)object = pool->free_list;
	pool->free_list = object;
}

void pool_release(struct pool *pool)
{
	while (pool->slabs) {
		struct pool_slab *slab = pool->slabs;
		pool->slabs = slab->next;
		free(slab);
	}
	pool->free_list = NULL;
}
