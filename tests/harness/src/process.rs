//! Running programs for the harness: a program in its own process group
//! under a time limit ([`run`]), and a command line as a shell would take
//! it ([`command_line`]), for messages, reproduction lines and caches.
//!
//! Both conformance suites (xtask) and the system tests
//! (`crates/cli/tests/common/run.rs`) run every program through [`run`].

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};

/// How a run went.
pub struct Ran {
    /// How it ended; `None` when it ran out of time (and its group was
    /// killed).
    pub status: Option<ExitStatus>,
    /// Wall time, from the start to its end (or to the kill).
    pub took: Duration,
    /// CPU time (user and system) of the program and every descendant it
    /// waited for.
    pub cpu: Duration,
    /// Peak resident set size in KiB of the program (or of the largest
    /// descendant it waited for).
    pub max_rss_kib: i64,
    /// What it wrote to a piped stdout (empty if stdout was not piped).
    pub stdout: Vec<u8>,
    /// What it wrote to a piped stderr (empty if stderr was not piped).
    pub stderr: Vec<u8>,
}

/// Runs `cmd` with stdin from /dev/null, in a new process group that gets
/// SIGKILL after `limit`, and again once the program has exited, so no
/// stray child survives. Stdout and stderr go where `cmd` says; piped ones
/// are read while it runs and returned.
pub fn run(cmd: &mut Command, limit: Duration) -> std::io::Result<Ran> {
    cmd.stdin(Stdio::null()).process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let group = Pid::from_raw(pid as i32).expect("a child's pid is positive");
    let stdout = child.stdout.take().map(read_all);
    let stderr = child.stderr.take().map(read_all);
    // The watchdog kills the group at the limit, unless told first that
    // the program ended.
    let (ended, wait_for_end) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || match wait_for_end.recv_timeout(limit) {
        Err(RecvTimeoutError::Timeout) => {
            kill(group);
            true
        }
        _ => false,
    });
    let waited = wait(pid);
    let took = start.elapsed();
    drop(ended);
    let timed_out = watchdog.join().expect("the watchdog thread");
    // Whatever the program left running in its group goes with it.
    kill(group);
    drop(child);
    let (status, cpu, max_rss_kib) = waited?;
    let collect = |h: Option<JoinHandle<Vec<u8>>>| {
        h.map(|h| h.join().expect("a pipe's reader"))
            .unwrap_or_default()
    };
    Ok(Ran {
        status: (!timed_out).then_some(status),
        took,
        cpu,
        max_rss_kib,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// A thread reading `pipe` to its end.
fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for the child `pid` to end: its status, the CPU time it and the
/// descendants it waited for used, and its peak RSS in KiB. (wait4, for
/// those: std's `Child` is never waited on.)
fn wait(pid: u32) -> std::io::Result<(ExitStatus, Duration, i64)> {
    let pid = pid as libc::pid_t;
    loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on the pid of a child this process spawned and
        // that only `run` waits for.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
            return Ok((
                ExitStatus::from_raw(status),
                time(usage.ru_utime) + time(usage.ru_stime),
                usage.ru_maxrss,
            ));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// SIGKILL to the process group that `run` created for its child (gone
/// already is fine).
fn kill(group: Pid) {
    let _ = kill_process_group(group, Signal::KILL);
}

/// `cmd` as a shell line: the variables it sets, the program, the
/// arguments, each quoted where a shell would need it.
pub fn command_line(cmd: &Command) -> String {
    let words = shell_words::join(
        std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(OsStr::to_string_lossy),
    );
    let env = cmd.get_envs().filter_map(|(k, v)| {
        let v = shell_words::quote(&v?.to_string_lossy()).into_owned();
        Some(format!("{}={v}", k.to_string_lossy()))
    });
    env.chain([words]).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_quotes_what_a_shell_would_split() {
        let mut c = Command::new("cc");
        c.env("LD_PRELOAD", "/a b/x.so")
            .args(["-DX=\"y\"", "-o", "out"]);
        assert_eq!(
            command_line(&c),
            "LD_PRELOAD='/a b/x.so' cc '-DX=\"y\"' -o out"
        );
    }

    #[test]
    fn a_run_ends_by_its_status_or_by_the_limit_with_its_group() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; exit 3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let r = run(&mut c, Duration::from_secs(10)).unwrap();
        assert_eq!(r.status.and_then(|s| s.code()), Some(3));
        assert_eq!(
            (&r.stdout[..], &r.stderr[..]),
            (&b"out\n"[..], &b"err\n"[..])
        );

        // A child that outlives the shell holds stdout open: the group's
        // kill at the limit ends both.
        let mut c = Command::new("sh");
        c.args(["-c", "sleep 30 & sleep 30"]).stdout(Stdio::piped());
        let r = run(&mut c, Duration::from_millis(200)).unwrap();
        assert!(r.status.is_none());
        assert!(r.took < Duration::from_secs(10), "{:?}", r.took);
    }
}
