//! What linking against the host's own C library really provides.
//!
//! A symbol mapping such as `__mmap -> mmap` is only sound if the host libc
//! exports `mmap` under a public (non-`GLIBC_PRIVATE`, default) version;
//! being declared in a header is not enough. `-lc` is the linker script
//! `libc.so`, a GROUP of `libc.so.6`, `libc_nonshared.a` (which holds e.g.
//! `pthread_atfork`) and the dynamic loader; this reads the public dynamic
//! exports of the shared members and the global definitions of the archive.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use object::read::elf::{ElfFile64, Sym};
use object::{Endianness, SymbolIndex};

/// Errors reading the host libc.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(
        "no host libc.so.6 found (looked in {0}); set MALLOC_STANDALONE_HOST_LIBC to its path"
    )]
    NotFound(String),
    #[error("cannot read host libc {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse host libc {path} as a 64-bit ELF: {message}")]
    Parse { path: PathBuf, message: String },
}

/// The public symbols of the host libc.
#[derive(Clone, Debug, Default)]
pub struct HostLibc {
    pub path: PathBuf,
    /// Defined symbols whose default version is a public `GLIBC_2.*` version.
    pub public: BTreeSet<String>,
    /// The C library's release banner (`GNU C Library (...) stable release
    /// version 2.36`), where a shared member carries one.
    pub release: Option<String>,
}

/// Where `-lc` is found: the development linker script, else the library.
const CANDIDATES: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/libc.so",
    "/usr/lib64/libc.so",
    "/usr/lib/libc.so",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6",
];

impl HostLibc {
    /// Finds and reads what `-lc` links (`MALLOC_STANDALONE_HOST_LIBC`
    /// overrides the search with a linker script or a shared library).
    pub fn detect() -> Result<HostLibc, HostError> {
        if let Some(p) = std::env::var_os("MALLOC_STANDALONE_HOST_LIBC") {
            return HostLibc::read(Path::new(&p));
        }
        let found = CANDIDATES
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .ok_or_else(|| HostError::NotFound(CANDIDATES.join(", ")))?;
        HostLibc::read(found)
    }

    /// Reads `path`: a linker script (every member of its GROUP), a shared
    /// library (its public exports) or an archive (its global definitions).
    pub fn read(path: &Path) -> Result<HostLibc, HostError> {
        let data = std::fs::read(path).map_err(|source| HostError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut public = BTreeSet::new();
        let mut release = None;
        if data.starts_with(b"\x7fELF") {
            let shared = HostLibc::read_shared(path)?;
            public = shared.public;
            release = shared.release;
        } else if data.starts_with(b"!<arch>") {
            read_archive(path, &data, &mut public)?;
        } else {
            // A linker script: GROUP ( a b AS_NEEDED ( c ) )
            let text = String::from_utf8_lossy(&data);
            let members: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("/*") && !l.trim_start().starts_with('*'))
                .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == '(' || c == ')'))
                .filter(|w| w.starts_with('/'))
                .collect();
            if members.is_empty() {
                return Err(HostError::Parse {
                    path: path.to_owned(),
                    message: "neither ELF, an archive, nor a linker script with a GROUP".into(),
                });
            }
            for m in members {
                let member = HostLibc::read(Path::new(m))?;
                public.extend(member.public);
                release = release.or(member.release);
            }
        }
        Ok(HostLibc {
            path: path.to_owned(),
            public,
            release,
        })
    }

    /// Reads the public exports of the shared library at `path`.
    fn read_shared(path: &Path) -> Result<HostLibc, HostError> {
        let data = std::fs::read(path).map_err(|source| HostError::Read {
            path: path.to_owned(),
            source,
        })?;
        let perr = |e: object::Error| HostError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let file = ElfFile64::<Endianness>::parse(&*data).map_err(perr)?;
        let endian = file.endian();
        let versions = file
            .elf_section_table()
            .versions(endian, &*data)
            .map_err(perr)?;
        let dynsym = file.elf_dynamic_symbol_table();
        let mut public = BTreeSet::new();
        for (i, sym) in dynsym.symbols().iter().enumerate() {
            if sym.st_shndx(endian) == object::elf::SHN_UNDEF {
                continue;
            }
            let Ok(name) = dynsym.symbol_name(endian, sym) else {
                continue;
            };
            if let Some(v) = &versions {
                let vi = v.version_index(endian, SymbolIndex(i));
                if vi.is_hidden() {
                    continue;
                }
                let vname = v.version(vi).ok().flatten().map(|v| v.name());
                match vname {
                    Some(n) if n.starts_with(b"GLIBC_2") => {}
                    _ => continue,
                }
            }
            public.insert(String::from_utf8_lossy(name).into_owned());
        }
        Ok(HostLibc {
            path: path.to_owned(),
            public,
            release: release_banner(&data),
        })
    }

    /// Whether linking with `-lc` provides `name`.
    pub fn exports(&self, name: &str) -> bool {
        self.public.contains(name)
    }

    /// What a resolution that read the host headers `headers` took from
    /// this host, for [`manifest::Manifest::host`].
    pub fn fingerprint<'a>(
        &self,
        headers: impl IntoIterator<Item = &'a PathBuf>,
    ) -> Result<manifest::Host, HostError> {
        let exports: String = self.public.iter().map(|n| format!("{n}\n")).collect();
        let headers: BTreeSet<&PathBuf> = headers.into_iter().collect();
        let mut listed = String::new();
        for h in headers {
            let bytes = std::fs::read(h).map_err(|source| HostError::Read {
                path: h.clone(),
                source,
            })?;
            listed.push_str(&format!(
                "{}  {}\n",
                manifest::digest::sha256(&bytes),
                h.display()
            ));
        }
        Ok(manifest::Host {
            libc: self
                .release
                .clone()
                .unwrap_or_else(|| "unknown (no release banner)".to_owned()),
            exports_sha256: manifest::digest::sha256(exports.as_bytes()),
            headers_sha256: manifest::digest::sha256(listed.as_bytes()),
        })
    }
}

