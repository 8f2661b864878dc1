//! Board: the Raspberry Pi RP2040 (two Cortex-M0+), as on the Pico.
//! Console on UART0 (GP0/GP1, 115200 8N1); clock from the TIMER's
//! microsecond counter; the second core starts through the SIO
//! inter-core FIFO handshake of the boot ROM; the critical section (which
//! also backs every atomic read-modify-write: the M0+ has none) is SIO
//! hardware spinlock 31 with interrupts masked.
//!
//! Invariants:
//! - the critical section is hardware spinlock 31 taken with interrupts
//!   masked, nesting on its owner (`cortex_m::CoresCriticalSection`). On
//!   the M0+ every portable-atomic operation, loads included, enters it,
//!   so nothing under it may use portable-atomic;
//! - the exit status cannot leave the chip: `exit` prints
//!   `gort-exit: <code>` on the console (the rp2040js runner reads it) and
//!   stops the core.

use core::ptr::{read_volatile, write_volatile};

/// Cores the chip has.
pub(crate) const MAX_CORES: usize = 2;

const SIO: usize = 0xd000_0000;
const SIO_CPUID: *const u32 = SIO as *const u32;
const SIO_FIFO_ST: *const u32 = (SIO + 0x50) as *const u32;
const SIO_FIFO_WR: *mut u32 = (SIO + 0x54) as *mut u32;
const SIO_FIFO_RD: *const u32 = (SIO + 0x58) as *const u32;
const FIFO_VLD: u32 = 1;
const FIFO_RDY: u32 = 2;
/// Hardware spinlock 31 (read: claim, non-zero if claimed; write: release).
const SPINLOCK31: *mut u32 = (SIO + 0x17c) as *mut u32;

const RESETS: usize = 0x4000_c000;
const RESETS_RESET_CLR: *mut u32 = (RESETS + 0x3000) as *mut u32;
const RESETS_DONE: *const u32 = (RESETS + 0x8) as *const u32;
const RESET_IO_BANK0: u32 = 1 << 5;
const RESET_PADS_BANK0: u32 = 1 << 8;
const RESET_TIMER: u32 = 1 << 21;
const RESET_UART0: u32 = 1 << 22;

const XOSC: usize = 0x4002_4000;
const CLOCKS: usize = 0x4000_8000;
const CLK_REF_CTRL: *mut u32 = (CLOCKS + 0x30) as *mut u32;
const CLK_REF_SELECTED: *const u32 = (CLOCKS + 0x38) as *const u32;
const CLK_SYS_CTRL: *mut u32 = (CLOCKS + 0x3c) as *mut u32;
const CLK_SYS_SELECTED: *const u32 = (CLOCKS + 0x44) as *const u32;
const CLK_PERI_CTRL: *mut u32 = (CLOCKS + 0x48) as *mut u32;
/// The watchdog's tick generator, which clocks the TIMER in microseconds.
const WATCHDOG_TICK: *mut u32 = 0x4005_802c as *mut u32;

const TIMERAWH: *const u32 = 0x4005_4024 as *const u32;
const TIMERAWL: *const u32 = 0x4005_4028 as *const u32;

const UART0: usize = 0x4003_4000;
const UART_DR: *mut u32 = UART0 as *mut u32;
const UART_FR: *const u32 = (UART0 + 0x18) as *const u32;
const UART_IBRD: *mut u32 = (UART0 + 0x24) as *mut u32;
const UART_FBRD: *mut u32 = (UART0 + 0x28) as *mut u32;
const UART_LCR_H: *mut u32 = (UART0 + 0x2c) as *mut u32;
const UART_CR: *mut u32 = (UART0 + 0x30) as *mut u32;
const UART_FR_TXFF: u32 = 1 << 5;
const PSM_FRCE_OFF: usize = 0x4001_0004;
const PSM_PROC1: u32 = 1 << 16;
const PADS_BANK0_GPIO0: *mut u32 = 0x4001_c004 as *mut u32;
const PADS_BANK0_GPIO1: *mut u32 = 0x4001_c008 as *mut u32;
/// Input enabled, output not disabled, 4 mA drive, Schmitt trigger.
const PAD_UART: u32 = 0x56;
const IO_BANK0_GPIO0_CTRL: *mut u32 = 0x4001_4004 as *mut u32;
const IO_BANK0_GPIO1_CTRL: *mut u32 = 0x4001_400c as *mut u32;
const FUNC_UART: u32 = 2;

