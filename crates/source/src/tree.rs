//! A glibc source tree on disk: where it came from, which version it is, and
//! the cache that holds trees unpacked from tarballs or fetched from elsewhere
//! (see [`crate::fetch`]).
//!
//! Cache layout (all under [`Cache::root`]):
//! ```text
//! trees/<sha256 of tarball>/<top-level dir>/   unpacked tarballs
//! git/<commit>/                                 shallow clones
//! downloads/{gnu,debian}/                       downloaded tarballs and .debs
//! apt/                                          private apt lists for Debian's archive
//! fetch/<version>.<kind>.json                   what `fetch` found earlier (kind: debian, gnu, mirror)
//! fetch/<version>.debian=<debian version>.json  what a fetch of an exact Debian version found
//! like/<source>/glibc-<version>.{yaml,json}     manifests `resolver build --like` resolved
//! ```
//! The test harness (`tests/harness`) keeps the Debian binary packages it
//! unpacks beside these: `libc6/`, `libc6-dev/` and `deb/`.
//! Everything that appears under a final name got there by `rename` from a
//! `.tmp-*` sibling, so an interrupted run never leaves a half-written entry
//! that a later run would trust; the next run removes such a sibling at once
//! ([`crate::temp`]). A tarball (or a git tag) with a symbolic link leading
//! out of its tree never gets a final name.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use manifest::digest::sha256_file;

use crate::temp::{self, TempDir, TempFile};

/// A validated glibc source tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlibcSource {
    /// The directory that holds `version.h` and `malloc/malloc.c`.
    pub root: PathBuf,
    /// The release as `version.h` spells it, e.g. `"2.36"`.
    pub version: String,
    /// Where the tree came from.
    pub origin: Origin,
}

/// Where a glibc source tree came from: the manifest's own type, so that a
/// source's identity reaches the manifest unchanged.
pub use manifest::Origin;

/// Errors from opening or unpacking a glibc source.
///
/// I/O causes are part of the message (not a `source()` chain) so that a
/// plain `{}` tells the whole story.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path the user gave does not exist.
    #[error("{} does not exist; pass a glibc source directory or a .tar.xz, .tar.gz or .tar.bz2 tarball", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A directory that lacks the files every glibc tree has.
    #[error("{} is not a glibc source tree: {missing} is missing; point at the directory that holds version.h and malloc/malloc.c{hint}", path.display())]
    NotGlibcTree {
        /// The directory.
        path: PathBuf,
        /// The file that is missing, relative to `path`.
        missing: &'static str,
        /// A suggestion (`"; did you mean ..."`), or empty.
        hint: String,
    },
    /// `version.h` exists but carries no parsable VERSION.
    #[error("{} has no `#define VERSION \"<major>.<minor>\"` line; the tree is damaged or is not glibc", path.display())]
    NoVersion {
        /// The version.h file.
        path: PathBuf,
    },
    /// A file whose name does not say how it is packed.
    #[error("{} is not a directory nor a tarball this tool reads; use a directory or a .tar.xz, .txz, .tar.gz, .tgz, .tar.bz2, .tbz2 or .tar file", path.display())]
    UnknownArchive {
        /// The file.
        path: PathBuf,
    },
    /// Decompression or untarring failed part way.
    #[error("{} is corrupt or truncated ({error}); delete it and download it again", path.display())]
    CorruptTarball {
        /// The tarball.
        path: PathBuf,
        /// What the decoder reported.
        error: io::Error,
    },
    /// The tarball unpacked, but not into one glibc tree.
    #[error("{} holds no glibc source tree: expected one top-level directory with version.h and malloc/malloc.c, found {found}", path.display())]
    NoTreeInTarball {
        /// The tarball.
        path: PathBuf,
        /// What its top level held.
        found: String,
    },
    /// A symbolic link in an unpacked tarball (or a cloned tree) that leads
    /// out of the tree.
    #[error("{}: {} is a symbolic link to {}, which leads outside the tree; a glibc source has no such link, so it is refused and nothing of it is kept (check where it came from)", origin.display(), link.display(), target.display())]
    EscapingSymlink {
        /// The tarball (or repository).
        origin: PathBuf,
        /// The link, relative to the top of what was unpacked.
        link: PathBuf,
        /// What it points at.
        target: PathBuf,
    },
    /// Any other file-system failure.
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        /// What was being done, e.g. `"create directory"`.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause.
        error: io::Error,
    },
    /// Writing a small file in the cache (a record, a note) failed.
    #[error(transparent)]
    Write(#[from] manifest::ManifestError),
    /// Neither an explicit cache location nor a home directory is known.
    #[error("no cache directory: set MALLOC_STANDALONE_CACHE (or XDG_CACHE_HOME or HOME)")]
    NoCacheDir,
}

