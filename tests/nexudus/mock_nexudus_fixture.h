/* SPDX-License-Identifier: MIT */
/*
 * mock_nexudus_fixture.h: the mock Nexudus (tests/backend/mock_nexudus.py)
 * for C tests, started through tests/backend/fixture.py by the test process
 * itself (so under valgrind memcheck checks the test, not python), and a
 * blocking HTTPS client for its /_control knobs.
 */
#ifndef PORTER_MOCK_NEXUDUS_FIXTURE_H
#define PORTER_MOCK_NEXUDUS_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

struct mock_nexudus {
	pid_t pid;
	int stdin_fd; /* closing it ends the fixture's command, so the fixture stops */
	char env_file[128];
	char url[128];
	char ca[512];
	char pin[128];
	char user[128];
	char password[128];
};

/* Start the fixture with the Nexudus mock and wait (30 s) for its
 * variables. 0 or -1 (a reason on stderr). */
int mock_nexudus_start(struct mock_nexudus *m);
void mock_nexudus_stop(struct mock_nexudus *m);

/* A blocking request to the mock (any path, e.g. "/_control/seed"); `json`
 * may be NULL. Returns the HTTP status (or -1) and the parsed reply in
 * *ret (NULL if none or not JSON; json_object_put it). */
long mock_nexudus_call(const struct mock_nexudus *m, const char *method, const char *path,
                       const char *json, json_object **ret);

/* The same, asserting a 200 and dropping the reply. */
void mock_nexudus_ok(const struct mock_nexudus *m, const char *method, const char *path,
                     const char *json);

/* Requests in the mock's log whose method matches (NULL: any), whose path
 * starts with `path_prefix` and whose status is `status` (0: any). */
int mock_nexudus_count(const struct mock_nexudus *m, const char *method, const char *path_prefix,
                       long status);

#endif
