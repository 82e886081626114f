//! `--like FILE`: the allocator matching a given `libc.so.6` (a
//! challenge's). [`manifest_like`] identifies the file
//! ([`source::libc::identify`]), picks the source closest to what built it
//! and returns the manifest to build:
//!
//! - a Debian banner (`Debian GLIBC 2.36-9+deb12u14`): Debian's source of
//!   exactly that version, through the archive; when the archive no longer
//!   has it (old point releases leave it), GNU's release instead;
//! - any other banner (Ubuntu's, whose archive this tool does not reach;
//!   `GNU libc`, which names no distribution; Gentoo's, ...): GNU's release
//!   (through the mirror, or GNU), with a note that the distribution's
//!   patches are not applied;
//! - a development snapshot (`2.40.9000`): Debian's exact source for a
//!   Debian build, else the release it follows (as pwndbg and GEF read it).
//!
//! When a committed manifest (`nix/manifests/`) pins exactly that source,
//! it is the one; otherwise the source is fetched and resolved into the
//! cache (`<cache>/like/<source>/glibc-<version>.yaml`), reused while it
//! pins the project's current shims and stubs. Every choice is said on
//! stderr through `note`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use manifest::{Manifest, Origin};
use resolve::SourceInfo;
use source::fetch::{FetchError, FetchOptions, Step};
use source::libc::{self, Distribution, LibcFile};
use source::GlibcSource;

use crate::common::options;
use crate::sources::Sources;

/// Picks (resolving if needed) the manifest of the allocator matching
/// `file`, and returns its path: a committed manifest, or one resolved
/// into the cache. Says on `note` which source and why. Fails, before
/// anything is fetched or written, when `file` is not an x86_64 glibc this
/// project builds.
pub fn manifest_like(
    file: &Path,
    sources: &Sources,
    project: &Path,
    note: &dyn Fn(String),
) -> Result<PathBuf> {
    let libc = libc::identify(file)?;
    note(format!(
        "--like {}: glibc {} (`{}`)",
        file.display(),
        libc.version,
        libc.banner
    ));
    if libc.development {
        note(format!(
            "--like: {} is a development snapshot after glibc {}: building {}'s allocator; \
             malloc changes made in the development tree since are not in it",
            libc.version, libc.release, libc.release
        ));
    }
    let manifest = match &libc.distribution {
        Distribution::Debian { version } => debian(&libc, version, sources, project, note)?,
        other => {
            let why = match other {
                Distribution::Ubuntu { .. } => {
                    "Ubuntu's archive is not one this tool fetches from".to_string()
                }
                Distribution::Gnu => "the banner names no distribution (`GNU libc`)".to_string(),
                Distribution::Unnamed => "the banner names no distribution".to_string(),
                Distribution::Debian { .. } => unreachable!("handled above"),
                Distribution::Other { name } => {
                    format!("`{name}` is not a distribution this tool fetches sources of")
                }
            };
            note(format!(
                "--like: {why}: using GNU's glibc {} release; {} patches are not applied",
                libc.release,
                match other {
                    Distribution::Gnu | Distribution::Unnamed =>
                        "if a distribution built it, its".to_string(),
                    d => format!("{}'s", vendor(d)),
                }
            ));
            upstream(&libc.release, sources, project, note)?
        }
    };
    Ok(manifest)
}

/// The vendor's name in a distribution string.
fn vendor(d: &Distribution) -> String {
    match d {
        Distribution::Debian { .. } => "Debian".into(),
        Distribution::Ubuntu { .. } => "Ubuntu".into(),
        Distribution::Other { name } => name.split_whitespace().next().unwrap_or(name).into(),
        Distribution::Gnu | Distribution::Unnamed => "the distribution".into(),
    }
}

/// Debian's source of exactly `debver`; GNU's release when the archive
/// cannot give it.
fn debian(
    libc: &LibcFile,
    debver: &str,
    sources: &Sources,
    project: &Path,
    note: &dyn Fn(String),
) -> Result<PathBuf> {
    let version = &libc.version;
    if let Some(path) = committed(
        project,
        version,
        |o| matches!(o, Origin::Debian { version: v, .. } if v == debver),
    )? {
        let m = Manifest::load(&path)?;
        note(format!(
            "--like: {}, as {} pins it",
            debian_source(&m.source.origin, debver),
            path.display()
        ));
        return Ok(path);
    }
    let opts = FetchOptions {
        debian_version: Some(debver.to_string()),
        gnu: false,
        pins: None,
        ..sources.base.clone()
    };
    match source::fetch::fetch_detailed(version, &sources.cache, &opts) {
        Ok(got) => {
            note(format!(
                "--like: {}",
                debian_source(&got.source.origin, debver)
            ));
            in_cache(&got.source, sources, project, note)
        }
        Err(e) => {
            note(format!(
                "--like: Debian's source of {debver} cannot be fetched ({}): using GNU's \
                 glibc {} release instead; Debian's patches are not applied",
                debian_reason(&e),
                libc.release
            ));
            upstream(&libc.release, sources, project, note)
        }
    }
}

