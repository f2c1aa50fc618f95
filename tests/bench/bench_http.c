/* SPDX-License-Identifier: MIT */
/*
 * bench_http.c: POST rate through drivers/http on the host loop next to a
 * bare libcurl multi loop (curl_multi_poll) posting the same requests to the
 * same local HTTPS server (tests/http/https_fixture.py) in the same run.
 *
 *   build/tests/bench/bench_http [requests] [in_flight] [rounds]
 *
 * Both sides keep `in_flight` requests going over kept-alive connections
 * and verify TLS against the fixture's CA. The rounds alternate the two so a
 * neighbour's load hits both; the median round of each is reported. The
 * server (python, one thread per connection) is usually the bottleneck:
 * the ratio says what the host loop costs on top of libcurl's own loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "host_loop.h"
#include "http_client.h"
#include "https_fixture.h"

static const char body[] =
        "{\"type\":\"presence.checked_in\",\"event_key\":\"6f1c1f3e-2b1a-4d2e-9a77-1f0c6c1b2a3d\","
        "\"person\":\"m-1042\",\"reader\":\"front-keypad\",\"at\":\"2026-11-26T05:00:00Z\"}";

/* This process's CPU time (the server is a child: not counted). The rates
 * swing with the machine's load; CPU per POST is the steadier figure. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- through http_client on the host loop ------------------------------ */

struct client_run {
	struct http_client *client;
	struct http_request rq;
	int started, done, failed, total;
};

static void client_done(void *userdata, const struct http_response *r);

static void client_start(struct client_run *run)
{
	if (run->started >= run->total)
		return;
	run->started++;
	if (http_client_request(run->client, &run->rq, client_done, run, NULL) < 0) {
		run->done++;
		run->failed++;
	}
}

static void client_done(void *userdata, const struct http_response *r)
{
	struct client_run *run = userdata;
	run->done++;
	if (r->status != 201)
		run->failed++;
	client_start(run);
}

static double bench_client(const struct https_fixture *fx, const char *url, int n, int k)
{
	struct host_loop *loop = host_loop_new(NULL);
	struct http_client_options o = {.ca_file = fx->ca, .keep_alive = true};
	const char *const headers[] = {"Content-Type: application/json", NULL};
	struct client_run run = {.total = n};
	double t0;

	if (!loop || http_client_new(host_loop_services(loop), &o, &run.client) < 0) {
		fprintf(stderr, "bench_http: cannot make the client\n");
		exit(1);
	}
	run.rq = (struct http_request){.method = "POST",
	                               .url = url,
	                               .headers = headers,
	                               .body = body,
	                               .body_len = strlen(body)};
	t0 = now_s();
	for (int i = 0; i < k; i++)
		client_start(&run);
	while (run.done < n)
		host_loop_run_once(loop, 1000);
	t0 = now_s() - t0;
	http_client_free(run.client);
	host_loop_free(loop);
	if (run.failed)
		fprintf(stderr, "bench_http: %d of %d http_client requests failed\n", run.failed,
		        n);
	return n / t0;
}

/* ---- bare libcurl: curl_multi_poll ------------------------------------- */

static CURL *bare_easy(const struct https_fixture *fx, const char *url, struct curl_slist *h)
{
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CAINFO, fx->ca);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
	return e;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
	return size * n;
}

static double bench_bare(const struct https_fixture *fx, const char *url, int n, int k)
{
	CURLM *multi = curl_multi_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	int started = 0, done = 0, failed = 0, running;
	double t0 = now_s();

	h = curl_slist_append(h, "Expect:");
	/* A new easy handle per request, like http_client: same setup work. */
	for (; started < k && started < n; started++) {
		CURL *e = bare_easy(fx, url, h);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
		curl_multi_add_handle(multi, e);
	}
	while (done < n) {
		CURLMsg *m;
		int q;
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &q))) {
			long status = 0;
			if (m->msg != CURLMSG_DONE)
				continue;
			CURL *e = m->easy_handle;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			failed += status != 201;
			done++;
			curl_multi_remove_handle(multi, e);
			curl_easy_cleanup(e);
			if (started < n) {
				e = bare_easy(fx, url, h);
				curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
				curl_multi_add_handle(multi, e);
				started++;
			}
		}
		if (done < n)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	t0 = now_s() - t0;
	curl_multi_cleanup(multi);
	curl_slist_free_all(h);
	if (failed)
		fprintf(stderr, "bench_http: %d of %d bare requests failed\n", failed, n);
	return n / t0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 400;
	int k = argc > 2 ? atoi(argv[2]) : 4;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	struct https_fixture fx;
	char url[128];
	double clients[32], bares[32], client_cpu[32], bare_cpu[32];

	if (n <= 0 || k <= 0 || rounds <= 0 || rounds > 32) {
		fprintf(stderr, "usage: bench_http [requests] [in_flight] [rounds]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (https_fixture_start(&fx) < 0)
		return 1;
	snprintf(url, sizeof(url), "%s/echo?status=201", fx.base);
	for (int r = 0; r < rounds; r++) {
		double c0 = cpu_s();
		double bare = bench_bare(&fx, url, n, k);
		double c1 = cpu_s();
		double client = bench_client(&fx, url, n, k);
		double c2 = cpu_s();
		bare_cpu[r] = (c1 - c0) * 1e6 / n;
		client_cpu[r] = (c2 - c1) * 1e6 / n;
		printf("round %d: bare libcurl multi %.0f POST/s (%.0f us CPU each), http_client "
		       "on "
		       "the host loop %.0f POST/s (%.0f us CPU each)\n",
		       r + 1, bare, bare_cpu[r], client, client_cpu[r]);
		bares[r] = bare;
		clients[r] = client;
	}
	https_fixture_stop(&fx);
	qsort(bares, (size_t)rounds, sizeof(double), by_value);
	qsort(clients, (size_t)rounds, sizeof(double), by_value);
	qsort(bare_cpu, (size_t)rounds, sizeof(double), by_value);
	qsort(client_cpu, (size_t)rounds, sizeof(double), by_value);
	printf("bench_http: %d POSTs, %d in flight, median of %d rounds: bare libcurl multi "
	       "%.0f/s, http_client %.0f/s, ratio %.2f\n",
	       n, k, rounds, bares[rounds / 2], clients[rounds / 2],
	       clients[rounds / 2] / bares[rounds / 2]);
	printf("bench_http: CPU per POST in this process (median): bare %.0f us, http_client "
	       "%.0f us\n",
	       bare_cpu[rounds / 2], client_cpu[rounds / 2]);
	curl_global_cleanup();
	return 0;
}
