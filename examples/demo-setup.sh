#!/bin/sh
# demo-setup.sh: create the demo site in ./demo (relative to the current
# directory) for the reference host:
#   demo/pin.key         the site's PIN key (porter-admin keygen, mode 0600)
#   demo/directory.json  members Ana Souza (PIN 1234) and Ben Okafor (PIN 5678),
#                        visitor Vera Visitor (PIN 2468, pass valid today, UTC)
#   demo/config.json     examples/config-local.json with @DEMO_DIR@ replaced by
#                        the absolute path of demo/ (porter wants absolute
#                        paths: it runs inside a daemon whose working directory
#                        is not the admin's)
# presence.db is created by porter on first start.
#
# Usage: examples/demo-setup.sh [PORTER_ADMIN]   (default: build/porter-admin)
# Idempotent: does nothing when demo/ exists (delete it to start over).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
admin=${1:-${PORTER_ADMIN:-build/porter-admin}}

if [ -e demo ]; then
	echo "demo-setup: demo/ exists, leaving it as it is"
	exit 0
fi
if [ ! -x "$admin" ]; then
	echo "demo-setup: $admin not found; build first (ninja -C build)" >&2
	exit 1
fi

# Build in a scratch dir and rename at the end, so an interrupted setup never
# leaves a half-made demo/ that the next run would mistake for a finished one.
tmp=$(mktemp -d demo.tmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
demo_dir=$(pwd)/demo

"$admin" keygen "$tmp/pin.key" >/dev/null

today=$(date -u +%Y-%m-%d)
add() { # id kind name pin [valid_from valid_until]
	id=$1 kind=$2 name=$3 pin=$4
	shift 4
	set -- ${1:+--valid-from "$1"} ${2:+--valid-until "$2"}
	printf '%s\n' "$pin" | "$admin" add --directory "$tmp/directory.json" \
		--key "$tmp/pin.key" --id "$id" --kind "$kind" --name "$name" "$@" >/dev/null
}
add m-ana member "Ana Souza" 1234
add m-ben member "Ben Okafor" 5678
add v-vera visitor "Vera Visitor" 2468 "${today}T00:00:00Z" "${today}T23:59:59Z"

sed "s|@DEMO_DIR@|$demo_dir|g" "$here/config-local.json" >"$tmp/config.json"
chmod 700 "$tmp"
mv "$tmp" demo
trap - EXIT
echo "demo-setup: created demo/ (Ana 1234, Ben 5678, visitor Vera 2468)"
