/* SPDX-License-Identifier: MIT */
/*
 * test_check_config.c: check_config() tells an admin UI what init() will do.
 *
 * porter.so is loaded through porter.h ($PORTER_SO). Each test sets up a
 * site with the real porter-admin, breaks one file the config names (the
 * key, the directory, the database's folder), and asserts that check_config
 * and init agree: both refuse it with the same report code and path (each
 * check_config report with a message and a fix), or both accept it. Then
 * the reference host's `--check` ($PORTER_HOST) must exit non-zero on it.
 * check_config itself must leave no database behind.
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "host_loop.h"
#include "loaded_porter.h"
#include "porter.h"
#include "porter_fixture.h"

extern char **environ;

#define MAX_REPORTS 16

/* The error reports one call made. */
struct reports {
	size_t n;
	struct {
		char code[64];
		char path[128];
		bool has_message, has_fix;
	} errors[MAX_REPORTS];
};

static void record_report(void *userdata, const struct porter_report *r)
{
	struct reports *rs = userdata;

	if (r->severity != PORTER_SEVERITY_ERROR || rs->n == MAX_REPORTS)
		return;
	snprintf(rs->errors[rs->n].code, sizeof(rs->errors[0].code), "%s", r->code ? r->code : "");
	snprintf(rs->errors[rs->n].path, sizeof(rs->errors[0].path), "%s", r->path ? r->path : "");
	rs->errors[rs->n].has_message = r->message && *r->message;
	rs->errors[rs->n].has_fix = r->fix && *r->fix;
	rs->n++;
}

struct site {
	char dir[FX_PATH_MAX];
	char path[FX_PATH_MAX + 64]; /* scratch */
	char *config;
};

static const char *site_file(struct site *s, const char *name)
{
	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, name);
	return s->path;
}

static int site_setup(void **state)
{
	const char *admin = fx_env("PORTER_ADMIN");
	struct site *s = calloc(1, sizeof(*s));

	if (!s || !admin || fx_mkdtemp(s->dir) < 0) {
		free(s);
		return -1;
	}
	*state = s;
	s->config = fx_config(s->dir, "");
	if (!s->config || fx_make_site(admin, s->dir, FX_ANA) != 0)
		return -1;
	return 0;
}

static int site_teardown(void **state)
{
	struct site *s = *state;

	chmod(s->dir, 0700);
	fx_rmrf(s->dir);
	free(s->config);
	free(s);
	return 0;
}

/* A config like the site's, with the database somewhere else. */
static void use_database(struct site *s, const char *db)
{
	const char *at = strstr(s->config, "\"database\":\"");
	const char *end = strstr(at, "\",\"pin_key_file\"");
	size_t len = strlen(s->config) + strlen(db) + 1;
	char *text = malloc(len);

	assert_non_null(text);
	snprintf(text, len, "%.*s\"database\":\"%s%s", (int)(at - s->config), s->config, db, end);
	free(s->config);
	s->config = text;
}

/* init() on a fresh host loop; shut down again when it started. */
static int run_init(struct site *s, struct reports *rs)
{
	struct host_loop *loop = host_loop_new(NULL);
	porter_plugin *p = NULL;

	assert_non_null(loop);
	int r = api->init(host_loop_services(loop), s->config, strlen(s->config), record_report, rs,
	                  &p);
	if (r == 0)
		api->shutdown(p);
	host_loop_drop_invokes(loop);
	host_loop_free(loop);
	return r;
}

