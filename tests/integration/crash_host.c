/* SPDX-License-Identifier: MIT */
/*
 * crash_host.c: the child process of the crash test (test_crash.c).
 *
 *   crash_host PORTER_SO CONFIG_FILE PEOPLE_FILE MODE [SEED [STOP_AFTER]]
 *
 * Loads porter.so on host_loop (through porter.h only) and presents the PIN
 * of every person in PEOPLE_FILE ("id pin" per line), each as its own
 * request. It prints, and flushes, one line for everything a person was told
 * or the host did, so the parent knows exactly that before it SIGKILLs this
 * process:
 *   CONFIRMED <person_id> <in|out>   a change made by this request
 *   ALREADY <person_id> <in|out>     granted, told their state; no change made
 *   DENIED <person_id> <code>        refused (busy, record_failed ...)
 *   CANCELLED <person_id>            the host gave up on the request
 *   NOTE not-reversed                porter said it left a cancelled change
 *   GUESS <n> <code>                 "guess": wrong PIN n at reader "side", refused
 *   DURABLE <n>                      "guess": a change is durable that was queued
 *                                    after n refused guesses (so are their records)
 *   STOPPED                          shutdown() returned
 * MODE:
 *   loop     present each person again as soon as they were answered, until
 *            killed (or after 60 s);
 *   cancel   the same, and cancel about one request in four (SEED): half
 *            right after the hook returned (before the change is durable,
 *            usually), half when porter's next invoke arrives, before its
 *            callback runs (the batch is durable then, not yet answered). A
 *            cancelled person is presented again after three more of
 *            porter's invokes, when its reversal has been written;
 *   stop     like cancel, then, after STOP_AFTER confirmations, shut down at
 *            once while changes are in flight (cancels stop halfway there
 *            and have settled by then) and print STOPPED;
 *   stop-cancel-durable
 *            present everybody once; at porter's first invoke (the first
 *            batch is durable) cancel every request and shut down before
 *            porter's callback runs;
 *   once     present everybody once and exit after the last answer;
 *   guess    like loop, and before each presentation a wrong PIN (9753 and
 *            four digits) at reader "side";
 *   paced    like loop, each person presented again 200 ms after their
 *            answer (about the pace a network backend takes changes, so
 *            deliveries are under way when the host is killed).
 * Anything unexpected is printed as a line the parent fails on. PINs are
 * never printed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "host_loop.h"
#include "porter.h"

#define MAX_PEOPLE         64
#define CONFIG_MAX         (256 * 1024)
#define SAFETY_STOP_US     (60u * 1000000u)
#define SETTLE_INVOKES     3               /* porter invokes until a reversal is written */
#define SETTLE_FALLBACK_US (2u * 1000000u) /* or this long, if porter is idle */
#define PACE_US            200000u         /* "paced": pause before presenting again */

enum mode {
	MODE_LOOP,
	MODE_CANCEL,
	MODE_STOP,
	MODE_STOP_CANCEL_DURABLE,
	MODE_ONCE,
	MODE_GUESS,
	MODE_PACED
};

struct person {
	struct crash_host *host;
	char id[72];
	char pin[24];
	uint64_t request_id;     /* 0: nothing pending */
	bool done;               /* "once": answered */
	bool cancel_at_invoke;   /* cancel when porter's next invoke arrives */
	bool settling;           /* cancelled; waiting to present again */
	uint64_t settle_invokes; /* ... until porter's invokes reach this */
	int64_t settle_timer;
	uint64_t guesses_before; /* "guess": refused guesses when this request was made */
};

struct crash_host {
	struct host_loop *loop;
	struct porter_host_services services; /* host_loop's, invoke wrapped */
	const struct porter_plugin_descriptor *api;
	porter_plugin *porter;
	struct person people[MAX_PEOPLE];
	size_t n_people;
	size_t n_done;
	enum mode mode;
	bool cancels;  /* this mode cancels requests */
	bool stopping; /* no more presenting */
	unsigned stop_after, confirmed;
	uint64_t last_request_id;
	uint64_t porter_invokes;  /* porter's invoke callbacks run so far */
	uint64_t guesses;         /* "guess": wrong PINs refused so far */
	const char *current_code; /* feedback code during a hook call */
	char code_buf[64];
};

static void line(const char *word, const char *person_id, const char *detail)
{
	printf("%s %s %s\n", word, person_id, detail ? detail : "");
	fflush(stdout);
}

static void present(struct person *p);
static void settle_done(void *userdata);

/* Deferred: presenting again from inside porter's own callback would
 * re-enter porter while it is delivering. */
static void present_again(void *userdata)
{
	struct person *p = userdata;
	if (!p->host->stopping)
		present(p);
}

