/* SPDX-License-Identifier: MIT */
/* directory_watch.c: directory file edits while porter runs. See directory_watch.h. */
#include "directory_watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "diagnostics.h"
#include "directory_file.h"
#include "invoke_retry.h"
#include "log.h"

#define PROBLEM_MAX 512

/* The folder, not the file: a rename over the file, a delete and re-create,
 * and the folder itself going away are all events on the folder. */
#define FOLDER_EVENTS                                                                       \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* What the worker found, handed to the loop thread. */
struct load_result {
	struct directory *directory;   /* a good load, not yet in force */
	bool loaded;                   /* a load was tried (else only the watch was set) */
	bool unwatched;                /* the folder could not be watched: look again later */
	char watch_error[PROBLEM_MAX]; /* why, when unwatched */
	bool missing;                  /* the file (or its folder) is not there */
	uint64_t epoch;                /* the watch's epoch when the load was asked for */
	char error[PROBLEM_MAX];
};

struct directory_watch {
	const struct porter_host_services *services;
	directory_watch_swap_fn swap;
	void *userdata;

	/* Loop thread only. */
	char path[CONFIG_PATH_MAX];
	const char *name; /* the file's name in its folder: points into path */
	int fd;           /* inotify */
	int64_t io_id, debounce_id, retry_id;
	uint64_t burst_start_us;
	uint64_t epoch;    /* bumped by every reload that put a directory in force */
	int64_t loaded_at; /* unix seconds: when the directory in force was read */
	bool bad;          /* the file on disk is invalid or missing */
	bool unwatched;    /* the folder could not be watched again: retry_id tries */
	char problem[PROBLEM_MAX];

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* Under lock. */
	bool stopping;
	bool want_load, want_watch;
	uint64_t want_epoch;
	char want_path[CONFIG_PATH_MAX];
	int wd;                     /* the folder's inotify watch, or -1 */
	struct load_result *result; /* the latest, not yet delivered */
	bool delivery_scheduled;

	/* Worker (and start, before it runs) only: the folder watched. */
	char watched[CONFIG_PATH_MAX];
	dev_t watched_dev;
	ino_t watched_ino;
};

static void folder_of(const char *path, char ret[CONFIG_PATH_MAX])
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(ret, CONFIG_PATH_MAX, ".");
	else if (slash == path)
		snprintf(ret, CONFIG_PATH_MAX, "/");
	else
		snprintf(ret, CONFIG_PATH_MAX, "%.*s", (int)(slash - path), path);
}

static void set_path(struct directory_watch *w, const char *path)
{
	snprintf(w->path, sizeof(w->path), "%s", path);
	const char *slash = strrchr(w->path, '/');
	w->name = slash ? slash + 1 : w->path;
}

/* ---- worker (and start) ---------------------------------------------------- */

/* Watch the folder of `path` unless that very folder is watched already: a
 * folder replaced (moved away, a new one put in its place) has a new inode
 * and needs a new watch. False, with the reason in err, when it cannot.
 * *ret_regained: the folder is watched again after a time unwatched or
 * replaced, so changes may have been missed. */
static bool ensure_watch(struct directory_watch *w, const char *path, bool *ret_regained, char *err,
                         size_t errlen)
{
	char folder[CONFIG_PATH_MAX];
	struct stat st;
	folder_of(path, folder);
	bool exists = stat(folder, &st) == 0 && S_ISDIR(st.st_mode);
	int missing_errno = exists ? 0 : errno == ENOENT || errno == EACCES ? errno : ENOTDIR;
	pthread_mutex_lock(&w->lock);
	int old = w->wd;
	pthread_mutex_unlock(&w->lock);
	bool same_folder = strcmp(folder, w->watched) == 0;
	*ret_regained = false;
	if (exists && old >= 0 && same_folder && st.st_dev == w->watched_dev &&
	    st.st_ino == w->watched_ino)
		return true;
	int wd = exists ? inotify_add_watch(w->fd, folder, FOLDER_EVENTS) : -1;
	if (wd < 0)
		snprintf(err, errlen, "cannot watch folder %.400s: %s", folder,
		         strerror(exists ? errno : missing_errno));
	if (old >= 0 && old != wd)
		inotify_rm_watch(w->fd, old); /* the old folder, moved away: not ours any more */
	pthread_mutex_lock(&w->lock);
	w->wd = wd;
	pthread_mutex_unlock(&w->lock);
	snprintf(w->watched, sizeof(w->watched), "%s", wd >= 0 ? folder : "");
	w->watched_dev = wd >= 0 ? st.st_dev : 0;
	w->watched_ino = wd >= 0 ? st.st_ino : 0;
	*ret_regained = wd >= 0 && (old < 0 || same_folder);
	return wd >= 0;
}

