//! Running test programs: each in its own process group with a hard time
//! limit (the group is killed when it runs out, and after the program
//! exits, so no stray child survives), output to a file; and a small pool
//! that runs jobs a few at a time.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Runs `cmd` with stdin from /dev/null and stdout and stderr into `out`,
/// in a new process group that is killed after `limit`.
pub fn run(mut cmd: Command, out: &Path, limit: Duration) -> std::io::Result<(Verdict, Duration)> {
    let file = File::create(out)?;
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let group = child.id() as i32;
    let mut pause = Duration::from_millis(1);
    let verdict = loop {
        if let Some(status) = child.try_wait()? {
            break Verdict::of(status);
        }
        if start.elapsed() >= limit {
            kill_group(group);
            let _ = child.wait();
            break Verdict::Fail(format!("timed out after {} s", limit.as_secs()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    };
    let took = start.elapsed();
    // Whatever the program left running in its group goes with it.
    kill_group(group);
    Ok((verdict, took))
}

/// SIGKILL to the process group that `run` created for its child.
fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals exactly that process
    // group, which `run` created for a child it spawned.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// Applies `f` to every item, `jobs` at a time, keeping the order of the
/// results.
pub fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().expect("lock")[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .expect("lock")
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
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