static void cancel(struct person *p)
{
	struct crash_host *h = p->host;
	h->api->cancel(h->porter, p->request_id);
	p->request_id = 0;
	p->cancel_at_invoke = false;
	line("CANCELLED", p->id, NULL);
	if (h->mode == MODE_STOP_CANCEL_DURABLE)
		return;
	/* A durable change is reversed by porter: present again only once
	 * the reversal is written, so the next presentation is a plain toggle. */
	p->settling = true;
	p->settle_invokes = h->porter_invokes + SETTLE_INVOKES;
	p->settle_timer = host_loop_timer_add(h->loop, SETTLE_FALLBACK_US, settle_done, p);
}

static void settle_done(void *userdata)
{
	struct person *p = userdata;
	p->settling = false;
	host_loop_timer_remove(p->host->loop, p->settle_timer);
	present_again(p);
}

static bool stop_may_begin(const struct crash_host *h)
{
	for (size_t i = 0; i < h->n_people; i++)
		if (h->people[i].settling || h->people[i].cancel_at_invoke)
			return false;
	return true;
}

/* "stop": called right after a change was queued, so at least that one is
 * in flight when the host shuts down. */
static void maybe_stop(struct crash_host *h)
{
	if (h->mode == MODE_STOP && !h->stopping && h->confirmed >= h->stop_after &&
	    stop_may_begin(h)) {
		h->stopping = true;
		host_loop_quit(h->loop);
	}
}

/* What the person was told by a synchronous verdict, from its feedback. */
static void told_now(struct person *p, int r)
{
	const char *code = p->host->current_code ? p->host->current_code : "";
	if (r == PORTER_VERDICT_DENY)
		line("DENIED", p->id, code);
	else if (r == PORTER_VERDICT_GRANT && strcmp(code, "checked_in") == 0)
		line("CONFIRMED", p->id, "in");
	else if (r == PORTER_VERDICT_GRANT && strcmp(code, "checked_out") == 0)
		line("CONFIRMED", p->id, "out");
	else if (r == PORTER_VERDICT_GRANT && strcmp(code, "already_in") == 0)
		line("ALREADY", p->id, "in");
	else if (r == PORTER_VERDICT_GRANT && strcmp(code, "already_out") == 0)
		line("ALREADY", p->id, "out");
	else
		line("UNEXPECTED", p->id, r < 0 ? "error" : "verdict");
}

/* "guess": one wrong PIN at reader "side"; porter records its refusal. */
static void guess(struct crash_host *h)
{
	char pin[16], n[24];
	snprintf(pin, sizeof(pin), "9753%04u", (unsigned)(h->guesses % 10000));
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++h->last_request_id,
	        .reader_id = "side",
	        .pin = pin,
	        .pin_len = strlen(pin),
	};
	h->current_code = NULL;
	int r = h->api->on_pin(h->porter, &ev);
	if (r != PORTER_VERDICT_DENY) {
		line("UNEXPECTED", "guess", "not-denied");
		return;
	}
	snprintf(n, sizeof(n), "%llu", (unsigned long long)++h->guesses);
	line("GUESS", n, h->current_code ? h->current_code : "");
}

static void present(struct person *p)
{
	struct crash_host *h = p->host;
	if (h->mode == MODE_GUESS)
		guess(h);
	struct porter_pin_event ev = {
	        .size = sizeof(ev),
	        .request_id = ++h->last_request_id,
	        .reader_id = "front",
	        .pin = p->pin,
	        .pin_len = strlen(p->pin),
	};

	p->request_id = ev.request_id;
	p->guesses_before = h->guesses;
	h->current_code = NULL;
	int r = h->api->on_pin(h->porter, &ev);
	if (r == PORTER_VERDICT_PENDING) {
		int dice = h->cancels && h->confirmed < h->stop_after / 2 ? rand() % 8 : 7;
		if (dice == 0)
			cancel(p); /* before the change is durable, as a rule */
		else if (dice == 1)
			p->cancel_at_invoke = true;
		else
			maybe_stop(h); /* this change is in flight at shutdown */
		return;
	}
	p->request_id = 0;
	told_now(p, r);
	if (h->mode != MODE_ONCE && h->mode != MODE_STOP_CANCEL_DURABLE)
		host_loop_invoke(h->loop, present_again, p);
}

static struct person *person_for(struct crash_host *h, uint64_t request_id)
{
	for (size_t i = 0; i < h->n_people; i++)
		if (h->people[i].request_id == request_id)
			return &h->people[i];
	return NULL;
}

