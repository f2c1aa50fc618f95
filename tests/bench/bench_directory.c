/* SPDX-License-Identifier: MIT */
/*
 * bench_directory.c: how long loading the directory file takes and how much
 * memory it needs, next to limits measured in the same run on the same file:
 * the file's own size, and json-c parsing the same text alone (what any
 * JSON-tree loader costs at least).
 *
 * Each measurement runs in a fresh process (this program re-executes itself),
 * so the peak resident size (getrusage ru_maxrss) of one load is not hidden
 * by an earlier one. Not a test: it prints figures for BENCHMARKS.md.
 *
 *   bench_directory [people=10000] [shared_people=20000] [shared_hashes=50]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "directory_file.h"

static void die(const char *why)
{
	fprintf(stderr, "bench_directory: %s\n", why);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* One person per line, the shape porter-admin's entries have. People
 * i % hashes share a PIN hash when `hashes` > 0; otherwise all differ.
 * `alike`: hashes differ only in their last bytes (a hand-made file can look
 * like that; real HMACs differ everywhere). */
static void write_directory(const char *path, size_t people, size_t hashes, bool alike,
                            size_t junk_bytes)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die("cannot create a directory file");
	fprintf(f, "{\n  \"porter_directory\": 1,\n");
	if (junk_bytes) {
		/* A member porter does not know, holding a large array. */
		fprintf(f, "  \"notes\": [0");
		for (size_t i = 2; i + 2 < junk_bytes; i += 2)
			fputs(",0", f);
		fprintf(f, "],\n");
	}
	fprintf(f, "  \"people\": [\n");
	for (size_t i = 0; i < people; i++) {
		size_t h = hashes ? i % hashes : i;
		unsigned long mixed = (unsigned long)((h * 2654435761u) & 0xffffffffu);
		fprintf(f,
		        "    {\"id\": \"m-%zu\", \"kind\": \"member\", \"name\": \"Member Number "
		        "%zu\", "
		        "\"pin_hmac\": \"%08lx%056zx\"}%s\n",
		        i, i, alike ? 0ul : mixed, h + 1, i + 1 < people ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0)
		die("cannot write a directory file");
}

static void count_pair(void *userdata, const struct person *a, const struct person *b)
{
	(*(size_t *)userdata)++;
}

/* Heap in use, small blocks and mmap-ed large ones alike. */
static size_t heap_bytes(void)
{
	struct mallinfo2 m = mallinfo2();
	return m.uordblks + m.hblkhd;
}

/* In a fresh process: load `path` one way, print "seconds peak_kib heap_kib". */
static int measure(const char *what, const char *path)
{
	char err[1024];
	long before = maxrss_kib();
	size_t heap0 = heap_bytes();
	double t0 = now_s(), t1;
	size_t heap = 0;
	if (strcmp(what, "porter") == 0) {
		struct directory *d;
		int r = directory_file_load(path, &d, err, sizeof(err));
		size_t pairs = 0;
		if (r == 0)
			directory_foreach_shared_pin(d, count_pair, &pairs);
		t1 = now_s();
		heap = heap_bytes() - heap0;
		if (r < 0)
			printf("refused (%.80s) ", err);
		directory_free(d);
	} else if (strcmp(what, "json-c") == 0) {
		json_object *root = json_object_from_file(path);
		t1 = now_s();
		heap = heap_bytes() - heap0;
		if (!root)
			die("json-c could not parse the file");
		json_object_put(root);
	} else {
		die("unknown measurement");
	}
	printf("%.4f %ld %zu\n", t1 - t0, maxrss_kib() - before, heap / 1024);
	return 0;
}

static void run(const char *self, const char *what, const char *path, char *out, size_t outlen)
{
	int fds[2];
	if (pipe(fds) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execl(self, self, "--measure", what, path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("a measurement failed");
}

static void compare(const char *self, const char *label, const char *path)
{
	struct stat st;
	char porter[256], jsonc[256];
	if (stat(path, &st) < 0)
		die("stat");
	run(self, "porter", path, porter, sizeof(porter));
	run(self, "json-c", path, jsonc, sizeof(jsonc));
	printf("%-44s %8.2f MiB file\n", label, (double)st.st_size / (1024 * 1024));
	printf("  %-10s %s\n  %-10s %s\n", "porter", porter, "json-c", jsonc);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--measure") == 0)
		return measure(argv[2], argv[3]);
	size_t people = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t shared_people = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	size_t shared_hashes = argc > 3 ? strtoul(argv[3], NULL, 10) : 50;
	char dir[] = "/tmp/porter-bench-dir-XXXXXX", path[4][64], self[4096], label[128];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !mkdtemp(dir))
		die("setup");
	self[n] = '\0';
	for (int i = 0; i < 4; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%c.json", dir, 'a' + i);
	write_directory(path[0], people, 0, false, 0);
	write_directory(path[1], shared_people, shared_hashes, false, 0);
	write_directory(path[2], shared_people, shared_hashes, true, 0);
	write_directory(path[3], 10, 0, false, 4u * 1024 * 1024);

	printf("each line: seconds, peak RSS growth KiB (ru_maxrss), heap KiB held after "
	       "the load (mallinfo2)\n");
	snprintf(label, sizeof(label), "%zu people, all PINs different", people);
	compare(self, label, path[0]);
	snprintf(label, sizeof(label), "%zu people sharing %zu PIN hashes", shared_people,
	         shared_hashes);
	compare(self, label, path[1]);
	snprintf(label, sizeof(label), "the same, hashes alike but for their end");
	compare(self, label, path[2]);
	compare(self, "10 people + unknown member with a 4 MiB array", path[3]);
	for (int i = 0; i < 4; i++)
		unlink(path[i]);
	rmdir(dir);
	return 0;
}
