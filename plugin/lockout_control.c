/* SPDX-License-Identifier: MIT */
/* lockout_control.c: lockouts.json and unlock requests. See lockout_control.h. */
#include "lockout_control.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "engine.h"
#include "invoke_retry.h"
#include "lockout_file.h"
#include "log.h"

#define EVENT_TEXT_MAX 400
#define POLL_ERROR_MS  100 /* a poll() error (none expected) pauses this long */

/* The "lockout ended" notice for one reader. */
struct ended_timer {
	struct lockout_control *ctl;
	struct reader_state *reader;
	int64_t id; /* 0: none */
	unsigned length_s;
};

/* Handed from the control thread to the loop thread. */
struct event {
	struct event *next;
	bool is_log; /* else an unlock request */
	bool all;
	char reader[CONFIG_ID_MAX + 1];
	char text[EVENT_TEXT_MAX];
};

struct lockout_control {
	const struct porter_host_services *services;
	struct readers *readers;
	const struct config *config;
	int64_t (*wall_clock_us)(void);
	struct engine *engine; /* lockouts ending are recorded in door_events */
	char dir[CONFIG_PATH_MAX];

	struct ended_timer timers[READERS_MAX]; /* loop thread only */
	size_t n_timers;

	pthread_t thread;
	bool thread_started, joined;
	int wake_fd, inotify_fd;

	pthread_mutex_t lock;
	bool stopping;
	/* Loop -> thread: the latest state to write (older ones are superseded). */
	struct lockout_record *pending;
	size_t n_pending;
	int64_t pending_at_us;
	bool has_pending;
	/* Thread -> loop: requests and log lines, delivered through invoke. */
	struct event *events, *events_tail;
	bool delivery_scheduled;
	struct invoke_retry retry; /* the control thread's alone */

	struct lockout_record *writing; /* the thread's side of `pending` */
};

/* ---- clocks: the host's monotonic time <-> unix time in the file ------- */

static int64_t to_unix(uint64_t mono, uint64_t now_mono, int64_t now_unix)
{
	int64_t t = now_unix + ((int64_t)mono - (int64_t)now_mono);
	return t > 0 ? t : 0;
}

/* A time before the host's clock began becomes its start: the quiet window
 * then looks shorter than it was, which only ever keeps a lockout longer. */
static uint64_t to_mono(int64_t unix_us, uint64_t now_mono, int64_t now_unix)
{
	int64_t d = unix_us - now_unix;
	if (d < 0 && (uint64_t)-d > now_mono)
		return 0;
	return (uint64_t)((int64_t)now_mono + d);
}

/* ---- loop thread --------------------------------------------------------- */

