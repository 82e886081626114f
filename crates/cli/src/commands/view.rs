//! `resolver view`: a trace replayed under several versions' allocators,
//! drawn into one self-contained HTML file (the heap after each call, as
//! each allocator's own chunks and bins say; `replay::view`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use manifest::Manifest;

use crate::common::{out_dir, out_file, pinned_manifests};
use crate::project::Project;
use crate::sources::{self, Sources};

/// The versions drawn by default: spread over the pinned range.
const DEFAULT_VERSIONS: &[&str] = &["2.23", "2.27", "2.31", "2.35"];

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The trace (jsonl).
    trace: PathBuf,
    /// A pinned version to draw; repeat [default: 2.23, 2.27, 2.31, 2.35
    /// and the newest pinned].
    #[arg(long = "version", value_name = "V")]
    versions: Vec<String>,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    out: PathBuf,
    /// Where the shared objects and the replayer are built
    /// [default: <project>/target/malloc, or <cache>/malloc outside a
    /// checkout].
    #[arg(long, value_name = "DIR")]
    build_dir: Option<PathBuf>,
}

pub fn run(a: Args, sources: &Sources, project: &Project) -> Result<()> {
    // The trace is read and checked before anything is built.
    let calls = replay::view::read_trace(&a.trace)?;
    out_file("--out", &a.out)?;
    let build_dir = match a.build_dir {
        Some(o) => o,
        None => project.default_out()?,
    };
    let root = &project.root()?;
    let pinned: Vec<(String, PathBuf)> = pinned_manifests(root)?
        .into_iter()
        .filter_map(|p| {
            let v = p.file_stem()?.to_str()?.strip_prefix("glibc-")?.to_string();
            Some((v, p))
        })
        .collect();
    let wanted: Vec<String> = if a.versions.is_empty() {
        let mut v: Vec<String> = DEFAULT_VERSIONS.iter().map(|s| s.to_string()).collect();
        if let Some((newest, _)) = pinned.last() {
            if !v.contains(newest) {
                v.push(newest.clone());
            }
        }
        v
    } else {
        a.versions.clone()
    };
    let mut manifests: Vec<(PathBuf, Manifest)> = Vec::new();
    for v in &wanted {
        let Some((_, path)) = pinned.iter().find(|(pv, _)| pv == v) else {
            bail!(
                "--version {v}: not a pinned version (pinned: {})",
                pinned
                    .iter()
                    .map(|(v, _)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        manifests.push((path.clone(), Manifest::load(path)?));
    }
    out_dir("--build-dir", &build_dir)?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let replayer = replay::compile(&cc, root, &build_dir)?;
    let every = replay::view::snapshot_every(calls.len());
    let mut runs = Vec::new();
    for (path, m) in &manifests {
        let src = sources.pinned(m, path, &sources::stderr)?;
        let built = build::build(
            m,
            &src.root,
            root,
            &build::BuildOptions::new(build_dir.clone(), false),
        )
        .with_context(|| format!("building glibc {}", m.version))?;
        let t = std::time::Instant::now();
        let run = replay::view::replay_view(&replayer, &a.trace, &built.so, every)?;
        eprintln!(
            "glibc {}: {} calls replayed, {} heap snapshots, {:.1} s{}",
            m.version,
            run.steps.len(),
            run.snapshots.len(),
            t.elapsed().as_secs_f64(),
            run.died
                .as_ref()
                .map(|(at, why)| format!("; died at call {at}: {why}"))
                .unwrap_or_default()
        );
        runs.push((format!("glibc {}", m.version), run));
    }
    let kept = replay::view::thin(&mut runs);
    let html = replay::view::render(&a.trace, &calls, &runs, every * kept);
    manifest::fs::write_atomic(&a.out, html.as_bytes())
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "{} calls; the heap recorded every {} calls; {:.1} MB",
        calls.len(),
        every * kept,
        html.len() as f64 / 1e6
    );
    println!("{}", a.out.display());
    Ok(())
}
