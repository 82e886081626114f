//! [`FetchError`]: why a fetch failed, rendered for a person (every
//! variant's message says what to do), and for [`FetchError::AllFailed`]
//! the reason of each step in the order they were tried.

use std::io;
use std::path::PathBuf;

use super::Step;
use crate::debian::{APT_SOURCES_DEB822, DEBIAN_SOURCE_SUITE};
use crate::mirror;
use crate::tree::SourceError;

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
