//! Channel family: crossbeam-channel's benchmark suite (its `benchmarks/`
//! folder, the same workloads as its Go and flume versions), plus an
//! unbuffered ping-pong.
//!
//! Shapes, each at three capacities: `bounded0` (unbuffered: every send
//! meets a receive), `bounded1`, and `boundedN` (capacity = `messages`, so
//! senders never block):
//! - `seq`: one party sends and receives on one channel. With capacity N it
//!   sends everything, then receives everything (crossbeam's `seq`); with
//!   capacity 1 it alternates send and receive. Not run unbuffered (a lone
//!   party would block forever), as crossbeam does not.
//! - `spsc`: one producer, one consumer.
//! - `mpsc`: `threads` producers, one consumer.
//! - `mpmc`: `threads` producers, `threads` consumers.
//! - `select_rx`: 4 channels, one producer on each; one consumer receives
//!   `messages` times through a select over the 4.
//! - `select_both`: 4 channels; `threads` producers each send through a
//!   select over the 4 channels, `threads` consumers each receive through
//!   a select over the 4.
//! - `pingpong`: two parties bounce a value over two unbuffered channels.
//!
//! Every producer/consumer is its own party: a gort goroutine
//! (`gort::spawn`) for gort, a `std::thread` for the peers; parties start
//! together and channel creation is outside the measurement. Producers send
//! distinct values (together exactly `0..messages`), consumers return the
//! sum of what they received, and a run whose sums do not add up fails.
//! Messages are `u64`, like crossbeam's one-word `Message`.
//!
//! Peers: crossbeam-channel, flume, kanal, `std::sync::mpsc`'s
//! `sync_channel`, and (capacity-N rows and ping-pong only: it has no
//! bounded channel) may's channels on may coroutines. Where a peer lacks the operation it is listed as `n/a`:
//! kanal and std have no select, std's receiver has a single consumer, and
//! flume's `Selector` hangs in `select_both` (see `FLUME_SELECT_HANGS`).

use std::array;

use crate::harness::{Party, PartyResult, check, timed_goroutines, timed_os_threads};
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// The select workloads use this many channels (crossbeam: `THREADS`).
const SELECT_CHANS: usize = 4;

/// A channel implementation plus the way its parties run.
trait Flavor: 'static {
    /// Label for the plain workloads.
    const LABEL: &'static str;
    type Tx: Clone + Send + 'static;
    type Rx: Send + 'static;
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    /// Sends; a closed channel is a bug in the run: panic.
    fn send(tx: &Self::Tx, v: u64);
    /// Receives; a closed channel is a bug in the run: panic.
    fn recv(rx: &Self::Rx) -> u64;
    /// Starts the parties together and times them.
    fn start(parties: Vec<Party>) -> PartyResult;
}

/// Implementations with a select over channel operations.
trait SelectFlavor: Flavor {
    /// Label for the select workloads.
    const SELECT_LABEL: &'static str;
    /// Receives from whichever of the channels is ready.
    fn select_recv(rx: &[Self::Rx; SELECT_CHANS]) -> u64;
    /// Sends `v` to whichever of the channels is ready.
    fn select_send(tx: &[Self::Tx; SELECT_CHANS], v: u64);
}

struct Gort;

impl Flavor for Gort {
    const LABEL: &'static str = "gort::chan::Chan + gort::spawn goroutines";
    type Tx = gort::chan::Chan<u64>;
    type Rx = gort::chan::Chan<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        let c = gort::chan::Chan::new(cap);
        (c.clone(), c)
    }
    #[inline]
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).expect("gort send: channel closed");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("gort recv: channel closed")
    }
    fn start(parties: Vec<Party>) -> PartyResult {
        timed_goroutines(parties)
    }
}

impl SelectFlavor for Gort {
    const SELECT_LABEL: &'static str = "gort::select! + gort::spawn goroutines";
    #[inline]
    fn select_recv(rx: &[Self::Rx; SELECT_CHANS]) -> u64 {
        let v = gort::select! {
            recv(rx[0]) -> v => v,
            recv(rx[1]) -> v => v,
            recv(rx[2]) -> v => v,
            recv(rx[3]) -> v => v,
        };
        v.expect("gort select recv: channel closed")
    }
    #[inline]
    fn select_send(tx: &[Self::Tx; SELECT_CHANS], v: u64) {
        let r = gort::select! {
            send(tx[0], v) -> r => r,
            send(tx[1], v) -> r => r,
            send(tx[2], v) -> r => r,
            send(tx[3], v) -> r => r,
        };
        r.expect("gort select send: channel closed");
    }
}

