/* SPDX-License-Identifier: MIT */
/*
 * test_reload_restart.c: the backend and its settings take a restart, never
 * a reload. porter.so runs with the webhook backend (recording_host.h); the
 * test reloads it with one setting changed at a time, for every setting of
 * the sections the backend is built from at init: "backend", "webhook",
 * "nexudus", "outbox", "offline". The settings are read from plugin.json's
 * schema, not listed here, so a setting added there is tested (and must be
 * refused) without touching this file. A reload that changes nothing there
 * (other settings, the same values spelled with their defaults and in
 * another order) is taken.
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
#include <json-c/json.h>

#include "recording_host.h"

/* The sections backend_setup_start() builds the backend and outbox from. */
static const char *const restart_sections[] = {"backend", "webhook", "nexudus", "outbox",
                                               "offline"};
#define N_SECTIONS (sizeof(restart_sections) / sizeof(restart_sections[0]))

static json_object *schema_properties; /* plugin.json's config_schema.properties */
static json_object *manifest;

static int setup(void **state)
{
	char path[FX_PATH_MAX + 64];
	const char *src = fx_env("PORTER_SOURCE_DIR");
	if (!src)
		return -1;
	snprintf(path, sizeof(path), "%s/plugin.json", src);
	manifest = json_object_from_file(path);
	json_object *schema = NULL;
	if (!manifest || !json_object_object_get_ex(manifest, "config_schema", &schema) ||
	    !json_object_object_get_ex(schema, "properties", &schema_properties))
		return -1;
	if (site_open(state,
	              &(struct site_options){.people = FX_ANA, .echo_level = -1}) < 0)
		return -1;
	struct site *s = *state;
	snprintf(path, sizeof(path), "%s/webhook.secret", s->dir);
	if (fx_write_file(path, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/nexudus.credentials", s->dir);
	return fx_write_file(path, "porter@example.com\nnot-a-real-password\n") < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	json_object_put(manifest);
	return site_close(state);
}

static void add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

/* The site's config: the webhook backend (to a port nobody listens on: no
 * change is made, nothing is sent) and a Nexudus section it does not use. */
static json_object *base_config(const struct site *s)
{
	char path[FX_PATH_MAX + 64];
	json_object *c = json_object_new_object(), *local = json_object_new_object();
	json_object *webhook = json_object_new_object(), *nexudus = json_object_new_object();
	add_string(c, "backend", "webhook");
	snprintf(path, sizeof(path), "%s/directory.json", s->dir);
	add_string(local, "directory", path);
	add_string(local, "database", s->db_path);
	snprintf(path, sizeof(path), "%s/pin.key", s->dir);
	add_string(local, "pin_key_file", path);
	json_object_object_add(c, "local", local);
	add_string(webhook, "url", "https://127.0.0.1:9/porter");
	snprintf(path, sizeof(path), "%s/webhook.secret", s->dir);
	add_string(webhook, "secret_file", path);
	json_object_object_add(c, "webhook", webhook);
	json_object_object_add(nexudus, "business_id", json_object_new_int64(1234567));
	snprintf(path, sizeof(path), "%s/nexudus.credentials", s->dir);
	add_string(nexudus, "credentials_file", path);
	json_object_object_add(c, "nexudus", nexudus);
	return c;
}

static int call(struct site *s, bool init, json_object *config)
{
	const char *text = json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN);
	s->n_reports = 0;
	s->in_call = true;
	int r = init ? api->init(&s->services, text, strlen(text), rec_report, s, &s->porter)
	             : api->reload(s->porter, text, strlen(text), rec_report, s);
	s->in_call = false;
	return r;
}

static void start_base(struct site *s)
{
	json_object *c = base_config(s);
	s->shut_down = false;
	int r = call(s, true, c);
	if (r != 0)
		fail_msg("init: %d (%s)", r, s->n_reports ? s->reports[0].message : "no report");
	json_object_put(c);
}

/* A value of `prop` (its schema) other than `now` (NULL: not set) that the
 * schema and porter's rules accept. */
static json_object *other_value(const char *name, json_object *prop, json_object *now)
{
	json_object *type = NULL, *e = NULL, *min = NULL;
	json_object_object_get_ex(prop, "type", &type);
	if (json_object_object_get_ex(prop, "enum", &e)) {
		for (size_t i = 0; i < json_object_array_length(e); i++) {
			const char *v = json_object_get_string(json_object_array_get_idx(e, i));
			if (!now || strcmp(v, json_object_get_string(now)) != 0)
				return json_object_new_string(v);
		}
	}
	const char *t = json_object_get_string(type);
	if (strcmp(t, "integer") == 0) {
		int64_t lo = json_object_object_get_ex(prop, "minimum", &min)
		                     ? json_object_get_int64(min)
		                     : 1;
		return json_object_new_int64(now && json_object_get_int64(now) == lo ? lo + 1 : lo);
	}
	if (strcmp(t, "boolean") == 0)
		return json_object_new_boolean(!(now && json_object_get_boolean(now)));
	if (strcmp(t, "array") == 0) { /* pinned_public_keys: one pin */
		json_object *a = json_object_new_array();
		json_object_array_add(
		        a, json_object_new_string(
		                   "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
		return a;
	}
	if (strcmp(t, "string") == 0) {
		char text[FX_PATH_MAX + 16];
		if (strstr(name, "url"))
			snprintf(text, sizeof(text), "https://127.0.0.1:9/other");
		else /* a file: another path */
			snprintf(text, sizeof(text), "%s.other",
			         now ? json_object_get_string(now) : "/etc/porter/some");
		return json_object_new_string(text);
	}
	fail_msg("%s: no other value for schema type %s; teach this test", name, t);
	return NULL;
}

/* Reload with `config` and expect it refused as a restart-only change. */
static void assert_reload_refused(struct site *s, json_object *config, const char *what)
{
	int r = call(s, false, config);
	if (r != -EINVAL || !find_report(s, "PORTER-RESTART"))
		fail_msg("a reload changing %s: %d, %s (want -EINVAL, PORTER-RESTART)", what, r,
		         s->n_reports ? s->reports[0].code : "no report");
	const struct seen_report *rep = find_report(s, "PORTER-RESTART");
	assert_string_equal(rep->path, "$.backend");
}

static void every_backend_setting_takes_a_restart(void **state)
{
	struct site *s = *state;
	size_t tried = 0;
	start_base(s);
	for (size_t i = 0; i < N_SECTIONS; i++) {
		const char *section = restart_sections[i];
		json_object *schema = NULL, *props = NULL;
		assert_true(json_object_object_get_ex(schema_properties, section, &schema));
		if (!json_object_object_get_ex(schema, "properties", &props)) {
			/* A plain value ("backend"). */
			json_object *c = base_config(s), *now = NULL;
			json_object_object_get_ex(c, section, &now);
			json_object_object_add(c, section, other_value(section, schema, now));
			assert_reload_refused(s, c, section);
			json_object_put(c);
			tried++;
			continue;
		}
		json_object_object_foreach(props, name, prop)
		{
			char what[128];
			json_object *c = base_config(s), *obj = NULL, *now = NULL;
			if (!json_object_object_get_ex(c, section, &obj)) {
				obj = json_object_new_object();
				json_object_object_add(c, section, obj);
			}
			json_object_object_get_ex(obj, name, &now);
			if (!now)
				json_object_object_get_ex(prop, "default", &now);
			json_object_object_add(obj, name, other_value(name, prop, now));
			snprintf(what, sizeof(what), "%s.%s", section, name);
			assert_reload_refused(s, c, what);
			json_object_put(c);
			tried++;
		}
	}
	assert_true(tried >= 17); /* today's settings, at least */
	/* Refused reloads kept the running config: it reloads as it is. */
	json_object *c = base_config(s);
	assert_int_equal(call(s, false, c), 0);
	json_object_put(c);
	stop(s);
}

static void a_reload_leaving_the_backend_as_it_is_is_taken(void **state)
{
	struct site *s = *state;
	start_base(s);

	/* Other settings changed. */
	json_object *c = base_config(s);
	json_object_object_add(c, "repeat_window_ms", json_object_new_int(1234));
	assert_int_equal(call(s, false, c), 0);
	json_object_put(c);

	/* The same backend spelled otherwise: defaults written out, members
	 * in another order. */
	char path[FX_PATH_MAX + 64];
	json_object *d = json_object_new_object(), *webhook = json_object_new_object();
	json_object *outbox = json_object_new_object(), *nexudus = json_object_new_object();
	json_object *local = NULL;
	c = base_config(s);
	json_object_object_add(outbox, "retry_max_s", json_object_new_int(300));
	json_object_object_add(d, "outbox", outbox);
	json_object_object_add(webhook, "timeout_ms", json_object_new_int(10000));
	snprintf(path, sizeof(path), "%s/webhook.secret", s->dir);
	add_string(webhook, "secret_file", path);
	add_string(webhook, "url", "https://127.0.0.1:9/porter");
	json_object_object_add(d, "webhook", webhook);
	snprintf(path, sizeof(path), "%s/nexudus.credentials", s->dir);
	add_string(nexudus, "credentials_file", path);
	json_object_object_add(nexudus, "business_id", json_object_new_int64(1234567));
	json_object_object_add(d, "nexudus", nexudus);
	json_object_object_get_ex(c, "local", &local);
	json_object_object_add(d, "local", json_object_get(local));
	add_string(d, "backend", "webhook");
	assert_int_equal(call(s, false, d), 0);
	assert_null(find_report(s, "PORTER-RESTART"));
	json_object_put(c);
	json_object_put(d);
	stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(every_backend_setting_takes_a_restart, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(a_reload_leaving_the_backend_as_it_is_is_taken,
	                                        setup, teardown),
	};
	return cmocka_run_group_tests(tests, load_porter, unload_porter);
}
