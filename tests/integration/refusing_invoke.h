/* SPDX-License-Identifier: MIT */
/*
 * refusing_invoke.h: a host whose invoke() queue is "full" for a while, for
 * porter.h's promise that a refused invoke is asked again from porter's own
 * thread after 1 ms, then 2, 4 ... ms, at most a second apart, until the host
 * takes it (test_invoke_refused.c, test_webhook_reversals.c).
 *
 * Once armed, the next `n` invokes of each callback porter passes are
 * refused (-EAGAIN) and timed; after that each goes to the site's own invoke.
 * One callback is one hand-back path (the recorder's, the outbox's, ...).
 */
#ifndef REFUSING_INVOKE_H
#define REFUSING_INVOKE_H

#include "porter.h"

/* Put the refusing invoke into `services` in front of its own invoke. */
void refusing_invoke_install(struct porter_host_services *services);

/* From now on refuse the next `n` invokes of each callback (0: none). */
void refusing_invoke_arm(int n);

/* Every callback refused since arming was refused `n` times, each time
 * asked again after min(2^k ms, 1 s) and not much later; returns how many
 * callbacks (paths) that was. */
int assert_refused_with_backoff(int n);

#endif
