//! Which Debian archive the machine's apt uses: the entry for a Debian
//! release suite in its sources, in either format (deb822
//! `debian.sources`, or the one-line `sources.list`).

use std::fs;
use std::path::PathBuf;

use super::deb822::{field, parse_deb822};
use super::DEBIAN_SUITES;
use crate::fetch::FetchError;

/// The machine's apt configuration, read to learn the Debian archive address.
pub(crate) const APT_SOURCES_DEB822: &str = "/etc/apt/sources.list.d/debian.sources";
const APT_SOURCES_LIST: &str = "/etc/apt/sources.list";
/// Debian's archive key, for an entry that names none.
pub(super) const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// The Debian archive the machine's apt is configured with.
#[derive(Debug)]
pub(super) struct Archive {
    /// Its address, e.g. `http://deb.example/debian`.
    pub(super) uri: String,
    /// The keyring its entry names (`signed-by`), if that file exists.
    pub(super) keyring: Option<PathBuf>,
}

fn is_debian_suite(suite: &str) -> bool {
    DEBIAN_SUITES.contains(&suite) || ["stable", "testing", "unstable"].contains(&suite)
}

/// Finds the entry for Debian's main archive (the one serving a release
/// suite such as bookworm, not -security) in the machine's apt sources.
pub(super) fn debian_archive() -> Result<Archive, FetchError> {
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
