#!/usr/bin/env bash
# Compile-only rig for targets nothing here can link or run: the macOS and
# FreeBSD backends get `cargo check` and `cargo clippy -D warnings` (and so
# do Windows and wasm, whose rigs run the tests but do not deny warnings);
# bare metal gets the no_std build without a board, clippy for each board
# (gort and the firmware crate: QEMU mps2-an521 on thumbv8m, the RP2040 on
# thumbv6m), and the RP2040 firmware's build. Adds missing rust targets
# (idempotent), runs every step even after a failure, prints a summary and
# exits non-zero if any step failed. Arguments are passed to every cargo
# command (e.g. --locked).
set -euo pipefail

CHECK_TARGETS=(aarch64-apple-darwin x86_64-apple-darwin x86_64-unknown-freebsd x86_64-pc-windows-gnu wasm32-wasip1-threads)
BARE_TARGET=thumbv8m.main-none-eabi
# board feature : target
BOARDS=(mps2-an521:thumbv8m.main-none-eabi rp2040:thumbv6m-none-eabi)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

# 1. Rust targets (std for the hosted ones, core/alloc for bare metal).
installed=$(rustup target list --installed)
missing=()
for t in "${CHECK_TARGETS[@]}" "$BARE_TARGET" thumbv6m-none-eabi; do
    grep -qx "$t" <<<"$installed" || missing+=("$t")
done
if ((${#missing[@]})); then
    echo "check-cross: adding rust targets ${missing[*]}"
    rustup target add "${missing[@]}"
fi

# 2. The checks.
failed=()
passed=()
run() {
    echo "check-cross: $*"
    local t0=$SECONDS
    if "$@"; then
        passed+=("$* ($((SECONDS - t0)) s)")
    else
        failed+=("$*")
    fi
}

for t in "${CHECK_TARGETS[@]}"; do
    run cargo check -p gort --target "$t" "$@"
    run cargo clippy -p gort --target "$t" "$@" -- -D warnings
done
# The OSes no rig runs: their tests and examples (gort::net's on kqueue
# among them) type-check and lint too.
for t in aarch64-apple-darwin x86_64-unknown-freebsd; do
    run cargo clippy -p gort --target "$t" --all-targets "$@" -- -D warnings
done
run cargo build -p gort --no-default-features --target "$BARE_TARGET" "$@"
for bt in "${BOARDS[@]}"; do
    board=${bt%%:*} target=${bt#*:}
    run cargo clippy -p gort --no-default-features --features "board-$board" --target "$target" "$@" -- -D warnings
    run cargo clippy --manifest-path firmware/Cargo.toml --features "$board" --target "$target" --lib --bins --examples "$@" -- -D warnings
done

# 3. Summary.
echo
for s in "${passed[@]}"; do echo "check-cross: ok    $s"; done
for s in "${failed[@]}"; do echo "check-cross: FAIL  $s"; done
((${#failed[@]} == 0))
