/* SPDX-License-Identifier: MIT */
/*
 * ble_client.c: porter's BLE driver on the reference host loop, with a
 * recording callback, for test_ble_reader.py (the driver is hidden inside
 * porter.so, so the tests link it directly, as the unit tests do).
 *
 * Prints one line per thing that happens (line-buffered, so the test can
 * sequence on it): "LOG <level> <message>", "EVENT addr=.. rssi=.. ...",
 * and answers commands on stdin: "diag" (the diagnostics, then DIAG-END),
 * "count" (events so far), "stop" (ble_reader_stop, what is left registered
 * at the host, then whether any callback ran after it).
 *
 *     ble_client [--adapter NAME] [--floor DBM] [--restart-ms MS]
 *                [--reconnect-ms MS] [--max-devices N] [--quiet]
 *                [--bench [--plugin porter.so --config FILE]]
 *
 * --bench counts events without printing them and times a 1 ms timer on
 * the same loop; with --plugin, porter.so is loaded through porter.h, every
 * event goes to its on_ble hook (the path ble_from_driver takes), and each
 * tick times one on_ble call around the call alone: the hook's latency
 * beside the driver's load, in the same run ("stats" prints both).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ble_reader.h"
#include "host_loop.h"

static struct host_loop *loop;
static struct host_plugin plugin;
static porter_plugin *porter;
static uint64_t hook_ns[200000];
static size_t n_hook;
static struct ble_reader *reader;
static bool quiet, bench, stopped, done;
static unsigned long events, events_after_stop;
static char line[4096];
static size_t line_len;

static void hex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_event(void *userdata, const struct porter_ble_event *ev)
{
	events++;
	if (porter)
		plugin.descriptor->on_ble(porter, ev);
	if (stopped)
		events_after_stop++;
	if (quiet)
		return;
	printf("EVENT reader=%s addr=%s rssi=%d company=", ev->reader_id, ev->address,
	       ev->rssi_dbm);
	if (ev->company_id == 0xFFFFFFFFu)
		printf("none");
	else
		printf("%04x", ev->company_id);
	printf(" mfr=");
	hex(ev->manufacturer_data, ev->manufacturer_data_len);
	printf(" svc_uuid=%s svc=", ev->service_uuid ? ev->service_uuid : "none");
	hex(ev->service_data, ev->service_data_len);
	printf(" uuids=");
	for (size_t i = 0; i < ev->n_service_uuids; i++)
		printf("%s%s", i ? "," : "", ev->service_uuids[i]);
	if (ev->tx_power_dbm == INT32_MIN)
		printf(" tx=none\n");
	else
		printf(" tx=%d\n", ev->tx_power_dbm);
}

static void on_log(void *userdata, uint32_t level, const char *message)
{
	if (stopped)
		events_after_stop++; /* a log line after stop is a callback too */
	printf("LOG %s %s\n", host_loop_level_name(level), message);
}

static void on_report(void *userdata, const struct porter_report *r)
{
	printf("DIAG %s|%s|%s|%s\n", r->code, r->path ? r->path : "-", r->message,
	       r->fix ? r->fix : "-");
}

/* --bench: a 1 ms timer on the same loop; how late it fires is how long
 * the driver held the host's loop thread. */
#define LATE_MAX 200000
static uint64_t late_us[LATE_MAX], tick_due;
static size_t n_late;

