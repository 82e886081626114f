//! Getting a glibc source tree from somewhere other than the user's disk,
//! by version: [`fetch`] tries, in this order,
//!
//! 1. the [`Cache`] (a tree fetched earlier, recorded in `<cache>/fetch/`),
//! 2. a local mirror of release tarballs ([`crate::mirror`]),
//! 3. Debian's package archive ([`crate::debian`]),
//! 4. GNU's release tarball ([`crate::gnu`]),
//!
//! as [`FetchOptions`] allow, and on failure says why each step failed
//! ([`FetchError::AllFailed`]). A git tag is fetched by name instead
//! ([`from_git`]). What the project pins is in the `pins` submodule: the
//! sha256 of GNU's releases ([`gnu_sha256`]) and the options that fetch
//! exactly the source a manifest pins ([`pinned_options`]).
//!
//! The items of the step modules are re-exported here, so that
//! `source::fetch::*` is the one place a caller imports from.

mod error;
mod pins;

use std::fmt;
use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mirror::{self, Pins};
use crate::tree::{parse_version, Cache, GlibcSource, Origin, SourceError};

pub use crate::debian::{compare_debian_versions, fetch_debian, upstream_version, DEBIAN_SUITES};
pub use crate::git::from_git;
pub use crate::gnu::{fetch_gnu, gnu_release_url, GNU_BASE_URL};
pub use crate::host::{host_glibc, HostGlibc};
pub use error::FetchError;
pub use pins::{gnu_sha256, pinned_options, pinned_source};

/// Which sources [`fetch`] may use, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchOptions {
    /// Try Debian's archive (through apt).
    pub debian: bool,
    /// Try GNU's release tarball.
    pub gnu: bool,
    /// Base URL of GNU's glibc directory; [`GNU_BASE_URL`] when `None`.
    pub gnu_base_url: Option<String>,
    /// An exact Debian version to fetch (e.g. the host's `"2.36-9+deb12u14"`),
    /// rather than the newest one of the requested upstream version.
    pub debian_version: Option<String>,
    /// The sha256 to accept for the GNU tarball, overriding (or standing in
    /// for a missing) pinned hash. A tarball from the mirror with this
    /// sha256 is accepted as GNU's.
    pub sha256: Option<String>,
    /// A directory of release tarballs `glibc-<version>.tar.xz`, tried after
    /// the cache and before Debian and GNU (see [`crate::mirror`]).
    pub mirror: Option<PathBuf>,
    /// The files the version's manifest pins, which a tarball from the
    /// mirror must match when its own sha256 is not the one expected.
    pub pins: Option<Pins>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            debian: true,
            gnu: true,
            gnu_base_url: None,
            debian_version: None,
            sha256: None,
            mirror: None,
            pins: None,
        }
    }
}

/// One way of getting a source, as named in [`FetchError::AllFailed`], in
/// the order [`fetch`] tries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A tree fetched earlier.
    Cache,
    /// A local mirror of release tarballs ([`FetchOptions::mirror`]).
    Mirror,
    /// Debian's package archive.
    Debian,
    /// GNU's release tarball.
    Gnu,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Cache => "cache",
            Step::Mirror => "mirror",
            Step::Debian => "debian",
            Step::Gnu => "gnu",
        })
    }
}

/// A fetched source, and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// The tree.
    pub source: GlibcSource,
    /// The step that supplied it ([`Step::Cache`]: an earlier fetch).
    pub step: Step,
    /// For a tarball taken from the mirror now, the check that accepted it;
    /// its `Display` is the note to show the user.
    pub mirror: Option<mirror::Accepted>,
}

/// Fetches glibc `version` (e.g. `"2.36"`): from the cache if fetched before,
/// else from the mirror, else from Debian's archive, else from GNU, as `opts`
/// allows. On failure the error lists why each step failed.
pub fn fetch(version: &str, cache: &Cache, opts: &FetchOptions) -> Result<GlibcSource, FetchError> {
    fetch_detailed(version, cache, opts).map(|f| f.source)
}

