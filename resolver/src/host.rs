//! What the host's own C library really exports.
//!
//! A symbol mapping such as `__mmap -> mmap` is only sound if the host libc
//! exports `mmap` under a public (non-`GLIBC_PRIVATE`, default) version;
//! being declared in a header is not enough. This reads the dynamic symbol
//! table and the version definitions of the host's `libc.so.6`.

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
}

const CANDIDATES: &[&str] = &[
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6",
    "/usr/lib64/libc.so.6",
    "/usr/lib/libc.so.6",
];

impl HostLibc {
    /// Finds and reads the host libc (`MALLOC_STANDALONE_HOST_LIBC` overrides the search).
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

    /// Reads the public exports of the libc at `path`.
    pub fn read(path: &Path) -> Result<HostLibc, HostError> {
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
        })
    }

    /// Whether `name` is a public export.
    pub fn exports(&self, name: &str) -> bool {
        self.public.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_libc_exports_public_but_not_private_symbols() {
        let h = HostLibc::detect().expect("host libc");
        for n in ["mmap", "sbrk", "getrandom", "malloc"] {
            assert!(h.exports(n), "{n} should be public");
        }
        // GLIBC_PRIVATE and hidden symbols are not public.
        assert!(!h.exports("__libc_message"));
        assert!(!h.exports("_dl_addr"));
    }
}
