//! Go's `context`: trees of cancellation. A context is done when it is
//! cancelled, when its deadline passes, or when its parent is done;
//! [`done()`](Context::done) is a channel that closes then (usable in
//! `select!`), and [`err()`](Context::err) says why. Values are keyed by
//! their type, where Go uses a key value.
//!
//! ```
//! use gort::context;
//! use std::time::Duration;
//!
//! let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(2));
//! let (child, _child_cancel) = context::with_cancel(&ctx);
//! let (never, done) = (gort::chan::Chan::<u32>::new(0), child.done());
//! let why = gort::select! {
//!     recv(never) -> _ => None,
//!     recv(done) -> _ => child.err(),
//! };
//! assert_eq!(why, Some(context::Error::DeadlineExceeded)); // the parent's deadline
//! cancel.cancel(); // done already: no effect
//! ```
//!
//! Invariants:
//! - a node's `err` is set once, under its lock, and its `done` channel
//!   closed right after; so `err()` is `Some` whenever `done()` is closed;
//! - a child is linked in its parent's list from creation until it is
//!   cancelled; a cancel takes its children's list under its lock and
//!   cancels them after releasing it, and unlinks itself from its parent
//!   without holding its own lock: no two nodes' locks are ever held
//!   together;
//! - only weak references point down (a parent's list of children) or
//!   into the timer heap's closures; strong ones point up (a child keeps
//!   its parent). Dropping every handle of a subtree frees it, cancelled
//!   or not; a parent prunes dead children when it links a new one;
//! - nothing walks the tree by recursion (cancelling uses a worklist,
//!   dropping a node frees the ancestors it held last in a loop, lookups
//!   loop up the parents): chains of any depth fit any stack.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt;
use core::time::Duration;

use crate::chan::Chan;
use crate::shim::{Arc, Weak};
use crate::sync::Mutex;
use crate::time::{AfterFunc, Instant};

/// Why a context is done (Go's `context.Canceled` and
/// `context.DeadlineExceeded`).
///
/// ```
/// use gort::context::{self, Error};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// cancel.cancel();
/// assert_eq!(ctx.err(), Some(Error::Canceled));
/// assert_eq!(Error::Canceled.to_string(), "context canceled");
/// assert_eq!(Error::DeadlineExceeded.to_string(), "context deadline exceeded");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// [`Cancel::cancel`] was called (on it or an ancestor).
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl core::error::Error for Error {}

/// A context: a node of the tree, made by [`background`] and the `with_`
/// functions. Cloning gives another handle to the same node; the default
/// is [`background`].
///
/// ```
/// use gort::context::{self, Context};
/// use gort::chan::Chan;
///
/// // A worker that stops when its context is done.
/// fn worker(ctx: Context, jobs: Chan<u32>, results: Chan<u32>) {
///     loop {
///         gort::select! {
///             recv(ctx.done()) -> _ => return,
///             recv(jobs) -> job => match job {
///                 Some(n) => { let _ = results.send(n * n); }
///                 None => return,
///             },
///         }
///     }
/// }
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let (jobs, results) = (Chan::new(0), Chan::new(0));
/// let w = {
///     let (ctx, jobs, results) = (ctx.clone(), jobs.clone(), results.clone());
///     gort::spawn(move || worker(ctx, jobs, results))
/// };
/// jobs.send(3).unwrap();
/// assert_eq!(results.recv(), Some(9));
/// cancel.cancel();
/// w.join().unwrap(); // the worker saw `done` close
/// assert_eq!(ctx.err(), Some(context::Error::Canceled));
/// ```
#[derive(Clone, Default)]
pub struct Context {
    node: Option<Arc<Node>>,
}

struct Node {
    parent: Option<Arc<Node>>,
    /// Closed when the node is done; nil for a value-only node.
    done: Chan<()>,
    /// The earliest deadline of this node and its ancestors.
    deadline: Option<Instant>,
    /// A value carried by this node (`with_value`).
    value: Option<Box<dyn Any + Send + Sync>>,
    /// Whether this node can be cancelled (values alone cannot).
    cancellable: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    err: Option<Error>,
    children: Vec<Weak<Node>>,
    timer: Option<AfterFunc>,
}

/// Cancels its context (Go's `CancelFunc`), with [`cancel`](Self::cancel).
/// Call it when the work the
/// context guards is over, as Go code does with `defer cancel()`: that
/// stops its timer and unlinks it from its parent at once. Dropping it
/// without calling it cancels nothing; the context is then freed when its
/// last handle goes (its timer, if any, stays armed until the deadline
/// and then does nothing).
#[must_use = "a context that is never cancelled lives until its parent is done or its deadline"]
pub struct Cancel {
    node: Arc<Node>,
}