/// [`fetch`], also saying which step supplied the tree and, for the
/// mirror, which check accepted it.
pub fn fetch_detailed(
    version: &str,
    cache: &Cache,
    opts: &FetchOptions,
) -> Result<Fetched, FetchError> {
    check_version(version)?;
    if let Some(sha) = &opts.sha256 {
        check_sha256_arg(sha)?;
    }
    mirror::check_options(version, opts)?;
    cache.sweep_temps();
    let mut attempts = Vec::new();
    match from_cache(version, cache, opts) {
        Ok(source) => {
            return Ok(Fetched {
                source,
                step: Step::Cache,
                mirror: None,
            })
        }
        Err(e) => attempts.push((Step::Cache, e)),
    }
    match mirror::fetch_mirror(version, cache, opts) {
        Ok((source, accepted)) => {
            record(cache, Step::Mirror, &source, opts)?;
            return Ok(Fetched {
                source,
                step: Step::Mirror,
                mirror: Some(accepted),
            });
        }
        Err(e) => attempts.push((Step::Mirror, e)),
    }
    type StepFn = fn(&str, &Cache, &FetchOptions) -> Result<GlibcSource, FetchError>;
    let steps: [(Step, bool, StepFn); 2] = [
        (Step::Debian, opts.debian, fetch_debian),
        (Step::Gnu, opts.gnu, fetch_gnu),
    ];
    for (step, enabled, fetch_from) in steps {
        if !enabled {
            attempts.push((
                step,
                FetchError::NotTried {
                    reason: "turned off".to_string(),
                },
            ));
            continue;
        }
        match fetch_from(version, cache, opts) {
            Ok(source) => {
                record(cache, step, &source, opts)?;
                return Ok(Fetched {
                    source,
                    step,
                    mirror: None,
                });
            }
            Err(e) => attempts.push((step, e)),
        }
    }
    Err(FetchError::AllFailed {
        version: version.to_string(),
        attempts,
    })
}

/// Checks that `version` is a glibc release version as [`fetch`] takes it
/// (`2.36`, or `2.36.1`); [`FetchError::BadVersion`] if not.
pub fn check_version(version: &str) -> Result<(), FetchError> {
    let well_formed = regex::Regex::new(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
        .expect("static regex")
        .is_match(version);
    match parse_version(version) {
        Some(_) if well_formed => Ok(()),
        _ => Err(FetchError::BadVersion {
            version: version.to_string(),
        }),
    }
}

/// Checks that `sha` is 64 hex digits; [`FetchError::BadSha256`] if not.
pub(crate) fn check_sha256_arg(sha: &str) -> Result<(), FetchError> {
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(FetchError::BadSha256 {
            value: sha.to_string(),
        })
    }
}

/// What `fetch` remembers about a successful fetch, in `<cache>/fetch/`.
#[derive(Debug, Serialize, Deserialize)]
struct FetchRecord {
    version: String,
    origin: Origin,
    /// Relative to the cache root, so a moved cache stays valid.
    tree: PathBuf,
}

/// Where a fetch of `version` by `step` is recorded: one record per
/// version and step, except that a fetch of an exact Debian version
/// (`exact`) has one of its own, so that fetching an older or unusual
/// Debian build (`resolver build --like`) never changes what a fetch of
/// the version alone finds.
fn record_path(cache: &Cache, version: &str, step: Step, exact: Option<&str>) -> PathBuf {
    let name = match (step, exact) {
        (Step::Debian, Some(debver)) => format!("{version}.debian={debver}.json"),
        _ => format!("{version}.{step}.json"),
    };
    cache.root().join("fetch").join(name)
}

