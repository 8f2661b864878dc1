//! `#[gort::main]`: runs `fn main`'s body as the program's main goroutine.
//! Use it through gort (`#[gort::main]`), which re-exports it.
//!
//! The transform, on tokens alone (no parser crate):
//!
//! ```text
//! #[gort::main(ARGS)] ATTRS VIS fn main() -> T { BODY }
//! ```
//!
//! becomes
//!
//! ```text
//! ATTRS VIS fn main() -> ::std::process::ExitCode {
//!     fn main() -> T { BODY }
//!     ::gort::main(|| ::std::process::Termination::report(main()))
//!     // with ARGS: ::gort::__main_with(BUILDER, || ..), BUILDER a gort::Builder
//! }
//! ```
//!
//! Invariants: the user's function is kept whole as an inner item (its
//! body, return type, `?` and `return` mean what they meant), so the only
//! code the macro writes is the call; `T` is reported (`Termination`)
//! inside the goroutine, so it need not be `Send` (`Box<dyn Error>` is
//! not). Anything the transform does not understand is a compile error
//! pointing at it, never a silent rewrite.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs `fn main`'s body as the main goroutine (Go's goroutine 1) of the
/// default runtime, as `gort::main(|| body)` does: the program ends when
/// it returns, its panic prints Go's report and exits with status 2, and
/// the deadlock report counts it.
///
/// `main` may return any `std::process::Termination` type, as Rust's
/// `main` does: `Result<(), E>` exits with status 1 on `Err`.
///
/// Arguments (optional): `scheduler = "mn"` or `"threads"`, `workers = N`;
/// they override `GORT_SCHEDULER` and `GOMAXPROCS`.
///
/// ```standalone_crate
/// #[gort::main(scheduler = "threads", workers = 2)]
/// fn main() -> Result<(), std::num::ParseIntError> {
///     assert_eq!(gort::gomaxprocs(), 2);
///     let n: u32 = "21".parse()?;
///     assert_eq!(gort::spawn(move || n * 2).join().unwrap(), 42);
///     Ok(())
/// }
/// ```
///
/// Misuse is a compile error:
///
/// ```compile_fail
/// #[gort::main]
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[gort::main]
/// fn main(args: Vec<String>) {}
/// ```
///
/// ```compile_fail
/// #[gort::main]
/// fn start() {}
/// fn main() {}
/// ```
///
/// ```compile_fail
/// #[gort::main(scheduler = "green")]
/// fn main() {}
/// ```
///
/// ```compile_fail
/// #[gort::main(workers = 0)]
/// fn main() {}
/// ```
///
/// ```compile_fail
/// #[gort::main(stack = 1)]
/// fn main() {}
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let builder = match parse_args(args) {
        Ok(builder) => builder,
        Err(e) => return e.into_tokens(),
    };
    match parse_main(item) {
        Ok(f) => expand(f, builder),
        Err(e) => e.into_tokens(),
    }
}

/// A compile error at a span.
struct Error {
    span: Span,
    msg: String,
}

fn error<T>(span: Span, msg: impl Into<String>) -> Result<T, Error> {
    Err(Error {
        span,
        msg: msg.into(),
    })
}

impl Error {
    /// `::core::compile_error!("msg");` with every token at the span, so
    /// the compiler points at the offending code.
    fn into_tokens(self) -> TokenStream {
        let mut msg = Literal::string(&format!("#[gort::main]: {}", self.msg));
        msg.set_span(self.span);
        let mut body = Group::new(
            Delimiter::Parenthesis,
            TokenStream::from(TokenTree::from(msg)),
        );
        body.set_span(self.span);
        let tokens: Vec<TokenTree> = vec![
            punct(':', Spacing::Joint),
            punct(':', Spacing::Alone),
            Ident::new("core", self.span).into(),
            punct(':', Spacing::Joint),
            punct(':', Spacing::Alone),
            Ident::new("compile_error", self.span).into(),
            punct('!', Spacing::Alone),
            body.into(),
            punct(';', Spacing::Alone),
        ];
        tokens
            .into_iter()
            .map(|mut t| {
                t.set_span(self.span);
                t
            })
            .collect()
    }
}

fn punct(c: char, spacing: Spacing) -> TokenTree {
    Punct::new(c, spacing).into()
}

fn is_punct(t: &TokenTree, c: char) -> bool {
    matches!(t, TokenTree::Punct(p) if p.as_char() == c)
}

fn is_ident(t: &TokenTree, name: &str) -> bool {
    matches!(t, TokenTree::Ident(i) if i.to_string() == name)
}

