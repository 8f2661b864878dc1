//! Go's channel directions: `chan<- T` is [`SendOnly<T>`], `<-chan T` is
//! [`RecvOnly<T>`]. Each is a `Chan<T>` handle that exposes one side, so a
//! function's signature says which way its values flow and the compiler
//! rejects the other operations (as Go's does). Both work in `select!`,
//! on their side only.
//!
//! A view is a full handle: it keeps the channel alive, and views of one
//! channel compare equal to each other's channel. Narrowing is one way:
//! nothing turns a view back into a `Chan<T>`.

use core::fmt;
use core::time::Duration;

use super::{
    Chan, Iter, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

/// Go's `chan<- T`: a handle that may only send (and close).
///
/// ```
/// use gort::chan::{Chan, SendOnly};
/// fn produce(out: SendOnly<u32>) {
///     for i in 0..3 {
///         out.send(i).unwrap();
///     }
///     out.close();
/// }
/// let ch = Chan::new(3);
/// produce(ch.send_only());
/// assert_eq!(ch.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub struct SendOnly<T>(Chan<T>);

/// Go's `<-chan T`: a handle that may only receive.
///
/// ```
/// use gort::chan::{Chan, RecvOnly};
/// fn total(input: RecvOnly<u32>) -> u32 {
///     input.iter().sum()
/// }
/// let ch = Chan::new(3);
/// for i in 1..=3 {
///     ch.send(i).unwrap();
/// }
/// ch.close();
/// assert_eq!(total(ch.recv_only()), 6);
/// ```
pub struct RecvOnly<T>(Chan<T>);

impl<T> Chan<T> {
    /// A send-only handle to this channel (Go's `chan<- T`).
    pub fn send_only(&self) -> SendOnly<T> {
        SendOnly(self.clone())
    }

    /// A receive-only handle to this channel (Go's `<-chan T`).
    pub fn recv_only(&self) -> RecvOnly<T> {
        RecvOnly(self.clone())
    }
}

impl<T> From<Chan<T>> for SendOnly<T> {
    fn from(chan: Chan<T>) -> Self {
        SendOnly(chan)
    }
}

impl<T> From<Chan<T>> for RecvOnly<T> {
    fn from(chan: Chan<T>) -> Self {
        RecvOnly(chan)
    }
}

impl<T> SendOnly<T> {
    /// [`Chan::send`].
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.0.send(value)
    }

    /// [`Chan::try_send`].
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.0.try_send(value)
    }

    /// [`Chan::send_timeout`].
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.0.send_timeout(value, timeout)
    }

    /// [`Chan::close`]: in Go too, the sending side closes.
    pub fn close(&self) {
        self.0.close()
    }
}

impl<T> RecvOnly<T> {
    /// [`Chan::recv`].
    pub fn recv(&self) -> Option<T> {
        self.0.recv()
    }

    /// [`Chan::try_recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }

    /// [`Chan::recv_timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.0.recv_timeout(timeout)
    }

    /// Receives until the channel is closed and drained (Go's `range`).
    pub fn iter(&self) -> Iter<'_, T> {
        self.0.iter()
    }
}

impl<'a, T> IntoIterator for &'a RecvOnly<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.0.iter()
    }
}

/// What both directions share: the channel's state, read-only.
macro_rules! shared_view_methods {
    ($view:ident) => {
        impl<T> $view<T> {
            /// [`Chan::len`].
            pub fn len(&self) -> usize {
                self.0.len()
            }
            /// [`Chan::is_empty`].
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
            /// [`Chan::cap`].
            pub fn cap(&self) -> usize {
                self.0.cap()
            }
            /// [`Chan::is_nil`].
            pub fn is_nil(&self) -> bool {
                self.0.is_nil()
            }
            /// [`Chan::is_closed`].
            pub fn is_closed(&self) -> bool {
                self.0.is_closed()
            }
        }

        impl<T> Clone for $view<T> {
            fn clone(&self) -> Self {
                $view(self.0.clone())
            }
        }

        impl<T> fmt::Debug for $view<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($view)).field(&self.0).finish()
            }
        }

        impl<T> PartialEq for $view<T> {
            /// The same channel (or both nil).
            fn eq(&self, other: &Self) -> bool {
                self.0 == other.0
            }
        }

        impl<T> Eq for $view<T> {}

        impl<T> PartialEq<Chan<T>> for $view<T> {
            /// Whether this views `other`.
            fn eq(&self, other: &Chan<T>) -> bool {
                self.0 == *other
            }
        }

        impl<T> core::panic::UnwindSafe for $view<T> {}
        impl<T> core::panic::RefUnwindSafe for $view<T> {}
    };
}

shared_view_methods!(SendOnly);
shared_view_methods!(RecvOnly);

/// Handles `select!`'s `recv` case accepts: `Chan<T>` and `RecvOnly<T>`.
pub trait CanRecv {
    /// The element type.
    type Item;
    /// The channel a receive goes to.
    #[doc(hidden)]
    fn chan_for_recv(&self) -> &Chan<Self::Item>;
}

/// Handles `select!`'s `send` case accepts: `Chan<T>` and `SendOnly<T>`.
pub trait CanSend {
    /// The element type.
    type Item;
    /// The channel a send goes to.
    #[doc(hidden)]
    fn chan_for_send(&self) -> &Chan<Self::Item>;
}

impl<T> CanRecv for Chan<T> {
    type Item = T;
    fn chan_for_recv(&self) -> &Chan<T> {
        self
    }
}

impl<T> CanRecv for RecvOnly<T> {
    type Item = T;
    fn chan_for_recv(&self) -> &Chan<T> {
        &self.0
    }
}

impl<T> CanSend for Chan<T> {
    type Item = T;
    fn chan_for_send(&self) -> &Chan<T> {
        self
    }
}

/// A borrowed handle works too (`fn f(out: &SendOnly<T>)` may
/// `select!` on `out`).
impl<C: CanRecv + ?Sized> CanRecv for &C {
    type Item = C::Item;
    fn chan_for_recv(&self) -> &Chan<C::Item> {
        (**self).chan_for_recv()
    }
}

impl<C: CanSend + ?Sized> CanSend for &C {
    type Item = C::Item;
    fn chan_for_send(&self) -> &Chan<C::Item> {
        (**self).chan_for_send()
    }
}

impl<T> CanSend for SendOnly<T> {
    type Item = T;
    fn chan_for_send(&self) -> &Chan<T> {
        &self.0
    }
}

/// The compiler holds the direction, in calls and in `select!`:
///
/// ```compile_fail
/// let ch = gort::chan::Chan::<u8>::new(1);
/// ch.recv_only().send(1).unwrap(); // no `send` on a receive-only view
/// ```
///
/// ```compile_fail
/// let ch = gort::chan::Chan::<u8>::new(1);
/// ch.recv_only().close(); // only the sending side closes
/// ```
///
/// ```compile_fail
/// let ch = gort::chan::Chan::<u8>::new(1);
/// let out = ch.send_only();
/// gort::select! { recv(out) -> _ => {} } // `SendOnly` is not `CanRecv`
/// ```
///
/// ```compile_fail
/// let ch = gort::chan::Chan::<u8>::new(1);
/// let input = ch.recv_only();
/// gort::select! { send(input, 1) -> _ => {} } // `RecvOnly` is not `CanSend`
/// ```
#[cfg(doctest)]
pub struct DirectionsAreChecked;