/* "directory PATH: what" -> "what": the log line names the path itself. */
static const char *without_path(const char *err, const char *path)
{
	size_t n = strlen("directory "), len = strlen(path);
	if (strncmp(err, "directory ", n) == 0 && strncmp(err + n, path, len) == 0 &&
	    strncmp(err + n + len, ": ", 2) == 0)
		return err + n + len + 2;
	return err;
}

static void run_request(struct directory_watch *w, const char *path, bool load,
                        struct load_result *res)
{
	char err[CONFIG_PATH_MAX + PROBLEM_MAX]; /* the path, then what is wrong */
	bool regained;
	/* The watch first: a change made while the file is read is then seen. */
	res->unwatched =
	        !ensure_watch(w, path, &regained, res->watch_error, sizeof(res->watch_error));
	if (!load && !regained)
		return;
	res->loaded = true;
	int r = directory_file_load(path, &res->directory, err, sizeof(err));
	if (r == -ENOENT || r == -ENOTDIR) {
		res->missing = true;
		snprintf(res->error, sizeof(res->error),
		         "the file is missing (deleted, or renamed away)");
	} else if (r < 0) {
		snprintf(res->error, sizeof(res->error), "%.500s", without_path(err, path));
	}
}

/* Keep only the newest result: an older one not yet delivered is outdated. */
static void store_result(struct directory_watch *w, struct load_result *res)
{
	if (!res->loaded && !res->unwatched) {
		free(res);
		return;
	}
	if (w->result) {
		directory_free(w->result->directory);
		free(w->result);
	}
	w->result = res;
}

static void deliver(void *userdata);

