#!/bin/sh
# test_ensure.sh: deps/ensure.sh, the set-up step of the README commands.
# apt-get, sudo, id and dpkg-query are replaced by stubs on PATH that record
# every call, so the test installs nothing and needs no network or root.
#   1. everything present (the real dpkg-query): no apt-get, no sudo
#   2. missing, root: apt-get update + install of the missing ones only;
#      then a second run installs nothing
#   3. missing, not root, sudo -n works: the same through sudo -n
#   4. missing, not root, sudo wants a password (or there is no sudo): the
#      exact command (through sudo, or su), exit 1, nothing run
#   5. examples/run-demo.sh, tests/run.sh and .ci/run all run the set-up step
#      first: with a package missing and no way to install, each stops before
#      meson
#   6. tags: fuzz/valgrind/browser packages only when asked for
# Usage: test_ensure.sh SOURCE_ROOT
set -eu

src=$(cd "${1:?usage: test_ensure.sh SOURCE_ROOT}" && pwd)
unset PORTER_SKIP_DEPS # a run that skipped its own set-up still tests this one
ensure=$src/deps/ensure.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stubs=$work/stubs
mkdir "$stubs"
calls=$work/calls
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

stub() { # name body
	printf '#!/bin/sh\n%s\n' "$2" >"$stubs/$1"
	chmod +x "$stubs/$1"
}
# Record, then fail: a call that should not happen must not succeed either.
for tool in apt-get meson ninja; do
	stub "$tool" "echo \"$tool \$*\" >>'$calls'; exit 1"
done
stub sudo "echo \"sudo \$*\" >>'$calls'; exit 1"