static void tick(void *userdata)
{
	uint64_t now = host_loop_now_us(loop);
	if (n_late < LATE_MAX)
		late_us[n_late++] = now > tick_due ? now - tick_due : 0;
	if (porter && n_hook < sizeof(hook_ns) / sizeof(hook_ns[0])) {
		static const uint8_t mfr[20] = {0x02, 0x15};
		struct porter_ble_event ev = {
		        .size = sizeof(ev),
		        .rssi_dbm = -60,
		        .reader_id = "ble-test",
		        .address = "C0:FF:EE:FF:FF:FF",
		        .company_id = 0x004c,
		        .tx_power_dbm = INT32_MIN,
		        .manufacturer_data = mfr,
		        .manufacturer_data_len = sizeof(mfr),
		};
		uint64_t t0 = mono_ns();
		plugin.descriptor->on_ble(porter, &ev);
		hook_ns[n_hook++] = mono_ns() - t0;
	}
	tick_due = now + 1000;
	host_loop_timer_add(loop, 1000, tick, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void stats(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	             (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	qsort(late_us, n_late, sizeof(late_us[0]), cmp_u64);
	printf("STATS events=%lu cpu_s=%.3f ticks=%zu late_p50_us=%llu late_p99_us=%llu "
	       "late_max_us=%llu\n",
	       events, cpu, n_late, n_late ? (unsigned long long)late_us[n_late / 2] : 0ull,
	       n_late ? (unsigned long long)late_us[n_late * 99 / 100] : 0ull,
	       n_late ? (unsigned long long)late_us[n_late - 1] : 0ull);
	if (porter) {
		qsort(hook_ns, n_hook, sizeof(hook_ns[0]), cmp_u64);
		printf("HOOK calls=%zu p50_ns=%llu p99_ns=%llu p999_ns=%llu max_ns=%llu\n", n_hook,
		       n_hook ? (unsigned long long)hook_ns[n_hook / 2] : 0ull,
		       n_hook ? (unsigned long long)hook_ns[n_hook * 99 / 100] : 0ull,
		       n_hook ? (unsigned long long)hook_ns[n_hook * 999 / 1000] : 0ull,
		       n_hook ? (unsigned long long)hook_ns[n_hook - 1] : 0ull);
		n_hook = 0;
	}
	n_late = 0;
}

static void quit_timer(void *userdata)
{
	done = true;
}

static void command(const char *cmd)
{
	if (strcmp(cmd, "diag") == 0) {
		int n = ble_reader_diagnostics(reader, on_report, NULL);
		printf("DIAG-END %d\n", n);
	} else if (strcmp(cmd, "stats") == 0) {
		stats();
	} else if (strcmp(cmd, "count") == 0) {
		printf("COUNT %lu\n", events);
	} else if (strcmp(cmd, "stop") == 0) {
		size_t w = host_loop_n_watches(loop);
		reader = ble_reader_stop(reader);
		stopped = true;
		/* The stdin watch stays; nothing else of ours may. */
		printf("STOPPED before_watches=%zu watches=%zu timers=%zu\n", w,
		       host_loop_n_watches(loop), host_loop_n_timers(loop));
		host_loop_timer_add(loop, 500000, quit_timer, NULL);
	} else if (strcmp(cmd, "quit") == 0) {
		done = true;
	}
}

static void stdin_ready(void *userdata, int fd, uint32_t revents)
{
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0) {
		host_loop_watch_remove(loop, *(int64_t *)userdata);
		if (!stopped)
			command("stop");
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (line_len < sizeof(line) - 1)
				line[line_len++] = buf[i];
			continue;
		}
		line[line_len] = '\0';
		line_len = 0;
		command(line);
	}
}

static int start_porter(const char *path, const char *config_path)
{
	char err[512], json[16384];
	FILE *f = config_path ? fopen(config_path, "r") : NULL;
	size_t len = f ? fread(json, 1, sizeof(json), f) : 0;
	if (f)
		fclose(f);
	if (!len || host_plugin_load(path, &plugin, err, sizeof(err)) < 0) {
		fprintf(stderr, "ble_client: cannot load %s with %s\n", path,
		        config_path ? config_path : "(no config)");
		return -1;
	}
	int r = plugin.descriptor->init(host_loop_services(loop), json, len, NULL, NULL, &porter);
	if (r < 0) {
		fprintf(stderr, "ble_client: porter init: %d\n", r);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *plugin_path = NULL, *config_path = NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct ble_reader_options o = {
	        .adapter = "",
	        .reader_id = "ble-test",
	        .rssi_floor_dbm = -90,
	        .restart_after_ms = 60000,
	        .reconnect_ms = 200,
	        .max_devices = 1024,
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quiet") == 0) {
			quiet = true;
			continue;
		}
		if (strcmp(a, "--bench") == 0) {
			quiet = bench = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "%s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--adapter") == 0)
			o.adapter = v;
		else if (strcmp(a, "--floor") == 0)
			o.rssi_floor_dbm = atoi(v);
		else if (strcmp(a, "--restart-ms") == 0)
			o.restart_after_ms = (uint32_t)atoi(v);
		else if (strcmp(a, "--reconnect-ms") == 0)
			o.reconnect_ms = (uint32_t)atoi(v);
		else if (strcmp(a, "--max-devices") == 0)
			o.max_devices = (size_t)atoi(v);
		else if (strcmp(a, "--plugin") == 0)
			plugin_path = v;
		else if (strcmp(a, "--config") == 0)
			config_path = v;
		else {
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	struct host_loop_callbacks cb = {.log = on_log};
	loop = host_loop_new(&cb);
	if (!loop)
		return 1;
	static int64_t stdin_watch;
	stdin_watch = host_loop_watch_add(loop, 0, PORTER_IO_IN, stdin_ready, &stdin_watch);
	if (plugin_path && start_porter(plugin_path, config_path) < 0)
		return 1;
	int r = ble_reader_start(host_loop_services(loop), &o, on_event, NULL, &reader);
	if (r < 0) {
		printf("START-FAILED %d\n", r);
		return 1;
	}
	if (bench) {
		tick_due = host_loop_now_us(loop) + 1000;
		host_loop_timer_add(loop, 1000, tick, NULL);
	}
	printf("READY\n");
	while (!done)
		host_loop_run_once(loop, 100);
	printf("END events_after_stop=%lu\n", events_after_stop);
	reader = ble_reader_stop(reader);
	if (porter)
		plugin.descriptor->shutdown(porter);
	host_plugin_unload(&plugin);
	host_loop_free(loop);
	return 0;
}
