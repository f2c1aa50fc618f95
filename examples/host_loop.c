/* SPDX-License-Identifier: MIT */
/*
 * host_loop.c: the epoll loop behind porter's host services (see host_loop.h).
 *
 * Shape: one epoll set holds the watched fds, one timerfd armed at the
 * earliest timer deadline, and one eventfd that wakes the loop for invokes
 * and quit. Several watches may share an fd (libdbus does this): the fd is
 * registered once with the union of their events and each event is handed to
 * every watch that asked for it. Callbacks may add and remove watches and
 * timers freely; dispatch looks each one up again by id before calling it.
 */
#include "host_loop.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* epoll data tags for the loop's own fds; user fds use the fd number. */
#define TAG_TIMERFD UINT64_MAX
#define TAG_EVENTFD (UINT64_MAX - 1)

#define MAX_EVENTS 32

struct watch {
	int64_t id;
	int fd;
	uint32_t events; /* PORTER_IO_* */
	porter_io_fn cb;
	void *userdata;
};

struct timer {
	int64_t id;
	uint64_t deadline_us;
	porter_timer_fn cb;
	void *userdata;
	struct timer *next;
};

struct invoke_item {
	porter_invoke_fn cb;
	void *userdata;
	struct invoke_item *next;
};

struct host_loop {
	int epfd;
	int timerfd;
	int eventfd;
	struct porter_host_services services;
	struct host_loop_callbacks callbacks;

	struct watch *watches; /* unordered array */
	size_t n_watches;
	size_t cap_watches;

	struct timer *timers;  /* sorted by deadline, then id */
	size_t n_timers;
	int64_t last_id;       /* watch and timer ids share one counter */

	pthread_mutex_t lock;  /* guards the invoke queue */
	struct invoke_item *invoke_head;
	struct invoke_item *invoke_tail;
	int quit;              /* atomic */
};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void wake(struct host_loop *loop)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop wakes anyway. */
	if (write(loop->eventfd, &one, sizeof(one)) < 0) {
		/* nothing useful to do */
	}
}

static void drain_fd(int fd)
{
	uint64_t value;

	if (read(fd, &value, sizeof(value)) < 0) {
		/* EAGAIN: spurious wakeup */
	}
}

static uint32_t to_epoll(uint32_t events)
{
	return ((events & PORTER_IO_IN) ? EPOLLIN : 0u) | ((events & PORTER_IO_OUT) ? EPOLLOUT : 0u);
}

static uint32_t from_epoll(uint32_t events)
{
	return ((events & EPOLLIN) ? PORTER_IO_IN : 0u) | ((events & EPOLLOUT) ? PORTER_IO_OUT : 0u) |
	       ((events & EPOLLERR) ? PORTER_IO_ERR : 0u) |
	       ((events & (EPOLLHUP | EPOLLRDHUP)) ? PORTER_IO_HUP : 0u);
}

const char *host_loop_level_name(uint32_t level)
{
	switch (level) {
	case PORTER_LOG_ERROR: return "error";
	case PORTER_LOG_WARNING: return "warning";
	case PORTER_LOG_NOTICE: return "notice";
	case PORTER_LOG_INFO: return "info";
	case PORTER_LOG_DEBUG: return "debug";
	default: return "log";
	}
}

/* ---- watches ----------------------------------------------------------- */

static struct watch *watch_find(struct host_loop *loop, int64_t id)
{
	for (size_t i = 0; i < loop->n_watches; i++)
		if (loop->watches[i].id == id)
			return &loop->watches[i];
	return NULL;
}

/* Register `fd` with the union of its watches' events, or unregister it when
 * no watch wants anything (so a hung-up fd nobody reads cannot spin). */
static int sync_fd(struct host_loop *loop, int fd)
{
	struct epoll_event ev = { .events = 0, .data.u64 = (uint64_t)fd };

	for (size_t i = 0; i < loop->n_watches; i++)
		if (loop->watches[i].fd == fd)
			ev.events |= to_epoll(loop->watches[i].events);
	if (ev.events == 0) {
		if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT &&
		    errno != EBADF)
			return -errno;
		return 0;
	}
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void watch_delete_at(struct host_loop *loop, size_t index)
{
	loop->watches[index] = loop->watches[loop->n_watches - 1];
	loop->n_watches--;
}

