//! Other Debian binary packages a reference glibc's programs load besides
//! libc (glibc's pthread_cancel dlopens `libgcc_s.so.1`, from `libgcc-s1`).

use std::path::{Path, PathBuf};

use source::debian::{compare_debian_versions, unpack_deb, Apt};
use source::fetch::FetchError;
use source::Cache;

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
