//! Who is waiting: the state of a blocked channel operation, kept in the
//! blocked task's `select_state` word.
//!
//! States: `WAITING` (registered, nobody chose it yet), `ABORTED` (the task
//! itself gave up: timeout, or a case became ready while registering), and
//! `done(case, closed)` (a counterpart completed case `case`).
//!
//! Invariants:
//! - only the task itself stores `WAITING`, and only while none of its
//!   entries is in any queue;
//! - every other transition is a CAS from `WAITING`, so exactly one party
//!   decides the outcome: one counterpart wins, or the task aborts;
//! - a counterpart finishes moving the value *before* its winning CAS
//!   (Release); the task reads its slot only after seeing `done` (Acquire);
//! - the winner unparks the task only after releasing the channel lock.

use crate::shim::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use crate::task::Task;

pub(crate) const WAITING: usize = 0;
pub(crate) const ABORTED: usize = 1;

/// The state a counterpart sets when it completes `case`.
pub(crate) const fn done(case: usize, closed: bool) -> usize {
    2 + case * 2 + closed as usize
}

/// The case and "closed" flag of a `done` state.
pub(crate) const fn decode(state: usize) -> (usize, bool) {
    ((state - 2) / 2, (state - 2) & 1 == 1)
}

impl Task {
    /// Starts a new blocking attempt. The caller has no entry queued.
    pub(crate) fn begin_wait(&self) {
        self.select_state.store(WAITING, Relaxed);
    }

    /// Whether the task's current attempt is still open for a counterpart.
    pub(crate) fn is_waiting(&self) -> bool {
        self.select_state.load(Acquire) == WAITING
    }

    /// Claims the task's attempt for `state`; false if someone else (or the
    /// task itself) decided first.
    pub(crate) fn try_decide(&self, state: usize) -> bool {
        self.select_state
            .compare_exchange(WAITING, state, AcqRel, Acquire)
            .is_ok()
    }

    /// The decided state (`ABORTED` or `done`), or `WAITING`.
    pub(crate) fn wait_state(&self) -> usize {
        self.select_state.load(Acquire)
    }
}

