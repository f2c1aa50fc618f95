/* SPDX-License-Identifier: MIT */
/*
 * crash_host.c: the child process of the crash test (test_crash.c).
 *
 *   crash_host PORTER_SO CONFIG_FILE PEOPLE_FILE loop|once
 *
 * Loads porter.so on host_loop (through porter.h only) and presents the PIN
 * of every person in PEOPLE_FILE ("id pin" per line), each as its own
 * request. Every time porter confirms a presence change it prints
 *   CONFIRMED <person_id> <in|out>
 * and flushes, so the parent knows exactly what people were told before it
 * SIGKILLs this process. "loop" presents each person again as soon as the
 * previous change is confirmed, until killed (or after 60 s); "once"
 * presents everybody once and exits after the last confirmation. Anything
 * unexpected is printed as a line the parent fails on. PINs are never printed.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "host_loop.h"
#include "porter.h"

#define MAX_PEOPLE 64
#define CONFIG_MAX (256 * 1024)
#define SAFETY_STOP_US (60u * 1000000u)

struct person {
	struct crash_host *host;
	char id[72];
	char pin[24];
	uint64_t request_id; /* 0: nothing pending */
	bool done;           /* "once": confirmed */
};

struct crash_host {
	struct host_loop *loop;
	const struct porter_plugin_descriptor *api;
	porter_plugin *porter;
	struct person people[MAX_PEOPLE];
	size_t n_people;
	size_t n_done;
	bool once;
	uint64_t last_request_id;
};

static void line(const char *word, const char *person_id, const char *detail)
{
	printf("%s %s %s\n", word, person_id, detail ? detail : "");
	fflush(stdout);
}

static void present(struct person *p)
{
	struct crash_host *h = p->host;
	struct porter_pin_event ev = {
		.size = sizeof(ev),
		.request_id = ++h->last_request_id,
		.reader_id = "front",
		.pin = p->pin,
		.pin_len = strlen(p->pin),
	};

	p->request_id = ev.request_id;
	int r = h->api->on_pin(h->porter, &ev);
	if (r == PORTER_VERDICT_PENDING)
		return;
	p->request_id = 0;
	line("UNEXPECTED", p->id, r == PORTER_VERDICT_GRANT ? "grant-without-toggle"
			    : r == PORTER_VERDICT_DENY  ? "deny"
							: "error");
}

/* Deferred: presenting again from inside porter's own callback would
 * re-enter porter while it is delivering. */
static void present_again(void *userdata)
{
	present(userdata);
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
	if (res->verdict != PORTER_VERDICT_GRANT || res->direction == PORTER_DIRECTION_NONE) {
		line("UNEXPECTED", p->id, res->code ? res->code : "no-code");
		return;
	}
	line("CONFIRMED", p->id, res->direction == PORTER_DIRECTION_IN ? "in" : "out");
	if (!h->once) {
		host_loop_invoke(h->loop, present_again, p);
	} else if (!p->done) {
		p->done = true;
		if (++h->n_done == h->n_people)
			host_loop_quit(h->loop);
	}
}

static void on_log(void *userdata, uint32_t level, const char *message)
{
	(void)userdata;
	if (level <= PORTER_LOG_WARNING)
		fprintf(stderr, "crash_host: porter %s: %s\n", host_loop_level_name(level), message);
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
	int r = h->api->init(host_loop_services(h->loop), config, len, NULL, NULL, &h->porter);
	free(config);
	return r;
}

int main(int argc, char **argv)
{
	static struct crash_host h;
	struct host_plugin plugin;
	char err[1024];

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
	if (argc != 5 || read_people(&h, argv[3]) < 0) {
		fprintf(stderr, "usage: crash_host PORTER_SO CONFIG PEOPLE_FILE loop|once\n");
		return 2;
	}
	h.once = strcmp(argv[4], "once") == 0;
	if (host_plugin_load(argv[1], &plugin, err, sizeof(err)) < 0) {
		fprintf(stderr, "crash_host: %s\n", err);
		return 1;
	}
	h.api = plugin.descriptor;
	struct host_loop_callbacks cb = { .userdata = &h, .log = on_log, .complete = on_complete };
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
	h.api->shutdown(h.porter);
	host_loop_drop_invokes(h.loop);
	host_loop_free(h.loop);
	host_plugin_unload(&plugin);
	return 0;
}
