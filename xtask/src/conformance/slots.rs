//! The machine's cores, shared by every suite of every version: one slot
//! per program that runs at once (a compiler, a test, a differential
//! case), whichever version's it is. `cargo xtask conformance` checks all
//! versions at once, so a version's builds overlap another's runs and no
//! core waits at a version's end for its last test; the slots keep the
//! machine at one program per core, which is what the tests' time limits
//! assume (a test that needs 27 s of CPU against a 40 s limit times out
//! when three programs share two cores).
//!
//! Waiters are served by priority, then in arrival order: builds first
//! (they unlock a version's runs), then runs by their expected duration,
//! longest first, so that the last programs to start are short ones and
//! the cores finish together.
//!
//! This is the project's one hand-written pool, and why it is not rayon's
//! (which the CLI uses): the limit is on programs running, shared by many
//! independent callers at once (every version's thread, every suite's),
//! each of which blocks while its program runs; the order is by priority
//! over all of them, and estimates change while others run. A work-
//! stealing pool of CPU-bound tasks has neither a shared priority queue
//! nor room for threads that mostly wait on a child process. The threads
//! themselves are free ([`crate::at_once`]); what they run takes a slot.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Who goes first: higher first, then whoever came first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Priority(u64);

impl Priority {
    /// Compiling and linking (and building a version's `.so`).
    pub const BUILD: Priority = Priority(u64::MAX);

    /// A run expected to take `d`.
    pub fn run(d: Duration) -> Priority {
        Priority((d.as_micros() as u64).clamp(1, u64::MAX - 1))
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Waiter {
    priority: Priority,
    ticket: Reverse<u64>,
}

struct State {
    free: usize,
    waiting: BinaryHeap<Waiter>,
    tickets: u64,
}

/// A counting semaphore whose waiters are served by priority.
pub struct Slots {
    state: Mutex<State>,
    turn: Condvar,
    size: usize,
}

/// Held slots (one, or all of them), given back when dropped.
pub struct Slot<'a>(&'a Slots, usize);

impl Slots {
    pub fn new(size: usize) -> Slots {
        Slots {
            state: Mutex::new(State {
                free: size.max(1),
                waiting: BinaryHeap::new(),
                tickets: 0,
            }),
            turn: Condvar::new(),
            size: size.max(1),
        }
    }

    /// How many programs run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.state.lock().unwrap().waiting.len()
    }

    /// Waits for a slot: the first free one goes to the highest priority.
    pub fn acquire(&self, priority: Priority) -> Slot<'_> {
        self.acquire_n(priority, 1)
    }

    /// Waits for every slot, to run a program alone (a test that other
    /// programs starved, run again): first in line, it takes slots as they
    /// come free and lets no one behind it pass, so it waits at most for
    /// what is running now.
    pub fn acquire_all(&self, priority: Priority) -> Slot<'_> {
        self.acquire_n(priority, self.size)
    }

    fn acquire_n(&self, priority: Priority, n: usize) -> Slot<'_> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = Reverse(s.tickets);
        s.tickets += 1;
        s.waiting.push(Waiter { priority, ticket });
        loop {
            let first = s
                .waiting
                .peek()
                .is_some_and(|w| w.ticket == ticket && w.priority == priority);
            if first && s.free >= n {
                s.waiting.pop();
                s.free -= n;
                // The next in line may be served too if more are free.
                self.turn.notify_all();
                return Slot(self, n);
            }
            s = self.turn.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        s.free += self.1;
        self.0.turn.notify_all();
    }
}

static SLOTS: OnceLock<Slots> = OnceLock::new();

/// Sets the number of slots (before anything used them); the default is
/// one per core.
pub fn init(size: usize) {
    let _ = SLOTS.set(Slots::new(size));
}

/// The slots of this process.
pub fn global() -> &'static Slots {
    SLOTS.get_or_init(|| {
        Slots::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        )
    })
}

/// Applies `f` to every item, as many at a time as there are slots, each
/// call holding a slot; results in the items' order. The next item is
/// chosen when a thread is free: the one of highest `priority` at that
/// moment (estimates may improve while others run), ties in the items'
/// order.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    priority: impl Fn(&T) -> Priority + Sync,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let slots = global();
    let left: Mutex<BTreeMap<usize, ()>> = Mutex::new((0..items.len()).map(|i| (i, ())).collect());
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..slots.size().min(items.len()) {
            s.spawn(|| loop {
                let next = {
                    let mut left = left.lock().unwrap_or_else(|e| e.into_inner());
                    let best = left
                        .keys()
                        .map(|&i| (priority(&items[i]), Reverse(i)))
                        .max();
                    best.map(|(p, Reverse(i))| {
                        left.remove(&i);
                        (i, p)
                    })
                };
                let Some((i, p)) = next else { break };
                let r = {
                    let _slot = slots.acquire(p);
                    f(&items[i])
                };
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn at_most_size_at_once_and_highest_priority_first() {
        let slots = Arc::new(Slots::new(1));
        let held = slots.acquire(Priority::BUILD);
        let order = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = [1u64, 5, 3]
            .into_iter()
            .map(|ms| {
                let (slots, order, running) = (slots.clone(), order.clone(), running.clone());
                std::thread::spawn(move || {
                    let _s = slots.acquire(Priority::run(Duration::from_millis(ms)));
                    assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0);
                    order.lock().unwrap().push(ms);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        // Every waiter queued before the slot is given back.
        while slots.waiting() < 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(held);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![5, 3, 1]);
    }

    #[test]
    fn all_slots_wait_for_what_runs_and_hold_back_the_rest() {
        let slots = Arc::new(Slots::new(2));
        let running = slots.acquire(Priority::run(Duration::from_secs(1)));
        let alone = Arc::new(AtomicUsize::new(0));
        let all = {
            let (slots, alone) = (slots.clone(), alone.clone());
            std::thread::spawn(move || {
                let _all = slots.acquire_all(Priority::BUILD);
                alone.store(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                alone.store(2, Ordering::SeqCst);
            })
        };
        while slots.waiting() < 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // A slot is free, but the one waiting for all is first in line.
        let later = {
            let (slots, alone) = (slots.clone(), alone.clone());
            std::thread::spawn(move || {
                let _s = slots.acquire(Priority::run(Duration::from_secs(9)));
                assert_eq!(alone.load(Ordering::SeqCst), 2, "ran beside the one alone");
            })
        };
        while slots.waiting() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(alone.load(Ordering::SeqCst), 0);
        drop(running);
        all.join().unwrap();
        later.join().unwrap();
    }
}
