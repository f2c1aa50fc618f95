#!/bin/sh
# Run every fuzzer over its seed corpus for SECONDS each (default 30).
# New inputs go to a scratch dir, so the checked-in corpus stays small.
# Usage: tests/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS]
set -eu
build=${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Undefined behaviour fails the run, as ASan findings do (without this UBSan
# only prints, and the fuzzer goes on).
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
for target in config directory json_strict keypad tzfile nexudus_token nexudus_envelope retry_after \
	ble_advert ble_token ble_devices scan_decoder \
	nexudus_coworkers nexudus_visitors nexudus_checkins; do
	mkdir -p "$scratch/$target"
	echo "fuzz_$target: $seconds s over tests/fuzz/corpus/$target"
	"$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=8192 \
		-artifact_prefix="$scratch/" "$scratch/$target" "$here/corpus/$target" 2>"$scratch/log" || {
		tail -n 40 "$scratch/log"
		echo "fuzz_$target: FAILED (crash input kept in $scratch)"
		trap - EXIT
		exit 1
	}
	grep -E '^(Done|#[0-9]+ *DONE)' "$scratch/log" | tail -n 1
done
echo "fuzzers: all passed"