/// The empty context: never done, no deadline, no values (Go's
/// `context.Background()`).
///
/// ```
/// let ctx = gort::context::background();
/// assert!(ctx.done().is_nil()); // never closes
/// assert_eq!(ctx.err(), None);
/// assert_eq!(ctx.deadline(), None);
/// assert_eq!(ctx.value::<u32>(), None);
/// ```
pub fn background() -> Context {
    Context { node: None }
}

/// A child of `parent` that [`Cancel::cancel`] ends (Go's `WithCancel`).
///
/// ```
/// use gort::context::{self, Error};
///
/// let (parent, cancel_parent) = context::with_cancel(&context::background());
/// let (child, cancel_child) = context::with_cancel(&parent);
/// cancel_child.cancel(); // ends the child only
/// assert_eq!((parent.err(), child.err()), (None, Some(Error::Canceled)));
///
/// let (other_child, _cancel) = context::with_cancel(&parent);
/// cancel_parent.cancel(); // ends the parent and its children
/// assert_eq!(other_child.done().recv(), None); // closed
/// assert_eq!(other_child.err(), Some(Error::Canceled));
/// ```
pub fn with_cancel(parent: &Context) -> (Context, Cancel) {
    let node = new_child(parent, parent.deadline(), None, true);
    (
        Context {
            node: Some(node.clone()),
        },
        Cancel { node },
    )
}

/// A child of `parent` that is also done at `deadline` (Go's
/// `WithDeadline`); a parent's earlier deadline wins.
///
/// ```
/// use gort::context::{self, Error};
/// use gort::time::Instant;
/// use std::time::Duration;
///
/// let bg = context::background();
/// let soon = Instant::now() + Duration::from_secs(60);
/// let (ctx, _cancel) = context::with_deadline(&bg, soon);
/// assert_eq!(ctx.deadline(), Some(soon));
/// let (later, _cancel2) = context::with_deadline(&ctx, soon + Duration::from_secs(60));
/// assert_eq!(later.deadline(), Some(soon)); // the parent's, earlier
///
/// let (past, _cancel3) = context::with_deadline(&bg, Instant::now());
/// assert_eq!(past.err(), Some(Error::DeadlineExceeded)); // done at once
/// ```
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, Cancel) {
    let own = parent.deadline().map_or(deadline, |d| d.min(deadline));
    let node = new_child(parent, Some(own), None, true);
    if own == deadline {
        let now = Instant::now();
        if deadline <= now {
            cancel(&node, Error::DeadlineExceeded);
        } else {
            let weak = Arc::downgrade(&node);
            let timer = crate::time::after_func(deadline.duration_since(now), move || {
                if let Some(node) = weak.upgrade() {
                    cancel(&node, Error::DeadlineExceeded);
                }
            });
            let mut st = node.state.lock();
            if st.err.is_none() {
                st.timer = Some(timer);
            } else {
                drop(st);
                let mut timer = timer;
                timer.stop();
            }
        }
    }
    (
        Context {
            node: Some(node.clone()),
        },
        Cancel { node },
    )
}

/// `with_deadline(parent, now + timeout)` (Go's `WithTimeout`).
///
/// ```
/// use gort::context::{self, Error};
/// use std::time::Duration;
///
/// let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(1));
/// assert_eq!(ctx.done().recv(), None); // closes at the deadline
/// assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
/// cancel.cancel(); // done already: `err` stays
/// assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
/// ```
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, Cancel) {
    match Instant::now().checked_add(timeout) {
        Some(deadline) => with_deadline(parent, deadline),
        None => with_cancel(parent), // too far to matter
    }
}

/// A child of `parent` carrying `value` (Go's `WithValue`, keyed by the
/// value's type): [`ctx.value::<T>()`](Context::value) finds the nearest
/// one. It is done when its parent is.
///
/// ```
/// use gort::context;
///
/// struct RequestId(u64);
/// let ctx = context::with_value(&context::background(), RequestId(7));
/// let (child, _cancel) = context::with_cancel(&ctx);
/// assert_eq!(child.value::<RequestId>().map(|id| id.0), Some(7));
/// assert!(child.value::<String>().is_none());
///
/// let inner = context::with_value(&child, RequestId(8));
/// assert_eq!(inner.value::<RequestId>().map(|id| id.0), Some(8)); // the nearest
/// ```
pub fn with_value<T: Any + Send + Sync>(parent: &Context, value: T) -> Context {
    let node = new_child(parent, parent.deadline(), Some(Box::new(value)), false);
    Context { node: Some(node) }
}

