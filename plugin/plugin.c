/* SPDX-License-Identifier: MIT */
/*
 * plugin.c: porter's lifecycle. init and reload read files (config, key,
 * directory, presence): they are admin actions, not door events. Every hook
 * after that decides from memory.
 */
#include "plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "backend_setup.h"
#include "ble.h"
#include "ble_reader.h"
#include "diagnostics.h"
#include "directory_file.h"
#include "keypad.h"
#include "log.h"
#include "outbox.h"
#include "pin_hash.h"
#include "qr.h"
#include "recorder.h"
#include "usb_scanner.h"

/* Config problems go to the host's log and, when given, its report callback. */
struct report_sink {
	const struct porter_host_services *services;
	porter_report_fn report;
	void *userdata;
	size_t errors;
};

static void sink_report(void *userdata, const struct porter_report *r)
{
	struct report_sink *s = userdata;
	bool error = r->severity == PORTER_SEVERITY_ERROR;
	s->errors += error;
	plog(s->services, error ? PORTER_LOG_ERROR : PORTER_LOG_WARNING,
	     "config %s [%s] at %s: %s%s%s", error ? "error" : "warning", r->code ? r->code : "",
	     r->path ? r->path : "$", r->message ? r->message : "", r->fix ? " Fix: " : "",
	     r->fix ? r->fix : "");
	if (s->report)
		s->report(s->userdata, r);
}

static void sink_problem(struct report_sink *s, uint32_t severity, const char *code,
                         const char *path, const char *message, const char *fix)
{
	struct porter_report r = {
	        .size = sizeof(r),
	        .severity = severity,
	        .code = code,
	        .path = path,
	        .message = message,
	        .fix = fix && *fix ? fix : NULL,
	};
	sink_report(s, &r);
}

static void sink_error_fix(struct report_sink *s, const char *code, const char *path,
                           const char *message, const char *fix)
{
	sink_problem(s, PORTER_SEVERITY_ERROR, code, path, message, fix);
}

static void sink_error(struct report_sink *s, const char *code, const char *path,
                       const char *message)
{
	sink_error_fix(s, code, path, message, NULL);
}

static int64_t wall_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The local backend's inputs: the site key and the directory it hashes for. */
struct local_inputs {
	struct pin_hasher *hasher;
	struct directory *directory;
	uint8_t ble_seal[BLE_KEY_LEN]; /* the site key's BLE sealing key */
};

/* People sharing a PIN, named one pair a line up to a bound: a directory
 * where thousands share must not flood the host's log. */
#define SHARED_PIN_LINES_MAX 20

struct shared_pin_warnings {
	const struct porter_host_services *services;
	size_t pairs;
};

static void warn_shared_pin(void *userdata, const struct person *a, const struct person *b)
{
	struct shared_pin_warnings *w = userdata;
	if (w->pairs++ < SHARED_PIN_LINES_MAX)
		plog(w->services, PORTER_LOG_WARNING,
		     "directory: %s and %s have the same PIN; at the door it is resolved by "
		     "pin_collision or refused as ambiguous",
		     a->id, b->id);
}

/* What init, reload and a directory edit tell the admin about a directory
 * just loaded: shared PINs, and PORTER-D002. */
static void check_directory(const struct config *config, const struct directory *directory,
                            struct report_sink *sink)
{
	struct shared_pin_warnings shared = {sink->services, 0};
	directory_foreach_shared_pin(directory, warn_shared_pin, &shared);
	if (shared.pairs > SHARED_PIN_LINES_MAX)
		plog(sink->services, PORTER_LOG_WARNING,
		     "directory: %zu more pairs of people share a PIN (porter-admin check lists "
		     "them all)",
		     shared.pairs - SHARED_PIN_LINES_MAX);
	diagnostics_pin_space(config, directory_size(directory), sink_report, sink);
}

