#!/bin/sh
# test_install.sh: `meson install` into a staging directory puts everything
# where a host author and a packager expect it, and a host built against the
# installed porter.pc alone runs a PIN check-in with the installed porter.so:
#   - porter.so and plugin.json side by side in the plugin directory
#   - porter.h under include/porter, found through `pkg-config --cflags porter`
#   - porter.pc's plugindir, plugin and manifest variables name those files
#   - porter-admin in bin; it makes the site (examples/demo-setup.sh)
#   - porter-host, its unit, sysusers.d and tmpfiles.d snippets only with
#     -Dreference_host=true
# Usage: test_install.sh SOURCE_ROOT BUILD_ROOT REFERENCE_HOST(true|false) CC [CFLAGS...]
set -eu

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
reference_host=$3
cc=$4
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
staging=$work/staging
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

meson install -C "$build" --destdir "$staging" --no-rebuild --quiet >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; echo "FAIL: meson install"; exit 1; }

pc=$(find "$staging" -name porter.pc)
[ -n "$pc" ] || { echo "FAIL: no porter.pc installed"; exit 1; }
echo "installed: $(cd "$staging" && find . -type f | sort | tr '\n' ' ')"
# Only the staged .pc, its paths seen from inside the staging directory.
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_LIBDIR="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$staging"
cflags=$(pkg-config --cflags porter)
staged() { # a path from the .pc: inside the staging dir (pkgconf applies the sysroot to -I only)
	case "$1" in
	"$staging"/*) echo "$1" ;;
	*) echo "$staging$1" ;;
	esac
}
plugindir=$(staged "$(pkg-config --variable=plugindir porter)")
plugin=$(staged "$(pkg-config --variable=plugin porter)")
manifest=$(staged "$(pkg-config --variable=manifest porter)")
echo "pkg-config: cflags '$cflags' plugin $plugin manifest $manifest"

[ -f "$plugin" ] || fail "porter.pc's plugin $plugin not installed"
[ -f "$manifest" ] || fail "porter.pc's manifest $manifest not installed"
[ "$(dirname "$plugin")" = "$plugindir" ] && [ "$(dirname "$manifest")" = "$plugindir" ] ||
	fail "porter.so and plugin.json not together in plugindir $plugindir"
cmp -s "$manifest" "$src/plugin.json" || fail "installed plugin.json differs from the source"
inc=$(echo "$cflags" | sed -n 's/.*-I\([^ ]*\).*/\1/p')
[ -f "$inc/porter.h" ] || fail "no porter.h in $inc (cflags '$cflags')"
case "$inc" in */include/porter) ;; *) fail "porter.h not in include/porter: $inc" ;; esac
[ -z "$(pkg-config --libs porter)" ] || fail "porter.pc has Libs: $(pkg-config --libs porter) (hosts dlopen)"

admin=$(find "$staging" -path '*/bin/porter-admin' -type f)
[ -x "$admin" ] || fail "porter-admin not installed in bin"
host=$(find "$staging" -name porter-host -type f)
unit=$(find "$staging" -path '*/lib/systemd/system/porter-host.service')
sysusers=$(find "$staging" -path '*/lib/sysusers.d/porter.conf')
tmpfiles=$(find "$staging" -path '*/lib/tmpfiles.d/porter.conf')
if [ "$reference_host" = true ]; then
	case "$host" in */sbin/porter-host) ;; *) fail "porter-host not in sbin: '$host'" ;; esac
	[ -n "$unit" ] && [ -n "$sysusers" ] && [ -n "$tmpfiles" ] ||
		fail "unit '$unit', sysusers '$sysusers', tmpfiles '$tmpfiles'"
	# The unit names the installed files, as seen on the target system.
	grep -q "^ExecStart=${host#"$staging"} --plugin ${plugin#"$staging"} " "$unit" ||
		fail "unit's ExecStart does not name the installed files: $(grep ExecStart= "$unit")"
else
	[ -z "$host$unit$sysusers$tmpfiles" ] || fail "reference host installed without -Dreference_host"
fi

# A host compiled from porter.h alone (no -I into the source tree).
"$cc" "$@" -std=gnu11 -Wall -Wextra -Werror $cflags -o "$work/mini_host" "$src/tests/install/mini_host.c" -ldl -lpthread ||
	fail "mini_host does not compile against the installed porter.h"
if [ -x "$work/mini_host" ] && [ -x "$admin" ]; then
	(cd "$work" && "$src/examples/demo-setup.sh" "$admin" >/dev/null) || fail "demo-setup with $admin"
	if "$work/mini_host" "$plugin" "$work/demo/config.json" 1234 >"$work/out" 2>&1; then
		echo "mini_host: $(tail -1 "$work/out")"
	else
		fail "PIN journey with the installed porter.so: $(cat "$work/out")"
	fi
fi

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "install: all checks pass"
