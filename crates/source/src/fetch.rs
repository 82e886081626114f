//! Getting a glibc source tree from somewhere other than the user's disk: a
//! git tag, a local mirror of release tarballs ([`crate::mirror`]), Debian's
//! package archive, or a GNU release tarball. Everything lands in the
//! [`Cache`] and is reused. Also the real glibc of a version
//! (Debian's `libc6`, see [`reference_libc`]), to compare the built allocator with.
//!
//! Debian's archive is reached through the machine's own apt, with a private
//! sources list and private index directories inside the cache: the host's apt
//! state is never touched, root is not needed, and the archive address is the
//! one the machine is already configured with (other mirrors may be
//! unreachable, so none is ever hard-coded).

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::mirror::{self, Pins};
use crate::tree::{
    parse_version, publish_dir, sha256_file, temp_dir_in, unpack_tarball_as, write_atomically,
    Cache, Compression, GlibcSource, Origin, SourceError,
};
use manifest::Manifest;

/// Where GNU publishes glibc release tarballs.
pub const GNU_BASE_URL: &str = "https://ftp.gnu.org/gnu/glibc";

/// Debian suites searched for glibc, oldest first. Each carries one glibc
/// version, so together they cover 2.31 to the newest upload.
pub const DEBIAN_SUITES: &[&str] = &[
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "sid",
    "experimental",
];

/// The suite whose source index is searched when no `glibc-source` binary
/// has the wanted version: sid keeps several recent uploads of `glibc`.
const DEBIAN_SOURCE_SUITE: &str = "sid";

/// Lists older than this are refreshed with `apt-get update`.
const APT_LISTS_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The machine's apt configuration, read to learn the Debian archive address.
const APT_SOURCES_DEB822: &str = "/etc/apt/sources.list.d/debian.sources";
const APT_SOURCES_LIST: &str = "/etc/apt/sources.list";
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// sha256 of GNU's release tarballs `glibc-<version>.tar.xz`, as pinned by
/// the project. Not computed here (GNU's server cannot be reached from
/// where this was written): each value was read from public build recipes
/// (crosstool-ng's `packages/glibc/<version>/chksum`) and confirmed by at
/// least one other independent public recipe, none disagreeing.
#[rustfmt::skip]
const GNU_SHA256: &[(&str, &str)] = &[
    ("2.17", "6914e337401e0e0ade23694e1b2c52a5f09e4eda3270c67e7c3ba93a89b5b23e"),
    ("2.19", "2d3997f588401ea095a0b27227b1d50cdfdd416236f6567b564549d3b46ea2a2"),
    ("2.23", "94efeb00e4603c8546209cefb3e1a50a5315c86fa9b078b6fad758e187ce13e9"),
    ("2.24", "99d4a3e8efd144d71488e478f62587578c0f4e1fa0b4eed47ee3d4975ebeb5d3"),
    ("2.25", "067bd9bb3390e79aa45911537d13c3721f1d9d3769931a30c2681bfee66f23a0"),
    ("2.26", "e54e0a934cd2bc94429be79da5e9385898d2306b9eaf3c92d5a77af96190f6bd"),
    ("2.27", "5172de54318ec0b7f2735e5a91d908afe1c9ca291fec16b5374d9faadfc1fc72"),
    ("2.28", "b1900051afad76f7a4f73e71413df4826dce085ef8ddb785a945b66d7d513082"),
    ("2.29", "f3eeb8d57e25ca9fc13c2af3dae97754f9f643bc69229546828e3a240e2af04b"),
    ("2.30", "e2c4114e569afbe7edbc29131a43be833850ab9a459d81beb2588016d2bbb8af"),
    ("2.31", "9246fe44f68feeec8c666bb87973d590ce0137cca145df014c72ec95be9ffd17"),
    ("2.32", "1627ea54f5a1a8467032563393e0901077626dc66f37f10ee6363bb722222836"),
    ("2.33", "2e2556000e105dbd57f0b6b2a32ff2cf173bde4f0d85dffccfd8b7e51a0677ff"),
    ("2.34", "44d26a1fe20b8853a48f470ead01e4279e869ac149b195dda4e44a195d981ab2"),
    ("2.35", "5123732f6b67ccd319305efd399971d58592122bcc2a6518a1bd2510dd0cf52e"),
    ("2.36", "1c959fea240906226062cb4b1e7ebce71a9f0e3c0836c09e7e3423d434fcfe75"),
    ("2.37", "2257eff111a1815d74f46856daaf40b019c1e553156c69d48ba0cbfc1bb91a43"),
    ("2.38", "fb82998998b2b29965467bc1b69d152e9c307d2cf301c9eafb4555b770ef3fd2"),
    ("2.39", "f77bd47cf8170c57365ae7bf86696c118adb3b120d3259c64c502d3dc1e2d926"),
    ("2.40", "19a890175e9263d748f627993de6f4b1af9cd21e03f080e4bfb3a1fac10205a2"),
    ("2.41", "a5a26b22f545d6b7d7b3dd828e11e428f24f4fac43c934fb071b6a7d0828e901"),
    ("2.42", "d1775e32e4628e64ef930f435b67bb63af7599acb6be2b335b9f19f16509f17f"),
    ("2.43", "d9c86c6b5dbddb43a3e08270c5844fc5177d19442cf5b8df4be7c07cd5fa3831"),
    ("2.44", "37f600f2bef3c5e8300147059568b2a2e40a7ad6ccc65ce942556d49429cc667"),
];

/// The pinned sha256 of GNU's `glibc-<version>.tar.xz`, if the project pins one.
pub fn gnu_sha256(version: &str) -> Option<&'static str> {
    GNU_SHA256
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, sha)| *sha)
}

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

