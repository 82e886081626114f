//! A local mirror of glibc release tarballs: a directory of
//! `glibc-<version>.tar.xz` files (`--mirror DIR`, or
//! `$MALLOC_STANDALONE_MIRROR`) that [`crate::fetch::fetch`] tries after the
//! cache and before Debian's archive and GNU.
//!
//! A mirror is not trusted for being where it is. A tarball from it is
//! accepted by the first of these checks that holds, and the check is
//! reported ([`Accepted`], printed by the command line):
//!
//! 1. its sha256 is the one given (`--sha256`, [`Check::GivenSha256`]) or,
//!    when none is given, GNU's release tarball's as the project knows it
//!    ([`crate::fetch::gnu_sha256`], [`Check::GnuSha256`]);
//! 2. every verbatim file the version's manifest pins ([`Pins`]) is in the
//!    unpacked tree with that sha256 ([`Check::Pins`]). Reduced exports,
//!    which leave out parts of the tree the allocator never reads, pass this;
//! 3. nothing pins that version's files at all (a new version resolved for
//!    the first time) and no `--sha256` was given: accepted unverified
//!    ([`Check::TrustOnFirstUse`]), with a note saying so; the manifest
//!    resolved from it pins every file's sha256, so `resolver verify` can
//!    check it against GNU's real tarball later.
//!
//! Otherwise it is refused, naming the first file that differs. The tree is
//! judged before it gets its name in the cache, so a refused tarball leaves
//! nothing there, and only an accepted one is recorded as a fetch.
//!
//! The mirror stands for GNU's releases: an accepted tarball gets the origin
//! of GNU's tarball of that version (GNU's URL and the sha256 given or known
//! for it), so a manifest resolved from it pins GNU's tarball, and
//! [`crate::fetch::pinned_source`] of that manifest later finds the tree in
//! the cache with or without the mirror. Where no GNU sha256 is known or
//! given, the origin is the local tarball (a manifest cannot fetch that
//! again). A fetch of an exact Debian version (a manifest pinning Debian's
//! patched tree, the host's patch level) does not use the mirror at all: an
//! upstream tarball is not that tree.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fetch::{gnu_release_url, gnu_sha256, FetchError, FetchOptions};
use crate::tree::{
    parse_version, unpack_tarball_vetted, version_of_tree, Cache, Compression, GlibcSource, Origin,
    SourceError,
};
use crate::verify::{check_files, Mismatch};
use manifest::digest::sha256_file;
use manifest::{Manifest, ManifestError, PinnedFile};

/// The environment variable that names the mirror when `--mirror` is not given.
pub const ENV: &str = "MALLOC_STANDALONE_MIRROR";

/// The files a manifest pins for one glibc version, to check a mirror's
/// tarball by, and where they came from (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pins {
    /// The glibc version the files are of.
    pub version: String,
    /// Where the pins came from, e.g. `nix/manifests/glibc-2.39.yaml`.
    pub from: String,
    /// Paths relative to the tree root, with their sha256.
    pub files: Vec<PinnedFile>,
}

impl Pins {
    /// The verbatim files `m` pins; `from` names `m` in messages.
    pub fn of(m: &Manifest, from: impl Into<String>) -> Pins {
        Pins {
            version: m.version.clone(),
            from: from.into(),
            files: m.verbatim.clone(),
        }
    }
}

/// The pins of the project's committed manifest of `version`,
/// `<project>/nix/manifests/glibc-<version>.yaml`, if there is one.
pub fn committed_pins(project: &Path, version: &str) -> Result<Option<Pins>, MirrorError> {
    let rel = manifest::committed_rel(version);
    let path = project.join(&rel);
    if !path.is_file() {
        return Ok(None);
    }
    let m = Manifest::load(&path)?;
    if m.version != version {
        return Err(MirrorError::PinsOfOtherVersion {
            from: path.display().to_string(),
            found: m.version,
            wanted: version.to_string(),
        });
    }
    Ok(Some(Pins::of(&m, rel)))
}

