/* SPDX-License-Identifier: MIT */
/*
 * config.h: porter's validated configuration.
 *
 * The host hands porter JSON text. config_parse() validates it against the
 * schema embedded from plugin.json (the same one a host's admin UI renders),
 * fills defaults from that schema, then applies the semantic rules that a
 * schema cannot say. Every problem is reported at once, with its JSON path.
 */
#ifndef PORTER_CONFIG_H
#define PORTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedback_text.h"
#include "cutoff.h"
#include "porter.h"
#include "usb_scanner_config.h"

#define CONFIG_MAX_TEXT    (256 * 1024) /* bytes of config JSON accepted */
#define CONFIG_MAX_READERS 64
#define CONFIG_ID_CHARS    64 /* reader id length, characters (plugin.json maxLength) */
/* Its bytes at most: JSON Schema counts characters, and UTF-8 takes up to 4
 * bytes for one, so every buffer holding a reader id is sized for that. */
#define CONFIG_ID_MAX   (CONFIG_ID_CHARS * 4)
#define CONFIG_PATH_MAX 1024

enum reader_direction {
	READER_TOGGLE = 0, /* in, then out, then in ... */
	READER_ENTRY,      /* only ever checks in */
	READER_EXIT,       /* only ever checks out */
};

/* Which PIN holders a keypad accepts. */
enum pin_holders {
	PIN_HOLDERS_BOTH = 0,
	PIN_HOLDERS_MEMBERS,
	PIN_HOLDERS_VISITORS,
};

/* What to do with a PIN that matches both a member and a visitor. */
enum pin_collision {
	PIN_COLLISION_DENY = 0, /* ambiguous: nobody is checked in */
	PIN_COLLISION_MEMBER,   /* the member wins */
	PIN_COLLISION_VISITOR,  /* the visitor wins */
};

enum backend_kind {
	BACKEND_LOCAL = 0, /* the directory file; changes stay on this box */
	BACKEND_WEBHOOK,   /* the directory file; changes POSTed, signed */
	BACKEND_NEXUDUS,   /* the directory synced from Nexudus; changes recorded there */
};

#define CONFIG_URL_MAX    (4 * 1000 + 1) /* 1000 characters of UTF-8 */
#define CONFIG_PINS_MAX   (2 * 52 + 2)   /* "sha256//<44>;sha256//<44>" */
#define CONFIG_DIGEST_LEN 32             /* SHA-256 */

struct reader_config {
	char id[CONFIG_ID_MAX + 1];
	enum reader_direction direction;
	enum pin_holders pin_holders;
	uint32_t unlock_ms;
	/* phone check-in here (config ble and readers[].ble_*) */
	int32_t ble_rssi_min_dbm;
	uint32_t ble_samples;
	uint32_t ble_window_ms;
	uint32_t ble_cooldown_ms;
};

struct config {
	enum backend_kind backend;

	/* local backend */
	char directory_path[CONFIG_PATH_MAX];
	char database_path[CONFIG_PATH_MAX];
	char pin_key_path[CONFIG_PATH_MAX];

	/* webhook backend */
	char webhook_url[CONFIG_URL_MAX];
	char webhook_secret_path[CONFIG_PATH_MAX];
	char webhook_ca_path[CONFIG_PATH_MAX]; /* "": the system's CAs */
	char webhook_pins[CONFIG_PINS_MAX];    /* "": no pinning */
	uint32_t webhook_timeout_ms;

	/* nexudus backend */
	char nexudus_url[CONFIG_URL_MAX];
	int64_t nexudus_business_id;
	char nexudus_credentials_path[CONFIG_PATH_MAX];
	char nexudus_ca_path[CONFIG_PATH_MAX];
	char nexudus_pins[CONFIG_PINS_MAX];
	uint32_t nexudus_timeout_ms;
	uint32_t nexudus_sync_interval_s;
	uint32_t nexudus_presence_interval_s;
	uint32_t nexudus_doors_sharing_account;

