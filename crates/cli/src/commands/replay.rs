//! `resolver replay`: replay an allocation trace under several versions'
//! allocators and the host's.

use std::path::PathBuf;

use anyhow::{Context, Result};

use manifest::Manifest;
use source::fetch;

use crate::common::{out_dir, pinned_manifests};
use crate::project::Project;
use crate::sources::{self, Sources};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The trace (jsonl).
    trace: PathBuf,
    /// Manifests of the versions to compare; repeat [default: every
    /// manifest in nix/manifests].
    #[arg(long, value_name = "FILE")]
    manifest: Vec<PathBuf>,
    /// Runs per allocator, interleaved; the median time is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Where the shared objects and the replayer are built
    /// [default: <project>/target/malloc, or <cache>/malloc outside a
    /// checkout].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Builds each version's default .so from its pinned source and replays
/// the trace under each and the host's malloc, `rounds` times interleaved.
pub fn run(a: Args, sources: &Sources, project: &Project) -> Result<()> {
    let trace = &a.trace;
    // A missing or unreadable trace is the user's first mistake: say so
    // before building anything.
    std::fs::File::open(trace)
        .with_context(|| format!("cannot read the trace {}", trace.display()))?;
    let out = match a.out {
        Some(o) => o,
        None => project.default_out()?,
    };
    let project = &project.root()?;
    let paths = if a.manifest.is_empty() {
        pinned_manifests(project)?
    } else {
        a.manifest
    };
    // Every manifest is read (and checked) before anything is built.
    let manifests: Vec<(PathBuf, Manifest)> = paths
        .into_iter()
        .map(|p| Ok((p.clone(), Manifest::load(&p)?)))
        .collect::<Result<_>>()?;
    out_dir("--out", &out)?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let replayer = replay::compile(&cc, project, &out)?;
    let mut allocators: Vec<(String, Option<PathBuf>)> = Vec::new();
    let host = fetch::host_glibc()?;
    allocators.push((format!("host glibc {} (libc.so.6)", host.version), None));
    for (path, m) in &manifests {
        let src = sources.pinned(m, path, &sources::stderr)?;
        let built = build::build(
            m,
            &src.root,
            project,
            &build::BuildOptions::new(out.clone(), false),
        )
        .with_context(|| format!("building glibc {}", m.version))?;
        allocators.push((format!("glibc {} (ours)", m.version), Some(built.so)));
    }
    let mut results: Vec<Vec<replay::Measurement>> = vec![Vec::new(); allocators.len()];
    for round in 0..a.rounds.max(1) {
        for (i, (name, so)) in allocators.iter().enumerate() {
            let m = replay::replay(&replayer, trace, so.as_deref())?;
            eprintln!(
                "round {}: {name}: {:.1} ms",
                round + 1,
                m.time_ns as f64 / 1e6
            );
            results[i].push(m);
        }
    }
    let rows: Vec<(String, replay::Measurement)> = allocators
        .iter()
        .zip(results)
        .map(|((name, _), mut runs)| {
            runs.sort_by_key(|m| m.time_ns);
            (name.clone(), runs[runs.len() / 2].clone())
        })
        .collect();
    print!("{}", replay::table(trace, &rows));
    Ok(())
}
