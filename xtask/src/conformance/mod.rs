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
//! Each suite yields one line `<version> <suite> <passed>/<total>` (with
//! `(<n> unsupported)` when some cases were UNSUPPORTED under both libcs:
//! neither passed nor failed); the matrix is also written as a markdown
//! table, and the last line sums up `conformance: N passed, N failed, N
//! unsupported`.
//!
//! Every version is checked at once: each in its own thread, every
//! program they run (compilers, tests, cases) taking one of the machine's
//! slots ([`slots`]), builds first, then the runs of all versions longest
//! first. Fetching (the cache, apt) is one version at a time
//! ([`fetching`]).

pub mod differential;
pub mod glibc_tests;
pub mod slots;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};

use build::{build, BuildOptions};
use harness::ReferenceLibc;
use manifest::{Manifest, Origin};
use source::{parse_version, Cache};

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
    /// Cases the real glibc and ours both report UNSUPPORTED (glibc's test
    /// driver: exit 77), or ours without a reference: not counted as passed.
    pub unsupported: usize,
    pub total: usize,
    /// One line per failing case: what and the first difference.
    pub failures: Vec<String>,
    /// Remarks that belong with the numbers (e.g. "no reference libc").
    pub notes: Vec<String>,
}

impl SuiteResult {
    /// The summary line `<version> <suite> <passed>/<total>[ (<n> unsupported)]`.
    pub fn line(&self) -> String {
        format!("{} {} {}", self.version, self.suite, self.counts())
    }

    /// `<passed>/<total>`, and `(<n> unsupported)` when there are any.
    pub fn counts(&self) -> String {
        let mut s = format!("{}/{}", self.passed, self.total);
        if self.unsupported > 0 {
            s.push_str(&format!(" ({} unsupported)", self.unsupported));
        }
        s
    }

    /// The cases that failed (at least one per failure line).
    pub fn failed(&self) -> usize {
        (self.total.saturating_sub(self.passed + self.unsupported)).max(self.failures.len())
    }
}

/// The last line of a run: `conformance: N passed, N failed, N
/// unsupported` (a suite that could not run counts one failure).
pub fn summary(checked: &[Checked]) -> (String, usize) {
    let errors: usize = checked.iter().map(|c| c.errors.len()).sum();
    let results = checked.iter().flat_map(|c| &c.results);
    let passed: usize = results.clone().map(|r| r.passed).sum();
    let failed: usize = errors + results.clone().map(SuiteResult::failed).sum::<usize>();
    let unsupported: usize = results.map(|r| r.unsupported).sum();
    (
        format!("conformance: {passed} passed, {failed} failed, {unsupported} unsupported"),
        failed,
    )
}

/// The project root.
pub fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Held while fetching into the cache: apt's lists and downloads take a
/// lock of their own, and one fetch at a time is what the cache is
/// written for; cached answers are quick.
pub fn fetching() -> MutexGuard<'static, ()> {
    static FETCH: Mutex<()> = Mutex::new(());
    FETCH.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fetches, builds and finds the reference for one version.
