#!/usr/bin/env bash
# The channel soak (gort/tests/soak.rs) in release mode: GORT_SOAK_SECS
# seconds (default 15) for each scheduler at 2 and at 4 workers, so four
# combinations (one minute) after the build. The test prints a summary line
# per combination; a hang fails it (its monitor prints the channels and what
# every party is doing, and exits with status 3).
#
# Knobs (environment): GORT_SOAK_SECS (per combination; hours by hand are
# fine), GORT_SOAK_STALL_SECS (how long without progress is a hang, default
# 10), GORT_SOAK_SEED (repeat a run's random choices), GORT_TEST_SCHEDULERS
# (threads or mn: one scheduler only). Extra arguments go to cargo (e.g.
# --locked, --offline).
set -euo pipefail
cd "$(dirname "$0")/.."

export GORT_SOAK_SECS=${GORT_SOAK_SECS:-15}
started=$SECONDS
cargo test -p gort --release --test soak "$@" --no-run
cargo test -p gort --release --test soak "$@" -- --nocapture
echo "soak: ${GORT_SOAK_SECS} s per combination, $((SECONDS - started)) s with the build"
