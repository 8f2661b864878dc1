//! Go by Example: stateful goroutines. Instead of a mutex, one goroutine
//! owns the state and others reach it only by messages: a read or write
//! request on a channel, carrying a channel for the reply. `select!` is
//! Go's `select` over the two request channels.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gort::chan::Chan;
use gort::sync::WaitGroup;

const KEYS: u32 = 4;
const READERS: u32 = 6;
const READS_EACH: u32 = 50;
const WRITERS: u32 = 3;
const WRITES_EACH: u32 = 20;

/// Asks the owner for the value under `key`.
struct Read {
    key: u32,
    reply: Chan<u64>,
}

/// Asks the owner to add `amount` to the value under `key`.
struct Write {
    key: u32,
    amount: u64,
    reply: Chan<()>,
}

/// The owner: the map lives on this goroutine's stack, so nothing else can
/// touch it. It serves requests until the program ends.
fn owner(reads: Chan<Read>, writes: Chan<Write>) {
    let mut state: BTreeMap<u32, u64> = (0..KEYS).map(|k| (k, 0)).collect();
    loop {
        gort::select! {
            recv(reads) -> req => {
                let req = req.expect("main never closes reads");
                let _ = req.reply.send(state[&req.key]);
            }
            recv(writes) -> req => {
                let req = req.expect("main never closes writes");
                *state.get_mut(&req.key).unwrap() += req.amount;
                let _ = req.reply.send(());
            }
        }
    }
}

#[gort::main]
fn main() {
    let reads = Chan::new(0);
    let writes = Chan::new(0);
    gort::go({
        let (reads, writes) = (reads.clone(), writes.clone());
        move || owner(reads, writes)
    });

    // Go counts the operations with atomics; so do we.
    let read_ops = Arc::new(AtomicU64::new(0));
    let write_ops = Arc::new(AtomicU64::new(0));
    let wg = WaitGroup::new();

    for r in 0..READERS {
        wg.add(1);
        let (reads, read_ops, wg) = (reads.clone(), read_ops.clone(), wg.clone());
        gort::go(move || {
            for i in 0..READS_EACH {
                // Capacity 1: the owner never waits for us to take the reply.
                let reply = Chan::new(1);
                let key = (r + i) % KEYS;
                reads
                    .send(Read {
                        key,
                        reply: reply.clone(),
                    })
                    .unwrap();
                let _value = reply.recv().unwrap(); // varies with the writers
                read_ops.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }

    for _ in 0..WRITERS {
        wg.add(1);
        let (writes, write_ops, wg) = (writes.clone(), write_ops.clone(), wg.clone());
        gort::go(move || {
            for i in 0..WRITES_EACH {
                let reply = Chan::new(1);
                let req = Write {
                    key: i % KEYS,
                    amount: 1,
                    reply: reply.clone(),
                };
                writes.send(req).unwrap();
                reply.recv().unwrap();
                write_ops.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }

    wg.wait();
    gort::println!("read ops: {}", read_ops.load(Ordering::Relaxed));
    gort::println!("write ops: {}", write_ops.load(Ordering::Relaxed));

    // main is one more client: it too must ask the owner for the state.
    for key in 0..KEYS {
        let reply = Chan::new(1);
        reads
            .send(Read {
                key,
                reply: reply.clone(),
            })
            .unwrap();
        gort::println!("key {key} = {}", reply.recv().unwrap());
    }
}