/// With `patches`, the build is the patched variant, in a work directory of
/// its own (`target/conformance/<version>+<name>`).
pub fn prepare(version: &str, cache: &Cache, patches: &build::PatchSet) -> Result<Version> {
    let mpath = manifest::committed_path(&project(), version);
    let manifest = Manifest::load(&mpath)
        .with_context(|| format!("no pinned manifest for glibc {version}"))?;
    let (src, reference, no_reference) = {
        let _fetching = fetching();
        let src = crate::pinned_source(&manifest, cache)?;
        match harness::reference_libc(version, cache, None) {
            Ok(r) => (src, Some(r), None),
            Err(e) => (src, None, Some(e.to_string())),
        }
    };
    let work = project().join("target/conformance").join(format!(
        "{version}{}",
        manifest::plan::patch_suffix(&patches.ids())
    ));
    std::fs::create_dir_all(&work)?;
    let built = {
        // One compiler at a time, in one slot.
        let _slot = slots::global().acquire(slots::Priority::BUILD);
        let mut opts = BuildOptions::new(work.join("so"), false);
        opts.jobs = 1;
        opts.patches = patches.clone();
        build(&manifest, &src.root, &project(), &opts)
            .with_context(|| format!("building glibc {version}"))?
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

/// A suite: its name and what runs it for one version.
pub type Suite = (&'static str, fn(&Version) -> Result<SuiteResult>);

/// The suites, in the table's order.
pub const SUITES: [Suite; 2] = [
    ("differential", differential::run),
    ("glibc-tests", glibc_tests::run),
];

/// Checks one version with `suites`, all at once (a version's glibc tests
/// build while its differential cases, the shortest runs of all, wait for
/// the cores), printing each suite's line, failures and notes as it ends.
pub fn check(version: &str, cache: &Cache, suites: &[Suite], patches: &build::PatchSet) -> Checked {
    static STDOUT: Mutex<()> = Mutex::new(());
    let print = |text: String| {
        let _out = STDOUT.lock().unwrap_or_else(|e| e.into_inner());
        print!("{text}");
    };
    let mut checked = Checked {
        version: version.to_string(),
        prepared: None,
        results: Vec::new(),
        errors: Vec::new(),
    };
    let ver = match prepare(version, cache, patches) {
        Ok(ver) => ver,
        Err(e) => {
            print(format!("{version}: ERROR {e:#}\n"));
            checked.errors.push(format!("{e:#}"));
            return checked;
        }
    };
    let outcomes: Vec<(&str, Result<SuiteResult>)> = crate::at_once(suites, |&(name, run)| {
        let r = run(&ver).with_context(|| format!("glibc {version}: {name}"));
        match &r {
            Ok(r) => {
                let mut text = format!("{}\n", r.line());
                for f in &r.failures {
                    text.push_str(&format!("  FAIL {f}\n"));
                }
                for n in &r.notes {
                    text.push_str(&format!("  note: {n}\n"));
                }
                print(text);
            }
            Err(e) => print(format!("{version} {name}: ERROR {e:#}\n")),
        }
        (name, r)
    });
    for (name, r) in outcomes {
        match r {
            Ok(r) => checked.results.push(r),
            Err(e) => checked.errors.push(format!("{name}: {e:#}")),
        }
    }
    checked.prepared = Some(Row::of(&ver));
    checked
}

/// What checking one version gave.
pub struct Checked {
    pub version: String,
    /// What the table says about the version itself (none if it could not
    /// be fetched and built).
    pub prepared: Option<Row>,
    pub results: Vec<SuiteResult>,
    /// Suites (or the preparation) that could not run, and why.
    pub errors: Vec<String>,
}

/// The table's facts about a version: where its source is pinned, the
/// features its manifest found, what it is compared with.
pub struct Row {
    pub source: String,
    pub features: String,
    pub reference: String,
}

impl Row {
    pub fn of(v: &Version) -> Row {
        let source = match &v.manifest.source.origin {
            Origin::Debian {
                package, version, ..
            } => format!("Debian {package} {version}"),
            Origin::Gnu { .. } => "GNU release tarball".to_string(),
            Origin::Tarball { file_name, .. } => format!("tarball {file_name}"),
            Origin::Git { tag, .. } => format!("git tag {tag}"),
            Origin::Tree => "a source tree".to_string(),
        };
        // The manifest's true features, in name order (`tunables` among
        // them where its build has them: the version's configure default,
        // off in 2.25).
        let features: Vec<&str> = v.manifest.features.enabled().map(|f| f.name()).collect();
        let reference = match &v.reference {
            Some(r) => format!(
                "Debian libc6 {}",
                r.debian_version.as_deref().unwrap_or(&r.version)
            ),
            None => "ours alone".to_string(),
        };
        Row {
            source,
            features: features.join(", "),
            reference,
        }
    }
}

const HEADER: &str =
    "| glibc | source pinned | features | reference | differential | glibc-tests |\n\
                      |---|---|---|---|---|---|\n";

/// One row's cells, the version first.
fn cells(c: &Checked) -> Vec<String> {
    let (source, features, reference) = match &c.prepared {
        Some(r) => (r.source.clone(), r.features.clone(), r.reference.clone()),
        None => ("?".into(), "?".into(), "?".into()),
    };
    let mut row = vec![c.version.clone(), source, features, reference];
    for (suite, _) in SUITES {
        row.push(match c.results.iter().find(|r| r.suite == suite) {
            Some(r) => r.counts(),
            None if c.errors.iter().any(|e| e.starts_with(&format!("{suite}:"))) => {
                "error".to_string()
            }
            None if c.prepared.is_none() => "error".to_string(),
            None => "-".to_string(),
        });
    }
    row
}

fn render(mut rows: Vec<Vec<String>>) -> String {
    rows.sort_by_key(|r| parse_version(&r[0]));
    let mut md = HEADER.to_string();
    for r in rows {
        md.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    md
}

/// The matrix as a markdown table: one row per version, passed/total per
/// suite and how many were unsupported, if any (`-`: not run). No machine paths and no timings: it is the same
/// on every machine that gets the same results.
pub fn table(checked: &[Checked]) -> String {
    render(checked.iter().map(cells).collect())
}

/// `old` (the table in docs/conformance.md) with the rows of `checked` put in: a
/// version's row is replaced, but the column of a suite that was not run
/// keeps its old cell; versions not checked keep their rows. An old table
/// of another layout is dropped.
pub fn merge_table(old: &str, checked: &[Checked]) -> String {
    let mut lines = old.trim().lines();
    let same_layout = lines.next().map(str::trim) == HEADER.lines().next();
    let mut rows: Vec<Vec<String>> = Vec::new();
    if same_layout {
        for line in lines.skip(1) {
            let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
            let row: Vec<String> = inner.split(" | ").map(|c| c.trim().to_string()).collect();
            if row.len() == 4 + SUITES.len() {
                rows.push(row);
            }
        }
    }
    for c in checked {
        let mut new = cells(c);
        if let Some(old) = rows.iter().position(|r| r[0] == c.version) {
            let old = rows.remove(old);
            for (i, cell) in new.iter_mut().enumerate().skip(4) {
                if cell == "-" {
                    *cell = old[i].clone();
                }
            }
        }
        rows.push(new);
    }
    render(rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(version: &str, suites: &[(&'static str, usize, usize)]) -> Checked {
        with_unsupported(
            version,
            &suites
                .iter()
                .map(|&(s, p, t)| (s, p, 0, t))
                .collect::<Vec<_>>(),
        )
    }

    fn with_unsupported(version: &str, suites: &[(&'static str, usize, usize, usize)]) -> Checked {
        Checked {
            version: version.to_string(),
            prepared: Some(Row {
                source: "GNU release tarball".to_string(),
                features: "fastbins, tcache".to_string(),
                reference: "ours alone".to_string(),
            }),
            results: suites
                .iter()
                .map(|&(suite, passed, unsupported, total)| SuiteResult {
                    version: version.to_string(),
                    suite,
                    passed,
                    unsupported,
                    total,
                    failures: Vec::new(),
                    notes: vec!["/a/machine/path 1.5 s".to_string()],
                })
                .collect(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn one_row_per_version_in_version_order_without_notes() {
        let t = table(&[
            checked("2.10", &[("differential", 3, 4)]),
            checked("2.9", &[("differential", 1, 1), ("glibc-tests", 2, 2)]),
        ]);
        let rows: Vec<&str> = t.lines().skip(2).collect();
        assert_eq!(
            rows,
            [
                "| 2.9 | GNU release tarball | fastbins, tcache | ours alone | 1/1 | 2/2 |",
                "| 2.10 | GNU release tarball | fastbins, tcache | ours alone | 3/4 | - |",
            ]
        );
        assert!(!t.contains("/a/machine/path"));
    }

    #[test]
    fn unsupported_is_counted_apart_from_passed_and_failed() {
        let c = [
            with_unsupported(
                "2.44",
                &[("differential", 69, 0, 69), ("glibc-tests", 196, 41, 239)],
            ),
            with_unsupported("2.36", &[("glibc-tests", 90, 3, 98)]),
        ];
        assert_eq!(
            c[0].results[1].line(),
            "2.44 glibc-tests 196/239 (41 unsupported)"
        );
        assert_eq!(c[0].results[0].line(), "2.44 differential 69/69");
        assert_eq!(
            table(&c[..1]).lines().nth(2),
            Some("| 2.44 | GNU release tarball | fastbins, tcache | ours alone | 69/69 | 196/239 (41 unsupported) |")
        );
        // 2 of 2.44's glibc tests and 5 of 2.36's failed.
        assert_eq!(
            summary(&c),
            (
                "conformance: 355 passed, 7 failed, 44 unsupported".to_string(),
                7
            )
        );
        // The row reads back when merged.
        let merged = merge_table(&table(&c), &[]);
        assert!(merged.contains("| 196/239 (41 unsupported) |"), "{merged}");
    }

    #[test]
    fn merging_keeps_other_versions_and_suites_not_run() {
        let old = table(&[
            checked("2.9", &[("differential", 1, 1), ("glibc-tests", 2, 2)]),
            checked("2.10", &[("differential", 3, 3), ("glibc-tests", 5, 5)]),
        ]);
        let merged = merge_table(&old, &[checked("2.10", &[("differential", 4, 4)])]);
        let rows: Vec<&str> = merged.lines().skip(2).collect();
        assert_eq!(
            rows,
            [
                "| 2.9 | GNU release tarball | fastbins, tcache | ours alone | 1/1 | 2/2 |",
                "| 2.10 | GNU release tarball | fastbins, tcache | ours alone | 4/4 | 5/5 |",
            ]
        );
        // A table of another layout is replaced.
        let other = "| glibc | suite | passed |\n|---|---|---|\n| 2.9 | x | 1 |\n";
        assert_eq!(
            merge_table(other, &[checked("2.10", &[])]).lines().count(),
            3
        );
    }
}

/// `cargo xtask conformance --patch` on the host's version: the differential
/// suite on the build without the tcache double-free check differs from the
/// real glibc in exactly the case that checks it, and in nothing else.
#[cfg(all(test, feature = "system-tests"))]
mod patched {
    use super::*;

    #[test]
    fn a_patched_build_differs_from_the_real_glibc_exactly_where_the_patch_says() {
        let patch =
            project().join("examples/patches/no-double-free-check/2.32/no-double-free-check.diff");
        let patches = build::PatchSet::load(&[patch]).unwrap();
        let cache = Cache::default_location().unwrap();
        let checked = check("2.36", &cache, &[SUITES[0]], &patches);
        assert!(checked.errors.is_empty(), "{:?}", checked.errors);
        let [r] = checked.results.as_slice() else {
            panic!("one suite ran")
        };
        assert_eq!(r.failed(), 1, "{:?}", r.failures);
        assert!(
            r.failures[0].starts_with("abort_tcache_double_free: "),
            "{:?}",
            r.failures
        );
        // Unpatched, that case is as the real glibc.
        let plain = check("2.36", &cache, &[SUITES[0]], &build::PatchSet::default());
        assert!(plain.errors.is_empty(), "{:?}", plain.errors);
        assert_eq!(
            plain.results[0].failed(),
            0,
            "{:?}",
            plain.results[0].failures
        );
    }
}