struct Crossbeam;

impl Flavor for Crossbeam {
    const LABEL: &'static str = "crossbeam_channel::bounded + std::thread";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(cap)
    }
    #[inline]
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).expect("crossbeam send: disconnected");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("crossbeam recv: disconnected")
    }
    fn start(parties: Vec<Party>) -> PartyResult {
        timed_os_threads(parties)
    }
}

impl SelectFlavor for Crossbeam {
    const SELECT_LABEL: &'static str = "crossbeam_channel::select! + std::thread";
    #[inline]
    fn select_recv(rx: &[Self::Rx; SELECT_CHANS]) -> u64 {
        let v = crossbeam_channel::select! {
            recv(rx[0]) -> v => v,
            recv(rx[1]) -> v => v,
            recv(rx[2]) -> v => v,
            recv(rx[3]) -> v => v,
        };
        v.expect("crossbeam select recv: disconnected")
    }
    #[inline]
    fn select_send(tx: &[Self::Tx; SELECT_CHANS], v: u64) {
        let r = crossbeam_channel::select! {
            send(tx[0], v) -> r => r,
            send(tx[1], v) -> r => r,
            send(tx[2], v) -> r => r,
            send(tx[3], v) -> r => r,
        };
        r.expect("crossbeam select send: disconnected");
    }
}

struct Flume;

impl Flavor for Flume {
    const LABEL: &'static str = "flume::bounded + std::thread";
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(cap)
    }
    #[inline]
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).expect("flume send: disconnected");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("flume recv: disconnected")
    }
    fn start(parties: Vec<Party>) -> PartyResult {
        timed_os_threads(parties)
    }
}

impl SelectFlavor for Flume {
    const SELECT_LABEL: &'static str = "flume::Selector + std::thread";
    #[inline]
    fn select_recv(rx: &[Self::Rx; SELECT_CHANS]) -> u64 {
        let v = flume::Selector::new()
            .recv(&rx[0], |v| v)
            .recv(&rx[1], |v| v)
            .recv(&rx[2], |v| v)
            .recv(&rx[3], |v| v)
            .wait();
        v.expect("flume select recv: disconnected")
    }
    #[inline]
    fn select_send(tx: &[Self::Tx; SELECT_CHANS], v: u64) {
        let r = flume::Selector::new()
            .send(&tx[0], v, |r| r)
            .send(&tx[1], v, |r| r)
            .send(&tx[2], v, |r| r)
            .send(&tx[3], v, |r| r)
            .wait();
        r.expect("flume select send: disconnected");
    }
}

/// may's own channel between may coroutines. may has no bounded
/// channel, so it joins only the `boundedN` rows, where the capacity holds
/// every message and a bounded channel never blocks a sender either.
struct May;

impl Flavor for May {
    const LABEL: &'static str = "may::sync::mpmc (unbounded) + may::go! coroutines";
    type Tx = may::sync::mpmc::Sender<u64>;
    type Rx = may::sync::mpmc::Receiver<u64>;
    fn new(_cap: usize) -> (Self::Tx, Self::Rx) {
        may::sync::mpmc::channel()
    }
    #[inline]
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).expect("may send: disconnected");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("may recv: disconnected")
    }
    fn start(parties: Vec<Party>) -> PartyResult {
        crate::may_peer::timed_coroutines(parties)
    }
}

struct Kanal;

impl Flavor for Kanal {
    const LABEL: &'static str = "kanal::bounded + std::thread";
    type Tx = kanal::Sender<u64>;
    type Rx = kanal::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        kanal::bounded(cap)
    }
    #[inline]
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).expect("kanal send: closed");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("kanal recv: closed")
    }
    fn start(parties: Vec<Party>) -> PartyResult {
        timed_os_threads(parties)
    }
}

struct Std;

