#!/usr/bin/env bash
# Regenerate the figures of BENCHMARKS.md: the machine, then every bench of the release binary
# with --json (each report saved under $OUT), then the Markdown table of all of them.
#
#   scripts/benchmarks.sh                    # what `make bench` runs (about 6 minutes on 2 cores)
#   MEMORY_BLOCKS=100 scripts/benchmarks.sh  # a quicker run
#
# Every figure is printed beside a reference measured in the same run, so a busy machine
# lowers both; the load average before and after is printed too, to tell.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/bitmark-node}
OUT=${OUT:-target/bench}
SYNC_BLOCKS=${SYNC_BLOCKS:-60}
LISTENER_SECONDS=${LISTENER_SECONDS:-4}
RESERVOIR_ITEMS=${RESERVOIR_ITEMS:-20000}
MEMORY_BLOCKS=${MEMORY_BLOCKS:-500}
MEMORY_PENDING=${MEMORY_PENDING:-20000}
RPC_SECONDS=${RPC_SECONDS:-4}

[ -x "$BIN" ] || { echo "$BIN missing: run cargo build --release --features bench first" >&2; exit 1; }
mkdir -p "$OUT"

echo "## Machine"
echo
echo "- $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "- $(uname -sr), $(rustc --version 2>/dev/null || echo 'rustc unknown')"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

run() {
    local name=$1
    shift
    echo "running: $BIN bench $name $* --json" >&2
    "$BIN" bench "$name" "$@" --json >"$OUT/$name.json"
}
run sync --blocks "$SYNC_BLOCKS"
run listener --seconds "$LISTENER_SECONDS"
run reservoir --items "$RESERVOIR_ITEMS"
run rpc --seconds "$RPC_SECONDS"
run memory --blocks "$MEMORY_BLOCKS" --pending "$MEMORY_PENDING"

echo "## Figures"
echo
"$BIN" bench table "$OUT"/{sync,listener,reservoir,rpc,memory}.json
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- reports: $OUT/{sync,listener,reservoir,rpc,memory}.json"
