//! Replaying a jsonl allocation trace (from a `--trace` build) against
//! several allocators: `tools/replay.c`, compiled with the C compiler, runs
//! the trace's calls in order under `LD_PRELOAD` of each shared object (or
//! on the host's own malloc) and prints its measurements as one JSON line;
//! this module runs it and renders the side-by-side table.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

pub mod view;

/// Errors from replaying.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("compiling the replayer failed:\n{command}\n{stderr}")]
    Compile { command: String, stderr: String },
    #[error("replaying on {on} failed ({status}):\n{stderr}")]
    Run {
        on: String,
        status: String,
        stderr: String,
    },
    #[error("the replayer on {on} printed no measurements ({message}):\n{stdout}")]
    Output {
        on: String,
        message: String,
        stdout: String,
    },
}

/// What one replay measured (see `tools/replay.c`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Measurement {
    pub ops: u64,
    pub unmatched: u64,
    pub time_ns: u64,
    pub peak_rss_kb: i64,
    pub peak_live: u64,
    pub peak_heap: u64,
    pub live_at_peak_heap: u64,
    pub end_heap: u64,
    pub end_live: u64,
}

impl Measurement {
    /// Heap held per live byte at the allocator's peak (1.0 is none wasted).
    pub fn overhead_at_peak(&self) -> f64 {
        self.peak_heap as f64 / self.live_at_peak_heap.max(1) as f64
    }
}

/// Compiles `<project>/tools/replay.c` into `dir` with `cc -O2`; returns the
/// executable.
pub fn compile(cc: &str, project: &Path, dir: &Path) -> Result<PathBuf, ReplayError> {
    std::fs::create_dir_all(dir).map_err(|source| ReplayError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let src = project.join("tools/replay.c");
    let exe = dir.join("replay");
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tmp = dir.join(format!(
        ".replay-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let mut cmd = Command::new(cc);
    cmd.args(["-O2", "-Wall", "-o"])
        .arg(&tmp)
        .arg(&src)
        .arg("-ldl");
    let out = cmd.output().map_err(|source| ReplayError::Io {
        path: PathBuf::from(cc),
        source,
    })?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReplayError::Compile {
            command: format!("{cmd:?}"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    std::fs::rename(&tmp, &exe).map_err(|source| ReplayError::Io {
        path: exe.clone(),
        source,
    })?;
    Ok(exe)
}

/// `replayer` with `so` preloaded (`None`: the host's own malloc) and none
/// of the caller's environment that changes an allocator's behaviour.
fn replayer_command(replayer: &Path, so: Option<&Path>) -> Command {
    let mut cmd = Command::new(replayer);
    for (k, _) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if name.starts_with("MALLOC_") || name.starts_with("LD_") || name == "GLIBC_TUNABLES" {
            cmd.env_remove(&k);
        }
    }
    if let Some(so) = so {
        cmd.env("LD_PRELOAD", so);
    }
    cmd
}

/// Replays `trace` with `replayer` on `so` (`None`: the host's own malloc).
pub fn replay(
    replayer: &Path,
    trace: &Path,
    so: Option<&Path>,
) -> Result<Measurement, ReplayError> {
    let on = so.map_or("the host's malloc".to_string(), |s| s.display().to_string());
    let mut cmd = replayer_command(replayer, so);
    cmd.arg(trace);
    let out = cmd.output().map_err(|source| ReplayError::Io {
        path: replayer.to_owned(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(ReplayError::Run {
            on,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    serde_json::from_str(stdout.trim()).map_err(|e| ReplayError::Output {
        on,
        message: e.to_string(),
        stdout,
    })
}

/// The side-by-side table: one row per allocator.
pub fn table(trace: &Path, rows: &[(String, Measurement)]) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut md = format!(
        "Replay of {} ({} calls, single-threaded, in the trace's order)\n\n\
         | allocator | time (ms) | peak RSS (MiB) | peak heap (MiB) | live then (MiB) | heap / live | end heap (MiB) | end live (MiB) |\n\
         |---|---|---|---|---|---|---|---|\n",
        trace.display(),
        rows.first().map_or(0, |(_, m)| m.ops)
    );
    for (name, m) in rows {
        md.push_str(&format!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.3} | {:.1} | {:.1} |\n",
            m.time_ns as f64 / 1e6,
            m.peak_rss_kb.max(0) as f64 / 1024.0,
            mib(m.peak_heap),
            mib(m.live_at_peak_heap),
            m.overhead_at_peak(),
            mib(m.end_heap),
            mib(m.end_live),
        ));
    }
    if let Some((_, m)) = rows.iter().find(|(_, m)| m.unmatched > 0) {
        md.push_str(&format!(
            "\n{} frees or reallocs named pointers the trace never returned (made before \
             tracing started); they were replayed as nothing and as malloc.\n",
            m.unmatched
        ));
    }
    md
}
