//! GNU's release tarballs: `<base>/glibc-<version>.tar.xz`, downloaded over
//! HTTP(S) and accepted only with the sha256 the project pins
//! ([`crate::fetch::gnu_sha256`]) or the caller gives.

use std::path::Path;
use std::time::Duration;

use manifest::digest::sha256_copy;

use crate::fetch::{check_fetched_version, check_sha256_arg, gnu_sha256, FetchError, FetchOptions};
use crate::tree::{
    has_sha256, temp_file_in, unpack_tarball_as, Cache, Compression, GlibcSource, Origin,
    SourceError,
};

/// Where GNU publishes glibc release tarballs.
pub const GNU_BASE_URL: &str = "https://ftp.gnu.org/gnu/glibc";

/// Where GNU's tarball of `version` is, under `base_url` (e.g.
/// [`FetchOptions::gnu_base_url`]) or else [`GNU_BASE_URL`].
pub fn gnu_release_url(base_url: Option<&str>, version: &str) -> String {
    let base = base_url.unwrap_or(GNU_BASE_URL);
    format!("{}/glibc-{version}.tar.xz", base.trim_end_matches('/'))
}

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
    let mut tmp = temp_file_in(dir, "")?;
    let actual = sha256_copy(&mut response.into_reader(), tmp.as_file_mut())
        .map_err(|e| http(format!("transfer interrupted ({e})")))?;
    if actual != expected {
        return Err(FetchError::ChecksumMismatch {
            what: url.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    tmp.persist(dest)
        .map_err(|e| SourceError::io("rename into place", dest, e))?;
    Ok(())
}
