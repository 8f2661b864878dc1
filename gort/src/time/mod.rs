//! Go's `time` package pieces that block or deliver on channels: `sleep`,
//! `after`, `tick`, `Timer`, `Ticker`, `after_func`. All of them, and every
//! channel and `select` timeout, run on the scheduler's timer heaps
//! (`task::timers`): a timer channel is armed there as a `Fire`.
//!
//! Timer channels follow Go 1.23: after `stop` or `reset` returns, no value
//! prepared before the call is received. A timer's lock is taken before its
//! channel's (firing sends under it, stopping drains under it), so a `stop`
//! racing the timer's own firing either prevents the send or sees and
//! removes its value. Also as in Go 1.23, a timer whose channel nobody
//! holds any more is collected before it fires (see `task::timers`).
//!
//! A duration too long to represent as a deadline makes a timer that is
//! active but never fires (`Armed::Never`): it has no heap entry, and
//! `stop` and `reset` report it pending, as Go's do.
//!
//! `after_func` calls run as goroutines of their own, so a call that
//! blocks or panics stops no other timer.

use alloc::boxed::Box;
use core::time::Duration;

#[cfg(not(feature = "std"))]
mod instant;
#[cfg(not(feature = "std"))]
pub use instant::Instant;
/// The instant type timer channels carry: std's where there is std.
///
/// ```
/// use gort::time::{Instant, after};
/// use std::time::Duration;
///
/// let armed = Instant::now();
/// let fired: Instant = after(Duration::from_millis(1)).recv().unwrap();
/// assert!(fired >= armed); // when the timer fired
/// ```
#[cfg(feature = "std")]
pub use std::time::Instant;

use crate::chan::{Chan, WeakChan};
use crate::shim::Arc;
use crate::sync::Mutex;
use crate::task;
use crate::task::timers::{self, Fire, TimerId};

/// Parks the calling goroutine for at least `d` (Go's `time.Sleep`). Zero
/// returns at once. An M:N goroutine's worker runs other goroutines
/// meanwhile; `std::thread::sleep` would hold it.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// gort::time::sleep(Duration::from_millis(2));
/// assert!(start.elapsed() >= Duration::from_millis(2)); // never less
/// ```
pub fn sleep(d: Duration) {
    if let Some(deadline) = deadline_after(d) {
        sleep_until_nanos(deadline);
    } else {
        // Too far to represent: sleep forever.
        loop {
            task::park_for(crate::futex::WaitReason::Sleep, None);
        }
    }
}

pub(crate) fn sleep_until_nanos(deadline: u64) {
    if crate::platform::now_nanos() >= deadline {
        return;
    }
    let timer = timers::arm_unpark(deadline, task::current());
    while crate::platform::now_nanos() < deadline {
        task::park_for(crate::futex::WaitReason::Sleep, None);
    }
    let _ = timers::disarm_unpark(timer);
}

/// A channel that receives the time once, after `d` (Go's `time.After`):
/// the usual timeout case of a `select!`.
///
/// ```
/// use gort::chan::Chan;
/// use gort::time::after;
/// use std::time::Duration;
///
/// let replies = Chan::<u32>::new(0); // nobody answers
/// let outcome = gort::select! {
///     recv(replies) -> r => r.map_or("closed", |_| "reply"),
///     recv(after(Duration::from_millis(1))) -> _ => "timed out",
/// };
/// assert_eq!(outcome, "timed out");
/// ```
pub fn after(d: Duration) -> Chan<Instant> {
    Timer::new(d).into_chan()
}

/// A channel that receives the time every `d` (Go's `time.Tick`); nil for
/// a zero `d`, as in Go. It stops when every handle to it is dropped.
///
/// ```
/// use gort::time::tick;
/// use std::time::Duration;
///
/// let ticks = tick(Duration::from_millis(1));
/// let (first, second) = (ticks.recv().unwrap(), ticks.recv().unwrap());
/// assert!(second > first);
/// assert!(tick(Duration::ZERO).is_nil());
/// ```
pub fn tick(d: Duration) -> Chan<Instant> {
    if d.is_zero() {
        return Chan::nil();
    }
    Ticker::new(d).into_chan()
}

