/* SPDX-License-Identifier: MIT */
/*
 * lockout_control.h: lockouts an admin can see, lift, and that survive a
 * restart.
 *
 * porter keeps each reader's lockout in memory (reader.h); this module
 * mirrors it to DIR/lockouts.json (DIR: the directory of local.database)
 * and takes admins' unlock requests from DIR (lockout_file.h), with its own
 * thread so the host's loop thread never touches the disk:
 *
 *   loop thread:    a lockout starts or is lifted -> copy the small state of
 *                   every reader under a lock, wake the thread (an eventfd);
 *   control thread: write lockouts.json atomically; wait in poll() on an
 *                   inotify watch of DIR for unlock-*.json, read and delete
 *                   each, and hand it to the loop thread through
 *                   services->invoke, which lifts the lockout and logs it.
 *
 * Log lines (stable, README "Lockouts: seeing and lifting them"):
 *   warning  reader ID: locked out for N s after F wrong PINs (lockout L)   (engine.c)
 *   notice   reader ID: lockout ended after N s (lockout L)
 *   notice   reader ID: lockout lifted by an admin (lockout L, N s were left)
 *   warning  reader ID: still locked out for N s after a restart (lockout L)
 */
#ifndef PORTER_LOCKOUT_CONTROL_H
#define PORTER_LOCKOUT_CONTROL_H

#include <stdint.h>

#include "config.h"
#include "porter.h"
#include "reader.h"

struct engine;
struct lockout_control;

/*
 * Restore the lockouts in lockouts.json beside `config->database_path` into
 * `readers` (init reads files: it is an admin action), then start the
 * thread. A missing file is a first start; an unreadable one is logged and
 * ignored (porter still starts). `wall_clock_us` turns the host's monotonic
 * times into times that mean something after a restart. 0 or -errno.
 */
int lockout_control_start(const struct porter_host_services *services, struct readers *readers,
                          const struct config *config, struct engine *engine,
                          int64_t (*wall_clock_us)(void), struct lockout_control **ret);

/* The engine's callback (loop thread): `reader`'s lockout just started. */
void lockout_control_locked(void *control, struct reader_state *reader);

/* Loop thread: lift whatever the thread handed over, write the last state,
 * join the thread, remove the timers. No callback runs after this. NULL. */
struct lockout_control *lockout_control_stop(struct lockout_control *control);

#endif
