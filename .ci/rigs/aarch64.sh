#!/usr/bin/env bash
# Linux aarch64 rig: builds gort for aarch64-unknown-linux-gnu with the Debian
# cross gcc and runs its tests under qemu-user. Installs what is missing
# (idempotent), then runs
#   cargo test -p gort --target aarch64-unknown-linux-gnu "$@"
# and exits with cargo's status. Linker and runner come from environment
# variables, so the tree needs no .cargo/config.toml.
#
# Install logs go to <target dir>/rig-aarch64.log and are printed only when a
# step fails. The host is x86 (TSO): weak-memory bugs do not show under
# emulation; use loom for orderings.
set -euo pipefail

TARGET=aarch64-unknown-linux-gnu
PACKAGES=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$target_dir"
log=$target_dir/rig-aarch64.log
: >"$log"

# Runs a setup step with its output in the log; on failure shows the log.
step() {
    if ! "$@" >>"$log" 2>&1; then
        echo "aarch64 rig: step failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

t0=$SECONDS

# 1. Debian packages, only those not installed yet. The lock timeout lets
#    this wait for another rig's apt run instead of failing on the lock.
missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    echo "aarch64 rig: installing ${missing[*]} (log: $log)"
    step apt-get -o DPkg::Lock::Timeout=600 update
    step env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y --no-install-recommends "${missing[@]}"
fi

# 2. Rust target.
if ! rustup target list --installed | grep -qx "$TARGET"; then
    echo "aarch64 rig: adding rust target $TARGET"
    step rustup target add "$TARGET"
fi

if ((SECONDS - t0 > 1)); then
    echo "aarch64 rig: ready in $((SECONDS - t0)) s"
fi

# 3. Child processes. Tests that re-run their own binary (current_exe) would
#    exec an aarch64 ELF, which this x86 kernel cannot start (no binfmt_misc
#    handler); the tests' run_child puts this runner in front instead.
export GORT_CHILD_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"

# 4. Build and test. The runner must name qemu explicitly for cargo's own
#    runs; -L points it at the cross sysroot for the dynamic loader and libc.
#    Doc tests are cross-compiled and run through the runner too (cargo >= 1.89).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
cd "$repo"
exec cargo test -p gort --target "$TARGET" "$@"
