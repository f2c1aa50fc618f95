/* SPDX-License-Identifier: MIT */
/* ble.c: the BLE event hook (validation only, for now). See ble.h. */
#include "ble.h"

#include <errno.h>
#include <stddef.h>

#include "log.h"
#include "plugin.h"

int ble_on_event(porter_plugin *plugin, const struct porter_ble_event *ev)
{
	if (!plugin || !ev || !PORTER_HAS_FIELD(ev, struct porter_ble_event, service_uuid))
		return -EINVAL;
	if (!plugin_reader(plugin, ev->reader_id))
		return -EINVAL;
	if ((!ev->manufacturer_data && ev->manufacturer_data_len) ||
	    (!ev->service_data && ev->service_data_len) ||
	    ev->manufacturer_data_len > BLE_MAX_DATA || ev->service_data_len > BLE_MAX_DATA) {
		plog(&plugin->services, PORTER_LOG_NOTICE,
		     "reader %s: BLE event refused: data over %d bytes", ev->reader_id,
		     BLE_MAX_DATA);
		return -EINVAL;
	}
	return PORTER_VERDICT_NO_OPINION;
}

void ble_from_driver(porter_plugin *plugin, const struct porter_ble_event *event)
{
	(void)ble_on_event(plugin, event);
}
