//! How long a glibc test may run, and when running out of time is the
//! test's fault rather than the machine's.
//!
//! glibc's test driver kills a test after its `TIMEOUT` (20 s unless the
//! test defines its own) x `TIMEOUTFACTOR` seconds of wall time and
//! reports FAIL, "Timed out: killed the child process". Wall time is what a
//! busy machine takes away: the slowest test,
//! `tst-malloc-too-large-malloc-hugetlb2` of Debian's 2.36, 2.41 and 2.43,
//! needs 23 to 28 s of CPU, and timed out at 40 s when other work left it
//! less than 70% of a core (docs/conformance.md, "How long"). So:
//!
//! - a test whose CPU time is known (`durations.txt` of the last run, of
//!   this version or another: [`Timing`]) runs with a `TIMEOUTFACTOR` that
//!   gives it [`HEADROOM`] times that much wall time ([`factor`]), never
//!   less than the base factor;
//! - a run that timed out is judged by the CPU it got ([`judge`]): one that
//!   used most of its time on a core ([`FULL_SHARE`]), or hardly any
//!   ([`BLOCKED_SHARE`]: it was blocked, not starved), timed out on its
//!   own; one that got less was starved by other work, and runs again,
//!   alone (holding every slot, [`super::super::slots`]), with the factor
//!   raised by how starved it was ([`retry_factor`]), up to [`RETRIES`]
//!   times. Only a run that still starves then is a failure, and it says
//!   so.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// glibc's support/test-driver.h `DEFAULT_TIMEOUT`, for tests that define
/// no `TIMEOUT` of their own.
pub const DEFAULT_TIMEOUT: u64 = 20;

/// How many times a test's known CPU time its wall-time limit is at least:
/// room for a test that gets a quarter of a core (two tests and as many
/// other programs on two cores, and then some).
pub const HEADROOM: f64 = 4.0;

/// Our own limit is this much past the driver's: it catches what hangs
/// beyond the driver.
pub const LIMIT_SLACK: u64 = 20;

/// A timed-out run that got at least this share of a core used its time:
/// it timed out on its own.
pub const FULL_SHARE: f64 = 0.75;

/// A timed-out run that got less than this share of a core was blocked
/// (a deadlock, a lost wake-up: asleep, it uses next to nothing), not
/// starved: even at `nice 19` beside one busy process of `nice 0` per core
/// a program gets 1.4% of one.
pub const BLOCKED_SHARE: f64 = 0.005;

/// How many times a starved run is run again.
pub const RETRIES: usize = 2;

/// The most wall time a run again may have (its factor is capped so).
pub const MAX_RETRY_WALL: u64 = 300;

/// What a test took when it last ran.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Wall time, seconds.
    pub wall: f64,
    /// CPU time (user and system, with the children it waited for), seconds.
    pub cpu: f64,
}

/// A version's `durations.txt`: lines `<test> <side> <wall s> <cpu s>`.
pub fn read_durations(path: &Path) -> BTreeMap<(String, String), Timing> {
    parse_durations(&std::fs::read_to_string(path).unwrap_or_default())
}

/// [`read_durations`] of the text. A line without the CPU column (from
/// before it was written) counts its wall time as CPU time.
pub fn parse_durations(text: &str) -> BTreeMap<(String, String), Timing> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let key = (w.next()?.to_string(), w.next()?.to_string());
            let wall: f64 = w.next()?.parse().ok()?;
            let cpu: f64 = w.next().and_then(|c| c.parse().ok()).unwrap_or(wall);
            Some((key, Timing { wall, cpu }))
        })
        .collect()
}

