#!/bin/sh
# fuzz-bounded.sh FUZZER SEED_DIR SECONDS: fuzzes for a bounded time from the seeds,
# keeping what it finds in a temporary folder so the source tree stays untouched.
# Exits non-zero (and libFuzzer prints the input) when the fuzzer finds a crash.
set -eu
fuzzer=$(realpath "$1") seeds=$(realpath "$2") seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 "$work" "$seeds"
