//! A goroutine overflows its stack: the program must end with
//! `fatal error: goroutine N overflowed its 2048-byte stack` and exit
//! status 2 (the red-zone check when it switches out). The rig checks both.

#![no_std]
#![no_main]

use cortex_m_rt::entry;

/// Recurses with 64-byte frames until the next frame reaches into the red
/// zone (the bottom 256 bytes), takes that frame, and switches out: the
/// overflow stays inside the goroutine's stack memory whatever the frame
/// sizes of the target, so only the red-zone check can report it.
#[inline(never)]
fn descend(depth: u32) -> u32 {
    let mut frame = [depth as u8; 64];
    core::hint::black_box(&mut frame);
    let left = gort::bare::stack_headroom().expect("in a goroutine");
    if left == 0 {
        gort::gosched(); // switch out with the red zone written
        return u32::from(frame[1]);
    }
    if left < 64 {
        return into_red_zone(depth);
    }
    descend(depth + 1) + u32::from(frame[3])
}

/// One frame that lands in the red zone.
#[inline(never)]
fn into_red_zone(depth: u32) -> u32 {
    let mut frame = [0xa5u8; 96];
    core::hint::black_box(&mut frame);
    gort::gosched();
    u32::from(frame[depth as usize % 96])
}

#[entry]
fn main() -> ! {
    gort_firmware::init_heap();
    gort::bare::start(|| {
        gort::bare::set_stack_size(2048);
        let done = gort::chan::Chan::new(1);
        let tx = done.clone();
        gort::go(move || tx.send(descend(0)).unwrap());
        let got = done.recv();
        gort::println!("no overflow reported (got {got:?})");
        gort::bare::exit(0);
    })
}