/// Where GNU's tarball of `version` is, under `base_url` (e.g.
/// [`FetchOptions::gnu_base_url`]) or else [`GNU_BASE_URL`].
pub fn gnu_release_url(base_url: Option<&str>, version: &str) -> String {
    let base = base_url.unwrap_or(GNU_BASE_URL);
    format!("{}/glibc-{version}.tar.xz", base.trim_end_matches('/'))
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

/// Errors from fetching a glibc source.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A manifest pins a source that only its author had (a local tree, tarball or git clone).
    #[error(
        "glibc {version}: the manifest pins a {kind} source, which cannot be fetched again; \
         pass the tree with --src"
    )]
    NotRefetchable { version: String, kind: String },
    /// Opening, unpacking or validating the fetched tree failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The mirror was given wrongly, lacks the version, or its tarball was refused.
    #[error(transparent)]
    Mirror(#[from] mirror::MirrorError),
    /// The requested version is not of the form `2.36`.
    #[error("`{version}` is not a glibc release version; give it as <major>.<minor>, e.g. 2.36")]
    BadVersion {
        /// What was asked for.
        version: String,
    },
    /// A `--sha256` value that is not 64 hex digits.
    #[error("`{value}` is not a sha256; give 64 hexadecimal digits")]
    BadSha256 {
        /// What was given.
        value: String,
    },
    /// The fetched tree's version.h disagrees with the version asked for.
    #[error("{origin} holds glibc {found}, not {wanted}; the package or tag is mislabelled")]
    VersionMismatch {
        /// The version asked for.
        wanted: String,
        /// The version the tree declares.
        found: String,
        /// Where the tree came from.
        origin: String,
    },
    /// An external program could not be started.
    #[error("cannot run {program} ({error}); install it or put it on PATH")]
    Spawn {
        /// The program.
        program: String,
        /// Why it could not start.
        error: io::Error,
    },
    /// An external program failed.
    #[error("`{command}` failed ({status}){}", indent_block(.output))]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The tail of what it printed.
        output: String,
    },
    /// The git repository has no such tag.
    #[error("tag {tag} not found in git repository {repo}; list its tags with `git ls-remote --tags {repo}`")]
    GitTagNotFound {
        /// The repository as given.
        repo: String,
        /// The missing tag.
        tag: String,
    },
    /// The cache has no earlier fetch of that version (a reason, not a failure).
    #[error("glibc {version} has not been fetched before{}", held_note(.held))]
    NotCached {
        /// The version.
        version: String,
        /// What the cache holds for that version that did not fit the options.
        held: String,
    },
    /// A step that the options turned off.
    #[error("not tried: {reason}")]
    NotTried {
        /// Why.
        reason: String,
    },
    /// No Debian archive address could be found in the machine's apt configuration.
    #[error("no Debian archive is configured on this machine ({reason}); configure apt for Debian's archive in {APT_SOURCES_DEB822}, or use another source")]
    NoDebianArchive {
        /// What was looked at.
        reason: String,
    },
    /// Debian's archive has no package with the wanted version.
    #[error("Debian's archive has no glibc {wanted} (glibc-source has {binaries}; the glibc source package in {DEBIAN_SOURCE_SUITE} has {sources}){notes}")]
    NotInDebian {
        /// The upstream or Debian version wanted.
        wanted: String,
        /// Versions of the `glibc-source` binary package on offer.
        binaries: String,
        /// Versions of the `glibc` source package on offer.
        sources: String,
        /// Anything apt-get update complained about.
        notes: String,
    },
    /// Debian's archive has no `libc6` of the wanted version.
    #[error("Debian's archive has no libc6 {wanted} (libc6 is on offer as {offered}), so there is no real glibc of that version to run programs against{notes}")]
    NoReferenceLibc {
        /// The upstream or Debian version wanted.
        wanted: String,
        /// Versions of `libc6` on offer, over all suites.
        offered: String,
        /// Anything apt-get update complained about.
        notes: String,
    },
    /// A downloaded package does not have the expected layout.
    #[error("{} does not contain {what}; Debian's packaging may have changed, report this", path.display())]
    BadPackage {
        /// The package file.
        path: PathBuf,
        /// What was looked for.
        what: String,
    },
    /// A GNU version with no pinned hash and none given.
    #[error("glibc {version} has no pinned sha256 for GNU's tarball, so a download could not be verified; pass the sha256 you trust with --sha256")]
    NoPinnedHash {
        /// The version.
        version: String,
    },
    /// A download whose content is not what was expected.
    #[error(
        "sha256 mismatch for {what}: expected {expected}, got {actual}; the download was discarded"
    )]
    ChecksumMismatch {
        /// The URL or file.
        what: String,
        /// The trusted hash.
        expected: String,
        /// The hash of what arrived.
        actual: String,
    },
    /// An HTTP download failed.
    #[error("cannot download {url}: {error}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        error: String,
    },
    /// The host's glibc version could not be determined.
    #[error("cannot tell the host's glibc version: {reason}")]
    HostGlibc {
        /// What went wrong.
        reason: String,
    },
    /// Every allowed step failed; each step's reason is listed.
    #[error("cannot fetch glibc {version}:{}", list_attempts(.attempts))]
    AllFailed {
        /// The version asked for.
        version: String,
        /// Each step tried, with why it failed.
        attempts: Vec<(Step, FetchError)>,
    },
}

fn held_note(held: &str) -> String {
    if held.is_empty() {
        String::new()
    } else {
        format!(" as asked (the cache holds {held})")
    }
}

fn indent_block(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::from(":");
    for line in text.lines() {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

fn list_attempts(attempts: &[(Step, FetchError)]) -> String {
    let mut out = String::new();
    for (step, error) in attempts {
        let text = error.to_string();
        let mut lines = text.lines();
        out.push_str(&format!("\n  {step}: {}", lines.next().unwrap_or("")));
        for line in lines {
            out.push_str("\n    ");
            out.push_str(line);
        }
    }
    out
}

/// The glibc the host runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostGlibc {
    /// Upstream version, e.g. `"2.36"`.
    pub version: String,
    /// On Debian and derivatives, the installed `libc6` version, e.g. `"2.36-9+deb12u14"`.
    pub debian_version: Option<String>,
}

/// The host's glibc: the version from `getconf GNU_LIBC_VERSION`, and where
/// dpkg knows it, the Debian version of `libc6`.
pub fn host_glibc() -> Result<HostGlibc, FetchError> {
    let out = run(Command::new("getconf").arg("GNU_LIBC_VERSION"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = match text.split_whitespace().collect::<Vec<_>>()[..] {
        ["glibc", v] if parse_version(v).is_some() => v.to_string(),
        _ => {
            return Err(FetchError::HostGlibc {
                reason: format!("getconf GNU_LIBC_VERSION printed `{}`", text.trim()),
            })
        }
    };
    // Absent dpkg (not Debian) is not an error: there is simply no Debian version.
    let debian_version = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}\\n", "libc6"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            text.lines().next().map(|l| l.trim().to_string())
        })
        // A libc6 package that is not the running glibc would mislead.
        .filter(|d| upstream_version(d) == version);
    Ok(HostGlibc {
        version,
        debian_version,
    })
}

/// The options that fetch exactly the source a manifest pins (its Debian
/// package version, or its GNU tarball by sha256), from `base` (which gives
/// the mirror, and may turn Debian or GNU off). The pins a mirror's tarball
/// is checked by are the manifest's own verbatim files, named "the glibc
/// <version> manifest"; a caller that knows the manifest's path may name it
/// instead by setting [`FetchOptions::pins`] to [`Pins::of`] it.
pub fn pinned_options(m: &Manifest, base: &FetchOptions) -> Result<FetchOptions, FetchError> {
    let mut opts = FetchOptions {
        pins: Some(Pins::of(m, format!("the glibc {} manifest", m.version))),
        ..base.clone()
    };
    match &m.source.origin {
        Origin::Debian { version, .. } => {
            opts.debian_version = Some(version.clone());
            opts.gnu = false;
        }
        Origin::Gnu { sha256, .. } => {
            opts.debian = false;
            opts.sha256 = Some(sha256.clone());
        }
        other => {
            return Err(FetchError::NotRefetchable {
                version: m.version.clone(),
                kind: match other {
                    Origin::Tree => "local tree",
                    Origin::Tarball { .. } => "local tarball",
                    _ => "git clone",
                }
                .into(),
            })
        }
    }
    Ok(opts)
}

