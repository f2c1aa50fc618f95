/* SPDX-License-Identifier: MIT */
/*
 * test_config_text.c: text a standard JSON parser refuses, porter refuses,
 * in the config and in the directory file, and check_config's return values
 * (issue 10, items 2 and 4).
 *
 * porter.so is loaded through porter.h ($PORTER_SO) on a site made with the
 * real porter-admin, so every file the config names exists: a refusal here
 * is the text's, never a missing file's. Each bad text is given to
 * check_config, init, and reload on a running porter; all three refuse it
 * with -EINVAL and one error report whose path says where and whose message
 * says what. Where JSON allows something porter still refuses (a number
 * beyond a double, \u0000 in a string), the refusal is a documented porter
 * rule with its own code, PORTER-CFG-TEXT-RULE.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_loop.h"
#include "loaded_porter.h"
#include "porter.h"
#include "porter_fixture.h"

struct reports {
	size_t n;
	char code[64], path[192], message[1024];
};

static void record_report(void *userdata, const struct porter_report *r)
{
	struct reports *rs = userdata;
	if (r->severity != PORTER_SEVERITY_ERROR)
		return;
	if (rs->n++ > 0)
		return; /* the first one is asserted on; n counts them all */
	snprintf(rs->code, sizeof(rs->code), "%s", r->code ? r->code : "");
	snprintf(rs->path, sizeof(rs->path), "%s", r->path ? r->path : "(null)");
	snprintf(rs->message, sizeof(rs->message), "%s", r->message ? r->message : "");
}

static void quiet_log(void *userdata, uint32_t level, const char *message)
{
	(void)userdata;
	(void)level;
	(void)message;
}

/* One site for the whole group; porter runs on it for the reload tests. */
static struct {
	char dir[FX_PATH_MAX];
	char directory[FX_PATH_MAX + 32];
	char *directory_text; /* as porter-admin wrote it */
	struct host_loop *loop;
	porter_plugin *running;
} site;

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n = 0, cap = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = 2 * cap + 4096 + 1;
			char *t = realloc(text, cap);
			if (!t)
				break;
			text = t;
		}
		size_t k = fread(text + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	if (text)
		text[n] = '\0';
	return text;
}

static int group_setup(void **state)
{
	struct host_loop_callbacks cb = {.log = quiet_log};
	if (load_porter(state) < 0 || fx_mkdtemp(site.dir) < 0)
		return -1;
	if (fx_make_site(fx_env("PORTER_ADMIN"), site.dir, FX_ANA) != 0)
		return -1;
	snprintf(site.directory, sizeof(site.directory), "%s/directory.json", site.dir);
	site.directory_text = read_all(site.directory);
	site.loop = host_loop_new(&cb);
	char *config = fx_config(site.dir, "");
	if (!site.directory_text || !site.loop || !config)
		return -1;
	int r = api->init(host_loop_services(site.loop), config, strlen(config), NULL, NULL,
	                  &site.running);
	free(config);
	return r == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	if (site.running)
		api->shutdown(site.running);
	if (site.loop) {
		host_loop_drop_invokes(site.loop);
		host_loop_free(site.loop);
	}
	fx_rmrf(site.dir);
	free(site.directory_text);
	return unload_porter(state);
}

/* The site's config, with `extra` members at the top level ("" for none). */
static char *config_with(const char *extra)
{
	char *text = fx_config(site.dir, extra);
	assert_non_null(text);
	return text;
}