static int load_local_inputs(const struct config *config, struct report_sink *sink,
                             struct local_inputs *ret)
{
	char err[1536];
	uint8_t key[PIN_KEY_LEN];
	int r = pin_key_load(config->pin_key_path, key, err, sizeof(err));
	if (r < 0) {
		sink_error_fix(sink, "PORTER-KEY", "$.local.pin_key_file", err,
		               "local.pin_key_file must be a key made by `porter-admin keygen`, "
		               "owned by porter's user and readable by it alone (chmod 600).");
		return r;
	}
	ret->hasher = pin_hasher_new(key);
	r = ble_seal_key(key, ret->ble_seal);
	OPENSSL_cleanse(key, sizeof(key));
	if (r < 0)
		ret->hasher = pin_hasher_free(ret->hasher);
	if (!ret->hasher)
		return -ENOMEM;
	r = directory_file_load(config->directory_path, &ret->directory, err, sizeof(err));
	if (r == -ENOENT && config->backend == BACKEND_NEXUDUS) {
		/* The cache of a backend that owns the people: made by the first
		 * sync. Until then nobody is known, so nobody is let in. */
		plog(sink->services, PORTER_LOG_INFO,
		     "directory %s: not there yet; nobody is known until the first sync from "
		     "Nexudus writes it",
		     config->directory_path);
		ret->directory = directory_new(NULL, 0);
		r = ret->directory ? 0 : -ENOMEM;
	}
	if (r < 0) {
		sink_error_fix(sink, "PORTER-DIRECTORY", "$.local.directory", err,
		               "Correct the file (`porter-admin check --directory FILE` names the "
		               "problem; `porter-admin add` creates it) or point local.directory "
		               "at the right file.");
		ret->hasher = pin_hasher_free(ret->hasher);
		return r;
	}
	plog(sink->services, PORTER_LOG_INFO, "directory %s: %zu people", config->directory_path,
	     directory_size(ret->directory));
	check_directory(config, ret->directory, sink);
	return 0;
}

/* The visitor pass keys config names (none: no pass works). */
static int load_pass_keys(const struct config *config, struct report_sink *sink,
                          struct visitor_pass_keys **ret)
{
	char err[1536];
	const char *paths[2] = {config->visitor_pass_keys[0], config->visitor_pass_keys[1]};
	int r = visitor_pass_keys_load(paths, config->n_visitor_pass_keys, ret, err, sizeof(err));
	if (r < 0 && r != -ENOMEM)
		sink_error_fix(sink, "PORTER-PASS-KEY", "$.visitor_pass.public_keys", err,
		               "each file must be an Ed25519 public key from `porter-admin pass "
		               "keygen --public`, not writable by group or others (chmod 644)");
	return r;
}

static int pass_use_loaded(void *userdata, const char *pass_id, int64_t valid_until)
{
	return qr_pass_mark_used(userdata, pass_id, valid_until, INT64_MIN);
}

static void pass_used(void *userdata, const char *pass_id, int64_t valid_until)
{
	porter_plugin *p = userdata;
	if (qr_pass_mark_used(p->qr, pass_id, valid_until, p->engine.wall_clock_us() / 1000000) < 0)
		plog(&p->services, PORTER_LOG_ERROR,
		     "out of memory remembering a used visitor pass; the database has it, a "
		     "restart reads it");
}

static void pass_returned(void *userdata, const char *pass_id)
{
	porter_plugin *p = userdata;
	qr_pass_forget(p->qr, pass_id);
}

/* porter.h's returns for a file the config names: a key or directory file
 * that cannot be used is a config problem like a bad setting (README step
 * 3), -EINVAL whatever the file error was (-ENOENT, -EFBIG, the directory's
 * -E2BIG for too many people); only -ENOMEM says something else. -E2BIG is
 * kept for the config text alone (config_parse). */
static int files_result(int r)
{
	return r < 0 && r != -ENOMEM ? -EINVAL : r;
}

/* Copy the host's table. Fields past its `size` are absent (NULL), so a
 * table too small to hold `complete` is told which required service it
 * lacks first, like a table with that service NULL. */
