/* SPDX-License-Identifier: MIT */
/* admin_ble.h: porter-admin ble (members' phone keys and tokens). */
#ifndef PORTER_ADMIN_BLE_H
#define PORTER_ADMIN_BLE_H

/* argv[1] is "ble". Returns the exit status. */
int admin_ble_main(int argc, char **argv);

#endif