/* `text` with its first `from` replaced by `to`. */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	assert_non_null(at);
	size_t len = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(len);
	assert_non_null(out);
	snprintf(out, len, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void assert_report(const struct reports *rs, const char *who, const char *code,
                          const char *path, const char *what)
{
	if (rs->n != 1 || strcmp(rs->code, code) != 0 || strcmp(rs->path, path) != 0 ||
	    !strstr(rs->message, what))
		fail_msg("%s: %zu error reports, the first %s at %s: \"%s\"; expected one, %s at "
		         "%s saying \"%s\"",
		         who, rs->n, rs->code, rs->path, rs->message, code, path, what);
}

/* check_config, init and reload all refuse `config` (-EINVAL), each with one
 * report of `code` at `path` whose message holds `what`; the running porter
 * is still running afterwards. */
static void assert_refused(const char *config, size_t len, const char *code, const char *path,
                           const char *what)
{
	struct reports check = {0}, init = {0}, reload = {0};
	porter_plugin *p = NULL;

	assert_int_equal(api->check_config(config, len, record_report, &check), -EINVAL);
	assert_report(&check, "check_config", code, path, what);

	struct host_loop *loop = host_loop_new(NULL);
	assert_non_null(loop);
	int r = api->init(host_loop_services(loop), config, len, record_report, &init, &p);
	if (r == 0)
		api->shutdown(p);
	host_loop_drop_invokes(loop);
	host_loop_free(loop);
	assert_int_equal(r, -EINVAL);
	assert_report(&init, "init", code, path, what);

	assert_int_equal(api->reload(site.running, config, len, record_report, &reload), -EINVAL);
	assert_report(&reload, "reload", code, path, what);
}

struct text_case {
	const char *extra; /* top-level members appended to the site's config */
	const char *code, *path, *what;
};

#define SYNTAX "PORTER-CFG-SYNTAX"
#define RULE   "PORTER-CFG-TEXT-RULE"
#define DUP    "PORTER-CFG-DUPLICATE"

static const struct text_case config_cases[] = {
        /* Numbers: RFC 8259's grammar, nothing more. */
        {",\"repeat_window_ms\":5000.", SYNTAX, "$.repeat_window_ms", "not a JSON number"},
        {",\"repeat_window_ms\":.5", SYNTAX, "$.repeat_window_ms", "not a JSON number"},
        {",\"repeat_window_ms\":05", SYNTAX, "$.repeat_window_ms", "not a JSON number"},
        {",\"repeat_window_ms\":+1", SYNTAX, "$.repeat_window_ms", "not a JSON number"},
        {",\"repeat_window_ms\":1e", SYNTAX, "$.repeat_window_ms", "not a JSON number"},
        {",\"repeat_window_ms\":0x10", SYNTAX, "$.repeat_window_ms", "not a JSON number"},
        {",\"repeat_window_ms\":NaN", SYNTAX, "$.repeat_window_ms", "NaN"},
        {",\"repeat_window_ms\":Infinity", SYNTAX, "$.repeat_window_ms", "Infinity"},
        {",\"repeat_window_ms\":-Infinity", SYNTAX, "$.repeat_window_ms", "Infinity"},
        /* Quotes, commas, comments. */
        {",\"keypad\":{'pin_min_length':4}", SYNTAX, "$.keypad", "single quotes"},
        {",\"texts\":{\"checked_in\":'Hello'}", SYNTAX, "$.texts.checked_in", "single quotes"},
        {",\"keypad\":{pin_min_length:4}", SYNTAX, "$.keypad", "double quotes"},
        {",\"keypad\":{\"pin_min_length\":4,}", SYNTAX, "$.keypad", "trailing comma"},
        {",\"readers\":[{\"id\":\"front\"},]", SYNTAX, "$.readers", "trailing comma"},
        {",\"keypad\":{/* four */\"pin_min_length\":4}", SYNTAX, "$.keypad", "comment"},
        {",\"keypad\":{\"pin_min_length\":4 // four\n}", SYNTAX, "$.keypad.pin_min_length",
         "comment"},
        /* Text inside strings and keys. */
        {",\"texts\":{\"checked_in\":\"Hi \xC0\xAF\"}", SYNTAX, "$.texts.checked_in",
         "invalid UTF-8"},
        {",\"keypad\":{\"pin\xC0\xAF\":4}", SYNTAX, "$.keypad", "invalid UTF-8"},
        {",\"texts\":{\"checked_in\":\"Hi \xED\xA0\x80\"}", SYNTAX, "$.texts.checked_in",
         "invalid UTF-8"},
        {",\"texts\":{\"checked_in\":\"Hi \\ud800\"}", SYNTAX, "$.texts.checked_in", "surrogate"},
        {",\"texts\":{\"checked_in\":\"Hi\tthere\"}", SYNTAX, "$.texts.checked_in",
         "control character"},
        {",\"texts\":{\"checked_in\":\"Hi\\u0000there\"}", RULE, "$.texts.checked_in", "\\u0000"},
        /* Keys. */
        {",\"repeat_window_ms\":100,\"repeat_window_ms\":200", DUP, "$.repeat_window_ms",
         "appears twice"},
        {",\"readers\":[{\"id\":\"front\"},{\"id\":\"back\",\"id\":\"side\"}]", DUP,
         "$.readers[1].id", "appears twice"},
        /* Valid JSON that porter cannot hold as a number. */
        {",\"repeat_window_ms\":1e400", RULE, "$.repeat_window_ms", "beyond"},
        {",\"repeat_window_ms\":-1e400", RULE, "$.repeat_window_ms", "beyond"},
};

static void config_text_a_standard_parser_refuses_is_refused_with_its_path(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		const struct text_case *c = &config_cases[i];
		char *config = config_with(c->extra);
		print_message("config case %zu\n", i);
		assert_refused(config, strlen(config), c->code, c->path, c->what);
		free(config);
	}
}