/// `$MALLOC_STANDALONE_MIRROR`, when set and not empty.
pub fn from_env() -> Option<PathBuf> {
    std::env::var_os(ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The mirror the project's own tests and chores (`cargo xtask`) use:
/// `$MALLOC_STANDALONE_MIRROR`, else `shared/glibc-sources/` beside the
/// project's directory when it exists, which is where CI provides release
/// trees of the versions Debian's archive lacks. The resolver's command
/// line does not look there; users pass `--mirror`.
pub fn for_project(project: &Path) -> Option<PathBuf> {
    from_env().or_else(|| {
        let dir = project
            .canonicalize()
            .ok()?
            .parent()?
            .join("shared/glibc-sources");
        dir.is_dir().then_some(dir)
    })
}

/// Where the mirror in `dir` keeps glibc `version`.
pub fn tarball_path(dir: &Path, version: &str) -> PathBuf {
    dir.join(format!("glibc-{version}.tar.xz"))
}

/// Checks that `dir` can be a mirror (an existing directory).
pub fn check_dir(dir: &Path) -> Result<(), MirrorError> {
    let problem = match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => "is not a directory".to_string(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => "does not exist".to_string(),
        Err(e) => format!("cannot be read ({e})"),
    };
    Err(MirrorError::NotADirectory {
        path: dir.to_path_buf(),
        problem,
    })
}

/// The argument checks [`crate::fetch::fetch`] makes before trying
/// anything: the mirror is a directory, and the pins are of `version`.
pub(crate) fn check_options(version: &str, opts: &FetchOptions) -> Result<(), MirrorError> {
    if let Some(dir) = &opts.mirror {
        check_dir(dir)?;
    }
    match &opts.pins {
        Some(p) if p.version != version => Err(MirrorError::PinsOfOtherVersion {
            from: p.from.clone(),
            found: p.version.clone(),
            wanted: version.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Which check accepted a tarball from the mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Its sha256 is GNU's release tarball's, as the project knows it.
    GnuSha256,
    /// Its sha256 is the one given (`--sha256`).
    GivenSha256,
    /// Every verbatim file pinned matched.
    Pins {
        /// How many files were checked.
        count: usize,
        /// Where the pins came from.
        from: String,
    },
    /// Nothing pins the version's files and no sha256 was given: accepted
    /// without verification.
    TrustOnFirstUse {
        /// GNU's release sha256 the project knows for the version, which the
        /// tarball's is not.
        gnu_sha256: Option<String>,
    },
}

/// A tarball the mirror supplied, and why it was accepted. Its `Display` is
/// the note for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The glibc version.
    pub version: String,
    /// The tarball in the mirror.
    pub tarball: PathBuf,
    /// Its sha256.
    pub sha256: String,
    /// The check that accepted it.
    pub check: Check,
}

impl fmt::Display for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (version, tarball) = (&self.version, self.tarball.display());
        write!(f, "glibc {version}: {tarball} ")?;
        match &self.check {
            Check::GnuSha256 => write!(
                f,
                "accepted: its sha256 is GNU's release tarball's ({})",
                self.sha256
            ),
            Check::GivenSha256 => {
                write!(f, "accepted: its sha256 is the one given ({})", self.sha256)
            }
            Check::Pins { count, from } => {
                write!(f, "accepted: all {count} files pinned by {from} match")
            }
            Check::TrustOnFirstUse { gnu_sha256 } => {
                write!(
                    f,
                    "accepted WITHOUT verification (trust on first use): its sha256 {} ",
                    self.sha256
                )?;
                match gnu_sha256 {
                    Some(gnu) => write!(f, "is not GNU's release tarball's ({gnu})")?,
                    None => write!(
                        f,
                        "cannot be compared (no sha256 of GNU's tarball is known)"
                    )?,
                }
                write!(
                    f,
                    " and no manifest pins glibc {version}'s files yet. A manifest resolved \
                     from it pins every file's sha256: check it against GNU's real tarball \
                     with `resolver verify --manifest <manifest> --src glibc-{version}.tar.xz`"
                )
            }
        }
    }
}

/// Errors particular to the mirror.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// `--mirror` (or the environment variable) names no directory.
    #[error(
        "the mirror {} {problem}; give --mirror (or {ENV}) a directory of \
         glibc-<version>.tar.xz tarballs",
        path.display()
    )]
    NotADirectory {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The mirror has no tarball of the version.
    #[error("{} does not exist ({has})", tarball.display())]
    Missing {
        /// The tarball looked for.
        tarball: PathBuf,
        /// What the mirror does hold.
        has: String,
    },
    /// A pinned file of the unpacked tree is missing or differs.
    #[error(
        "{} refused: {}{}; it is not glibc {version} as {from} pins it (altered, or \
         another release or patch level), and nothing of it was kept",
        tarball.display(),
        describe(first, from),
        more_note(*more)
    )]
    PinMismatch {
        /// The tarball.
        tarball: PathBuf,
        /// The glibc version.
        version: String,
        /// Where the pins came from.
        from: String,
        /// The first file that does not match, in the pins' order (a
        /// manifest's are sorted by path).
        first: Box<Mismatch>,
        /// How many more do not match.
        more: usize,
    },
    /// Nothing pins the version's files, and the tarball is not the one given.
    #[error(
        "{} refused: its sha256 is {actual}, not {expected} as given with --sha256, and no \
         manifest pins glibc {version}'s files to check it by otherwise; nothing of it was kept",
        tarball.display()
    )]
    GivenSha256Mismatch {
        /// The tarball.
        tarball: PathBuf,
        /// The glibc version.
        version: String,
        /// The sha256 given.
        expected: String,
        /// The tarball's.
        actual: String,
    },
    /// Pins of one version offered for another.
    #[error(
        "{from} pins files of glibc {found}, not {wanted}; use the manifest of glibc {wanted}"
    )]
    PinsOfOtherVersion {
        /// Where the pins came from.
        from: String,
        /// Their version.
        found: String,
        /// The version fetched.
        wanted: String,
    },
    /// A committed manifest that cannot be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

