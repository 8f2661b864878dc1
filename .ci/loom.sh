#!/usr/bin/env bash
# Loom model checks of gort's futex protocol and sync types
# (gort/tests/loom.rs). Builds once with `--cfg loom` into its own target
# dir (so the normal build is not invalidated), then runs
#   RUSTFLAGS="--cfg loom" cargo test -p gort --release --test loom -- --exact <model>
# for each model in its own process: a loom deadlock often aborts the test
# process, which would hide the models after it. Prints each model's loom
# iteration count and time, then a summary; exits non-zero if any failed.
#
# Knobs (environment):
#   LOOM_MAX_PREEMPTIONS  preemption bound (default 3; the whole run takes
#                         well under a minute on 2 cores with it)
#   LOOM_MODELS           space-separated model names to run (default: all)
#   LOOM_LOG, LOOM_LOCATION, LOOM_CHECKPOINT_FILE ...  passed to loom, for
#                         replaying a failure (see loom's docs)
# Extra arguments are passed to cargo (e.g. --locked, --offline).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

export RUSTFLAGS="--cfg loom"
export CARGO_TARGET_DIR=${LOOM_TARGET_DIR:-$repo/target/loom}
export LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-3}
export GORT_LOOM_STATS=1
cargo_test=(cargo test -p gort --release --test loom "$@")

started=$SECONDS
"${cargo_test[@]}" --no-run

if [[ -n ${LOOM_MODELS:-} ]]; then
    read -r -a models <<<"$LOOM_MODELS"
else
    mapfile -t models < <("${cargo_test[@]}" -q -- --list 2>/dev/null |
        sed -n 's/: test$//p')
fi
if ((${#models[@]} == 0)); then
    echo "loom: no models found" >&2
    exit 1
fi

echo "loom: ${#models[@]} models, LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS"
failed=()
for m in "${models[@]}"; do
    t0=$SECONDS
    if out=$("${cargo_test[@]}" -q -- --exact "$m" --nocapture 2>&1); then
        stats=$(grep -m1 '^loom model ' <<<"$out" || true)
        if [[ -z $stats ]]; then
            # `--exact` with a name that matches nothing runs zero tests.
            echo "FAIL $m: no such model"
            failed+=("$m")
            continue
        fi
        echo "ok   $stats"
    else
        echo "FAIL $m ($((SECONDS - t0))s); output:"
        # Backtraces are long; keep the messages.
        grep -v -E '^\s+([0-9]+: |at )|^\s*$|^stack backtrace:|^note: (Some details|run with)' \
            <<<"$out" | sed 's/^/    /' | tail -40
        failed+=("$m")
    fi
done

echo "loom: $((${#models[@]} - ${#failed[@]}))/${#models[@]} models passed in $((SECONDS - started))s"
if ((${#failed[@]} > 0)); then
    echo "loom: failed: ${failed[*]}" >&2
    exit 1
fi
