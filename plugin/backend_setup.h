/* SPDX-License-Identifier: MIT */
/*
 * backend_setup.h: the backend the config chooses, and the outbox in front
 * of it.
 *
 * `local` keeps changes on this box: no outbox. `webhook` and `nexudus`
 * deliver every durable change through the outbox (outbox.h). This is the
 * one place that knows the backends by name; the engine and the hooks only
 * see the outbox and the backend_core callbacks.
 */
#ifndef PORTER_BACKEND_SETUP_H
#define PORTER_BACKEND_SETUP_H

#include <stdbool.h>

#include "config.h"
#include "engine.h"
#include "porter.h"

struct outbox;

/* What a config's backend needs from files, checked as init would (for
 * check_config): its secret file and CA file. Returns 0 or a negative
 * errno with what is wrong in `err` and the setting's JSON path in *ret_path. */
int backend_setup_check(const struct config *config, char *err, size_t errlen,
                        const char **ret_path);

/* Start the backend and its outbox on the database store_open made, and
 * connect them to `engine` (engine->outbox, the offline policy). *ret is
 * NULL for local. Returns 0 or a negative errno with `err` and *ret_path. */
int backend_setup_start(const struct config *config, const struct porter_host_services *services,
                        struct engine *engine, int64_t (*wall_clock_us)(void), struct outbox **ret,
                        char *err, size_t errlen, const char **ret_path);

/* True when `next` asks for a different backend or different backend
 * settings than `current`: those take a restart, not a reload. */
bool backend_setup_changed(const struct config *current, const struct config *next);

#endif
