/* SPDX-License-Identifier: MIT */
/*
 * plugin.h: the plugin instance and its lifecycle (init, reload, shutdown).
 * Private to porter; the host sees only the opaque porter_plugin.
 */
#ifndef PORTER_PLUGIN_H
#define PORTER_PLUGIN_H

#include "ble_state.h"
#include "config.h"
#include "daily_checkout.h"
#include "directory.h"
#include "directory_watch.h"
#include "engine.h"
#include "lockout_control.h"
#include "porter.h"
#include "presence.h"
#include "qr_credential.h"
#include "visitor_pass.h"
#include "reader.h"
#include "store.h"

struct porter_plugin {
	struct porter_host_services services; /* the host's table, padded to our size */
	struct config config;
	struct directory *directory;
	struct presence *presence;
	struct store *store;
	struct readers *readers;
	struct engine engine;
	struct lockout_control *lockouts;        /* lockouts.json, unlock requests */
	struct daily_checkout daily;             /* config daily_checkout */
	struct directory_watch *directory_watch; /* NULL: edits need a reload */
	struct outbox *outbox;                   /* NULL: the local backend */
	struct ble_reader *ble_reader;           /* NULL: ble_reader.enabled is off */
	struct qr_memory *qr;                    /* QR codes refused, passes used */
	struct visitor_pass_keys *pass_keys;     /* NULL: no visitor pass works */
	struct usb_scanners *usb;                /* NULL: usb_scanners off */
	struct ble_state *ble;                   /* phone check-in (hooks/ble.c) */
};

/* Resolve a hook's reader, or log why it cannot be used (NULL). */
struct reader_state *plugin_reader(porter_plugin *plugin, const char *reader_id);

int plugin_check_config(const char *json, size_t len, porter_report_fn report, void *userdata);
int plugin_init(const struct porter_host_services *services, const char *json, size_t len,
                porter_report_fn report, void *userdata, porter_plugin **ret);
int plugin_reload(porter_plugin *plugin, const char *json, size_t len, porter_report_fn report,
                  void *userdata);
void plugin_shutdown(porter_plugin *plugin);
void plugin_cancel(porter_plugin *plugin, uint64_t request_id);
int plugin_diagnostics(porter_plugin *plugin, porter_report_fn report, void *userdata);

#endif