/// The crystal's frequency on the Pico.
const XOSC_MHZ: u32 = 12;

pub(crate) fn core_id() -> usize {
    // SAFETY: SIO CPUID is a read-only register of the reading core.
    (unsafe { read_volatile(SIO_CPUID) } & 1) as usize
}

/// Clocks from the 12 MHz crystal (clk_ref, clk_sys and clk_peri; the
/// boot ROM leaves them on the ring oscillator), the microsecond tick, the
/// TIMER, and UART0 on GP0/GP1 at 115200 baud. First thing
/// `gort::bare::start` does.
pub(crate) fn init() {
    // SAFETY: this chip's registers, set up once, before anything else of
    // gort runs; the sequence is the datasheet's.
    unsafe {
        // Crystal oscillator: 1-15 MHz range, ~1 ms start-up, enable.
        write_volatile((XOSC + 0x0c) as *mut u32, 47);
        write_volatile(XOSC as *mut u32, 0xfab << 12 | 0xaa0);
        while read_volatile((XOSC + 0x04) as *const u32) & (1 << 31) == 0 {}
        // clk_ref from the crystal, clk_sys from clk_ref, clk_peri from
        // clk_sys: all 12 MHz.
        write_volatile(CLK_REF_CTRL, 2);
        while read_volatile(CLK_REF_SELECTED) & (1 << 2) == 0 {}
        write_volatile(CLK_SYS_CTRL, 0);
        while read_volatile(CLK_SYS_SELECTED) & 1 == 0 {}
        write_volatile(CLK_PERI_CTRL, 1 << 11);
        // One tick per microsecond of clk_ref.
        write_volatile(WATCHDOG_TICK, 1 << 9 | XOSC_MHZ);
        let blocks = RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_TIMER | RESET_UART0;
        write_volatile(RESETS_RESET_CLR, blocks);
        while read_volatile(RESETS_DONE) & blocks != blocks {}
        // 115200 baud from 12 MHz: divisor 6 + 33/64 (latched by the
        // LCR_H write that follows).
        write_volatile(UART_IBRD, 6);
        write_volatile(UART_FBRD, 33);
        write_volatile(UART_LCR_H, 0b11 << 5 | 1 << 4); // 8 bits, FIFOs
        write_volatile(UART_CR, 1 | 1 << 8 | 1 << 9); // enable, TX, RX
        write_volatile(PADS_BANK0_GPIO0, PAD_UART);
        write_volatile(PADS_BANK0_GPIO1, PAD_UART);
        write_volatile(IO_BANK0_GPIO0_CTRL, FUNC_UART);
        write_volatile(IO_BANK0_GPIO1_CTRL, FUNC_UART);
    }
}

pub(crate) fn now_nanos() -> u64 {
    // SAFETY: reads of the free-running TIMER; the high word is read
    // again to catch a carry between the two halves.
    unsafe {
        loop {
            let high = read_volatile(TIMERAWH);
            let low = read_volatile(TIMERAWL);
            if read_volatile(TIMERAWH) == high {
                return (u64::from(high) << 32 | u64::from(low)) * 1000;
            }
        }
    }
}

pub(crate) fn console_write(bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' {
            uart_put(b'\r');
        }
        uart_put(b);
    }
}

fn uart_put(b: u8) {
    // SAFETY: UART0's flag and data registers; `init` set it up.
    unsafe {
        while read_volatile(UART_FR) & UART_FR_TXFF != 0 {}
        write_volatile(UART_DR, u32::from(b));
    }
}

pub(crate) fn exit(code: i32) -> ! {
    let mut buf = [0u8; 20];
    let digits = super::format_u64(code.unsigned_abs().into(), &mut buf);
    console_write(b"gort-exit: ");
    if code < 0 {
        console_write(b"-");
    }
    console_write(digits);
    console_write(b"\n");
    let _ = super::mask_interrupts();
    loop {
        super::wait_for_event();
    }
}

