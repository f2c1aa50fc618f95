/* SPDX-License-Identifier: MIT */
/*
 * mini_host.c: the smallest door controller a host author would write from
 * the installed files alone: compiled with `pkg-config --cflags porter`
 * (porter.h and nothing else from porter), it dlopen()s the porter.so the
 * .pc file names, starts porter on a config, submits one PIN and waits for
 * the decision. Its event loop (poll, a timer list, a thread-safe invoke
 * queue woken through a pipe) is just what porter.h asks of a host.
 *
 *   mini_host PLUGIN CONFIG PIN   prints "GRANT checked_in" and exits 0 when
 *                                 the PIN checks its holder in
 */
#define _GNU_SOURCE /* pipe2 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <porter.h>

#define MAX_ITEMS 64

struct watch {
	int64_t id;
	int fd;
	uint32_t events;
	porter_io_fn cb;
	void *userdata;
};

struct timer {
	int64_t id;
	uint64_t due_us;
	porter_timer_fn cb;
	void *userdata;
};

struct invoke {
	porter_invoke_fn cb;
	void *userdata;
};

static struct {
	struct watch watches[MAX_ITEMS];
	struct timer timers[MAX_ITEMS];
	int64_t next_id;
	pthread_mutex_t lock; /* the invoke queue, filled from porter's threads */
	struct invoke queue[MAX_ITEMS];
	size_t queued;
	int wake[2];
	bool decided;
	struct porter_result result;
	char code[64];
} host = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = {-1, -1}};