/// Calls `f` once, after `d`, unless stopped first (Go's `time.AfterFunc`).
/// `f` runs in a goroutine of its own, as in Go: of the calling
/// goroutine's runtime if it still runs then, else of the default one.
/// So it may block (on a send, say) without delaying any other timer, and
/// if it panics the process prints the panic and exits with status 2, as
/// for any goroutine nobody joins.
///
/// ```
/// use gort::chan::Chan;
/// use gort::time::after_func;
/// use std::time::Duration;
///
/// let done = Chan::new(0);
/// let tx = done.clone();
/// let mut call = after_func(Duration::from_millis(1), move || {
///     tx.send("called").unwrap(); // waits for the receiver
/// });
/// assert_eq!(done.recv(), Some("called"));
/// assert!(!call.stop()); // too late: it ran
///
/// let mut never = after_func(Duration::from_secs(3600), || unreachable!());
/// assert!(never.stop()); // stopped in time: it will not run
/// ```
pub fn after_func(d: Duration, f: impl FnOnce() + Send + 'static) -> AfterFunc {
    let armed = match deadline_after(d) {
        Some(deadline) => Armed::At(timers::arm_call(deadline, goroutine_later(f))),
        None => Armed::Never,
    };
    AfterFunc { armed }
}

/// What the global heap calls for an `after_func`: a short call that
/// starts `f` as a goroutine (it runs with the heap's server, which must
/// not block).
#[cfg(feature = "std")]
fn goroutine_later(f: impl FnOnce() + Send + 'static) -> Box<dyn FnOnce() + Send> {
    let rt = crate::runtime::LaterRuntime::current();
    Box::new(move || rt.go(f))
}

#[cfg(not(feature = "std"))]
fn goroutine_later(f: impl FnOnce() + Send + 'static) -> Box<dyn FnOnce() + Send> {
    Box::new(move || crate::go(f))
}

/// The deadline `d` from now, or `None` if it is too far off to represent
/// (then the timer never fires). `u64::MAX` means "none" to the heaps.
fn deadline_after(d: Duration) -> Option<u64> {
    crate::platform::deadline_after(d).filter(|&t| t != u64::MAX)
}

/// Where a timer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Armed {
    /// Fired or stopped.
    Not,
    /// Pending in the global heap.
    At(TimerId),
    /// Pending, too far off to ever fire: no heap entry.
    Never,
}

impl Armed {
    /// Disarms; true if it was pending.
    fn disarm(&mut self) -> bool {
        match core::mem::replace(self, Armed::Not) {
            Armed::Not => false,
            Armed::At(id) => timers::disarm(id),
            Armed::Never => true,
        }
    }
}

/// The handle [`after_func`] returns; dropping it does not stop the call.
#[derive(Debug)]
pub struct AfterFunc {
    armed: Armed,
}

impl AfterFunc {
    /// Prevents the call; true if this stopped it, false if it already ran
    /// (or is running) or was stopped. Example: see [`after_func`].
    pub fn stop(&mut self) -> bool {
        self.armed.disarm()
    }
}

/// Go's `time.Timer`: delivers the time on `c` once, after a duration.
///
/// As in Go since 1.23, after [`stop`](Self::stop) or
/// [`reset`](Self::reset) returns, `c` yields no value prepared before
/// the call.
///
/// ```
/// use gort::time::Timer;
/// use std::time::Duration;
///
/// let t = Timer::new(Duration::from_millis(1));
/// t.c.recv().unwrap(); // fired
/// assert!(!t.stop()); // nothing left to stop
///
/// let t = Timer::new(Duration::from_secs(60));
/// assert!(t.stop()); // stopped before it fired
/// assert!(t.c.try_recv().is_err());
/// assert!(!t.reset(Duration::from_millis(1))); // it was not pending
/// t.c.recv().unwrap(); // fires again after the reset
/// ```
pub struct Timer {
    /// The channel the time is delivered on.
    pub c: Chan<Instant>,
    shared: Arc<TimerShared>,
}

