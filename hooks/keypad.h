/* SPDX-License-Identifier: MIT */
/*
 * keypad.h: the keypad hooks, whole PIN and key by key.
 *
 * Both validate what the host delivers and hand a complete PIN to the
 * decision engine. Key by key: '#' submits, '*' clears, an entry is dropped
 * after keypad.inter_key_timeout_ms without a key (a host timer), and an
 * entry longer than keypad.pin_max_length is refused: the keys after that, up
 * to the next '#', '*' or timeout, still belong to the refused entry and are
 * swallowed (no new PIN, no guess counted). Digits are kept only
 * in the reader's buffer and wiped as soon as they are used or dropped.
 */
#ifndef PORTER_KEYPAD_H
#define PORTER_KEYPAD_H

#include "porter.h"
#include "reader.h"

int keypad_on_pin(porter_plugin *plugin, const struct porter_pin_event *event);
int keypad_on_key(porter_plugin *plugin, const struct porter_key_event *event);

/* Drop the entry in progress and its timer (reload, shutdown). */
void keypad_reset(struct reader_state *reader, void *unused);

#endif
