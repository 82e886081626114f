//! `cargo xtask bench view`: the time `resolver view` takes on a large
//! trace (a synthetic one, `replay::view::synthetic_trace`), the size of
//! the page, and how long the page takes to draw one step in headless
//! Chromium (the page's `#bench`: 200 steps spread over the trace, layout
//! included).

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

pub fn run(calls: usize, versions: &[String]) -> Result<()> {
    let project = crate::project();
    let resolver = super::release_resolver(&project)?;
    let work = project.join("target/bench/view");
    std::fs::create_dir_all(&work)?;
    let trace = work.join(format!("synthetic-{calls}.jsonl"));
    std::fs::write(&trace, replay::view::synthetic_trace(calls, 18))?;
    let page = work.join(format!("synthetic-{calls}.html"));
    let mut cmd = Command::new(&resolver);
    cmd.arg("view").arg(&trace).arg("--out").arg(&page);
    cmd.arg("--build-dir").arg(work.join("so"));
    for v in versions {
        cmd.args(["--version", v]);
    }
    // The builds first (not timed): a run that only builds what is missing.
    let warm = cmd.output().context("running resolver view")?;
    if !warm.status.success() {
        bail!(
            "resolver view failed:\n{}",
            String::from_utf8_lossy(&warm.stderr)
        );
    }
    let t = Instant::now();
    let o = cmd.output()?;
    let secs = t.elapsed().as_secs_f64();
    if !o.status.success() {
        bail!(
            "resolver view failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    let bytes = std::fs::metadata(&page)?.len();
    let profile = work.join("chromium-profile");
    let b = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}#step=0&bench", page.display()))
        .output()
        .context("running chromium (install Debian's chromium package)")?;
    let dom = String::from_utf8_lossy(&b.stdout);
    let bench = dom
        .split("data-bench=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the page recorded no step times")?;
    let (worst, mean) = bench.split_once(' ').context("data-bench")?;
    let t = Instant::now();
    let load = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}#step=0", page.display()))
        .output()?;
    let load_secs = t.elapsed().as_secs_f64();
    if !load.status.success() {
        bail!("chromium failed to load the page");
    }
    let md = format!(
        "# `resolver view` on a large trace\n\nCommand: `cargo xtask bench view --calls {calls}`: \
         `resolver view` of a synthetic trace of {calls} calls (`replay::view::synthetic_trace`, \
         seed 18: malloc, calloc, realloc and free, about 4,000 blocks live) under {} \
         (the .so files already built), then the page in headless Chromium.\n\n\
         Machine: {}. Date: {}. {}.\n\n\
         | calls | time to write the page (s) | page (MB) | Chromium: start, load and dump (s) | slowest step drawn (ms) | mean step (ms) |\n\
         |---|---|---|---|---|---|\n\
         | {calls} | {secs:.1} | {:.1} | {load_secs:.1} | {worst} | {mean} |\n\n\
         What `resolver view` said:\n\n```\n{}\n```\n\n\
         Target (issue 18): under 20 MB, steps without stalls. Every call keeps its line \
         (call, size, caller, each version's returned address); the heap is recorded every \
         `calls / {}` calls (rounded up) and, if all versions' chunks then exceed {} records, \
         every other snapshot is dropped until they fit; a step between snapshots shows the \
         one before it and says so.\n",
        if versions.is_empty() {
            "the default versions".to_string()
        } else {
            versions.join(", ")
        },
        crate::machine(),
        crate::date(),
        crate::cc_version(),
        bytes as f64 / 1e6,
        said.trim(),
        replay::view::MAX_SNAPSHOTS,
        replay::view::MAX_CHUNK_RECORDS,
    );
    let out = project.join("bench/results/view.md");
    manifest::write_atomic(&out, md.as_bytes())?;
    print!("{md}");
    println!("{}", out.display());
    Ok(())
}
