//! The errors channel operations return, each with a Display that reads
//! like Go's wording where Go has one.

use core::fmt;

/// [`send`](super::Chan::send) on a closed channel: the value comes back
/// (Go panics instead).
///
/// ```
/// use gort::chan::{Chan, SendError};
///
/// let ch = Chan::new(0);
/// ch.close();
/// let err = ch.send(7).unwrap_err();
/// assert_eq!(err, SendError(7));
/// assert_eq!(err.to_string(), "send on closed channel");
/// assert_eq!(err.into_inner(), 7);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// Why [`try_send`](super::Chan::try_send) did not send; the value comes
/// back either way.
///
/// ```
/// use gort::chan::{Chan, TrySendError};
///
/// let ch = Chan::new(0); // no receiver waits: full
/// let err = ch.try_send(1).unwrap_err();
/// assert!(err.is_full() && !err.is_closed());
/// assert_eq!(err.to_string(), "send on full channel");
/// assert_eq!(err.into_inner(), 1);
/// ch.close();
/// assert_eq!(ch.try_send(2), Err(TrySendError::Closed(2)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// No receiver is waiting and the buffer is full (or the channel is nil).
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// Why [`send_timeout`](super::Chan::send_timeout) did not send; the
/// value comes back either way.
///
/// ```
/// use gort::chan::{Chan, SendTimeoutError};
/// use std::time::Duration;
///
/// let ch = Chan::new(1);
/// ch.send(1).unwrap(); // now full
/// let err = ch.send_timeout(2, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SendTimeoutError::Timeout(2));
/// assert_eq!(err.to_string(), "timed out sending on channel");
/// ch.close();
/// let err = ch.send_timeout(3, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err.into_inner(), 3);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The timeout elapsed first.
    Timeout(T),
    /// The channel is closed.
    Closed(T),
}

/// Why [`try_recv`](super::Chan::try_recv) returned no value.
///
/// ```
/// use gort::chan::{Chan, TryRecvError};
///
/// let ch = Chan::<u8>::new(1);
/// let err = ch.try_recv().unwrap_err();
/// assert_eq!(err, TryRecvError::Empty);
/// assert_eq!(err.to_string(), "receive on empty channel");
/// ch.close();
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// Nothing to receive now (or the channel is nil).
    Empty,
    /// The channel is closed and drained.
    Closed,
}

/// Why [`recv_timeout`](super::Chan::recv_timeout) returned no value.
///
/// ```
/// use gort::chan::{Chan, RecvTimeoutError};
/// use std::time::Duration;
///
/// let ch = Chan::<u8>::new(0);
/// let err = ch.recv_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, RecvTimeoutError::Timeout);
/// assert_eq!(err.to_string(), "timed out receiving on channel");
/// ch.close();
/// assert_eq!(ch.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvTimeoutError {
    /// The timeout elapsed first.
    Timeout,
    /// The channel is closed and drained.
    Closed,
}

impl<T> SendError<T> {
    /// The value that was not sent. Example: see [`SendError`].
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TrySendError<T> {
    /// The value that was not sent. Example: see [`TrySendError`].
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
    /// Whether the channel was full. Example: see [`TrySendError`].
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
    /// Whether the channel was closed. Example: see [`TrySendError`].
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent. Example: see [`SendTimeoutError`].
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }
}

// Debug does not require `T: Debug`, like std's channel errors.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}
impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}
impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on closed channel")
    }
}
impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("send on full channel"),
            TrySendError::Closed(_) => f.write_str("send on closed channel"),
        }
    }
}
impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("timed out sending on channel"),
            SendTimeoutError::Closed(_) => f.write_str("send on closed channel"),
        }
    }
}
impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receive on empty channel"),
            TryRecvError::Closed => f.write_str("receive on closed channel"),
        }
    }
}
impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out receiving on channel"),
            RecvTimeoutError::Closed => f.write_str("receive on closed channel"),
        }
    }
}

impl<T> core::error::Error for SendError<T> {}
impl<T> core::error::Error for TrySendError<T> {}
impl<T> core::error::Error for SendTimeoutError<T> {}
impl core::error::Error for TryRecvError {}
impl core::error::Error for RecvTimeoutError {}