fn record(
    cache: &Cache,
    step: Step,
    found: &GlibcSource,
    opts: &FetchOptions,
) -> Result<(), FetchError> {
    let Ok(tree) = found.root.strip_prefix(cache.root()) else {
        return Ok(());
    };
    let exact = opts.debian_version.as_deref();
    let rec = FetchRecord {
        version: found.version.clone(),
        origin: found.origin.clone(),
        tree: tree.to_path_buf(),
    };
    let json = serde_json::to_vec_pretty(&rec).expect("FetchRecord serialises");
    manifest::write_atomic(&record_path(cache, &found.version, step, exact), &json)
        .map_err(SourceError::from)?;
    Ok(())
}

fn from_cache(
    version: &str,
    cache: &Cache,
    opts: &FetchOptions,
) -> Result<GlibcSource, FetchError> {
    let mut problems = Vec::new();
    let mut other = Vec::new();
    // An exact Debian version's own record, then (as written before
    // those existed, and by fetches of the version alone) the version's.
    let exact = opts.debian_version.as_deref();
    for (step, enabled, path) in [
        (
            Step::Debian,
            opts.debian && exact.is_some(),
            record_path(cache, version, Step::Debian, exact),
        ),
        (
            Step::Debian,
            opts.debian,
            record_path(cache, version, Step::Debian, None),
        ),
        (
            Step::Gnu,
            opts.gnu,
            record_path(cache, version, Step::Gnu, None),
        ),
        (
            Step::Mirror,
            mirror::cached_trees_usable(opts),
            record_path(cache, version, Step::Mirror, None),
        ),
    ] {
        if !enabled || !path.is_file() {
            continue;
        }
        let rec: FetchRecord = match fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(rec) => rec,
            Err(e) => {
                problems.push(format!("{} is unreadable ({e})", path.display()));
                continue;
            }
        };
        let acceptable = match (&rec.origin, step) {
            (Origin::Debian { version: v, .. }, Step::Debian) => {
                opts.debian_version.as_ref().is_none_or(|want| want == v)
            }
            (Origin::Gnu { sha256, .. }, Step::Gnu | Step::Mirror) => opts
                .sha256
                .as_ref()
                .is_none_or(|want| want.eq_ignore_ascii_case(sha256)),
            (Origin::Tarball { .. }, Step::Mirror) => opts.sha256.is_none(),
            _ => false,
        };
        if !acceptable {
            other.push(rec.origin.to_string());
            continue;
        }
        let origin = rec.origin.to_string();
        match GlibcSource::from_root(cache.root().join(&rec.tree), rec.origin) {
            Ok(found) if found.version == version => {
                // A tree the mirror gave (perhaps unverified, before any
                // manifest pinned the version) must still match the pins.
                if let (Step::Mirror, Some(pins)) = (step, &opts.pins) {
                    if let Some(bad) = mirror::first_mismatch(&found.root, pins) {
                        other.push(format!(
                            "{origin} from the mirror, whose {} differs from {}",
                            bad.path, pins.from
                        ));
                        continue;
                    }
                }
                return Ok(found);
            }
            Ok(found) => problems.push(format!(
                "{} points at glibc {}",
                path.display(),
                found.version
            )),
            Err(e) => problems.push(format!("{} is stale ({e})", path.display())),
        }
    }
    match problems.is_empty() {
        true => Err(FetchError::NotCached {
            version: version.to_string(),
            held: other.join(", "),
        }),
        false => Err(FetchError::NotTried {
            reason: problems.join("; "),
        }),
    }
}

/// `found`, if it is of the `wanted` version; [`FetchError::VersionMismatch`] if not.
pub(crate) fn check_fetched_version(
    found: GlibcSource,
    wanted: &str,
) -> Result<GlibcSource, FetchError> {
    if found.version == wanted {
        Ok(found)
    } else {
        Err(FetchError::VersionMismatch {
            wanted: wanted.to_string(),
            found: found.version,
            origin: found.origin.to_string(),
        })
    }
}
