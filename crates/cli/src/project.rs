//! The project root: where a command finds `shims/`, `stubs/`, `gdb/`,
//! `tools/` and the committed manifests (`nix/manifests/`). In order:
//! `--project`, a checkout at or above the current directory, else the copy
//! embedded in the binary (`build.rs`), extracted once into the cache, so
//! that an installed resolver works from any directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Where the project came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--project DIR`.
    Given,
    /// A checkout at or above the current directory.
    Checkout,
    /// The copy embedded in the binary, extracted into the cache.
    Embedded,
}

/// A project root and where it came from.
#[derive(Clone, Debug)]
pub struct Located {
    pub root: PathBuf,
    pub kind: Kind,
}

/// The project root, found when a command first needs it (a command
/// that needs none extracts nothing).
pub struct Project {
    explicit: Option<PathBuf>,
    cache: PathBuf,
    found: OnceLock<Located>,
}

impl Project {
    /// `explicit` is `--project`; `cache` the cache root the embedded copy
    /// is extracted into.
    pub fn new(explicit: Option<PathBuf>, cache: &Path) -> Project {
        Project {
            explicit,
            cache: cache.to_owned(),
            found: OnceLock::new(),
        }
    }

    /// The project root ([`Project::locate`]).
    pub fn root(&self) -> Result<PathBuf> {
        Ok(self.locate()?.root)
    }

    /// `--project`, else the nearest ancestor of the current directory
    /// holding `shims/prelude.h` and `stubs/`, else the embedded copy.
    pub fn locate(&self) -> Result<Located> {
        if let Some(found) = self.found.get() {
            return Ok(found.clone());
        }
        let found = match &self.explicit {
            Some(p) => Located {
                root: p.clone(),
                kind: Kind::Given,
            },
            None => match checkout_above(&std::env::current_dir()?) {
                Some(root) => Located {
                    root,
                    kind: Kind::Checkout,
                },
                None => Located {
                    root: extract(&self.cache)?,
                    kind: Kind::Embedded,
                },
            },
        };
        Ok(self.found.get_or_init(|| found).clone())
    }

    /// Where build products go by default: `<project>/target/malloc` in a
    /// checkout (or `--project`), `<cache>/malloc` for the embedded copy
    /// (which is never written to).
    pub fn default_out(&self) -> Result<PathBuf> {
        let found = self.locate()?;
        Ok(match found.kind {
            Kind::Embedded => self.cache.join("malloc"),
            _ => found.root.join("target/malloc"),
        })
    }
}

/// The nearest of `dir` and its ancestors that is a checkout (holds
/// `shims/prelude.h` and `stubs/`).
pub fn checkout_above(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join("shims/prelude.h").is_file() && d.join("stubs").is_dir())
        .map(Path::to_owned)
}

/// The embedded copy's directory in the cache: `<cache>/project/<digest>`
/// (the first 16 hex digits of the sha256 over its files).
pub fn embedded_dir(cache: &Path) -> PathBuf {
    cache.join("project").join(&embedded::DIGEST[..16])
}

/// Extracts the embedded copy into the cache, once: written into a
/// temporary directory and renamed into place under a lock, so that a
/// reader sees the whole copy or none. Returns its directory.
pub fn extract(cache: &Path) -> Result<PathBuf> {
    let dir = embedded_dir(cache);
    if dir.is_dir() {
        return Ok(dir);
    }
    let parent = dir.parent().expect("under the cache");
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let lock = parent.join(".lock");
    let _lock = source::temp::lock(&lock, || {
        eprintln!(
            "waiting for another resolver extracting its project files (lock {})",
            lock.display()
        )
    })
    .with_context(|| format!("locking {}", lock.display()))?;
    if dir.is_dir() {
        return Ok(dir);
    }
    let tmp = source::temp::dir_in(parent, source::temp::PREFIX)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    for (rel, bytes) in embedded::FILES {
        let path = tmp.path().join(rel);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    // The temporary directory is made 0700; the copy is an ordinary one.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting the mode of {}", tmp.path().display()))?;
    }
    std::fs::rename(tmp.path(), &dir)
        .with_context(|| format!("renaming {} to {}", tmp.path().display(), dir.display()))?;
    tmp.keep();
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_copy_holds_the_projects_files_byte_for_byte() {
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cache = tempfile::tempdir().unwrap();
        let dir = extract(cache.path()).unwrap();
        assert_eq!(dir, embedded_dir(cache.path()));
        for rel in [
            "shims/prelude.h",
            "stubs/options/entry.c",
            "gdb/malloc_standalone.py",
            "tools/replay.c",
            "nix/manifests/glibc-2.36.yaml",
            "nix/manifests/glibc-2.36.json",
        ] {
            assert_eq!(
                std::fs::read(dir.join(rel)).unwrap(),
                std::fs::read(project.join(rel)).unwrap(),
                "{rel}"
            );
        }
        assert_eq!(checkout_above(&dir), Some(dir.clone()));
        // Only the copy is left: no temporaries, and a second call reuses it.
        let names: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&".lock".to_string()), "{names:?}");
        let before = std::fs::metadata(dir.join("shims/prelude.h"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(extract(cache.path()).unwrap(), dir);
        let after = std::fs::metadata(dir.join("shims/prelude.h"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
    }
}
