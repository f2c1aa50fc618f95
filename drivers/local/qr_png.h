/* SPDX-License-Identifier: MIT */
/*
 * qr_png.h: text as a QR code in a PNG file (libqrencode, libpng), for
 * porter-admin to hand a phone or a visitor something to scan: a member's
 * phone key (0600: a secret) or a signed visitor pass (0644: it is sent by
 * e-mail anyway).
 */
#ifndef PORTER_QR_PNG_H
#define PORTER_QR_PNG_H

#include <sys/types.h>

/* Write `text` as a QR code (error correction M, 8 pixels a module, a
 * 4-module quiet zone) to a new file `path` with `mode` whatever the umask
 * (never over an existing one: -EEXIST). 0 or a negative errno. */
int qr_png_write(const char *path, const char *text, mode_t mode);

#endif
