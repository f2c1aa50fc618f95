#!/bin/sh
# run-demo.sh: build porter and run the reference host on the demo site, from
# a fresh clone: `examples/run-demo.sh`. Type a PIN (1234 Ana, 5678 Ben,
# 2468 visitor Vera) and press Enter; Ctrl-C quits. State lives in ./demo at
# the top of the source tree; delete it to start over. Installs the Debian
# packages it needs first (deps/ensure.sh), nothing when they are there.
set -eu

cd "$(dirname "$0")/.."
deps/ensure.sh
if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build
examples/demo-setup.sh build/porter-admin
exec build/examples/porter-host --plugin build/porter.so --config demo/config.json --reader front "$@"
