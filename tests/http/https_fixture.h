/* SPDX-License-Identifier: MIT */
/*
 * https_fixture.h: start and stop tests/http/https_fixture.py, the local
 * HTTPS server with a throwaway CA, from a C test or benchmark.
 */
#ifndef PORTER_HTTPS_FIXTURE_H
#define PORTER_HTTPS_FIXTURE_H

#include <sys/types.h>

struct https_fixture {
	pid_t pid;
	int port;
	char dir[128];
	char base[64];      /* "https://127.0.0.1:PORT" */
	char ca[192];       /* the CA that signed the server's certificate */
	char other_ca[192]; /* an unrelated CA */
	char pin[128];      /* the server key's sha256// pin */
	char other_pin[128];
};

/* Make a temp dir, start the server, wait (up to 30 s) until it listens.
 * Returns 0 or -1 (a reason on stderr). */
int https_fixture_start(struct https_fixture *f);

/* SIGTERM the server, reap it and remove the temp dir. */
void https_fixture_stop(struct https_fixture *f);

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
int https_fixture_closed_port(void);

#endif
