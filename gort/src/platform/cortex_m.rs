//! What every Cortex-M board shares: masking interrupts, WFE/SEV, telling
//! an interrupt handler from thread code, and the goroutine stack switch.
//!
//! The switch is written here rather than taken from a crate: corosensei
//! has no Thumb-1 (ARMv6-M) support and no use for its unwinding and
//! guard-page machinery on a chip with neither; what the scheduler needs
//! is "save the callee-saved registers on this stack, store its pointer,
//! load another, restore", a dozen instructions.
//!
//! Invariants:
//! - a switched-out stack holds, from its saved pointer up, exactly the
//!   frame `switch_stack` pushed (or `prepare_stack` forged), so resuming
//!   it pops what was pushed;
//! - stacks are 8-byte aligned at every call boundary (AAPCS): a forged
//!   frame leaves the trampoline at the 8-aligned stack top.

use core::arch::{asm, naked_asm};

/// The interrupt mask (PRIMASK) as it was before `mask_interrupts`.
#[derive(Clone, Copy)]
pub(crate) struct IrqMask(u32);

impl IrqMask {
    /// The mask as a word (bit 0: interrupts were masked).
    fn bits(self) -> u32 {
        self.0
    }

    fn from_bits(bits: u32) -> IrqMask {
        IrqMask(bits & 1)
    }
}

/// Masks this core's interrupts; returns the previous mask for
/// `unmask_interrupts`. Nests.
#[inline]
pub(crate) fn mask_interrupts() -> IrqMask {
    let primask: u32;
    // SAFETY: reads PRIMASK and sets it; touches no memory. The compiler
    // barrier (no `nomem`) keeps the critical section's accesses after it.
    unsafe {
        asm!("mrs {0}, PRIMASK", "cpsid i", out(reg) primask, options(nostack, preserves_flags))
    };
    IrqMask(primask)
}

/// Restores the mask `mask_interrupts` returned.
#[inline]
pub(crate) fn unmask_interrupts(mask: IrqMask) {
    if mask.0 & 1 == 0 {
        // SAFETY: re-enables interrupts that were enabled before the
        // matching `mask_interrupts`; acts as a compiler barrier.
        unsafe { asm!("cpsie i", options(nostack, preserves_flags)) };
    }
}

/// A critical section across cores, for the boards' `critical_section`
/// implementations: this core's interrupts masked, plus a lock that one
/// core at a time holds. It nests on the owning core; only the outermost
/// release frees the lock. Restore state: bit 0 the interrupt mask before,
/// bit 1 "this acquire took the lock".
pub(crate) struct CoresCriticalSection {
    /// The owner: a core id plus one, 0 when free. Written only by the
    /// lock's holder, so a core that reads its own id here is nesting.
    /// core's atomics: portable-atomic's may enter the critical section.
    owner: core::sync::atomic::AtomicUsize,
}