static void a_byte_order_mark_is_refused(void **state)
{
	(void)state;
	char *config = config_with("");
	char *bom = replaced(config, "{", "\xEF\xBB\xBF{");
	assert_refused(bom, strlen(bom), SYNTAX, "$", "byte order mark");
	free(bom);
	free(config);
}

/* json-c cuts a key at its NUL: "local\u0000x" would pass as "local". */
static void a_key_holding_u0000_is_not_read_as_its_prefix(void **state)
{
	(void)state;
	char *config = config_with("");
	char *nul = replaced(config, "\"local\":", "\"local\\u0000x\":");
	assert_refused(nul, strlen(nul), RULE, "$[\"local\\u0000x\"]", "\\u0000");
	free(nul);
	free(config);
}

/* A config porter takes still goes through, so the refusals above are the
 * text's and not the site's. */
static void the_site_config_itself_is_accepted(void **state)
{
	(void)state;
	char *config =
	        config_with(",\"repeat_window_ms\":1e3,\"texts\":{\"checked_in\":\"H\\u00e9\"}");
	assert_int_equal(api->check_config(config, strlen(config), NULL, NULL), 0);
	free(config);
}

/* ---- The directory file ------------------------------------------------ */

/* A person without a name yet, and one with all a member needs. */
#define PERSON "{\"id\":\"m-zoe\",\"kind\":\"member\""
#define ZOE    PERSON ",\"name\":\"Zoe\""

struct directory_case {
	const char *text; /* the whole directory file */
	const char *what; /* in the PORTER-DIRECTORY message */
};

static const struct directory_case directory_cases[] = {
        {"{\"porter_directory\":1.,\"people\":[]}", "not a JSON number"},
        {"{\"porter_directory\":.5,\"people\":[]}", "not a JSON number"},
        {"{\"porter_directory\":01,\"people\":[]}", "not a JSON number"},
        {"{\"porter_directory\":+1,\"people\":[]}", "not a JSON number"},
        {"{\"porter_directory\":1e,\"people\":[]}", "not a JSON number"},
        {"{\"porter_directory\":0x1,\"people\":[]}", "not a JSON number"},
        {"{\"porter_directory\":NaN,\"people\":[]}", "NaN"},
        {"{\"porter_directory\":Infinity,\"people\":[]}", "Infinity"},
        {"{\"porter_directory\":-Infinity,\"people\":[]}", "Infinity"},
        {"{'porter_directory':1,\"people\":[]}", "single quotes"},
        {"{\"porter_directory\":1,\"people\":[" ZOE ",\"valid_from\":'x'}]}", "single quotes"},
        {"{porter_directory:1,\"people\":[]}", "double quotes"},
        {"{\"porter_directory\":1,\"people\":[],}", "trailing comma"},
        {"{\"porter_directory\":1,\"people\":[" ZOE "},]}", "trailing comma"},
        {"{\"porter_directory\":1,/* c */\"people\":[]}", "comment"},
        {"{\"porter_directory\":1,\"people\":[" PERSON ",\"name\":\"Zo\xC0\xAF\"}]}",
         "invalid UTF-8"},
        {"{\"porter_directory\":1,\"people\":[{\"na\xC0\xAF\":\"x\"}]}", "invalid UTF-8"},
        {"{\"porter_directory\":1,\"people\":[{\"name\":\"Zo\xED\xA0\x80\"}]}", "invalid UTF-8"},
        {"{\"porter_directory\":1,\"people\":[{\"name\":\"Zo\\ud800\"}]}", "surrogate"},
        {"{\"porter_directory\":1,\"people\":[{\"name\":\"Zo\te\"}]}", "control character"},
        {"\xEF\xBB\xBF{\"porter_directory\":1,\"people\":[]}", "byte order mark"},
        {"{\"porter_directory\":1,\"people\":[{\"id\\u0000x\":\"m-zoe\"}]}", "\\u0000"},
        {"{\"porter_directory\":1,\"people\":[" PERSON ",\"name\":\"Zo\\u0000e\"}]}", "\\u0000"},
        {"{\"porter_directory\":1,\"porter_directory\":1,\"people\":[]}",
         "$.porter_directory appears twice in one object"},
        {"{\"porter_directory\":1,\"people\":[" ZOE "}," ZOE ",\"kind\":\"visitor\"}]}",
         "$.people[1].kind appears twice in one object"},
};