fn describe(m: &Mismatch, from: &str) -> String {
    match &m.actual {
        Some(actual) => format!(
            "{} has sha256 {actual}, but {from} pins {}",
            m.path, m.expected
        ),
        None => format!("{} is missing, but {from} pins it ({})", m.path, m.expected),
    }
}

fn more_note(more: usize) -> String {
    match more {
        0 => String::new(),
        1 => " (and 1 more file differs)".to_string(),
        n => format!(" (and {n} more files differ)"),
    }
}

/// The versions the mirror in `dir` holds, for a message.
fn held_versions(dir: &Path) -> String {
    let mut versions: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let v = name.strip_prefix("glibc-")?.strip_suffix(".tar.xz")?;
                    parse_version(v).map(|_| v.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|v| parse_version(v));
    if versions.is_empty() {
        "the mirror holds no glibc-<version>.tar.xz".to_string()
    } else {
        format!("the mirror has {}", versions.join(", "))
    }
}

/// Takes glibc `version` from the mirror `opts.mirror`: checks its
/// `glibc-<version>.tar.xz` as the module documentation says, unpacks an
/// accepted one into the cache (keyed by its sha256, like any tarball) and
/// returns the tree with the origin of GNU's release (or of the local
/// tarball, where no GNU sha256 is known or given) and how it was accepted.
/// [`FetchError::NotTried`] when no mirror is given or `opts` asks for an
/// exact Debian version. Records nothing: [`crate::fetch::fetch`] records
/// what it returns.
pub fn fetch_mirror(
    version: &str,
    cache: &Cache,
    opts: &FetchOptions,
) -> Result<(GlibcSource, Accepted), FetchError> {
    let Some(dir) = &opts.mirror else {
        return Err(FetchError::NotTried {
            reason: format!("no mirror given (--mirror DIR, or {ENV})"),
        });
    };
    if let Some(debver) = &opts.debian_version {
        return Err(FetchError::NotTried {
            reason: format!(
                "glibc {version} is asked for as Debian's {debver}, and the mirror holds \
                 upstream release tarballs, not Debian's trees"
            ),
        });
    }
    check_options(version, opts)?;
    let tarball = tarball_path(dir, version);
    if !tarball.is_file() {
        return Err(MirrorError::Missing {
            has: held_versions(dir),
            tarball,
        }
        .into());
    }
    let actual = sha256_file(&tarball).map_err(|e| SourceError::Io {
        action: "read",
        path: tarball.clone(),
        error: e,
    })?;
    let given = opts.sha256.as_ref().map(|s| s.to_lowercase());
    let release = given
        .clone()
        .or_else(|| gnu_sha256(version).map(str::to_string));
    let by_sha256 = match (&given, &release) {
        (Some(g), _) if *g == actual => Some(Check::GivenSha256),
        (None, Some(r)) if *r == actual => Some(Check::GnuSha256),
        _ => None,
    };
    let pins = opts.pins.as_ref().filter(|p| !p.files.is_empty());
    let mut check = None;
    let unpacked = unpack_tarball_vetted(&tarball, &actual, Compression::Xz, cache, |root| {
        let found = version_of_tree(root)?;
        if found != version {
            return Err(FetchError::VersionMismatch {
                wanted: version.to_string(),
                found,
                origin: tarball.display().to_string(),
            });
        }
        check = Some(match (by_sha256, pins, &given) {
            (Some(c), _, _) => c,
            (None, Some(p), _) => {
                let bad = check_files(root, &p.files);
                if let Some(first) = bad.first() {
                    return Err(MirrorError::PinMismatch {
                        tarball: tarball.clone(),
                        version: version.to_string(),
                        from: p.from.clone(),
                        first: Box::new(first.clone()),
                        more: bad.len() - 1,
                    }
                    .into());
                }
                Check::Pins {
                    count: p.files.len(),
                    from: p.from.clone(),
                }
            }
            (None, None, Some(expected)) => {
                return Err(MirrorError::GivenSha256Mismatch {
                    tarball: tarball.clone(),
                    version: version.to_string(),
                    expected: expected.clone(),
                    actual: actual.clone(),
                }
                .into())
            }
            (None, None, None) => Check::TrustOnFirstUse {
                gnu_sha256: release.clone(),
            },
        });
        Ok(())
    })?;
    // GNU's own address, not `opts.gnu_base_url` (where GNU's tarball would
    // be downloaded from): the tarball stands for GNU's release.
    let origin = match release {
        Some(sha256) => Origin::Gnu {
            url: gnu_release_url(None, version),
            sha256,
        },
        None => Origin::Tarball {
            file_name: format!("glibc-{version}.tar.xz"),
            sha256: actual.clone(),
        },
    };
    let source = GlibcSource::from_root(unpacked.root, origin)?;
    let accepted = Accepted {
        version: version.to_string(),
        tarball,
        sha256: actual,
        check: check.expect("set by the vetting closure"),
    };
    Ok((source, accepted))
}

/// Whether trees the mirror gave earlier (recorded in the cache) may answer
/// a fetch with `opts`. Such a tree stands for GNU's release (or, where no
/// GNU sha256 was known, for its local tarball): usable wherever GNU's
/// tarball or the mirror would be, never for an exact Debian version.
pub(crate) fn cached_trees_usable(opts: &FetchOptions) -> bool {
    opts.debian_version.is_none() && (opts.gnu || opts.mirror.is_some())
}

/// Whether a tree taken from the mirror earlier still satisfies `pins`
/// (a tree accepted unverified must not stand for a version whose files
/// are pinned since); `None` when it does, else the first mismatch.
pub(crate) fn first_mismatch(root: &Path, pins: &Pins) -> Option<Mismatch> {
    check_files(root, &pins.files).into_iter().next()
}
