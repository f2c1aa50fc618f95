/* SPDX-License-Identifier: MIT */
/*
 * porter.h: the whole contract between a door-controller host and porter.so.
 *
 * A host loads porter.so with dlopen(), looks up the single exported symbol
 * PORTER_ENTRY_SYMBOL ("porter_plugin_entry_v1"), calls it, and gets a const
 * descriptor. Everything else in porter is private.
 *
 * Compatibility rules (a host written against this header keeps working with
 * later porter versions of the same ABI major version):
 *   - Every struct that crosses the boundary starts with `uint32_t size`,
 *     set by whoever fills the struct to sizeof() of the struct it compiled
 *     against. Fields are only ever appended. A reader checks `size` before
 *     touching a field (PORTER_HAS_FIELD) and treats missing fields as absent.
 *   - No enum types cross the boundary: constants are #defines, values are
 *     uint32_t.
 *   - Errors are negative errno values.
 *
 * Threads: every call into porter is made on the host's loop thread, except
 * where a function says otherwise. porter calls the host's services on the
 * loop thread, except `invoke`, which it may call from any thread.
 *
 * Strings: every pointer porter hands the host (log messages, feedback
 * reader_id/text/code, result code/person_id, report fields) is valid only
 * during the call that hands it over. Copy what you keep.
 *
 * The host's thread is never blocked by porter: hooks decide from memory and
 * queue the rest (durable recording runs on a porter-owned thread).
 */
#ifndef PORTER_H
#define PORTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI major version. It is part of the entry symbol's name. */
#define PORTER_ABI_VERSION  1
#define PORTER_ENTRY_SYMBOL "porter_plugin_entry_v1"

