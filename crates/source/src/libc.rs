//! A glibc `libc.so.6` as a file (a challenge's, a distribution's): which
//! glibc it is, read off the file alone. [`identify`] checks that it is an
//! x86_64 ELF shared object that defines `gnu_get_libc_version` (glibc's
//! own, which no other libc defines) and carries glibc's release banner,
//! `GNU C Library (Ubuntu GLIBC 2.35-0ubuntu3.8) stable release version
//! 2.35.`, and parses that banner: the version, development or stable, and
//! the distribution that built it ([`Distribution`]). Nothing is run, so a
//! libc too new or too old for this host is read alike.

use std::fmt;
use std::path::{Path, PathBuf};

use object::read::elf::ElfFile64;
use object::{Endianness, Object, ObjectSection, ObjectSymbol};

/// The oldest glibc release the project builds (`docs/adding-a-version.md`,
/// "Which releases": 2.17 and 2.19 are refused by the resolver, with the
/// reason; nothing older was ever tried).
pub const OLDEST_BUILDABLE: (u32, u32) = (2, 20);

/// What a banner says built the library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// `Debian GLIBC <debian version>`: Debian (and distributions that
    /// keep Debian's banner).
    Debian { version: String },
    /// `Ubuntu GLIBC <ubuntu version>` (or `EGLIBC`).
    Ubuntu { version: String },
    /// `GNU libc`: glibc's own default, which names no distribution (an
    /// upstream build, or one of the distributions that keep the default).
    Gnu,
    /// Any other vendor string (`Gentoo 2.39-r6 (patchset 4)`, ...), as is.
    Other { name: String },
    /// Old banners have no parenthesis at all.
    Unnamed,
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Debian { version } => write!(f, "Debian GLIBC {version}"),
            Distribution::Ubuntu { version } => write!(f, "Ubuntu GLIBC {version}"),
            Distribution::Gnu => f.write_str("GNU libc"),
            Distribution::Other { name } => f.write_str(name),
            Distribution::Unnamed => f.write_str("no distribution named"),
        }
    }
}

/// A glibc `libc.so.6`, identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibcFile {
    /// The file as given.
    pub path: PathBuf,
    /// The banner's first line, e.g. `GNU C Library (Debian GLIBC
    /// 2.36-9+deb12u14) stable release version 2.36.`
    pub banner: String,
    /// The version the banner states: `2.36`, or a development snapshot's
    /// `2.40.9000`.
    pub version: String,
    /// The release its allocator is taken from: `version`, or for a
    /// development snapshot the release it follows (`2.40` for
    /// `2.40.9000`), as pwndbg and GEF read such versions too.
    pub release: String,
    /// A development snapshot (`development release version`, or a
    /// `.90xx` version).
    pub development: bool,
    /// Who built it.
    pub distribution: Distribution,
}

/// Why a file is not a glibc `libc.so.6` this project can build for. Every
/// message names the file and says what to give instead.
#[derive(Debug, thiserror::Error)]
pub enum LibcError {
    #[error("cannot read {}: {error}; give the path of a libc.so.6", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{} is not an ELF file ({what}); give the challenge's libc.so.6 (`ldd ./chall` names \
         the one a program uses)",
        path.display()
    )]
    NotElf { path: PathBuf, what: String },
    #[error(
        "{} is truncated or damaged ({what}); copy the libc.so.6 again",
        path.display()
    )]
    Damaged { path: PathBuf, what: String },
    #[error(
        "{} is an ELF file for {arch}; the allocator is built for x86_64 only: give an \
         x86_64 libc.so.6",
        path.display()
    )]
    NotX86_64 { path: PathBuf, arch: String },
    #[error(
        "{} is an ELF file but not glibc's libc.so.6 ({why}); give the libc.so.6 the \
         challenge runs with (`ldd ./chall` names it)",
        path.display()
    )]
    NotGlibc { path: PathBuf, why: String },
    #[error(
        "{} is glibc {version} (`{banner}`); the oldest release this project builds is {}.{} \
         (docs/adding-a-version.md, \"Which releases\")",
        path.display(),
        OLDEST_BUILDABLE.0,
        OLDEST_BUILDABLE.1
    )]
    TooOld {
        path: PathBuf,
        version: String,
        banner: String,
    },
    #[error(
        "{}: its banner `{banner}` {why}; the file may have been edited: give the libc.so.6 \
         as the distribution shipped it",
        path.display()
    )]
    BadBanner {
        path: PathBuf,
        banner: String,
        why: String,
    },
}

