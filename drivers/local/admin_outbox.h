/* SPDX-License-Identifier: MIT */
/* admin_outbox.h: `porter-admin outbox`, what is still to reach the backend. */
#ifndef PORTER_ADMIN_OUTBOX_H
#define PORTER_ADMIN_OUTBOX_H

/* Run `porter-admin outbox` (argv[1]) with its options. Returns the process
 * exit status: 0 shown, 1 shown and there are dead letters, 2 usage or the
 * database cannot be read. */
int admin_outbox_main(int argc, char **argv);

#endif