static int copy_services(porter_plugin *p, const struct porter_host_services *s)
{
	if (!s)
		return -EINVAL;
	size_t n = s->size < sizeof(p->services) ? s->size : sizeof(p->services);
	memcpy(&p->services, s, n & ~(sizeof(void *) - 1)); /* whole fields only */
	p->services.size = sizeof(p->services);
	return 0;
}

/* The services porter cannot work without (porter.h says which). Returns
 * the name of the first one missing, or NULL. log and the fd watches are
 * optional: without the watches, directory edits wait for a reload. */
static const char *missing_service(const struct porter_host_services *v)
{
	if (!v->now_us)
		return "now_us";
	if (!v->timer_add)
		return "timer_add";
	if (!v->timer_remove)
		return "timer_remove";
	if (!v->invoke)
		return "invoke";
	if (!v->door_unlock)
		return "door_unlock";
	if (!v->feedback)
		return "feedback";
	if (!v->complete)
		return "complete";
	return NULL;
}

static void plugin_free(porter_plugin *p)
{
	p->ble_reader = ble_reader_stop(p->ble_reader);
	p->usb = usb_scanners_stop(p->usb);
	p->outbox = outbox_stop(p->outbox); /* after the recorder: it tells the outbox */
	p->engine.outbox = NULL;
	p->directory_watch = directory_watch_stop(p->directory_watch);
	p->lockouts = lockout_control_stop(p->lockouts);
	p->readers = readers_free(p->readers);
	p->store = store_close(p->store);
	p->presence = presence_free(p->presence);
	p->directory = directory_free(p->directory);
	p->engine.hasher = pin_hasher_free(p->engine.hasher);
	p->qr = qr_memory_free(p->qr);
	p->pass_keys = visitor_pass_keys_free(p->pass_keys);
	p->ble = ble_state_free(p->ble);
	free(p);
}

/* check_config's view of the database: store_open's checks, nothing created. */
static int check_database(const char *path, struct report_sink *sink)
{
	struct store_open_report rep;
	int r = store_check(path, &rep);
	if (r < 0)
		sink_error_fix(sink, "PORTER-DATABASE", "$.local.database", rep.error, rep.fix);
	return r;
}

/* check_config's view of the backend's own files (secrets, CAs). */
static int check_backend_files(const struct config *config, struct report_sink *sink)
{
	char err[1024];
	const char *path = "$.backend";
	int r = backend_setup_check(config, err, sizeof(err), &path);
	if (r < 0)
		sink_error_fix(
		        sink, "PORTER-BACKEND", path, err,
		        "the file must exist, be readable by porter's user alone (chmod 600) "
		        "and hold what the setting's description says");
	return r;
}

