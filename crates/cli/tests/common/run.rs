//! Running programs in tests: a clean allocator environment, a time limit,
//! and failure messages that say what ran.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// How long any one program may run before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// A command with none of the environment that changes how an allocator
/// behaves (so results do not depend on the caller's shell).
pub fn clean(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd);
    cmd
}

pub fn clean_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name_str = name.to_string_lossy();
        if name_str.starts_with("MALLOC_")
            || name_str.starts_with("LD_")
            || name_str == "GLIBC_TUNABLES"
            || name_str == "PYTHONMALLOC"
        {
            cmd.env_remove(&name);
        }
    }
    cmd.env("LC_ALL", "C").stdin(Stdio::null());
}

/// `program` on the host with our allocator preloaded.
pub fn preloaded(so: &Path, program: impl AsRef<OsStr>) -> Command {
    let mut cmd = clean(program);
    cmd.env("LD_PRELOAD", so);
    cmd
}

pub use harness::process::command_line as describe;

/// Runs a command to completion (stdin from /dev/null, in its own process
/// group, killed with the group and failing after [`TIMEOUT`]).
pub fn run(cmd: &mut Command) -> Output {
    let what = describe(cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let ran =
        harness::process::run(cmd, TIMEOUT).unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let Some(status) = ran.status else {
        panic!("{what} did not finish within {TIMEOUT:?}");
    };
    Output {
        status,
        stdout: ran.stdout,
        stderr: ran.stderr,
    }
}

/// Runs a command that must exit 0, and returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let what = describe(cmd);
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        tail(&out.stdout),
        tail(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// How a program in `tests/c/` is built.
#[derive(Clone, Copy, PartialEq)]
pub enum Abi {
    /// For the host only (under LD_PRELOAD).
    Host,
    /// Also for the oldest reference glibc: `old_start.c` instead of crt1.o,
    /// no stack protector or fortification, so it asks only for symbol
    /// versions that every version tested here has.
    Old,
}

/// `tests/c/<name>.c` compiled with warnings as errors and `flags`, into
/// `dir` (through a temporary name, so a failed compile leaves nothing);
/// returns the executable.
pub fn compile(name: &str, abi: Abi, flags: &[&str], dir: &Path) -> PathBuf {
    let c = super::project().join("tests/c");
    let exe = dir.join(name);
    let tmp = dir.join(format!(".tmp-{name}-{}", std::process::id()));
    let mut cmd = clean("gcc");
    cmd.args([
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wno-deprecated-declarations",
    ]);
    match abi {
        Abi::Host => {
            cmd.args(["-O2", "-pthread"]);
        }
        Abi::Old => {
            cmd.args([
                "-O0",
                "-fno-stack-protector",
                "-U_FORTIFY_SOURCE",
                "-nostartfiles",
            ])
            .arg(c.join("old_start.c"));
        }
    }
    cmd.args(flags)
        .arg(c.join(format!("{name}.c")))
        .arg("-o")
        .arg(&tmp);
    run_ok(&mut cmd);
    std::fs::rename(&tmp, &exe).unwrap_or_else(|e| panic!("renaming {}: {e}", tmp.display()));
    exe
}
