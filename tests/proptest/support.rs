//! What every crate's property tests (`crates/*/tests/fuzz.rs`, and the
//! unit-test properties of private parsers) share: how many cases they run
//! and a time bound on one case. Included by path (`#[path = ...] mod
//! support;`), so no crate depends on another for it.
//!
//! The fast tier runs a few dozen to a few hundred cases per property (a few
//! seconds each); `PROPTEST_CASES=N` runs N instead (docs/testing.md,
//! "Property tests").

#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use proptest::test_runner::{Config, RngSeed};

/// `cases` cases from a fixed seed, so that the suite runs the same cases
/// every time; with `$PROPTEST_CASES` set, that many from a random seed
/// (or `$PROPTEST_RNG_SEED`). No regression files are written into the
/// source tree: a failure prints its minimal input.
pub fn config(cases: u32) -> Config {
    // Config::default() reads PROPTEST_CASES, PROPTEST_RNG_SEED and the
    // other PROPTEST_* variables.
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
        if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
            c.rng_seed = RngSeed::Fixed(15);
        }
    }
    c.failure_persistence = None;
    c
}

/// How long one case may take before it counts as a hang: generous, since
/// the tests run unoptimised on a machine that may be busy; what it catches
/// is work that does not end (or grows without bound), not slowness.
pub const HANG: Duration = Duration::from_secs(30);

/// Runs `f` on a thread of its own and returns its result, or fails when it
/// takes longer than [`HANG`] (the thread is left behind: the test has
/// failed anyway). A panic in `f` is a panic here.
pub fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(HANG) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what} did not finish within {HANG:?}"),
    }
}
