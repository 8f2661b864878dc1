//! Board: Arm MPS2 with the AN521 image (two Cortex-M33), as QEMU's
//! `mps2-an521 -smp 2` models it. Console and exit status go through
//! semihosting; the second core starts through the image's INITSVTOR1 and
//! CPUWAIT registers; the clock is CMSDK timer 0 running free from its
//! largest reload (the FPGAIO COUNTER at 0x4030_2018 also runs at 20 MHz
//! and would do as well).
//!
//! Invariants:
//! - the 64-bit clock is built from a 32-bit counter and the largest value
//!   any core has read (`CLOCK_HIGH`): a reading more than half a wrap
//!   below it means the counter wrapped; one just below it was taken
//!   before another core's and reads as that value. Sound while some core
//!   reads the clock at least once per half wrap (107 s; the idle loops
//!   and timers do);
//! - the critical section is one spinlock taken with interrupts masked,
//!   nesting on its owner (`cortex_m::CoresCriticalSection`).

use core::arch::asm;
use core::ptr::{read_volatile, write_volatile};

use core::sync::atomic::AtomicBool;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

// The critical section below uses core's atomics (portable-atomic's may
// enter the critical section); the clock's 64-bit one needs portable-atomic.
use crate::shim::atomic::AtomicU64;

/// Cores the board has.
pub(crate) const MAX_CORES: usize = 2;

/// CPU_IDENTITY: 0 on the first core, 1 on the second.
const CPU_IDENTITY: *const u32 = 0x4001_F000 as *const u32;
/// Where the second core finds its vector table when it leaves reset.
const INITSVTOR1: *mut u32 = 0x5002_1114 as *mut u32;
/// Bit n set: core n is held in reset-wait.
const CPUWAIT: *mut u32 = 0x5002_1118 as *mut u32;
/// CMSDK APB timer 0: CTRL, VALUE (counts down at `TIMER_HZ`), RELOAD.
const TIMER0_CTRL: *mut u32 = 0x4000_0000 as *mut u32;
const TIMER0_VALUE: *mut u32 = 0x4000_0004 as *mut u32;
const TIMER0_RELOAD: *mut u32 = 0x4000_0008 as *mut u32;
/// The timer's clock (measured against semihosting's SYS_ELAPSED: 20.00 MHz;
/// QEMU runs it at host wall-clock speed without `-icount`).
const TIMER_HZ: u64 = 20_000_000;

/// Starts the clock. First thing `gort::bare::start` does.
pub(crate) fn init() {
    // SAFETY: this board's timer 0, used by nothing else: count down from
    // the largest value, reload it on reaching zero, no interrupt.
    unsafe {
        write_volatile(TIMER0_RELOAD, u32::MAX);
        write_volatile(TIMER0_VALUE, u32::MAX);
        write_volatile(TIMER0_CTRL, 1);
    }
}

pub(crate) fn core_id() -> usize {
    // SAFETY: a read-only identity register of this board.
    (unsafe { read_volatile(CPU_IDENTITY) } & 1) as usize
}

/// The second core's boot vector table: initial stack pointer and reset
/// entry. INITSVTOR1 takes a 128-byte-aligned address.
#[repr(C, align(128))]
struct BootVectors([usize; 2]);

static mut CORE1_BOOT: BootVectors = BootVectors([0; 2]);
/// What the second core runs once its vector table is the first core's.
static mut CORE1_ENTRY: Option<extern "C" fn() -> !> = None;
/// The first core's vector table (VTOR), which the second core adopts so
/// that its exceptions reach the program's handlers.
static mut VECTORS: u32 = 0;
const VTOR: *mut u32 = 0xE000_ED08 as *mut u32;

