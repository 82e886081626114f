//! What the commands share: the project root, the committed manifests,
//! and running work in parallel behind a progress bar.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use rayon::prelude::*;

use manifest::Manifest;
use resolve::sysdeps::Target;
use resolve::Options;

/// The project root holding `shims/` and `stubs/`: `--project`, else found
/// from the current directory upwards, when a command needs it.
pub struct Project(Option<PathBuf>);

impl Project {
    pub fn new(explicit: Option<PathBuf>) -> Project {
        Project(explicit)
    }

    /// `--project`, else the nearest ancestor of the current directory
    /// holding `shims/prelude.h` and `stubs/`.
    pub fn root(&self) -> Result<PathBuf> {
        if let Some(p) = &self.0 {
            return Ok(p.clone());
        }
        let cwd = std::env::current_dir()?;
        for dir in cwd.ancestors() {
            if dir.join("shims/prelude.h").is_file() && dir.join("stubs").is_dir() {
                return Ok(dir.to_owned());
            }
        }
        bail!(
            "no project root (a directory with shims/prelude.h and stubs/) at or above {}; \
             run inside the repository or pass --project DIR",
            cwd.display()
        )
    }
}

/// How the commands resolve.
pub fn options(project: &Path, max_iters: usize) -> Options {
    Options {
        project: project.to_owned(),
        max_iters,
        target: Target::x86_64_linux(),
    }
}

/// Every manifest committed in `project` (`nix/manifests`), in version order.
pub fn pinned_manifests(project: &Path) -> Result<Vec<PathBuf>> {
    let listed = manifest::committed(project)?;
    if listed.is_empty() {
        bail!(
            "no manifests in {}",
            project.join(manifest::COMMITTED_DIR).display()
        );
    }
    Ok(listed.into_iter().map(|(_, path)| path).collect())
}

/// The manifests in `dir` (`glibc-<version>.yaml`), read, in version order.
pub fn list_manifests(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    manifest::in_dir(dir)?
        .into_iter()
        .map(|(_, path)| Ok((path.clone(), Manifest::load(&path)?)))
        .collect()
}

/// Runs `work` on every item on rayon's pool (one worker per core), with a
/// progress bar; prints every failure and fails if any did, else returns
/// the results in the items' order.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    what: &str,
    work: impl Fn(&T, &indicatif::ProgressBar) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let bar = progress(items.len());
    let results: Vec<Result<R>> = items
        .par_iter()
        .map(|item| {
            let r = work(item, &bar);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut failed = 0;
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} {what}(s) failed", items.len());
    }
    Ok(out)
}

/// Prints a line above the progress bar, or plainly when the bar is hidden
/// (stderr is not a terminal), so logs keep the per-version summary.
pub fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// A progress bar on stderr when it is a terminal (hidden otherwise).
fn progress(n: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}