/// Which of Debian's sources of `debver` `o` is: the patched tree of
/// `glibc-source`, or the `glibc` source package's orig tarball (the
/// archive keeps it longer), which holds upstream's files only.
fn debian_source(o: &Origin, debver: &str) -> String {
    match o {
        Origin::Debian { package, .. } if package == "glibc" => format!(
            "Debian's glibc {debver} source package; the archive keeps only its orig tarball \
             (upstream's files), so Debian's patches are not applied"
        ),
        _ => format!("Debian's patched source of {debver} (glibc-source)"),
    }
}

/// Why Debian's step of a fetch failed, without the other steps' reasons.
fn debian_reason(e: &FetchError) -> String {
    match e {
        FetchError::AllFailed { attempts, .. } => attempts
            .iter()
            .find(|(step, _)| *step == Step::Debian)
            .map(|(_, e)| e.to_string())
            .unwrap_or_else(|| e.to_string()),
        other => other.to_string(),
    }
}

/// GNU's release `version`: the committed manifest when it pins GNU's
/// tarball, else fetched (cache, mirror, GNU) and resolved into the cache.
fn upstream(
    version: &str,
    sources: &Sources,
    project: &Path,
    note: &dyn Fn(String),
) -> Result<PathBuf> {
    if let Some(path) = committed(project, version, |o| matches!(o, Origin::Gnu { .. }))? {
        note(format!(
            "--like: GNU's glibc {version} release, as {} pins it",
            path.display()
        ));
        return Ok(path);
    }
    let opts = FetchOptions {
        debian: false,
        debian_version: None,
        pins: None,
        ..sources.base.clone()
    };
    let src = sources
        .fetch(version, &opts, note)
        .with_context(|| format!("--like: fetching GNU's glibc {version} release"))?;
    in_cache(&src, sources, project, note)
}

/// The committed manifest of `version` when its origin passes `wanted`.
fn committed(
    project: &Path,
    version: &str,
    wanted: impl Fn(&Origin) -> bool,
) -> Result<Option<PathBuf>> {
    let path = manifest::committed_path(project, version);
    if !path.is_file() {
        return Ok(None);
    }
    let m = Manifest::load(&path)?;
    Ok(wanted(&m.source.origin).then_some(path))
}

/// The manifest of `src` resolved into the cache: the one resolved
/// earlier while it still pins this source and the project's shims and
/// stubs, else resolved now.
fn in_cache(
    src: &GlibcSource,
    sources: &Sources,
    project: &Path,
    note: &dyn Fn(String),
) -> Result<PathBuf> {
    let key = match &src.origin {
        Origin::Debian { version, .. } => format!("debian-{version}"),
        Origin::Gnu { .. } => format!("gnu-{}", src.version),
        Origin::Tarball { sha256, .. } => format!("tarball-{}", &sha256[..16.min(sha256.len())]),
        other => anyhow::bail!("--like: a source from {other} cannot be pinned"),
    };
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+.~-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = sources.cache.root().join("like").join(key);
    let path = dir.join(format!("glibc-{}.yaml", src.version));
    if let Ok(m) = Manifest::load(&path) {
        if m.source.origin == src.origin && pins_hold(&m, project) {
            note(format!(
                "--like: {} was resolved earlier from this source; reusing it",
                path.display()
            ));
            return Ok(path);
        }
    }
    note(format!(
        "--like: no committed manifest pins this source: resolving it into {}",
        dir.display()
    ));
    let r = resolve::resolve(&SourceInfo::of(src), &options(project, 8))
        .with_context(|| format!("resolving glibc {} at {}", src.version, src.root.display()))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(r.manifest.write(&dir)?)
}

/// Whether every shim and stub `m` pins is the project's current one.
fn pins_hold(m: &Manifest, project: &Path) -> bool {
    m.shims.iter().chain(&m.stubs).all(|f| {
        manifest::digest::sha256_file(&project.join(&f.path)).is_ok_and(|sha| sha == f.sha256)
    })
}
