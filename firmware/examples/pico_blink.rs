//! Raspberry Pi Pico: goroutines on both cores blink the on-board LED
//! (GP25) and talk over channels. A goroutine pinned to core 0 composes a
//! Morse pattern and sends each on/off span over a channel; one pinned to
//! core 1 drives the LED and reports each finished letter back; core 0
//! prints them on UART0 (GP0, 115200 baud) with the core that did the
//! work. Build and flash: see the README ("Bare metal").

#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::entry;
use gort::chan::Chan;

const SIO: usize = 0xd000_0000;
const GPIO_OUT_SET: *mut u32 = (SIO + 0x14) as *mut u32;
const GPIO_OUT_CLR: *mut u32 = (SIO + 0x18) as *mut u32;
const GPIO_OE_SET: *mut u32 = (SIO + 0x24) as *mut u32;
const GPIO25_CTRL: *mut u32 = 0x4001_40cc as *mut u32;
const LED: u32 = 1 << 25;
const FUNC_SIO: u32 = 5;

fn led(on: bool) {
    // SAFETY: SIO's GPIO set/clear registers; GP25 is the LED's pin.
    unsafe { (if on { GPIO_OUT_SET } else { GPIO_OUT_CLR }).write_volatile(LED) }
}

/// One span of the pattern: LED state and length in Morse units.
#[derive(Clone, Copy)]
enum Span {
    On(u32),
    Off(u32),
    /// A letter ends here (reported back once shown).
    EndOfLetter(char),
}

fn morse(c: char) -> &'static str {
    match c {
        'G' => "--.",
        'O' => "---",
        'R' => ".-.",
        'T' => "-",
        _ => "",
    }
}

#[entry]
fn main() -> ! {
    gort_firmware::init_heap();
    // SAFETY: GP25 to SIO control, output enabled (gort's board setup has
    // taken IO_BANK0 and the pads out of reset).
    gort::bare::start(|| {
        unsafe {
            GPIO25_CTRL.write_volatile(FUNC_SIO);
            GPIO_OE_SET.write_volatile(LED);
        }
        gort::println!("pico_blink: {} cores", gort::num_cpu());
        let spans = Chan::new(4);
        let shown = Chan::new(4);
        let last = gort::num_cpu() - 1;
        let (rx, tx) = (spans.clone(), shown.clone());
        gort::bare::go_on(last, move || {
            let unit = Duration::from_millis(150);
            for span in &rx {
                match span {
                    Span::On(n) => {
                        led(true);
                        gort::time::sleep(unit * n);
                    }
                    Span::Off(n) => {
                        led(false);
                        gort::time::sleep(unit * n);
                    }
                    Span::EndOfLetter(c) => tx.send((c, gort::bare::goroutine_runs(last))).unwrap(),
                }
            }
        });
        gort::bare::go_on(0, move || {
            loop {
                for word in ["GORT", "GO"] {
                    for c in word.chars() {
                        for symbol in morse(c).chars() {
                            spans
                                .send(Span::On(if symbol == '.' { 1 } else { 3 }))
                                .unwrap();
                            spans.send(Span::Off(1)).unwrap();
                        }
                        spans.send(Span::Off(2)).unwrap();
                        spans.send(Span::EndOfLetter(c)).unwrap();
                    }
                    spans.send(Span::Off(4)).unwrap();
                }
            }
        });
        for (c, runs) in &shown {
            gort::println!("core {last} showed {c} (its goroutine runs so far: {runs})");
        }
    })
}
