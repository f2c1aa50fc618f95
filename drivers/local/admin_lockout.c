/* SPDX-License-Identifier: MIT */
/*
 * admin_lockout.c: porter-admin's lockout commands.
 *
 *   porter-admin lockouts --state-dir DIR | --database FILE
 *       which readers are locked, until when, at which level, after how
 *       many wrong PINs (from DIR/lockouts.json, which porter keeps);
 *   porter-admin unlock --state-dir DIR | --database FILE --reader ID | --all [--wait S]
 *       ask the running porter to lift a lockout: an unlock request file in
 *       DIR that porter's control thread takes within moments.
 *
 * DIR is porter's state directory, the directory of local.database. Nothing
 * here talks to porter directly; the files are the interface
 * (plugin/lockout_file.h).
 */
#include "admin_lockout.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "directory_file.h"
#include "lockout_file.h"
#include "reader.h"

#define DEFAULT_WAIT_S 5

struct lockout_options {
	const char *state_dir, *database, *reader;
	bool all, help;
	long wait_s;
};

static int usage(FILE *out, int status)
{
	fprintf(out,
	        "usage: porter-admin lockouts --state-dir DIR | --database FILE\n"
	        "       porter-admin unlock --state-dir DIR | --database FILE --reader ID | --all\n"
	        "                           [--wait SECONDS]\n"
	        "DIR is porter's state directory: the directory of local.database.\n"
	        "unlock waits up to --wait seconds (default %d) for porter to take the request;\n"
	        "a request porter does not take stays in DIR and applies when porter starts.\n",
	        DEFAULT_WAIT_S);
	return status;
}

static int parse(int argc, char **argv, struct lockout_options *o)
{
	static const struct option longopts[] = {
	        {"state-dir", required_argument, NULL, 's'},
	        {"database", required_argument, NULL, 'b'},
	        {"reader", required_argument, NULL, 'r'},
	        {"all", no_argument, NULL, 'a'},
	        {"wait", required_argument, NULL, 'w'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	o->wait_s = DEFAULT_WAIT_S;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->state_dir = optarg;
			break;
		case 'b':
			o->database = optarg;
			break;
		case 'r':
			o->reader = optarg;
			break;
		case 'a':
			o->all = true;
			break;
		case 'w':
			errno = 0;
			o->wait_s = strtol(optarg, &end, 10);
			if (errno || *end || o->wait_s < 0 || o->wait_s > 3600) {
				fprintf(stderr, "porter-admin: --wait: 0 to 3600 seconds\n");
				return -EINVAL;
			}
			break;
		case 'h':
			o->help = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "porter-admin: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* DIR from --state-dir, or the directory of --database. */
static int state_dir(const struct lockout_options *o, char *ret, size_t size)
{
	if (o->state_dir && o->database) {
		fprintf(stderr, "porter-admin: give --state-dir or --database, not both\n");
		return -EINVAL;
	}
	if (!o->state_dir && !o->database) {
		fprintf(stderr, "porter-admin: missing --state-dir DIR (or --database FILE): "
		                "porter's state directory, where local.database is\n");
		return -EINVAL;
	}
	if (o->state_dir) {
		if ((size_t)snprintf(ret, size, "%s", o->state_dir) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	return lockout_state_dir(o->database, ret, size);
}

static void print_record(const struct lockout_record *rec, int64_t now_us)
{
	char when[32];
	if (rec->locked_until_us > now_us) {
		timestamp_format(rec->locked_until_us / 1000000, when);
		printf("%-16s locked until %s (%lld s left)", rec->reader_id, when,
		       (long long)((rec->locked_until_us - now_us + 999999) / 1000000));
	} else if (rec->locked_until_us) {
		timestamp_format(rec->locked_until_us / 1000000, when);
		printf("%-16s not locked (last lockout ended %s)", rec->reader_id, when);
	} else {
		printf("%-16s not locked", rec->reader_id);
	}
	timestamp_format(rec->last_failure_us / 1000000, when);
	printf(", lockout level %u, %u wrong PINs, last at %s\n", rec->level, rec->failures, when);
}

static int cmd_lockouts(const char *dir)
{
	char err[1536];
	struct lockout_record *recs;
	size_t n;
	int r = lockout_file_read(dir, &recs, &n, err, sizeof(err));
	if (r == -ENOENT) {
		printf("no lockouts recorded (%s/%s does not exist yet)\n0 readers locked\n", dir,
		       LOCKOUT_FILE_NAME);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return 1;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	size_t locked = 0;
	for (size_t i = 0; i < n; i++) {
		print_record(&recs[i], now_us);
		locked += recs[i].locked_until_us > now_us;
	}
	printf("%zu reader%s locked\n", locked, locked == 1 ? "" : "s");
	free(recs);
	return 0;
}

static int cmd_unlock(const char *dir, const struct lockout_options *o)
{
	char err[1536], path[CONFIG_PATH_MAX + 128];
	if (!o->all == !o->reader) {
		fprintf(stderr, "porter-admin: unlock needs --reader ID or --all (one of them)\n");
		return 2;
	}
	if (o->reader && !reader_id_valid(o->reader)) {
		fprintf(stderr,
		        "porter-admin: --reader: 1-%d characters of UTF-8 without control "
		        "characters\n",
		        CONFIG_ID_CHARS);
		return 2;
	}
	if (unlock_request_write(dir, o->reader, path, sizeof(path), err, sizeof(err)) < 0) {
		fprintf(stderr, "porter-admin: %s\n", err);
		return 1;
	}
	/* porter deletes the request when it takes it. */
	for (long i = 0; i < o->wait_s * 20 && access(path, F_OK) == 0; i++)
		usleep(50 * 1000);
	if (access(path, F_OK) == 0) {
		fprintf(stderr,
		        "porter-admin: porter has not taken the request within %ld s; is it "
		        "running with its database in %s? The request stays in %s and applies "
		        "when porter starts (delete it to cancel)\n",
		        o->wait_s, dir, path);
		return 1;
	}
	if (o->reader)
		printf("porter took the request to unlock reader %s; its log says the outcome\n",
		       o->reader);
	else
		printf("porter took the request to unlock every reader; its log says the "
		       "outcome\n");
	return 0;
}

int admin_lockout_main(int argc, char **argv)
{
	struct lockout_options o = {0};
	char dir[CONFIG_PATH_MAX];
	if (parse(argc, argv, &o) < 0)
		return usage(stderr, 2);
	if (o.help)
		return usage(stdout, 0);
	if (state_dir(&o, dir, sizeof(dir)) < 0)
		return 2;
	if (strcmp(argv[1], "lockouts") == 0) {
		if (o.reader || o.all) {
			fprintf(stderr, "porter-admin: lockouts lists every reader; "
			                "--reader and --all are for unlock\n");
			return 2;
		}
		return cmd_lockouts(dir);
	}
	return cmd_unlock(dir, &o);
}
