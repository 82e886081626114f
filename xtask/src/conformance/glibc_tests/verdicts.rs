//! The real glibc's verdicts, kept across runs. A test binary's verdict on
//! a C library does not change while nothing it depends on does, so a PASS
//! or UNSUPPORTED of the real glibc is kept in the cache outside the
//! repository (`<cache>/conformance-verdicts/<key>.{verdict,out}`), keyed
//! by the sha256 of everything the run depends on: the test binary and the
//! libraries of its own that it loads, the real glibc's loader and
//! libraries (and the libgcc_s it is given), the test's environment and
//! timeout factor, and the facts of the machine that glibc's tests look at
//! (kernel release, cores, huge pages, transparent huge pages, overcommit).
//! A FAIL is never kept (it runs again), nor is any run of our .so.
//!
//! CI starts from an empty cache, where this saves nothing; on a developer's
//! machine it takes the reference's half of the runs out of a rerun of the
//! versions that have one (`--rerun-reference` runs them all again).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::exec::Verdict;

/// Bumped when what a verdict depends on changes.
const SCHEMA: &str = "glibc-tests reference verdict 1";

pub struct Verdicts {
    dir: PathBuf,
    machine: String,
}

impl Verdicts {
    pub fn open(cache: &source::Cache) -> Result<Verdicts> {
        let dir = cache.dir("conformance-verdicts")?;
        let read = |p: &str| fs::read_to_string(p).unwrap_or_default().trim().to_string();
        let machine = format!(
            "kernel {}; cores {}; nr_hugepages {}; thp {}; overcommit {}",
            read("/proc/sys/kernel/osrelease"),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            read("/proc/sys/vm/nr_hugepages"),
            read("/sys/kernel/mm/transparent_hugepage/enabled"),
            read("/proc/sys/vm/overcommit_memory"),
        );
        Ok(Verdicts { dir, machine })
    }

    /// The key of a run that depends on `files` (their contents) and
    /// `env` (in order).
    pub fn key(&self, files: &[PathBuf], env: &[(String, String)]) -> Result<String> {
        let mut h = Sha256::new();
        h.update(SCHEMA);
        h.update([0]);
        h.update(&self.machine);
        for f in files {
            let bytes = fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            h.update([0]);
            h.update(Sha256::digest(&bytes));
        }
        for (k, v) in env {
            h.update([0]);
            h.update(k);
            h.update([b'=']);
            h.update(v);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// The kept verdict of `key`, with its output copied to `out`.
    pub fn get(&self, key: &str, out: &Path) -> Option<Verdict> {
        let word = fs::read_to_string(self.dir.join(format!("{key}.verdict"))).ok()?;
        let verdict = match word.trim() {
            "PASS" => Verdict::Pass,
            "UNSUPPORTED" => Verdict::Unsupported,
            _ => return None,
        };
        fs::copy(self.dir.join(format!("{key}.out")), out).ok()?;
        Some(verdict)
    }

    /// Keeps a PASS or UNSUPPORTED and its output (written to temporary
    /// files and renamed, output first, so a reader never sees half).
    pub fn put(&self, key: &str, verdict: &Verdict, out: &Path) {
        if !matches!(verdict, Verdict::Pass | Verdict::Unsupported) {
            return;
        }
        let tmp = |ext: &str| {
            self.dir
                .join(format!(".tmp-{key}-{}.{ext}", std::process::id()))
        };
        let (out_tmp, verdict_tmp) = (tmp("out"), tmp("verdict"));
        let done = fs::copy(out, &out_tmp).is_ok()
            && fs::rename(&out_tmp, self.dir.join(format!("{key}.out"))).is_ok()
            && fs::write(&verdict_tmp, verdict.word()).is_ok()
            && fs::rename(&verdict_tmp, self.dir.join(format!("{key}.verdict"))).is_ok();
        if !done {
            let _ = fs::remove_file(out_tmp);
            let _ = fs::remove_file(verdict_tmp);
        }
    }
}