static uint64_t now_us(void *h)
{
	struct timespec ts;

	(void)h;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void log_line(void *h, uint32_t level, const char *message)
{
	(void)h;
	if (level <= PORTER_LOG_WARNING)
		fprintf(stderr, "porter(%u): %s\n", level, message);
}

static int64_t watch_add(void *h, int fd, uint32_t events, porter_io_fn cb, void *userdata)
{
	(void)h;
	for (size_t i = 0; i < MAX_ITEMS; i++) {
		if (!host.watches[i].id) {
			host.watches[i] = (struct watch){++host.next_id, fd, events, cb, userdata};
			return host.next_id;
		}
	}
	return -ENOSPC;
}

static int watch_update(void *h, int64_t id, uint32_t events)
{
	(void)h;
	for (size_t i = 0; i < MAX_ITEMS; i++) {
		if (host.watches[i].id == id) {
			host.watches[i].events = events;
			return 0;
		}
	}
	return -ENOENT;
}

static void watch_remove(void *h, int64_t id)
{
	(void)h;
	for (size_t i = 0; i < MAX_ITEMS; i++)
		if (id > 0 && host.watches[i].id == id)
			host.watches[i].id = 0;
}

static int64_t timer_add(void *h, uint64_t delay_us, porter_timer_fn cb, void *userdata)
{
	for (size_t i = 0; i < MAX_ITEMS; i++) {
		if (!host.timers[i].id) {
			host.timers[i] =
			        (struct timer){++host.next_id, now_us(h) + delay_us, cb, userdata};
			return host.next_id;
		}
	}
	return -ENOSPC;
}

static void timer_remove(void *h, int64_t id)
{
	(void)h;
	for (size_t i = 0; i < MAX_ITEMS; i++)
		if (id > 0 && host.timers[i].id == id)
			host.timers[i].id = 0;
}

static int invoke(void *h, porter_invoke_fn cb, void *userdata)
{
	int r = 0;

	(void)h;
	pthread_mutex_lock(&host.lock);
	if (host.queued < MAX_ITEMS)
		host.queue[host.queued++] = (struct invoke){cb, userdata};
	else
		r = -EAGAIN;
	pthread_mutex_unlock(&host.lock);
	if (r == 0 && write(host.wake[1], "x", 1) < 0 && errno != EAGAIN)
		return -errno;
	return r;
}

static int door_unlock(void *h, const char *reader_id, uint32_t duration_ms)
{
	(void)h;
	printf("door %s unlocked for %u ms\n", reader_id, duration_ms);
	return 0;
}

static int feedback(void *h, const struct porter_feedback *fb)
{
	(void)h;
	printf("feedback: %s\n", fb->text ? fb->text : "");
	return 0;
}

static void complete(void *h, uint64_t request_id, const struct porter_result *result)
{
	(void)h;
	(void)request_id;
	host.decided = true;
	host.result = *result;
	snprintf(host.code, sizeof(host.code), "%s", result->code ? result->code : "?");
}

/* One turn: due timers, then ready fds and queued invokes. */
static int loop_once(int timeout_ms)
{
	struct pollfd fds[MAX_ITEMS + 1];
	size_t map[MAX_ITEMS + 1], n = 0;
	uint64_t now = now_us(NULL);

	for (size_t i = 0; i < MAX_ITEMS; i++) {
		struct timer t = host.timers[i];
		if (t.id && t.due_us <= now) {
			host.timers[i].id = 0;
			t.cb(t.userdata);
		}
	}
	fds[n++] = (struct pollfd){.fd = host.wake[0], .events = POLLIN};
	for (size_t i = 0; i < MAX_ITEMS; i++) {
		if (!host.watches[i].id)
			continue;
		uint32_t ev = host.watches[i].events;
		map[n] = i;
		fds[n++] = (struct pollfd){.fd = host.watches[i].fd,
		                           .events = (short)((ev & PORTER_IO_IN ? POLLIN : 0) |
		                                             (ev & PORTER_IO_OUT ? POLLOUT : 0))};
	}
	if (poll(fds, n, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	for (size_t k = 1; k < n; k++) {
		struct watch w = host.watches[map[k]];
		short re = fds[k].revents;
		if (!re || !w.id)
			continue;
		w.cb(w.userdata, w.fd,
		     (re & POLLIN ? PORTER_IO_IN : 0) | (re & POLLOUT ? PORTER_IO_OUT : 0) |
		             (re & POLLERR ? PORTER_IO_ERR : 0) |
		             (re & POLLHUP ? PORTER_IO_HUP : 0));
	}
	char buf[64];
	while (read(host.wake[0], buf, sizeof(buf)) > 0)
		;
	for (;;) {
		pthread_mutex_lock(&host.lock);
		struct invoke item = {0};
		if (host.queued) {
			item = host.queue[0];
			memmove(host.queue, host.queue + 1, --host.queued * sizeof(host.queue[0]));
		}
		pthread_mutex_unlock(&host.lock);
		if (!item.cb)
			break;
		item.cb(item.userdata);
	}
	return 0;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	static char buf[1 << 16];

	if (!f)
		return NULL;
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mini_host PLUGIN CONFIG PIN\n");
		return 2;
	}
	void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		fprintf(stderr, "mini_host: %s\n", dlerror());
		return 1;
	}
	porter_plugin_entry_fn entry = (porter_plugin_entry_fn)dlsym(so, PORTER_ENTRY_SYMBOL);
	const struct porter_plugin_descriptor *api = entry ? entry() : NULL;
	if (!api || api->abi_version != PORTER_ABI_VERSION) {
		fprintf(stderr, "mini_host: %s: no porter ABI %d entry\n", argv[1],
		        PORTER_ABI_VERSION);
		return 1;
	}
	if (pipe2(host.wake, O_NONBLOCK | O_CLOEXEC) < 0)
		return 1;

	struct porter_host_services services = {
	        .size = sizeof(services),
	        .log = log_line,
	        .now_us = now_us,
	        .watch_add = watch_add,
	        .watch_update = watch_update,
	        .watch_remove = watch_remove,
	        .timer_add = timer_add,
	        .timer_remove = timer_remove,
	        .invoke = invoke,
	        .door_unlock = door_unlock,
	        .feedback = feedback,
	        .complete = complete,
	};
	size_t len = 0;
	const char *config = read_all(argv[2], &len);
	porter_plugin *porter = NULL;
	int r = config ? api->init(&services, config, len, NULL, NULL, &porter) : -errno;
	if (r < 0) {
		fprintf(stderr, "mini_host: init: %s\n", strerror(-r));
		return 1;
	}
	printf("porter %s loaded from %s\n", api->version, argv[1]);

	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = 1,
	        .reader_id = "front",
	        .pin = argv[3],
	        .pin_len = strlen(argv[3]),
	};
	r = api->on_pin(porter, &ev);
	for (int turns = 0; r == PORTER_VERDICT_PENDING && !host.decided && turns < 500; turns++)
		loop_once(10);
	api->shutdown(porter);
	dlclose(so);

	if (r == PORTER_VERDICT_PENDING && host.decided)
		r = (int)host.result.verdict;
	printf("%s %s\n", r == PORTER_VERDICT_GRANT ? "GRANT" : "DENY", host.code);
	return r == PORTER_VERDICT_GRANT && strcmp(host.code, "checked_in") == 0 ? 0 : 1;
}