/// The release banner glibc's `libc.so.6` carries (and prints when run),
/// without its final period.
fn release_banner(data: &[u8]) -> Option<String> {
    let needle = b"GNU C Library ";
    let start = data.windows(needle.len()).position(|w| w == needle)?;
    let rest = &data[start..];
    let end = rest
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .unwrap_or(rest.len());
    let line = String::from_utf8_lossy(&rest[..end]);
    Some(line.trim_end().trim_end_matches('.').to_owned())
}

/// Global definitions of every object in a static archive.
fn read_archive(path: &Path, data: &[u8], out: &mut BTreeSet<String>) -> Result<(), HostError> {
    use object::{Object, ObjectSymbol};
    let perr = |e: object::Error| HostError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let archive = object::read::archive::ArchiveFile::parse(data).map_err(perr)?;
    for member in archive.members() {
        let member = member.map_err(perr)?;
        let Ok(bytes) = member.data(data) else {
            continue;
        };
        let Ok(obj) = object::File::parse(bytes) else {
            continue;
        };
        for sym in obj.symbols() {
            if sym.is_global() && sym.is_definition() {
                if let Ok(n) = sym.name() {
                    out.insert(n.to_owned());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_libc_exports_public_but_not_private_symbols() {
        let h = HostLibc::detect().expect("host libc");
        // pthread_atfork comes from libc_nonshared.a, not libc.so.6.
        for n in ["mmap", "sbrk", "getrandom", "malloc", "pthread_atfork"] {
            assert!(h.exports(n), "{n} should be public");
        }
        // GLIBC_PRIVATE and hidden symbols are not public.
        assert!(!h.exports("__libc_message"));
        assert!(!h.exports("_dl_addr"));
        // libc.so.6 says which release it is.
        let release = h.release.as_deref().expect("a release banner");
        assert!(
            release.starts_with("GNU C Library ") && release.contains("release version 2."),
            "{release}"
        );
    }

    #[test]
    fn fingerprint_identifies_exports_and_headers() {
        let h = HostLibc {
            path: "/x/libc.so".into(),
            public: ["malloc".to_string(), "mmap".to_string()].into(),
            release: Some("GNU C Library (test) stable release version 2.99".into()),
        };
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.h");
        std::fs::write(&a, "int a;\n").unwrap();
        let f = h.fingerprint([&a]).unwrap();
        assert_eq!(f.libc, "GNU C Library (test) stable release version 2.99");
        assert_eq!(
            f.exports_sha256,
            manifest::digest::sha256(b"malloc\nmmap\n")
        );
        // Another header's content, or another header, is another host.
        std::fs::write(&a, "int b;\n").unwrap();
        let g = h.fingerprint([&a]).unwrap();
        assert_eq!((&g.libc, &g.exports_sha256), (&f.libc, &f.exports_sha256));
        assert_ne!(g.headers_sha256, f.headers_sha256);
        assert!(h.fingerprint([&d.path().join("missing.h")]).is_err());
        assert_eq!(
            release_banner(
                b"\0GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\nCopyright"
            ),
            Some("GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36".into())
        );
    }
}
