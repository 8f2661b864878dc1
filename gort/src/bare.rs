//! The API on bare metal (`target_os = "none"` with a board feature):
//! start the cores scheduler, spawn goroutines, print, exit, and Go's
//! panic report.
//!
//! A firmware sets up its heap (`#[global_allocator]`), then calls
//! [`start`] with its main goroutine; every other gort API (channels,
//! `select!`, `sync`, `time`) is the same as on hosted targets. Blocking
//! operations work only in goroutines; interrupt handlers may use the
//! non-blocking ones (`try_send`, `try_recv`, `close`, `Futex::wake`).
//!
//! ```ignore
//! #[cortex_m_rt::entry]
//! fn main() -> ! {
//!     init_heap();
//!     gort::bare::start(|| {
//!         let c = gort::chan::Chan::new(0);
//!         let tx = c.clone();
//!         gort::go(move || tx.send(42).unwrap());
//!         gort::println!("got {:?}", c.recv());
//!     })
//! }
//!
//! #[panic_handler]
//! fn panic(info: &core::panic::PanicInfo) -> ! {
//!     gort::bare::panic(info)
//! }
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt::{self, Write};

use crate::platform::{self, ShortLock};
use crate::task::cores;

/// Starts the scheduler with `main` as the first goroutine and a scheduler
/// loop on every core the board starts; the program ends when `main`
/// returns (exit status 0), as in Go. Call it once, from the first core,
/// after the heap is ready.
pub fn start(main: impl FnOnce() + Send + 'static) -> ! {
    cores::start(Box::new(move || {
        main();
        exit(0)
    }))
}

/// Sets the stack size of goroutines started from now on (default 8 KiB;
/// at least 1 KiB). A goroutine that overflows its stack ends the program
/// with a fatal error the next time it switches out.
pub fn set_stack_size(bytes: usize) {
    cores::set_stack_size(bytes);
}

/// Bytes of stack the calling goroutine has left before its red zone (the
/// 256 bytes at the bottom whose overwriting is reported as an overflow);
/// `None` outside a goroutine. For sizing stacks (`set_stack_size`).
pub fn stack_headroom() -> Option<usize> {
    cores::stack_headroom()
}

/// Ends the program with `code` as its exit status (where the board can
/// report one: semihosting on QEMU; a line `gort-exit: <code>` on a serial
/// console).
pub fn exit(code: i32) -> ! {
    platform::exit(code)
}

/// Spawns a goroutine (Go's `go f()`).
pub fn go(f: impl FnOnce() + Send + 'static) {
    cores::spawn(Box::new(f), None);
}

/// Spawns a goroutine that runs only on `core` (for work that must stay
/// on one core, and to measure one core against two).
///
/// # Panics
/// If `core` is not a started core (`num_cpu()`).
pub fn go_on(core: usize, f: impl FnOnce() + Send + 'static) {
    assert!(
        core < num_cpu(),
        "gort::bare::go_on: core {core} is not running (num_cpu() = {})",
        num_cpu()
    );
    cores::spawn(Box::new(f), Some(core));
}

/// Lets other goroutines run (Go's `runtime.Gosched`).
pub fn gosched() {
    crate::task::yield_now();
}

/// Cores running a scheduler loop.
pub fn num_cpu() -> usize {
    cores::started_cores().max(1)
}

/// Goroutines started and not finished.
pub fn num_goroutine() -> usize {
    cores::live()
}

/// How many times `core` switched to a goroutine since the start.
pub fn goroutine_runs(core: usize) -> u32 {
    cores::runs(core)
}

/// The board's console (serial or semihosting), one line at a time.
static CONSOLE: ShortLock<()> = ShortLock::new(crate::lockrank::LockRank::Console, ());

/// Prints a whole line on the board's console; lines from different cores
/// never interleave. Used by `gort::println!`.
#[doc(hidden)]
pub fn print_line(args: fmt::Arguments<'_>) {
    let mut line = String::new();
    let _ = line.write_fmt(args);
    line.push('\n');
    let _console = CONSOLE.lock();
    platform::console_write(line.as_bytes());
}

/// Go's report of an unrecovered panic, then exit status 2. Call it from
/// the firmware's `#[panic_handler]`.
pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let id = crate::task::current_goroutine().map(|t| t.id());
    let mut out = Line::new();
    let _ = write!(out, "panic: {}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(out, " [{}:{}]", loc.file(), loc.line());
    }
    match id {
        Some(id) => {
            let _ = write!(out, "\n\ngoroutine {id} [running]:");
        }
        None => {
            let _ = write!(out, "\n\n(not in a goroutine)");
        }
    }
    out.emit();
    exit(2)
}

/// Go's "fatal error: ..." report, then exit status 2.
pub(crate) fn fatal(args: fmt::Arguments<'_>) -> ! {
    let mut out = Line::new();
    let _ = write!(out, "fatal error: {args}");
    out.emit();
    exit(2)
}

/// A message built without the heap (a panic may come from the
/// allocator), cut at 256 bytes.
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Line {
            buf: [0; 256],
            len: 0,
        }
    }

    fn emit(mut self) {
        let _ = self.write_str("\n");
        let _console = CONSOLE.lock();
        platform::console_write(&self.buf[..self.len]);
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let take = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}