/* True when a struct filled by the other side is large enough to hold `field`. */
#define PORTER_HAS_FIELD(ptr, type, field) \
	((ptr)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- Verdicts: what a hook returns (or a negative errno) -------------- */

/* porter has nothing to say about this event (e.g. a key was buffered). */
#define PORTER_VERDICT_NO_OPINION 0
/* Let the person through. */
#define PORTER_VERDICT_GRANT 1
/*
 * The repeat window: a person who presents again within repeat_window_ms of
 * their last presence change is granted at once with their current state
 * ("already_in"/"already_out"), not toggled a second time. The window counts
 * from the moment the change was decided (the hook call that made it, on
 * the now_us monotonic clock), not from its completion. Changes that were
 * denied, failed to record, or were reversed (cancel, door_unlock failed) do
 * not count: presenting again after them is decided afresh.
 *
 * Reader direction (config readers[].direction): a "toggle" reader checks
 * in someone who is out and out someone who is in; an "entry" reader only
 * checks in (someone already in is granted "already_in", no change); an
 * "exit" reader only checks out (someone out: "already_out"). The repeat
 * window applies at toggle readers only: an entry or exit reader cannot
 * toggle twice, so it always makes its own change, e.g. an exit reader
 * right after an entry check-in checks the person out.
 */
/* Keep the door shut. */
#define PORTER_VERDICT_DENY 2
/* Decided later: exactly one services->complete() for this request_id
 * follows on the loop thread, unless the host cancels it first. */
#define PORTER_VERDICT_PENDING 3

/* ---- Log levels (syslog numbering) ------------------------------------ */
#define PORTER_LOG_ERROR   3
#define PORTER_LOG_WARNING 4
#define PORTER_LOG_NOTICE  5
#define PORTER_LOG_INFO    6
#define PORTER_LOG_DEBUG   7

/* ---- fd watch event bits ---------------------------------------------- */
#define PORTER_IO_IN  0x1u
#define PORTER_IO_OUT 0x2u
#define PORTER_IO_ERR 0x4u
#define PORTER_IO_HUP 0x8u

/* ---- Feedback ---------------------------------------------------------- */
#define PORTER_LED_OFF   0
#define PORTER_LED_GREEN 1
#define PORTER_LED_RED   2
#define PORTER_LED_AMBER 3

#define PORTER_BEEP_NONE  0
#define PORTER_BEEP_OK    1 /* one short beep */
#define PORTER_BEEP_ERROR 2 /* a long or double beep */

/* What the person at the reader sees and hears. */
struct porter_feedback {
	uint32_t size;
	uint32_t led;  /* PORTER_LED_* */
	uint32_t beep; /* PORTER_BEEP_* */
	uint32_t reserved;
	const char *reader_id;
	/* Short, human, in the site's words (config "texts", README "Display
	 * texts"; English by default); UTF-8, at most 255 bytes; never a PIN. */
	const char *text;
	/* Stable machine-readable reason for a deny or the action for a grant,
	 * the same word as porter_result.code when a request completes (the
	 * whole vocabulary is listed below). */
	const char *code;
};

/*
 * The whole code vocabulary (feedback and porter_result). "Counts" means a
 * failed attempt for the reader's lockout. A host may act on any of them;
 * new codes are only added with a new porter.h.
 *
 * Codes:
 *   "checked_in"    GRANT, direction IN: this request checked the person in.
 *   "checked_out"   GRANT, direction OUT: this request checked them out.
 *   "already_in"    GRANT, no direction: they are in and no change was made
 *                   (repeat window, an entry reader, or answered with a
 *                   change another request made). The door opens.
 *   "already_out"   GRANT, no direction: the same for someone out.
 *   "unknown_pin"   DENY: no one has this PIN. Counts.
 *   "locked_out"    DENY: this reader is locked after too many failed
 *                   attempts (wrong PINs or QR codes); the text says for
 *                   how long. No PIN or code is looked at while locked, and
 *                   nothing counts.
 *   "wrong_keypad"  DENY: the PIN belongs to someone this keypad does not
 *                   take (members-only or visitors-only). Counts.
 *   "ambiguous_pin" DENY: the PIN matches several people (the directory
 *                   must give them distinct PINs). Counts.
 *   "membership_not_yet_valid", "membership_expired",
 *   "visitor_pass_not_yet_valid", "visitor_pass_expired"
 *                   DENY: outside the person's valid_from..valid_until.
 *                   Counts. (Someone in may always check out.)
 *   "visitor_checkin_disabled"
 *                   DENY: config visitor_checkin is false. Counts.
 *   "visitor_checkin_unsupported"
 *                   DENY: visitor check-in is blocked by a setup
 *                   diagnostic (see diagnostics()). Counts.
 *   "pin_too_short" DENY: fewer digits than keypad.pin_min_length. Does not
 *                   count.
 *   "pin_too_long"  more digits than keypad.pin_max_length: on_pin returns
 *                   -E2BIG, on_key DENY at the overflowing key. Does not
 *                   count (its digits are not looked at).
 *   "invalid_pin"   a PIN with a non-digit: -EINVAL. Does not count.
 *   "invalid_key"   on_key with a key that is not 0-9, '*' or '#': -EINVAL.
 *   "entry_timeout" feedback only: typed digits were cleared after
 *                   keypad.inter_key_timeout_ms without '#'.
 *   "busy"          DENY: porter cannot take this change now (the person's
 *                   previous change or its reversal is being written, or
 *                   too many changes wait for the disk). Nothing changed;
 *                   presenting again a moment later is safe.
 *   "door_failed"   DENY: door_unlock failed; any change made for the
 *                   request is reversed (see door_unlock).
 *   "record_failed" DENY: the change (or the reversal after a failed door)
 *                   could not be written; nobody was let through for it.
 *   "backlog_full"  DENY: the outbox holds outbox.max_backlog changes the
 *                   backend has not taken yet; new check-ins and check-outs
 *                   are refused until it drains (nothing confirmed is
 *                   dropped). Does not count.
 *   "directory_outdated"
 *                   DENY: a check-in while the directory was last in step
 *                   with the backend longer ago than offline.max_age_s
 *                   (backend "nexudus"). Checking out still works. Does not
 *                   count.
 *   "qr_unreadable" a QR scan that is no credential: empty, over 512 bytes
 *                   (-E2BIG) or a byte outside printable ASCII (-EINVAL).
 *                   Does not count.
 *   "qr_unknown"    DENY: no one has this visitor code. Counts.
 *   "qr_code_locked"
 *                   DENY: this code was refused qr.code_max_attempts times
 *                   in a row and is locked for a while at every reader (the
 *                   text says how long); it is not looked at. Does not count.
 *   "visitor_pass_invalid"
 *                   DENY: a visitor pass that is malformed, altered, or
 *                   signed by a key this door does not hold. Counts.
 *   "visitor_pass_used"
 *                   DENY: a single-use visitor pass whose check-in is
 *                   recorded, presented by a visitor who is out. Counts.
 *                   A check-in reversed (cancel(), door_failed) gives
 *                   the pass back: it checks the visitor in again.
 *   "visitor_unknown"
 *                   DENY: a genuine visitor pass for a visitor id not in the
 *                   directory. Counts.
 *   A visitor pass outside its own valid-from..valid-until is refused as
 *   "visitor_pass_not_yet_valid" or "visitor_pass_expired" (and counts).
 */

/* ---- Completion of a pending decision --------------------------------- */

#define PORTER_DIRECTION_NONE 0
#define PORTER_DIRECTION_IN   1
#define PORTER_DIRECTION_OUT  2

struct porter_result {
	uint32_t size;
	uint32_t verdict; /* PORTER_VERDICT_GRANT or _DENY */
	/* PORTER_DIRECTION_*: the presence change made by THIS request. Only
	 * the one request that made a change carries IN or OUT; requests
	 * answered with an earlier change (code "already_in"/"already_out",
	 * e.g. the same person presenting again while it was recorded) and
	 * denials carry NONE, so a host counting directions counts each change
	 * once. */
	uint32_t direction;
	uint32_t reserved;
	const char *code;      /* same vocabulary as porter_feedback.code */
	const char *person_id; /* NULL when nobody was identified */
};

/* ---- Reports: config errors and setup diagnostics --------------------- */

#define PORTER_SEVERITY_ERROR   1 /* config refused */
#define PORTER_SEVERITY_WARNING 2 /* config accepted; a feature is disabled */

struct porter_report {
	uint32_t size;
	uint32_t severity;   /* PORTER_SEVERITY_* */
	const char *code;    /* stable id, e.g. "PORTER-CFG-TYPE", "PORTER-D001" */
	const char *path;    /* JSON path in the config, e.g. "$.readers[0].id";
	                      * NULL when the problem is not in the config
	                      * (e.g. "PORTER-HOST": a required service missing) */
	const char *message; /* what is wrong and why */
	const char *fix;     /* what to change; may be NULL */
};

/* Runs on the thread that called check_config, init, reload or diagnostics,
 * during that call, never later. */
typedef void (*porter_report_fn)(void *userdata, const struct porter_report *report);

/* ---- Host services ----------------------------------------------------- */

typedef void (*porter_io_fn)(void *userdata, int fd, uint32_t revents);
typedef void (*porter_timer_fn)(void *userdata);
typedef void (*porter_invoke_fn)(void *userdata);

/*
 * The table of services a host gives porter at init. The host keeps it valid
 * until shutdown returns. `host` is passed back as the first argument of
 * every service.
 *
 * Required: now_us, timer_add, timer_remove, invoke, door_unlock, feedback
 * and complete. init refuses a table without one of them with -EINVAL and a
 * report "PORTER-HOST" naming it. Optional (may be NULL): log (porter then
 * says nothing) and watch_add/watch_update/watch_remove (porter watches the
 * directory file's folder with them; without watch_add and watch_remove it
 * logs a notice at init, and directory edits take effect at reload()).
 */
struct porter_host_services {
	uint32_t size;
	uint32_t reserved;
	void *host;

	/* Optional. One line of log text, without a trailing newline. Never
	 * contains a PIN, token or key. */
	void (*log)(void *host, uint32_t level, const char *message);

	/* Required. Monotonic clock in microseconds. Cheap; called on hot paths. */
	uint64_t (*now_us)(void *host);

	/* Optional. Watch `fd` for PORTER_IO_* `events`; `cb` runs on the loop
	 * thread. Returns a watch id > 0 or a negative errno. */
	int64_t (*watch_add)(void *host, int fd, uint32_t events, porter_io_fn cb, void *userdata);
	int (*watch_update)(void *host, int64_t watch_id, uint32_t events);
	void (*watch_remove)(void *host, int64_t watch_id);

	/* Required. A one-shot timer firing after `delay_us`. Returns a timer
	 * id > 0 or a negative errno. Removing a fired or removed timer is
	 * harmless. porter never depends on a timer for a decision: when
	 * timer_add fails, the inter-key timeout and the end of a lockout are
	 * still checked against now_us at the next event (only the
	 * "entry_timeout" feedback and the lockout-ended log line are lost),
	 * and the daily check-out logs an error and runs at the next start or
	 * reload instead. */
	int64_t (*timer_add)(void *host, uint64_t delay_us, porter_timer_fn cb, void *userdata);
	void (*timer_remove)(void *host, int64_t timer_id);

	/* Thread-safe: may be called from any thread. Queues `cb` to run once on
	 * the loop thread. Callbacks still queued when shutdown() returns are
	 * dropped by the host, never run. Returns 0 or a negative errno.
	 * A failed invoke (e.g. the host's queue is full) queued nothing, and
	 * porter asks again from its own thread after 1 ms, then 2, 4 ... ms,
	 * at most once a second, until the host takes it or shutdown(). Until
	 * then, requests whose change is already recorded wait for complete();
	 * one the host times out and cancels is reversed as cancel() says, and
	 * shutdown() completes the rest. porter logs a warning once delivered. */
	int (*invoke)(void *host, porter_invoke_fn cb, void *userdata);

	/* Required. Release the door lock of `reader_id` for `duration_ms`.
	 * Returns 0 or a negative errno. porter asks before it tells anyone
	 * they are through. When it fails, porter logs an error, shows
	 * "door_failed" ("The door could not be opened. Please see
	 * reception.") and denies: a hook returns PORTER_VERDICT_DENY, a
	 * pending request completes with DENY, code "door_failed", no
	 * direction; and a presence change made for it is reversed (recorded
	 * with cause "door_failed"), unless another request answered with the
	 * same change got through a door. Record and door agree: the feedback
	 * is shown at once, but complete(DENY, "door_failed") comes only once
	 * the reversal is durable, so a host that dies after it was told
	 * leaves nobody checked in who did not get through. If the reversal
	 * cannot be recorded, the request completes DENY "record_failed" (the
	 * record still holds the change; porter logs an error). Presenting
	 * again after that completion is decided afresh. */
	int (*door_unlock)(void *host, const char *reader_id, uint32_t duration_ms);

	/* Required. Show text / LED / beep at a reader. The return value is
	 * not acted on: a display that fails changes no decision. */
	int (*feedback)(void *host, const struct porter_feedback *feedback);

	/* Required. The decision for a hook that returned
	 * PORTER_VERDICT_PENDING. Called exactly once per pending request, on
	 * the loop thread, never from inside the hook call itself and never
	 * after cancel(). For a grant, door_unlock for the request has already
	 * succeeded.
	 *
	 * Re-entrancy: from inside complete() a host may call the hooks,
	 * cancel() and diagnostics() (e.g. present the next queued request);
	 * from inside door_unlock(), feedback(), log() or a report callback it
	 * must not call into porter (queue the call, or use invoke). reload()
	 * and shutdown() are never called from inside a service. */
	void (*complete)(void *host, uint64_t request_id, const struct porter_result *result);
};

/* ---- Reader events handed to hooks ------------------------------------ */

/* A whole PIN entered on a keypad that buffers itself. */
struct porter_pin_event {
	uint32_t size;
	uint32_t reserved;
	/* Host-chosen. An id porter has not completed yet (nor had cancelled)
	 * is refused with -EEXIST, no feedback and nothing decided; after its
	 * complete() or cancel() the id may be used again. */
	uint64_t request_id;
	const char *reader_id;
	const char *pin; /* not NUL-terminated necessarily: use pin_len */
	size_t pin_len;
};

/* One key press on a keypad that sends key by key. `key` is the ASCII
 * character: '0'..'9', '*' (clear) or '#' (submit). An entry that grows past
 * keypad.pin_max_length is refused at the key that overflows it (DENY,
 * "pin_too_long"); the keys after it, up to the next '#', '*' or
 * inter_key_timeout_ms, still belong to the refused entry: they return
 * NO_OPINION, submit no PIN and count no guess. */
struct porter_key_event {
	uint32_t size;
	uint32_t key;
	uint64_t request_id; /* used when this key submits a PIN */
	const char *reader_id;
};

/* A decoded QR / barcode scan: a visitor code or a visitor pass (README
 * "QR codes"). The same code at the same reader within qr.repeat_ms is the
 * scanner beeping twice: NO_OPINION, no feedback, nothing decided. */
struct porter_qr_event {
	uint32_t size;
	uint32_t reserved;
	uint64_t request_id;
	const char *reader_id;
	const uint8_t *data;
	size_t data_len;
};

/* A BLE advertisement seen by a reader (README "Phone check-in (BLE)").
 * An advert that carries no porter credential, or one not yet seen strongly
 * enough for long enough ("next to the reader"), is NO_OPINION with no
 * feedback. A porter credential of the wrong shape is -EINVAL. A token that
 * is stale, made by no member's key, or already used (from any address,
 * across restarts) is DENY with no feedback. Otherwise the member is decided
 * as for a PIN. The address is never an identity. */
struct porter_ble_event {
	uint32_t size;
	int32_t rssi_dbm;
	uint64_t request_id;
	const char *reader_id;
	const char *address;  /* "AA:BB:CC:DD:EE:FF"; rotates, never an identity */
	uint32_t company_id;  /* manufacturer data company id, or 0xFFFFFFFF */
	int32_t tx_power_dbm; /* or INT32_MIN when unknown */
	const uint8_t *manufacturer_data;
	size_t manufacturer_data_len;
	const uint8_t *service_data;
	size_t service_data_len;
	const char *service_uuid; /* UUID of service_data, or NULL */
	/* Appended: every service UUID the advert lists ("0000fd6f-0000-1000-
	 * 8000-00805f9b34fb" form, lower case), for a credential carried in a
	 * 128-bit UUID, which is what a foreground iOS app can advertise. A host
	 * built against an older header leaves these out (size tells). */
	const char *const *service_uuids;
	size_t n_service_uuids;
};

/* ---- The plugin ------------------------------------------------------- */

typedef struct porter_plugin porter_plugin;

struct porter_plugin_descriptor {
	uint32_t size;
	uint32_t abi_version; /* PORTER_ABI_VERSION */
	const char *name;     /* "porter" */
	const char *version;  /* "0.1.0" */

	/* Check a config without starting anything (for an admin UI). Every
	 * problem is reported through `report`, errors and warnings alike.
	 * Files are checked as init() checks them (key, directory, the
	 * database's folder), as the calling user, and nothing is created.
	 * `report` may be NULL: only the result is returned, the same one.
	 * Returns:
	 *    0       the config is usable (warnings may have been reported);
	 *   -EINVAL  it has errors, each reported: text that is not JSON or
	 *            breaks porter's rules on JSON text (README, Configuration;
	 *            "PORTER-CFG-SYNTAX", "PORTER-CFG-DUPLICATE",
	 *            "PORTER-CFG-TEXT-RULE", with the JSON path where), a
	 *            setting the schema or a rule refuses, or a file it names
	 *            that cannot be used, whatever the file's own error; also
	 *            config_json NULL with config_len > 0, or no text at all;
	 *   -E2BIG   the text is over 256 KiB (262144 bytes): one report,
	 *            "PORTER-CFG-SIZE" at "$", and nothing else is read;
	 *   -ENOMEM  memory ran out reading the text (or at the start); the
	 *            check is incomplete. Memory running out later (in the
	 *            schema check, reading a file) may still be reported as an
	 *            error, and return -EINVAL. */
	int (*check_config)(const char *config_json, size_t config_len, porter_report_fn report,
	                    void *userdata);

	/* Start porter. `config_json` is the host's admin config for porter.
	 * Config problems are logged, one line each, and also reported through
	 * `report` when not NULL (a host that shows reports may pass NULL and
	 * rely on the log, or the reverse: both carry the same content). Returns
	 * 0 and *ret_plugin, or:
	 *   -E2BIG, -ENOMEM  as check_config;
	 *   -EINVAL  the config is wrong (as check_config), or a file it names cannot be used (PIN
	 *            key file missing, unreadable, readable by others or
	 *            malformed; directory file missing or malformed; a presence
	 *            database porter cannot write, or one that is missing
	 *            although porter ran here before), or a required service
	 *            is missing: each problem is reported;
	 *   -EBUSY   another program holds the presence database locked: init
	 *            waits up to 5 s for the lock first (the longest init
	 *            blocks on a lock), then reports "PORTER-DATABASE" with a
	 *            fix;
	 *   -ENOSPC  the database's file system is full;
	 *   -ENOMEM, or another -errno (e.g. -EIO: the database cannot be
	 *            created or read). Database problems are reported as
	 *            "PORTER-DATABASE". */
	int (*init)(const struct porter_host_services *services, const char *config_json,
	            size_t config_len, porter_report_fn report, void *userdata,
	            porter_plugin **ret_plugin);

	/* Apply a new config. On any error the old config stays in force.
	 * Everything can change by reload except local.database, the backend
	 * and its sections (backend, webhook, nexudus, outbox, offline) and,
	 * with the nexudus backend, local.directory and the site key in
	 * local.pin_key_file: a change to one is refused (-EINVAL, report
	 * "PORTER-RESTART" at its path with its fix); restart the host for it.
	 * Every other setting is in force when reload returns; with nexudus the
	 * directory follows the keypad lengths and the site's day at the sync
	 * the reload starts (README "What a reload changes"). `report` may be
	 * NULL.
	 * Returns 0, or -EINVAL, -E2BIG, -ENOMEM as check_config (a file the
	 * config names that cannot be used is -EINVAL, as at init). */
	int (*reload)(porter_plugin *plugin, const char *config_json, size_t config_len,
	              porter_report_fn report, void *userdata);

	/* Remove every watch and timer, finish recording what was decided, join
	 * every thread, and complete every pending request with its outcome (a
	 * check-in already made durable is granted, with its door action and
	 * feedback, so the person and the record agree). No callback runs after
	 * this returns. */
	void (*shutdown)(porter_plugin *plugin);

	/* Hooks: return a PORTER_VERDICT_* or a negative errno for input that
	 * is not acceptable. Either way nobody is granted, and the person is
	 * told why through feedback where one can. Input wrong in several ways
	 * gets the errno of the first check that fails, in this order:
	 *   1. the event: NULL, or `size` too small for its fields: -EINVAL;
	 *   2. the reader id: not 1-64 characters of UTF-8 without control
	 *      characters: -EINVAL (no
	 *      feedback: there is no reader to show it at);
	 *   3. on_pin: pin NULL with pin_len > 0: -EINVAL;
	 *   4. a whole PIN longer than keypad.pin_max_length: -E2BIG (its
	 *      characters are not looked at, and it does not count as a
	 *      failed attempt);
	 *   5. non-digits or NUL in a PIN, or a key that is not a keypad key:
	 *      -EINVAL;
	 *   6. a request_id still pending (see porter_pin_event): -EEXIST.
	 * A PIN shorter than keypad.pin_min_length is well-formed: DENY,
	 * "pin_too_short". Answers that reveal a PIN belongs to someone ("not
	 * valid yet", "expired", "members only", "not unique") count as failed
	 * attempts for the reader's lockout, like an unknown PIN. */
	int (*on_pin)(porter_plugin *plugin, const struct porter_pin_event *event);
	int (*on_key)(porter_plugin *plugin, const struct porter_key_event *event);
	int (*on_qr)(porter_plugin *plugin, const struct porter_qr_event *event);
	int (*on_ble)(porter_plugin *plugin, const struct porter_ble_event *event);

	/* The host gave up on a pending request (and denied). porter will not
	 * complete it, and undoes any presence change it had started for it:
	 * a change not yet written is withdrawn; one already durable (or being
	 * written) is reversed, recorded with cause "host_cancelled", also when
	 * shutdown() follows at once (shutdown writes the reversal before it
	 * returns). cancel() itself does not wait for the disk: the reversal
	 * is durable a moment later (one recorder batch), or when shutdown()
	 * returns. A host that dies in between leaves the change recorded
	 * although nobody was let through for it. Other requests answered with the same change
	 * still complete; the first of them carries its direction. A reversed change does not count
	 * for the repeat window. Cancelling an unknown or completed request does nothing. */
	void (*cancel)(porter_plugin *plugin, uint64_t request_id);

	/* Current setup diagnostics (e.g. an unsupported combination of
	 * features), one report each. Returns how many there are (`report`
	 * may be NULL: the count alone), or -EINVAL when plugin is NULL. */
	int (*diagnostics)(porter_plugin *plugin, porter_report_fn report, void *userdata);
};

/* The one exported symbol. Returns a descriptor valid while porter.so is
 * loaded. A host checks descriptor->abi_version and descriptor->size. */
const struct porter_plugin_descriptor *porter_plugin_entry_v1(void);

typedef const struct porter_plugin_descriptor *(*porter_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* PORTER_H */
