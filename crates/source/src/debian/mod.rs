//! Debian's package archive: glibc source trees (the `glibc-source` binary
//! package, else the `glibc` source package's orig tarball), and the
//! general primitives behind them, public for the test harness's reference
//! libcs: [`Apt`] (the versions of a binary package on offer, and a
//! download checked against the archive's sha256), [`unpack_deb`], and
//! Debian's version order ([`compare_debian_versions`]).
//!
//! The archive is reached through the machine's own apt, with a private
//! sources list and private index directories inside the cache: the host's apt
//! state is never touched, root is not needed, and the archive address is the
//! one the machine is already configured with (other mirrors may be
//! unreachable, so none is ever hard-coded).
//!
//! - `archive.rs`: which Debian archive the machine's apt uses;
//! - `apt.rs`: apt and apt-cache on private state in `<cache>/apt/`;
//! - `deb822.rs`: the paragraph format of apt's sources and indices;
//! - `version.rs`: Debian's version order;
//! - `deb.rs`: a `.deb`'s data, unpacked.

mod apt;
mod archive;
mod deb;
mod deb822;
mod version;

use crate::fetch::{check_fetched_version, FetchError, FetchOptions};
use crate::process::{command_failed, spawn};
use crate::tree::{
    has_sha256, temp_dir_in, unpack_tarball_as, Cache, Compression, GlibcSource, Origin,
    SourceError,
};
use apt::{verify_and_move, SourcePackage};
use deb::unpack_deb_tarball;

pub use apt::{Apt, DownloadedDeb};
pub(crate) use archive::APT_SOURCES_DEB822;
pub use deb::unpack_deb;
pub use version::{compare_debian_versions, upstream_version};

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
pub(crate) const DEBIAN_SOURCE_SUITE: &str = "sid";

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

    let binaries = apt.versions("glibc-source")?;
    if let Some(v) = newest(binaries.clone()) {
        return check_fetched_version(from_glibc_source(&apt, &v, cache)?, version);
    }
    let sources = apt.sources("glibc")?;
    let source_versions: Vec<String> = sources.iter().map(|s| s.version.clone()).collect();
    if let Some(v) = newest(source_versions.clone()) {
        let src = sources
            .into_iter()
            .find(|s| s.version == v)
            .expect("picked from this list");
        return check_fetched_version(from_orig(&apt, &src, cache)?, version);
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
        notes: apt.update_notes().to_string(),
    })
}

/// The tree inside `glibc-source` of Debian version `version`.
fn from_glibc_source(apt: &Apt, version: &str, cache: &Cache) -> Result<GlibcSource, FetchError> {
    let deb = apt.download("glibc-source", version, cache)?;
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

/// The tree of a `glibc` source package's orig tarball.
fn from_orig(apt: &Apt, src: &SourcePackage, cache: &Cache) -> Result<GlibcSource, FetchError> {
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
        let mut cmd = apt.command("apt-get");
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
