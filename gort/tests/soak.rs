//! Channel soak: producers and consumers (goroutines and plain threads) do
//! random operations on channels of capacities 0, 1, 4 and 64, which are
//! closed while producers still send and made anew every round.
//!
//! A round: fresh channels (the four capacities twice, or one to eight of
//! random capacities), a random number of producers and consumers, and a
//! closer that closes the channels one at a time at random moments.
//! Every message carries a unique id with a ledger entry recording what
//! happened to it; at the end of the round every id has exactly one fate:
//! - delivered: its send returned Ok and it was received once;
//! - handed back: its send returned it (closed, full, timed out);
//! - unsent: a `select!` completed another case and dropped it;
//! - abandoned: its send returned Ok and it was still buffered when the
//!   channel was dropped (only in rounds whose consumers stop without
//!   draining; their number equals the channels' lengths at that moment).
//!
//! and every message was dropped exactly once. A mark made twice fails the
//! round on the spot.
//!
//! A monitor thread watches each round: when no operation completes for
//! `GORT_SOAK_STALL_SECS` (default 10), it prints the channels and what every
//! party is doing, and exits the process with status 3 (a hang becomes a
//! failure, not a stuck CI).
//!
//! Length: `GORT_SOAK_SECS=n` runs n seconds per (scheduler, workers)
//! combination, at 2 and 4 workers (on the threads scheduler the count only
//! sets `gomaxprocs`); without it 0.3 s each, so `cargo test` stays fast.
//! `GORT_SOAK_WORKERS=n` runs only that worker count.
//! `GORT_SOAK_SEED` repeats a run's random choices (not its interleavings).

mod common;

