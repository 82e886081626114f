//! The small fixtures of the fast tier (`tests/fixtures/`, described in its
//! README): a glibc-like tree of a few hand-written files and a project
//! root with its own shims and stubs, resolved in milliseconds without
//! anything fetched. Broken variants are made from a copy ([`Fixture`]).

use std::path::{Path, PathBuf};

use resolve::sysdeps::Target;
use resolve::{Options, Resolution, ResolveError, SourceInfo};

/// The fixture's version (its `version.h`).
pub const VERSION: &str = "2.99";

/// `tests/fixtures/<name>`.
fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The glibc-like tree.
pub fn tree() -> PathBuf {
    dir("glibc-tiny")
}

/// The project root it is resolved with (`shims/`, `stubs/`).
pub fn project() -> PathBuf {
    dir("project")
}

/// A private copy of the tree and the project, to break on purpose.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn copy() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        super::copy_dir(&self::tree(), &dir.path().join("glibc-tiny"));
        super::copy_dir(&self::project(), &dir.path().join("project"));
        Fixture { dir }
    }

    pub fn tree(&self) -> PathBuf {
        self.dir.path().join("glibc-tiny")
    }

    pub fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    /// Replaces `from` by `to` in the tree's file `rel` (which must contain it).
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.tree().join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} lacks {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Resolves the copy.
    pub fn resolve(&self) -> Result<Resolution, ResolveError> {
        resolve_at(&self.tree(), &self.project())
    }
}

/// Resolves the tree at `tree` with the project at `project`, through the
/// library (as `resolver resolve --src` does).
pub fn resolve_at(tree: &Path, project: &Path) -> Result<Resolution, ResolveError> {
    let cache = tempfile::tempdir().unwrap();
    let src = source::open(tree, &source::Cache::new(cache.path()))
        .unwrap_or_else(|e| panic!("opening {}: {e}", tree.display()));
    assert_eq!(src.version, VERSION);
    resolve::resolve(
        &SourceInfo::of(&src),
        &Options {
            project: project.to_owned(),
            max_iters: 8,
            target: Target::x86_64_linux(),
        },
    )
}

/// The committed fixture, resolved.
pub fn resolve() -> Resolution {
    resolve_at(&tree(), &project()).unwrap_or_else(|e| panic!("resolving the fixture: {e}"))
}

/// `resolver resolve` of the fixture tree with the fixture project into
/// `out` (with a cache of its own, which stays empty): the manifest's path.
pub fn resolve_into(out: &Path) -> PathBuf {
    let cache = tempfile::tempdir().unwrap();
    let o = super::resolver_in(&project(), cache.path())
        .args([
            "resolve",
            "--src",
            super::arg(&tree()),
            "--out",
            super::arg(out),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", super::stderr(&o));
    PathBuf::from(String::from_utf8_lossy(&o.stdout).lines().last().unwrap())
}
