#!/usr/bin/env bash
# wasm32-wasip1-threads rig: builds gort for wasm32-wasip1-threads and runs
# its tests under wasmtime-py (PyPI `wasmtime`, in a venv) with our host
# script wasm/host.py, which adds the wasi-threads `thread-spawn` import.
# Installs what is missing (idempotent), then runs
#   cargo test -p gort --target wasm32-wasip1-threads "$@"
# and exits with cargo's status. The runner comes from an environment
# variable, so the tree needs no .cargo/config.toml.
#
# Environment: GORT_WASM_VENV overrides the venv (default:
# <target dir>/rig-wasm/venv). Install logs go to <target dir>/rig-wasm.log
# and are printed only when a step fails.
#
# On this target panics abort: the first failing test ends the test binary
# (exit 134, no summary line), and #[should_panic] tests are reported as
# ignored by libtest. Captured output would die with the process, so the
# rig sets RUST_TEST_NOCAPTURE=1 (unless set): a failing test's name and
# panic message are printed before the abort.
set -euo pipefail

TARGET=wasm32-wasip1-threads
WASMTIME_VERSION=50.0.1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$target_dir"
log=$target_dir/rig-wasm.log
: >"$log"

# Runs a setup step with its output in the log; on failure shows the log.
step() {
    if ! "$@" >>"$log" 2>&1; then
        echo "wasm rig: step failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

t0=$SECONDS

# 1. Rust target.
if ! rustup target list --installed | grep -qx "$TARGET"; then
    echo "wasm rig: adding rust target $TARGET"
    step rustup target add "$TARGET"
fi

# 2. Python venv with wasmtime-py, built beside its final place and renamed
#    in, so an interrupted or concurrent install never leaves a broken venv.
venv=${GORT_WASM_VENV:-$target_dir/rig-wasm/venv}
have_wasmtime() {
    "$venv/bin/python" -c \
        "import importlib.metadata as m, sys; sys.exit(m.version('wasmtime') != '$WASMTIME_VERSION')" \
        2>/dev/null
}
if ! have_wasmtime; then
    echo "wasm rig: installing wasmtime==$WASMTIME_VERSION into $venv"
    mkdir -p "$(dirname "$venv")"
    tmp=$(mktemp -d "$venv.tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    step python3 -m venv "$tmp"
    step "$tmp/bin/python" -m pip install --quiet "wasmtime==$WASMTIME_VERSION"
    rm -rf "$venv"
    mv -T "$tmp" "$venv" 2>/dev/null || true # lost a race: keep theirs
    rm -rf "$tmp"
    trap - EXIT
    have_wasmtime || { echo "wasm rig: wasmtime not importable from $venv" >&2; exit 1; }
fi

if ((SECONDS - t0 > 1)); then
    echo "wasm rig: ready in $((SECONDS - t0)) s"
fi

# 3. Build and test. Cargo splits the runner on spaces and appends the .wasm
#    path and the test binary's arguments (filters, --nocapture, ...).
export CARGO_TARGET_WASM32_WASIP1_THREADS_RUNNER="$venv/bin/python $here/wasm/host.py"
export RUST_TEST_NOCAPTURE=${RUST_TEST_NOCAPTURE:-1}
cd "$repo"
exec cargo test -p gort --target "$TARGET" "$@"
