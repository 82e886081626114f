//! Benchmarks that need programs run under each allocator: instruction
//! counts from valgrind (repeatable on a noisy machine), wall times of A/B
//! runs interleaved, peak RSS from the kernel.

pub mod run_overhead;
pub mod trace;
pub mod view;
pub mod workloads;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Instructions a command executes, as `valgrind --tool=cachegrind
/// --cache-sim=no` counts them (the whole process, loader and libc
/// included, and every process it runs: gcc's cc1 and as).
pub fn instructions(cmd: Command) -> Result<u64> {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut v = Command::new("valgrind");
    v.args([
        "--tool=cachegrind",
        "--cache-sim=no",
        "--trace-children=yes",
        "--cachegrind-out-file=/dev/null",
    ])
    .arg(&program)
    .args(&args);
    for (k, val) in cmd.get_envs() {
        match val {
            Some(val) => v.env(k, val),
            None => v.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        v.current_dir(d);
    }
    let out = v
        .output()
        .context("running valgrind (apt-get install valgrind)")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "valgrind {} failed ({}):\n{}",
            Path::new(&program).display(),
            out.status,
            stderr
        );
    }
    let counts: Vec<u64> = stderr
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("I   refs:")?;
            rest.trim().replace(',', "").parse::<u64>().ok()
        })
        .collect();
    if counts.is_empty() {
        bail!("no instruction count in valgrind's output:\n{stderr}");
    }
    Ok(counts.iter().sum())
}

/// `bench/c/<name>.c` compiled with `-O2` into `dir`.
pub fn bench_program(name: &str, dir: &Path) -> Result<PathBuf> {
    let src = crate::project().join("bench/c").join(format!("{name}.c"));
    let exe = dir.join(name);
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-O2", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .context("running the C compiler")?;
    if !out.status.success() {
        bail!(
            "compiling {}:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(exe)
}

/// A markdown ratio, with three decimals.
/// The project's release `resolver` binary, built (quietly) first.
pub fn release_resolver(project: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "-q", "-p", "resolver"])
        .current_dir(project)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p resolver failed ({status})");
    }
    Ok(project.join("target/release/resolver"))
}

pub fn ratio(a: u64, b: u64) -> String {
    format!("{:.3}", a as f64 / b as f64)
}