static int start_engine(porter_plugin *p, struct report_sink *sink)
{
	char err[1536];
	struct engine *e = &p->engine;
	e->services = &p->services;
	e->config = &p->config;
	e->directory = p->directory;
	e->presence = p->presence = presence_new();
	e->readers = p->readers = readers_new();
	e->wall_clock_us = wall_clock_us;
	e->max_in_flight = ENGINE_MAX_IN_FLIGHT;
	e->visitor_checkin_blocked = diagnostics_visitor_checkin_blocked(&p->config);
	e->pass_used = pass_used;
	e->pass_returned = pass_returned;
	e->pass_userdata = p;
	p->qr = qr_memory_new();
	if (!p->presence || !p->readers || !p->qr)
		return -ENOMEM;
	struct store_open_report rep;
	int r = store_open(p->config.database_path, &p->store, &rep);
	if (r < 0) {
		sink_error_fix(sink, "PORTER-DATABASE", "$.local.database", rep.error, rep.fix);
		return r;
	}
	if (rep.warning[0])
		sink_problem(sink, PORTER_SEVERITY_WARNING, "PORTER-DATABASE", "$.local.database",
		             rep.warning, NULL);
	r = store_load_presence(p->store, engine_load_presence, e, err, sizeof(err));
	if (r == 0) /* since when: the daily check-out leaves later arrivals in */
		r = store_load_in_since(p->store, engine_load_since, e, err, sizeof(err));
	if (r == 0) /* single use survives a restart */
		r = store_load_pass_uses(p->store, pass_use_loaded, p->qr,
		                         e->wall_clock_us() / 1000000, err, sizeof(err));
	if (r == 0) { /* tokens used before this start stay used */
		p->ble->load_oldest_live =
		        ble_token_counter(e->wall_clock_us() / 1000000, p->config.ble_time_step_s) -
		        p->config.ble_drift_steps;
		r = store_load_ble_consumed(p->store, ble_state_load_used, p->ble, err,
		                            sizeof(err));
	}
	if (r < 0) {
		sink_error_fix(sink, "PORTER-DATABASE", "$.local.database", err,
		               "local.database must be porter's presence database (or not exist "
		               "yet), readable and writable by porter's user, in a folder it can "
		               "write.");
		return r;
	}
	r = lockout_control_start(&p->services, p->readers, &p->config, e, e->wall_clock_us,
	                          &p->lockouts);
	if (r < 0)
		return r;
	e->lockout_locked = lockout_control_locked;
	e->lockout_userdata = p->lockouts;
	const char *path = "$.backend";
	r = backend_setup_start(&p->config, &p->services, e, wall_clock_us, &p->outbox, err,
	                        sizeof(err), &path);
	if (r < 0) {
		sink_error_fix(sink, "PORTER-BACKEND", path, err,
		               "correct the backend's settings or its files; `porter-admin check "
		               "--config` names every problem");
		return r == -ENOMEM ? r : -EINVAL;
	}
	r = recorder_start(p->store, &p->services, engine_change_recorded, e, &e->recorder);
	if (r < 0)
		return r;
	engine_apply_retention(e);
	p->daily = (struct daily_checkout){&p->services, e, 0};
	daily_checkout_arm(&p->daily); /* catches up on a cut-off missed while down */
	return 0;
}

/* Phone check-in's keys of `directory`; ones that do not open are named. */
static void ble_directory(porter_plugin *p, const struct directory *directory)
{
	int bad = ble_state_directory(p->ble, directory);
	if (bad < 0)
		plog(&p->services, PORTER_LOG_ERROR,
		     "directory: out of memory for BLE keys; phone check-in knows nobody");
	else if (bad > 0)
		plog(&p->services, PORTER_LOG_WARNING,
		     "directory: %d BLE keys do not open with this site key (made under another "
		     "key, or copied from another person): make them again with porter-admin "
		     "ble key",
		     bad);
}

/* Put `directory` in force; the key, and so the hasher, stays. Changes in
 * flight hold copies of the person's id and name, never a pointer into a
 * directory, so the old one can go at once. */
static void swap_directory(porter_plugin *p, struct directory *directory)
{
	ble_directory(p, directory); /* first: the keyring points into the directory */
	directory_free(p->directory);
	p->engine.directory = p->directory = directory;
}

/* The directory watch loaded an edited file: checked as init checks it. */
static void directory_edited(void *userdata, struct directory *directory)
{
	porter_plugin *p = userdata;
	struct report_sink sink = {&p->services, NULL, NULL, 0};
	check_directory(&p->config, directory, &sink);
	swap_directory(p, directory);
}

/* porter's own BLE reader hands each advert to the BLE hook's path. */
static void ble_reader_event(void *userdata, const struct porter_ble_event *event)
{
	ble_from_driver(userdata, event);
}

static bool ble_reader_changed(const struct config *a, const struct config *b)
{
	return a->ble_reader_enabled != b->ble_reader_enabled ||
	       strcmp(a->ble_reader_adapter, b->ble_reader_adapter) != 0 ||
	       strcmp(a->ble_reader_id, b->ble_reader_id) != 0 ||
	       a->ble_reader_rssi_floor_dbm != b->ble_reader_rssi_floor_dbm ||
	       a->ble_reader_restart_after_s != b->ble_reader_restart_after_s;
}

/* (Re)start the reader as config says. A bus, bluetoothd or adapter that is
 * missing is no failure: diagnostics() says so until it is there. */
