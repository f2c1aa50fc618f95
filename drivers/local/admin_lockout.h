/* SPDX-License-Identifier: MIT */
/* admin_lockout.h: `porter-admin lockouts` and `porter-admin unlock`. */
#ifndef PORTER_ADMIN_LOCKOUT_H
#define PORTER_ADMIN_LOCKOUT_H

/* Run `argv[1]` ("lockouts" or "unlock") with its options. Returns the
 * process exit status. */
int admin_lockout_main(int argc, char **argv);

#endif