/// The attribute's arguments as the `gort::Builder` expression to run on
/// (none without arguments: then the default runtime, from the
/// environment).
fn parse_args(args: TokenStream) -> Result<Option<TokenStream>, Error> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut builder: TokenStream = "::gort::Builder::new()".parse().unwrap();
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    let (mut scheduler_seen, mut workers_seen) = (false, false);
    for arg in tokens.split(|t| is_punct(t, ',')) {
        let [key, eq, value] = arg else {
            if let Some(first) = arg.first() {
                return error(
                    first.span(),
                    "expected `scheduler = \"mn\" | \"threads\"` or `workers = N`",
                );
            }
            continue; // a trailing comma
        };
        if !is_punct(eq, '=') {
            return error(eq.span(), "expected `=`");
        }
        let TokenTree::Literal(lit) = value else {
            return error(value.span(), "expected a literal");
        };
        let text = lit.to_string();
        let call = match key.to_string().as_str() {
            "scheduler" if !scheduler_seen => {
                scheduler_seen = true;
                match text.as_str() {
                    "\"mn\"" | "\"MN\"" => "scheduler(::gort::Scheduler::MN)".to_string(),
                    "\"threads\"" => "scheduler(::gort::Scheduler::Threads)".to_string(),
                    _ => {
                        return error(
                            lit.span(),
                            format!("unknown scheduler {text}: expected \"mn\" or \"threads\""),
                        );
                    }
                }
            }
            "workers" if !workers_seen => {
                workers_seen = true;
                match text.parse::<usize>() {
                    Ok(n) if n > 0 => format!("workers({n})"),
                    _ => {
                        return error(
                            lit.span(),
                            format!("workers = {text}: expected a whole number above 0"),
                        );
                    }
                }
            }
            "scheduler" | "workers" => return error(key.span(), format!("`{key}` given twice")),
            _ => {
                return error(
                    key.span(),
                    format!("unknown argument `{key}`: expected `scheduler` or `workers`"),
                );
            }
        };
        builder.extend(std::iter::once(punct('.', Spacing::Alone)));
        builder.extend(call.parse::<TokenStream>().unwrap());
    }
    Ok(Some(builder))
}

/// `fn main`, split where the transform needs it.
struct MainFn {
    /// Outer attributes and visibility: kept on the outer function.
    outer: Vec<TokenTree>,
    /// `fn main() -> T { body }`: becomes the inner item.
    function: Vec<TokenTree>,
    /// The span of `main`, for the code the macro writes.
    name_span: Span,
}

fn parse_main(item: TokenStream) -> Result<MainFn, Error> {
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let Some(fn_at) = tokens.iter().position(|t| is_ident(t, "fn")) else {
        return error(Span::call_site(), "expected `fn main() { .. }`");
    };
    // Before `fn`: outer attributes (`#` `[..]`), then a visibility.
    let mut i = 0;
    while i < fn_at {
        match &tokens[i] {
            t if is_punct(t, '#') => i += 2,
            t if is_ident(t, "pub") => {
                i += 1;
                if matches!(&tokens.get(i), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
                {
                    i += 1;
                }
            }
            t if is_ident(t, "async") => {
                return error(
                    t.span(),
                    "`async fn main` is not supported: main is a goroutine, which \
                     blocks where async code awaits; write a plain `fn main`",
                );
            }
            t => return error(t.span(), format!("`{t}` is not supported on main")),
        }
    }
    let name = tokens.get(fn_at + 1);
    let name_span = match name {
        Some(t @ TokenTree::Ident(_)) if is_ident(t, "main") => t.span(),
        Some(t) => {
            return error(
                t.span(),
                format!(
                    "goes on `fn main`, not `fn {t}` (use `gort::spawn` or `Runtime::run` for other functions)"
                ),
            );
        }
        None => return error(tokens[fn_at].span(), "expected `fn main`"),
    };
    match tokens.get(fn_at + 2) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            if !g.stream().is_empty() {
                return error(
                    g.span(),
                    "`main` takes no arguments (read them with `std::env::args`)",
                );
            }
        }
        Some(t) if is_punct(t, '<') => return error(t.span(), "`main` cannot be generic"),
        Some(t) => return error(t.span(), "expected `()`"),
        None => return error(name_span, "expected `()`"),
    }
    match tokens.last() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {}
        Some(t) => return error(t.span(), "expected the body of `main`"),
        None => return error(name_span, "expected the body of `main`"),
    }
    if let Some(w) = tokens[fn_at + 3..].iter().find(|t| is_ident(t, "where")) {
        return error(w.span(), "`main` cannot have a `where` clause");
    }
    let mut tokens = tokens;
    let function = tokens.split_off(fn_at);
    Ok(MainFn {
        outer: tokens,
        function,
        name_span,
    })
}

fn expand(f: MainFn, builder: Option<TokenStream>) -> TokenStream {
    let span = f.name_span;
    let mut out: TokenStream = f.outer.into_iter().collect();
    let signature: TokenStream = "fn main() -> ::std::process::ExitCode".parse().unwrap();
    out.extend(respan(signature, span));
    let mut body: TokenStream = f.function.into_iter().collect();
    let report = "|| ::std::process::Termination::report(main())";
    let call: TokenStream = match builder {
        None => format!("::gort::main({report})"),
        Some(builder) => format!("::gort::__main_with({builder}, {report})"),
    }
    .parse()
    .unwrap();
    body.extend(respan(call, span));
    out.extend(std::iter::once(TokenTree::from(Group::new(
        Delimiter::Brace,
        body,
    ))));
    out
}

/// Gives the macro's own tokens the span of `main` (errors and
/// backtraces point there).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => {
                let mut inner = Group::new(g.delimiter(), respan(g.stream(), span));
                inner.set_span(span);
                TokenTree::Group(inner)
            }
            mut t => {
                t.set_span(span);
                t
            }
        })
        .collect()
}
