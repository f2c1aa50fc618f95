/* SPDX-License-Identifier: MIT */
/*
 * nexudus_private.h: the Nexudus backend's state, shared by nexudus.c (the
 * presence sink) and nexudus_sync.c (directory and presence syncs).
 */
#ifndef PORTER_NEXUDUS_PRIVATE_H
#define PORTER_NEXUDUS_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "cutoff.h"
#include "http_client.h"
#include "nexudus.h"
#include "nexudus_directory.h"
#include "nexudus_session.h"

#define NX_SYNC_PAGE_SIZE 100
#define NX_SYNC_MAX_PAGES 500 /* 50,000 people of each kind */
#define NX_PRESENCE_PAGES 20
#define NX_SYNC_WARNINGS  5 /* warning lines of one sync that are logged */
#define NX_REASON_MAX     256

struct nexudus;

enum nx_step {
	NX_LOOK_OPEN,    /* before every check-in: is the coworker in at Nexudus already? */
	NX_LOOK_CHECKIN, /* a record with this FromTime already there? */
	NX_POST_CHECKIN,
	NX_FIND_OPEN,   /* the coworker's newest open check-in */
	NX_FIND_CLOSED, /* none open: one closed at or after the check-out? */
	NX_FIND_NEWEST, /* none: is the newest visit closed already (elsewhere)? */
	NX_PUT_CHECKIN,
	NX_GET_VISITOR,
	NX_PUT_VISITOR,
};

struct nx_job {
	bool busy;
	struct delivery d;
	bool visitor;
	bool look;          /* this change may have been written before: look for its record */
	int64_t nexudus_id; /* CoworkerId or the visitor's Id */
	enum nx_step step;
	uint64_t call; /* session call in flight; 0: none */
	int64_t finish_timer;
	struct delivery_result result; /* when finishing from a timer */
	delivery_done_fn done;
	void *userdata;
};

enum nx_sync_stage { NX_SYNC_IDLE, NX_SYNC_FETCH, NX_SYNC_PARSE, NX_SYNC_WRITE };

struct nx_sync {
	enum nx_sync_stage stage;
	bool again; /* a reload asked for a sync while this one ran */
	enum nexudus_kind kind;
	int64_t page;
	uint64_t call;
	int64_t timer;
	struct nexudus_directory *dir;
	int64_t now_s;
	/* Handed to the worker: */
	char *body;
	size_t body_len;
	int rc;
	struct nexudus_page info;
	char err[NX_REASON_MAX];
	unsigned n_warnings;
	char warnings[NX_SYNC_WARNINGS][200];
	/* The outcome, for diagnostics: */
	int64_t last_ok_us, failing_since_us;
	char last_error[NX_REASON_MAX];
};

struct nx_presence {
	bool active, started;
	bool open_phase; /* the first poll's read of every open check-in */
	int64_t page;
	/* UpdatedOn of the newest record seen (Nexudus's clock), kept in
	 * porter_meta so a restarted door reads what changed while it was
	 * down; at the first start: a day back. */
	int64_t watermark_s;
	int64_t max_seen_s;
	uint64_t call;
	int64_t timer;
};

struct nx_worker {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, has_job;
	void (*fn)(struct nexudus *n);
	unsigned slot;
	uint32_t gen;
	/* The presence watermark to keep in porter_meta (no invoke back). */
	bool meta_pending;
	int64_t meta_value_s;
};

struct nexudus {
	const struct porter_host_services *services;
	struct backend_core core;
	struct http_client *http;
	struct nexudus_session *session;
	char *cache_path;
	char *credentials_file;
	int64_t business_id;
	uint8_t pin_key[PIN_KEY_LEN];
	uint32_t pin_min_length, pin_max_length;
	struct cutoff_rule day;
	uint64_t sync_interval_us, presence_interval_us;
	int64_t (*wall_clock_us)(void);
	int64_t started_us;    /* wall clock at construction */
	int64_t ambiguous_seq; /* a write of this change may have landed; -1: none */
	struct nx_job job;
	struct nx_sync sync;
	struct nx_presence presence;
	struct nx_worker worker;
	struct sqlite3 *meta_db; /* porter_meta; NULL: not kept (worker only) */
};

/* nexudus_sync.c */
/* Open porter_meta in `database_path` (NULL: nothing kept) and read the
 * presence watermark. Before nx_sync_start. */
int nx_meta_open(struct nexudus *n, const char *database_path, char *err, size_t errlen);
int nx_sync_start(struct nexudus *n);
void nx_sync_stop(struct nexudus *n);
/* Sync the directory now, or again as soon as the sync under way ends. */
void nx_sync_now(struct nexudus *n);
int nx_sync_diagnostics(struct nexudus *n, porter_report_fn report, void *userdata);

/* "2026-11-26T08:00:00.123Z" (with milliseconds) or without the fraction
 * (utc_time.h); "" outside years 1 to 9999. */
void nx_format_time(int64_t unix_us, bool millis, char out[40]);

#endif
