//! `select!`: Go's `select` statement (documented on the macro). The
//! macro parses the cases into a list, builds them as `select::Case`s and
//! runs `select::run`; the chosen case's body then runs with its result.

/// Go's `select`: waits until one of several channel operations can
/// proceed, completes exactly that one and runs its body; among ready
/// cases one is chosen uniformly at random.
///
/// ```
/// use gort::chan::Chan;
/// use std::time::Duration;
/// let (a, b) = (Chan::new(1), Chan::<&str>::new(1));
/// a.send(1).unwrap();
/// gort::select! {
///     recv(a) -> v => assert_eq!(v, Some(1)),
///     send(b, "hi") -> res => res.unwrap(),
///     default(Duration::from_millis(10)) => unreachable!("a case is ready"),
/// }
/// ```
///
/// Cases: `recv(ch) -> pattern => body` (the pattern binds an `Option<T>`,
/// `None` once `ch` is closed and drained), `send(ch, value) -> pattern =>
/// body` (binds `Result<(), SendError<T>>`), and at most one of `default =>
/// body` (taken when no case is ready now) or `default(duration) => body`
/// (taken when none became ready within `duration`). `ch` is borrowed, not
/// moved; it may be a `Chan<T>`, a direction view (`RecvOnly<T>` for
/// `recv`, `SendOnly<T>` for `send`), a reference to one, or an expression
/// making one (`recv(ctx.done())`, `recv(gort::time::after(d))`), which
/// lives until the select ends. Every channel and value expression is
/// evaluated once, in order, before the select starts; the value of a send
/// case that is not chosen is dropped. With no cases and no default,
/// `select! {}` blocks forever, as in Go. A body is an expression followed
/// by a comma, or a block.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            @cases ()
            @default ()
            @indices (0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63)
            @rest ($($tokens)*)
        )
    };
}

