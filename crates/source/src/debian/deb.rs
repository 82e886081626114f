//! A `.deb`'s content: the `data.tar.*` member of its ar archive, unpacked
//! into the cache, or (for `glibc-source`) the glibc tarball inside it.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use manifest::digest::sha256_copy;

use crate::fetch::FetchError;
use crate::tree::{
    publish_dir, temp_dir_in, temp_file_in, unpack_stream, unpack_tarball_as, unpacked_tree, Cache,
    Compression, SourceError,
};

/// Unpacks a .deb's data into `dest` (a directory in the cache, published
/// atomically: a concurrent unpack that got there first wins); `check`
/// inspects the unpacked tree before it gets its final name and says what
/// is missing, which makes the error [`FetchError::BadPackage`].
pub fn unpack_deb(
    deb: &Path,
    dest: &Path,
    check: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), FetchError> {
    let parent = dest.parent().expect("a cache subdirectory");
    fs::create_dir_all(parent).map_err(|e| SourceError::io("create directory", parent, e))?;
    let tmp = temp_dir_in(parent)?;
    with_deb_data(deb, |compression, member| {
        Ok(unpack_stream(member, compression, tmp.path(), deb)?)
    })?;
    check(tmp.path()).map_err(|what| FetchError::BadPackage {
        path: deb.to_path_buf(),
        what,
    })?;
    publish_dir(tmp, dest)?;
    Ok(())
}

/// Pulls `usr/src/glibc/glibc-<v>.tar.*` out of a glibc-source .deb and
/// unpacks it; returns the tarball's name and sha256 and the tree.
pub(super) fn unpack_deb_tarball(
    deb: &Path,
    cache: &Cache,
) -> Result<(String, String, PathBuf), FetchError> {
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
        if let Some(root) = unpacked_tree(cache, &sha256) {
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
            let mut tmp = temp_file_in(&downloads, &format!("-{name}"))?;
            let sha256 = sha256_copy(&mut entry, tmp.as_file_mut())
                .map_err(|e| SourceError::io("extract a tarball into", tmp.path(), e))?;
            let unpacked = unpack_tarball_as(tmp.path(), inner_compression, cache)?;
            manifest::write_atomic(&note, format!("{name} {sha256}\n").as_bytes())
                .map_err(SourceError::from)?;
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