impl Flavor for Std {
    const LABEL: &'static str = "std::sync::mpsc::sync_channel + std::thread";
    type Tx = std::sync::mpsc::SyncSender<u64>;
    type Rx = std::sync::mpsc::Receiver<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        std::sync::mpsc::sync_channel(cap)
    }
    #[inline]
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).expect("std send: disconnected");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("std recv: disconnected")
    }
    fn start(parties: Vec<Party>) -> PartyResult {
        timed_os_threads(parties)
    }
}

/// 0 + 1 + ... + (n - 1): what the consumers' sums must add up to.
fn sum_below(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Starts the parties, then checks that their checksums add up to
/// `0 + 1 + ... + (messages - 1)`.
fn finish<F: Flavor>(parties: Vec<Party>, messages: usize) -> RunResult {
    let (elapsed, sums) = F::start(parties)?;
    check(
        "sum of received values",
        sums.iter().sum(),
        sum_below(messages as u64),
    )?;
    Ok(elapsed)
}

/// `threads` (a divisor of `messages`) and `messages / threads`.
fn split(p: &Params, threads: usize) -> Result<usize, String> {
    let messages = p.n("messages");
    if threads == 0 || !messages.is_multiple_of(threads) {
        return Err(format!("messages={messages} not a multiple of {threads}"));
    }
    Ok(messages / threads)
}

/// A producer sending `first..first + count`.
fn producer<F: Flavor>(tx: F::Tx, first: u64, count: usize) -> Party {
    Box::new(move || {
        for v in first..first + count as u64 {
            F::send(&tx, v);
        }
        0
    })
}

/// A consumer receiving `count` values; returns their sum.
fn consumer<F: Flavor>(rx: F::Rx, count: usize) -> Party {
    Box::new(move || {
        let mut sum = 0u64;
        for _ in 0..count {
            sum += F::recv(&rx);
        }
        sum
    })
}

fn seq<F: Flavor>(p: &Params) -> RunResult {
    let (messages, cap) = (p.n("messages"), p.n("cap"));
    if cap == 0 {
        return Err("seq needs a buffer (cap >= 1)".into());
    }
    let (tx, rx) = F::new(cap);
    let party: Party = Box::new(move || {
        let mut sum = 0u64;
        let mut next = 0;
        while next < messages {
            let end = (next + cap).min(messages);
            for v in next..end {
                F::send(&tx, v as u64);
            }
            for _ in next..end {
                sum += F::recv(&rx);
            }
            next = end;
        }
        sum
    });
    finish::<F>(vec![party], messages)
}

fn spsc<F: Flavor>(p: &Params) -> RunResult {
    let messages = p.n("messages");
    let (tx, rx) = F::new(p.n("cap"));
    let parties = vec![producer::<F>(tx, 0, messages), consumer::<F>(rx, messages)];
    finish::<F>(parties, messages)
}

fn mpsc<F: Flavor>(p: &Params) -> RunResult {
    let (messages, threads) = (p.n("messages"), p.n("threads"));
    let per = split(p, threads)?;
    let (tx, rx) = F::new(p.n("cap"));
    let mut parties: Vec<Party> = (0..threads)
        .map(|t| producer::<F>(tx.clone(), (t * per) as u64, per))
        .collect();
    parties.push(consumer::<F>(rx, messages));
    finish::<F>(parties, messages)
}

fn mpmc<F: Flavor>(p: &Params) -> RunResult
where
    F::Rx: Clone,
{
    let (messages, threads) = (p.n("messages"), p.n("threads"));
    let per = split(p, threads)?;
    let (tx, rx) = F::new(p.n("cap"));
    let mut parties: Vec<Party> = (0..threads)
        .map(|t| producer::<F>(tx.clone(), (t * per) as u64, per))
        .collect();
    parties.extend((0..threads).map(|_| consumer::<F>(rx.clone(), per)));
    finish::<F>(parties, messages)
}

/// The 4 channels of a select workload, split into senders and receivers.
fn select_chans<F: Flavor>(cap: usize) -> ([F::Tx; SELECT_CHANS], [F::Rx; SELECT_CHANS]) {
    let mut rxs = Vec::with_capacity(SELECT_CHANS);
    let txs = array::from_fn(|_| {
        let (tx, rx) = F::new(cap);
        rxs.push(rx);
        tx
    });
    let Ok(rxs) = rxs.try_into() else {
        unreachable!("one receiver per channel")
    };
    (txs, rxs)
}

fn select_rx<F: SelectFlavor>(p: &Params) -> RunResult {
    let messages = p.n("messages");
    let per = split(p, SELECT_CHANS)?;
    let (txs, rxs) = select_chans::<F>(p.n("cap"));
    // The consumer holds a sender of every channel until it is done: in
    // crossbeam and flume a channel whose senders are all gone counts as
    // "ready" (disconnected) in a select. Go has no such state, and
    // crossbeam's benchmark keeps every channel alive the same way.
    let keep_open = txs.clone();
    let mut parties: Vec<Party> = txs
        .into_iter()
        .enumerate()
        .map(|(k, tx)| producer::<F>(tx, (k * per) as u64, per))
        .collect();
    parties.push(Box::new(move || {
        let mut sum = 0u64;
        for _ in 0..messages {
            sum += F::select_recv(&rxs);
        }
        drop(keep_open);
        sum
    }));
    finish::<F>(parties, messages)
}

fn select_both<F: SelectFlavor>(p: &Params) -> RunResult
where
    F::Rx: Clone,
{
    let (messages, threads) = (p.n("messages"), p.n("threads"));
    let per = split(p, threads)?;
    let (txs, rxs) = select_chans::<F>(p.n("cap"));
    // Every party holds both ends of every channel until it is done, so
    // no channel is ever disconnected while in use (see `select_rx`).
    let mut parties: Vec<Party> = (0..threads)
        .map(|t| {
            let (txs, keep_open) = (txs.clone(), rxs.clone());
            let first = (t * per) as u64;
            Box::new(move || {
                for v in first..first + per as u64 {
                    F::select_send(&txs, v);
                }
                drop(keep_open);
                0u64
            }) as Party
        })
        .collect();
    parties.extend((0..threads).map(|_| {
        let (rxs, keep_open) = (rxs.clone(), txs.clone());
        Box::new(move || {
            let mut sum = 0u64;
            for _ in 0..per {
                sum += F::select_recv(&rxs);
            }
            drop(keep_open);
            sum
        }) as Party
    }));
    drop((txs, rxs));
    finish::<F>(parties, messages)
}

fn pingpong<F: Flavor>(p: &Params) -> RunResult {
    let trips = p.n("round_trips");
    let (ping_tx, ping_rx) = F::new(0);
    let (pong_tx, pong_rx) = F::new(0);
    let ping: Party = Box::new(move || {
        let mut sum = 0u64;
        for v in 0..trips as u64 {
            F::send(&ping_tx, v);
            // The next send depends on this receive, as in crossbeam's.
            sum += F::recv(&pong_rx);
        }
        sum
    });
    let pong: Party = Box::new(move || {
        for _ in 0..trips {
            let v = F::recv(&ping_rx);
            F::send(&pong_tx, v);
        }
        0
    });
    finish::<F>(vec![ping, pong], trips)
}

/// may: two coroutines over may's channels (unbounded: may has no
/// rendezvous channel, but a ping-pong keeps at most one value in each).
fn pingpong_may(p: &Params) -> RunResult {
    let trips = p.n("round_trips");
    let (ping_tx, ping_rx) = may::sync::mpsc::channel::<u64>();
    let (pong_tx, pong_rx) = may::sync::mpsc::channel::<u64>();
    let (elapsed, sum) = crate::may_peer::in_coroutine(move || {
        let start = std::time::Instant::now();
        let pong = may::go!(move || {
            for _ in 0..trips {
                let v = ping_rx.recv().expect("may recv: disconnected");
                pong_tx.send(v).expect("may send: disconnected");
            }
        });
        let mut sum = 0u64;
        for v in 0..trips as u64 {
            ping_tx.send(v).expect("may send: disconnected");
            sum += pong_rx.recv().expect("may recv: disconnected");
        }
        pong.join().expect("may pong coroutine panicked");
        (start.elapsed(), sum)
    });
    check("sum of received values", sum, sum_below(trips as u64))?;
    Ok(elapsed)
}

const NO_SELECT_KANAL: &str = "kanal has no select";
const NO_SELECT_STD: &str = "std::sync::mpsc has no select";
const NO_MPMC_STD: &str = "std::sync::mpsc::Receiver has one consumer (not Clone)";

type RunFn = fn(&Params) -> RunResult;

/// The contenders of a plain workload: gort, crossbeam, flume, kanal, and
/// std's run or the reason it has none.
fn plain(run: [RunFn; 4], std: Result<RunFn, &'static str>) -> Vec<Contender> {
    let [g, c, f, k] = run;
    vec![
        Contender::gort("gort", Gort::LABEL, g),
        Contender::peer("crossbeam", Crossbeam::LABEL, c),
        Contender::peer("flume", Flume::LABEL, f),
        Contender::peer("kanal", Kanal::LABEL, k),
        match std {
            Ok(s) => Contender::peer("std", Std::LABEL, s),
            Err(why) => Contender::unsupported("std", Std::LABEL, why),
        },
    ]
}

/// flume 0.12's `Selector` loses wake-ups when several threads select on
/// receiving from the same channels: `select_both` hangs at every capacity
/// (reproduced outside this suite too; their issue #44 describes it), so
/// it is not run there.
const FLUME_SELECT_HANGS: &str =
    "flume's Selector hangs with several selecting receivers (flume issue #44)";

/// The contenders of a select workload; `flume: None` leaves flume out.
fn select_contenders(gort: RunFn, crossbeam: RunFn, flume: Option<RunFn>) -> Vec<Contender> {
    vec![
        Contender::gort("gort", Gort::SELECT_LABEL, gort),
        Contender::peer("crossbeam", Crossbeam::SELECT_LABEL, crossbeam),
        match flume {
            Some(f) => Contender::peer("flume", Flume::SELECT_LABEL, f),
            None => Contender::unsupported("flume", Flume::SELECT_LABEL, FLUME_SELECT_HANGS),
        },
        Contender::unsupported("kanal", Kanal::LABEL, NO_SELECT_KANAL),
        Contender::unsupported("std", Std::LABEL, NO_SELECT_STD),
    ]
}

/// Messages per run: crossbeam's 5,000,000 at full size. Quick runs use
/// fewer, and fewer still where peers take microseconds per message
/// (unbuffered, and capacity 1 where std and flume sleep on every message),
/// so the whole quick suite takes about a minute on 2 CPUs.
const FULL_MESSAGES: u64 = 5_000_000;
const QUICK_MESSAGES: u64 = 200_000;
const QUICK_MESSAGES_BOUNDED1: u64 = 100_000;
const QUICK_MESSAGES_BOUNDED0: u64 = 40_000;
const THREADS: u64 = 4;

/// The three capacities: name suffix, and (full, quick) `cap` for a given
/// (full, quick) message count.
#[derive(Clone, Copy)]
enum Cap {
    Zero,
    One,
    N,
}

impl Cap {
    fn suffix(self) -> &'static str {
        match self {
            Cap::Zero => "bounded0",
            Cap::One => "bounded1",
            Cap::N => "boundedN",
        }
    }

    fn sizes(self, with_threads: bool) -> (Params, Params) {
        let (full_m, quick_m) = match self {
            Cap::Zero => (FULL_MESSAGES, QUICK_MESSAGES_BOUNDED0),
            Cap::One => (FULL_MESSAGES, QUICK_MESSAGES_BOUNDED1),
            Cap::N => (FULL_MESSAGES, QUICK_MESSAGES),
        };
        let cap = |m: u64| match self {
            Cap::Zero => 0,
            Cap::One => 1,
            Cap::N => m,
        };
        let params = |m: u64| {
            let mut pairs = vec![("messages", m), ("cap", cap(m))];
            if with_threads {
                pairs.push(("threads", THREADS));
            }
            Params::new(&pairs)
        };
        (params(full_m), params(quick_m))
    }
}

