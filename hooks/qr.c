/* SPDX-License-Identifier: MIT */
/* qr.c: the QR scan hook (validation only, for now). See qr.h. */
#include "qr.h"

#include <errno.h>
#include <stddef.h>

#include "log.h"
#include "plugin.h"

int qr_on_scan(porter_plugin *plugin, const struct porter_qr_event *ev)
{
	if (!plugin || !ev || !PORTER_HAS_FIELD(ev, struct porter_qr_event, data_len))
		return -EINVAL;
	if (!plugin_reader(plugin, ev->reader_id))
		return -EINVAL;
	if ((!ev->data && ev->data_len) || ev->data_len > QR_MAX_BYTES) {
		plog(&plugin->services, PORTER_LOG_NOTICE,
		     "reader %s: QR scan refused: %zu bytes, at most %d", ev->reader_id,
		     ev->data_len, QR_MAX_BYTES);
		return -EINVAL;
	}
	return PORTER_VERDICT_NO_OPINION;
}

void qr_from_driver(porter_plugin *plugin, const struct porter_qr_event *event)
{
	(void)qr_on_scan(plugin, event);
}