/// The test's own `TIMEOUT` (`#define TIMEOUT <seconds>` in its source),
/// else [`DEFAULT_TIMEOUT`].
pub fn driver_timeout(source: &str) -> u64 {
    let re = regex::Regex::new(r"(?m)^\s*#\s*define\s+TIMEOUT\s+\(?\s*(\d+)\s*\)?\s*$")
        .expect("static regex");
    re.captures(source)
        .and_then(|c| c[1].parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// The `TIMEOUTFACTOR` for a test with this `timeout` whose CPU time is
/// known (or not): `base`, or enough for [`HEADROOM`] times its CPU time.
pub fn factor(base: u64, timeout: u64, cpu: Option<f64>) -> u64 {
    let need = cpu.map_or(0, |c| (c * HEADROOM / timeout as f64).ceil() as u64);
    base.max(need).max(1)
}

/// Our hard limit for a run: the driver's, and [`LIMIT_SLACK`] more.
pub fn limit(timeout: u64, factor: u64) -> Duration {
    Duration::from_secs(timeout * factor + LIMIT_SLACK)
}

/// What a run's time says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Judgement {
    /// It ended before any limit.
    Finished,
    /// It timed out on its own: it used its time, or was blocked.
    TimedOut,
    /// It timed out with this share of a core: other work starved it.
    Starved { share: f64 },
}

/// Judges a run that took `took` of wall time and `cpu` of CPU time and
/// did or did not time out.
pub fn judge(timed_out: bool, took: Duration, cpu: Duration) -> Judgement {
    if !timed_out {
        return Judgement::Finished;
    }
    let share = cpu.as_secs_f64() / took.as_secs_f64().max(1e-3);
    if !(BLOCKED_SHARE..FULL_SHARE).contains(&share) {
        Judgement::TimedOut
    } else {
        Judgement::Starved { share }
    }
}

/// The factor for running again a run that `factor` starved to `share` of
/// a core: enough for the time it had at 1.5 times that share's slowness,
/// at least one more, at most [`MAX_RETRY_WALL`] of wall time.
pub fn retry_factor(factor: u64, timeout: u64, share: f64) -> u64 {
    let want = (factor as f64 * 1.5 / share.max(BLOCKED_SHARE)).ceil() as u64;
    let cap = (MAX_RETRY_WALL / timeout.max(1)).max(factor + 1);
    want.clamp(factor + 1, cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_and_without_cpu() {
        let d = parse_durations("tst-a real 1.5 1.25\ntst-a ours 2 \nbad\n");
        assert_eq!(
            d[&("tst-a".into(), "real".into())],
            Timing {
                wall: 1.5,
                cpu: 1.25
            }
        );
        assert_eq!(d[&("tst-a".into(), "ours".into())].cpu, 2.0);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn timeouts_of_tests() {
        assert_eq!(driver_timeout("int x;\n#define TIMEOUT 100\n"), 100);
        assert_eq!(driver_timeout("#  define TIMEOUT (50)\n"), 50);
        assert_eq!(driver_timeout("#define TIMEOUTFACTOR 3\n"), DEFAULT_TIMEOUT);
        assert_eq!(driver_timeout(""), DEFAULT_TIMEOUT);
    }

    #[test]
    fn heavy_tests_get_room_for_their_cpu_time() {
        // The hugetlb2 test: 25 to 28 s of CPU against 20 s x 2.
        assert_eq!(factor(2, 20, Some(25.0)), 5);
        assert_eq!(factor(2, 20, Some(28.0)), 6);
        assert_eq!(factor(2, 20, Some(0.2)), 2);
        assert_eq!(factor(2, 20, None), 2);
        assert_eq!(factor(8, 20, Some(28.0)), 8);
        assert_eq!(factor(2, 100, Some(13.0)), 2);
        assert_eq!(limit(20, 5), Duration::from_secs(120));
    }

    #[test]
    fn a_timeout_counts_only_with_its_cpu_used_or_blocked() {
        let s = Duration::from_secs;
        assert_eq!(judge(false, s(60), s(1)), Judgement::Finished);
        // 40 s on a core to itself: the test's own timeout.
        assert_eq!(judge(true, s(40), s(39)), Judgement::TimedOut);
        // Asleep all along: a hang.
        assert_eq!(judge(true, s(40), s(0)), Judgement::TimedOut);
        // Half a core (the failure of issue 15): starved.
        assert_eq!(judge(true, s(40), s(20)), Judgement::Starved { share: 0.5 });
        assert_eq!(retry_factor(2, 20, 0.5), 6);
        assert_eq!(retry_factor(2, 20, 0.7), 5);
        assert_eq!(retry_factor(2, 100, 0.1), 3);
        assert_eq!(retry_factor(5, 20, 0.06), 15);
        // Starved to 1% of a core: at most 300 s.
        assert_eq!(
            judge(true, s(100), s(1)),
            Judgement::Starved { share: 0.01 }
        );
        assert_eq!(retry_factor(2, 20, 0.01), 15);
    }
}