static void ble_reader_apply(porter_plugin *p)
{
	p->ble_reader = ble_reader_stop(p->ble_reader);
	if (!p->config.ble_reader_enabled)
		return;
	struct ble_reader_options o = {
	        .adapter = p->config.ble_reader_adapter,
	        .reader_id = p->config.ble_reader_id,
	        .rssi_floor_dbm = p->config.ble_reader_rssi_floor_dbm,
	        .restart_after_ms = p->config.ble_reader_restart_after_s * 1000,
	};
	int r = ble_reader_start(&p->services, &o, ble_reader_event, p, &p->ble_reader);
	if (r < 0)
		plog(&p->services, PORTER_LOG_ERROR, "BLE reader not started: %s", strerror(-r));
}

/* A scan from porter's own USB driver takes the QR hook's path. */
static void usb_scan(void *userdata, const char *reader_id, const uint8_t *data, size_t len)
{
	struct porter_qr_event event = {
	        .size = sizeof(event),
	        .reader_id = reader_id,
	        .data = data,
	        .data_len = len,
	};
	qr_from_driver(userdata, &event);
}

/* The USB driver as config usb_scanners says: started, reloaded (attached
 * scanners whose line is unchanged stay) or stopped. A driver that cannot
 * start leaves the rest of porter working; it says why in the log. */
static void apply_usb_scanners(porter_plugin *p)
{
	const struct usb_scanners_config *c = &p->config.usb_scanners;
	if (!c->enabled) {
		p->usb = usb_scanners_stop(p->usb);
	} else if (p->usb) {
		usb_scanners_reload(p->usb, c);
	} else {
		int r = usb_scanners_start(&p->services, c, usb_scan, p, &p->usb);
		if (r < 0)
			plog(&p->services, PORTER_LOG_ERROR,
			     "USB scanners not started (%s): scans come only from the host's on_qr",
			     strerror(-r));
	}
}

int plugin_init(const struct porter_host_services *services, const char *json, size_t len,
                porter_report_fn report, void *userdata, porter_plugin **ret)
{
	if (!ret || (!json && len))
		return -EINVAL;
	porter_plugin *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int r = copy_services(p, services);
	struct report_sink sink = {r == 0 ? &p->services : NULL, report, userdata, 0};
	const char *missing = r < 0 ? "a table (services is NULL)" : missing_service(&p->services);
	if (missing) {
		char message[160];
		snprintf(message, sizeof(message),
		         "the host's services lack %s, which porter needs; see porter.h", missing);
		sink_error(&sink, "PORTER-HOST", NULL, message);
		free(p);
		return -EINVAL;
	}
	struct local_inputs in = {0};
	r = config_parse(json, len, &p->config, sink_report, &sink); /* porter.h's returns */
	if (r == 0)
		r = files_result(load_local_inputs(&p->config, &sink, &in));
	p->engine.hasher = in.hasher;
	p->directory = in.directory;
	if (r == 0 && !(p->ble = ble_state_new(in.ble_seal)))
		r = -ENOMEM;
	OPENSSL_cleanse(in.ble_seal, sizeof(in.ble_seal));
	if (r == 0)
		ble_directory(p, p->directory);
	if (r == 0)
		r = files_result(load_pass_keys(&p->config, &sink, &p->pass_keys));
	if (r == 0)
		r = start_engine(p, &sink);
	if (r < 0) {
		plog(&p->services, PORTER_LOG_ERROR, "porter not started: %s", strerror(-r));
		plugin_free(p);
		return r;
	}
	/* Last: nothing after it fails. Without it porter works as before. */
	directory_watch_start(&p->services, p->config.directory_path, directory_edited, p,
	                      &p->directory_watch);
	outbox_begin(p->outbox);
	ble_reader_apply(p);
	apply_usb_scanners(p);
	plog(&p->services, PORTER_LOG_INFO,
	     "porter started: %zu people in the directory, %zu checked in",
	     directory_size(p->directory), presence_count_in(p->presence));
	*ret = p;
	return 0;
}

