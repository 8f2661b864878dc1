#!/usr/bin/env bash
# Windows x86_64 rig: builds gort for x86_64-pc-windows-gnu with mingw-w64 and
# runs its tests under Wine. Installs what is missing (idempotent), then runs
#   cargo test -p gort --target x86_64-pc-windows-gnu "$@"
# and exits with cargo's status. Linker and runner come from environment
# variables, so the tree needs no .cargo/config.toml.
#
# Environment: GORT_WINEPREFIX overrides the Wine prefix (default:
# <target dir>/wine-prefix). Install logs go to <target dir>/rig-windows.log
# and are printed only when a step fails.
set -euo pipefail

TARGET=x86_64-pc-windows-gnu
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$target_dir"
log=$target_dir/rig-windows.log
: >"$log"

# Runs a setup step with its output in the log; on failure shows the log.
step() {
    if ! "$@" >>"$log" 2>&1; then
        echo "windows rig: step failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

t0=$SECONDS

# 1. Rust target.
if ! grep -qx "$TARGET" <<<"$(rustup target list --installed)"; then
    echo "windows rig: adding rust target $TARGET"
    step rustup target add "$TARGET"
fi

# 2. Debian packages. Without recommends, `wine64` alone has no commands:
#    `wine`, `wineboot` and `wineserver` come from the `wine` package.
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
    echo "windows rig: installing mingw-w64 wine64 wine (log: $log)"
    # Other rigs may be running apt at the same time: wait for its lock.
    apt=(apt-get -o DPkg::Lock::Timeout=600)
    step "${apt[@]}" update
    step env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends \
        mingw-w64 wine64 wine
fi

# 3. Wine prefix, initialised once.
export WINEPREFIX=${GORT_WINEPREFIX:-$target_dir/wine-prefix}
export WINEDEBUG=-all
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=} # no Mono/Gecko prompts
if [[ ! -f $WINEPREFIX/.gort-wineboot-done ]]; then
    echo "windows rig: initialising Wine prefix $WINEPREFIX"
    mkdir -p "$WINEPREFIX"
    step wine wineboot -i
    step wineserver -w
    touch "$WINEPREFIX/.gort-wineboot-done"
fi

# 4. ProcessPrng shim: Rust >= 1.78 std imports it from bcryptprimitives.dll,
#    which Wine 8.0 lacks. Installed only where Wine has none of its own.
shim_src=$here/windows/bcryptprimitives.c
shim_dll=$target_dir/rig-windows/bcryptprimitives.dll
sys32=$WINEPREFIX/drive_c/windows/system32
if [[ ! -f $shim_dll || $shim_src -nt $shim_dll ]]; then
    mkdir -p "$(dirname "$shim_dll")"
    step x86_64-w64-mingw32-gcc -shared -O2 -Wall -Werror -o "$shim_dll" "$shim_src" \
        -ladvapi32 -Wl,--kill-at
fi
if [[ ! -f $sys32/bcryptprimitives.dll || -f $WINEPREFIX/.gort-prng-shim ]]; then
    if ! cmp -s "$shim_dll" "$sys32/bcryptprimitives.dll"; then
        cp "$shim_dll" "$sys32/bcryptprimitives.dll"
        touch "$WINEPREFIX/.gort-prng-shim"
    fi
fi

if ((SECONDS - t0 > 1)); then
    echo "windows rig: ready in $((SECONDS - t0)) s"
fi

# 5. Build and test: with no arguments cargo runs the lib, integration and
#    doc tests (cargo >= 1.89 cross-compiles doc tests and runs them through
#    the runner) and builds the examples. Arguments narrow or extend that.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
cd "$repo"
exec cargo test -p gort --target "$TARGET" "$@"
