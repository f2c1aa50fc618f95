#!/bin/sh
# test_unit.sh: examples/porter-host.service, as meson generates it, passes
# `systemd-analyze verify`, and its `systemd-analyze security` exposure stays
# at most 1.0 (README "Running as a service" reports the figure). Skipped
# (exit 77) where systemd-analyze is not installed (deps/ensure.sh service).
# Usage: test_unit.sh GENERATED_UNIT PORTER_HOST
set -eu

unit=$1
porter_host=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not installed (apt-get install systemd, or deps/ensure.sh service)"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify checks that ExecStart's program exists: point it at the built one.
sed "s|^ExecStart=[^ ]*/porter-host |ExecStart=$porter_host |" "$unit" >"$work/porter-host.service"
grep -q "^ExecStart=$porter_host " "$work/porter-host.service" || { echo "FAIL: no ExecStart"; exit 1; }
if ! systemd-analyze verify "$work/porter-host.service" >"$work/verify" 2>&1 || [ -s "$work/verify" ]; then
	echo "FAIL: systemd-analyze verify:"
	cat "$work/verify"
	exit 1
fi
echo "systemd-analyze verify: clean"

systemd-analyze security --offline=true "$work/porter-host.service" >"$work/security" 2>&1 || true
grep -v '✓' "$work/security"
score=$(sed -n 's/.*Overall exposure level for porter-host.service: \([0-9.]*\).*/\1/p' "$work/security")
[ -n "$score" ] || { echo "FAIL: no exposure score"; cat "$work/security"; exit 1; }
if ! awk -v s="$score" 'BEGIN { exit !(s <= 1.0) }'; then
	echo "FAIL: exposure $score, want <= 1.0"
	exit 1
fi
echo "systemd-analyze security: exposure $score"
