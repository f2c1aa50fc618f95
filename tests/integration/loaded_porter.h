/* SPDX-License-Identifier: MIT */
/*
 * loaded_porter.h: porter.so, loaded once per cmocka test group through
 * porter.h alone (host_plugin_load, from $PORTER_SO), the way a door
 * controller loads it. Every dlopen() integration test reaches it as `api`.
 */
#ifndef LOADED_PORTER_H
#define LOADED_PORTER_H

#include "porter.h"

/* The plugin under test, set by load_porter(). */
extern const struct porter_plugin_descriptor *api;

/* cmocka group setup and teardown: load porter.so (saying why on stderr
 * when it cannot: -1), and unload it. */
int load_porter(void **state);
int unload_porter(void **state);

#endif
