#!/bin/sh
# deps/ensure.sh: make sure the Debian packages porter needs are installed,
# installing what is missing. Called first by examples/run-demo.sh,
# tests/run.sh and .ci/run, so a fresh clone on a fresh machine needs no
# reading before the first command.
#
#   deps/ensure.sh [TAG...]   the untagged packages of deps/debian-packages.txt
#                             plus those tagged TAG ("fuzz", "valgrind", ...)
#   deps/ensure.sh --all      every package in the list (CI)
#
# When everything is there it costs one dpkg-query call and installs nothing
# (no apt-get update either). When something is missing: apt-get as root,
# else `sudo -n` if that works without a password, else it prints the one
# command to run and exits 1 having changed nothing: a half-installed set
# would only move the failure to a more confusing place.
# PORTER_SKIP_DEPS=1 skips the whole check (another distribution, or
# packages installed by other means).
set -eu

list="$(cd "$(dirname "$0")" && pwd)/debian-packages.txt"

if [ "${PORTER_SKIP_DEPS:-}" = 1 ]; then
	exit 0
fi

all=false
tags=" "
for arg in "$@"; do
	case "$arg" in
	--all) all=true ;;
	-*)
		echo "deps/ensure.sh: unknown option $arg (usage: deps/ensure.sh [--all] [TAG...])" >&2
		exit 2
		;;
	*) tags="$tags$arg " ;;
	esac
done

# Untagged lines, plus "TAG: package" lines for the asked tags.
wanted=$(awk -v tags="$tags" -v all="$all" '
	{ sub(/#.*/, "") }
	NF == 0 { next }
	NF == 1 && $1 !~ /:$/ { print $1; next }
	NF == 2 && $1 ~ /:$/ {
		tag = substr($1, 1, length($1) - 1)
		if (all == "true" || index(tags, " " tag " ")) print $2
		next
	}
	{ printf "deps/debian-packages.txt:%d: cannot read \"%s\"\n", NR, $0 > "/dev/stderr"; exit 1 }
' "$list")

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps/ensure.sh: no dpkg-query: not a Debian-like system, so the packages" \
		"are not checked. porter needs the equivalents of:" $wanted >&2
	exit 0
fi

# One call for all of them. A package dpkg has never heard of prints nothing
# on stdout (only a complaint on stderr), so it counts as missing too.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' $wanted 2>/dev/null |
	awk '$NF == "installed" { print $1 }') || true
missing=
for p in $wanted; do
	case " $(echo $installed) " in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
done
missing=${missing# }
if [ -z "$missing" ]; then
	exit 0
fi

install_cmd="apt-get update && apt-get install -y --no-install-recommends $missing"
echo "deps/ensure.sh: missing Debian packages: $missing" >&2
if [ "$(id -u)" = 0 ]; then
	as=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as="sudo -n"
else
	# With sudo (it asks for your password), or else su (root's password).
	if command -v sudo >/dev/null 2>&1; then
		how="sudo sh -c"
	else
		how="su root -c"
	fi
	echo "deps/ensure.sh: cannot install them (not root, and sudo asks for a password" \
		"or is not there). Run this, then the same command again:" >&2
	echo "  $how '$install_cmd'" >&2
	exit 1
fi

echo "deps/ensure.sh: installing them with ${as:-apt-get as root} (a minute or two)" >&2
# env, not export: sudo resets the environment. dpkg's progress goes to
# /dev/null; its errors (stderr) are shown.
$as env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	$missing >/dev/null

# Trust but verify: a package apt-get could not find must not pass silently.
still=
installed=$(dpkg-query -W -f='${Package} ${Status}\n' $missing 2>/dev/null |
	awk '$NF == "installed" { print $1 }') || true
for p in $missing; do
	case " $(echo $installed) " in
	*" $p "*) ;;
	*) still="$still $p" ;;
	esac
done
if [ -n "$still" ]; then
	echo "deps/ensure.sh: still missing after apt-get:$still" >&2
	exit 1
fi
echo "deps/ensure.sh: installed $missing" >&2