/// `select!`'s parser: collects the cases in order, numbers them, and
/// finds the default.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // ---- recv ----
    (@cases ($($c:tt)*) @default $d:tt @indices ($i:tt $($is:tt)*)
     @rest (recv($ch:expr) -> $p:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@cases ($($c)* [$i (recv $ch) ($p) ($body)]) @default $d
            @indices ($($is)*) @rest ($($rest)*))
    };
    (@cases ($($c:tt)*) @default $d:tt @indices ($i:tt $($is:tt)*)
     @rest (recv($ch:expr) -> $p:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@cases ($($c)* [$i (recv $ch) ($p) ($body)]) @default $d
            @indices ($($is)*) @rest ($($rest)*))
    };
    (@cases ($($c:tt)*) @default $d:tt @indices ($i:tt $($is:tt)*)
     @rest (recv($ch:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?)) => {
        $crate::__select_parse!(@cases ($($c)* [$i (recv $ch) ($p) ($body)]) @default $d
            @indices ($($is)*) @rest ($($($rest)*)?))
    };
    // ---- send ----
    (@cases ($($c:tt)*) @default $d:tt @indices ($i:tt $($is:tt)*)
     @rest (send($ch:expr, $v:expr) -> $p:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@cases ($($c)* [$i (send $ch, $v) ($p) ($body)]) @default $d
            @indices ($($is)*) @rest ($($rest)*))
    };
    (@cases ($($c:tt)*) @default $d:tt @indices ($i:tt $($is:tt)*)
     @rest (send($ch:expr, $v:expr) -> $p:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@cases ($($c)* [$i (send $ch, $v) ($p) ($body)]) @default $d
            @indices ($($is)*) @rest ($($rest)*))
    };
    (@cases ($($c:tt)*) @default $d:tt @indices ($i:tt $($is:tt)*)
     @rest (send($ch:expr, $v:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?)) => {
        $crate::__select_parse!(@cases ($($c)* [$i (send $ch, $v) ($p) ($body)]) @default $d
            @indices ($($is)*) @rest ($($($rest)*)?))
    };
    // ---- default(timeout) ----
    (@cases $c:tt @default () @indices $is:tt
     @rest (default($t:expr) => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@cases $c @default ((Some($crate::chan::select::until($t))) ($body))
            @indices $is @rest ($($rest)*))
    };
    (@cases $c:tt @default () @indices $is:tt
     @rest (default($t:expr) => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@cases $c @default ((Some($crate::chan::select::until($t))) ($body))
            @indices $is @rest ($($rest)*))
    };
    (@cases $c:tt @default () @indices $is:tt
     @rest (default($t:expr) => $body:expr $(, $($rest:tt)*)?)) => {
        $crate::__select_parse!(@cases $c @default ((Some($crate::chan::select::until($t))) ($body))
            @indices $is @rest ($($($rest)*)?))
    };
    // ---- default ----
    (@cases $c:tt @default () @indices $is:tt
     @rest (default => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@cases $c @default ((None) ($body)) @indices $is @rest ($($rest)*))
    };
    (@cases $c:tt @default () @indices $is:tt
     @rest (default => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@cases $c @default ((None) ($body)) @indices $is @rest ($($rest)*))
    };
    (@cases $c:tt @default () @indices $is:tt
     @rest (default => $body:expr $(, $($rest:tt)*)?)) => {
        $crate::__select_parse!(@cases $c @default ((None) ($body)) @indices $is
            @rest ($($($rest)*)?))
    };
    // ---- errors ----
    (@cases $c:tt @default ($($d:tt)+) @indices $is:tt @rest (default $($rest:tt)*)) => {
        ::core::compile_error!("select!: more than one `default` case")
    };
    (@cases $c:tt @default $d:tt @indices () @rest ($($rest:tt)+)) => {
        ::core::compile_error!("select!: more than 64 cases")
    };
    (@cases $c:tt @default $d:tt @indices $is:tt @rest ($($rest:tt)+)) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(ch) -> v => ..`, `send(ch, value) -> res => ..`, ",
            "`default => ..` or `default(timeout) => ..`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };
    // ---- done: emit ----
    (@cases ($([$i:tt ($($op:tt)*) ($p:pat) ($body:expr)])*) @default $d:tt
     @indices $is:tt @rest ()) => {
        $crate::__select_emit!(($([$i ($($op)*) ($p) ($body)])*) $d)
    };
}

/// `select!`'s code: runs the select, then the chosen case's body.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    // Without default: block until a case completes.
    (($([$i:tt ($($op:tt)*) ($p:pat) ($body:expr)])*) ()) => {
        $crate::__select_emit!(@go ($([$i ($($op)*) ($p) ($body)])*)
            (Some($crate::chan::select::FOREVER)) ({
                ::core::unreachable!("select! without default always completes a case")
            }))
    };
    (($([$i:tt ($($op:tt)*) ($p:pat) ($body:expr)])*) (($block:expr) ($dbody:expr))) => {
        $crate::__select_emit!(@go ($([$i ($($op)*) ($p) ($body)])*) ($block) ($dbody))
    };
    // The cases are built in a `match` scrutinee so that temporaries in
    // the channel expressions (`recv(ctx.done())`, `recv(time::after(d))`)
    // live until the select is over.
    (@go ($([$i:tt ($($op:tt)*) ($p:pat) ($body:expr)])*) ($block:expr) ($dbody:expr)) => {
        match ($($crate::__select_case!($($op)*),)*) {
            #[allow(unused_mut)]
            mut __cases => {
                let __chosen = $crate::chan::select::run(
                    &mut [$(&mut __cases.$i as &mut dyn $crate::chan::select::Case),*],
                    $block,
                );
                $(
                    if __chosen == ::core::option::Option::Some($i) {
                        let $p = __cases.$i.take();
                        $body
                    } else
                )* {
                    let _ = &mut __cases;
                    $dbody
                }
            }
        }
    };
}

/// One `select!` case as a `chan::select::Case` value.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_case {
    (recv $ch:expr) => {
        $crate::chan::select::RecvCase::new(&$ch)
    };
    (send $ch:expr, $v:expr) => {
        $crate::chan::select::SendCase::new(&$ch, $v)
    };
}
