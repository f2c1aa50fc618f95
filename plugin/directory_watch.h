/* SPDX-License-Identifier: MIT */
/*
 * directory_watch.h: directory file edits take effect while porter runs.
 *
 * The folder holding the directory file is watched with inotify on the
 * host's loop (an fd watch), so saving by rename (porter-admin, editors),
 * deleting and re-creating, and replacing the folder itself are all seen.
 * Events are debounced on a host timer; the file is then read and parsed on
 * a porter-owned thread, never on the loop thread, and the result is handed
 * back through the host's invoke. A good file is swapped in whole; a bad or
 * missing one leaves the directory in force as it is, with a log line saying
 * why and PORTER-D004 from diagnostics() until a good one loads.
 *
 * Newer wins: a config reload that puts a directory in force (plugin_reload)
 * supersedes every watch-load asked for before it; one asked for after it
 * supersedes the reload's. Every change on disk after a reload triggers a
 * new watch-load, so what is in force ends up being the file on disk.
 *
 * Everything here runs on the loop thread, except the worker. Every function
 * accepts a NULL watch (the host has no fd watches, or inotify failed).
 */
#ifndef PORTER_DIRECTORY_WATCH_H
#define PORTER_DIRECTORY_WATCH_H

#include <stdint.h>

#include "directory.h"
#include "porter.h"

/* Events within this long of each other load the file once. */
#define DIRECTORY_WATCH_DEBOUNCE_US 200000
/* ... unless they keep coming: then the file loads this long after the first. */
#define DIRECTORY_WATCH_DEBOUNCE_MAX_US 2000000
/* While the file's folder is missing, porter looks for it this often. */
#define DIRECTORY_WATCH_RETRY_US 1000000

struct directory_watch;

/* Put `directory` in force (loop thread; ownership passes). */
typedef void (*directory_watch_swap_fn)(void *userdata, struct directory *directory);

/* Watch the file at `path`, whose current contents are in force. Without
 * the host's watch_add, or when inotify fails, logs a notice that edits
 * need a config reload and returns a negative errno with *ret NULL; porter
 * works on without it. */
int directory_watch_start(const struct porter_host_services *services, const char *path,
                          directory_watch_swap_fn swap, void *userdata,
                          struct directory_watch **ret);

/* A reload put the file at `path` (maybe a new one) in force: earlier
 * watch-loads are discarded, the problem (if any) is over. */
void directory_watch_reloaded(struct directory_watch *watch, const char *path);

/* PORTER-D004 while the file on disk is invalid or missing. Returns the
 * number reported (0 or 1); `report` may be NULL. */
int directory_watch_diagnostics(struct directory_watch *watch, porter_report_fn report,
                                void *userdata);

/* Remove the watch and timers, join the worker and drop any result not yet
 * delivered. Its invoke, if still queued, is dropped by the host: stop runs
 * at shutdown only. Returns NULL. */
struct directory_watch *directory_watch_stop(struct directory_watch *watch);

#endif