use std::io::Write;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use gort::chan::{Chan, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use gort::{Builder, Scheduler};

/// The capacities a round's channels are drawn from.
const CAPS: [usize; 4] = [0, 1, 4, 64];
/// Most channels in a round (fewer channels: more parties on each).
const N: usize = 8;
/// Ids per round; producers stop when they run out.
const IDS: usize = 1 << 16;
const MAX_PRODUCERS: usize = 24;
const MAX_CONSUMERS: usize = 16;

#[test]
fn channels_soak() {
    let per_combo = match std::env::var("GORT_SOAK_SECS") {
        Ok(s) => Duration::from_secs(s.trim().parse().expect("GORT_SOAK_SECS: whole seconds")),
        Err(_) => Duration::from_millis(300),
    };
    let stall = Duration::from_secs(env_u64("GORT_SOAK_STALL_SECS").unwrap_or(10));
    let seed = env_u64("GORT_SOAK_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    // `GORT_SOAK_WORKERS=n`: that worker count only (long runs by hand,
    // one process per combination).
    let worker_counts: Vec<usize> = match env_u64("GORT_SOAK_WORKERS") {
        Some(n) => vec![n as usize],
        None => vec![2, 4],
    };
    for sched in common::schedulers() {
        for &workers in &worker_counts {
            let rt = Builder::new().scheduler(sched).workers(workers).build();
            let combo = Combo {
                sched,
                workers,
                seed,
                stall,
            };
            let totals = rt.run(move || soak(combo, per_combo));
            totals.print(combo);
            assert!(totals.stats.delivered > 0, "no message was delivered");
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Combo {
    sched: Scheduler,
    workers: usize,
    seed: u64,
    stall: Duration,
}

/// Rounds until `length` has passed; returns their counts. A long run
/// says how far it got every minute.
fn soak(combo: Combo, length: Duration) -> Totals {
    let start = Instant::now();
    let mut stats = Stats::default();
    let mut rounds = 0;
    let mut minutes = 0;
    while rounds == 0 || start.elapsed() < length {
        stats.add(&run_round(combo, rounds));
        rounds += 1;
        if start.elapsed() >= Duration::from_secs(60 * (minutes + 1)) {
            minutes += 1;
            println!(
                "soak {:?}, {} workers: {minutes} min, {rounds} rounds, {} messages, all accounted for",
                combo.sched, combo.workers, stats.messages
            );
        }
    }
    Totals {
        rounds,
        secs: start.elapsed().as_secs_f64(),
        stats,
    }
}

// ---- The ledger: what happened to each message ----

const CREATED: u8 = 1;
const SENT: u8 = 2;
const HANDED_BACK: u8 = 4;
const UNSENT: u8 = 8;
const RECEIVED: u8 = 16;
const DROPPED: u8 = 32;
const MARKS: [(u8, &str); 6] = [
    (CREATED, "created"),
    (SENT, "sent"),
    (HANDED_BACK, "handed back"),
    (UNSENT, "unsent"),
    (RECEIVED, "received"),
    (DROPPED, "dropped"),
];

struct Ledger {
    marks: Vec<AtomicU8>,
    next_id: AtomicUsize,
}

impl Ledger {
    fn new() -> Arc<Self> {
        Arc::new(Ledger {
            marks: (0..IDS).map(|_| AtomicU8::new(0)).collect(),
            next_id: AtomicUsize::new(0),
        })
    }

    /// Records `mark` for message `id`; each mark happens once.
    fn mark(&self, id: usize, mark: u8) {
        let before = self.marks[id].fetch_or(mark, SeqCst);
        assert!(
            before & mark == 0,
            "message {id} {} twice (marks before: {})",
            names(mark),
            names(before)
        );
    }

    /// Ids handed out so far.
    fn issued(&self) -> usize {
        self.next_id.load(SeqCst).min(IDS)
    }
}

fn names(marks: u8) -> String {
    let v: Vec<_> = MARKS
        .iter()
        .filter(|(m, _)| marks & m != 0)
        .map(|(_, n)| *n)
        .collect();
    format!("[{}]", v.join(", "))
}

/// The payload: a message id that marks its own drop.
struct Msg {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Msg {
    /// A new message, or None once the round's ids are used up.
    fn new(ledger: &Arc<Ledger>) -> Option<Msg> {
        let id = ledger.next_id.fetch_add(1, SeqCst);
        (id < IDS).then(|| {
            ledger.mark(id, CREATED);
            Msg {
                id,
                ledger: ledger.clone(),
            }
        })
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.ledger.mark(self.id, DROPPED);
    }
}

// ---- The operations ----

/// How a two-case `select!` waits when no case is ready.
#[derive(Clone, Copy, Debug)]
enum Wait {
    Block,
    Default,
    Timeout(Duration),
}

/// One operation of a producer or a consumer, on channel indices.
#[derive(Clone, Copy, Debug)]
enum Op {
    Send(usize),
    TrySend(usize),
    SendTimeout(usize, Duration),
    /// `select!` over two sends (maybe to one channel twice).
    SelectSend(usize, usize, Wait),
    /// `select!` { send(a), recv(b), default(d) }: a producer receives too.
    SelectSendRecv(usize, usize, Duration),
    Recv(usize),
    TryRecv(usize),
    RecvTimeout(usize, Duration),
    /// `select!` over two receives.
    SelectRecv(usize, usize, Wait),
    /// `select!` over four receives with `default(d)`.
    SelectRecv4([usize; 4], Duration),
}

impl Op {
    /// A send on one of `n` channels.
    fn random_send(r: &mut Rng, n: usize) -> Op {
        let (a, b) = (r.below(n), r.below(n));
        match r.below(10) {
            0..=2 => Op::Send(a),
            3 => Op::TrySend(a),
            4..=5 => Op::SendTimeout(a, r.timeout()),
            6..=8 => Op::SelectSend(a, b, r.wait()),
            _ => Op::SelectSendRecv(a, b, r.timeout()),
        }
    }

    /// A receive on channels among `open` (not yet seen closed and drained).
    fn random_recv(r: &mut Rng, open: &[usize]) -> Op {
        let mut pick = || open[r.below(open.len())];
        let (a, b) = (pick(), pick());
        let four = [a, b, pick(), pick()];
        match r.below(10) {
            0..=2 => Op::Recv(a),
            3 => Op::TryRecv(a),
            4..=5 => Op::RecvTimeout(a, r.timeout()),
            6..=8 => Op::SelectRecv(a, b, r.wait()),
            _ => Op::SelectRecv4(four, r.timeout()),
        }
    }

    fn is_select(self) -> bool {
        matches!(
            self,
            Op::SelectSend(..) | Op::SelectSendRecv(..) | Op::SelectRecv(..) | Op::SelectRecv4(..)
        )
    }
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Mostly very short: timeouts should race the counterparts.
    fn timeout(&mut self) -> Duration {
        Duration::from_micros([0, 1, 5, 20, 100, 1000][self.below(6)])
    }

    fn wait(&mut self) -> Wait {
        match self.below(3) {
            0 => Wait::Block,
            1 => Wait::Default,
            _ => Wait::Timeout(self.timeout()),
        }
    }
}

// ---- A round ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Producer,
    Consumer,
    Closer,
}

/// What a party is doing, for the stall report.
#[derive(Clone, Copy)]
enum Doing {
    Starting,
    Op(Op),
    Closing(usize),
    Waiting,
    Done,
}

impl std::fmt::Display for Doing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Doing::Starting => write!(f, "starting"),
            Doing::Op(op) => write!(f, "{op:?}"),
            Doing::Closing(c) => write!(f, "closing ch{c}"),
            Doing::Waiting => write!(f, "waiting for its next close"),
            Doing::Done => write!(f, "done"),
        }
    }
}

struct Party {
    role: Role,
    on_thread: bool,
    doing: Mutex<Doing>,
    ops: AtomicU64,
}

/// Everything the parties of a round share.
struct Board {
    combo: Combo,
    round: u64,
    chans: Vec<Chan<Msg>>,
    parties: Vec<Party>,
    ledger: Arc<Ledger>,
    /// Consumers stop without draining once the closer is done.
    abandon: bool,
    closer_done: AtomicBool,
}

/// Counts of one party, then of a round, then of a combination.
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    ops: u64,
    selects: u64,
    timeouts: u64,
    closes: u64,
    // The messages' fates (counted at the end of a round).
    messages: u64,
    delivered: u64,
    handed_back: u64,
    unsent: u64,
    abandoned: u64,
}

impl Stats {
    fn add(&mut self, s: &Stats) {
        self.ops += s.ops;
        self.selects += s.selects;
        self.timeouts += s.timeouts;
        self.closes += s.closes;
        self.messages += s.messages;
        self.delivered += s.delivered;
        self.handed_back += s.handed_back;
        self.unsent += s.unsent;
        self.abandoned += s.abandoned;
    }
}

impl Board {
    fn set_doing(&self, me: usize, doing: Doing) {
        *self.parties[me].doing.lock().unwrap() = doing;
    }

    fn finish_op(&self, me: usize, op: Op, stats: &mut Stats) {
        stats.ops += 1;
        stats.selects += op.is_select() as u64;
        self.parties[me].ops.fetch_add(1, Relaxed);
    }

    /// The outcome of a send of message `id` on channel `c`.
    fn sent(&self, id: usize, c: usize, res: Result<(), SendError<Msg>>, closed: &mut [bool; N]) {
        match res {
            Ok(()) => self.ledger.mark(id, SENT),
            Err(SendError(m)) => {
                self.handed_back(m);
                closed[c] = true;
            }
        }
    }

    fn handed_back(&self, m: Msg) {
        self.ledger.mark(m.id, HANDED_BACK);
    }

    fn received(&self, m: Msg) {
        self.ledger.mark(m.id, RECEIVED);
    }
}

fn run_round(combo: Combo, round: u64) -> Stats {
    let mut rng = Rng::new(combo.seed ^ round.wrapping_mul(0x1_0000_0001));
    // Half the rounds on all four capacities twice, half on 1 to 8 channels
    // of random capacities.
    let chans: Vec<Chan<Msg>> = if rng.below(2) == 0 {
        CAPS.iter().chain(&CAPS).map(|&c| Chan::new(c)).collect()
    } else {
        (0..1 + rng.below(N))
            .map(|_| Chan::new(CAPS[rng.below(CAPS.len())]))
            .collect()
    };
    let producers = 1 + rng.below(MAX_PRODUCERS);
    let consumers = 1 + rng.below(MAX_CONSUMERS);
    let mut parties = Vec::new();
    let mut add = |role, on_thread| {
        parties.push(Party {
            role,
            on_thread,
            doing: Mutex::new(Doing::Starting),
            ops: AtomicU64::new(0),
        })
    };
    // About one party in six on a plain thread.
    for _ in 0..producers {
        add(Role::Producer, rng.below(6) == 0);
    }
    for _ in 0..consumers {
        add(Role::Consumer, rng.below(6) == 0);
    }
    add(Role::Closer, rng.below(2) == 0);
    let board = Arc::new(Board {
        combo,
        round,
        chans,
        parties,
        ledger: Ledger::new(),
        abandon: rng.below(4) == 0,
        closer_done: AtomicBool::new(false),
    });

    let monitor = Monitor::start(board.clone());
    let mut handles = Vec::new();
    for me in 0..board.parties.len() {
        let (b, seed) = (board.clone(), rng.next());
        let body = move || run_party(&b, me, seed);
        handles.push(if board.parties[me].on_thread {
            Handle::Thread(std::thread::spawn(body))
        } else {
            Handle::Goroutine(gort::spawn(body))
        });
    }
    let mut stats = Stats::default();
    let mut panic = None;
    for h in handles {
        match h.join() {
            Ok(s) => stats.add(&s),
            Err(p) => panic = panic.or(Some(p)),
        }
    }
    monitor.stop();
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
    let buffered: usize = board.chans.iter().map(|c| c.len()).sum();
    assert!(
        board.chans.iter().all(|c| c.is_closed()),
        "a channel was left open"
    );
    assert!(
        board.abandon || buffered == 0,
        "round {round}: consumers drained every channel, yet {buffered} messages are buffered"
    );
    let ledger = board.ledger.clone();
    let board = Arc::into_inner(board).expect("a party still holds the round's board");
    drop(board); // drops the channels and what they still buffer
    check_fates(&ledger, round, buffered, &mut stats);
    stats
}

/// Each message had exactly one fate, and every message was dropped;
/// counts the fates into `stats`.
fn check_fates(ledger: &Ledger, round: u64, buffered: usize, stats: &mut Stats) {
    let mut abandoned = 0;
    for id in 0..ledger.issued() {
        let m = ledger.marks[id].load(SeqCst);
        assert!(
            m & CREATED != 0 && m & DROPPED != 0,
            "round {round}: message {id} was not both created and dropped: {}",
            names(m)
        );
        match m & !(CREATED | DROPPED) {
            f if f == SENT | RECEIVED => stats.delivered += 1,
            HANDED_BACK => stats.handed_back += 1,
            UNSENT => stats.unsent += 1,
            SENT => abandoned += 1,
            _ => panic!(
                "round {round}: message {id} has no single fate: {}",
                names(m)
            ),
        }
    }
    assert_eq!(
        abandoned, buffered,
        "round {round}: messages sent and never received ({abandoned}) are not those the \
         channels held when dropped ({buffered})"
    );
    stats.messages += ledger.issued() as u64;
    stats.abandoned += abandoned as u64;
}

enum Handle {
    Goroutine(gort::JoinHandle<Stats>),
    Thread(std::thread::JoinHandle<Stats>),
}

impl Handle {
    fn join(self) -> std::thread::Result<Stats> {
        match self {
            Handle::Goroutine(h) => h.join(),
            Handle::Thread(h) => h.join(),
        }
    }
}

fn run_party(b: &Board, me: usize, seed: u64) -> Stats {
    let mut rng = Rng::new(seed);
    let mut stats = Stats::default();
    match b.parties[me].role {
        Role::Producer => produce(b, me, &mut rng, &mut stats),
        Role::Consumer => consume(b, me, &mut rng, &mut stats),
        Role::Closer => close_all(b, me, &mut rng, &mut stats),
    }
    b.set_doing(me, Doing::Done);
    stats
}

/// Sends fresh messages until it has seen every channel closed or the
/// round's ids are used up.
fn produce(b: &Board, me: usize, rng: &mut Rng, stats: &mut Stats) {
    let n = b.chans.len();
    let mut closed = [false; N];
    while !closed[..n].iter().all(|&c| c) {
        let op = Op::random_send(rng, n);
        b.set_doing(me, Doing::Op(op));
        if !send_op(b, op, &mut closed, stats) {
            return;
        }
        b.finish_op(me, op, stats);
    }
}

/// Runs a producer's `op`; false if the ids ran out.
fn send_op(b: &Board, op: Op, closed: &mut [bool; N], stats: &mut Stats) -> bool {
    let ch = &b.chans;
    let Some(m) = Msg::new(&b.ledger) else {
        return false;
    };
    let id = m.id;
    match op {
        Op::Send(c) => b.sent(id, c, ch[c].send(m), closed),
        Op::TrySend(c) => match ch[c].try_send(m) {
            Ok(()) => b.ledger.mark(id, SENT),
            Err(TrySendError::Full(m)) => b.handed_back(m),
            Err(TrySendError::Closed(m)) => {
                b.handed_back(m);
                closed[c] = true;
            }
        },
        Op::SendTimeout(c, d) => match ch[c].send_timeout(m, d) {
            Ok(()) => b.ledger.mark(id, SENT),
            Err(SendTimeoutError::Timeout(m)) => {
                b.handed_back(m);
                stats.timeouts += 1;
            }
            Err(SendTimeoutError::Closed(m)) => {
                b.handed_back(m);
                closed[c] = true;
            }
        },
        Op::SelectSend(x, y, wait) => {
            let Some(m2) = Msg::new(&b.ledger) else {
                b.ledger.mark(id, UNSENT);
                return false;
            };
            let id2 = m2.id;
            // Which case completed, with its result; None: default.
            let chosen = match wait {
                Wait::Block => gort::select! {
                    send(ch[x], m) -> r => Some((true, r)),
                    send(ch[y], m2) -> r => Some((false, r)),
                },
                Wait::Default => gort::select! {
                    send(ch[x], m) -> r => Some((true, r)),
                    send(ch[y], m2) -> r => Some((false, r)),
                    default => None,
                },
                Wait::Timeout(d) => gort::select! {
                    send(ch[x], m) -> r => Some((true, r)),
                    send(ch[y], m2) -> r => Some((false, r)),
                    default(d) => None,
                },
            };
            match chosen {
                Some((true, r)) => {
                    b.sent(id, x, r, closed);
                    b.ledger.mark(id2, UNSENT);
                }
                Some((false, r)) => {
                    b.sent(id2, y, r, closed);
                    b.ledger.mark(id, UNSENT);
                }
                None => {
                    b.ledger.mark(id, UNSENT);
                    b.ledger.mark(id2, UNSENT);
                    stats.timeouts += matches!(wait, Wait::Timeout(_)) as u64;
                }
            }
        }
        Op::SelectSendRecv(x, y, d) => gort::select! {
            send(ch[x], m) -> r => b.sent(id, x, r, closed),
            recv(ch[y]) -> v => {
                b.ledger.mark(id, UNSENT);
                if let Some(v) = v {
                    b.received(v);
                }
            },
            default(d) => {
                b.ledger.mark(id, UNSENT);
                stats.timeouts += 1;
            },
        },
        _ => unreachable!("{op:?} is not a producer's operation"),
    }
    true
}

/// Receives until every channel is closed and drained (or, in an
/// abandoning round, until the closer is done).
fn consume(b: &Board, me: usize, rng: &mut Rng, stats: &mut Stats) {
    let mut drained = [false; N];
    loop {
        let open: Vec<usize> = (0..b.chans.len()).filter(|&c| !drained[c]).collect();
        if open.is_empty() || (b.abandon && b.closer_done.load(SeqCst)) {
            return;
        }
        let op = Op::random_recv(rng, &open);
        b.set_doing(me, Doing::Op(op));
        recv_op(b, op, &mut drained, stats);
        b.finish_op(me, op, stats);
    }
}

fn recv_op(b: &Board, op: Op, drained: &mut [bool; N], stats: &mut Stats) {
    let ch = &b.chans;
    // A receive's outcome: a message, or channel `c` closed and drained.
    let got = |drained: &mut [bool; N], c: usize, v: Option<Msg>| match v {
        Some(m) => b.received(m),
        None => drained[c] = true,
    };
    match op {
        Op::Recv(c) => got(drained, c, ch[c].recv()),
        Op::TryRecv(c) => match ch[c].try_recv() {
            Ok(m) => b.received(m),
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Closed) => drained[c] = true,
        },
        Op::RecvTimeout(c, d) => match ch[c].recv_timeout(d) {
            Ok(m) => b.received(m),
            Err(RecvTimeoutError::Timeout) => stats.timeouts += 1,
            Err(RecvTimeoutError::Closed) => drained[c] = true,
        },
        Op::SelectRecv(x, y, Wait::Block) => gort::select! {
            recv(ch[x]) -> v => got(drained, x, v),
            recv(ch[y]) -> v => got(drained, y, v),
        },
        Op::SelectRecv(x, y, Wait::Default) => gort::select! {
            recv(ch[x]) -> v => got(drained, x, v),
            recv(ch[y]) -> v => got(drained, y, v),
            default => {},
        },
        Op::SelectRecv(x, y, Wait::Timeout(d)) => gort::select! {
            recv(ch[x]) -> v => got(drained, x, v),
            recv(ch[y]) -> v => got(drained, y, v),
            default(d) => stats.timeouts += 1,
        },
        Op::SelectRecv4([w, x, y, z], d) => gort::select! {
            recv(ch[w]) -> v => got(drained, w, v),
            recv(ch[x]) -> v => got(drained, x, v),
            recv(ch[y]) -> v => got(drained, y, v),
            recv(ch[z]) -> v => got(drained, z, v),
            default(d) => stats.timeouts += 1,
        },
        _ => unreachable!("{op:?} is not a consumer's operation"),
    }
}