/// The state word's encoding and its one-winner rule, on plain tasks.
#[cfg(all(test, feature = "std", not(loom)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use std::collections::BTreeSet;
    use std::sync::Barrier;

    /// Iterations for the long loops: miri interprets every step.
    fn scaled(n: usize) -> usize {
        if cfg!(miri) { n / 100 } else { n }
    }

    #[test]
    fn done_packs_case_and_flag_above_waiting_and_aborted() {
        assert_eq!((WAITING, ABORTED), (0, 1));
        assert_eq!(done(0, false), 2);
        assert_eq!(done(0, true), 3);
        assert_eq!(done(1, false), 4);
        assert_eq!(done(5, true), 13);
        let states: BTreeSet<usize> = (0..256)
            .flat_map(|c| [done(c, false), done(c, true)])
            .collect();
        assert_eq!(states, (2..514).collect(), "not one word per (case, flag)");
    }

    #[test]
    fn decode_undoes_done() {
        for case in 0..1000 {
            for closed in [false, true] {
                assert_eq!(decode(done(case, closed)), (case, closed));
            }
        }
        let top = (usize::MAX - 3) / 2;
        assert_eq!(done(top, true), usize::MAX);
        assert_eq!(done(top, false), usize::MAX - 1);
        assert_eq!(decode(usize::MAX), (top, true));
        assert_eq!(decode(usize::MAX - 1), (top, false));
    }

    #[test]
    fn a_new_task_is_waiting() {
        let t = Task::new();
        assert_eq!(t.wait_state(), WAITING);
        assert!(t.is_waiting());
    }

    #[test]
    fn the_first_decision_stands() {
        let t = Task::new();
        let states = [ABORTED, done(0, false), done(0, true), done(3, true)];
        for first in states {
            t.begin_wait();
            assert!(t.is_waiting());
            assert!(t.try_decide(first));
            assert_eq!(t.wait_state(), first);
            assert!(!t.is_waiting());
            for later in states {
                assert!(!t.try_decide(later), "{later} replaced {first}");
                assert_eq!(t.wait_state(), first);
            }
        }
    }

    #[test]
    fn begin_wait_reopens_a_decided_task() {
        let t = Task::new();
        assert!(t.try_decide(done(2, true)));
        t.begin_wait();
        assert_eq!(t.wait_state(), WAITING);
        assert!(t.try_decide(ABORTED));
        t.begin_wait();
        assert!(t.try_decide(done(7, false)));
        assert_eq!(decode(t.wait_state()), (7, false));
    }

    #[test]
    fn racing_claims_have_exactly_one_winner() {
        // Two counterparts (cases 0 and 1) race the task aborting itself.
        let rounds = scaled(10_000);
        let t = Task::new();
        let start = Barrier::new(3);
        let end = Barrier::new(3);
        let (states, aborted, won) = std::thread::scope(|s| {
            let counterparts: Vec<_> = (0..2)
                .map(|case| {
                    let (t, start, end) = (&t, &start, &end);
                    s.spawn(move || {
                        let mut won = Vec::with_capacity(rounds);
                        for _ in 0..rounds {
                            start.wait();
                            won.push(t.try_decide(done(case, false)));
                            end.wait();
                        }
                        won
                    })
                })
                .collect();
            let mut states = Vec::with_capacity(rounds);
            let mut aborted = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                t.begin_wait();
                start.wait();
                aborted.push(t.try_decide(ABORTED));
                end.wait();
                states.push(t.wait_state());
            }
            let won: Vec<Vec<bool>> = counterparts
                .into_iter()
                .map(|c| c.join().unwrap())
                .collect();
            (states, aborted, won)
        });
        for r in 0..rounds {
            let winners = [aborted[r], won[0][r], won[1][r]];
            assert_eq!(winners.iter().filter(|&&w| w).count(), 1, "round {r}");
            let want = if aborted[r] {
                ABORTED
            } else if won[0][r] {
                done(0, false)
            } else {
                done(1, false)
            };
            assert_eq!(states[r], want, "round {r}");
        }
    }

    /// A value slot written by a counterpart and read by the task, with no
    /// synchronisation but the state word's.
    struct Slot(core::cell::UnsafeCell<u64>);

    // SAFETY: the test below writes the slot only before the winning CAS
    // and reads it only after seeing `done`, which is what it checks.
    unsafe impl Sync for Slot {}

    impl Slot {
        fn get(&self) -> *mut u64 {
            self.0.get()
        }
    }

    #[test]
    fn the_task_sees_the_value_moved_before_done() {
        use core::sync::atomic::{AtomicBool, Ordering::Release};
        for round in 0..scaled(2_000) as u64 {
            let t = Task::new();
            let slot = Slot(core::cell::UnsafeCell::new(0));
            // Set after the claim: a counterpart that failed to decide
            // ends the wait below instead of hanging it.
            let finished = AtomicBool::new(false);
            let seen = std::thread::scope(|s| {
                let counterpart = s.spawn(|| {
                    // SAFETY: the task reads the slot only after `done`.
                    unsafe { *slot.get() = round + 1 };
                    let won = t.try_decide(done(1, false));
                    finished.store(true, Release);
                    won
                });
                while t.is_waiting() && !finished.load(Acquire) {
                    std::thread::yield_now();
                }
                assert_eq!(t.wait_state(), done(1, false));
                // SAFETY: the counterpart's write came before its CAS
                // (Release), seen by `is_waiting` (Acquire).
                let seen = unsafe { *slot.get() };
                assert!(counterpart.join().unwrap());
                seen
            });
            assert_eq!(seen, round + 1);
        }
    }
}