/// Builds the workload `chan_<shape>_<cap suffix>`. Names must be
/// `'static`; the few combinations are leaked once at registry time.
fn workload(
    shape: &str,
    cap: Cap,
    with_threads: bool,
    about: &'static str,
    contenders: Vec<Contender>,
) -> Workload {
    let (full, quick) = cap.sizes(with_threads);
    Workload {
        name: Box::leak(format!("chan_{shape}_{}", cap.suffix()).into_boxed_str()),
        family: "chan",
        about,
        full,
        quick,
        ops: |p| p.get("messages"),
        unit: Unit::Seconds,
        also: &[],
        contenders,
    }
}

pub fn workloads() -> Vec<Workload> {
    use Cap::{N, One, Zero};
    let mut all = Vec::new();
    // may has only unbounded channels: it joins the capacity-N rows.
    let with_may = |cap: Cap, mut cs: Vec<Contender>, run: RunFn| {
        if matches!(cap, N) {
            cs.push(Contender::peer("may", May::LABEL, run));
        }
        cs
    };
    for cap in [One, N] {
        all.push(workload(
            "seq",
            cap,
            false,
            "one party: send up to cap messages, receive them, repeat (cap N: all, then all)",
            with_may(
                cap,
                plain(
                    [seq::<Gort>, seq::<Crossbeam>, seq::<Flume>, seq::<Kanal>],
                    Ok(seq::<Std>),
                ),
                seq::<May>,
            ),
        ));
    }
    for cap in [Zero, One, N] {
        all.push(workload(
            "spsc",
            cap,
            false,
            "1 producer sends messages, 1 consumer receives them",
            with_may(
                cap,
                plain(
                    [
                        spsc::<Gort>,
                        spsc::<Crossbeam>,
                        spsc::<Flume>,
                        spsc::<Kanal>,
                    ],
                    Ok(spsc::<Std>),
                ),
                spsc::<May>,
            ),
        ));
        all.push(workload(
            "mpsc",
            cap,
            true,
            "threads producers send messages/threads each, 1 consumer receives all",
            with_may(
                cap,
                plain(
                    [
                        mpsc::<Gort>,
                        mpsc::<Crossbeam>,
                        mpsc::<Flume>,
                        mpsc::<Kanal>,
                    ],
                    Ok(mpsc::<Std>),
                ),
                mpsc::<May>,
            ),
        ));
        all.push(workload(
            "mpmc",
            cap,
            true,
            "threads producers, threads consumers, messages/threads each, one channel",
            with_may(
                cap,
                plain(
                    [
                        mpmc::<Gort>,
                        mpmc::<Crossbeam>,
                        mpmc::<Flume>,
                        mpmc::<Kanal>,
                    ],
                    Err(NO_MPMC_STD),
                ),
                mpmc::<May>,
            ),
        ));
        all.push(workload(
            "select_rx",
            cap,
            false,
            "4 channels, a producer on each; 1 consumer receives all through select",
            select_contenders(
                select_rx::<Gort>,
                select_rx::<Crossbeam>,
                Some(select_rx::<Flume>),
            ),
        ));
        all.push(workload(
            "select_both",
            cap,
            true,
            "4 channels; threads producers send and threads consumers receive, all through select",
            select_contenders(select_both::<Gort>, select_both::<Crossbeam>, None),
        ));
    }
    all.push(Workload {
        name: "chan_pingpong",
        family: "chan",
        about: "2 parties bounce a value over 2 unbuffered channels (round_trips send+recv each)",
        full: Params::new(&[("round_trips", 1_000_000)]),
        quick: Params::new(&[("round_trips", 40_000)]),
        ops: |p| p.get("round_trips"),
        unit: Unit::Seconds,
        also: &[],
        contenders: {
            let mut c = plain(
                [
                    pingpong::<Gort>,
                    pingpong::<Crossbeam>,
                    pingpong::<Flume>,
                    pingpong::<Kanal>,
                ],
                Ok(pingpong::<Std>),
            );
            c.push(Contender::peer(
                "may",
                "may::sync::mpsc + may::go! coroutines",
                pingpong_may,
            ));
            c
        },
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sizes() {
        let ws = workloads();
        assert_eq!(ws.len(), 2 + 5 * 3 + 1);
        let w = ws.iter().find(|w| w.name == "chan_mpmc_boundedN").unwrap();
        assert_eq!(w.full.get("cap"), FULL_MESSAGES);
        assert_eq!(w.quick.get("cap"), QUICK_MESSAGES);
        assert!(ws.iter().all(|w| w.name != "chan_seq_bounded0"));
    }
}