impl SourceError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, error: io::Error) -> Self {
        SourceError::Io {
            action,
            path: path.into(),
            error,
        }
    }
}

/// The cache's directories that temporaries are made in.
const TEMP_PARENTS: [&str; 4] = ["trees", "git", "downloads/gnu", "downloads/debian"];

/// The on-disk cache of unpacked trees and downloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache rooted at `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// `$MALLOC_STANDALONE_CACHE`, else `$XDG_CACHE_HOME/malloc-standalone`,
    /// else `~/.cache/malloc-standalone`.
    pub fn default_location() -> Result<Cache, SourceError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var("MALLOC_STANDALONE_CACHE") {
            return Ok(Cache::new(dir));
        }
        // The XDG spec says relative values are invalid and must be ignored.
        if let Some(dir) = var("XDG_CACHE_HOME").filter(|d| Path::new(d).is_absolute()) {
            return Ok(Cache::new(Path::new(&dir).join("malloc-standalone")));
        }
        match var("HOME") {
            Some(home) => Ok(Cache::new(
                Path::new(&home).join(".cache").join("malloc-standalone"),
            )),
            None => Err(SourceError::NoCacheDir),
        }
    }

    /// The cache's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<sub>`, created if missing.
    pub fn dir(&self, sub: &str) -> Result<PathBuf, SourceError> {
        let dir = self.root.join(sub);
        fs::create_dir_all(&dir).map_err(|e| SourceError::io("create directory", &dir, e))?;
        Ok(dir)
    }

    /// Removes what interrupted runs left in the cache's directories of
    /// temporaries (unpacks, clones, downloads) at once, rather than when
    /// one of them is next written to ([`crate::temp`]).
    pub fn sweep_temps(&self) {
        for sub in TEMP_PARENTS {
            temp::sweep(&self.root.join(sub), temp::PREFIX);
        }
    }

    /// Where the tree unpacked from a tarball with this sha256 lives.
    pub fn tree_dir(&self, sha256: &str) -> PathBuf {
        self.root.join("trees").join(sha256)
    }
}

/// How a tarball is compressed, judged by its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// `.tar.xz`, `.txz`
    Xz,
    /// `.tar.gz`, `.tgz`
    Gzip,
    /// `.tar.bz2`, `.tbz2`, `.tbz`
    Bzip2,
    /// `.tar`
    None,
}

impl Compression {
    /// The compression a file name announces, or `None` if it is not a tarball name.
    pub fn from_file_name(name: &str) -> Option<Compression> {
        let name = name.to_ascii_lowercase();
        let table: [(&[&str], Compression); 4] = [
            (&[".tar.xz", ".txz"], Compression::Xz),
            (&[".tar.gz", ".tgz"], Compression::Gzip),
            (&[".tar.bz2", ".tbz2", ".tbz"], Compression::Bzip2),
            (&[".tar"], Compression::None),
        ];
        table
            .into_iter()
            .find(|(exts, _)| exts.iter().any(|e| name.ends_with(e)))
            .map(|(_, c)| c)
    }

    /// Wraps `reader` in the matching decoder. Multi-stream decoders are used
    /// because parallel compressors (pixz, pigz, pbzip2) emit several streams.
    pub fn decoder<'a, R: Read + 'a>(self, reader: R) -> Box<dyn Read + 'a> {
        match self {
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(reader)),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
            Compression::None => Box::new(reader),
        }
    }
}