/// Fetches exactly the source a manifest pins: [`fetch`] with
/// [`pinned_options`].
pub fn pinned_source(
    m: &Manifest,
    cache: &Cache,
    base: &FetchOptions,
) -> Result<GlibcSource, FetchError> {
    fetch(&m.version, cache, &pinned_options(m, base)?)
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
    check_version_arg(version)?;
    if let Some(sha) = &opts.sha256 {
        check_sha256_arg(sha)?;
    }
    mirror::check_options(version, opts)?;
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
            record(cache, Step::Mirror, &source)?;
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
                record(cache, step, &source)?;
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

fn check_version_arg(version: &str) -> Result<(), FetchError> {
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

fn check_sha256_arg(sha: &str) -> Result<(), FetchError> {
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

fn record_path(cache: &Cache, version: &str, step: Step) -> PathBuf {
    cache
        .root()
        .join("fetch")
        .join(format!("{version}.{step}.json"))
}

fn record(cache: &Cache, step: Step, found: &GlibcSource) -> Result<(), FetchError> {
    let Ok(tree) = found.root.strip_prefix(cache.root()) else {
        return Ok(());
    };
    let rec = FetchRecord {
        version: found.version.clone(),
        origin: found.origin.clone(),
        tree: tree.to_path_buf(),
    };
    let json = serde_json::to_vec_pretty(&rec).expect("FetchRecord serialises");
    write_atomically(&record_path(cache, &found.version, step), &json)?;
    Ok(())
}

fn from_cache(
    version: &str,
    cache: &Cache,
    opts: &FetchOptions,
) -> Result<GlibcSource, FetchError> {
    let mut problems = Vec::new();
    let mut other = Vec::new();
    for (step, enabled) in [
        (Step::Debian, opts.debian),
        (Step::Gnu, opts.gnu),
        (Step::Mirror, mirror::cached_trees_usable(opts)),
    ] {
        let path = record_path(cache, version, step);
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

fn check_fetched_version(found: GlibcSource, wanted: &str) -> Result<GlibcSource, FetchError> {
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

// ---------------------------------------------------------------- git

/// Clones tag `tag` of the git repository `repo` (a path or URL) into the
/// cache, keyed by the commit the tag names, and records that commit. A
/// second call for a tag that still names the same commit clones nothing.
pub fn from_git(repo: &str, tag: &str, cache: &Cache) -> Result<GlibcSource, FetchError> {
    // A local path goes through git's transport (not a file copy) so that
    // --depth applies and the whole history is not copied.
    let url = match Path::new(repo).canonicalize() {
        Ok(p) if p.is_dir() => format!("file://{}", p.display()),
        _ => repo.to_string(),
    };
    let tagged = tag_commit(&url, repo, tag)?;
    let cached = cache.root().join("git").join(&tagged);
    if cached.is_dir() {
        return Ok(GlibcSource::from_root(
            cached,
            Origin::Git {
                tag: tag.to_string(),
                commit: tagged,
            },
        )?);
    }
    let parent = cache.dir("git")?;
    let tmp = temp_dir_in(&parent)?;
    // `clone --branch` would take a branch of the same name over the tag;
    // fetching the full ref name cannot be misread.
    run(git().arg("init").arg("--quiet").arg(tmp.path()))?;
    let tag_ref = format!("refs/tags/{tag}");
    run(git()
        .arg("-C")
        .arg(tmp.path())
        .args(["fetch", "--quiet", "--depth", "1", "--no-tags", "--"])
        .arg(&url)
        .arg(&tag_ref))?;
    run(git()
        .arg("-C")
        .arg(tmp.path())
        .args(["checkout", "--quiet", "FETCH_HEAD"]))?;
    let head = run(git().arg("-C").arg(tmp.path()).args(["rev-parse", "HEAD"]))?;
    // Normally equal to `tagged`; if the tag moved since ls-remote, what was
    // fetched is what the tag names now.
    let commit = String::from_utf8_lossy(&head.stdout).trim().to_string();
    GlibcSource::from_root(tmp.path().to_path_buf(), Origin::Tree)?;
    let dest = parent.join(&commit);
    publish_dir(tmp, &dest)?;
    Ok(GlibcSource::from_root(
        dest,
        Origin::Git {
            tag: tag.to_string(),
            commit,
        },
    )?)
}

fn git() -> Command {
    let mut cmd = Command::new("git");
    // Never wait for a password on a terminal nobody watches.
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .args(["-c", "advice.detachedHead=false"]);
    cmd
}

/// The commit `refs/tags/<tag>` names (peeled, for annotated tags).
fn tag_commit(url: &str, repo: &str, tag: &str) -> Result<String, FetchError> {
    let direct = format!("refs/tags/{tag}");
    let peeled = format!("{direct}^{{}}");
    let out = run(git()
        .args(["ls-remote", "--tags", "--"])
        .arg(url)
        .args([&direct, &peeled]))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut found = None;
    for line in text.lines() {
        let Some((sha, name)) = line.split_once('\t') else {
            continue;
        };
        if name == peeled {
            return Ok(sha.to_string());
        }
        if name == direct {
            found = Some(sha.to_string());
        }
    }
    found.ok_or_else(|| FetchError::GitTagNotFound {
        repo: repo.to_string(),
        tag: tag.to_string(),
    })
}

// ---------------------------------------------------------------- processes

fn command_line(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs a command to completion with output captured.
fn spawn(cmd: &mut Command) -> Result<Output, FetchError> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|error| FetchError::Spawn {
            program: cmd.get_program().to_string_lossy().into_owned(),
            error,
        })
}

/// Like [`spawn`], but a non-zero exit is an error.
fn run(cmd: &mut Command) -> Result<Output, FetchError> {
    let out = spawn(cmd)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(command_failed(cmd, &out))
    }
}

fn command_failed(cmd: &Command, out: &Output) -> FetchError {
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if text.trim().is_empty() {
        text = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    FetchError::Command {
        command: command_line(cmd),
        status: out.status.to_string(),
        output: tail,
    }
}

// ---------------------------------------------------------------- Debian

/// Fetches glibc `version` from Debian's archive: the `glibc-source` binary
/// package when one has that version, else the `glibc` source package's orig
/// tarball. `opts.debian_version` asks for one exact Debian version.
pub fn fetch_debian(
    version: &str,
    cache: &Cache,
    opts: &FetchOptions,
) -> Result<GlibcSource, FetchError> {
    let apt = Apt::prepare(cache)?;
    let wanted = opts.debian_version.as_deref();
    let matches = |v: &String| match wanted {
        Some(w) => v == w,
        None => upstream_version(v) == version,
    };
    let newest = |versions: Vec<String>| {
        versions
            .into_iter()
            .filter(matches)
            .max_by(|a, b| compare_debian_versions(a, b))
    };

    let binaries = apt.madison("glibc-source")?;
    if let Some(v) = newest(binaries.clone()) {
        return check_fetched_version(apt.fetch_glibc_source(&v, cache)?, version);
    }
    let sources = apt.sources("glibc")?;
    let source_versions: Vec<String> = sources.iter().map(|s| s.version.clone()).collect();
    if let Some(v) = newest(source_versions.clone()) {
        let src = sources
            .into_iter()
            .find(|s| s.version == v)
            .expect("picked from this list");
        return check_fetched_version(apt.fetch_orig(&src, cache)?, version);
    }
    let list = |mut vs: Vec<String>| {
        vs.sort_by(|a, b| compare_debian_versions(a, b));
        vs.dedup();
        if vs.is_empty() {
            "none".to_string()
        } else {
            vs.join(", ")
        }
    };
    Err(FetchError::NotInDebian {
        wanted: wanted.unwrap_or(version).to_string(),
        binaries: list(binaries),
        sources: list(source_versions),
        notes: apt.update_notes.clone(),
    })
}

/// The upstream part of a Debian version: `"1:2.36-9+deb12u14"` -> `"2.36"`.
pub fn upstream_version(debian_version: &str) -> &str {
    let (_, rest) = split_epoch(debian_version);
    rest.rsplit_once('-').map_or(rest, |(upstream, _)| upstream)
}

fn split_epoch(v: &str) -> (u64, &str) {
    match v.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => {
            (epoch.parse().unwrap_or(0), rest)
        }
        _ => (0, v),
    }
}

/// Orders Debian versions as dpkg does (epoch, then upstream, then revision,
/// with `~` sorting before everything, even the end of the string).
pub fn compare_debian_versions(a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(a);
    let (eb, rb) = split_epoch(b);
    let (ua, va) = ra.rsplit_once('-').unwrap_or((ra, ""));
    let (ub, vb) = rb.rsplit_once('-').unwrap_or((rb, ""));
    ea.cmp(&eb)
        .then_with(|| dpkg_verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| dpkg_verrevcmp(va.as_bytes(), vb.as_bytes()))
}

fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp`: alternating runs of non-digits (compared by
/// [`dpkg_order`]) and digits (compared numerically).
fn dpkg_verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (dpkg_order(a.get(i).copied()), dpkg_order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// One deb822 paragraph: field name -> value (continuation lines joined with `\n`).
type Paragraph = Vec<(String, String)>;

fn parse_deb822(text: &str) -> Vec<Paragraph> {
    let mut paragraphs = Vec::new();
    let mut current: Paragraph = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else if line.starts_with('#') {
            continue;
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

fn field<'a>(paragraph: &'a Paragraph, name: &str) -> Option<&'a str> {
    paragraph
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The Debian archive the machine's apt is configured with.
#[derive(Debug)]
struct Archive {
    uri: String,
    keyring: Option<PathBuf>,
}

fn is_debian_suite(suite: &str) -> bool {
    DEBIAN_SUITES.contains(&suite) || ["stable", "testing", "unstable"].contains(&suite)
}

/// Finds the entry for Debian's main archive (the one serving a release
/// suite such as bookworm, not -security) in the machine's apt sources.
fn debian_archive() -> Result<Archive, FetchError> {
    let mut looked = Vec::new();
    match fs::read_to_string(APT_SOURCES_DEB822) {
        Ok(text) => {
            for p in parse_deb822(&text) {
                let types = field(&p, "Types").unwrap_or("");
                let suites = field(&p, "Suites").unwrap_or("");
                let enabled = field(&p, "Enabled") != Some("no");
                if enabled
                    && types.split_whitespace().any(|t| t == "deb")
                    && suites.split_whitespace().any(is_debian_suite)
                {
                    if let Some(uri) = field(&p, "URIs").and_then(|u| u.split_whitespace().next()) {
                        let keyring = field(&p, "Signed-By")
                            .filter(|k| !k.contains('\n'))
                            .map(PathBuf::from)
                            .filter(|k| k.is_file());
                        return Ok(Archive {
                            uri: uri.to_string(),
                            keyring,
                        });
                    }
                }
            }
            looked.push(format!(
                "{APT_SOURCES_DEB822} has no deb entry for a Debian release suite"
            ));
        }
        Err(e) => looked.push(format!("{APT_SOURCES_DEB822}: {e}")),
    }
    // One-line format: deb [options] URI suite component...
    match fs::read_to_string(APT_SOURCES_LIST) {
        Ok(text) => {
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("").trim();
                let mut words = line.split_whitespace().peekable();
                if words.next() != Some("deb") {
                    continue;
                }
                let mut keyring = None;
                if words.peek().is_some_and(|w| w.starts_with('[')) {
                    for w in words.by_ref() {
                        let opt = w.trim_matches(|c| c == '[' || c == ']');
                        if let Some(k) = opt.strip_prefix("signed-by=") {
                            keyring = Some(PathBuf::from(k)).filter(|k| k.is_file());
                        }
                        if w.ends_with(']') {
                            break;
                        }
                    }
                }
                if let (Some(uri), Some(suite)) = (words.next(), words.next()) {
                    if is_debian_suite(suite) {
                        return Ok(Archive {
                            uri: uri.to_string(),
                            keyring,
                        });
                    }
                }
            }
            looked.push(format!("{APT_SOURCES_LIST} has none either"));
        }
        Err(e) => looked.push(format!("{APT_SOURCES_LIST}: {e}")),
    }
    Err(FetchError::NoDebianArchive {
        reason: looked.join("; "),
    })
}

/// apt, pointed at private state in `<cache>/apt/`.
struct Apt {
    dir: PathBuf,
    options: Vec<String>,
    /// Complaints from `apt-get update` that did not stop it.
    update_notes: String,
}

/// A binary package downloaded from Debian's archive and checked.
#[derive(Debug)]
struct DownloadedDeb {
    /// The .deb in the cache.
    path: PathBuf,
    /// Its path in the archive (`pool/main/...`).
    file_name: String,
    /// Its sha256, as the archive's index gives it.
    sha256: String,
}

/// A version of a source package as `apt-cache showsrc` lists it.
#[derive(Debug)]
struct SourcePackage {
    version: String,
    directory: String,
    /// `(sha256, file name)`
    files: Vec<(String, String)>,
}

impl Apt {
    /// Writes the private sources list and refreshes the lists if they are
    /// missing, older than a day, or were made from a different list.
    fn prepare(cache: &Cache) -> Result<Apt, FetchError> {
        let archive = debian_archive()?;
        let dir = cache.dir("apt")?;
        for sub in ["lists/partial", "cache/archives/partial", "parts"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(|e| SourceError::io("create directory", &d, e))?;
        }
        let empty = dir.join("empty");
        if !empty.is_file() {
            write_atomically(&empty, b"")?;
        }
        let mut options: Vec<String> = [
            ("Dir::Etc::SourceList", dir.join("sources.list")),
            ("Dir::Etc::SourceParts", dir.join("parts")),
            ("Dir::Etc::Preferences", empty.clone()),
            ("Dir::Etc::PreferencesParts", dir.join("parts")),
            ("Dir::State::Lists", dir.join("lists")),
            ("Dir::Cache", dir.join("cache")),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", v.display()))
        .chain([
            "Acquire::Languages=none".to_string(),
            // Without a binary cache every apt-cache call re-parses all the
            // lists (2 s each); some hosts (Docker images) turn it off.
            "Dir::Cache::pkgcache=pkgcache.bin".to_string(),
            // Only needed when running as root: download as root rather than
            // as _apt, who may not be able to enter a cache under /root.
            "APT::Sandbox::User=root".to_string(),
        ])
        .collect();
        // The machine may fetch extra indices (DEP-11, Contents) for every
        // suite; only Packages and Sources are needed.
        for target in extra_index_targets() {
            options.push(format!(
                "Acquire::IndexTargets::deb::{target}::DefaultEnabled=false"
            ));
        }
        let options = options
            .into_iter()
            .flat_map(|o| ["-o".to_string(), o])
            .collect();
        let mut apt = Apt {
            dir,
            options,
            update_notes: String::new(),
        };
        apt.update(&archive)?;
        Ok(apt)
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(&self.options).env("LC_ALL", "C");
        cmd
    }

    fn sources_list(archive: &Archive, unsigned: &BTreeSet<String>) -> String {
        let mut text = String::from(
            "# Written by malloc-standalone: Debian's archive at the address this machine uses.\n",
        );
        let opts = |suite: &str| {
            if unsigned.contains(suite) {
                "[trusted=yes] ".to_string()
            } else if let Some(k) = &archive.keyring {
                format!("[signed-by={}] ", k.display())
            } else {
                String::new()
            }
        };
        for suite in DEBIAN_SUITES {
            text.push_str(&format!(
                "deb {}{} {suite} main\n",
                opts(suite),
                archive.uri
            ));
        }
        text.push_str(&format!(
            "deb-src {}{} {DEBIAN_SOURCE_SUITE} main\n",
            opts(DEBIAN_SOURCE_SUITE),
            archive.uri
        ));
        text
    }

    fn update(&mut self, archive: &Archive) -> Result<(), FetchError> {
        let mut archive_keyed = Archive {
            uri: archive.uri.clone(),
            keyring: archive.keyring.clone(),
        };
        if archive_keyed.keyring.is_none() && Path::new(DEBIAN_KEYRING).is_file() {
            archive_keyed.keyring = Some(PathBuf::from(DEBIAN_KEYRING));
        }
        let list_path = self.dir.join("sources.list");
        let stamp = self.dir.join("updated");
        let mut unsigned = BTreeSet::new();
        let base = Self::sources_list(&archive_keyed, &unsigned);
        let mut text = base.clone();
        // The stamp holds the list it was made from (before any unsigned
        // fallback), so a change of the machine's archive address or of this
        // code's suites forces a fresh update.
        if let Ok(stamp_text) = fs::read_to_string(&stamp) {
            let fresh = fs::metadata(&stamp)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age < APT_LISTS_MAX_AGE);
            if fresh && stamp_text == base && list_path.is_file() {
                return Ok(());
            }
        }
        for attempt in 0..2 {
            write_atomically(&list_path, text.as_bytes())?;
            let mut cmd = self.command("apt-get");
            cmd.args(["-q", "update"]);
            let out = spawn(&mut cmd)?;
            let all = format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // A suite signed by a key the machine's keyring lacks (a release
            // newer than the keyring package) is retried without verification
            // rather than lost.
            let newly_unsigned: BTreeSet<String> = all
                .lines()
                .filter(|l| {
                    l.contains("NO_PUBKEY")
                        || l.contains("is not signed")
                        || l.contains("couldn't be verified")
                        || l.contains("EXPKEYSIG")
                })
                .flat_map(|l| {
                    DEBIAN_SUITES
                        .iter()
                        .filter(move |s| l.contains(&format!(" {s} ")))
                        .map(|s| s.to_string())
                })
                .filter(|s| !unsigned.contains(s))
                .collect();
            if !newly_unsigned.is_empty() && attempt == 0 {
                unsigned.extend(newly_unsigned);
                text = Self::sources_list(&archive_keyed, &unsigned);
                continue;
            }
            let problems: Vec<&str> = all
                .lines()
                .filter(|l| l.starts_with("E:") || l.starts_with("W:") || l.starts_with("Err:"))
                .collect();
            let have_lists = fs::read_dir(self.dir.join("lists"))
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
                })
                .unwrap_or(false);
            if !out.status.success() && !have_lists {
                return Err(command_failed(&cmd, &out));
            }
            // A missing suite (say, a mirror without experimental) still
            // leaves the others usable; keep the complaint for the error
            // message in case the wanted version is not found.
            if !problems.is_empty() {
                self.update_notes = format!("; apt-get update said: {}", problems.join(" / "));
            }
            if out.status.success() {
                write_atomically(&stamp, base.as_bytes())?;
            }
            return Ok(());
        }
        Ok(())
    }

    /// Versions of a binary package on offer, over all suites.
    fn madison(&self, package: &str) -> Result<Vec<String>, FetchError> {
        let out = run(self.command("apt-cache").args(["madison", package]))?;
        let mut versions = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [name, version, from] = cols[..] {
                if name == package
                    && from.ends_with("Packages")
                    && !versions.iter().any(|v| v == version)
                {
                    versions.push(version.to_string());
                }
            }
        }
        Ok(versions)
    }

    /// Every version of a source package on offer.
    fn sources(&self, package: &str) -> Result<Vec<SourcePackage>, FetchError> {
        let out = run(self.command("apt-cache").args(["showsrc", package]))?;
        let mut found: Vec<SourcePackage> = Vec::new();
        for p in parse_deb822(&String::from_utf8_lossy(&out.stdout)) {
            if field(&p, "Package") != Some(package) {
                continue;
            }
            let (Some(version), Some(directory), Some(sums)) = (
                field(&p, "Version"),
                field(&p, "Directory"),
                field(&p, "Checksums-Sha256"),
            ) else {
                continue;
            };
            if found.iter().any(|s| s.version == version) {
                continue;
            }
            let files = sums
                .lines()
                .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
                    [sha, _size, name] => Some((sha.to_lowercase(), name.to_string())),
                    _ => None,
                })
                .collect();
            found.push(SourcePackage {
                version: version.to_string(),
                directory: directory.to_string(),
                files,
            });
        }
        Ok(found)
    }

    /// Downloads binary package `package` of Debian version `version` into
    /// `<cache>/downloads/debian/` (unless a file with the archive's sha256 is
    /// already there) and checks it against the archive's sha256.
    fn download_deb(
        &self,
        package: &str,
        version: &str,
        cache: &Cache,
    ) -> Result<DownloadedDeb, FetchError> {
        let spec = format!("{package}={version}");
        let out = run(self.command("apt-cache").args(["show", &spec]))?;
        let paragraphs = parse_deb822(&String::from_utf8_lossy(&out.stdout));
        let (file_name, expected) = paragraphs
            .iter()
            .find_map(|p| Some((field(p, "Filename")?, field(p, "SHA256")?)))
            .ok_or_else(|| FetchError::Command {
                command: format!("apt-cache show {spec}"),
                status: "no Filename/SHA256 fields".to_string(),
                output: String::new(),
            })?;
        let expected = expected.to_lowercase();
        let base = file_name.rsplit('/').next().unwrap_or(file_name);
        let downloads = cache.dir("downloads/debian")?;
        let deb = downloads.join(base);
        if !has_sha256(&deb, &expected) {
            let tmp = temp_dir_in(&downloads)?;
            run(self
                .command("apt-get")
                .args(["-q", "download", &spec])
                .current_dir(tmp.path()))?;
            let got = single_file_with_suffix(tmp.path(), ".deb")?;
            verify_and_move(&got, &deb, &expected)?;
        }
        Ok(DownloadedDeb {
            path: deb,
            file_name: file_name.to_string(),
            sha256: expected,
        })
    }

    fn fetch_glibc_source(&self, version: &str, cache: &Cache) -> Result<GlibcSource, FetchError> {
        let deb = self.download_deb("glibc-source", version, cache)?;
        let (tarball, tarball_sha256, root) = unpack_deb_tarball(&deb.path, cache)?;
        Ok(GlibcSource::from_root(
            root,
            Origin::Debian {
                package: "glibc-source".to_string(),
                version: version.to_string(),
                file_name: deb.file_name,
                sha256: deb.sha256,
                tarball,
                tarball_sha256,
            },
        )?)
    }

    fn fetch_orig(&self, src: &SourcePackage, cache: &Cache) -> Result<GlibcSource, FetchError> {
        let prefix = format!("glibc_{}.orig.tar.", upstream_version(&src.version));
        let (expected, name) = src
            .files
            .iter()
            .find(|(_, name)| name.starts_with(&prefix))
            .cloned()
            .ok_or_else(|| FetchError::NotInDebian {
                wanted: src.version.clone(),
                binaries: "none".to_string(),
                sources: format!("{} but without an orig tarball", src.version),
                notes: String::new(),
            })?;
        let downloads = cache.dir("downloads/debian")?;
        let orig = downloads.join(&name);
        if !has_sha256(&orig, &expected) {
            let tmp = temp_dir_in(&downloads)?;
            let spec = format!("glibc={}", src.version);
            let mut cmd = self.command("apt-get");
            cmd.args(["-q", "source", "--download-only", "--only-source", &spec])
                .current_dir(tmp.path());
            let out = spawn(&mut cmd)?;
            // The .dsc is sometimes gone from the pool while the tarball is
            // still there, and that makes apt-get fail; the tarball is all
            // that is needed.
            let got = tmp.path().join(&name);
            if !got.is_file() {
                return Err(command_failed(&cmd, &out));
            }
            verify_and_move(&got, &orig, &expected)?;
        }
        let compression = Compression::from_file_name(&name)
            .ok_or_else(|| SourceError::UnknownArchive { path: orig.clone() })?;
        let unpacked = unpack_tarball_as(&orig, compression, cache)?;
        Ok(GlibcSource::from_root(
            unpacked.root,
            Origin::Debian {
                package: "glibc".to_string(),
                version: src.version.clone(),
                file_name: format!("{}/{}", src.directory, name),
                sha256: expected.clone(),
                tarball: name,
                tarball_sha256: expected,
            },
        )?)
    }
}

/// Names of the machine's extra per-suite index targets (everything but Packages).
fn extra_index_targets() -> Vec<String> {
    let mut targets: BTreeSet<String> = [
        "DEP-11",
        "DEP-11-icons",
        "DEP-11-icons-small",
        "Contents-deb",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    if let Ok(out) = Command::new("apt-config")
        .arg("dump")
        .stdin(Stdio::null())
        .output()
    {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(rest) = line.strip_prefix("Acquire::IndexTargets::deb::") {
                if let Some((name, _)) = rest.split_once("::") {
                    targets.insert(name.to_string());
                }
            }
        }
    }
    targets.remove("Packages");
    targets.into_iter().collect()
}

fn has_sha256(path: &Path, expected: &str) -> bool {
    path.is_file() && sha256_file(path).is_ok_and(|s| s == expected)
}

fn single_file_with_suffix(dir: &Path, suffix: &str) -> Result<PathBuf, FetchError> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| SourceError::io("list", dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    match found.len() {
        1 => Ok(found.pop().expect("one element")),
        n => Err(FetchError::BadPackage {
            path: dir.to_path_buf(),
            what: format!("exactly one {suffix} file (found {n})"),
        }),
    }
}

fn verify_and_move(got: &Path, dest: &Path, expected: &str) -> Result<(), FetchError> {
    let actual = sha256_file(got).map_err(|e| SourceError::io("read", got, e))?;
    if actual != expected {
        return Err(FetchError::ChecksumMismatch {
            what: got.display().to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    fs::rename(got, dest).map_err(|e| SourceError::io("rename into place", dest, e))?;
    Ok(())
}

/// Pulls `usr/src/glibc/glibc-<v>.tar.*` out of a glibc-source .deb and
/// unpacks it; returns the tarball's name and sha256 and the tree.
fn unpack_deb_tarball(deb: &Path, cache: &Cache) -> Result<(String, String, PathBuf), FetchError> {
    let bad = |what: &str| FetchError::BadPackage {
        path: deb.to_path_buf(),
        what: what.to_string(),
    };
    let corrupt = |error: io::Error| SourceError::CorruptTarball {
        path: deb.to_path_buf(),
        error,
    };
    // Decompressing the .deb again only to learn which tree it holds costs
    // seconds; a note beside it remembers the answer.
    let mut note_name = deb.file_name().unwrap_or_default().to_os_string();
    note_name.push(".tarball");
    let note = deb.with_file_name(note_name);
    if let Some((name, sha256)) = fs::read_to_string(&note).ok().and_then(|t| {
        t.trim()
            .split_once(' ')
            .map(|(n, s)| (n.to_string(), s.to_string()))
    }) {
        if let Some(root) = crate::tree::unpacked_tree(cache, &sha256) {
            return Ok((name, sha256, root));
        }
    }
    let downloads = cache.dir("downloads/debian")?;
    let inner = regex::Regex::new(r"^(?:\./)?usr/src/glibc/(glibc-[^/]+\.tar\.(?:xz|gz|bz2))$")
        .expect("static regex");
    with_deb_data(deb, |compression, member| {
        let mut data = tar::Archive::new(compression.decoder(member));
        for entry in data.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            let path = entry
                .path()
                .map_err(corrupt)?
                .to_string_lossy()
                .into_owned();
            let Some(name) = inner.captures(&path).map(|c| c[1].to_string()) else {
                continue;
            };
            let inner_compression =
                Compression::from_file_name(&name).expect("the regex admits only tarball names");
            // The extracted tarball is only a stepping stone: the .deb stays
            // in the cache and can produce it again.
            let mut tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .suffix(&format!("-{name}"))
                .tempfile_in(&downloads)
                .map_err(|e| SourceError::io("create a temporary file in", &downloads, e))?;
            let sha256 = copy_hashing(&mut entry, tmp.as_file_mut())
                .map_err(|e| SourceError::io("extract a tarball into", tmp.path(), e))?;
            let unpacked = unpack_tarball_as(tmp.path(), inner_compression, cache)?;
            write_atomically(&note, format!("{name} {sha256}\n").as_bytes())?;
            return Ok((name, sha256, unpacked.root));
        }
        Err(bad("usr/src/glibc/glibc-<version>.tar.xz"))
    })
}

/// Finds a .deb's `data.tar[.xz|.gz|.bz2]` member and hands `f` its
/// compression and its (still compressed) bytes.
fn with_deb_data<T>(
    deb: &Path,
    f: impl FnOnce(Compression, &mut dyn Read) -> Result<T, FetchError>,
) -> Result<T, FetchError> {
    let bad = |what: &str| FetchError::BadPackage {
        path: deb.to_path_buf(),
        what: what.to_string(),
    };
    let file = File::open(deb).map_err(|e| SourceError::io("open", deb, e))?;
    let mut ar = ar::Archive::new(file);
    while let Some(member) = ar.next_entry() {
        let mut member = member.map_err(|error| SourceError::CorruptTarball {
            path: deb.to_path_buf(),
            error,
        })?;
        let member_name = String::from_utf8_lossy(member.header().identifier()).into_owned();
        let Some(suffix) = member_name.strip_prefix("data.tar") else {
            continue;
        };
        let compression = match suffix {
            ".xz" => Compression::Xz,
            ".gz" => Compression::Gzip,
            ".bz2" => Compression::Bzip2,
            "" => Compression::None,
            other => {
                return Err(bad(&format!(
                    "a data.tar this tool can decompress (it has data.tar{other}; only xz, gz and bz2 are supported)"
                )))
            }
        };
        return f(compression, &mut member);
    }
    Err(bad("a data.tar member"))
}

/// Copies `from` to `to`, returning the sha256 of what passed through.
fn copy_hashing(from: &mut impl Read, to: &mut impl Write) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
    to.flush()?;
    Ok(hex::encode(hasher.finalize()))
}

// ---------------------------------------------------------------- reference libcs

/// Where the host's own dynamic loader and libc live (x86_64, Debian layout).
const HOST_LD_SO: &str = "/lib64/ld-linux-x86-64.so.2";
const HOST_LIB_DIR: &str = "/lib/x86_64-linux-gnu";

/// The dynamic loader's file name on x86_64.
const LD_SO_NAME: &str = "ld-linux-x86-64.so.2";

/// A real glibc of one version, runnable on this host: programs run against
/// it with `<ld_so> --library-path <lib_dir> <program>` (see
/// [`ReferenceLibc::command`]). The allocator built for that version is
/// compared with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceLibc {
    /// Upstream version, e.g. `"2.31"`.
    pub version: String,
    /// The Debian version of the `libc6` package it came from (for the host's
    /// own glibc, the installed `libc6`, when dpkg knows it).
    pub debian_version: Option<String>,
    /// The directory the package was unpacked into (`/` for the host's own).
    pub root: PathBuf,
    /// Its dynamic loader, `ld-linux-x86-64.so.2`.
    pub ld_so: PathBuf,
    /// The directory that holds its `libc.so.6`.
    pub lib_dir: PathBuf,
}

impl ReferenceLibc {
    /// Whether this is the glibc the host runs (nothing was downloaded).
    pub fn is_host(&self) -> bool {
        self.root == Path::new("/")
    }

    /// A command that runs `program` on this glibc:
    /// `<ld_so> --library-path <lib_dir> <program>`. Append the program's
    /// arguments. The program must not need symbol versions newer than this
    /// glibc has.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(&self.ld_so);
        cmd.arg("--library-path").arg(&self.lib_dir).arg(program);
        cmd
    }
}

/// The real glibc `version` (e.g. `"2.31"`), to run programs against: the
/// host's own when `version` is the host's glibc (and `debian_version`, if
/// given, is the installed `libc6`); otherwise Debian's `libc6` binary
/// package of that version (`debian_version` exactly, else the newest on
/// offer over all suites), downloaded and checked through apt and unpacked
/// once into `<cache>/libc6/<debian version>/`.
pub fn reference_libc(
    version: &str,
    cache: &Cache,
    debian_version: Option<&str>,
) -> Result<ReferenceLibc, FetchError> {
    check_version_arg(version)?;
    if let Some(d) = debian_version {
        if upstream_version(d) != version {
            return Err(FetchError::VersionMismatch {
                wanted: version.to_string(),
                found: upstream_version(d).to_string(),
                origin: format!("Debian version {d}"),
            });
        }
    }
    let host = host_glibc()?;
    if host.version == version
        && debian_version.is_none_or(|d| host.debian_version.as_deref() == Some(d))
    {
        return Ok(ReferenceLibc {
            version: host.version,
            debian_version: host.debian_version,
            root: PathBuf::from("/"),
            ld_so: PathBuf::from(HOST_LD_SO),
            lib_dir: PathBuf::from(HOST_LIB_DIR),
        });
    }
    // An exact version unpacked before needs no archive at all.
    if let Some(d) = debian_version {
        if let Ok(found) = locate_reference(version, d, &libc6_dir(cache, d)) {
            return Ok(found);
        }
    }
    let apt = Apt::prepare(cache)?;
    let offered = apt.madison("libc6")?;
    let chosen = offered
        .iter()
        .filter(|v| match debian_version {
            Some(d) => v.as_str() == d,
            None => upstream_version(v) == version,
        })
        .max_by(|a, b| compare_debian_versions(a, b))
        .cloned();
    let Some(debver) = chosen else {
        let mut offered = offered;
        offered.sort_by(|a, b| compare_debian_versions(a, b));
        return Err(FetchError::NoReferenceLibc {
            wanted: debian_version.unwrap_or(version).to_string(),
            offered: if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            },
            notes: apt.update_notes.clone(),
        });
    };
    let dest = libc6_dir(cache, &debver);
    if let Ok(found) = locate_reference(version, &debver, &dest) {
        return Ok(found);
    }
    let deb = apt.download_deb("libc6", &debver, cache)?;
    // Refuse a package without a loader and libc before it gets a final name.
    let layout =
        format!("{LD_SO_NAME} and libc.so.6 in lib/x86_64-linux-gnu or usr/lib/x86_64-linux-gnu");
    unpack_deb_into(&deb.path, &dest, |tmp| {
        match locate_reference(version, &debver, tmp) {
            Ok(_) => Ok(()),
            Err(_) => Err(layout),
        }
    })?;
    locate_reference(version, &debver, &dest)
}

fn libc6_dir(cache: &Cache, debian_version: &str) -> PathBuf {
    cache.root().join("libc6").join(debian_version)
}

/// Unpacks a .deb's data into `dest` (a directory in the cache, published
/// atomically: a concurrent unpack that got there first wins); `check`
/// inspects the unpacked tree before it gets its final name and says what
/// is missing.
fn unpack_deb_into(
    deb: &Path,
    dest: &Path,
    check: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), FetchError> {
    let parent = dest.parent().expect("a cache subdirectory");
    fs::create_dir_all(parent).map_err(|e| SourceError::io("create directory", parent, e))?;
    let tmp = temp_dir_in(parent)?;
    with_deb_data(deb, |compression, member| {
        Ok(crate::tree::unpack_stream(
            member,
            compression,
            tmp.path(),
            deb,
        )?)
    })?;
    check(tmp.path()).map_err(|what| FetchError::BadPackage {
        path: deb.to_path_buf(),
        what,
    })?;
    publish_dir(tmp, dest)?;
    Ok(())
}

/// The development files (headers, crt objects, `libc.so`,
/// `libc_nonshared.a`) that go with a reference glibc: Debian's `libc6-dev`
/// of exactly the reference's Debian version, downloaded and checked
/// through apt and unpacked once into `<cache>/libc6-dev/<debian version>/`.
/// Returns that directory (it holds `usr/include` and
/// `usr/lib/x86_64-linux-gnu`); for the host's own glibc, `/`. Programs
/// compiled against it and linked against the reference's libraries record
/// only symbol versions that glibc has. Its `.so` symlinks are absolute
/// (`/lib/x86_64-linux-gnu/...`): a sysroot must point them at
/// [`ReferenceLibc::lib_dir`].
pub fn reference_libc_dev(reference: &ReferenceLibc, cache: &Cache) -> Result<PathBuf, FetchError> {
    if reference.is_host() {
        return Ok(PathBuf::from("/"));
    }
    let Some(debver) = reference.debian_version.as_deref() else {
        return Err(FetchError::NoReferenceLibc {
            wanted: format!(
                "{} (libc6-dev of an unknown Debian version)",
                reference.version
            ),
            offered: "-".to_string(),
            notes: String::new(),
        });
    };
    let dest = cache.root().join("libc6-dev").join(debver);
    let complete = |root: &Path| {
        [
            "usr/include/stdio.h",
            "usr/lib/x86_64-linux-gnu/libc_nonshared.a",
        ]
        .iter()
        .all(|f| root.join(f).is_file())
    };
    if complete(&dest) {
        return Ok(dest);
    }
    let apt = Apt::prepare(cache)?;
    let deb = apt.download_deb("libc6-dev", debver, cache)?;
    unpack_deb_into(&deb.path, &dest, |tmp| {
        complete(tmp).then_some(()).ok_or_else(|| {
            "usr/include/stdio.h and usr/lib/x86_64-linux-gnu/libc_nonshared.a".to_string()
        })
    })?;
    Ok(dest)
}

/// Versions of Debian binary package `package` on offer over all suites
/// the archive has, newest first (for packages a reference glibc's
/// programs load besides libc, such as `libgcc-s1`).
pub fn debian_package_versions(package: &str, cache: &Cache) -> Result<Vec<String>, FetchError> {
    let apt = Apt::prepare(cache)?;
    let mut versions = apt.madison(package)?;
    versions.sort_by(|a, b| compare_debian_versions(b, a));
    Ok(versions)
}

/// Debian binary package `package` of exactly `version`, downloaded and
/// checked through apt and unpacked once into
/// `<cache>/deb/<package>/<version>/`; returns that directory and the path
/// of `library` in it, under `lib/x86_64-linux-gnu` or (after Debian's /usr
/// merge) `usr/lib/x86_64-linux-gnu`, checked before the directory gets its
/// final name.
pub fn unpack_debian_library(
    package: &str,
    version: &str,
    library: &str,
    cache: &Cache,
) -> Result<PathBuf, FetchError> {
    let dest = cache.root().join("deb").join(package).join(version);
    let find = |root: &Path| {
        ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"]
            .iter()
            .map(|d| root.join(d).join(library))
            .find(|p| p.is_file())
    };
    if let Some(found) = find(&dest) {
        return Ok(found);
    }
    let apt = Apt::prepare(cache)?;
    let deb = apt.download_deb(package, version, cache)?;
    unpack_deb_into(&deb.path, &dest, |tmp| {
        find(tmp)
            .map(|_| ())
            .ok_or_else(|| format!("{library} in lib/x86_64-linux-gnu or usr/lib/x86_64-linux-gnu"))
    })?;
    find(&dest).ok_or_else(|| FetchError::BadPackage {
        path: dest.clone(),
        what: library.to_string(),
    })
}

/// The loader and libc inside an unpacked `libc6` (before the /usr merge they
/// are in `lib/`, after it in `usr/lib/`). A loader that is a symlink must
/// stay inside the tree: `lib64/ld-linux-x86-64.so.2` in old packages points
/// at the absolute `/lib/...`, which is the host's.
fn locate_reference(
    version: &str,
    debian_version: &str,
    root: &Path,
) -> Result<ReferenceLibc, FetchError> {
    let missing = || FetchError::BadPackage {
        path: root.to_path_buf(),
        what: format!("{LD_SO_NAME} and libc.so.6"),
    };
    let root_real = root.canonicalize().map_err(|_| missing())?;
    for lib in ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"] {
        let lib_dir = root_real.join(lib);
        let ld_so = lib_dir.join(LD_SO_NAME);
        let inside = |p: &Path| {
            p.canonicalize()
                .is_ok_and(|real| real.starts_with(&root_real))
        };
        if inside(&ld_so) && inside(&lib_dir.join("libc.so.6")) {
            return Ok(ReferenceLibc {
                version: version.to_string(),
                debian_version: Some(debian_version.to_string()),
                root: root_real.clone(),
                ld_so,
                lib_dir,
            });
        }
    }
    Err(missing())
}

// ---------------------------------------------------------------- GNU

/// Downloads `<gnu_base_url>/glibc-<version>.tar.xz`, verifies it against
/// `opts.sha256` or the pinned hash (refusing when there is neither), keeps it
/// in `<cache>/downloads/gnu/`, and unpacks it.
pub fn fetch_gnu(
    version: &str,
    cache: &Cache,
    opts: &FetchOptions,
) -> Result<GlibcSource, FetchError> {
    let expected = match (&opts.sha256, gnu_sha256(version)) {
        (Some(sha), _) => {
            check_sha256_arg(sha)?;
            sha.to_lowercase()
        }
        (None, Some(pinned)) => pinned.to_string(),
        (None, None) => {
            return Err(FetchError::NoPinnedHash {
                version: version.to_string(),
            })
        }
    };
    let name = format!("glibc-{version}.tar.xz");
    let url = gnu_release_url(opts.gnu_base_url.as_deref(), version);
    let downloads = cache.dir("downloads/gnu")?;
    let dest = downloads.join(&name);
    if !has_sha256(&dest, &expected) {
        download(&url, &downloads, &dest, &expected)?;
    }
    let unpacked = unpack_tarball_as(&dest, Compression::Xz, cache)?;
    let found = GlibcSource::from_root(
        unpacked.root,
        Origin::Gnu {
            url,
            sha256: expected,
        },
    )?;
    check_fetched_version(found, version)
}

/// Streams `url` into a temporary file beside `dest`, and renames it to
/// `dest` only if its sha256 is `expected`.
fn download(url: &str, dir: &Path, dest: &Path, expected: &str) -> Result<(), FetchError> {
    let http = |error: String| FetchError::Http {
        url: url.to_string(),
        error,
    };
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(120))
        .build();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, r) => http(format!("HTTP {code} {}", r.status_text())),
        // Transport's Display repeats the URL, which the message already names.
        ureq::Error::Transport(t) => {
            let mut text = t.kind().to_string();
            if let Some(m) = t.message() {
                text.push_str(&format!(": {m}"));
            }
            if let Some(cause) = std::error::Error::source(&t) {
                text.push_str(&format!(" ({cause})"));
            }
            http(text)
        }
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| SourceError::io("create a temporary file in", dir, e))?;
    let actual = copy_hashing(&mut response.into_reader(), tmp.as_file_mut())
        .map_err(|e| http(format!("transfer interrupted ({e})")))?;
    if actual != expected {
        return Err(FetchError::ChecksumMismatch {
            what: url.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    tmp.persist(dest)
        .map_err(|e| SourceError::io("rename into place", dest, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_version_order() {
        let lt = |a, b| compare_debian_versions(a, b) == Ordering::Less;
        assert!(lt("2.36-9+deb12u13", "2.36-9+deb12u14"));
        assert!(lt("2.36-9", "2.36-9+deb12u1"));
        assert!(lt("2.42~rc1-1", "2.42-1"));
        assert!(lt("2.42-9", "2.42-13"));
        assert!(lt("2.9-1", "2.10-1"));
        assert!(lt("9:2.0-1", "10:1.0-1"));
        assert!(lt("2.43-7", "1:2.0-1"));
        assert_eq!(
            compare_debian_versions("2.36-09", "2.36-9"),
            Ordering::Equal
        );
    }

    #[test]
    fn upstream_of_debian_version() {
        assert_eq!(upstream_version("2.36-9+deb12u14"), "2.36");
        assert_eq!(upstream_version("1:2.42-1-2"), "2.42-1");
        assert_eq!(upstream_version("2.43"), "2.43");
    }

    #[test]
    fn deb822_continuations() {
        let p = parse_deb822("A: 1\nB:\n x y\n z\n\n# c\nA: 2\n");
        assert_eq!(p.len(), 2);
        assert_eq!(field(&p[0], "b"), Some("\nx y\nz"));
        assert_eq!(field(&p[1], "A"), Some("2"));
    }
}
