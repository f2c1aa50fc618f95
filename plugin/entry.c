/* SPDX-License-Identifier: MIT */
/*
 * entry.c: the one exported symbol. Everything else in porter.so is hidden
 * (-fvisibility=hidden and porter.map).
 */
#include "ble.h"
#include "keypad.h"
#include "plugin.h"
#include "qr.h"

static const struct porter_plugin_descriptor descriptor = {
        .size = sizeof(struct porter_plugin_descriptor),
        .abi_version = PORTER_ABI_VERSION,
        .name = "porter",
        .version = PORTER_VERSION,
        .check_config = plugin_check_config,
        .init = plugin_init,
        .reload = plugin_reload,
        .shutdown = plugin_shutdown,
        .on_pin = keypad_on_pin,
        .on_key = keypad_on_key,
        .on_qr = qr_on_scan,
        .on_ble = ble_on_event,
        .cancel = plugin_cancel,
        .diagnostics = plugin_diagnostics,
};

__attribute__((visibility("default"))) const struct porter_plugin_descriptor *
porter_plugin_entry_v1(void)
{
	return &descriptor;
}
