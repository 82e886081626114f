//! Reference libcs: the real glibc of a version, to run programs against
//! and compare the built allocator with: the host's own, or Debian's
//! `libc6` (and `libc6-dev`, to compile against it) unpacked into the cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use source::debian::{compare_debian_versions, unpack_deb, upstream_version, Apt};
use source::fetch::{check_version, host_glibc, FetchError};
use source::Cache;

use crate::ReferenceError;

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
) -> Result<ReferenceLibc, ReferenceError> {
    check_version(version)?;
    if let Some(d) = debian_version {
        if upstream_version(d) != version {
            return Err(FetchError::VersionMismatch {
                wanted: version.to_string(),
                found: upstream_version(d).to_string(),
                origin: format!("Debian version {d}"),
            }
            .into());
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
    let offered = apt.versions("libc6")?;
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
        return Err(ReferenceError::NoReferenceLibc {
            wanted: debian_version.unwrap_or(version).to_string(),
            offered: if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            },
            notes: apt.update_notes().to_string(),
        });
    };
    let dest = libc6_dir(cache, &debver);
    if let Ok(found) = locate_reference(version, &debver, &dest) {
        return Ok(found);
    }
    let deb = apt.download("libc6", &debver, cache)?;
    // Refuse a package without a loader and libc before it gets a final name.
    let layout =
        format!("{LD_SO_NAME} and libc.so.6 in lib/x86_64-linux-gnu or usr/lib/x86_64-linux-gnu");
    unpack_deb(&deb.path, &dest, |tmp| {
        match locate_reference(version, &debver, tmp) {
            Ok(_) => Ok(()),
            Err(_) => Err(layout),
        }
    })?;
    Ok(locate_reference(version, &debver, &dest)?)
}

fn libc6_dir(cache: &Cache, debian_version: &str) -> PathBuf {
    cache.root().join("libc6").join(debian_version)
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
pub fn reference_libc_dev(
    reference: &ReferenceLibc,
    cache: &Cache,
) -> Result<PathBuf, ReferenceError> {
    if reference.is_host() {
        return Ok(PathBuf::from("/"));
    }
    let Some(debver) = reference.debian_version.as_deref() else {
        return Err(ReferenceError::NoReferenceLibc {
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
    let deb = apt.download("libc6-dev", debver, cache)?;
    unpack_deb(&deb.path, &dest, |tmp| {
        complete(tmp).then_some(()).ok_or_else(|| {
            "usr/include/stdio.h and usr/lib/x86_64-linux-gnu/libc_nonshared.a".to_string()
        })
    })?;
    Ok(dest)
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
