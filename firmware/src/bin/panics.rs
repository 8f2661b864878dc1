//! A goroutine panics: the program must end with Go's report
//! (`panic: ...` and `goroutine N [running]:`) and exit status 2, while
//! another goroutine is still busy. The rig checks both.

#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    gort_firmware::init_heap();
    gort::bare::start(|| {
        gort::go(|| {
            loop {
                gort::gosched();
            }
        });
        let c = gort::chan::Chan::new(0);
        let tx = c.clone();
        gort::go(move || {
            let v: u32 = 41;
            tx.send(()).unwrap();
            panic!("boom {}", v + 1);
        });
        c.recv();
        gort::time::sleep(core::time::Duration::from_secs(5));
        gort::println!("still running: the panic did not end the program");
        gort::bare::exit(0);
    })
}