static void on_complete(void *userdata, uint64_t request_id, const struct porter_result *res)
{
	struct crash_host *h = userdata;
	struct person *p = person_for(h, request_id);

	if (!p) {
		line("UNEXPECTED", "?", "completion-for-unknown-request");
		return;
	}
	p->request_id = 0;
	p->cancel_at_invoke = false;
	const char *code = res->code ? res->code : "";
	bool in = strstr(code, "_in") != NULL;
	if (res->verdict == PORTER_VERDICT_DENY) {
		line("DENIED", p->id, code);
	} else if (res->verdict == PORTER_VERDICT_GRANT && strncmp(code, "checked_", 8) == 0 &&
	           res->direction == (in ? PORTER_DIRECTION_IN : PORTER_DIRECTION_OUT)) {
		line("CONFIRMED", p->id, in ? "in" : "out");
		h->confirmed++;
		if (h->mode == MODE_GUESS) {
			char n[24];
			snprintf(n, sizeof(n), "%llu", (unsigned long long)p->guesses_before);
			line("DURABLE", n, NULL);
		}
	} else if (res->verdict == PORTER_VERDICT_GRANT && strncmp(code, "already_", 8) == 0) {
		line("ALREADY", p->id, in ? "in" : "out");
	} else {
		line("UNEXPECTED", p->id, code[0] ? code : "no-code");
		return;
	}
	if (h->mode == MODE_ONCE || h->mode == MODE_STOP_CANCEL_DURABLE) {
		if (!p->done) {
			p->done = true;
			if (++h->n_done == h->n_people && h->mode == MODE_ONCE)
				host_loop_quit(h->loop);
		}
	} else if (h->mode == MODE_PACED) {
		host_loop_timer_add(h->loop, PACE_US, present_again, p);
	} else {
		host_loop_invoke(h->loop, present_again, p);
	}
}

static int on_feedback(void *userdata, const struct porter_feedback *fb)
{
	struct crash_host *h = userdata;
	snprintf(h->code_buf, sizeof(h->code_buf), "%s", fb->code ? fb->code : "");
	h->current_code = h->code_buf;
	return 0;
}

/* porter's invoke, wrapped: the host sees when a batch is durable (porter
 * invokes right after its commit) and can act before the callback runs. */
struct wrapped_invoke {
	struct crash_host *host;
	porter_invoke_fn cb;
	void *userdata;
	struct wrapped_invoke *prev, *next; /* queued, not yet run */
};

/* The wrappers queued and not yet run: host_loop drops the queue at the
 * end without running them, so the host frees what is left itself.
 * porter invokes from its threads, hence the lock. */
static pthread_mutex_t queued_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wrapped_invoke *queued;

static void queued_add(struct wrapped_invoke *w)
{
	pthread_mutex_lock(&queued_lock);
	w->prev = NULL;
	w->next = queued;
	if (queued)
		queued->prev = w;
	queued = w;
	pthread_mutex_unlock(&queued_lock);
}

static void queued_remove(struct wrapped_invoke *w)
{
	pthread_mutex_lock(&queued_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		queued = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&queued_lock);
}

/* After host_loop_drop_invokes: nothing runs them any more. */
static void queued_free_all(void)
{
	pthread_mutex_lock(&queued_lock);
	while (queued) {
		struct wrapped_invoke *w = queued;
		queued = w->next;
		free(w);
	}
	pthread_mutex_unlock(&queued_lock);
}

static void run_wrapped(void *userdata)
{
	struct wrapped_invoke *w = userdata;
	struct crash_host *h = w->host;
	queued_remove(w);
	bool cancel_all = h->mode == MODE_STOP_CANCEL_DURABLE && !h->stopping;
	for (size_t i = 0; i < h->n_people; i++) {
		struct person *p = &h->people[i];
		if (p->request_id && (p->cancel_at_invoke || cancel_all))
			cancel(p);
	}
	if (cancel_all) {
		/* Shut down with porter's callback still queued: the host drops
		 * it after shutdown(), as porter.h allows. */
		h->stopping = true;
		host_loop_invoke(h->loop, w->cb, w->userdata);
		host_loop_quit(h->loop);
		free(w);
		return;
	}
	w->cb(w->userdata);
	free(w);
	h->porter_invokes++;
	for (size_t i = 0; i < h->n_people; i++) {
		struct person *p = &h->people[i];
		if (p->settling && h->porter_invokes >= p->settle_invokes)
			settle_done(p);
	}
}

static struct crash_host *the_host; /* one per process; invoke takes the loop as host */

static int wrap_invoke(void *host, porter_invoke_fn cb, void *userdata)
{
	struct crash_host *h = the_host;
	(void)host;
	struct wrapped_invoke *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct wrapped_invoke){h, cb, userdata, NULL, NULL};
	queued_add(w); /* before the loop can run it */
	int r = host_loop_invoke(h->loop, run_wrapped, w);
	if (r < 0) {
		queued_remove(w);
		free(w);
	}
	return r;
}