/// Reads `path` and identifies the glibc it is.
pub fn identify(path: &Path) -> Result<LibcFile, LibcError> {
    let data = std::fs::read(path).map_err(|error| LibcError::Read {
        path: path.to_owned(),
        error,
    })?;
    identify_bytes(path, &data)
}

/// [`identify`] of a file's bytes (`path` names it in messages).
pub fn identify_bytes(path: &Path, data: &[u8]) -> Result<LibcFile, LibcError> {
    let p = || path.to_owned();
    check_header(path, data)?;
    let elf = ElfFile64::<Endianness>::parse(data).map_err(|e| LibcError::Damaged {
        path: p(),
        what: e.to_string(),
    })?;
    let defines = |name: &str| {
        elf.dynamic_symbols()
            .any(|s| s.is_definition() && s.name() == Ok(name))
    };
    if !defines("gnu_get_libc_version") {
        let why = if elf.dynamic_symbols().next().is_none() {
            "it has no dynamic symbols: a statically linked program carries its own malloc"
                .to_string()
        } else if defines("_rtld_global") {
            "it is glibc's dynamic loader (ld.so); the libc.so.6 beside it is the one".to_string()
        } else if defines("__libc_start_main") {
            "it defines __libc_start_main but not gnu_get_libc_version: another C library"
                .to_string()
        } else {
            "it defines no gnu_get_libc_version".to_string()
        };
        return Err(LibcError::NotGlibc { path: p(), why });
    }
    let rodata = elf
        .section_by_name(".rodata")
        .and_then(|s| s.data().ok())
        .unwrap_or_default();
    let Some(banner) = find_banner(rodata) else {
        return Err(LibcError::NotGlibc {
            path: p(),
            why: "it defines gnu_get_libc_version but its .rodata holds no \
                  `GNU C Library ... release version` banner"
                .to_string(),
        });
    };
    let lib = parse_banner(path, &banner)?;
    let (major, minor) = major_minor(&lib.release).expect("checked by parse_banner");
    if (major, minor) < OLDEST_BUILDABLE {
        return Err(LibcError::TooOld {
            path: p(),
            version: lib.version,
            banner: lib.banner,
        });
    }
    Ok(lib)
}

/// The ELF identification and machine, read from the header's bytes before
/// any parsing, so that a foreign or truncated file gets its own message.
fn check_header(path: &Path, data: &[u8]) -> Result<(), LibcError> {
    let p = || path.to_owned();
    if !data.starts_with(b"\x7fELF") {
        let what = if data.is_empty() {
            "it is empty".to_string()
        } else if data.len() < 4 && b"\x7fELF".starts_with(data) {
            format!(
                "it is {} byte(s) long, cut off inside the ELF magic",
                data.len()
            )
        } else {
            format!("it starts with {}", shown(&data[..data.len().min(16)]))
        };
        return Err(LibcError::NotElf { path: p(), what });
    }
    // e_ident (16 bytes), e_type (2), e_machine (2).
    if data.len() < 20 {
        return Err(LibcError::Damaged {
            path: p(),
            what: format!("{} bytes, shorter than an ELF header", data.len()),
        });
    }
    let (class, encoding) = (data[4], data[5]);
    let machine = match encoding {
        1 => u16::from_le_bytes([data[18], data[19]]),
        2 => u16::from_be_bytes([data[18], data[19]]),
        other => {
            return Err(LibcError::Damaged {
                path: p(),
                what: format!("its byte order is {other}, neither little nor big endian"),
            })
        }
    };
    let arch = match (machine, class) {
        (62, 2) => return check_sizes(path, data),
        (62, _) => "x86_64's x32 ABI (32-bit pointers)".to_string(),
        (3, _) => "i386 (32-bit x86)".to_string(),
        (40, _) => "32-bit ARM".to_string(),
        (183, _) => "AArch64 (64-bit ARM)".to_string(),
        (243, _) => "RISC-V".to_string(),
        (8, _) => "MIPS".to_string(),
        (20, _) => "PowerPC".to_string(),
        (21, _) => "64-bit PowerPC".to_string(),
        (22, _) => "s390".to_string(),
        (2 | 43, _) => "SPARC".to_string(),
        (258, _) => "LoongArch".to_string(),
        (m, _) => format!("machine {m}"),
    };
    Err(LibcError::NotX86_64 { path: p(), arch })
}

