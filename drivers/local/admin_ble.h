/* SPDX-License-Identifier: MIT */
/* admin_ble.h: porter-admin ble (members' phone keys and tokens). */
#ifndef PORTER_ADMIN_BLE_H
#define PORTER_ADMIN_BLE_H

/* argv[1] is "ble". Returns the exit status. */
int admin_ble_main(int argc, char **argv);

/* `porter-admin add --ble-key`: make `id` a key as `ble key` does (key
 * shown on stdout, no QR code). Returns the exit status. */
int admin_ble_new_key(const char *directory, const char *key_file, const char *id);

#endif
