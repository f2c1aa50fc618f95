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

/* Why a reload from `current` to `next` cannot be taken by the backend in
 * use, for a setting outside its own sections that it holds from init
 * (nexudus: local.directory, where it writes its cache): NULL when it can,
 * else the setting's JSON path, with what is wrong in *ret_message and what
 * to do in *ret_fix. */
const char *backend_setup_reload_refused(const struct config *current, const struct config *next,
                                         const char **ret_message, const char **ret_fix);

/* The same for a reload naming another site key (local.pin_key_file): NULL
 * when the backend in use takes it (local, webhook: the admin's directory
 * file is read again), else as above (nexudus hashes its cache under the
 * key it started with). */
const char *backend_setup_key_refused(const struct config *current, const char **ret_message,
                                      const char **ret_fix);

/* The config was reloaded into `config`: the backend behind `outbox` (NULL:
 * local) takes the settings its directory is built from and fetches it. */
void backend_setup_reloaded(const struct config *config, struct outbox *outbox);

#endif
