//! Running test programs: each in its own process group with a hard time
//! limit (the group is killed when it runs out, and after the program
//! exits, so no stray child survives), output to a file.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
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

/// How a run went: glibc's verdict, its wall time and the CPU time (user
/// and system) of the program and every descendant it waited for.
pub struct Ran {
    pub verdict: Verdict,
    pub took: Duration,
    pub cpu: Duration,
}

/// Runs `cmd` with stdin from /dev/null and stdout and stderr into `out`,
/// in a new process group that is killed after `limit`.
pub fn run(mut cmd: Command, out: &Path, limit: Duration) -> std::io::Result<Ran> {
    use std::os::unix::process::ExitStatusExt;
    let file = File::create(out)?;
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0);
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    let mut pause = Duration::from_millis(1);
    let mut timed_out = false;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if timed_out { 0 } else { libc::WNOHANG };
        // SAFETY: wait4 on the pid of the child spawned above, which only
        // this function waits for (std's Child is never waited on).
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if r == pid {
            break (status, usage);
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if !timed_out && start.elapsed() >= limit {
            kill_group(pid);
            timed_out = true;
            continue;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    };
    drop(child);
    let took = start.elapsed();
    // Whatever the program left running in its group goes with it.
    kill_group(pid);
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let verdict = if timed_out {
        Verdict::Fail(format!("timed out after {} s", limit.as_secs()))
    } else {
        Verdict::of(std::process::ExitStatus::from_raw(status))
    };
    Ok(Ran {
        verdict,
        took,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    })
}

/// SIGKILL to the process group that `run` created for its child.
fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals exactly that process
    // group, which `run` created for a child it spawned.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
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
