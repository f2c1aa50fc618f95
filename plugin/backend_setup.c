/* SPDX-License-Identifier: MIT */
/* backend_setup.c: see backend_setup.h. */
#include "backend_setup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sys/stat.h>

#include "nexudus.h"
#include "outbox.h"
#include "pin_hash.h"
#include "secret_file.h"
#include "webhook.h"
#include "webhook_message.h"

/* The outbox's backoff starts here and doubles up to outbox.retry_max_s. */
#define RETRY_FIRST_US 1000000

static int check_ca_file(const char *path, char *err, size_t errlen)
{
	FILE *f = path[0] ? fopen(path, "re") : NULL;
	if (!path[0])
		return 0;
	if (!f) {
		int r = -errno;
		snprintf(err, errlen, "trusted certificates file %s: %s", path, strerror(errno));
		return r;
	}
	fclose(f);
	return 0;
}

int backend_setup_check(const struct config *c, char *err, size_t errlen, const char **ret_path)
{
	int r = 0;
	if (c->backend == BACKEND_NEXUDUS) {
		char text[1024];
		size_t len;
		*ret_path = "$.nexudus.credentials_file";
		r = secret_file_read(c->nexudus_credentials_path, "Nexudus credentials file", text,
		                     sizeof(text), &len, err, errlen);
		OPENSSL_cleanse(text, sizeof(text));
		if (r == 0) {
			*ret_path = "$.nexudus.ca_file";
			r = check_ca_file(c->nexudus_ca_path, err, errlen);
		}
	}
	if (c->backend == BACKEND_WEBHOOK) {
		struct webhook_secret secret;
		*ret_path = "$.webhook.secret_file";
		r = webhook_secret_load(c->webhook_secret_path, &secret, err, errlen);
		webhook_secret_clear(&secret);
		if (r == 0) {
			*ret_path = "$.webhook.ca_file";
			r = check_ca_file(c->webhook_ca_path, err, errlen);
		}
	}
	return r;
}

static void presence_learned(void *userdata, const char *person_id, bool in, int64_t at_unix_us)
{
	engine_presence_learned(userdata, person_id, in, at_unix_us);
}

static void directory_synced(void *userdata, int64_t at_unix_us)
{
	struct engine *e = userdata;
	e->directory_synced_unix_us = at_unix_us;
}