# A dpkg-query that reports every package as installed, except those named
# in $FAKE_MISSING that apt-get (stub below) has not "installed" yet.
fake_dpkg() {
	stub dpkg-query "
shift 2 # -W -f=...
for p in \"\$@\"; do
	case \" \$FAKE_MISSING \" in
	*\" \$p \"*) grep -qx \"\$p\" '$work/installed' 2>/dev/null ||
		{ echo \"\$p unknown ok not-installed\"; continue; } ;;
	esac
	echo \"\$p install ok installed\"
done"
}
# An apt-get that records and "installs" (for the fake dpkg-query).
working_apt() {
	stub apt-get "echo \"apt-get \$*\" >>'$calls'
[ \"\$1\" = update ] && exit 0
for a in \"\$@\"; do case \$a in -*|install) ;; *) echo \"\$a\" >>'$work/installed' ;; esac; done"
}
reset() {
	: >"$calls"
	rm -f "$work/installed"
}
run() { # run ENSURE-ARGS...: output in $work/out, status in $rc
	rc=0
	PATH="$stubs:$PATH" "$@" >"$work/out" 2>&1 || rc=$?
}
called() { grep -q "$1" "$calls"; }

# 1. Everything present, as on this machine (tests/run.sh ensured it).
reset
run "$ensure"
[ "$rc" = 0 ] || fail "1: exit $rc with everything installed: $(cat "$work/out")"
[ -s "$calls" ] && fail "1: called with everything installed: $(cat "$calls")"
[ -s "$work/out" ] && fail "1: not silent: $(cat "$work/out")"

fake_dpkg
export FAKE_MISSING="libcmocka-dev meson"

# 2. Missing, as root.
reset
working_apt
stub id 'echo 0'
run "$ensure"
[ "$rc" = 0 ] || fail "2: exit $rc as root: $(cat "$work/out")"
grep -qx 'apt-get update -qq' "$calls" || fail "2: no apt-get update: $(cat "$calls")"
grep -qx 'apt-get install -y -qq --no-install-recommends meson libcmocka-dev' "$calls" ||
	fail "2: wrong install: $(cat "$calls")"
called sudo && fail "2: sudo as root: $(cat "$calls")"
: >"$calls"
run "$ensure"
[ "$rc" = 0 ] && [ ! -s "$calls" ] || fail "2: second run did something: $(cat "$calls")"

# 3. Missing, not root, sudo -n works.
reset
stub id 'echo 1000'
stub sudo "echo \"sudo \$*\" >>'$calls'; [ \"\$1\" = -n ] || exit 1; shift; exec \"\$@\""
run "$ensure"
[ "$rc" = 0 ] || fail "3: exit $rc with sudo: $(cat "$work/out")"
grep -qx 'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends meson libcmocka-dev' "$calls" ||
	fail "3: not installed through sudo -n: $(cat "$calls")"

# 4. Missing, not root, sudo wants a password: the exact command, nothing done.
reset
stub sudo "echo \"sudo \$*\" >>'$calls'; exit 1"
run "$ensure"
[ "$rc" = 1 ] || fail "4: exit $rc, want 1"
grep -qxF "  sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends meson libcmocka-dev'" "$work/out" ||
	fail "4: exact command not printed: $(cat "$work/out")"
called apt-get && fail "4: apt-get ran: $(cat "$calls")"
grep -v '^sudo -n true$' "$calls" | grep -q . && fail "4: sudo used beyond -n true: $(cat "$calls")"
# No sudo at all: the command through su. PATH holds only the stubs and the
# few tools ensure.sh uses, so a real sudo on this machine is never found.
reset
mkdir "$work/minbin"
for tool in awk dirname; do ln -s "$(command -v "$tool")" "$work/minbin/$tool"; done
mv "$stubs/sudo" "$work/sudo.stub"
rc=0
PATH="$stubs:$work/minbin" "$ensure" >"$work/out" 2>&1 || rc=$?
[ "$rc" = 1 ] &&
	grep -qxF "  su root -c 'apt-get update && apt-get install -y --no-install-recommends meson libcmocka-dev'" "$work/out" ||
	fail "4: without sudo: exit $rc: $(cat "$work/out")"
[ -s "$calls" ] && fail "4: without sudo: called $(cat "$calls")"
mv "$work/sudo.stub" "$stubs/sudo"

# 5. Both README commands run the set-up step before anything else. They are
# run from a copy so their build/ and demo/ never touch the source tree.
mkdir "$work/tree"
cp -R "$src/deps" "$src/examples" "$src/tests" "$src/.ci" "$work/tree/"
for cmd in examples/run-demo.sh tests/run.sh .ci/run; do
	reset
	run "$work/tree/$cmd"
	[ "$rc" = 1 ] || fail "5: $cmd: exit $rc, want 1: $(cat "$work/out")"
	grep -q "sudo sh -c 'apt-get update" "$work/out" || fail "5: $cmd: no command: $(cat "$work/out")"
	called 'meson\|ninja\|apt-get' && fail "5: $cmd went on: $(cat "$calls")"
	[ -e "$work/tree/build" ] && fail "5: $cmd made build/"
	[ -e "$work/tree/demo" ] && fail "5: $cmd made demo/"
done

# 6. Tags: the fuzz packages only for the modes that ask for them.
reset
working_apt
stub id 'echo 0'
export FAKE_MISSING="clang valgrind chromium"
run "$ensure"
[ "$rc" = 0 ] && [ ! -s "$calls" ] || fail "6: untagged run installed $(cat "$calls")"
run "$ensure" fuzz
grep -qx 'apt-get install -y -qq --no-install-recommends clang' "$calls" ||
	fail "6: fuzz: $(cat "$calls")"
reset
for cmd in "tests/run.sh --valgrind" "tests/run.sh --fuzz 1" "tests/run.sh"; do
	reset
	stub id 'echo 1000'
	run "$work/tree/"$cmd
	[ "$rc" = 1 ] || fail "6: $cmd: exit $rc, want 1"
	case $cmd in
	*valgrind) want=valgrind ;;
	*fuzz*) want=clang ;;
	*) want=chromium ;; # the default suite's browser: tag
	esac
	grep -q "install -y --no-install-recommends $want'" "$work/out" || fail "6: $cmd: $(cat "$work/out")"
done

if [ "$failures" != 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "deps/ensure.sh: all cases pass"
