//! What the commands share: the committed manifests, and running work in
//! parallel behind a progress bar (the project root is `project.rs`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use rayon::prelude::*;

use manifest::Manifest;
use resolve::sysdeps::Target;
use resolve::Options;

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

/// An error and its causes on one line, each cause once: error types that
/// print their cause in their own message (`...: Not a directory (os error
/// 20)`) and also give it as their source would otherwise say it twice.
/// An OS error nothing explained gets what to do about it.
pub fn describe(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    let io = e
        .chain()
        .skip(1)
        .find_map(|c| c.downcast_ref::<std::io::Error>());
    if let Some(hint) = io.and_then(io_hint) {
        if !line.contains(hint) {
            line.push_str("; ");
            line.push_str(hint);
        }
    }
    line
}

/// What to do about an OS error, where there is something general to say.
fn io_hint(e: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind::*;
    Some(match e.kind() {
        PermissionDenied => "check the permissions of that path, or use another directory",
        ReadOnlyFilesystem => "that file system is read-only: use another directory",
        StorageFull | QuotaExceeded => "the disk is full: free some space",
        NotADirectory => "a part of that path is a file, not a directory",
        IsADirectory => "that path is a directory; give a file",
        AlreadyExists => "a file is in the way (of a directory?): move or remove it",
        _ => return None,
    })
}

/// Checks an output directory option (`--out`) before any work: it is a
/// directory, or can be made one (no part of it is a file).
pub fn out_dir(flag: &str, dir: &Path) -> Result<()> {
    match file_in_the_way(dir) {
        None => Ok(()),
        Some(f) if f == dir => bail!("{flag} {} is a file; give a directory", dir.display()),
        Some(f) => bail!(
            "{flag} {}: {} is a file, so it cannot hold a directory; give a directory",
            dir.display(),
            f.display()
        ),
    }
}

/// Checks an output file option (`--out`) before any work: not a
/// directory, and in one (or where one can be made).
pub fn out_file(flag: &str, file: &Path) -> Result<()> {
    if file.is_dir() {
        bail!(
            "{flag} {} is a directory; give a file, e.g. {}",
            file.display(),
            file.join("graph.dot").display()
        );
    }
    match file.parent().and_then(file_in_the_way) {
        None => Ok(()),
        Some(f) => bail!(
            "{flag} {}: {} is a file, so it cannot hold one; give a file in a directory",
            file.display(),
            f.display()
        ),
    }
}

/// The nearest existing part of `dir` (itself or an ancestor), when that
/// is not a directory.
fn file_in_the_way(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .take_while(|p| !p.as_os_str().is_empty())
        .find_map(|p| std::fs::metadata(p).ok().map(|m| (p, m)))
        .filter(|(_, m)| !m.is_dir())
        .map(|(p, _)| p)
}

/// A count option that must be positive (`--max-iters`, `--rounds`).
pub fn at_least_one(flag: &'static str) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |s: &str| match s.parse::<usize>() {
        Ok(0) => Err(format!("{flag} must be at least 1")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{flag} takes a whole number: {e}")),
    }
}

/// Runs `work` on every item on rayon's pool (one worker per core), with a
/// progress bar; prints every failure and fails if any did, else returns
/// the results in the items' order. A single item's failure is returned as
/// it is (and printed once, by `main`).
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
    if items.len() == 1 {
        return results.into_iter().collect();
    }
    let mut failed = 0;
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(e) => {
                failed += 1;
                eprintln!("error: {}", describe(&e));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that prints its cause and also gives it as its source.
    #[derive(Debug)]
    struct Wraps(std::io::Error);

    impl std::fmt::Display for Wraps {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "out/build-2.36: {}", self.0)
        }
    }

    impl std::error::Error for Wraps {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn describe_says_each_cause_once_and_what_to_do() {
        let io = std::io::Error::from_raw_os_error(20);
        let e = anyhow::Error::new(Wraps(io)).context("building glibc 2.36");
        let line = describe(&e);
        assert_eq!(
            line,
            "building glibc 2.36: out/build-2.36: Not a directory (os error 20); \
             a part of that path is a file, not a directory"
        );
        // A cause not in the message is kept.
        let e = anyhow::Error::new(std::io::Error::from_raw_os_error(2)).context("reading x");
        assert_eq!(
            describe(&e),
            "reading x: No such file or directory (os error 2)"
        );
    }
}
