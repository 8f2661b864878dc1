//! What every gort firmware here shares: the heap, the panic handler (Go's
//! report, exit status 2) and a tiny case runner for the conformance
//! suite.

#![no_std]

extern crate alloc;

use core::mem::MaybeUninit;

use embedded_alloc::LlffHeap;

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

/// Heap bytes: most of the RAM the board has.
#[cfg(feature = "mps2-an521")]
const HEAP_BYTES: usize = 1024 * 1024;
#[cfg(feature = "rp2040")]
const HEAP_BYTES: usize = 192 * 1024;

/// Goroutine stacks for the tests: roomy on QEMU, RAM is scarce on the
/// RP2040 (264 KiB for everything).
#[cfg(feature = "mps2-an521")]
pub const STACK_SIZE: usize = 8 * 1024;
#[cfg(feature = "rp2040")]
pub const STACK_SIZE: usize = 4 * 1024;

/// Hands the heap its memory. Call once, first thing.
pub fn init_heap() {
    static mut MEMORY: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];
    // SAFETY: called once before any allocation; MEMORY is used by
    // nothing else.
    unsafe { HEAP.init((&raw mut MEMORY) as usize, HEAP_BYTES) }
}

/// Heap bytes in use (for leak checks).
pub fn heap_used() -> usize {
    HEAP.used()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    gort::bare::panic(info)
}

/// The second-stage bootloader for the Pico's W25Q080 flash.
#[cfg(feature = "rp2040")]
#[unsafe(link_section = ".boot2")]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;