/// Starts core `core` on the stack ending at `stack_top`, running
/// `entry`. False if the board has no such core.
pub(crate) fn start_core(core: usize, stack_top: usize, entry: extern "C" fn() -> !) -> bool {
    if core != 1 {
        return false;
    }
    // SAFETY: the statics are written once, before the second core is
    // released, and read only by it afterwards (the barriers order the
    // writes before the release); the registers are this board's.
    unsafe {
        VECTORS = read_volatile(VTOR);
        CORE1_ENTRY = Some(entry);
        let boot = &raw mut CORE1_BOOT;
        (*boot).0 = [stack_top, core1_reset as extern "C" fn() -> ! as usize];
        asm!("dsb", "isb", options(nostack, preserves_flags));
        write_volatile(INITSVTOR1, boot as u32);
        let wait = read_volatile(CPUWAIT);
        write_volatile(CPUWAIT, wait & !(1 << core));
    }
    true
}

/// The second core's first code: takes the program's vector table, then
/// runs the entry `start_core` was given.
extern "C" fn core1_reset() -> ! {
    // SAFETY: written by `start_core` before this core was released.
    unsafe {
        write_volatile(VTOR, VECTORS);
        asm!("dsb", "isb", options(nostack, preserves_flags));
        CORE1_ENTRY.expect("core 1 entry")()
    }
}

/// The largest clock value read so far, in counter ticks.
static CLOCK_HIGH: AtomicU64 = AtomicU64::new(0);

pub(crate) fn now_nanos() -> u64 {
    // SAFETY: reads this board's timer 0 (`init` started it).
    let low = u64::from(u32::MAX - unsafe { read_volatile(TIMER0_VALUE) });
    let high = CLOCK_HIGH.load(Acquire);
    let mut ticks = (high & !0xffff_ffff) | low;
    if ticks + (1 << 31) < high {
        ticks += 1 << 32; // wrapped since the last reading
    } else if ticks < high {
        // Read just before another core's latest reading: never go back.
        ticks = high;
    }
    CLOCK_HIGH.fetch_max(ticks, AcqRel);
    ticks * (1_000_000_000 / TIMER_HZ)
}

/// Semihosting: an operation number and its argument block's address.
fn semihost(op: u32, arg: usize) -> u32 {
    let mut r0 = op;
    // SAFETY: `bkpt 0xab` is the semihosting trap; the host reads `arg`
    // per `op`, which the callers build correctly, and answers in r0.
    unsafe { asm!("bkpt 0xab", inout("r0") r0, in("r1") arg, options(nostack)) };
    r0
}

const SYS_WRITE0: u32 = 0x04;
const SYS_EXIT: u32 = 0x18;
const SYS_EXIT_EXTENDED: u32 = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x20026;
const ADP_STOPPED_RUN_TIME_ERROR: usize = 0x20023;

pub(crate) fn console_write(bytes: &[u8]) {
    // SYS_WRITE0 prints a NUL-terminated string: send it in pieces.
    let mut buf = [0u8; 129];
    for chunk in bytes.chunks(128) {
        buf[..chunk.len()].copy_from_slice(chunk);
        buf[chunk.len()] = 0;
        semihost(SYS_WRITE0, buf.as_ptr() as usize);
    }
}

pub(crate) fn exit(code: i32) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, code as usize];
    semihost(SYS_EXIT_EXTENDED, block.as_ptr() as usize);
    // A host without the extended call: success or failure only.
    let reason = if code == 0 {
        ADP_STOPPED_APPLICATION_EXIT
    } else {
        ADP_STOPPED_RUN_TIME_ERROR
    };
    semihost(SYS_EXIT, reason);
    loop {
        super::wait_for_event();
    }
}

static CS: super::CoresCriticalSection = super::CoresCriticalSection::new();
/// The critical section's lock.
static CS_LOCK: AtomicBool = AtomicBool::new(false);

struct CriticalSection;
critical_section::set_impl!(CriticalSection);

// SAFETY: acquire masks interrupts and takes a spinlock one core at a time
// can hold (nesting on the holder); release undoes what its acquire did.
unsafe impl critical_section::Impl for CriticalSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        CS.acquire(core_id(), || {
            while CS_LOCK
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_err()
            {
                core::hint::spin_loop();
            }
        })
    }

    unsafe fn release(state: critical_section::RawRestoreState) {
        CS.release(state, || CS_LOCK.store(false, Release));
    }
}
