/* SPDX-License-Identifier: MIT */
/*
 * qr.h: the QR scan hook. A scan is a visitor code (matched against the
 * directory by its keyed hash, like a PIN) or porter's signed visitor pass
 * (visitor_pass.h), decided by the engine like a PIN; README "QR codes".
 */
#ifndef PORTER_QR_H
#define PORTER_QR_H

#include "porter.h"

#define QR_MAX_BYTES 4096 /* a QR code holds at most 2953 bytes */

int qr_on_scan(porter_plugin *plugin, const struct porter_qr_event *event);

/* A scan read by porter's own scanner driver (loop thread), in the same
 * normalised form: it takes the hook's path from here on. There is no host
 * request: `request_id` is ignored and complete() is never called for it;
 * the person is answered by feedback and the door alone. */
void qr_from_driver(porter_plugin *plugin, const struct porter_qr_event *event);

#endif
