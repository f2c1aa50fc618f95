/* SPDX-License-Identifier: MIT */
/* admin_presence.h: `porter-admin presence`, who is in and the day's history. */
#ifndef PORTER_ADMIN_PRESENCE_H
#define PORTER_ADMIN_PRESENCE_H

/* Run `porter-admin presence` (argv[1]) with its options. Returns the
 * process exit status: 0 shown, 1 the database cannot be read, 2 usage. */
int admin_presence_main(int argc, char **argv);

#endif
