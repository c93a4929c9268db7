#!/bin/sh
# bench-som.sh: the SOM benchmark of issue 3, each mode in its own process
# (so the peak memory reported belongs to that mode).
#   tools/bench-som.sh [BUILD_DIR]        (default: build)
set -e
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" 
cd "$(dirname "$0")/.."
bin="${1:-build}/tools/bench-som"
[ -x "$bin" ] || { echo "bench-som.sh: build first (ninja -C ${1:-build})" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=2
"$bin" dense
"$bin" online
"$bin" stream
"$bin" cancel