int64_t host_loop_watch_add(struct host_loop *loop, int fd, uint32_t events, porter_io_fn cb,
			    void *userdata)
{
	if (!loop || fd < 0 || !cb)
		return -EINVAL;
	if (loop->n_watches == loop->cap_watches) {
		size_t cap = loop->cap_watches ? loop->cap_watches * 2 : 8;
		struct watch *grown = realloc(loop->watches, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		loop->watches = grown;
		loop->cap_watches = cap;
	}
	struct watch *w = &loop->watches[loop->n_watches++];
	*w = (struct watch){ .id = ++loop->last_id, .fd = fd, .events = events,
			     .cb = cb, .userdata = userdata };
	int r = sync_fd(loop, fd);
	if (r < 0) {
		watch_delete_at(loop, loop->n_watches - 1);
		sync_fd(loop, fd);
		return r;
	}
	return loop->last_id;
}

int host_loop_watch_update(struct host_loop *loop, int64_t watch_id, uint32_t events)
{
	struct watch *w = loop ? watch_find(loop, watch_id) : NULL;

	if (!w)
		return -ENOENT;
	w->events = events;
	return sync_fd(loop, w->fd);
}

void host_loop_watch_remove(struct host_loop *loop, int64_t watch_id)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->n_watches; i++) {
		if (loop->watches[i].id == watch_id) {
			int fd = loop->watches[i].fd;

			watch_delete_at(loop, i);
			sync_fd(loop, fd);
			return;
		}
	}
}

/* Hand one epoll event on `fd` to each watch that wants it. The ids are
 * collected first: a callback may remove or add watches on the way. */
static void dispatch_fd(struct host_loop *loop, int fd, uint32_t revents)
{
	int64_t ids[64];
	size_t n = 0;

	for (size_t i = 0; i < loop->n_watches && n < 64; i++)
		if (loop->watches[i].fd == fd && loop->watches[i].events != 0)
			ids[n++] = loop->watches[i].id;
	for (size_t i = 0; i < n; i++) {
		struct watch *w = watch_find(loop, ids[i]);
		uint32_t mask = w ? (w->events | PORTER_IO_ERR | PORTER_IO_HUP) : 0;

		if (w && (revents & mask))
			w->cb(w->userdata, w->fd, revents & mask);
	}
}

/* ---- timers ------------------------------------------------------------ */

/* Arm the timerfd for the earliest deadline, or disarm it. */
static void timers_rearm(struct host_loop *loop)
{
	struct itimerspec its = { 0 };

	if (loop->timers) {
		uint64_t d = loop->timers->deadline_us;

		its.it_value.tv_sec = (time_t)(d / 1000000u);
		its.it_value.tv_nsec = (long)(d % 1000000u) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1; /* zero would disarm */
	}
	timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int64_t host_loop_timer_add(struct host_loop *loop, uint64_t delay_us, porter_timer_fn cb,
			    void *userdata)
{
	if (!loop || !cb)
		return -EINVAL;
	struct timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	uint64_t now = monotonic_us();
	*t = (struct timer){ .id = ++loop->last_id, .cb = cb, .userdata = userdata,
			     .deadline_us = delay_us > UINT64_MAX - now ? UINT64_MAX : now + delay_us };

	struct timer **pos = &loop->timers;
	while (*pos && (*pos)->deadline_us <= t->deadline_us)
		pos = &(*pos)->next;
	t->next = *pos;
	*pos = t;
	loop->n_timers++;
	if (loop->timers == t)
		timers_rearm(loop);
	return t->id;
}

void host_loop_timer_remove(struct host_loop *loop, int64_t timer_id)
{
	if (!loop)
		return;
	for (struct timer **pos = &loop->timers; *pos; pos = &(*pos)->next) {
		if ((*pos)->id == timer_id) {
			struct timer *t = *pos;
			bool was_first = t == loop->timers;

			*pos = t->next;
			free(t);
			loop->n_timers--;
			if (was_first)
				timers_rearm(loop);
			return;
		}
	}
}

/* Fire every timer due now. Each is unlinked before its callback runs, so
 * removing it from inside is harmless; timers added by callbacks are due no
 * earlier than `now` plus their delay and wait for the next round unless
 * their delay is zero. */
static int dispatch_timers(struct host_loop *loop)
{
	uint64_t now = monotonic_us();
	int fired = 0;

	drain_fd(loop->timerfd);
	while (loop->timers && loop->timers->deadline_us <= now) {
		struct timer *t = loop->timers;

		loop->timers = t->next;
		loop->n_timers--;
		porter_timer_fn cb = t->cb;
		void *userdata = t->userdata;
		free(t);
		cb(userdata);
		fired++;
	}
	timers_rearm(loop);
	return fired;
}

/* ---- invoke ------------------------------------------------------------ */

int host_loop_invoke(struct host_loop *loop, porter_invoke_fn cb, void *userdata)
{
	if (!loop || !cb)
		return -EINVAL;
	struct invoke_item *item = calloc(1, sizeof(*item));
	if (!item)
		return -ENOMEM;
	item->cb = cb;
	item->userdata = userdata;

	pthread_mutex_lock(&loop->lock);
	if (loop->invoke_tail)
		loop->invoke_tail->next = item;
	else
		loop->invoke_head = item;
	loop->invoke_tail = item;
	pthread_mutex_unlock(&loop->lock);
	wake(loop);
	return 0;
}

static struct invoke_item *invokes_take(struct host_loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	struct invoke_item *head = loop->invoke_head;
	loop->invoke_head = loop->invoke_tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	return head;
}

/* Run the invokes queued so far; ones queued meanwhile wait for the next
 * round (the eventfd was written again for them). */
static int dispatch_invokes(struct host_loop *loop)
{
	int n = 0;

	drain_fd(loop->eventfd);
	for (struct invoke_item *item = invokes_take(loop), *next; item; item = next, n++) {
		next = item->next;
		item->cb(item->userdata);
		free(item);
	}
	return n;
}

size_t host_loop_drop_invokes(struct host_loop *loop)
{
	size_t n = 0;

	if (!loop)
		return 0;
	for (struct invoke_item *item = invokes_take(loop), *next; item; item = next, n++) {
		next = item->next;
		free(item);
	}
	return n;
}

/* ---- the services table ------------------------------------------------- */

static void svc_log(void *host, uint32_t level, const char *message)
{
	struct host_loop *loop = host;

	if (loop->callbacks.log)
		loop->callbacks.log(loop->callbacks.userdata, level, message);
	else
		fprintf(stderr, "porter %s: %s\n", host_loop_level_name(level), message);
}

static uint64_t svc_now_us(void *host)
{
	(void)host;
	return monotonic_us();
}

static int64_t svc_watch_add(void *host, int fd, uint32_t events, porter_io_fn cb, void *ud)
{
	return host_loop_watch_add(host, fd, events, cb, ud);
}

static int svc_watch_update(void *host, int64_t watch_id, uint32_t events)
{
	return host_loop_watch_update(host, watch_id, events);
}

static void svc_watch_remove(void *host, int64_t watch_id)
{
	host_loop_watch_remove(host, watch_id);
}

static int64_t svc_timer_add(void *host, uint64_t delay_us, porter_timer_fn cb, void *ud)
{
	return host_loop_timer_add(host, delay_us, cb, ud);
}

static void svc_timer_remove(void *host, int64_t timer_id)
{
	host_loop_timer_remove(host, timer_id);
}

static int svc_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	return host_loop_invoke(host, cb, userdata);
}