/* Everything init checks, files included, with nothing started: no thread,
 * no database created or written. File checks run as the calling process's
 * user, which an admin UI should make porter's. */
int plugin_check_config(const char *json, size_t len, porter_report_fn report, void *userdata)
{
	struct report_sink sink = {NULL, report, userdata, 0};
	struct local_inputs in = {0};
	struct config *config = malloc(sizeof(*config));
	if (!config)
		return -ENOMEM;
	int r = config_parse(json, len, config, report, userdata); /* porter.h's returns */
	if (r == 0) {
		r = load_local_inputs(config, &sink, &in);
		if (r == 0)
			r = check_database(config->database_path, &sink);
		if (r == 0)
			r = check_backend_files(config, &sink);
		struct visitor_pass_keys *keys = NULL;
		if (r == 0)
			r = load_pass_keys(config, &sink, &keys);
		visitor_pass_keys_free(keys);
		r = files_result(r);
	}
	in.directory = directory_free(in.directory);
	in.hasher = pin_hasher_free(in.hasher);
	OPENSSL_cleanse(in.ble_seal, sizeof(in.ble_seal));
	free(config);
	return r == 0 && sink.errors ? -EINVAL : r;
}

/* Whether two hashers hold one site key: the HMAC of one fixed text under
 * each (porter keeps no key once its hasher is made). */
static bool same_site_key(struct pin_hasher *a, struct pin_hasher *b)
{
	static const char probe[] = "porter: the site key in force";
	uint8_t ha[PIN_HASH_LEN], hb[PIN_HASH_LEN];
	return pin_hasher_hash(a, probe, sizeof(probe) - 1, ha) == 0 &&
	       pin_hasher_hash(b, probe, sizeof(probe) - 1, hb) == 0 &&
	       CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0;
}

static void refresh_reader(struct reader_state *reader, void *userdata)
{
	reader->config = config_reader(userdata, reader->id);
	keypad_reset(reader, NULL); /* PIN length rules may have changed */
}

int plugin_reload(porter_plugin *p, const char *json, size_t len, porter_report_fn report,
                  void *userdata)
{
	if (!p || (!json && len))
		return -EINVAL;
	struct report_sink sink = {&p->services, report, userdata, 0};
	struct config *next = malloc(sizeof(*next));
	struct local_inputs in = {0};
	if (!next)
		return -ENOMEM;
	int r = config_parse(json, len, next, sink_report, &sink);
	if (r == 0 && strcmp(next->database_path, p->config.database_path) != 0) {
		sink_error_fix(&sink, "PORTER-RESTART", "$.local.database",
		               "the presence database cannot change while porter runs",
		               "keep local.database as it was to reload the other settings, or "
		               "restart the "
		               "host to use the new database");
		r = -EINVAL;
	}
	if (r == 0 && backend_setup_changed(&p->config, next)) {
		sink_error_fix(
		        &sink, "PORTER-RESTART", "$.backend",
		        "the backend and its settings (webhook, nexudus, outbox, offline) "
		        "cannot change while porter runs",
		        "keep them as they were to reload the other settings, or restart the "
		        "host to use the new ones");
		r = -EINVAL;
	}
	const char *message, *fix, *path = NULL;
	if (r == 0) /* before the files: a path the backend holds is not read */
		path = backend_setup_reload_refused(&p->config, next, &message, &fix);
	if (r == 0 && !path) {
		r = files_result(load_local_inputs(next, &sink, &in));
		if (r == 0 && !same_site_key(p->engine.hasher, in.hasher))
			path = backend_setup_key_refused(&p->config, &message, &fix);
	}
	if (path) {
		sink_error_fix(&sink, "PORTER-RESTART", path, message, fix);
		in.directory = directory_free(in.directory);
		in.hasher = pin_hasher_free(in.hasher);
		OPENSSL_cleanse(in.ble_seal, sizeof(in.ble_seal));
		r = -EINVAL;
	}
	struct visitor_pass_keys *keys = NULL;
	if (r == 0) {
		r = files_result(load_pass_keys(next, &sink, &keys));
		if (r < 0) {
			in.directory = directory_free(in.directory);
			in.hasher = pin_hasher_free(in.hasher);
		}
	}
	if (r < 0) {
		plog(&p->services, PORTER_LOG_ERROR,
		     "config reload refused, the old config stays: %s", strerror(-r));
		free(next);
		return r;
	}
	bool ble_changed = ble_reader_changed(&p->config, next);
	p->config = *next;
	free(next);
	visitor_pass_keys_free(p->pass_keys);
	p->pass_keys = keys;
	pin_hasher_free(p->engine.hasher);
	p->engine.hasher = in.hasher;
	ble_state_set_seal_key(p->ble, in.ble_seal);
	OPENSSL_cleanse(in.ble_seal, sizeof(in.ble_seal));
	swap_directory(p, in.directory);
	directory_watch_reloaded(p->directory_watch, p->config.directory_path);
	p->engine.visitor_checkin_blocked = diagnostics_visitor_checkin_blocked(&p->config);
	engine_apply_retention(&p->engine);
	readers_foreach(p->readers, refresh_reader, &p->config);
	daily_checkout_arm(&p->daily);                 /* its time may have changed */
	backend_setup_reloaded(&p->config, p->outbox); /* a backend's directory: fetched now */
	if (ble_changed)
		ble_reader_apply(p);
	apply_usb_scanners(p);
	plog(&p->services, PORTER_LOG_INFO, "config reloaded: %zu people in the directory",
	     directory_size(p->directory));
	return 0;
}

