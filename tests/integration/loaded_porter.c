/* SPDX-License-Identifier: MIT */
/*
 * loaded_porter.c: porter.so for the integration tests (see loaded_porter.h).
 */
#include "loaded_porter.h"

#include <stdio.h>

#include "host_loop.h"
#include "porter_fixture.h"

const struct porter_plugin_descriptor *api;
static struct host_plugin plugin;

int load_porter(void **state)
{
	char err[1024];

	(void)state;
	if (host_plugin_load(fx_env("PORTER_SO"), &plugin, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	api = plugin.descriptor;
	return 0;
}

int unload_porter(void **state)
{
	(void)state;
	host_plugin_unload(&plugin);
	return 0;
}