fn new_child(
    parent: &Context,
    deadline: Option<Instant>,
    value: Option<Box<dyn Any + Send + Sync>>,
    cancellable: bool,
) -> Arc<Node> {
    let node = Arc::new(Node {
        parent: parent.node.clone(),
        // A value-only node is done when its nearest cancellable ancestor
        // is, through that one's channel: it needs none of its own.
        done: if cancellable {
            Chan::new(0)
        } else {
            Chan::nil()
        },
        deadline,
        value,
        cancellable,
        state: Mutex::new(State::default()),
    });
    // Link under the nearest cancellable ancestor (a value-only node is
    // not linked: it shares that ancestor's fate); if that one is done,
    // so is the child.
    if !cancellable {
        return node;
    }
    if let Some(anc) = nearest_cancellable(parent.node.as_ref()) {
        let mut st = anc.state.lock();
        match st.err {
            Some(err) => {
                drop(st);
                cancel(&node, err);
            }
            None => {
                st.children.retain(|c| c.strong_count() > 0);
                st.children.push(Arc::downgrade(&node));
            }
        }
    }
    node
}

fn nearest_cancellable(mut node: Option<&Arc<Node>>) -> Option<&Arc<Node>> {
    while let Some(n) = node {
        if n.cancellable {
            return Some(n);
        }
        node = n.parent.as_ref();
    }
    None
}

/// Cancels `node` and its subtree with `err`; a no-op if already done.
/// The subtree is walked with a worklist, not recursion: a deep tree
/// cannot overflow the stack.
fn cancel(node: &Arc<Node>, err: Error) {
    let mut pending = Vec::new();
    if !mark(node, err, &mut pending) {
        return;
    }
    while let Some(n) = pending.pop() {
        mark(&n, err, &mut pending);
    }
    // The descendants' ancestors are in the subtree, whose lists are
    // taken: only the top node unlinks itself.
    if let Some(anc) = nearest_cancellable(node.parent.as_ref()) {
        let me = Arc::downgrade(node);
        anc.state
            .lock()
            .children
            .retain(|c| c.strong_count() > 0 && !Weak::ptr_eq(c, &me));
    }
}

/// Makes `node` done with `err` and stops its timer, adding its live
/// children to `pending` (reversed: popped oldest first, so nodes are done
/// in the order a recursive walk would make them); false if it was done
/// already.
fn mark(node: &Node, err: Error, pending: &mut Vec<Arc<Node>>) -> bool {
    let (children, timer) = {
        let mut st = node.state.lock();
        if st.err.is_some() {
            return false;
        }
        st.err = Some(err);
        node.done.close();
        (core::mem::take(&mut st.children), st.timer.take())
    };
    if let Some(mut t) = timer {
        t.stop();
    }
    pending.extend(children.iter().rev().filter_map(Weak::upgrade));
    true
}

impl Drop for Node {
    /// Frees the ancestors this node held the last reference to one by
    /// one, each with its parent taken first, so dropping a deep chain
    /// does not recurse.
    fn drop(&mut self) {
        let mut parent = self.parent.take();
        while let Some(p) = parent {
            parent = Arc::into_inner(p).and_then(|mut n| n.parent.take());
        }
    }
}

impl Cancel {
    /// Cancels the context and every context derived from it; `err()` is
    /// then `Canceled` (unless it was done already). Example: see
    /// [`with_cancel`].
    pub fn cancel(&self) {
        cancel(&self.node, Error::Canceled);
    }
}

impl Context {
    /// A channel closed when the context is done (Go's `Done()`); nil for
    /// `background()` and its value-only children (never done). Example:
    /// see [`Context`].
    pub fn done(&self) -> Chan<()> {
        match nearest_cancellable(self.node.as_ref()) {
            Some(n) => n.done.clone(),
            None => Chan::nil(),
        }
    }

    /// Why the context is done; `None` while it is not (Go's `Err()`).
    /// Example: see [`with_cancel`].
    pub fn err(&self) -> Option<Error> {
        nearest_cancellable(self.node.as_ref()).and_then(|n| n.state.lock().err)
    }

    /// When it will be done at the latest, if ever (Go's `Deadline()`).
    /// Example: see [`with_deadline`].
    pub fn deadline(&self) -> Option<Instant> {
        self.node.as_ref().and_then(|n| n.deadline)
    }

    /// The nearest value of type `T` set with `with_value` on this context
    /// or an ancestor (Go's `Value(key)`, with the type as the key).
    /// Example: see [`with_value`].
    pub fn value<T: Any + Send + Sync>(&self) -> Option<&T> {
        crate::task::register_thread();
        let mut node = self.node.as_ref();
        while let Some(n) = node {
            if let Some(v) = n.value.as_ref().and_then(|v| v.downcast_ref::<T>()) {
                return Some(v);
            }
            node = n.parent.as_ref();
        }
        None
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel").finish_non_exhaustive()
    }
}
