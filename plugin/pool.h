/* SPDX-License-Identifier: MIT */
/*
 * pool.h: fixed-size objects for the loop thread's hot path, in slabs whose
 * pages are touched when the slab is made.
 *
 * Why: a hook that mallocs a fresh object may touch a page nobody touched
 * before, and a first-touch page fault costs the loop thread microseconds
 * (more on a virtual machine). Slabs fault their pages in one go, once per
 * many objects, and freed objects are reused from a free list, so a hook's
 * allocation is a pointer pop. Objects never move; memory goes back to
 * malloc only when the pool is freed. Single-threaded: the loop thread.
 */
#ifndef PORTER_POOL_H
#define PORTER_POOL_H

#include <stddef.h>

struct pool_slab;

struct pool {
	size_t object_size; /* rounded up to hold a free-list link */
	size_t per_slab;
	struct pool_slab *slabs;
	void *free_list;
};

/* An empty pool of objects of `object_size` bytes, `per_slab` at a time. */
void pool_init(struct pool *pool, size_t object_size, size_t per_slab);

/* A zeroed object, or NULL on ENOMEM. */
void *pool_get(struct pool *pool);

/* Give `object` (from this pool, or NULL) back for reuse. */
void pool_put(struct pool *pool, void *object);

/* Free every slab: every object of the pool is gone. */
void pool_release(struct pool *pool);

#endif
