/* SPDX-License-Identifier: MIT */
/*
 * qr_png.h: text as a QR code in a PNG file (libqrencode, libpng), for
 * porter-admin to hand a phone something it can scan. The file is created
 * 0600: what it encodes may be a secret.
 */
#ifndef PORTER_QR_PNG_H
#define PORTER_QR_PNG_H

/* Write `text` as a QR code (error correction M, 8 pixels a module, a
 * 4-module quiet zone) to a new file `path` (never over an existing one).
 * 0 or a negative errno. */
int qr_png_write(const char *path, const char *text);

#endif