static void directory_text_a_standard_parser_refuses_is_refused_with_its_path(void **state)
{
	(void)state;
	char *config = config_with("");
	for (size_t i = 0; i < sizeof(directory_cases) / sizeof(directory_cases[0]); i++) {
		print_message("directory case %zu\n", i);
		assert_int_equal(fx_write_file(site.directory, directory_cases[i].text), 0);
		assert_refused(config, strlen(config), "PORTER-DIRECTORY", "$.local.directory",
		               directory_cases[i].what);
	}
	assert_int_equal(fx_write_file(site.directory, site.directory_text), 0);
	assert_int_equal(api->check_config(config, strlen(config), NULL, NULL), 0);
	free(config);
}

/* A duplicate is told in the same words in both files: its path, then
 * "appears twice in one object", then where. */
static void a_duplicate_key_reads_alike_in_config_and_directory(void **state)
{
	(void)state;
	struct reports in_config = {0}, in_directory = {0};
	char *config = config_with(",\"keypad\":{\"pin_min_length\":4,\n\"pin_min_length\":5}");
	char *good = config_with("");
	assert_int_equal(api->check_config(config, strlen(config), record_report, &in_config),
	                 -EINVAL);
	assert_int_equal(fx_write_file(site.directory,
	                               "{\"porter_directory\":1,\"people\":[],\n\"people\":[]}"),
	                 0);
	assert_int_equal(api->check_config(good, strlen(good), record_report, &in_directory),
	                 -EINVAL);
	assert_int_equal(fx_write_file(site.directory, site.directory_text), 0);
	assert_string_equal(in_config.code, DUP);
	assert_string_equal(
	        in_config.message,
	        "$.keypad.pin_min_length appears twice in one object (line 2, column 1)");
	assert_string_equal(in_directory.code, "PORTER-DIRECTORY");
	const char *want = ": $.people appears twice in one object (line 2, column 1)";
	size_t n = strlen(in_directory.message);
	assert_true(n > strlen(want)); /* after "directory FILE" */
	assert_string_equal(in_directory.message + n - strlen(want), want);
	free(config);
	free(good);
}

/* ---- check_config's return values (porter.h) --------------------------- */

#define MAX_TEXT (256 * 1024) /* porter.h: the longest config text porter reads */

/* The site's config padded with spaces to `len` bytes. */
static char *padded_config(size_t len)
{
	char *config = config_with("");
	size_t n = strlen(config);
	char *text = malloc(len + 1);
	assert_non_null(text);
	assert_true(n <= len);
	memcpy(text, config, n);
	memset(text + n, ' ', len - n);
	text[len] = '\0';
	free(config);
	return text;
}

static void a_usable_config_returns_0_with_or_without_a_report_function(void **state)
{
	(void)state;
	struct reports rs = {0};
	char *config = padded_config(MAX_TEXT); /* the limit itself is allowed */
	assert_int_equal(api->check_config(config, MAX_TEXT, record_report, &rs), 0);
	assert_int_equal(rs.n, 0);
	assert_int_equal(api->check_config(config, MAX_TEXT, NULL, NULL), 0);
	assert_int_equal(api->reload(site.running, config, MAX_TEXT, NULL, NULL), 0);
	free(config);
}

