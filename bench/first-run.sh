#!/bin/sh
# A new user's first `npm ci && npm start`, and the second: clones this repository at REF
# (default HEAD) into a fresh directory and runs both twice with empty npm, Go build and Go
# module caches of their own (so the machine's caches are neither used nor touched), timing
# `npm ci` and `npm start -- --exit-after-snapshot` (build, server, fleet, agent, first snapshot).
#
#   sh bench/first-run.sh [REF]        # prints one line per step with its wall time
#
# The clone and its caches are in a temporary directory, removed at the end (KEEP=1 keeps it).
set -eu
ref=${1:-HEAD}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/periscope-first-run.XXXXXX)
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; return; fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
git clone -q "$repo" "$work/periscope"
git -C "$work/periscope" checkout -q "$(git -C "$repo" rev-parse "$ref")"
export npm_config_cache="$work/npm-cache" GOCACHE="$work/go-build" GOMODCACHE="$work/go-mod"
export npm_config_update_notifier=false
cd "$work/periscope"

step() { # step NAME COMMAND...: runs it with its output in $work/NAME.log, prints the wall time
  name=$1
  shift
  t0=$(date +%s.%N)
  if ! "$@" >"$work/$name.log" 2>&1; then
    echo "$name failed; its log:"
    cat "$work/$name.log"
    exit 1
  fi
  t1=$(date +%s.%N)
  printf '%-16s %6.1f s\n' "$name" "$(echo "$t1 - $t0" | bc)"
}

echo "$(git log -1 --format='%h %s' | cut -c1-72); load $(cut -d' ' -f1-3 /proc/loadavg)"
step 'first npm ci' npm ci
step 'first npm start' npm start -- --port 0 --exit-after-snapshot
step 'second npm ci' npm ci
step 'second npm start' npm start -- --port 0 --exit-after-snapshot
echo "load $(cut -d' ' -f1-3 /proc/loadavg); npm start's output: $work/first npm start.log (KEEP=1)"