static int svc_door_unlock(void *host, const char *reader_id, uint32_t duration_ms)
{
	struct host_loop *loop = host;

	if (!loop->callbacks.door_unlock)
		return 0;
	return loop->callbacks.door_unlock(loop->callbacks.userdata, reader_id, duration_ms);
}

static int svc_feedback(void *host, const struct porter_feedback *feedback)
{
	struct host_loop *loop = host;

	if (!loop->callbacks.feedback)
		return 0;
	return loop->callbacks.feedback(loop->callbacks.userdata, feedback);
}

static void svc_complete(void *host, uint64_t request_id, const struct porter_result *result)
{
	struct host_loop *loop = host;

	if (loop->callbacks.complete)
		loop->callbacks.complete(loop->callbacks.userdata, request_id, result);
}

static void services_fill(struct host_loop *loop)
{
	loop->services = (struct porter_host_services){
		.size = sizeof(struct porter_host_services),
		.host = loop,
		.log = svc_log,
		.now_us = svc_now_us,
		.watch_add = svc_watch_add,
		.watch_update = svc_watch_update,
		.watch_remove = svc_watch_remove,
		.timer_add = svc_timer_add,
		.timer_remove = svc_timer_remove,
		.invoke = svc_invoke,
		.door_unlock = svc_door_unlock,
		.feedback = svc_feedback,
		.complete = svc_complete,
	};
}

/* ---- the loop ------------------------------------------------------------ */

static int add_internal_fd(struct host_loop *loop, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

struct host_loop *host_loop_new(const struct host_loop_callbacks *callbacks)
{
	struct host_loop *loop = calloc(1, sizeof(*loop));
	int r;

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	loop->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&loop->lock, NULL);
	if (loop->epfd < 0 || loop->timerfd < 0 || loop->eventfd < 0) {
		r = -errno;
		goto fail;
	}
	r = add_internal_fd(loop, loop->timerfd, TAG_TIMERFD);
	if (r == 0)
		r = add_internal_fd(loop, loop->eventfd, TAG_EVENTFD);
	if (r < 0)
		goto fail;
	if (callbacks)
		loop->callbacks = *callbacks;
	services_fill(loop);
	return loop;
fail:
	host_loop_free(loop);
	errno = -r;
	return NULL;
}

