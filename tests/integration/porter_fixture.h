/* SPDX-License-Identifier: MIT */
/*
 * porter_fixture.h: what the integration tests share to set up a site the
 * way an operator would: a private temp dir, a PIN key and a directory made
 * with the real porter-admin, and a local-backend config pointing at them.
 *
 * The paths of the built porter.so and porter-admin come from the
 * environment (PORTER_SO, PORTER_ADMIN), set by tests/integration/meson.build.
 * Nothing here prints a PIN.
 */
#ifndef PORTER_FIXTURE_H
#define PORTER_FIXTURE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define FX_PATH_MAX 4096

/* $NAME from the environment, or NULL (the caller skips or fails). */
const char *fx_env(const char *name);

/* Make a fresh private directory under $TMPDIR (or /tmp). 0 or -errno. */
int fx_mkdtemp(char ret[FX_PATH_MAX]);

/* Remove `dir` and everything under it. Harmless when it does not exist. */
void fx_rmrf(const char *dir);

/* Write `text` to `path` (mode 0600). 0 or -errno. */
int fx_write_file(const char *path, const char *text);

/* "2026-11-25T08:00:00Z" for unix time `t`. */
void fx_timestamp(int64_t t, char ret[32]);

#define FX_ADMIN_ARGS_MAX 15

/* $PORTER_ADMIN with the NULL-terminated arguments after `size` (at most
 * FX_ADMIN_ARGS_MAX), its stdout captured into `out` (cut to `size`), its
 * stderr ours. Returns its exit status (128 for a signal) or -errno. */
int fx_admin(char *out, size_t size, ...) __attribute__((sentinel));

/* `porter-admin keygen DIR/pin.key`. Returns its exit status or -errno. */
int fx_keygen(const char *admin, const char *dir);

/* `porter-admin add` into DIR/directory.json with DIR/pin.key, `pin` fed on
 * stdin. `valid_from`/`valid_until` may be NULL. Returns the exit status. */
int fx_add_person(const char *admin, const char *dir, const char *id, const char *kind,
		  const char *name, const char *pin, const char *valid_from,
		  const char *valid_until);

/* A visitor from an hour ago to 8 h ahead with `pin` and the visitor code
 * `code` (as a registration e-mail gives it; --qr-code-file, the file
 * removed again). Returns porter-admin's exit status or -errno. */
int fx_add_visitor_with_code(const char *admin, const char *dir, const char *id,
			     const char *name, const char *pin, const char *code);

/* The members of examples/NAME (one object holding "texts", found through
 * PORTER_SOURCE_DIR), as config members to append: ",\"texts\": {...}".
 * malloc'd; NULL when the file cannot be read or holds no object. */
char *fx_example_texts(const char *name);

/* `porter-admin pass keygen`: DIR/NAME.key (private) and DIR/NAME.pub. */
int fx_pass_keygen(const char *admin, const char *dir, const char *name);

/* The people a test site is made with. Distinctive PINs, so one leaking
 * into a log line or a display is caught. */
#define FX_PIN_ANA  "482913" /* m-ana, Ana Souza, a member */
#define FX_PIN_BEN  "736150" /* m-ben, Ben Okafor, a member */
#define FX_PIN_VERA "905827" /* v-vera, Vera Visitor: a pass from an hour ago to 8 h ahead */
#define FX_PIN_OTTO "318464" /* v-otto, Otto Expired: a visitor pass that ended in 2020 */

enum fx_person { FX_ANA = 1, FX_BEN = 2, FX_VERA = 4, FX_OTTO = 8, FX_CAST = 15 };

/* `porter-admin keygen` in `dir`, then `add` for each of `people` (FX_ANA |
 * ...), in the order above. 0, or nonzero when porter-admin failed. */
int fx_make_site(const char *admin, const char *dir, unsigned people);

/* A config for the local backend in `dir`, plus `extra`: more top-level
 * members, starting with a comma (",\"repeat_window_ms\":50"), or "".
 * Returns malloc'd text. */
char *fx_config(const char *dir, const char *extra);

#endif