static void *worker(void *userdata)
{
	struct directory_watch *w = userdata;
	char path[CONFIG_PATH_MAX];
	struct invoke_retry retry = {0}; /* a refused invoke, asked again */
	pthread_mutex_lock(&w->lock);
	for (;;) {
		bool due = false;
		while (!w->stopping && !w->want_load && !w->want_watch && !due)
			due = invoke_retry_wait(&retry, &w->wake, &w->lock);
		if (w->stopping)
			break;
		if (w->want_load || w->want_watch) {
			bool load = w->want_load;
			uint64_t epoch = w->want_epoch;
			memcpy(path, w->want_path, sizeof(path));
			w->want_load = w->want_watch = false;
			pthread_mutex_unlock(&w->lock);
			struct load_result *res = calloc(1, sizeof(*res));
			if (res) {
				res->epoch = epoch;
				run_request(w, path, load, res);
			}
			pthread_mutex_lock(&w->lock);
			if (res)
				store_result(w, res);
		}
		bool ask = w->result && !w->delivery_scheduled && !w->stopping;
		w->delivery_scheduled = w->delivery_scheduled || ask;
		pthread_mutex_unlock(&w->lock);
		/* Never under our lock: deliver takes it. */
		int r = ask ? w->services->invoke(w->services->host, deliver, w) : 0;
		if (r < 0) {
			pthread_mutex_lock(&w->lock);
			w->delivery_scheduled = false;
			pthread_mutex_unlock(&w->lock);
		}
		invoke_retry_note(&retry, r);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- loop thread --------------------------------------------------------- */

static void request(struct directory_watch *w, bool load)
{
	pthread_mutex_lock(&w->lock);
	w->want_load = w->want_load || load;
	w->want_watch = true;
	w->want_epoch = w->epoch;
	memcpy(w->want_path, w->path, sizeof(w->want_path));
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

static void retry_fired(void *userdata)
{
	struct directory_watch *w = userdata;
	w->retry_id = 0;
	request(w, false); /* loads when the folder is back */
}

static void debounce_fired(void *userdata)
{
	struct directory_watch *w = userdata;
	w->debounce_id = 0;
	request(w, true);
}

static void remove_timer(struct directory_watch *w, int64_t *id)
{
	if (*id > 0)
		w->services->timer_remove(w->services->host, *id);
	*id = 0;
}

/* The file may have changed: load it once the changes stop for a moment
 * (an editor's save is several events), or at most DEBOUNCE_MAX after the
 * first of a stream that does not stop. */
static void changed(struct directory_watch *w)
{
	uint64_t now = w->services->now_us(w->services->host);
	if (w->debounce_id > 0 && now - w->burst_start_us >= DIRECTORY_WATCH_DEBOUNCE_MAX_US)
		return; /* due now: let it fire */
	if (w->debounce_id > 0)
		remove_timer(w, &w->debounce_id);
	else
		w->burst_start_us = now;
	uint64_t left = w->burst_start_us + DIRECTORY_WATCH_DEBOUNCE_MAX_US - now;
	uint64_t delay = left < DIRECTORY_WATCH_DEBOUNCE_US ? left : DIRECTORY_WATCH_DEBOUNCE_US;
	int64_t id = w->services->timer_add(w->services->host, delay, debounce_fired, w);
	if (id > 0)
		w->debounce_id = id;
	else
		request(w, true); /* no timer: load at once rather than never */
}

static void on_events(void *userdata, int fd, uint32_t revents)
{
	struct directory_watch *w = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	pthread_mutex_lock(&w->lock);
	int wd = w->wd;
	pthread_mutex_unlock(&w->lock);
	/* Bounded: a busy folder cannot hold the loop; the fd stays readable. */
	for (int reads = 0; reads < 16; reads++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break; /* EAGAIN: all read */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				relevant = true; /* events were lost: ours may be among them */
			else if (ev->wd == wd && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
			                                      IN_UNMOUNT | IN_IGNORED)))
				relevant = true; /* the folder itself went */
			else if (ev->wd == wd && ev->len && strcmp(ev->name, w->name) == 0)
				relevant = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (relevant)
		changed(w);
}

static void apply(struct directory_watch *w, struct load_result *res)
{
	if (res->directory) {
		size_t n = directory_size(res->directory);
		w->swap(w->userdata, res->directory);
		res->directory = NULL;
		w->loaded_at = (int64_t)time(NULL);
		w->bad = false;
		plog(w->services, PORTER_LOG_INFO, "directory reloaded: %zu people (%s changed)", n,
		     w->path);
		return;
	}
	/* Logged once per problem: a folder looked for every second stays quiet. */
	bool again = w->bad && strcmp(w->problem, res->error) == 0;
	w->bad = true;
	snprintf(w->problem, sizeof(w->problem), "%s", res->error);
	if (again)
		return;
	if (res->missing)
		plog(w->services, PORTER_LOG_WARNING,
		     "directory %s is missing (deleted, or renamed away); the old one stays in "
		     "force "
		     "until it is back",
		     w->path);
	else
		plog(w->services, PORTER_LOG_ERROR,
		     "directory %s not reloaded, the old one stays: %s", w->path, res->error);
}

static void deliver(void *userdata)
{
	struct directory_watch *w = userdata;
	pthread_mutex_lock(&w->lock);
	struct load_result *res = w->result;
	w->result = NULL;
	w->delivery_scheduled = false;
	pthread_mutex_unlock(&w->lock);
	if (!res)
		return;
	if (res->unwatched && !res->missing && !w->unwatched)
		plog(w->services, PORTER_LOG_WARNING,
		     "directory: %s; edits to %s take effect at the next config reload until "
		     "porter "
		     "can watch it again (it tries every second)",
		     res->watch_error, w->path);
	w->unwatched = res->unwatched;
	if (res->unwatched && w->retry_id <= 0) {
		int64_t id = w->services->timer_add(w->services->host, DIRECTORY_WATCH_RETRY_US,
		                                    retry_fired, w);
		w->retry_id = id > 0 ? id : 0;
	}
	if (res->epoch != w->epoch)
		plog(w->services, PORTER_LOG_DEBUG,
		     "directory: a load begun before the last config reload was dropped");
	else if (res->loaded)
		apply(w, res);
	directory_free(res->directory);
	free(res);
}

void directory_watch_reloaded(struct directory_watch *w, const char *path)
{
	if (!w)
		return;
	w->epoch++;
	w->loaded_at = (int64_t)time(NULL);
	w->bad = false;
	/* Edits before the reload are in what it read. */
	remove_timer(w, &w->debounce_id);
	if (strcmp(path, w->path) != 0) {
		set_path(w, path);
		request(w, false); /* watch the new file's folder */
	}
}

int directory_watch_diagnostics(struct directory_watch *w, porter_report_fn report, void *userdata)
{
	if (!w || !w->bad)
		return 0;
	if (!report)
		return 1;
	char message[CONFIG_PATH_MAX + PROBLEM_MAX + 160], at[32];
	timestamp_format(w->loaded_at, at);
	snprintf(message, sizeof(message),
	         "directory file %s on disk is invalid: %s; the one loaded at %s is in use",
	         w->path, w->problem, at);
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = PORTER_SEVERITY_ERROR,
	        .code = DIAG_DIRECTORY_INVALID,
	        .path = "$.local.directory",
	        .message = message,
	        .fix = "correct or restore the file (`porter-admin check --directory FILE` names "
	               "the problem); porter loads it as soon as it is saved, and a restart "
	               "before then would refuse to start",
	};
	report(userdata, &r);
	return 1;
}

/* ---- lifecycle ----------------------------------------------------------- */

int directory_watch_start(const struct porter_host_services *services, const char *path,
                          directory_watch_swap_fn swap, void *userdata,
                          struct directory_watch **ret)
{
	char err[PROBLEM_MAX] = "";
	*ret = NULL;
	if (!services->watch_add || !services->watch_remove) {
		plog(services, PORTER_LOG_NOTICE,
		     "directory: the host offers no fd watches, so edits to %s take effect at the "
		     "next config reload",
		     path);
		return -ENOTSUP;
	}
	struct directory_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->services = services;
	w->swap = swap;
	w->userdata = userdata;
	w->wd = -1;
	w->loaded_at = (int64_t)time(NULL);
	set_path(w, path);
	pthread_mutex_init(&w->lock, NULL);
	invoke_retry_cond_init(&w->wake);

	int r = 0;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		r = -errno;
		snprintf(err, sizeof(err), "inotify: %s", strerror(errno));
	} else if (!ensure_watch(w, path, &(bool){false}, err, sizeof(err))) {
		r = -ENOENT;
	} else {
		w->io_id = services->watch_add(services->host, w->fd, PORTER_IO_IN, on_events, w);
		if (w->io_id < 0) {
			r = (int)w->io_id;
			w->io_id = 0;
			snprintf(err, sizeof(err), "the host's watch_add: %s", strerror(-r));
		}
	}
	if (r == 0) {
		r = -pthread_create(&w->thread, NULL, worker, w);
		if (r < 0)
			snprintf(err, sizeof(err), "no thread: %s", strerror(-r));
		w->thread_started = r == 0;
	}
	if (r < 0) {
		plog(services, PORTER_LOG_NOTICE,
		     "directory: cannot watch %s for edits (%s); they take effect at the next "
		     "config reload",
		     path, err);
		directory_watch_stop(w);
		return r;
	}
	*ret = w;
	return 0;
}

struct directory_watch *directory_watch_stop(struct directory_watch *w)
{
	if (!w)
		return NULL;
	if (w->thread_started) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	if (w->io_id > 0)
		w->services->watch_remove(w->services->host, w->io_id);
	remove_timer(w, &w->debounce_id);
	remove_timer(w, &w->retry_id);
	/* A result not delivered yet is dropped; so is its invoke, by the host. */
	if (w->result) {
		directory_free(w->result->directory);
		free(w->result);
	}
	if (w->fd >= 0)
		close(w->fd); /* removes the inotify watch */
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
	return NULL;
}
