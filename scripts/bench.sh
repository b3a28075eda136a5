#!/usr/bin/env bash
# scripts/bench.sh — runs every benchmark and prints its figures (BENCHMARKS.md explains them).
#
# Installs what is missing first (scripts/install-deps.sh), builds the benchmark programs and
# the two binaries they start in one release build, then runs, one after another (never at
# once: they would share the CPU):
#   paths     the command path (:stop) and the read path (GET /sessions/{id}) against the floor
#   scale     10,000 sim sessions from a cold start on one worker, then on three; RSS per session
#   failover  SIGKILL and SIGTERM of one of three workers holding 3,000 working sessions
#   send      durable sends through the edge against raw JetStream publishes
# Each starts its own nats-server and redis-server on free ports and stops everything it
# started. Arguments name the benchmarks to run (default: all), e.g. `scripts/bench.sh paths`.
# It takes about 15 minutes on a 2-core machine.
set -euo pipefail
WAGW_SCRIPT="bench"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
wagw_fix_path

bash scripts/install-deps.sh
# One build with all three packages selected: the programs build the worker and edge binaries
# with the same selection (wagw_tests::worker_procs::build_beside), so nothing is built twice.
cargo build --release -p wagw-bench -p wagw-api -p wagw-worker

wanted=("$@")
((${#wanted[@]})) || wanted=(paths scale failover send)
for name in "${wanted[@]}"; do
    case $name in
        paths) args=(--concurrency 32 --seconds 10 --rounds 3) ;;
        scale) args=(--sessions 10000) ;;
        failover) args=(--sessions 3000) ;;
        send) args=(--sessions 200 --concurrency 32 --seconds 10) ;;
        *) die "unknown benchmark '$name' (paths, scale, failover, send)" ;;
    esac
    printf '\n==> %s: target/release/%s %s\n' "$name" "$name" "${args[*]}"
    "target/release/$name" "${args[@]}"
done