void plugin_shutdown(porter_plugin *p)
{
	if (!p)
		return;
	p->ble_reader = ble_reader_stop(p->ble_reader); /* no advert after this */
	daily_checkout_disarm(&p->daily);
	p->usb = usb_scanners_stop(p->usb); /* no scan arrives after this */
	p->engine.stopping = true;
	readers_foreach(p->readers, keypad_reset, NULL);
	/* Joins the thread after committing what is queued; pending requests are
	 * completed now, on this (the loop) thread. */
	p->engine.recorder = recorder_stop(p->engine.recorder);
	/* A cancel just before shutdown still undoes its change (porter.h). */
	engine_record_reversals(&p->engine, p->store);
	engine_release(&p->engine);
	p->lockouts = lockout_control_stop(p->lockouts);
	plog(&p->services, PORTER_LOG_INFO, "porter stopped");
	plugin_free(p);
}

void plugin_cancel(porter_plugin *p, uint64_t request_id)
{
	if (p)
		engine_cancel(&p->engine, request_id);
}

static void no_report(void *userdata, const struct porter_report *report)
{
	(void)userdata;
	(void)report;
}

int plugin_diagnostics(porter_plugin *p, porter_report_fn report, void *userdata)
{
	if (!p)
		return -EINVAL;
	if (!report) /* the count alone: porter.h */
		report = no_report;
	int n = diagnostics_run(&p->config, report, userdata) +
	        diagnostics_pin_space(&p->config, directory_size(p->directory), report, userdata);
	n += directory_watch_diagnostics(p->directory_watch, report, userdata);
	n += outbox_diagnostics(p->outbox, report, userdata);
	n += ble_reader_diagnostics(p->ble_reader, report, userdata);
	n += usb_scanners_diagnostics(p->usb, report, userdata);
	if (store_gone(p->store)) {
		if (report)
			diagnostics_report_database_gone(p->config.database_path, report, userdata);
		n++;
	}
	return n;
}

struct reader_state *plugin_reader(porter_plugin *p, const char *reader_id)
{
	if (!reader_id_valid(reader_id)) {
		plog(&p->services, PORTER_LOG_NOTICE,
		     "event refused: reader id must be 1-%d characters of UTF-8 without control "
		     "characters",
		     CONFIG_ID_CHARS);
		return NULL;
	}
	struct reader_state *r = readers_get(p->readers, reader_id, &p->config, &p->engine);
	if (!r)
		plog(&p->services, PORTER_LOG_ERROR, "event refused: more than %d readers",
		     READERS_MAX);
	return r;
}
