//! Checks a manifest's pinned files against a source tree and the project.

use std::path::Path;

use manifest::digest::sha256;
use manifest::{Manifest, PinnedFile};

/// One file that does not match its pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub path: String,
    pub expected: String,
    /// The actual sha256, or None if the file is missing.
    pub actual: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.actual {
            Some(a) => write!(
                f,
                "{}: sha256 {a}, manifest pins {}",
                self.path, self.expected
            ),
            None => write!(
                f,
                "{}: missing (manifest pins {})",
                self.path, self.expected
            ),
        }
    }
}

/// Every file of `files` (paths relative to `root`) that is missing or
/// differs from its pinned sha256, in `files`' order.
pub fn check_files(root: &Path, files: &[PinnedFile]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    check(root, files, &mut out);
    out
}

fn check(root: &Path, files: &[PinnedFile], out: &mut Vec<Mismatch>) {
    for f in files {
        let actual = std::fs::read(root.join(&f.path)).ok().map(|b| sha256(&b));
        if actual.as_deref() != Some(f.sha256.as_str()) {
            out.push(Mismatch {
                path: f.path.clone(),
                expected: f.sha256.clone(),
                actual,
            });
        }
    }
}

/// Every verbatim file against `tree`, every shim and stub against `project`.
pub fn verify(m: &Manifest, tree: &Path, project: &Path) -> std::io::Result<Vec<Mismatch>> {
    let mut out = Vec::new();
    check(tree, &m.verbatim, &mut out);
    check(project, &m.shims, &mut out);
    check(project, &m.stubs, &mut out);
    Ok(out)
}