/// Opens a glibc source: a directory (used in place) or a tarball (unpacked
/// into the cache, keyed by its sha256, and reused on later calls).
pub fn open(path: &Path, cache: &Cache) -> Result<GlibcSource, SourceError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SourceError::NotFound {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(SourceError::io("read", path, e)),
    };
    if meta.is_dir() {
        let root = path
            .canonicalize()
            .map_err(|e| SourceError::io("resolve", path, e))?;
        return GlibcSource::from_root(root, Origin::Tree);
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unpacked = unpack_tarball(path, cache)?;
    GlibcSource::from_root(
        unpacked.root,
        Origin::Tarball {
            file_name,
            sha256: unpacked.sha256,
        },
    )
}

impl GlibcSource {
    /// Checks that `root` is a glibc tree and reads its version. No version
    /// is refused here: whether its allocator can be built is for the
    /// resolver to find out, and to say why not.
    pub fn from_root(root: PathBuf, origin: Origin) -> Result<GlibcSource, SourceError> {
        check_tree(&root)?;
        let version = version_of_tree(&root)?;
        if parse_version(&version).is_none() {
            return Err(SourceError::NoVersion {
                path: root.join("version.h"),
            });
        }
        Ok(GlibcSource {
            root,
            version,
            origin,
        })
    }
}

fn check_tree(root: &Path) -> Result<(), SourceError> {
    if !root.is_dir() {
        return Err(SourceError::NotFound {
            path: root.to_path_buf(),
        });
    }
    for missing in ["malloc/malloc.c", "version.h"] {
        if !root.join(missing).is_file() {
            // Pointing at the parent of an unpacked tarball is an easy mistake.
            let hint = match single_subdir(root) {
                Some(sub) if is_glibc_tree(&sub) => format!("; did you mean {}", sub.display()),
                _ => String::new(),
            };
            return Err(SourceError::NotGlibcTree {
                path: root.to_path_buf(),
                missing,
                hint,
            });
        }
    }
    Ok(())
}

fn is_glibc_tree(dir: &Path) -> bool {
    dir.join("malloc/malloc.c").is_file() && dir.join("version.h").is_file()
}

fn single_subdir(dir: &Path) -> Option<PathBuf> {
    let mut entries = fs::read_dir(dir).ok()?.filter_map(Result::ok);
    let first = entries.next()?;
    if entries.next().is_some() || !first.file_type().ok()?.is_dir() {
        return None;
    }
    Some(first.path())
}

/// The `VERSION` macro of `<root>/version.h`, e.g. `"2.36"` (or `"2.42.9000"`
/// for a development snapshot). Does not judge whether it is supported.
pub fn version_of_tree(root: &Path) -> Result<String, SourceError> {
    let path = root.join("version.h");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SourceError::NotGlibcTree {
                path: root.to_path_buf(),
                missing: "version.h",
                hint: String::new(),
            })
        }
        Err(e) => return Err(SourceError::io("read", &path, e)),
    };
    let re = regex::Regex::new(r#"(?m)^\s*#\s*define\s+VERSION\s+"([0-9]+\.[0-9]+[^"]*)""#)
        .expect("static regex");
    re.captures(&text)
        .map(|c| c[1].to_string())
        .ok_or(SourceError::NoVersion { path })
}

/// `(major, minor)` of a glibc version string such as `"2.36"` or `"2.42.9000"`.
pub fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor_text = parts.next()?;
    let digits: String = minor_text
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, digits.parse().ok()?))
}

/// A tarball unpacked in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpacked {
    /// The glibc tree inside the unpacked tarball.
    pub root: PathBuf,
    /// sha256 of the tarball.
    pub sha256: String,
}

/// Unpacks a tarball into `<cache>/trees/<sha256>/` unless that is already
/// there, and returns the glibc tree inside (the top-level directory, or the
/// unpack directory itself for a tarball without one).
pub fn unpack_tarball(path: &Path, cache: &Cache) -> Result<Unpacked, SourceError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let compression =
        Compression::from_file_name(&name).ok_or_else(|| SourceError::UnknownArchive {
            path: path.to_path_buf(),
        })?;
    unpack_tarball_as(path, compression, cache)
}

