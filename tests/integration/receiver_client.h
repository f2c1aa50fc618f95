/* SPDX-License-Identifier: MIT */
/*
 * receiver_client.h: the control endpoint of tests/backend/webhook_receiver.py
 * as the dlopen() webhook tests use it (test_webhook.c, test_crash_backend.c,
 * test_webhook_reversals.c), under tests/backend/fixture.py --webhook, which
 * sets MOCK_WEBHOOK_CONTROL and MOCK_CA.
 *
 * Every call is synchronous (libcurl easy) and fails the cmocka test on any
 * error, saying which call. Replies are json-c objects the caller puts.
 */
#ifndef RECEIVER_CLIENT_H
#define RECEIVER_CLIENT_H

#include <stddef.h>

#include <json-c/json.h>

/* `method` `path` (under MOCK_WEBHOOK_CONTROL) with a JSON `body` or NULL;
 * the reply parsed. */
json_object *receiver_control(const char *method, const char *path, const char *body);

/* A fresh receiver: no deliveries, faults or log. */
void receiver_reset(void);
/* Misbehave as `spec` says from now on ({"kind":"500","count":3}, ...). */
void receiver_fault(const char *spec);

/* The verified deliveries, one per webhook-id, in arrival order:
 * {"deliveries": [{"id", "count", "payload"}...], "rejected": N}. */
json_object *receiver_deliveries(void);
size_t receiver_n_deliveries(void);
/* The request log (every attempt, with its status or "reset"/"lost(200)"),
 * as a list. */
json_object *receiver_requests(void);
size_t receiver_n_requests(void);

/* Member `key` of an object in a reply; fails the test when missing. */
json_object *member(json_object *o, const char *key);
/* Its string value. */
const char *str(json_object *o, const char *key);

#endif
