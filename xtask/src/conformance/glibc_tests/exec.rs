//! Running test programs: each in its own process group with a hard time
//! limit (the group is killed when it runs out, and after the program
//! exits, so no stray child survives: [`harness::process::run`]), output to
//! a file.

use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use harness::process;

/// glibc's verdict for a test program's exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Unsupported,
    /// How it failed: `exit 1`, `signal 6`, `timed out after 60 s`.
    Fail(String),
}

impl Verdict {
    /// glibc's support test driver: 0 passes, 77 is unsupported, anything
    /// else (including death by a signal) fails.
    pub fn of(status: ExitStatus) -> Verdict {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(0), _) => Verdict::Pass,
            (Some(77), _) => Verdict::Unsupported,
            (Some(c), _) => Verdict::Fail(format!("exit {c}")),
            (None, Some(s)) => Verdict::Fail(format!("signal {s}")),
            (None, None) => Verdict::Fail("unknown status".to_string()),
        }
    }

    /// The word glibc's test summaries use.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Unsupported => "UNSUPPORTED",
            Verdict::Fail(_) => "FAIL",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Fail(how) => write!(f, "FAIL ({how})"),
            v => f.write_str(v.word()),
        }
    }
}

/// How a run went: glibc's verdict, its wall time and the CPU time (user
/// and system) of the program and every descendant it waited for.
pub struct Ran {
    pub verdict: Verdict,
    pub took: Duration,
    pub cpu: Duration,
    /// It ran out of time: our limit killed it, or glibc's test driver
    /// killed the test and said "Timed out".
    pub timed_out: bool,
}

/// Runs `cmd` with stdin from /dev/null and stdout and stderr into `out`,
/// in a new process group that is killed after `limit` ([`process::run`]).
pub fn run(mut cmd: Command, out: &Path, limit: Duration) -> std::io::Result<Ran> {
    let file = File::create(out)?;
    cmd.stdout(file.try_clone()?).stderr(file);
    let ran = process::run(&mut cmd, limit)?;
    let verdict = match ran.status {
        Some(status) => Verdict::of(status),
        None => Verdict::Fail(format!("timed out after {} s", limit.as_secs())),
    };
    let timed_out = match &verdict {
        Verdict::Fail(_) => ran.status.is_none() || driver_timed_out(out),
        _ => false,
    };
    Ok(Ran {
        verdict,
        took: ran.took,
        cpu: ran.cpu,
        timed_out,
    })
}

/// Whether glibc's test driver (support_test_main.c, or test-skeleton.c up
/// to 2.24) killed the test for its time: it prints `Timed out: ...`.
fn driver_timed_out(out: &Path) -> bool {
    std::fs::read(out).is_ok_and(|b| {
        String::from_utf8_lossy(&b)
            .lines()
            .any(|l| l.starts_with("Timed out: "))
    })
}

/// The first `n` non-empty lines of a file, for failure messages.
pub fn head(path: &Path, n: usize) -> String {
    std::fs::read(path)
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(n)
                .map(|l| l.chars().take(200).collect::<String>())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

/// [`head`], or `(no output)`.
pub fn head_or_none(path: &Path, n: usize) -> String {
    let h = head(path, n);
    if h.is_empty() {
        "(no output)".to_string()
    } else {
        h
    }
}
