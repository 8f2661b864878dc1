#!/usr/bin/env bash
# ThreadSanitizer over gort's concurrency core: the tests of channels,
# select, sync, futex, timers, context, park/unpark and goroutines, on the
# threads scheduler (GORT_SCHEDULER=threads, GORT_TEST_SCHEDULERS=threads).
# Installs what it needs (nightly with rust-src, for -Zbuild-std;
# idempotent) and fails on the first report (halt_on_error), or if it
# cannot install.
#
# Threads scheduler only: corosensei switches stacks without telling TSan.
# Its `sanitizer` feature calls ASan's fiber hooks, which the TSan runtime
# lacks (it has __tsan_create_fiber/__tsan_switch_to_fiber), and M:N
# goroutines as unannotated fibers crash TSan (SEGV inside it within
# seconds) or hang. So the tests that build an M:N runtime themselves are
# skipped below.
#
# Not here: the gc tests (the collector stops threads with signals and
# scans stacks and registers conservatively, outside TSan's model by
# design); the deadlock tests (the deadlock monitor counts the process's
# OS threads, and TSan's runtime adds one of its own, so no case is ever
# reported and every child is killed at its limit, as under qemu-user); the
# examples' output tests (whole example programs, not the core).
#
# Usage: .ci/tsan.sh [extra libtest args, e.g. a test name filter]
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=${GORT_TSAN_TOOLCHAIN:-nightly}
fail() {
    echo "tsan: $*" >&2
    exit 1
}

command -v rustup >/dev/null 2>&1 || fail "rustup is needed to install the $toolchain toolchain"
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$toolchain" --profile minimal --component rust-src ||
        fail "could not install the $toolchain toolchain (TSan needs nightly's -Zsanitizer and -Zbuild-std)"
fi
rustup component add rust-src --toolchain "$toolchain" >/dev/null ||
    fail "could not add rust-src to $toolchain (-Zbuild-std needs it)"
host=$(rustup run "$toolchain" rustc -vV | sed -n 's/^host: //p')
case $host in
x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu) ;;
*) fail "TSan is set up here for Linux x86_64/aarch64 hosts, not $host" ;;
esac

tests=(
    chan park mutex rwmutex waitgroup cond semaphore once futex time context
    goroutines timer_accounting portable_cases
)
# The tests that build an M:N runtime themselves (see above); under TSan
# the stack-overflow child dies by its signal instead of exiting 2, and the
# 20,000-goroutine scavenger child and the million-goroutine test run for
# many minutes.
skip=(
    mn_spawn_storm_runs_on_every_worker
    mn_million_parked_goroutines_are_released
    unjoined_panic_exits_2_under_mn
    mn_stack_overflow_is_reported
    idle_scheduler_gives_stack_memory_back
    mn_sleeps_start_no_timer_thread
    goroutine_waiters_wake_in_fifo_order_past_timed_out_ones
    waiter_table_work_per_waiter_does_not_grow
    # TSan's own allocator writes the zeroes of a calloc, so a big buffer is
    # resident at once there: the test is about the OS's zero pages.
    big_buffer_is_resident_only_where_used
)

export GORT_SCHEDULER=threads GORT_TEST_SCHEDULERS=threads
# Tests that panic on purpose would print backtraces, and symbolizing one
# in a TSan build took longer than the tests' watchdogs allow (>30 s).
export RUST_BACKTRACE=0
# halt_on_error: the first report fails the test binary (exit 66);
# second_deadlock_stack: both stacks of a lock-order report;
# allocator_may_return_null: an allocation beyond TSan's 1 TiB limit
# returns null as the OS would refuse it (a channel of absurd capacity must
# panic with "makechan: size out of range"), instead of ending the process.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 allocator_may_return_null=1 ${TSAN_OPTIONS:-}"
export RUSTFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR=target/tsan
# Line tables are all a report needs (full debug info of a dozen TSan
# binaries is slow to link); opt-level 1 runs the tests faster and keeps
# debug assertions.
export CARGO_PROFILE_DEV_DEBUG=line-tables-only CARGO_PROFILE_DEV_OPT_LEVEL=1

args=() skips=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
for t in "${skip[@]}"; do skips+=(--skip "$t"); done
cargo "+$toolchain" test -Zbuild-std --target "$host" -p gort "${args[@]}" -- "${skips[@]}" "$@"
