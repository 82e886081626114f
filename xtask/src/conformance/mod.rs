//! `cargo xtask conformance [VERSION...]`: proof that each .so behaves as the
//! real glibc of its version. For every version it fetches the pinned source,
//! builds the .so with `resolver build`'s library, fetches Debian's real
//! libc6 of that version (where one exists), and runs the suites:
//!
//! - `differential` ([`differential`]): our deterministic C programs, whose
//!   output under the real glibc of the version and under our .so on the
//!   host must be identical;
//! - `glibc-tests` ([`glibc_tests`]): glibc's own `malloc/tst-*` of that
//!   version, built from its tree, whose verdicts must match the real glibc's
//!   test for test, and every in-scope test must pass.
//!
//! Each suite yields one line `<version> <suite> <passed>/<total>`; the
//! matrix is also written as a markdown table.

pub mod differential;
pub mod glibc_tests;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use resolver::build::{build, BuildOptions};
use resolver::fetch::{self, ReferenceLibc};
use resolver::manifest::Manifest;
use resolver::source::Cache;

/// Everything a suite needs about one version.
pub struct Version {
    pub manifest: Manifest,
    /// The pinned glibc source tree.
    pub tree: PathBuf,
    /// Our shared object of this version.
    pub so: PathBuf,
    /// The real glibc of this version, if Debian's archive has it.
    pub reference: Option<ReferenceLibc>,
    /// Why there is no reference, when there is none.
    pub no_reference: Option<String>,
    /// A scratch directory for this version's builds and runs.
    pub work: PathBuf,
}

/// One suite's outcome for one version.
#[derive(Clone, Debug)]
pub struct SuiteResult {
    pub version: String,
    pub suite: &'static str,
    pub passed: usize,
    pub total: usize,
    /// One line per failing case: what and the first difference.
    pub failures: Vec<String>,
    /// Remarks that belong with the numbers (e.g. "no reference libc").
    pub notes: Vec<String>,
}

impl SuiteResult {
    /// The summary line `<version> <suite> <passed>/<total>`.
    pub fn line(&self) -> String {
        format!(
            "{} {} {}/{}",
            self.version, self.suite, self.passed, self.total
        )
    }
}

/// The project root.
pub fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Fetches, builds and finds the reference for one version.
pub fn prepare(version: &str, cache: &Cache) -> Result<Version> {
    let mpath = project().join(format!("nix/manifests/glibc-{version}.yaml"));
    let manifest = Manifest::load(&mpath)
        .with_context(|| format!("no pinned manifest for glibc {version}"))?;
    let src = crate::pinned_source(&manifest, cache)?;
    let work = project().join("target/conformance").join(version);
    std::fs::create_dir_all(&work)?;
    let built = build(
        &manifest,
        &src.root,
        &project(),
        &BuildOptions::new(work.join("so"), false),
    )
    .with_context(|| format!("building glibc {version}"))?;
    let (reference, no_reference) = match fetch::reference_libc(version, cache, None) {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Version {
        manifest,
        tree: src.root,
        so: built.so,
        reference,
        no_reference,
        work,
    })
}

/// Renders the matrix as a markdown table.
pub fn table(results: &[SuiteResult]) -> String {
    let mut md =
        String::from("| glibc | suite | passed | total | notes |\n|---|---|---|---|---|\n");
    for r in results {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.version,
            r.suite,
            r.passed,
            r.total,
            r.notes.join("; ")
        ));
    }
    md
}

/// The first line of `<cc> --version` (empty if it cannot run).
pub fn compiler_version(cc: &str) -> String {
    std::process::Command::new(cc)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default()
}