struct host_loop *host_loop_free(struct host_loop *loop)
{
	if (!loop)
		return NULL;
	host_loop_drop_invokes(loop);
	while (loop->timers) {
		struct timer *t = loop->timers;

		loop->timers = t->next;
		free(t);
	}
	free(loop->watches);
	if (loop->eventfd >= 0)
		close(loop->eventfd);
	if (loop->timerfd >= 0)
		close(loop->timerfd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
	return NULL;
}

const struct porter_host_services *host_loop_services(struct host_loop *loop)
{
	return loop ? &loop->services : NULL;
}

uint64_t host_loop_now_us(struct host_loop *loop)
{
	(void)loop;
	return monotonic_us();
}

size_t host_loop_n_watches(const struct host_loop *loop)
{
	return loop ? loop->n_watches : 0;
}

size_t host_loop_n_timers(const struct host_loop *loop)
{
	return loop ? loop->n_timers : 0;
}

int host_loop_run_once(struct host_loop *loop, int timeout_ms)
{
	struct epoll_event events[MAX_EVENTS];
	int handled = 0;

	if (!loop)
		return -EINVAL;
	int n = epoll_wait(loop->epfd, events, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint64_t tag = events[i].data.u64;

		if (tag == TAG_TIMERFD)
			handled += dispatch_timers(loop);
		else if (tag == TAG_EVENTFD)
			handled += dispatch_invokes(loop);
		else {
			dispatch_fd(loop, (int)tag, from_epoll(events[i].events));
			handled++;
		}
	}
	return handled;
}

int host_loop_run(struct host_loop *loop)
{
	if (!loop)
		return -EINVAL;
	__atomic_store_n(&loop->quit, 0, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&loop->quit, __ATOMIC_SEQ_CST)) {
		int r = host_loop_run_once(loop, -1);

		if (r < 0)
			return r;
	}
	return 0;
}

void host_loop_quit(struct host_loop *loop)
{
	if (!loop)
		return;
	__atomic_store_n(&loop->quit, 1, __ATOMIC_SEQ_CST);
	wake(loop);
}

/* ---- loading porter.so ----------------------------------------------------- */

static int plugin_fail(struct host_plugin *plugin, int r, char *err, size_t errlen,
		       const char *what, const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	if (plugin->handle)
		dlclose(plugin->handle);
	plugin->handle = NULL;
	plugin->descriptor = NULL;
	return r;
}

int host_plugin_load(const char *path, struct host_plugin *ret, char *err, size_t errlen)
{
	char what[512];

	if (!path || !ret)
		return -EINVAL;
	*ret = (struct host_plugin){ 0 };
	ret->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!ret->handle)
		return plugin_fail(ret, -ENOENT, err, errlen, "cannot load plugin", dlerror());

	dlerror();
	porter_plugin_entry_fn entry;
	*(void **)&entry = dlsym(ret->handle, PORTER_ENTRY_SYMBOL);
	if (!entry) {
		const char *e = dlerror();
		snprintf(what, sizeof(what), "%s is not a porter plugin (no %s)", path,
			 PORTER_ENTRY_SYMBOL);
		return plugin_fail(ret, -ENOEXEC, err, errlen, what, e);
	}
	const struct porter_plugin_descriptor *d = entry();
	if (!d)
		return plugin_fail(ret, -ENOEXEC, err, errlen, "plugin entry returned no descriptor",
				   NULL);
	if (d->abi_version != PORTER_ABI_VERSION) {
		snprintf(what, sizeof(what), "plugin ABI version %u, this host speaks %d",
			 (unsigned)d->abi_version, PORTER_ABI_VERSION);
		return plugin_fail(ret, -EPROTO, err, errlen, what, NULL);
	}
	if (!PORTER_HAS_FIELD(d, struct porter_plugin_descriptor, diagnostics)) {
		snprintf(what, sizeof(what), "plugin descriptor too small (%u bytes, need %zu)",
			 (unsigned)d->size, sizeof(struct porter_plugin_descriptor));
		return plugin_fail(ret, -EPROTO, err, errlen, what, NULL);
	}
	ret->descriptor = d;
	return 0;
}

void host_plugin_unload(struct host_plugin *plugin)
{
	if (!plugin)
		return;
	if (plugin->handle)
		dlclose(plugin->handle);
	plugin->handle = NULL;
	plugin->descriptor = NULL;
}