/// How long core 0 waits for core 1's answer at each step of the launch
/// handshake before deciding core 1 does not answer.
const LAUNCH_TIMEOUT_NANOS: u64 = 20_000_000;

/// Starts core `core` on the stack ending at `stack_top`, running
/// `entry`: the boot ROM's handshake over the inter-core FIFO, each word
/// echoed back by core 1. False if there is no such core, no FIFO (an
/// emulator of core 0 alone), or no answer.
pub(crate) fn start_core(core: usize, stack_top: usize, entry: extern "C" fn() -> !) -> bool {
    if core != 1 || !fifo_present() {
        return false;
    }
    // SAFETY: the power-on state machine's force-off bit for core 1:
    // cycling it resets the core into the boot ROM's wait for the
    // handshake, whatever ran there before.
    unsafe {
        write_volatile((PSM_FRCE_OFF + 0x2000) as *mut u32, PSM_PROC1);
        while read_volatile(PSM_FRCE_OFF as *const u32) & PSM_PROC1 == 0 {}
        write_volatile((PSM_FRCE_OFF + 0x3000) as *mut u32, PSM_PROC1);
    }
    // SAFETY: reads core 0's own vector table register.
    let vectors = unsafe { read_volatile(0xE000_ED08 as *const u32) };
    let words = [0, 0, 1, vectors, stack_top as u32, entry as usize as u32];
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if word == 0 {
            fifo_drain();
            super::send_event();
        }
        let Some(answer) = fifo_push(word).and_then(|()| fifo_pop()) else {
            return false;
        };
        i = if answer == word { i + 1 } else { 0 };
    }
    true
}

/// Empties this core's receive FIFO (8 deep; bounded, as an emulator
/// without the FIFO reads "valid" forever).
fn fifo_drain() {
    // SAFETY: SIO FIFO registers of this core.
    unsafe {
        for _ in 0..16 {
            if read_volatile(SIO_FIFO_ST) & FIFO_VLD == 0 {
                break;
            }
            read_volatile(SIO_FIFO_RD);
        }
    }
}

/// Whether the inter-core FIFO exists: after its sticky error flags are
/// cleared, only the two low status bits can be set on silicon. rp2040js
/// (which emulates core 0 alone) reads all ones.
fn fifo_present() -> bool {
    // SAFETY: writing FIFO_ST clears its sticky flags; then a read.
    unsafe {
        write_volatile(SIO_FIFO_ST as *mut u32, 0xff);
        read_volatile(SIO_FIFO_ST) & !0b11 == 0
    }
}

fn fifo_push(word: u32) -> Option<()> {
    let deadline = now_nanos() + LAUNCH_TIMEOUT_NANOS;
    // SAFETY: SIO FIFO registers of this core.
    unsafe {
        while read_volatile(SIO_FIFO_ST) & FIFO_RDY == 0 {
            if now_nanos() > deadline {
                return None;
            }
        }
        write_volatile(SIO_FIFO_WR, word);
    }
    super::send_event();
    Some(())
}

fn fifo_pop() -> Option<u32> {
    let deadline = now_nanos() + LAUNCH_TIMEOUT_NANOS;
    // SAFETY: SIO FIFO registers of this core.
    unsafe {
        while read_volatile(SIO_FIFO_ST) & FIFO_VLD == 0 {
            if now_nanos() > deadline {
                return None;
            }
        }
        Some(read_volatile(SIO_FIFO_RD))
    }
}

static CS: super::CoresCriticalSection = super::CoresCriticalSection::new();

struct CriticalSection;
critical_section::set_impl!(CriticalSection);

// SAFETY: acquire masks interrupts and claims hardware spinlock 31, which
// one core at a time can hold (nesting on the holder); release undoes what
// its acquire did.
unsafe impl critical_section::Impl for CriticalSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        CS.acquire(core_id(), || {
            // SAFETY: reading the spinlock register claims it (non-zero:
            // claimed).
            while unsafe { read_volatile(SPINLOCK31) } == 0 {
                core::hint::spin_loop();
            }
        })
    }

    unsafe fn release(state: critical_section::RawRestoreState) {
        // SAFETY: called only when the acquire took spinlock 31; writing
        // releases it.
        CS.release(state, || unsafe { write_volatile(SPINLOCK31, 1) });
    }
}
