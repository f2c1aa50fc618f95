/* SPDX-License-Identifier: MIT */
/*
 * mock_nexudus_fixture.c: runs tests/backend/fixture.py --nexudus around a
 * shell that writes the fixture's MOCK_* variables to a file and then waits
 * on our pipe; closing the pipe lets the fixture stop the mock and clean up.
 */
#include "mock_nexudus_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#ifndef BACKEND_FIXTURE_SCRIPT
#error "BACKEND_FIXTURE_SCRIPT: the path of tests/backend/fixture.py"
#endif

static void copy_var(const char *line, const char *name, char *out, size_t size)
{
	size_t len = strlen(name);
	if (strncmp(line, name, len) == 0 && line[len] == '=')
		snprintf(out, size, "%s", line + len + 1);
}

static int read_env(struct mock_nexudus *m)
{
	FILE *f = fopen(m->env_file, "r");
	char line[1024];
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		copy_var(line, "MOCK_NEXUDUS_URL", m->url, sizeof(m->url));
		copy_var(line, "MOCK_CA", m->ca, sizeof(m->ca));
		copy_var(line, "MOCK_PUBKEY_SHA256", m->pin, sizeof(m->pin));
		copy_var(line, "MOCK_NEXUDUS_USER", m->user, sizeof(m->user));
		copy_var(line, "MOCK_NEXUDUS_PASSWORD", m->password, sizeof(m->password));
	}
	fclose(f);
	return m->url[0] && m->ca[0] && m->user[0] && m->password[0] ? 0 : -1;
}

int mock_nexudus_start(struct mock_nexudus *m)
{
	int pipefd[2];
	memset(m, 0, sizeof(*m));
	m->stdin_fd = -1;
	snprintf(m->env_file, sizeof(m->env_file), "/tmp/porter-mock-env-%d", (int)getpid());
	unlink(m->env_file);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		dup2(pipefd[0], 0);
		execl("/usr/bin/python3", "python3", BACKEND_FIXTURE_SCRIPT, "--nexudus", "--",
		      "/bin/sh", "-c",
		      "umask 077; env | grep '^MOCK_' > \"$0.tmp\" && mv \"$0.tmp\" \"$0\" && exec "
		      "cat "
		      ">/dev/null",
		      m->env_file, (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	m->stdin_fd = pipefd[1];
	for (int i = 0; i < 3000; i++) {
		int status;
		if (read_env(m) == 0)
			return 0;
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			fprintf(stderr,
			        "mock_nexudus: the fixture exited before the mock was up\n");
			m->pid = 0;
			return -1;
		}
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	fprintf(stderr, "mock_nexudus: no mock after 30 s\n");
	mock_nexudus_stop(m);
	return -1;
}

void mock_nexudus_stop(struct mock_nexudus *m)
{
	if (m->stdin_fd >= 0)
		close(m->stdin_fd);
	m->stdin_fd = -1;
	if (m->pid > 0)
		waitpid(m->pid, NULL, 0);
	m->pid = 0;
	unlink(m->env_file);
}

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t len = size * nmemb;
	char *p = realloc(b->p, b->n + len + 1);
	if (!p)
		return 0;
	memcpy(p + b->n, data, len);
	b->p = p;
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

long mock_nexudus_call(const struct mock_nexudus *m, const char *method, const char *path,
                       const char *json, json_object **ret)
{
	char url[1024];
	struct buf b = {0};
	long status = -1;
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (ret)
		*ret = NULL;
	snprintf(url, sizeof(url), "%s%s", m->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_CAINFO, m->ca);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (json)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (ret && b.p)
		*ret = json_tokener_parse(b.p);
	free(b.p);
	return status;
}

void mock_nexudus_ok(const struct mock_nexudus *m, const char *method, const char *path,
                     const char *json)
{
	long status = mock_nexudus_call(m, method, path, json, NULL);
	if (status != 200) {
		fprintf(stderr, "mock_nexudus: %s %s answered %ld\n", method, path, status);
		abort();
	}
}

int mock_nexudus_count(const struct mock_nexudus *m, const char *method, const char *path_prefix,
                       long status)
{
	json_object *root, *list;
	int n = 0;
	if (mock_nexudus_call(m, "GET", "/_control/requests", NULL, &root) != 200 || !root)
		return -1;
	if (json_object_object_get_ex(root, "requests", &list)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *e = json_object_array_get_idx(list, i), *v;
			const char *mth = json_object_object_get_ex(e, "method", &v)
			                          ? json_object_get_string(v)
			                          : "";
			const char *path = json_object_object_get_ex(e, "path", &v)
			                           ? json_object_get_string(v)
			                           : "";
			long st = json_object_object_get_ex(e, "status", &v) &&
			                          json_object_is_type(v, json_type_int)
			                  ? (long)json_object_get_int64(v)
			                  : -1;
			if (method && strcmp(method, mth) != 0)
				continue;
			if (strncmp(path, path_prefix, strlen(path_prefix)) != 0)
				continue;
			if (status && status != st)
				continue;
			n++;
		}
	}
	json_object_put(root);
	return n;
}