/// That the section headers an x86_64 ELF's header promises are inside
/// the file (a truncated copy ends before them).
fn check_sizes(path: &Path, data: &[u8]) -> Result<(), LibcError> {
    const HEADER: usize = 64;
    if data.len() < HEADER {
        return Err(LibcError::Damaged {
            path: path.to_owned(),
            what: format!("{} bytes, shorter than an ELF header", data.len()),
        });
    }
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().expect("8 bytes"));
    let u16_at = |o: usize| u64::from(u16::from_le_bytes([data[o], data[o + 1]]));
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    let end = shoff.saturating_add(shentsize.saturating_mul(shnum));
    if end > data.len() as u64 {
        return Err(LibcError::Damaged {
            path: path.to_owned(),
            what: format!(
                "{} bytes, where its header places section headers up to byte {end}",
                data.len()
            ),
        });
    }
    Ok(())
}

/// Bytes for a message: printable ASCII as is, the rest as `\xNN`.
fn shown(bytes: &[u8]) -> String {
    let mut s = String::from("`");
    for &b in bytes {
        if b.is_ascii_graphic() || b == b' ' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('`');
    s
}

/// The banner's first line in `rodata`, if there is one.
fn find_banner(rodata: &[u8]) -> Option<String> {
    const START: &[u8] = b"GNU C Library ";
    let at = rodata.windows(START.len()).position(|w| w == START)?;
    let rest = &rodata[at..];
    let end = rest
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .unwrap_or(rest.len())
        .min(512);
    Some(String::from_utf8_lossy(&rest[..end]).trim_end().to_string())
}

/// Parses a banner line: `GNU C Library (<vendor>) <kind> release version
/// <version>.` (old ones: `GNU C Library stable release version 2.2.5, by
/// Roland McGrath et al.`).
pub fn parse_banner(path: &Path, banner: &str) -> Result<LibcFile, LibcError> {
    let bad = |why: String| LibcError::BadBanner {
        path: path.to_owned(),
        banner: banner.to_string(),
        why,
    };
    let re = regex::Regex::new(
        r"^GNU C Library (?:\(([^()]*(?:\([^()]*\)[^()]*)*)\) )?(\w+) release version ([0-9]+(?:\.[0-9]+)+)",
    )
    .expect("static regex");
    let c = re.captures(banner).ok_or_else(|| {
        bad("does not read `GNU C Library (...) <kind> release version <X.Y>`".into())
    })?;
    let version = c[3].to_string();
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| {
            p.parse()
                .map_err(|_| bad(format!("has a version part `{p}` out of range")))
        })
        .collect::<Result<_, _>>()?;
    let development = &c[2] == "development" || parts.get(2).is_some_and(|&p| p >= 90);
    let release = if development {
        format!("{}.{}", parts[0], parts[1])
    } else {
        version.clone()
    };
    let distribution = match c.get(1).map(|m| m.as_str().trim()) {
        None => Distribution::Unnamed,
        Some("GNU libc") => Distribution::Gnu,
        Some(name) => {
            let vendor = regex::Regex::new(r"^(\S+) E?GLIBC (\S+)$").expect("static regex");
            match vendor.captures(name) {
                Some(v) if &v[1] == "Debian" => Distribution::Debian {
                    version: v[2].to_string(),
                },
                Some(v) if &v[1] == "Ubuntu" => Distribution::Ubuntu {
                    version: v[2].to_string(),
                },
                _ => Distribution::Other {
                    name: name.to_string(),
                },
            }
        }
    };
    if let Distribution::Debian { version: d } | Distribution::Ubuntu { version: d } = &distribution
    {
        let upstream = crate::debian::upstream_version(d);
        if upstream != version {
            return Err(bad(format!(
                "names package version {d} (glibc {upstream}) but release version {version}"
            )));
        }
    }
    Ok(LibcFile {
        path: path.to_owned(),
        banner: banner.trim_end_matches('.').to_string(),
        version,
        release,
        development,
        distribution,
    })
}