/// Go's `time.Ticker`: delivers the time on `c` every period, dropping
/// ticks a slow receiver misses. Dropping it stops it.
///
/// ```
/// use gort::time::Ticker;
/// use std::time::Duration;
///
/// let t = Ticker::new(Duration::from_millis(1));
/// for _ in 0..3 {
///     t.c.recv().unwrap();
/// }
/// t.reset(Duration::from_millis(2));
/// t.c.recv().unwrap();
/// t.stop();
/// assert!(t.c.recv_timeout(Duration::from_millis(5)).is_err()); // no more ticks
/// ```
pub struct Ticker {
    /// The channel the ticks are delivered on.
    pub c: Chan<Instant>,
    shared: Arc<TimerShared>,
    /// False once `tick` handed the channel out: then the channel's
    /// handles, not this value, decide how long it ticks.
    stop_on_drop: bool,
}

/// What the global heap holds for a `Timer` or `Ticker`. The channel is
/// weak: when the program drops every handle, the heap may collect the
/// timer before it is due (`orphaned`), firing does nothing and a ticker
/// stops re-arming.
struct TimerShared {
    state: Mutex<TimerState>,
    chan: WeakChan<Instant>,
}

struct TimerState {
    armed: Armed,
    /// When it is due (a `now_nanos` time).
    deadline: u64,
    period: Option<u64>,
}

impl TimerShared {
    fn new(c: &Chan<Instant>, period: Option<Duration>) -> Arc<Self> {
        Arc::new(TimerShared {
            state: Mutex::new(TimerState {
                armed: Armed::Not,
                deadline: 0,
                period: period.map(|p| u64::try_from(p.as_nanos()).unwrap_or(u64::MAX)),
            }),
            chan: c.downgrade(),
        })
    }

    /// Arms for `d` from now (holding the state lock). An associated
    /// function: portable-atomic's `Arc` (bare metal) is no method receiver.
    fn arm(this: &Arc<Self>, st: &mut TimerState, d: Duration) {
        Self::arm_at(this, st, deadline_after(d));
    }

    fn arm_at(this: &Arc<Self>, st: &mut TimerState, deadline: Option<u64>) {
        st.armed = match deadline {
            Some(deadline) => {
                st.deadline = deadline;
                Armed::At(timers::arm_fire(deadline, Box::new(this.clone())))
            }
            None => Armed::Never,
        };
    }

    /// Disarms and drains; true if a value was pending (armed, or sent and
    /// not yet received).
    fn stop(&self, st: &mut TimerState) -> bool {
        let armed = st.armed.disarm();
        let drained = self.chan.upgrade().is_some_and(|c| c.try_recv().is_ok());
        armed || drained
    }

    /// Entry `id` of the heap is due (see `Fire`).
    fn fire(this: &Arc<Self>, id: TimerId) {
        let mut st = this.state.lock();
        if st.armed != Armed::At(id) {
            return; // stopped or reset since
        }
        st.armed = Armed::Not;
        let Some(c) = this.chan.upgrade() else {
            return; // nobody can receive any more
        };
        let _ = c.try_send(Instant::now()); // a full ticker channel drops the tick
        if let Some(period) = st.period {
            let now = crate::platform::now_nanos();
            let mut next = st.deadline.saturating_add(period);
            if next <= now {
                // Fell behind: skip the missed ticks.
                next = now.saturating_add(period);
            }
            // A saturated deadline is never.
            Self::arm_at(this, &mut st, Some(next).filter(|&t| t != u64::MAX));
        }
    }
}

/// The heap's handle on a timer channel.
impl Fire for Arc<TimerShared> {
    /// Whether no handle to the channel is left: nobody can receive, so
    /// the heap may drop this timer's entry unfired. (Takes no lock: the
    /// heap asks under its own.)
    fn orphaned(&self) -> bool {
        // If this upgrade outlives every other handle, dropping it drops
        // the channel here; that takes no timer or heap lock.
        self.chan.upgrade().is_none()
    }

