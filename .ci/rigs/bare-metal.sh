#!/usr/bin/env bash
# Bare-metal rig: builds the firmware in firmware/ for both boards and runs
# it under a watchdog (a hang fails instead of stalling CI):
#   - QEMU `mps2-an521 -smp 2` (two Cortex-M33; semihosting console and exit
#     status): the conformance suite, which must pass with both cores
#     running goroutines; Go's panic report and the stack-overflow error
#     (exit status 2 and their messages); the benchmark (ratios printed,
#     not judged);
#   - RP2040 under rp2040js (core 0 only; UART console, `gort-exit: N`):
#     the same suite, panic and overflow checks on one core; the ELFs of
#     the suite and of the Pico example are turned into UF2 files.
# Installs what is missing (idempotent): qemu-system-arm (apt), the rust
# targets, and rp2040js (npm ci, via rp2040.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
MPS2=thumbv8m.main-none-eabi
RP2040=thumbv6m-none-eabi
WATCHDOG=${GORT_BARE_WATCHDOG:-120}

if ! command -v qemu-system-arm >/dev/null 2>&1; then
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
    "${apt[@]}" update -qq
    "${apt[@]}" install -y -qq --no-install-recommends qemu-system-arm >/dev/null
fi
installed=$(rustup target list --installed)
for t in "$MPS2" "$RP2040"; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
"$here/rp2040.sh" # rp2040js, set up only

cd "$repo/firmware"
cargo build --release --locked --target "$MPS2" --features mps2-an521 --bins
cargo build --release --locked --target "$RP2040" --features rp2040 --bins --examples

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run BOARD NAME: runs firmware NAME on BOARD; its console goes to stdout
# and, without carriage returns, to $log. Returns the firmware's status.
run() {
    local board=$1 name=$2 status
    set +e
    case $board in
    mps2)
        # QEMU writes semihosting output to its stderr.
        timeout "$WATCHDOG" qemu-system-arm -M mps2-an521 -smp 2 -nographic \
            -semihosting-config enable=on,target=native \
            -kernel "target/$MPS2/release/$name" 2>&1 | tr -d '\r' | tee "$log"
        status=${PIPESTATUS[0]}
        ;;
    rp2040)
        # Emulator statistics and warnings go to stderr: keep them out of
        # the log, show the last lines.
        "$here/rp2040.sh" "target/$RP2040/release/$name" "$WATCHDOG" 2>"$log.err" |
            tr -d '\r' | tee "$log"
        status=${PIPESTATUS[0]}
        grep '^rp2040 rig:' "$log.err" | tail -3 || true
        rm -f "$log.err"
        ;;
    esac
    set -e
    ((status != 124)) || echo "bare-metal: $board $name hung (watchdog ${WATCHDOG}s)" >&2
    return "$status"
}

fail() {
    echo "bare-metal: $*" >&2
    exit 1
}

# conformance BOARD CORES: the suite passes, and with two cores both ran
# goroutines.
conformance() {
    local board=$1 cores=$2 status=0
    echo "== $board: conformance suite ($cores core(s))"
    run "$board" conformance || status=$?
    ((status == 0)) || fail "$board conformance exited $status"
    grep -q '^summary: .* 0 failed' "$log" || fail "$board: no passing summary"
    grep -q "^gort conformance: $cores cores" "$log" || fail "$board: not on $cores core(s)"
    if ((cores == 2)); then
        grep -q '^case both_cores_ran: ok' "$log" || fail "$board: both cores did not run goroutines"
    fi
}

# expect_fatal BOARD NAME REGEX...: exit status 2 and a line matching each
# extended regex.
expect_fatal() {
    local board=$1 name=$2 status=0
    shift 2
    echo "== $board: $name (expects exit status 2)"
    run "$board" "$name" || status=$?
    ((status == 2)) || fail "$board $name exited $status, want 2"
    for re in "$@"; do
        grep -Eq "$re" "$log" || fail "$board $name printed no line matching /$re/"
    done
}

for board in mps2 rp2040; do
    if [[ $board == mps2 ]]; then cores=2; else cores=1; fi
    conformance "$board" "$cores"
    expect_fatal "$board" panics '^panic: boom 42 \[src/bin/panics.rs:[0-9]+\]$' '^goroutine [0-9]+ \[running\]:$'
    expect_fatal "$board" overflows '^fatal error: goroutine [0-9]+ overflowed its 2048-byte stack'
done

echo "== RP2040 UF2 images (flash by copying to the Pico's boot drive)"
for elf in "target/$RP2040/release/conformance" "target/$RP2040/release/examples/pico_blink"; do
    python3 "$here/rp2040/uf2.py" "$elf" "$elf.uf2"
    [[ -s $elf.uf2 ]] || fail "no UF2 for $elf"
done

echo "== mps2: bench (emulated time: ratios only)"
run mps2 bench
echo "bare-metal: all passed (QEMU mps2-an521 on 2 cores, RP2040 under rp2040js on 1 core)"
