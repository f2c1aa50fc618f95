#!/bin/sh
# hook-syscalls.sh: which system calls the host's loop thread makes while
# porter's hooks run (bench_hooks between its markers), against those of
# porter's recorder thread. The loop thread must show no file or disk I/O
# (openat, pwrite64, fdatasync, fsync...): only the loop's own epoll/timerfd
# and eventfd traffic, and futex when waking the recorder.
# Usage: tests/bench/hook-syscalls.sh BUILD_DIR   (needs strace)
set -eu
build=${1:?usage: hook-syscalls.sh BUILD_DIR}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
strace -f -qq -o "$out" "$build/tests/bench/bench_hooks" "$build/porter.so" 2000 4000 200 >/dev/null
main=$(head -n 1 "$out" | cut -d' ' -f1)
echo "loop thread ($main), between the markers:"
awk -v m="$main" '
	$1 == m && /write\(-1, "hooks-begin"/ { on = 1; next }
	$1 == m && /write\(-1, "hooks-end"/ { on = 0 }
	on && $1 == m { split($2, a, "("); n[a[1]]++ }
	END { for (k in n) printf "  %7d %s\n", n[k], k }' "$out" | sort -rn
echo "porter's other threads, whole run:"
awk -v m="$main" '$1 != m { split($2, a, "("); n[a[1]]++ }
	END { for (k in n) printf "  %7d %s\n", n[k], k }' "$out" | sort -rn | head -n 10
