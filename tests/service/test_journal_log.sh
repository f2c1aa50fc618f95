#!/bin/sh
# test_journal_log.sh: porter-host as a service writes its stderr lines with
# the sd-daemon priority prefix "<N>" when stderr is the journal, so
# `journalctl -p warning` shows porter's warnings:
#   1. JOURNAL_STREAM naming stderr: porter's warning (a lockout) is "<4>",
#      its notice "<5>", porter-host's own error "<3>"
#   2. no JOURNAL_STREAM, or one naming another stream (stderr redirected by
#      a script): no prefixes; --log=journal and --log=plain override
#   3. --keypad FIFO: keys written to the FIFO are pressed, a writer closing
#      it does not stop the daemon, SIGTERM does
# Usage: test_journal_log.sh SOURCE_ROOT PORTER_HOST PORTER_SO PORTER_ADMIN
set -eu

src=$(cd "$1" && pwd)
host=$2
plugin=$3
admin=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
(cd "$work" && "$src/examples/demo-setup.sh" "$admin" >/dev/null)
config=$work/demo/config.json

stream_of() { stat -L -c '%d:%i' "$1"; }

# 1. Five wrong PINs lock the reader out: porter logs a warning.
: >"$work/err"
printf '9999\n9999\n9999\n9999\n9999\n' |
	JOURNAL_STREAM=$(stream_of "$work/err") "$host" --plugin "$plugin" --config "$config" \
		>"$work/out" 2>>"$work/err" || true
grep -q '^<4>porter warning: reader front: locked out' "$work/err" ||
	fail "1: no <4> lockout warning: $(cat "$work/err")"
grep -v '^<[0-7]>' "$work/err" | grep -q . && fail "1: a line without priority: $(grep -v '^<[0-7]>' "$work/err")"
grep -q '9999' "$work/err" && fail "1: a PIN in the log"
: >"$work/err"
JOURNAL_STREAM=$(stream_of "$work/err") "$host" --plugin "$plugin" --config "$work/missing.json" \
	</dev/null >/dev/null 2>>"$work/err" && fail "1: started without a config"
grep -q '^<3>porter-host: cannot read config' "$work/err" || fail "1: no <3> error: $(cat "$work/err")"

# 2. Not the journal: plain lines.
: >"$work/err"
"$host" --plugin "$plugin" --config "$work/missing.json" </dev/null >/dev/null 2>>"$work/err" || true
grep -q '^porter-host: cannot read config' "$work/err" || fail "2: plain: $(cat "$work/err")"
: >"$work/err"
: >"$work/other"
JOURNAL_STREAM=$(stream_of "$work/other") "$host" --plugin "$plugin" --config "$work/missing.json" \
	</dev/null >/dev/null 2>>"$work/err" || true
grep -q '^porter-host: cannot read config' "$work/err" || fail "2: other stream: $(cat "$work/err")"
: >"$work/err"
"$host" --log=journal --plugin "$plugin" --config "$work/missing.json" </dev/null >/dev/null 2>>"$work/err" || true
grep -q '^<3>porter-host: cannot read config' "$work/err" || fail "2: --log=journal: $(cat "$work/err")"
: >"$work/err"
JOURNAL_STREAM=$(stream_of "$work/err") "$host" --log=plain --plugin "$plugin" \
	--config "$work/missing.json" </dev/null >/dev/null 2>>"$work/err" || true
grep -q '^porter-host: cannot read config' "$work/err" || fail "2: --log=plain: $(cat "$work/err")"
"$host" --log=loud --plugin "$plugin" --config "$config" </dev/null >/dev/null 2>"$work/err" &&
	fail "2: --log=loud accepted"
grep -q 'want auto, journal or plain' "$work/err" || fail "2: --log=loud: $(cat "$work/err")"

# 3. The keypad FIFO of the service, on a new site (case 1 locked this one).
mkdir "$work/site2"
(cd "$work/site2" && "$src/examples/demo-setup.sh" "$admin" >/dev/null)
fifo=$work/keypad
"$host" --plugin "$plugin" --config "$work/site2/demo/config.json" --keypad "$fifo" --log=journal \
	</dev/null >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do [ -p "$fifo" ] && break; sleep 0.1; done
[ -p "$fifo" ] || fail "3: no FIFO made at $fifo"
printf '1234\n' >"$fifo" # a writer comes and goes
for _ in $(seq 100); do grep -q 'checked_in' "$work/out" && break; sleep 0.1; done
grep -q 'checked_in' "$work/out" || fail "3: 1234 through the FIFO: $(cat "$work/out" "$work/err")"
kill -0 "$pid" 2>/dev/null || fail "3: porter-host gone after the writer closed the FIFO"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "3: exit $rc after SIGTERM: $(cat "$work/err")"
grep -q '^<5>porter-host: Terminated, shutting down' "$work/err" || fail "3: no <5> notice: $(cat "$work/err")"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "journal priorities and keypad FIFO: all cases pass"