/* `porter-host --check` on the site's config: its exit status. */
static int run_host_check(struct site *s)
{
	char config_path[FX_PATH_MAX + 16], out_path[FX_PATH_MAX + 16];
	char *argv[] = {(char *)fx_env("PORTER_HOST"),
	                "--plugin",
	                (char *)fx_env("PORTER_SO"),
	                "--config",
	                config_path,
	                "--check",
	                NULL};
	posix_spawn_file_actions_t fa;
	int status;
	pid_t pid;

	snprintf(config_path, sizeof(config_path), "%s/config.json", s->dir);
	snprintf(out_path, sizeof(out_path), "%s/check.txt", s->dir);
	assert_int_equal(fx_write_file(config_path, s->config), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC,
	                                 0600);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* check_config and init both refuse the site, for `code` at `path`. */
static void assert_both_refuse(struct site *s, const char *code, const char *path)
{
	struct reports check = {0}, init = {0};

	assert_int_equal(api->check_config(s->config, strlen(s->config), record_report, &check),
	                 -EINVAL);
	assert_int_equal(check.n, 1);
	assert_string_equal(check.errors[0].code, code);
	assert_string_equal(check.errors[0].path, path);
	assert_true(check.errors[0].has_message);
	assert_true(check.errors[0].has_fix);
	assert_int_equal(access(site_file(s, "presence.db"), F_OK), -1);

	assert_true(run_init(s, &init) < 0);
	assert_true(init.n >= 1);
	assert_string_equal(init.errors[0].code, code);
	assert_string_equal(init.errors[0].path, path);
	assert_true(init.errors[0].has_fix);

	assert_int_not_equal(run_host_check(s), 0);
}

static void a_good_site_is_usable_for_both_and_check_creates_nothing(void **state)
{
	struct site *s = *state;
	struct reports check = {0}, init = {0};

	assert_int_equal(api->check_config(s->config, strlen(s->config), record_report, &check), 0);
	assert_int_equal(check.n, 0);
	assert_int_equal(run_host_check(s), 0);
	assert_int_equal(access(site_file(s, "presence.db"), F_OK), -1);
	assert_int_equal(access(site_file(s, "presence.db-wal"), F_OK), -1);

	assert_int_equal(run_init(s, &init), 0);
	assert_int_equal(init.n, 0);
	/* Once porter made the database, the site is still usable. */
	assert_int_equal(api->check_config(s->config, strlen(s->config), record_report, &check), 0);
}

static void a_key_file_others_can_read_is_refused_by_both(void **state)
{
	struct site *s = *state;

	assert_int_equal(chmod(site_file(s, "pin.key"), 0644), 0);
	assert_both_refuse(s, "PORTER-KEY", "$.local.pin_key_file");
}

static void a_missing_key_file_is_refused_by_both(void **state)
{
	struct site *s = *state;

	assert_int_equal(unlink(site_file(s, "pin.key")), 0);
	assert_both_refuse(s, "PORTER-KEY", "$.local.pin_key_file");
}

static void a_missing_directory_file_is_refused_by_both(void **state)
{
	struct site *s = *state;

	assert_int_equal(unlink(site_file(s, "directory.json")), 0);
	assert_both_refuse(s, "PORTER-DIRECTORY", "$.local.directory");
}

static void a_broken_directory_file_is_refused_by_both(void **state)
{
	struct site *s = *state;

	assert_int_equal(fx_write_file(site_file(s, "directory.json"), "{\"people\":["), 0);
	assert_both_refuse(s, "PORTER-DIRECTORY", "$.local.directory");
}

static void a_database_in_a_missing_folder_is_refused_by_both(void **state)
{
	struct site *s = *state;
	char db[FX_PATH_MAX + 32];

	snprintf(db, sizeof(db), "%s/nowhere/presence.db", s->dir);
	use_database(s, db);
	assert_both_refuse(s, "PORTER-DATABASE", "$.local.database");
}

static void a_database_under_a_file_is_refused_by_both(void **state)
{
	struct site *s = *state;
	char db[FX_PATH_MAX + 32];

	snprintf(db, sizeof(db), "%s/directory.json/presence.db", s->dir);
	use_database(s, db);
	assert_both_refuse(s, "PORTER-DATABASE", "$.local.database");
}

/* Root may write anywhere, so as root the site is handed to `nobody` and
 * porter-host runs as nobody: `--check`, then a real start (init). Both must
 * fail, naming `code`. */
static void assert_both_refuse_as_nobody(struct site *s, const char *code)
{
	static const char *const files[] = {"", "/pin.key", "/directory.json", "/config.json",
	                                    "/ro"};
	char config_path[FX_PATH_MAX + 16], out[8192];

	snprintf(config_path, sizeof(config_path), "%s/config.json", s->dir);
	assert_int_equal(fx_write_file(config_path, s->config), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(s->path, sizeof(s->path), "%s%s", s->dir, files[i]);
		assert_int_equal(chown(s->path, 65534, 65534), 0);
	}
	for (int check = 1; check >= 0; check--) {
		int fd = open(site_file(s, "host.txt"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		              0600);
		int status;
		assert_true(fd >= 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int null = open("/dev/null", O_RDONLY);
			if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
			    dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0 ||
			    setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
				_exit(126);
			execl(fx_env("PORTER_HOST"), "porter-host", "--plugin", fx_env("PORTER_SO"),
			      "--config", config_path, check ? "--check" : NULL, (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
		close(fd);
		out[n > 0 ? n : 0] = '\0';
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 1);
		if (!strstr(out, code))
			fail_msg("porter-host%s as nobody did not name %s:\n%s",
			         check ? " --check" : "", code, out);
	}
}

static void a_database_in_a_folder_porter_cannot_write_is_refused_by_both(void **state)
{
	struct site *s = *state;
	char db[FX_PATH_MAX + 32];

	snprintf(db, sizeof(db), "%s/ro/presence.db", s->dir);
	assert_int_equal(mkdir(site_file(s, "ro"), 0500), 0);
	use_database(s, db);
	if (geteuid() == 0)
		assert_both_refuse_as_nobody(s, "PORTER-DATABASE");
	else
		assert_both_refuse(s, "PORTER-DATABASE", "$.local.database");
}

static void a_database_that_is_a_folder_is_refused_by_both(void **state)
{
	struct site *s = *state;

	assert_int_equal(mkdir(site_file(s, "presence.db"), 0700), 0);
	struct reports check = {0}, init = {0};
	assert_int_equal(api->check_config(s->config, strlen(s->config), record_report, &check),
	                 -EINVAL);
	assert_int_equal(check.n, 1);
	assert_string_equal(check.errors[0].code, "PORTER-DATABASE");
	assert_true(check.errors[0].has_fix);
	assert_true(run_init(s, &init) < 0);
	assert_true(init.n >= 1);
	assert_string_equal(init.errors[0].code, "PORTER-DATABASE");
}

/* Lost state is not a first start: once porter has made the database, its
 * disappearance is refused by check_config too, not only by init. */
static void a_database_porter_made_and_that_is_gone_is_refused_by_both(void **state)
{
	struct site *s = *state;
	struct reports init = {0};

	assert_int_equal(run_init(s, &init), 0);
	assert_int_equal(unlink(site_file(s, "presence.db")), 0);
	unlink(site_file(s, "presence.db-wal"));
	unlink(site_file(s, "presence.db-shm"));
	assert_both_refuse(s, "PORTER-DATABASE", "$.local.database");
}

#define T(f) cmocka_unit_test_setup_teardown(f, site_setup, site_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(a_good_site_is_usable_for_both_and_check_creates_nothing),
	        T(a_key_file_others_can_read_is_refused_by_both),
	        T(a_missing_key_file_is_refused_by_both),
	        T(a_missing_directory_file_is_refused_by_both),
	        T(a_broken_directory_file_is_refused_by_both),
	        T(a_database_in_a_missing_folder_is_refused_by_both),
	        T(a_database_under_a_file_is_refused_by_both),
	        T(a_database_in_a_folder_porter_cannot_write_is_refused_by_both),
	        T(a_database_that_is_a_folder_is_refused_by_both),
	        T(a_database_porter_made_and_that_is_gone_is_refused_by_both),
	};
	if (!fx_env("PORTER_SO") || !fx_env("PORTER_ADMIN") || !fx_env("PORTER_HOST")) {
		fprintf(stderr, "PORTER_SO, PORTER_ADMIN and PORTER_HOST must name the built "
		                "files (meson test sets them)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