static void on_log(void *userdata, uint32_t level, const char *message)
{
	(void)userdata;
	if (level <= PORTER_LOG_WARNING && strstr(message, "not reversed"))
		line("NOTE", "not-reversed", NULL);
	if (level <= PORTER_LOG_ERROR) /* cancels make warnings by the dozen */
		fprintf(stderr, "crash_host: porter %s: %s\n", host_loop_level_name(level),
		        message);
}

static void safety_stop(void *userdata)
{
	struct crash_host *h = userdata;

	fprintf(stderr, "crash_host: not killed within 60 s, stopping\n");
	host_loop_quit(h->loop);
}

static int read_people(struct crash_host *h, const char *path)
{
	FILE *f = fopen(path, "re");
	char id[72], pin[24];

	if (!f)
		return -errno;
	while (h->n_people < MAX_PEOPLE && fscanf(f, "%71s %23s", id, pin) == 2) {
		struct person *p = &h->people[h->n_people++];
		p->host = h;
		snprintf(p->id, sizeof(p->id), "%s", id);
		snprintf(p->pin, sizeof(p->pin), "%s", pin);
	}
	fclose(f);
	return h->n_people ? 0 : -ENODATA;
}

static char *read_config(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = f ? malloc(CONFIG_MAX + 1) : NULL;

	if (buf) {
		*ret_len = fread(buf, 1, CONFIG_MAX, f);
		buf[*ret_len] = '\0';
	}
	if (f)
		fclose(f);
	return buf;
}

static int start(struct crash_host *h, const char *config_path)
{
	size_t len = 0;
	char *config = read_config(config_path, &len);

	if (!config)
		return -errno;
	const struct porter_host_services *base = host_loop_services(h->loop);
	memcpy(&h->services, base, sizeof(h->services));
	h->services.invoke = wrap_invoke; /* the rest go to host_loop as they are */
	int r = h->api->init(&h->services, config, len, NULL, NULL, &h->porter);
	free(config);
	return r;
}

static enum mode parse_mode(const char *m)
{
	return strcmp(m, "once") == 0                  ? MODE_ONCE
	       : strcmp(m, "cancel") == 0              ? MODE_CANCEL
	       : strcmp(m, "stop") == 0                ? MODE_STOP
	       : strcmp(m, "stop-cancel-durable") == 0 ? MODE_STOP_CANCEL_DURABLE
	       : strcmp(m, "guess") == 0               ? MODE_GUESS
	       : strcmp(m, "paced") == 0               ? MODE_PACED
	                                               : MODE_LOOP;
}

int main(int argc, char **argv)
{
	static struct crash_host h;
	struct host_plugin plugin;
	char err[1024];

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
	if (argc < 5 || argc > 7 || read_people(&h, argv[3]) < 0) {
		fprintf(stderr,
		        "usage: crash_host PORTER_SO CONFIG PEOPLE_FILE "
		        "loop|cancel|stop|stop-cancel-durable|once|guess [SEED [STOP_AFTER]]\n");
		return 2;
	}
	the_host = &h;
	h.mode = parse_mode(argv[4]);
	h.cancels = h.mode == MODE_CANCEL || h.mode == MODE_STOP;
	srand(argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 1);
	h.stop_after = argc > 6 ? (unsigned)strtoul(argv[6], NULL, 10) : UINT32_MAX;
	if (host_plugin_load(argv[1], &plugin, err, sizeof(err)) < 0) {
		fprintf(stderr, "crash_host: %s\n", err);
		return 1;
	}
	h.api = plugin.descriptor;
	struct host_loop_callbacks cb = {
	        .userdata = &h, .log = on_log, .feedback = on_feedback, .complete = on_complete};
	h.loop = host_loop_new(&cb);
	int r = h.loop ? start(&h, argv[2]) : -ENOMEM;
	if (r < 0) {
		fprintf(stderr, "crash_host: porter init failed: %s\n", strerror(-r));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	for (size_t i = 0; i < h.n_people; i++)
		present(&h.people[i]);
	int64_t t = host_loop_timer_add(h.loop, SAFETY_STOP_US, safety_stop, &h);
	host_loop_run(h.loop);
	host_loop_timer_remove(h.loop, t);
	h.stopping = true;
	printf("SHUTTING-DOWN\n");
	fflush(stdout);
	h.api->shutdown(h.porter);
	/* shutdown() answers every pending request, or it was cancelled. */
	for (size_t i = 0; i < h.n_people; i++)
		if (h.people[i].request_id)
			line("UNEXPECTED", h.people[i].id, "never-answered");
	printf("STOPPED\n");
	fflush(stdout);
	host_loop_drop_invokes(h.loop);
	queued_free_all();
	host_loop_free(h.loop);
	host_plugin_unload(&plugin);
	return 0;
}
