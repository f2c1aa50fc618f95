/* SPDX-License-Identifier: MIT */
/*
 * log.h: formatted logging through the host's log service.
 *
 * porter never writes to stdout/stderr itself: the host decides where log
 * lines go. Callers must never format a PIN, key or token into a message.
 */
#ifndef PORTER_LOG_H
#define PORTER_LOG_H

#include <stdint.h>

#include "porter.h"

#define LOG_LINE_MAX 512

/* Log through `services` (NULL: dropped). Safe from any thread only if the
 * host's log service is; porter calls it from the loop thread. */
void plog(const struct porter_host_services *services, uint32_t level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
