/* SPDX-License-Identifier: MIT */
/*
 * https_fixture.c: runs tests/http/https_fixture.py as a child process; the
 * test process owns it, so valgrind checks the test, not python.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "https_fixture.h"

#ifndef HTTPS_FIXTURE_SCRIPT
#error "HTTPS_FIXTURE_SCRIPT: the path of https_fixture.py"
#endif

static int read_small(const char *dir, const char *name, char *buf, size_t len)
{
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int https_fixture_start(struct https_fixture *f)
{
	char port[16];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/porter-https-XXXXXX");
	if (!mkdtemp(f->dir)) {
		perror("https_fixture: mkdtemp");
		return -1;
	}
	f->pid = fork();
	if (f->pid < 0)
		return -1;
	if (f->pid == 0) {
		execl("/usr/bin/python3", "python3", HTTPS_FIXTURE_SCRIPT, f->dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000; i++) {
		int status;
		if (read_small(f->dir, "port", port, sizeof(port)) == 0) {
			f->port = atoi(port);
			snprintf(f->base, sizeof(f->base), "https://127.0.0.1:%d", f->port);
			snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
			snprintf(f->other_ca, sizeof(f->other_ca), "%s/other-ca.pem", f->dir);
			read_small(f->dir, "pin", f->pin, sizeof(f->pin));
			read_small(f->dir, "other-pin", f->other_pin, sizeof(f->other_pin));
			return 0;
		}
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			fprintf(stderr, "https_fixture: the server exited before listening\n");
			f->pid = 0;
			return -1;
		}
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	fprintf(stderr, "https_fixture: no port after 30 s\n");
	https_fixture_stop(f);
	return -1;
}

void https_fixture_stop(struct https_fixture *f)
{
	static const char *const names[] = {
	        "ca.pem",     "ca.key",     "ca.srl",     "other-ca.pem", "other-ca.key",
	        "server.pem", "server.key", "server.csr", "ext.cnf",      "pin",
	        "other-pin",  "port",       "port.tmp"};
	char path[256];

	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	if (!f->dir[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	f->dir[0] = '\0';
}

int https_fixture_closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}