impl CoresCriticalSection {
    pub(crate) const fn new() -> Self {
        CoresCriticalSection {
            owner: core::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Enters on core `me`; `take` spins until this core holds the lock.
    pub(crate) fn acquire(&self, me: usize, take: impl FnOnce()) -> u32 {
        use core::sync::atomic::Ordering::Relaxed;
        let mask = mask_interrupts();
        if self.owner.load(Relaxed) == me + 1 {
            return mask.bits(); // nested on this core
        }
        take();
        self.owner.store(me + 1, Relaxed);
        mask.bits() | 2
    }

    /// Leaves what the `acquire` that returned `state` entered; `give`
    /// frees the lock.
    pub(crate) fn release(&self, state: u32, give: impl FnOnce()) {
        if state & 2 != 0 {
            self.owner.store(0, core::sync::atomic::Ordering::Relaxed);
            give();
        }
        unmask_interrupts(IrqMask::from_bits(state & 1));
    }
}

/// Whether the caller runs in an exception handler (IPSR is non-zero).
#[inline]
pub(crate) fn in_interrupt() -> bool {
    let ipsr: u32;
    // SAFETY: reads a special register only.
    unsafe { asm!("mrs {0}, IPSR", out(reg) ipsr, options(nomem, nostack, preserves_flags)) };
    ipsr & 0x1ff != 0
}

/// Sleeps this core until an event (another core's `send_event`, or an
/// interrupt). Returns at once if an event came since the last one.
#[inline]
pub(crate) fn wait_for_event() {
    // SAFETY: WFE only pauses the core.
    unsafe { asm!("wfe", options(nomem, nostack, preserves_flags)) };
}

/// Wakes every core waiting in `wait_for_event`, after making this core's
/// earlier writes visible to them.
#[inline]
pub(crate) fn send_event() {
    // SAFETY: a barrier and an event; no memory is touched.
    unsafe { asm!("dsb", "sev", options(nostack, preserves_flags)) };
}

/// Words `prepare_stack` forges below a stack's top: what `switch_stack`
/// pops. Thumb-2, from the stack pointer up: [d8-d15 (hard-float ABIs
/// only)], r4-r11, pc. Thumb-1: r8-r11, r4-r7, pc.
const FRAME_WORDS: usize = 9 + if cfg!(target_abi = "eabihf") { 16 } else { 0 };

/// Where r4 sits, counted back from the frame's end (r5 follows it).
#[cfg(target_feature = "thumb2")]
const R4_FROM_END: usize = 9;
#[cfg(not(target_feature = "thumb2"))]
const R4_FROM_END: usize = 5;

/// Forges a switched-out frame at the top of a fresh stack so that the
/// first `switch_stack` to it calls `entry(arg)` on that stack; returns
/// the stack pointer to switch to.
///
/// # Safety
/// `top` must be the 8-aligned end of writable memory with room for the
/// frame, used by nothing else.
pub(crate) unsafe fn prepare_stack(
    top: usize,
    entry: extern "C" fn(usize) -> !,
    arg: usize,
) -> usize {
    debug_assert!(top.is_multiple_of(8));
    let sp = top - FRAME_WORDS * 4;
    let frame = sp as *mut usize;
    let mut words = [0usize; FRAME_WORDS];
    words[FRAME_WORDS - 1] = trampoline as extern "C" fn() -> ! as usize | 1; // pc, Thumb state
    words[FRAME_WORDS - R4_FROM_END] = arg; // r4
    words[FRAME_WORDS - R4_FROM_END + 1] = entry as usize; // r5
    // SAFETY: the frame lies within the memory the caller gave us.
    unsafe { frame.cast::<[usize; FRAME_WORDS]>().write(words) };
    sp
}

/// First code on a fresh stack: calls `r5(r4)`.
#[unsafe(naked)]
extern "C" fn trampoline() -> ! {
    naked_asm!("mov r0, r4", "blx r5", "udf #0")
}

/// Saves the callee-saved registers on the current stack, stores its
/// pointer at `save`, switches to `load` (a pointer `switch_stack` stored
/// or `prepare_stack` returned) and returns into whatever was suspended
/// there.
///
/// # Safety
/// `load` must be a suspended stack that nothing else will resume, and
/// `save` writable; the caller's stack stays valid until resumed.
#[cfg(target_feature = "thumb2")]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn switch_stack(save: *mut usize, load: usize) {
    #[cfg(not(target_abi = "eabihf"))]
    naked_asm!(
        "push {{r4-r11, lr}}",
        "mov r2, sp",
        "str r2, [r0]",
        "mov sp, r1",
        "pop {{r4-r11, pc}}",
    );
    #[cfg(target_abi = "eabihf")]
    naked_asm!(
        "push {{r4-r11, lr}}",
        "vpush {{d8-d15}}",
        "mov r2, sp",
        "str r2, [r0]",
        "mov sp, r1",
        "vpop {{d8-d15}}",
        "pop {{r4-r11, pc}}",
    );
}

/// Thumb-1 (ARMv6-M) form: `push`/`pop` reach only r4-r7 and lr/pc, so
/// r8-r11 travel through r4-r7.
#[cfg(not(target_feature = "thumb2"))]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn switch_stack(save: *mut usize, load: usize) {
    naked_asm!(
        "push {{r4-r7, lr}}",
        "mov r4, r8",
        "mov r5, r9",
        "mov r6, r10",
        "mov r7, r11",
        "push {{r4-r7}}",
        "mov r2, sp",
        "str r2, [r0]",
        "mov sp, r1",
        "pop {{r4-r7}}",
        "mov r8, r4",
        "mov r9, r5",
        "mov r10, r6",
        "mov r11, r7",
        "pop {{r4-r7, pc}}",
    );
}