/// Closes the channels one at a time, in a random order, each when the
/// round has issued a random share of its ids or after a random time
/// (whichever comes first: slow machines close on time, fast ones while
/// producers are busiest).
fn close_all(b: &Board, me: usize, rng: &mut Rng, stats: &mut Stats) {
    let mut order: Vec<usize> = (0..b.chans.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let start = Instant::now();
    for c in order {
        let at_id = IDS / 16 + rng.below(IDS * 7 / 8);
        let at_time = Duration::from_micros(rng.below(50_000) as u64);
        b.set_doing(me, Doing::Waiting);
        while b.ledger.issued() < at_id && start.elapsed() < at_time {
            gort::time::sleep(Duration::from_micros(50));
        }
        b.set_doing(me, Doing::Closing(c));
        b.chans[c].close();
        stats.closes += 1;
        b.parties[me].ops.fetch_add(1, Relaxed);
    }
    b.closer_done.store(true, SeqCst);
}

// ---- The monitor ----

/// Fails the process when a round stops making progress.
struct Monitor {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Monitor {
    fn start(board: Arc<Board>) -> Monitor {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let total = |b: &Board| b.parties.iter().map(|p| p.ops.load(Relaxed)).sum::<u64>();
            let (mut last, mut since) = (total(&board), Instant::now());
            loop {
                match stopped.recv_timeout(Duration::from_millis(100)) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let now = total(&board);
                if now != last {
                    (last, since) = (now, Instant::now());
                } else if since.elapsed() >= board.combo.stall {
                    stall_report(&board, since.elapsed());
                }
            }
        });
        Monitor { stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().unwrap();
    }
}

/// Prints the round's state and exits the process with status 3.
fn stall_report(b: &Board, idle: Duration) -> ! {
    let mut out = format!(
        "soak: no operation completed for {idle:.1?} in round {} ({:?}, {} workers, \
         GORT_SOAK_SEED={}): lost wakeup or deadlock\n",
        b.round, b.combo.sched, b.combo.workers, b.combo.seed
    );
    for (i, c) in b.chans.iter().enumerate() {
        out += &format!(
            "  ch{i}: cap {} len {} closed {}\n",
            c.cap(),
            c.len(),
            c.is_closed()
        );
    }
    out += &format!(
        "  ids issued {} of {IDS}; abandoning round: {}; goroutines: {}\n",
        b.ledger.issued(),
        b.abandon,
        gort::num_goroutine()
    );
    let mut done = [0; 3];
    for (i, p) in b.parties.iter().enumerate() {
        let doing = *p.doing.lock().unwrap();
        if let Doing::Done = doing {
            done[p.role as usize] += 1;
            continue;
        }
        let on = if p.on_thread { "thread" } else { "goroutine" };
        out += &format!(
            "  party {i} ({:?} on a {on}, {} ops): {doing}\n",
            p.role,
            p.ops.load(Relaxed)
        );
    }
    out += &format!(
        "  done: {} producers, {} consumers, {} closer\n",
        done[0], done[1], done[2]
    );
    // Straight to the handle: the harness captures eprintln!.
    let _ = std::io::stderr().write_all(out.as_bytes());
    std::process::exit(3);
}

// ---- Summary ----

struct Totals {
    rounds: u64,
    secs: f64,
    stats: Stats,
}

impl Totals {
    fn print(&self, c: Combo) {
        let s = &self.stats;
        let rate = |n: u64| n as f64 / self.secs.max(1e-9);
        println!(
            "soak {:?}, {} workers: {} rounds in {:.1} s; per second: {:.0} messages, {:.0} \
             operations, {:.0} selects, {:.0} timeouts, {:.0} closes; fates: {} delivered, \
             {} handed back, {} unsent, {} abandoned",
            c.sched,
            c.workers,
            self.rounds,
            self.secs,
            rate(s.messages),
            rate(s.ops),
            rate(s.selects),
            rate(s.timeouts),
            rate(s.closes),
            s.delivered,
            s.handed_back,
            s.unsent,
            s.abandoned,
        );
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: not a number")),
    )
}
