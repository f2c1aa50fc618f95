/* SPDX-License-Identifier: MIT */
/* admin_attempts.h: `porter-admin attempts`, denied attempts and lockouts. */
#ifndef PORTER_ADMIN_ATTEMPTS_H
#define PORTER_ADMIN_ATTEMPTS_H

/* Run `porter-admin attempts` with its options. Returns the exit status. */
int admin_attempts_main(int argc, char **argv);

#endif