	/* delivery of changes to a backend (outbox.h), and the offline policy */
	uint32_t outbox_max_backlog;
	uint32_t outbox_retry_max_s;
	uint32_t offline_max_age_s;
	/* SHA-256 of the sections above as the config spells them (backend,
	 * webhook, nexudus, outbox, offline; defaults filled in, members in
	 * canonical order): a reload may not change it (backend_setup_changed). */
	unsigned char restart_digest[CONFIG_DIGEST_LEN];

	/* keypad */
	uint32_t pin_min_length;
	uint32_t pin_max_length;
	uint32_t inter_key_timeout_ms;

	/* decisions */
	uint32_t repeat_window_ms; /* same credential again: not a toggle */
	enum pin_collision pin_collision;
	bool visitor_checkin; /* visitors may check in at all */
	uint32_t default_unlock_ms;

	/* PIN guessing lockout, per reader */
	uint32_t lockout_max_attempts; /* wrong PINs within the window */
	uint32_t lockout_window_s;
	uint32_t lockout_base_s; /* first lockout; doubles each time */
	uint32_t lockout_max_s;

	/* the daily check-out of everyone still in (cutoff.h) */
	bool daily_checkout;
	struct cutoff_rule daily_checkout_at;
	/* retention of door_events (denied attempts, lockouts) */
	uint32_t records_denied_days;
	uint32_t records_denied_max_rows;

	/* QR scans (qr_credential.h) and visitor passes (visitor_pass.h) */
	uint32_t qr_repeat_ms;
	uint32_t qr_code_max_attempts;
	uint32_t qr_code_lockout_s;
	size_t n_visitor_pass_keys;
	char visitor_pass_keys[2][CONFIG_PATH_MAX];

	/* access-control systems porter shares the door with */
	bool salto_ks_enabled;
	bool salto_ks_visitor_access; /* Salto KS grants visitors door access */

	/* porter's own BLE reader (drivers/ble), config "ble_reader" */
	bool ble_reader_enabled;
	/* "": the first powered adapter; 15 characters (plugin.json), 4 bytes each */
	char ble_reader_adapter[15 * 4 + 1];
	char ble_reader_id[CONFIG_ID_MAX + 1];
	int32_t ble_reader_rssi_floor_dbm;
	uint32_t ble_reader_restart_after_s;
	/* phone check-in (docs/ble-credential.md); the per-reader settings are
	 * in reader_config */
	uint32_t ble_time_step_s;
	uint32_t ble_drift_steps;
	uint32_t ble_company_id;
	bool ble_calibration;

	/* readers; a reader not listed uses reader_defaults */
	struct reader_config reader_defaults;
	size_t n_readers;
	struct reader_config readers[CONFIG_MAX_READERS];

	/* porter's own USB scanner driver ("usb_scanners", drivers/usb) */
	struct usb_scanners_config usb_scanners;

	/* display texts ("texts"): the site's template per text, "" for the
	 * English default; checked by feedback_text_check() */
	char texts[FEEDBACK_TEXT_COUNT][FEEDBACK_TEMPLATE_MAX + 1];
};

/*
 * Parse and validate `text` (`len` bytes, need not be NUL-terminated) into
 * *ret. Every error and warning is passed to `report` (may be NULL).
 * Returns 0, or -EINVAL when there was at least one error (then *ret is
 * unspecified), -E2BIG when the text is over CONFIG_MAX_TEXT (reported as
 * PORTER-CFG-SIZE at "$", nothing else read), -ENOMEM when memory ran out
 * reading the text (porter.h's check_config returns, word for word).
 */
int config_parse(const char *text, size_t len, struct config *ret, porter_report_fn report,
                 void *userdata);

/* The reader's config, or the defaults for an unlisted reader. */
const struct reader_config *config_reader(const struct config *config, const char *reader_id);

#endif
