//! Other Debian binary packages a reference glibc's programs load besides
//! libc (glibc's pthread_cancel dlopens `libgcc_s.so.1`, from `libgcc-s1`).

use std::path::{Path, PathBuf};

use source::debian::{compare_debian_versions, unpack_deb, Apt};
use source::fetch::FetchError;
use source::Cache;

use crate::{ReferenceError, ReferenceLibc};

/// Versions of Debian binary package `package` on offer over all suites
/// the archive has, newest first (for packages a reference glibc's
/// programs load besides libc, such as `libgcc-s1`).
pub fn debian_package_versions(package: &str, cache: &Cache) -> Result<Vec<String>, FetchError> {
    let apt = Apt::prepare(cache)?;
    let mut versions = apt.versions(package)?;
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
    let deb = apt.download(package, version, cache)?;
    unpack_deb(&deb.path, &dest, |tmp| {
        find(tmp)
            .map(|_| ())
            .ok_or_else(|| format!("{library} in lib/x86_64-linux-gnu or usr/lib/x86_64-linux-gnu"))
    })?;
    find(&dest).ok_or_else(|| FetchError::BadPackage {
        path: dest.clone(),
        what: library.to_string(),
    })
}

/// The separate debug file (DWARF and the full symbol table) of the real
/// `libc.so.6` of `reference`: Debian's `libc6-dbg` of exactly the
/// reference's Debian version, downloaded and checked through apt and
/// unpacked once into `<cache>/deb/libc6-dbg/<debian version>/`; the file
/// is `usr/lib/debug/.build-id/<xx>/<rest>.debug`, picked by the GNU
/// build-id note of the reference's `libc.so.6`, and checked to carry the
/// same build-id.
pub fn libc_debug_file(
    reference: &ReferenceLibc,
    cache: &Cache,
) -> Result<PathBuf, ReferenceError> {
    let libc = reference.lib_dir.join("libc.so.6");
    let id = build_id(&libc)?;
    let Some(debver) = reference.debian_version.as_deref() else {
        return Err(ReferenceError::NoReferenceLibc {
            wanted: format!(
                "{} (libc6-dbg of an unknown Debian version)",
                reference.version
            ),
            offered: "-".to_string(),
            notes: String::new(),
        });
    };
    let rel = PathBuf::from(format!(
        "usr/lib/debug/.build-id/{}/{}.debug",
        &id[..2],
        &id[2..]
    ));
    let dest = cache.root().join("deb").join("libc6-dbg").join(debver);
    if !dest.join(&rel).is_file() {
        let apt = Apt::prepare(cache)?;
        let deb = apt.download("libc6-dbg", debver, cache)?;
        unpack_deb(&deb.path, &dest, |tmp| {
            tmp.join(&rel)
                .is_file()
                .then_some(())
                .ok_or_else(|| format!("{} (the debug file of {})", rel.display(), libc.display()))
        })?;
    }
    let file = dest.join(&rel);
    let got = build_id(&file)?;
    if got != id {
        return Err(FetchError::BadPackage {
            path: file,
            what: format!("build-id {id} (the file has {got})"),
        }
        .into());
    }
    Ok(file)
}

/// The GNU build-id of an ELF file, in lower-case hex.
pub fn build_id(path: &Path) -> Result<String, FetchError> {
    use object::Object;
    let bad = |what: String| FetchError::BadPackage {
        path: path.to_path_buf(),
        what,
    };
    let data = std::fs::read(path).map_err(|e| bad(format!("a readable ELF file ({e})")))?;
    let file = object::File::parse(&*data).map_err(|e| bad(format!("an ELF file ({e})")))?;
    match file.build_id() {
        Ok(Some(id)) => Ok(id.iter().map(|b| format!("{b:02x}")).collect()),
        _ => Err(bad("a GNU build-id note".to_string())),
    }
}
