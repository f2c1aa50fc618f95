#!/bin/sh
# tests/run.sh: the one command that builds porter and runs its tests.
#
#   tests/run.sh             unit + integration tests (the default suite, a few minutes)
#   tests/run.sh --asan      the same suite built with ASan+UBSan (build-asan/)
#   tests/run.sh --valgrind  the same suite under valgrind memcheck
#   tests/run.sh --fuzz [S]  every fuzzer over its corpus for S seconds each (clang)
#   tests/run.sh --bench     the benchmarks in BENCHMARKS.md (not pass/fail)
#   tests/run.sh --install   the install test as a package is built: --prefix=/usr
#                            and -Dreference_host=true (build-install/)
#
# Each mode first installs the Debian packages it needs (deps/ensure.sh, the
# list in deps/debian-packages.txt); nothing when they are already there.
set -eu
cd "$(dirname "$0")/.."

# One closing line a person (or CI) can read: "N passed, N failed".
# $2 is meson's log name: `meson test --setup NAME` writes testlog-NAME.json,
# not testlog.json (which may be a stale log of another run, or missing).
summary() {
	python3 - "$1/meson-logs/${2:-testlog}.json" <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in results)
skipped = sum(r == "SKIP" for r in results)
print("tests: %d passed, %d failed, %d skipped" % (ok, len(results) - ok - skipped, skipped))
PY
}

mode=${1:-default}
case "$mode" in
default) deps/ensure.sh browser ;; # chromium for tests/admin_page
--asan | --bench | --install) deps/ensure.sh ;;
--valgrind) deps/ensure.sh valgrind ;;
--fuzz) deps/ensure.sh fuzz ;;
esac
case "$mode" in
default)
	[ -f build/build.ninja ] || meson setup build
	ninja -C build
	meson test -C build --print-errorlogs
	summary build
	;;
--asan)
	[ -f build-asan/build.ninja ] ||
		meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --print-errorlogs --timeout-multiplier 3
	summary build-asan
	;;
--valgrind)
	[ -f build/build.ninja ] || meson setup build
	ninja -C build
	meson test -C build --setup valgrind --print-errorlogs
	summary build testlog-valgrind
	;;
--fuzz)
	[ -f build-fuzz/build.ninja ] ||
		CC=clang meson setup build-fuzz -Dfuzzers=true -Db_sanitize=address,undefined \
			-Db_lundef=false -Dbenchmarks=false
	ninja -C build-fuzz
	tests/fuzz/run-fuzzers.sh build-fuzz "${2:-30}"
	;;
--bench)
	[ -f build/build.ninja ] || meson setup build
	ninja -C build
	build/tests/bench/bench_hooks build/porter.so
	build/tests/bench/bench_http
	build/tests/bench/bench_scan_decoder
	# Against tests/backend's HTTPS servers (python3 + openssl): skipped,
	# saying so, when the fixture cannot run here (exit 77 is a skip too).
	if [ -x /usr/bin/python3 ] && command -v openssl >/dev/null; then
		tests/backend/fixture.py --webhook -- build/tests/bench/bench_drain build/porter.so ||
			[ $? -eq 77 ]
		build/tests/bench/bench_nexudus || [ $? -eq 77 ]
	else
		echo "bench_drain, bench_nexudus: skipped: tests/backend needs /usr/bin/python3 and openssl"
	fi
	;;
--install)
	# The default run installs the default build (/usr/local, no reference
	# host); this one what a distribution package would hold.
	[ -f build-install/build.ninja ] ||
		meson setup build-install --prefix=/usr -Dreference_host=true -Dtests=false \
			-Dbenchmarks=false
	ninja -C build-install
	tests/install/test_install.sh . build-install true "${CC:-cc}"
	;;
*)
	sed -n '2,11p' "$0"
	exit 2
	;;
esac
