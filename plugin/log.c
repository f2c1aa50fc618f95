/* SPDX-License-Identifier: MIT */
/*
 * log.c: formatted logging through the host's log service.
 *
 * Lines are formatted on the stack (no allocation, so logging an
 * out-of-memory condition works) and cut at LOG_LINE_MAX bytes.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void plog(const struct porter_host_services *services, uint32_t level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	/* A host built against an older header may not have the log field. */
	if (!services || !PORTER_HAS_FIELD(services, struct porter_host_services, log) ||
	    !services->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	services->log(services->host, level, line);
}
