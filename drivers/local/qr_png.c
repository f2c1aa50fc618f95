/* SPDX-License-Identifier: MIT */
/* qr_png.c: a QR code as a PNG file. See qr_png.h. */
#include "qr_png.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>
#include <qrencode.h>

#define SCALE 8
#define QUIET 4

static int write_png(FILE *f, const QRcode *qr)
{
	int side = (qr->width + 2 * QUIET) * SCALE;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	png_bytep row = malloc((size_t)side);
	int r = -ENOMEM;
	if (!png || !info || !row)
		goto out;
	r = -EIO;
	if (setjmp(png_jmpbuf(png)))
		goto out;
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 8, PNG_COLOR_TYPE_GRAY,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < side; y++) {
		int my = y / SCALE - QUIET;
		for (int x = 0; x < side; x++) {
			int mx = x / SCALE - QUIET;
			bool dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
			            (qr->data[my * qr->width + mx] & 1);
			row[x] = dark ? 0 : 255;
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	r = 0;
out:
	png_destroy_write_struct(&png, &info);
	free(row);
	return r;
}

int qr_png_write(const char *path, const char *text, mode_t mode)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return errno ? -errno : -EINVAL;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd >= 0 && fchmod(fd, mode) < 0) { /* whatever the umask */
		int e = errno;
		close(fd);
		unlink(path);
		QRcode_free(qr);
		return -e;
	}
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	int r = f ? write_png(f, qr) : -errno;
	if (!f && fd >= 0)
		close(fd);
	if (f && (fflush(f) != 0 || fsync(fileno(f)) != 0) && r == 0)
		r = -EIO;
	if (f)
		fclose(f);
	if (r < 0 && fd >= 0)
		unlink(path);
	QRcode_free(qr);
	return r;
}
