/* SPDX-License-Identifier: MIT */
/*
 * host_loop.h: a small epoll event loop that provides porter's host services.
 *
 * This is the part of a door-controller host that porter.h asks for: fd
 * watches (epoll), one-shot timers (one timerfd over a deadline-sorted list),
 * a thread-safe invoke (mutex-protected queue woken through an eventfd), a
 * monotonic clock and logging. The door, feedback and completion services
 * are delegated to callbacks the embedding program sets, so the reference
 * host (porter-host) prints them and the integration tests record them.
 *
 * Also here: host_plugin_load(), which loads porter.so through porter.h only.
 *
 * Everything except host_loop_invoke() and host_loop_quit() must be called on
 * the thread that runs the loop.
 */
#ifndef PORTER_HOST_LOOP_H
#define PORTER_HOST_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "porter.h"

struct host_loop;

/* What the embedding program does with porter's requests. Every member may
 * be NULL: door and feedback then succeed silently, complete is ignored and
 * log lines go to stderr with a level prefix. */
struct host_loop_callbacks {
	void *userdata;
	void (*log)(void *userdata, uint32_t level, const char *message);
	int (*door_unlock)(void *userdata, const char *reader_id, uint32_t duration_ms);
	int (*feedback)(void *userdata, const struct porter_feedback *feedback);
	void (*complete)(void *userdata, uint64_t request_id, const struct porter_result *result);
};

/* A new loop; `callbacks` is copied (NULL: all defaults). NULL on error
 * (errno is set). */
struct host_loop *host_loop_new(const struct host_loop_callbacks *callbacks);

/* Frees the loop and whatever watches, timers and invokes are left (their
 * callbacks never run, their fds are not closed). Accepts NULL; returns NULL. */
struct host_loop *host_loop_free(struct host_loop *loop);

/* The services table to hand to porter's init(). Valid until the loop is
 * freed; `host` is the loop. */
const struct porter_host_services *host_loop_services(struct host_loop *loop);

/* Wait up to `timeout_ms` (-1: forever, 0: just poll) and dispatch what is
 * ready: fd events, due timers, queued invokes. Returns the number of events
 * handled (0 on timeout or EINTR) or a negative errno. */
int host_loop_run_once(struct host_loop *loop, int timeout_ms);

/* Dispatch until host_loop_quit(). Returns 0 or a negative errno. */
int host_loop_run(struct host_loop *loop);

/* Make host_loop_run() return after the current dispatch. Thread-safe. */
void host_loop_quit(struct host_loop *loop);

/* The services, also for the embedding program's own sources. Same
 * semantics as in porter.h. */
uint64_t host_loop_now_us(struct host_loop *loop);
int64_t host_loop_watch_add(struct host_loop *loop, int fd, uint32_t events, porter_io_fn cb,
			    void *userdata);
int host_loop_watch_update(struct host_loop *loop, int64_t watch_id, uint32_t events);
void host_loop_watch_remove(struct host_loop *loop, int64_t watch_id);
int64_t host_loop_timer_add(struct host_loop *loop, uint64_t delay_us, porter_timer_fn cb,
			    void *userdata);
void host_loop_timer_remove(struct host_loop *loop, int64_t timer_id);
int host_loop_invoke(struct host_loop *loop, porter_invoke_fn cb, void *userdata);

/* Discard queued invokes without running them (porter.h: invokes still
 * queued when shutdown() returns are dropped). Returns how many. */
size_t host_loop_drop_invokes(struct host_loop *loop);

/* How many watches and timers are registered (tests check that porter's
 * shutdown removed all of its own). */
size_t host_loop_n_watches(const struct host_loop *loop);
size_t host_loop_n_timers(const struct host_loop *loop);

/* "error", "warning", "notice", "info", "debug" (or "log"). */
const char *host_loop_level_name(uint32_t level);

/* ---- Loading porter.so ------------------------------------------------ */

struct host_plugin {
	void *handle;
	const struct porter_plugin_descriptor *descriptor;
};

/*
 * dlopen(path, RTLD_NOW | RTLD_LOCAL), look up PORTER_ENTRY_SYMBOL, call it
 * and check the descriptor's ABI version and size. On failure returns a
 * negative errno, leaves nothing loaded and writes a one-line reason
 * (including dlerror()) to `err`.
 */
int host_plugin_load(const char *path, struct host_plugin *ret, char *err, size_t errlen);

/* dlclose() the plugin (after its shutdown()). Accepts an unloaded one. */
void host_plugin_unload(struct host_plugin *plugin);

#endif