static void text_over_the_size_limit_is_E2BIG_for_check_init_and_reload(void **state)
{
	(void)state;
	struct reports check = {0}, init = {0}, reload = {0};
	char *config = padded_config(MAX_TEXT + 1);
	porter_plugin *p = NULL;

	assert_int_equal(api->check_config(config, MAX_TEXT + 1, record_report, &check), -E2BIG);
	assert_report(&check, "check_config", "PORTER-CFG-SIZE", "$", "at most 262144");
	assert_int_equal(api->check_config(config, MAX_TEXT + 1, NULL, NULL), -E2BIG);

	struct host_loop *loop = host_loop_new(NULL);
	assert_non_null(loop);
	int r = api->init(host_loop_services(loop), config, MAX_TEXT + 1, record_report, &init, &p);
	if (r == 0)
		api->shutdown(p);
	host_loop_drop_invokes(loop);
	host_loop_free(loop);
	assert_int_equal(r, -E2BIG);
	assert_report(&init, "init", "PORTER-CFG-SIZE", "$", "at most 262144");

	assert_int_equal(api->reload(site.running, config, MAX_TEXT + 1, record_report, &reload),
	                 -E2BIG);
	assert_report(&reload, "reload", "PORTER-CFG-SIZE", "$", "at most 262144");
	free(config);
}

static void a_wrong_config_or_no_text_is_EINVAL_with_or_without_a_report_function(void **state)
{
	(void)state;
	char *config = config_with(",\"repeat_window_ms\":\"soon\"");
	assert_int_equal(api->check_config(config, strlen(config), NULL, NULL), -EINVAL);
	assert_int_equal(api->check_config(NULL, 10, NULL, NULL), -EINVAL);
	assert_int_equal(api->check_config(NULL, 0, NULL, NULL), -EINVAL); /* empty text */
	free(config);
}

/* -E2BIG is the config text's alone: a directory file with more people than
 * porter takes is a file the config names that cannot be used, -EINVAL, as
 * init says. */
static void a_directory_over_its_people_limit_is_EINVAL_not_E2BIG(void **state)
{
	(void)state;
	struct reports check = {0};
	size_t people = 200001, cap = people * 64 + 64, n = 0;
	char *text = malloc(cap);
	char *config = config_with("");
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "{\"porter_directory\":1,\"people\":[");
	for (size_t i = 0; i < people; i++)
		n += (size_t)snprintf(text + n, cap - n,
		                      "%s{\"id\":\"m%zu\",\"kind\":\"member\",\"name\":\"A\"}",
		                      i ? "," : "", i);
	snprintf(text + n, cap - n, "]}");
	assert_int_equal(fx_write_file(site.directory, text), 0);
	free(text);
	assert_int_equal(api->check_config(config, strlen(config), record_report, &check), -EINVAL);
	assert_report(&check, "check_config", "PORTER-DIRECTORY", "$.local.directory",
	              "more than 200000");
	assert_int_equal(fx_write_file(site.directory, site.directory_text), 0);
	free(config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(the_site_config_itself_is_accepted),
	        cmocka_unit_test(config_text_a_standard_parser_refuses_is_refused_with_its_path),
	        cmocka_unit_test(a_byte_order_mark_is_refused),
	        cmocka_unit_test(a_key_holding_u0000_is_not_read_as_its_prefix),
	        cmocka_unit_test(directory_text_a_standard_parser_refuses_is_refused_with_its_path),
	        cmocka_unit_test(a_duplicate_key_reads_alike_in_config_and_directory),
	        cmocka_unit_test(a_usable_config_returns_0_with_or_without_a_report_function),
	        cmocka_unit_test(text_over_the_size_limit_is_E2BIG_for_check_init_and_reload),
	        cmocka_unit_test(
	                a_wrong_config_or_no_text_is_EINVAL_with_or_without_a_report_function),
	        cmocka_unit_test(a_directory_over_its_people_limit_is_EINVAL_not_E2BIG),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