static void wake(struct lockout_control *ctl)
{
	uint64_t one = 1;
	if (write(ctl->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the thread is woken anyway */
	}
}

struct snapshot_ctx {
	struct lockout_control *ctl;
	uint64_t now_mono;
	int64_t now_unix;
};

static void add_record(struct reader_state *reader, void *userdata)
{
	struct snapshot_ctx *s = userdata;
	const struct lockout *l = &reader->lockout;
	if (!l->failures && !l->level && !lockout_remaining(l, s->now_mono))
		return; /* nothing to keep */
	struct lockout_record *rec = &s->ctl->pending[s->ctl->n_pending++];
	snprintf(rec->reader_id, sizeof(rec->reader_id), "%s", reader->id);
	rec->level = l->level;
	rec->failures = l->failures;
	rec->first_failure_us = to_unix(l->first_failure_us, s->now_mono, s->now_unix);
	rec->last_failure_us = to_unix(l->last_failure_us, s->now_mono, s->now_unix);
	rec->locked_until_us =
	        l->locked_until_us ? to_unix(l->locked_until_us, s->now_mono, s->now_unix) : 0;
}

/* Copy every reader's lockout for the thread to write. Microseconds under
 * the lock: the thread holds it only to swap buffers. */
static void snapshot(struct lockout_control *ctl)
{
	struct snapshot_ctx s = {ctl, ctl->services->now_us(ctl->services->host),
	                         ctl->wall_clock_us()};
	pthread_mutex_lock(&ctl->lock);
	ctl->n_pending = 0;
	readers_foreach(ctl->readers, add_record, &s);
	ctl->pending_at_us = s.now_unix;
	ctl->has_pending = true;
	pthread_mutex_unlock(&ctl->lock);
	if (!ctl->joined) {
		wake(ctl);
		return;
	}
	/* Shutdown, after the thread is gone: written here, as the recorder
	 * commits its last batch before shutdown returns. */
	char err[512];
	ctl->has_pending = false;
	if (lockout_file_write(ctl->dir, ctl->pending, ctl->n_pending, s.now_unix, err,
	                       sizeof(err)) < 0)
		plog(ctl->services, PORTER_LOG_WARNING, "lockouts: %s", err);
}

static struct ended_timer *timer_slot(struct lockout_control *ctl, struct reader_state *reader,
                                      bool create)
{
	for (size_t i = 0; i < ctl->n_timers; i++)
		if (ctl->timers[i].reader == reader)
			return &ctl->timers[i];
	if (!create || ctl->n_timers == READERS_MAX)
		return NULL;
	struct ended_timer *t = &ctl->timers[ctl->n_timers++];
	t->ctl = ctl;
	t->reader = reader;
	return t;
}

static void disarm(struct lockout_control *ctl, struct ended_timer *t)
{
	if (t && t->id > 0)
		ctl->services->timer_remove(ctl->services->host, t->id);
	if (t)
		t->id = 0;
}

static void lockout_ended(void *userdata)
{
	struct ended_timer *t = userdata;
	t->id = 0;
	plog(t->ctl->services, PORTER_LOG_NOTICE,
	     "reader %s: lockout ended after %u s (lockout %u)", t->reader->id, t->length_s,
	     t->reader->lockout.level);
	engine_record_door_event(t->ctl->engine, t->reader->id, "lockout_ended", NULL,
	                         "ended after %u s (lockout %u)", t->length_s,
	                         t->reader->lockout.level);
}

static unsigned seconds(uint64_t us)
{
	return (unsigned)((us + 999999) / 1000000);
}

/* Tell the log when `reader`'s current lockout is over. */
static void arm(struct lockout_control *ctl, struct reader_state *reader, uint64_t length_us)
{
	uint64_t now = ctl->services->now_us(ctl->services->host);
	uint64_t left = lockout_remaining(&reader->lockout, now);
	struct ended_timer *t = timer_slot(ctl, reader, true);
	if (!t || !left)
		return;
	disarm(ctl, t);
	t->length_s = seconds(length_us);
	int64_t id = ctl->services->timer_add(ctl->services->host, left, lockout_ended, t);
	t->id = id > 0 ? id : 0;
}

void lockout_control_locked(void *userdata, struct reader_state *reader)
{
	struct lockout_control *ctl = userdata;
	uint64_t now = ctl->services->now_us(ctl->services->host);
	arm(ctl, reader, lockout_remaining(&reader->lockout, now));
	snapshot(ctl);
}

/* Lift `reader`'s lockout and forget its history: an admin decided. */
static bool lift(struct lockout_control *ctl, struct reader_state *reader)
{
	uint64_t now = ctl->services->now_us(ctl->services->host);
	uint64_t left = lockout_remaining(&reader->lockout, now);
	if (!left && !reader->lockout.level && !reader->lockout.failures)
		return false;
	plog(ctl->services, PORTER_LOG_NOTICE,
	     "reader %s: lockout lifted by an admin (lockout %u, %u s were left)", reader->id,
	     reader->lockout.level, seconds(left));
	engine_record_door_event(ctl->engine, reader->id, "lockout_lifted", NULL,
	                         "lifted by an admin (lockout %u, %u s were left)",
	                         reader->lockout.level, seconds(left));
	memset(&reader->lockout, 0, sizeof(reader->lockout));
	disarm(ctl, timer_slot(ctl, reader, false));
	return true;
}

struct lift_ctx {
	struct lockout_control *ctl;
	const char *reader_id; /* NULL: all */
	size_t lifted;
};

static void lift_matching(struct reader_state *reader, void *userdata)
{
	struct lift_ctx *c = userdata;
	if (!c->reader_id || strcmp(c->reader_id, reader->id) == 0)
		c->lifted += lift(c->ctl, reader);
}

static bool apply(struct lockout_control *ctl, const struct event *ev)
{
	if (ev->is_log) {
		plog(ctl->services, PORTER_LOG_WARNING, "%s", ev->text);
		return false;
	}
	struct lift_ctx c = {ctl, ev->all ? NULL : ev->reader, 0};
	readers_foreach(ctl->readers, lift_matching, &c);
	if (!c.lifted && ev->all)
		plog(ctl->services, PORTER_LOG_NOTICE,
		     "lockouts: an admin asked to unlock every reader; none was locked");
	else if (!c.lifted)
		plog(ctl->services, PORTER_LOG_NOTICE,
		     "reader %s: an admin asked to unlock it; it was not locked", ev->reader);
	return c.lifted > 0;
}

static struct event *take_events(struct lockout_control *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	struct event *ev = ctl->events;
	ctl->events = ctl->events_tail = NULL;
	ctl->delivery_scheduled = false;
	pthread_mutex_unlock(&ctl->lock);
	return ev;
}

static void apply_all(struct lockout_control *ctl, struct event *ev)
{
	bool changed = false;
	while (ev) {
		struct event *next = ev->next;
		changed |= apply(ctl, ev);
		free(ev);
		ev = next;
	}
	if (changed)
		snapshot(ctl);
}

static void deliver(void *userdata)
{
	struct lockout_control *ctl = userdata;
	apply_all(ctl, take_events(ctl));
}

/* ---- control thread ------------------------------------------------------ */

static void schedule_delivery(struct lockout_control *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	bool schedule = ctl->events && !ctl->delivery_scheduled && !ctl->stopping;
	ctl->delivery_scheduled |= schedule;
	pthread_mutex_unlock(&ctl->lock);
	int r = schedule ? ctl->services->invoke(ctl->services->host, deliver, ctl) : 0;
	if (r < 0) {
		/* The host's queue is full: poll() times out and tries again. */
		pthread_mutex_lock(&ctl->lock);
		ctl->delivery_scheduled = false;
		pthread_mutex_unlock(&ctl->lock);
	}
	invoke_retry_note(&ctl->retry, r);
}

static void push(struct lockout_control *ctl, struct event *ev)
{
	pthread_mutex_lock(&ctl->lock);
	if (ctl->events_tail)
		ctl->events_tail->next = ev;
	else
		ctl->events = ev;
	ctl->events_tail = ev;
	pthread_mutex_unlock(&ctl->lock);
	schedule_delivery(ctl);
}

/* Log lines from this thread go through the loop thread: porter calls the
 * host's log on the loop thread only. */
static void thread_log(struct lockout_control *ctl, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void thread_log(struct lockout_control *ctl, const char *fmt, ...)
{
	struct event *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
	ev->is_log = true;
	push(ctl, ev);
}

static void take_request(struct lockout_control *ctl, const char *name)
{
	char path[CONFIG_PATH_MAX + 160], err[EVENT_TEXT_MAX - 64];
	snprintf(path, sizeof(path), "%s/%s", ctl->dir, name);
	struct event *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return;
	int r = unlock_request_read(path, ev->reader, &ev->all, err, sizeof(err));
	if (r == -ENOENT) { /* already taken */
		free(ev);
		return;
	}
	/* Taken either way: a bad request must not be read again and again. */
	unlink(path);
	if (r < 0) {
		free(ev);
		thread_log(ctl, "lockouts: unlock request refused: %s", err);
		return;
	}
	push(ctl, ev);
}

/* Requests written while porter was not running, or lost in an overflow. */
static void scan(struct lockout_control *ctl)
{
	DIR *d = opendir(ctl->dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		if (unlock_request_name(e->d_name))
			take_request(ctl, e->d_name);
	closedir(d);
}

static void read_notifications(struct lockout_control *ctl)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(ctl->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return; /* EAGAIN: all read */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				scan(ctl);
			else if (ev->len && unlock_request_name(ev->name))
				take_request(ctl, ev->name);
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void write_pending(struct lockout_control *ctl, bool *ret_stopping)
{
	pthread_mutex_lock(&ctl->lock);
	bool write = ctl->has_pending;
	size_t n = ctl->n_pending;
	int64_t at = ctl->pending_at_us;
	if (write) {
		struct lockout_record *swap = ctl->writing;
		ctl->writing = ctl->pending;
		ctl->pending = swap;
		ctl->has_pending = false;
	}
	*ret_stopping = ctl->stopping;
	pthread_mutex_unlock(&ctl->lock);

	char err[EVENT_TEXT_MAX - 96];
	if (write && lockout_file_write(ctl->dir, ctl->writing, n, at, err, sizeof(err)) < 0)
		thread_log(ctl, "lockouts: %s; a restart would forget the current lockouts", err);
}

static void *control_thread(void *userdata)
{
	struct lockout_control *ctl = userdata;
	if (ctl->inotify_fd >= 0)
		scan(ctl);
	for (;;) {
		struct pollfd fds[2] = {{.fd = ctl->wake_fd, .events = POLLIN},
		                        {.fd = ctl->inotify_fd, .events = POLLIN}};
		int timeout_ms = invoke_retry_poll_ms(&ctl->retry); /* -1: none refused */
		if (poll(fds, ctl->inotify_fd >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR)
			usleep(POLL_ERROR_MS * 1000); /* cannot happen with valid fds; never spin */
		uint64_t count;
		if ((fds[0].revents & POLLIN) && read(ctl->wake_fd, &count, sizeof(count)) < 0) {
			/* EAGAIN: another read took it */
		}
		bool stopping;
		write_pending(ctl, &stopping);
		if (stopping)
			break; /* the last state is written */
		if (fds[1].revents & POLLIN)
			read_notifications(ctl);
		if (invoke_retry_due(&ctl->retry))
			schedule_delivery(ctl);
	}
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void restore(struct lockout_control *ctl, struct engine *engine)
{
	char err[1024];
	struct lockout_record *recs = NULL;
	size_t n = 0;
	int r = lockout_file_read(ctl->dir, &recs, &n, err, sizeof(err));
	if (r == -ENOENT)
		return; /* a first start */
	if (r < 0) {
		plog(ctl->services, PORTER_LOG_ERROR,
		     "lockouts: %s; lockouts from before this start are not restored. Fix: delete "
		     "the file, porter writes a new one",
		     err);
		return;
	}
	uint64_t now_mono = ctl->services->now_us(ctl->services->host);
	int64_t now_unix = ctl->wall_clock_us();
	for (size_t i = 0; i < n; i++) {
		struct reader_state *reader =
		        readers_get(ctl->readers, recs[i].reader_id, ctl->config, engine);
		if (!reader)
			continue;
		struct lockout *l = &reader->lockout;
		l->level = recs[i].level;
		l->failures = recs[i].failures;
		l->first_failure_us = to_mono(recs[i].first_failure_us, now_mono, now_unix);
		l->last_failure_us = to_mono(recs[i].last_failure_us, now_mono, now_unix);
		l->locked_until_us = recs[i].locked_until_us
		                             ? to_mono(recs[i].locked_until_us, now_mono, now_unix)
		                             : 0;
		uint64_t left = lockout_remaining(l, now_mono);
		if (!left)
			continue;
		plog(ctl->services, PORTER_LOG_WARNING,
		     "reader %s: still locked out for %u s after a restart (lockout %u)",
		     reader->id, seconds(left), l->level);
		/* A lockout starts at the wrong PIN that caused it. */
		int64_t length = recs[i].locked_until_us - recs[i].last_failure_us;
		arm(ctl, reader, length > 0 && (uint64_t)length > left ? (uint64_t)length : left);
	}
	free(recs);
}

int lockout_control_start(const struct porter_host_services *services, struct readers *readers,
                          const struct config *config, struct engine *engine,
                          int64_t (*wall_clock_us)(void), struct lockout_control **ret)
{
	struct lockout_control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->services = services;
	ctl->readers = readers;
	ctl->config = config;
	ctl->wall_clock_us = wall_clock_us;
	ctl->engine = engine;
	ctl->inotify_fd = -1;
	pthread_mutex_init(&ctl->lock, NULL);
	ctl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ctl->pending = calloc(LOCKOUT_FILE_MAX_READERS, sizeof(*ctl->pending));
	ctl->writing = calloc(LOCKOUT_FILE_MAX_READERS, sizeof(*ctl->writing));
	int r = ctl->wake_fd < 0 ? -errno : 0;
	if (r == 0 && (!ctl->pending || !ctl->writing))
		r = -ENOMEM;
	if (r == 0)
		r = lockout_state_dir(config->database_path, ctl->dir, sizeof(ctl->dir));
	if (r < 0) {
		lockout_control_stop(ctl);
		return r;
	}
	restore(ctl, engine);
	ctl->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ctl->inotify_fd < 0 ||
	    inotify_add_watch(ctl->inotify_fd, ctl->dir,
	                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
		plog(services, PORTER_LOG_WARNING,
		     "lockouts: cannot watch %s for unlock requests (%s); porter-admin unlock "
		     "will not work until a restart",
		     ctl->dir, strerror(errno));
		if (ctl->inotify_fd >= 0)
			close(ctl->inotify_fd);
		ctl->inotify_fd = -1;
	}
	r = -pthread_create(&ctl->thread, NULL, control_thread, ctl);
	if (r < 0) {
		lockout_control_stop(ctl);
		return r;
	}
	ctl->thread_started = true;
	*ret = ctl;
	return 0;
}

struct lockout_control *lockout_control_stop(struct lockout_control *ctl)
{
	if (!ctl)
		return NULL;
	if (ctl->thread_started) {
		pthread_mutex_lock(&ctl->lock);
		ctl->stopping = true;
		pthread_mutex_unlock(&ctl->lock);
		wake(ctl);
		pthread_join(ctl->thread, NULL);
	}
	ctl->joined = true;
	/* Requests the thread took but the loop has not seen: apply them now
	 * (their invoke, if queued, is dropped by the host). */
	apply_all(ctl, take_events(ctl));
	for (size_t i = 0; i < ctl->n_timers; i++)
		disarm(ctl, &ctl->timers[i]);
	if (ctl->inotify_fd >= 0)
		close(ctl->inotify_fd); /* removes the watch */
	if (ctl->wake_fd >= 0)
		close(ctl->wake_fd);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl->pending);
	free(ctl->writing);
	free(ctl);
	return NULL;
}