    fn fire(self: Box<Self>, id: TimerId) {
        TimerShared::fire(&self, id);
    }
}

impl Timer {
    /// A timer that fires once after `d` (Go's `time.NewTimer`). Example:
    /// see [`Timer`].
    pub fn new(d: Duration) -> Timer {
        let c = Chan::new(1);
        let shared = TimerShared::new(&c, None);
        TimerShared::arm(&shared, &mut shared.state.lock(), d);
        Timer { c, shared }
    }

    /// Prevents the timer from firing. Returns true if this call stopped
    /// it, false if it had already fired (and its value was received) or
    /// was stopped. Afterwards `c` yields nothing stale. Example: see
    /// [`Timer`].
    pub fn stop(&self) -> bool {
        self.shared.stop(&mut self.shared.state.lock())
    }

    /// Re-arms the timer for `d` from now. Returns true if it was still
    /// pending (as `stop` would have), false if it had fired or stopped.
    /// Example: see [`Timer`].
    pub fn reset(&self, d: Duration) -> bool {
        let mut st = self.shared.state.lock();
        let was_pending = self.shared.stop(&mut st);
        TimerShared::arm(&self.shared, &mut st, d);
        was_pending
    }

    fn into_chan(self) -> Chan<Instant> {
        self.c
    }
}

impl Ticker {
    /// A ticker firing every `d` (Go's `time.NewTicker`). Example: see
    /// [`Ticker`].
    ///
    /// # Panics
    /// "non-positive interval for NewTicker" if `d` is zero (Go's words).
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "non-positive interval for NewTicker");
        let c = Chan::new(1);
        let shared = TimerShared::new(&c, Some(d));
        TimerShared::arm(&shared, &mut shared.state.lock(), d);
        Ticker {
            c,
            shared,
            stop_on_drop: true,
        }
    }

    /// Stops the ticks; a tick already delivered and not received is
    /// discarded. Example: see [`Ticker`].
    pub fn stop(&self) {
        self.shared.stop(&mut self.shared.state.lock());
    }

    /// Restarts the ticks with period `d`, the first one `d` from now.
    /// Example: see [`Ticker`].
    ///
    /// # Panics
    /// "non-positive interval for Ticker.Reset" if `d` is zero.
    pub fn reset(&self, d: Duration) {
        assert!(!d.is_zero(), "non-positive interval for Ticker.Reset");
        let mut st = self.shared.state.lock();
        self.shared.stop(&mut st);
        st.period = Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        TimerShared::arm(&self.shared, &mut st, d);
    }

    /// The channel alone; the ticks stop when every handle is dropped.
    fn into_chan(mut self) -> Chan<Instant> {
        self.stop_on_drop = false;
        self.c.clone()
    }
}

impl Drop for Ticker {
    /// A dropped `Ticker` stops (Go's GC does the same since 1.23).
    fn drop(&mut self) {
        if self.stop_on_drop {
            self.stop();
        }
    }
}

impl core::fmt::Debug for Timer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Timer").finish_non_exhaustive()
    }
}

impl core::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ticker").finish_non_exhaustive()
    }
}

/// Timers armed and not yet fired or stopped, in the whole process (for
/// tests and stats): timer channels, `after_func` calls, and the
/// deadlines of sleeps and timeouts. Not counted: timers too far off to
/// ever fire, and timer channels nobody holds any more (they can wake
/// nobody: this collects them first, a walk of the timers, so it is for
/// tests and stats, not for hot paths).
///
/// ```standalone_crate
/// use gort::time::{Timer, pending_timers};
/// use std::time::Duration;
///
/// let before = pending_timers();
/// let t = Timer::new(Duration::from_secs(60));
/// assert_eq!(pending_timers(), before + 1);
/// t.stop();
/// assert_eq!(pending_timers(), before);
/// ```
pub fn pending_timers() -> usize {
    timers::pending()
}
