//! Shared helpers for the integration tests: real glibc trees, fetched once
//! into the shared cache (outside the repository), and resolutions of them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use resolver::fetch::{self, FetchOptions};
use resolver::manifest::{self, Manifest};
use resolver::resolve::{self, Options, SourceInfo};
use resolver::source::{Cache, GlibcSource};
use resolver::sysdeps::Target;

/// Every version with a committed manifest.
pub const VERSIONS: &[&str] = &["2.31", "2.36", "2.41", "2.42", "2.43", "2.44"];

pub fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub fn pinned_path(version: &str) -> PathBuf {
    project().join(format!("nix/manifests/glibc-{version}.yaml"))
}

pub fn cache() -> Cache {
    Cache::default_location().expect("cache location")
}

/// The source a committed manifest pins (exact Debian version), or the
/// newest Debian tree of that version when nothing is pinned yet.
pub fn tree(version: &str) -> GlibcSource {
    static LOCK: Mutex<()> = Mutex::new(());
    // apt-get must not run twice at once on the same lists.
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut opts = FetchOptions {
        debian: true,
        gnu: false,
        ..FetchOptions::default()
    };
    if let Ok(m) = Manifest::load(&pinned_path(version)) {
        if let manifest::Origin::Debian { version, .. } = &m.source.origin {
            opts.debian_version = Some(version.clone());
        }
    }
    fetch::fetch(version, &cache(), &opts)
        .unwrap_or_else(|e| panic!("fetching glibc {version}: {e}"))
}

pub fn info(s: &GlibcSource) -> SourceInfo {
    SourceInfo {
        root: s.root.clone(),
        version: s.version.clone(),
        origin: s.origin.clone(),
        gnu: fetch::gnu_sha256(&s.version).map(|sha| manifest::GnuRelease {
            url: format!("{}/glibc-{}.tar.xz", fetch::GNU_BASE_URL, s.version),
            sha256: sha.to_owned(),
        }),
    }
}

pub fn options() -> Options {
    Options {
        project: project(),
        max_iters: 8,
        target: Target::x86_64_linux(),
    }
}

/// One resolution per version, computed by whichever test asks first.
type Slot = Arc<OnceLock<Arc<Manifest>>>;

/// Resolves a version once per test binary and shares the manifest.
pub fn resolved(version: &str) -> Arc<Manifest> {
    static DONE: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    let cell = DONE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(version.to_owned())
        .or_default()
        .clone();
    cell.get_or_init(|| {
        let src = tree(version);
        let r = resolve::resolve(&info(&src), &options())
            .unwrap_or_else(|e| panic!("resolving glibc {version}: {e}"));
        Arc::new(r.manifest)
    })
    .clone()
}

/// Runs the resolver binary.
pub fn resolver(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_resolver"))
        .args(args)
        .current_dir(project())
        .output()
        .expect("run resolver")
}