int backend_setup_start(const struct config *c, const struct porter_host_services *services,
                        struct engine *engine, int64_t (*wall_clock_us)(void), struct outbox **ret,
                        char *err, size_t errlen, const char **ret_path)
{
	struct backend backend = {0};
	struct backend_core core = {engine, presence_learned, directory_synced};
	int r;
	*ret = NULL;
	switch (c->backend) {
	case BACKEND_LOCAL:
		return 0;
	case BACKEND_WEBHOOK: {
		/* The secret and CA files first, so init names the setting at
		 * fault ($.webhook.secret_file) as check_config does. */
		r = backend_setup_check(c, err, errlen, ret_path);
		if (r < 0)
			return r;
		struct webhook_options o = {
		        .url = c->webhook_url,
		        .secret_file = c->webhook_secret_path,
		        .ca_file = c->webhook_ca_path[0] ? c->webhook_ca_path : NULL,
		        .pinned_keys = c->webhook_pins[0] ? c->webhook_pins : NULL,
		        .timeout_ms = c->webhook_timeout_ms,
		        .wall_clock_us = wall_clock_us};
		*ret_path = "$.webhook";
		r = webhook_backend_new(services, &o, &backend, err, errlen);
		break;
	}
	case BACKEND_NEXUDUS: {
		struct nexudus_options o = {
		        .base_url = c->nexudus_url,
		        .business_id = c->nexudus_business_id,
		        .credentials_file = c->nexudus_credentials_path,
		        .ca_file = c->nexudus_ca_path[0] ? c->nexudus_ca_path : NULL,
		        .pinned_keys = c->nexudus_pins[0] ? c->nexudus_pins : NULL,
		        .timeout_ms = c->nexudus_timeout_ms,
		        .cache_path = c->directory_path,
		        .pin_min_length = c->pin_min_length,
		        .pin_max_length = c->pin_max_length,
		        .day = &c->daily_checkout_at,
		        .sync_interval_s = c->nexudus_sync_interval_s,
		        .presence_interval_s = c->nexudus_presence_interval_s,
		        .wall_clock_us = wall_clock_us,
		        .database_path = c->database_path,
		        .doors_sharing_account = c->nexudus_doors_sharing_account};
		*ret_path = "$.local.pin_key_file";
		r = pin_key_load(c->pin_key_path, o.pin_key, err, errlen);
		if (r == 0) {
			*ret_path = "$.nexudus";
			r = nexudus_backend_new(services, &o, &core, &backend, err, errlen);
		}
		OPENSSL_cleanse(o.pin_key, sizeof(o.pin_key));
		/* The offline policy: the cache's age is how long porter has not
		 * been in step with Nexudus (it is written on every good sync). */
		struct stat st;
		engine->offline_max_age_us = (int64_t)c->offline_max_age_s * 1000000;
		engine->directory_synced_unix_us =
		        stat(c->directory_path, &st) == 0
		                ? (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000
		                : 0;
		break;
	}
	default:
		*ret_path = "$.backend";
		snprintf(err, errlen, "unknown backend");
		return -EINVAL;
	}
	if (r < 0)
		return r;
	struct outbox_options o = {.database_path = c->database_path,
	                           .max_backlog = c->outbox_max_backlog,
	                           .retry_first_us = RETRY_FIRST_US,
	                           .retry_max_us = (uint64_t)c->outbox_retry_max_s * 1000000,
	                           .wall_clock_us = wall_clock_us};
	*ret_path = "$.local.database";
	r = outbox_start(services, &o, &backend, ret, err, errlen);
	if (r < 0) {
		backend.stop(backend.impl);
		return r;
	}
	engine->outbox = *ret;
	return 0;
}

bool backend_setup_changed(const struct config *a, const struct config *b)
{
	/* Every member of the backend's sections, present or added later
	 * (config.c's restart_digest), not a list of fields to keep in step. */
	return memcmp(a->restart_digest, b->restart_digest, sizeof(a->restart_digest)) != 0;
}

const char *backend_setup_reload_refused(const struct config *a, const struct config *b,
                                         const char **ret_message, const char **ret_fix)
{
	/* The driver writes its cache at the path it started with and keeps
	 * nexudus-client-id beside it; porter would load and watch another. */
	if (a->backend == BACKEND_NEXUDUS && strcmp(a->directory_path, b->directory_path) != 0) {
		*ret_message = "with the nexudus backend, local.directory is the cache porter "
		               "writes from Nexudus: it cannot move while porter runs";
		*ret_fix = "keep local.directory as it was to reload the other settings, or "
		           "restart the host to use the new path (its first sync writes the "
		           "cache there)";
		return "$.local.directory";
	}
	return NULL;
}

const char *backend_setup_key_refused(const struct config *current, const char **ret_message,
                                      const char **ret_fix)
{
	/* The cache in force is hashed under the key in force, and the driver
	 * hashes every sync under it: a new key would match no PIN. */
	if (current->backend != BACKEND_NEXUDUS)
		return NULL;
	*ret_message = "with the nexudus backend, the site key (local.pin_key_file) cannot "
	               "change while porter runs: the directory cache is hashed under the key "
	               "in force";
	*ret_fix = "point local.pin_key_file at the key in force to reload the other settings, "
	           "or restart the host to use the new key (its first sync hashes the cache "
	           "under it; until then no PIN is recognised)";
	return "$.local.pin_key_file";
}

void backend_setup_reloaded(const struct config *c, struct outbox *outbox)
{
	struct backend_settings settings = {.pin_min_length = c->pin_min_length,
	                                    .pin_max_length = c->pin_max_length,
	                                    .day = c->daily_checkout_at};
	outbox_refresh(outbox, &settings);
}
