#!/usr/bin/env bash
# RP2040 rig: runs a thumbv6m-none-eabi firmware ELF under the rp2040js
# emulator (npm rp2040js, pinned in rp2040/package.json): core 0 only, no
# boot ROM (rp2040/run.mjs loads the flash segments and starts at the vector
# table after boot2), no inter-core FIFO, so core 1 never starts.
#
#   .ci/rigs/rp2040.sh <elf> [timeout-seconds]      (default 120 s wall)
#
# Installs what is missing (idempotent): the Rust target and, if
# rp2040/node_modules is absent, `npm ci` there (needs node >= 18 and npm).
# UART0 output goes to stdout; the run ends at the firmware's
# `gort-exit: <status>` line and this exits with <status>; 124 on timeout,
# 125 if the emulator stops without that line. Emulated cycles, simulated
# time and speed are printed on stderr. Usable as a cargo runner:
#   [target.thumbv6m-none-eabi] runner = "<repo>/.ci/rigs/rp2040.sh"
# (cargo passes the ELF first; any further arguments are ignored apart
# from a numeric timeout). To flash a real Pico: python3 rp2040/uf2.py <elf>.
set -euo pipefail

TARGET=thumbv6m-none-eabi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rig=$here/rp2040

# 1. Rust target (for the builds that feed this rig).
if ! rustup target list --installed | grep -qx "$TARGET"; then
    echo "rp2040 rig: adding rust target $TARGET" >&2
    rustup target add "$TARGET" >&2
fi

# 2. rp2040js, exactly as locked.
if [[ ! -d $rig/node_modules/rp2040js ]]; then
    command -v node >/dev/null || { echo "rp2040 rig: node not found" >&2; exit 1; }
    echo "rp2040 rig: npm ci in $rig" >&2
    (cd "$rig" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

if (($# == 0)); then
    exit 0 # setup only
fi
elf=$1
timeout=120
if (($# >= 2)) && [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    timeout=$2
fi
exec node "$rig/run.mjs" "$elf" "$timeout"
