//! Go's "fatal error: all goroutines are asleep - deadlock!".
//!
//! A monitor thread (started with the first runtime) looks every
//! `PERIOD` for a process in which nothing can ever happen again, and then
//! reports what everybody waits on and exits with status 2.
//!
//! Invariants (what makes a report sound):
//! - every thread of the process is accounted for as asleep in gort: the
//!   number of threads inside gort's untimed waits (`ASLEEP`, kept at each
//!   such wait: task parks, futex waits, idle M:N workers, idle pool
//!   threads, the idle timer thread), plus the monitor itself, equals the
//!   process's thread count as the OS reports it. A thread doing anything
//!   else (running, sleeping in std, blocked in I/O) breaks the equality;
//!   where the OS count is unavailable (wasm) nothing is reported. Threads
//!   the OS or a loader adds (Windows' thread pool, wine's) only keep a
//!   deadlock from being reported, never report one that is not;
//! - no timer is armed (it could wake somebody; a `gort::blocking` call
//!   runs on a thread that is awake); a stopped timer, one whose channel nobody holds
//!   any more, or one too far off to ever fire is not counted, and the
//!   timer thread does not keep waiting for one: it wakes nobody;
//! - all of that holds at two looks `PERIOD` apart, and `EPOCH` (bumped
//!   whenever a thread leaves an untimed wait) did not move between them:
//!   nobody woke up in between, so the waits seen are the same waits.
//!
//! M:N goroutines parked on their own hold no thread: their workers sleep
//! and are counted; the goroutines are counted by reason for the report.

use std::sync::Once;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

pub(crate) use crate::futex::WaitReason;

const REASONS: usize = WaitReason::ALL.len();

impl WaitReason {
    fn text(self) -> &'static str {
        match self {
            WaitReason::Unknown => "park",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNil => "chan receive (nil chan)",
            WaitReason::ChanSendNil => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Mutex => "sync.Mutex.Lock",
            WaitReason::RwMutex => "sync.RWMutex.Lock",
            WaitReason::WaitGroup => "sync.WaitGroup.Wait",
            WaitReason::Cond => "sync.Cond.Wait",
            WaitReason::Semaphore => "semaphore acquire",
            WaitReason::Once => "sync.Once.Do",
            WaitReason::Join => "JoinHandle.join",
            WaitReason::Sleep => "sleep",
            WaitReason::IoWait => "IO wait",
            WaitReason::Internal => "idle",
        }
    }
}

/// Threads inside an untimed gort wait (or gort's own idle waits).
static ASLEEP: AtomicUsize = AtomicUsize::new(0);
/// Tasks (threads or M:N goroutines) waiting untimed, by reason.
static WAITING: [AtomicUsize; REASONS] = [const { AtomicUsize::new(0) }; REASONS];
/// Bumped each time a thread leaves an untimed wait.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// A task (of any scheduler) starts waiting untimed for `r`.
pub(crate) fn task_waits(r: WaitReason) {
    start_monitor();
    WAITING[r as usize].fetch_add(1, Relaxed);
}

/// The task stopped waiting.
pub(crate) fn task_wakes(r: WaitReason) {
    WAITING[r as usize].fetch_sub(1, Relaxed);
}

/// The calling thread enters an untimed wait.
pub(crate) fn thread_sleeps() {
    ASLEEP.fetch_add(1, Relaxed);
}

/// The calling thread left its untimed wait.
pub(crate) fn thread_wakes() {
    EPOCH.fetch_add(1, Relaxed);
    ASLEEP.fetch_sub(1, Relaxed);
}

/// A thread in an untimed wait for a reason, until dropped.
pub(crate) struct Asleep(WaitReason);

impl Asleep {
    pub(crate) fn new(reason: WaitReason) -> Self {
        task_waits(reason);
        thread_sleeps();
        Asleep(reason)
    }
}

impl Drop for Asleep {
    fn drop(&mut self) {
        thread_wakes();
        task_wakes(self.0);
    }
}

/// How often the monitor looks.
const PERIOD: Duration = Duration::from_millis(100);

/// Starts the monitor (once per process), where the OS can count threads.
pub(crate) fn start_monitor() {
    static START: Once = Once::new();
    START.call_once(|| {
        if os_thread_count().is_none() || std::env::var_os("GORT_NO_DEADLOCK_CHECK").is_some() {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("gort-deadlock".into())
            .stack_size(64 * 1024)
            .spawn(monitor);
    });
}

/// One look: the epoch if everything is asleep right now.
fn all_asleep() -> Option<u64> {
    let epoch = EPOCH.load(Relaxed);
    let asleep = ASLEEP.load(Relaxed);
    let threads = os_thread_count()?;
    // Counting timers collects stopped and orphaned ones (a walk of the
    // heap), which may let the timer thread, waiting timed for one of
    // them, wait untimed: only worth it when at most that thread is awake
    // (besides the monitor, sleeping in std between looks).
    if asleep + 2 < threads {
        return None;
    }
    if crate::task::timers::pending() != 0 {
        return None;
    }
    // Go's rule: goroutines waiting on the network are not deadlocked
    // (a blocked poller thread, if any, counts as asleep).
    #[cfg(gort_net)]
    if crate::task::netpoll::waiting() {
        return None;
    }
    (asleep + 1 == threads && EPOCH.load(Relaxed) == epoch).then_some(epoch)
}

fn monitor() {
    loop {
        std::thread::sleep(PERIOD);
        let Some(e1) = all_asleep() else { continue };
        std::thread::sleep(PERIOD);
        if all_asleep() == Some(e1) {
            report();
        }
    }
}

fn report() -> ! {
    use std::io::Write;
    let mut msg = String::from("fatal error: all goroutines are asleep - deadlock!\n\n");
    let mut parts = Vec::new();
    for (count, r) in WAITING.iter().zip(WaitReason::ALL) {
        let n = count.load(Relaxed);
        if n > 0 && r != WaitReason::Internal {
            parts.push(format!("{n} [{}]", r.text()));
        }
    }
    msg.push_str("waiting: ");
    msg.push_str(&parts.join(", "));
    msg.push('\n');
    let _ = std::io::stderr().lock().write_all(msg.as_bytes());
    std::process::exit(2);
}

fn os_thread_count() -> Option<usize> {
    crate::platform::thread_count()
}