/// `(major, minor)` of a version string.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &str) -> LibcFile {
        parse_banner(Path::new("libc.so.6"), b).unwrap_or_else(|e| panic!("{b}: {e}"))
    }

    #[test]
    fn banners_of_each_kind() {
        let l = parse("GNU C Library (Ubuntu GLIBC 2.35-0ubuntu3.8) stable release version 2.35.");
        assert_eq!(
            (l.version.as_str(), l.release.as_str(), l.development),
            ("2.35", "2.35", false)
        );
        assert_eq!(
            l.distribution,
            Distribution::Ubuntu {
                version: "2.35-0ubuntu3.8".into()
            }
        );
        let l = parse("GNU C Library (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36.");
        assert_eq!(
            l.distribution,
            Distribution::Debian {
                version: "2.36-9+deb12u14".into()
            }
        );
        assert_eq!(
            l.banner,
            "GNU C Library (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36"
        );
        let l = parse("GNU C Library (GNU libc) development release version 2.40.9000.");
        assert_eq!(
            (l.version.as_str(), l.release.as_str(), l.development),
            ("2.40.9000", "2.40", true)
        );
        assert_eq!(l.distribution, Distribution::Gnu);
        let l = parse("GNU C Library (Gentoo 2.39-r6 (patchset 4)) stable release version 2.39.");
        assert_eq!(
            l.distribution,
            Distribution::Other {
                name: "Gentoo 2.39-r6 (patchset 4)".into()
            }
        );
        let l = parse(
            "GNU C Library (Ubuntu GLIBC 2.23-0ubuntu11.3) stable release version 2.23, by \
             Roland McGrath et al.",
        );
        assert_eq!(l.version, "2.23");
        let l = parse("GNU C Library stable release version 2.2.5, by Roland McGrath et al.");
        assert_eq!(
            (l.version.as_str(), l.distribution),
            ("2.2.5", Distribution::Unnamed)
        );
    }

    #[test]
    fn banners_that_contradict_themselves_or_are_not_banners_are_refused() {
        for b in [
            "GNU C Library (Debian GLIBC 2.31-13) stable release version 2.36.",
            "GNU C Library is nice",
            "GNU C Library (GNU libc) stable release version 2.99999999999.",
        ] {
            let e = parse_banner(Path::new("x/libc.so.6"), b).unwrap_err();
            assert!(
                matches!(e, LibcError::BadBanner { .. }) && e.to_string().contains("x/libc.so.6"),
                "{b}: {e}"
            );
        }
    }

    #[test]
    fn headers_that_are_not_x86_64_elf_are_named() {
        let p = Path::new("f");
        let e = identify_bytes(p, b"#!/bin/sh\n").unwrap_err();
        assert!(
            e.to_string().contains("starts with `#!/bin/sh\\x0a`"),
            "{e}"
        );
        let e = identify_bytes(p, b"").unwrap_err();
        assert!(e.to_string().contains("it is empty"), "{e}");
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        (h[4], h[5]) = (2, 1);
        h[18..20].copy_from_slice(&183u16.to_le_bytes());
        let e = identify_bytes(p, &h).unwrap_err();
        assert!(e.to_string().contains("AArch64"), "{e}");
        (h[4], h[5]) = (1, 2);
        h[18..20].copy_from_slice(&20u16.to_be_bytes());
        let e = identify_bytes(p, &h).unwrap_err();
        assert!(e.to_string().contains("PowerPC"), "{e}");
        let e = identify_bytes(p, &h[..10]).unwrap_err();
        assert!(matches!(e, LibcError::Damaged { .. }), "{e}");
    }

    /// The host's own libc.so.6 reads as the glibc `getconf` and dpkg say
    /// the host runs.
    #[test]
    fn the_hosts_libc_is_the_hosts_glibc() {
        let path = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        assert!(
            path.is_file(),
            "this test needs an x86_64 Debian-layout host"
        );
        let l = identify(path).unwrap();
        let host = crate::host::host_glibc().unwrap();
        assert_eq!(l.version, host.version);
        match host.debian_version {
            Some(d) => assert_eq!(l.distribution, Distribution::Debian { version: d }),
            None => assert!(!matches!(l.distribution, Distribution::Debian { .. })),
        }
        assert!(l.banner.starts_with("GNU C Library ("), "{}", l.banner);
    }
}