/// [`unpack_tarball`] with the compression given rather than read off the name.
pub fn unpack_tarball_as(
    path: &Path,
    compression: Compression,
    cache: &Cache,
) -> Result<Unpacked, SourceError> {
    let sha256 = sha256_file(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => SourceError::NotFound {
            path: path.to_path_buf(),
        },
        _ => SourceError::io("read", path, e),
    })?;
    let dest = cache.tree_dir(&sha256);
    if !dest.is_dir() {
        let trees = cache.dir("trees")?;
        let tmp = temp_dir_in(&trees)?;
        unpack_into(path, compression, tmp.path())?;
        // Refuse a tarball without a tree before it gets a final name.
        locate_tree(tmp.path(), path)?;
        publish_dir(tmp, &dest)?;
    }
    let root = locate_tree(&dest, path)?;
    Ok(Unpacked { root, sha256 })
}

/// [`unpack_tarball_as`] for a tarball whose sha256 the caller has already
/// computed, with `vet` judging the glibc tree inside before it gets its
/// final name in the cache: a tree `vet` refuses is deleted with its
/// temporary directory, so nothing of it stays behind. A tree unpacked
/// earlier from the same tarball (same sha256, same bytes) is vetted where
/// it is and left as it was.
pub(crate) fn unpack_tarball_vetted<E: From<SourceError>>(
    path: &Path,
    sha256: &str,
    compression: Compression,
    cache: &Cache,
    vet: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<Unpacked, E> {
    let dest = cache.tree_dir(sha256);
    if dest.is_dir() {
        let root = locate_tree(&dest, path)?;
        vet(&root)?;
        return Ok(Unpacked {
            root,
            sha256: sha256.to_string(),
        });
    }
    let trees = cache.dir("trees")?;
    let tmp = temp_dir_in(&trees)?;
    unpack_into(path, compression, tmp.path())?;
    let inside = locate_tree(tmp.path(), path)?;
    vet(&inside)?;
    publish_dir(tmp, &dest)?;
    Ok(Unpacked {
        root: locate_tree(&dest, path)?,
        sha256: sha256.to_string(),
    })
}

/// The glibc tree unpacked earlier from a tarball with this sha256, if the
/// cache still has it.
pub fn unpacked_tree(cache: &Cache, sha256: &str) -> Option<PathBuf> {
    let dir = cache.tree_dir(sha256);
    if !dir.is_dir() {
        return None;
    }
    locate_tree(&dir, &dir).ok()
}

fn unpack_into(path: &Path, compression: Compression, dest: &Path) -> Result<(), SourceError> {
    let file = File::open(path).map_err(|e| SourceError::io("open", path, e))?;
    unpack_stream(
        BufReader::with_capacity(1 << 16, file),
        compression,
        dest,
        path,
    )?;
    check_symlinks(dest, path)
}

/// Refuses a tree (unpacked or cloned into `root`, from `origin`) with a
/// symbolic link that leads outside it: absolute, or climbing out, directly
/// or through other links. Links inside it, even dangling ones (glibc's
/// `benchtests/strcoll-inputs/filelist#C`), are fine.
pub(crate) fn check_symlinks(root: &Path, origin: &Path) -> Result<(), SourceError> {
    let root = root
        .canonicalize()
        .map_err(|e| SourceError::io("resolve", root, e))?;
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| SourceError::io("list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| SourceError::io("list", &dir, e))?;
            let kind = entry
                .file_type()
                .map_err(|e| SourceError::io("inspect", entry.path(), e))?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_symlink() && !leads_inside(&root, &entry.path()) {
                let link = entry.path();
                return Err(SourceError::EscapingSymlink {
                    origin: origin.to_path_buf(),
                    target: fs::read_link(&link).unwrap_or_default(),
                    link: link.strip_prefix(&root).unwrap_or(&link).to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// Whether the symlink `link` (in a real directory under `root`) leads to a
/// path inside `root`, resolved as the kernel would, following links on the
/// way (at most 40); what does not exist is taken as written.
fn leads_inside(root: &Path, link: &Path) -> bool {
    use std::ffi::OsString;
    use std::path::Component;
    let Some(mut at) = link.parent().map(Path::to_path_buf) else {
        return false;
    };
    /// Queues a link's target (false if it is absolute).
    fn push(target: &Path, todo: &mut Vec<OsString>) -> bool {
        let mut parts = Vec::new();
        for c in target.components() {
            match c {
                Component::Normal(n) => parts.push(n.to_os_string()),
                Component::ParentDir => parts.push(OsString::from("..")),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return false,
            }
        }
        todo.extend(parts.into_iter().rev());
        true
    }
    // Components still to walk, the next one last.
    let mut todo: Vec<OsString> = Vec::new();
    let Ok(target) = fs::read_link(link) else {
        return false;
    };
    if !push(&target, &mut todo) {
        return false;
    }
    let mut links = 1;
    while let Some(part) = todo.pop() {
        if part == ".." {
            if at == root {
                return false;
            }
            at.pop();
            continue;
        }
        let next = at.join(&part);
        match fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                let Ok(t) = fs::read_link(&next) else {
                    return false;
                };
                if links > 40 || !push(&t, &mut todo) {
                    return false;
                }
            }
            _ => at = next,
        }
    }
    at.starts_with(root)
}

/// Unpacks a (compressed) tar stream into `dest`, keeping permissions,
/// mtimes and symlinks; `path` names the stream's file in errors.
pub(crate) fn unpack_stream(
    reader: impl Read,
    compression: Compression,
    dest: &Path,
    path: &Path,
) -> Result<(), SourceError> {
    let corrupt = |error| SourceError::CorruptTarball {
        path: path.to_path_buf(),
        error,
    };
    let decoder = compression.decoder(reader);
    let mut archive = tar::Archive::new(decoder);
    // Modes as the archive gives them, less setuid, setgid, sticky and
    // write for group and others: a tree in the cache is data, even when
    // root unpacks it.
    archive.set_preserve_permissions(false);
    archive.set_mask(0o7022);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    archive.unpack(dest).map_err(corrupt)?;
    // tar stops at its end-of-archive blocks; reading on to the end makes the
    // decoder check its trailer, which is what catches most truncations.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(corrupt)?;
    Ok(())
}

fn locate_tree(unpacked: &Path, tarball: &Path) -> Result<PathBuf, SourceError> {
    if is_glibc_tree(unpacked) {
        return Ok(unpacked.to_path_buf());
    }
    if let Some(sub) = single_subdir(unpacked) {
        if is_glibc_tree(&sub) {
            return Ok(sub);
        }
    }
    let mut names: Vec<String> = fs::read_dir(unpacked)
        .map_err(|e| SourceError::io("list", unpacked, e))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let found = match names.len() {
        0 => "nothing".to_string(),
        n if n > 5 => format!("{} entries ({}, ...)", n, names[..5].join(", ")),
        _ => names.join(", "),
    };
    Err(SourceError::NoTreeInTarball {
        path: tarball.to_path_buf(),
        found,
    })
}

/// A `.tmp-pid<pid>-*` directory inside `parent`, removed on drop unless
/// published, after removing the dead ones there ([`crate::temp`]).
pub(crate) fn temp_dir_in(parent: &Path) -> Result<TempDir, SourceError> {
    temp::dir_in(parent, temp::PREFIX)
        .map_err(|e| SourceError::io("create a temporary directory in", parent, e))
}

/// A `.tmp-pid<pid>-*<suffix>` file inside `parent`, removed on drop unless
/// persisted, after removing the dead temporaries there.
pub(crate) fn temp_file_in(parent: &Path, suffix: &str) -> Result<TempFile, SourceError> {
    temp::file_in(parent, suffix)
        .map_err(|e| SourceError::io("create a temporary file in", parent, e))
}

/// Gives a finished temporary directory its final name. If another process
/// published the same name first, theirs is kept and ours discarded: both
/// came from the same key, so they are interchangeable.
pub(crate) fn publish_dir(tmp: TempDir, dest: &Path) -> Result<(), SourceError> {
    use std::os::unix::fs::PermissionsExt;
    // tempdir creates 0700; the tree may be read by other users (e.g. nix builders).
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
        .map_err(|e| SourceError::io("set permissions on", tmp.path(), e))?;
    match fs::rename(tmp.path(), dest) {
        Ok(()) => {
            // Already renamed away: nothing left for TempDir to delete.
            let _ = tmp.keep();
            Ok(())
        }
        Err(_) if dest.is_dir() => Ok(()),
        Err(e) => Err(SourceError::io("rename into place", dest, e)),
    }
}

/// Whether `path` is a file whose sha256 is `expected` (a download kept
/// from an earlier run, reused rather than fetched again).
pub(crate) fn has_sha256(path: &Path, expected: &str) -> bool {
    path.is_file() && sha256_file(path).is_ok_and(|s| s == expected)
}
