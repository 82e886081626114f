//! Property tests of tarball unpacking (issue 15, item 8): small random
//! tar and tar.gz archives, hostile ones among them (`..` paths, absolute
//! paths, symlinks out of the tree and entries through them, hard links to
//! files outside, GNU long names and pax paths that say the same, huge
//! declared sizes, truncated and corrupted streams), unpacked by
//! `source::unpack_tarball` into a cache inside a sandbox. Whatever the
//! archive: no panic, an answer in bounded time, and nothing outside the
//! cache written, created, removed or linked to (the sandbox around it is
//! compared before and after, victim files and all).
//!
//! Fast tier: a bounded number of cases. A longer run:
//! `PROPTEST_CASES=100000 cargo test -p source --test fuzz` (docs/testing.md).

#[path = "../../../tests/proptest/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::Index;
use source::Cache;
use support::{bounded, config};

// ---------------------------------------------------------------- the sandbox

/// `<sandbox>/a/b/cache` is the cache; a tarball unpacks in
/// `<cache>/trees/.tmp-*`, so `../` x 3 is `<sandbox>/a/b`, x 4 `<sandbox>/a`,
/// x 5 the sandbox: each holds a `victim` file and a `dir/`. `{OUT}` in a
/// path or link target is `<sandbox>/a/b` (an absolute path outside the
/// cache).
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for d in ["", "a", "a/b"] {
            let base = dir.path().join(d);
            std::fs::create_dir_all(base.join("dir")).unwrap();
            std::fs::write(base.join("victim"), b"victim\n").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("in")).unwrap();
        // Made here so that its parent's link count stays as it is.
        std::fs::create_dir_all(dir.path().join("a/b/cache")).unwrap();
        Sandbox { dir }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("a/b/cache")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("a/b")
    }

    /// Everything in the sandbox but the cache and the input: path ->
    /// (type, mode, links, contents or target).
    fn snapshot(&self) -> BTreeMap<PathBuf, (String, u32, u64, Vec<u8>)> {
        let mut out = BTreeMap::new();
        let skip = [self.cache(), self.dir.path().join("in")];
        let mut todo = vec![self.dir.path().to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if skip.contains(&p) {
                    continue;
                }
                let m = std::fs::symlink_metadata(&p).unwrap();
                let ft = m.file_type();
                let (kind, data) = if ft.is_symlink() {
                    (
                        "symlink",
                        std::fs::read_link(&p)
                            .unwrap()
                            .into_os_string()
                            .into_encoded_bytes(),
                    )
                } else if ft.is_dir() {
                    todo.push(p.clone());
                    ("dir", Vec::new())
                } else if ft.is_file() {
                    ("file", std::fs::read(&p).unwrap())
                } else {
                    ("other", Vec::new())
                };
                out.insert(p, (kind.to_string(), m.mode(), m.nlink(), data));
            }
        }
        out
    }
}

impl Drop for Sandbox {
    /// Opens up what an archive unpacked without write or search permission
    /// (modes are kept), so that the sandbox can be removed by a user that
    /// is not root.
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let mut todo = vec![self.dir.path().to_path_buf()];
        while let Some(d) = todo.pop() {
            let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755));
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    todo.push(e.path());
                }
            }
        }
    }
}

// ---------------------------------------------------------------- archives

/// Paths an entry may have; `{OUT}` is the sandbox's absolute outside.
const PATHS: &[&str] = &[
    "glibc-9.9/malloc/malloc.c",
    "glibc-9.9/version.h",
    "glibc-9.9/a",
    "glibc-9.9/",
    "a",
    "a/b/c",
    "./a",
    "/a",
    "a//b",
    "a/./b",
    "",
    ".",
    "..",
    "../victim",
    "../../victim",
    "../../../victim",
    "../../../../victim",
    "../../../../../victim",
    "../../../dir/new",
    "a/../../../../victim",
    "glibc-9.9/../../../../victim",
    "{OUT}/victim",
    "{OUT}/dir/new",
    "link",
    "link/victim",
    "link/new",
    "link/dir/new",
    "glibc-9.9/link/victim",
    "hard",
    "hard/x",
    "glibc-9.9/malloc",
];

/// Link targets.
const TARGETS: &[&str] = &[
    "{OUT}",
    "{OUT}/victim",
    "{OUT}/dir",
    "..",
    "../..",
    "../../..",
    "../../../victim",
    "../../../../victim",
    "../../../dir",
    ".",
    "",
    "link",
    "a",
    "glibc-9.9/version.h",
    "/",
    "victim",
    "hard",
];

const VERSION_H: &[u8] = b"#define VERSION \"9.9\"\n";

#[derive(Clone, Debug)]
enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(&'static str),
    HardLink(&'static str),
    /// A type this reader does not make specially (FIFO, device): unpacked
    /// as a regular file, or refused.
    Other(u8),
}

/// How the entry's path is carried.
#[derive(Clone, Copy, Debug)]
enum Naming {
    /// In the header's 100-byte name field (longer ones are cut).
    Header,
    /// In a GNU `L` long-name entry before it.
    GnuLong,
    /// In a pax `x` extended header before it.
    Pax,
}

#[derive(Clone, Debug)]
struct Entry {
    path: &'static str,
    /// Extra `x/` components in front, to make long names.
    deep: usize,
    kind: Kind,
    mode: u32,
    naming: Naming,
    /// A size in the header other than the data's, in octal or (above
    /// 8 GiB) base-256; the data is written as it is.
    declared: Option<u64>,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => prop_oneof![
            Just(VERSION_H.to_vec()),
            prop::collection::vec(any::<u8>(), 0..1500),
        ]
        .prop_map(Kind::File),
        2 => Just(Kind::Dir),
        2 => prop::sample::select(TARGETS).prop_map(Kind::Symlink),
        2 => prop::sample::select(TARGETS).prop_map(Kind::HardLink),
        1 => prop::sample::select(vec![b'3', b'4', b'6', b'7', b'S', b'V', b'Z', 0xff])
            .prop_map(Kind::Other),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        prop::sample::select(PATHS),
        prop_oneof![8 => Just(0usize), 1 => 1usize..60],
        kind(),
        prop::sample::select(vec![
            0o644, 0o755, 0o777, 0o4755, 0o2755, 0o1777, 0o000, 0o7777,
        ]),
        prop_oneof![
            6 => Just(Naming::Header),
            1 => Just(Naming::GnuLong),
            1 => Just(Naming::Pax),
        ],
        prop_oneof![
            8 => Just(None),
            1 => prop::sample::select(vec![
                0,
                1,
                511,
                513,
                1 << 20,
                (1 << 33) - 1,
                1 << 36,
                1 << 62,
                u64::MAX >> 1,
            ])
            .prop_map(Some),
        ],
    )
        .prop_map(|(path, deep, kind, mode, naming, declared)| Entry {
            path,
            deep,
            kind,
            mode,
            naming,
            declared,
        })
}

/// One 512-byte header. GNU magic; sizes above 8 GiB in base-256.
fn header(name: &[u8], mode: u32, size: u64, flag: u8, link: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    h[100..108].copy_from_slice(format!("{mode:07o}\0").as_bytes());
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    if size < 1 << 33 {
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    h[136..148].copy_from_slice(b"14000000000\0");
    h[156] = flag;
    let l = link.len().min(100);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..265].copy_from_slice(b"ustar  \0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn data(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    // "<len> key=value\n", the length counting itself.
    let body = [format!(" {key}=").as_bytes(), value, b"\n"].concat();
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    [format!("{len}").into_bytes(), body].concat()
}

fn archive(entries: &[Entry], out_dir: &Path) -> Vec<u8> {
    let sub = |s: &str| s.replace("{OUT}", &out_dir.display().to_string());
    let mut tar = Vec::new();
    for e in entries {
        let path = format!("{}{}", "x/".repeat(e.deep), sub(e.path)).into_bytes();
        let (flag, link, body): (u8, Vec<u8>, Vec<u8>) = match &e.kind {
            Kind::File(b) => (b'0', Vec::new(), b.clone()),
            Kind::Dir => (b'5', Vec::new(), Vec::new()),
            Kind::Symlink(t) => (b'2', sub(t).into_bytes(), Vec::new()),
            Kind::HardLink(t) => (b'1', sub(t).into_bytes(), Vec::new()),
            Kind::Other(f) => (*f, Vec::new(), Vec::new()),
        };
        let name_field = match e.naming {
            Naming::Header => path.clone(),
            Naming::GnuLong => {
                let mut long = path.clone();
                long.push(0);
                let size = e.declared.unwrap_or(long.len() as u64);
                tar.extend_from_slice(&header(b"././@LongLink", 0o644, size, b'L', b""));
                data(&mut tar, &long);
                b"placeholder".to_vec()
            }
            Naming::Pax => {
                let mut records = pax_record("path", &path);
                if !link.is_empty() {
                    records.extend(pax_record("linkpath", &link));
                }
                let size = e.declared.unwrap_or(records.len() as u64);
                tar.extend_from_slice(&header(b"PaxHeaders/x", 0o644, size, b'x', b""));
                data(&mut tar, &records);
                b"placeholder".to_vec()
            }
        };
        let size = match e.naming {
            Naming::Header => e.declared.unwrap_or(body.len() as u64),
            _ => body.len() as u64,
        };
        tar.extend_from_slice(&header(&name_field, e.mode, size, flag, &link));
        data(&mut tar, &body);
    }
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

/// What is done to the archive's bytes after it is written.
#[derive(Clone, Debug)]
enum Damage {
    None,
    /// Cut at a point.
    Truncate(Index),
    /// One byte changed.
    Flip(Index, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        6 => Just(Damage::None),
        1 => any::<Index>().prop_map(Damage::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, d: &Damage) {
    match d {
        Damage::None => {}
        Damage::Truncate(i) => bytes.truncate(i.index(bytes.len() + 1)),
        Damage::Flip(i, b) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] ^= b | 1;
        }
        Damage::Flip(..) => {}
    }
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(tar).unwrap();
    gz.finish().unwrap()
}

/// Unpacks the archive in a fresh sandbox and checks what it may not do.
fn unpack_checked(entries: &[Entry], gz: bool, damage: &Damage) -> Result<(), TestCaseError> {
    let sandbox = Sandbox::new();
    let mut bytes = archive(entries, &sandbox.out());
    if gz {
        bytes = gzip(&bytes);
    }
    apply(&mut bytes, damage);
    let name = if gz { "t.tar.gz" } else { "t.tar" };
    let tarball = sandbox.dir.path().join("in").join(name);
    std::fs::write(&tarball, &bytes).unwrap();
    let before = sandbox.snapshot();
    let cache = Cache::new(sandbox.cache());
    let t = tarball.clone();
    let result = bounded("unpack_tarball", move || {
        source::unpack_tarball(&t, &cache).map_err(|e| e.to_string())
    });
    let after = sandbox.snapshot();
    // Nothing outside the cache changed, appeared or went.
    for (p, was) in &before {
        prop_assert_eq!(after.get(p), Some(was), "{} changed", p.display());
    }
    for p in after.keys() {
        prop_assert!(
            before.contains_key(p),
            "{} was created outside the cache",
            p.display()
        );
    }
    match result {
        Ok(u) => prop_assert!(
            u.root.starts_with(sandbox.cache()),
            "the tree {} is outside the cache",
            u.root.display()
        ),
        Err(e) => prop_assert!(!e.is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn hostile_archives_write_nothing_outside(
        entries in prop::collection::vec(entry(), 0..12),
        gz in any::<bool>(),
        damage in damage(),
    ) {
        unpack_checked(&entries, gz, &damage)?;
    }

    /// A glibc-like tree first (so that unpacking can succeed and publish
    /// it), then hostile entries.
    #[test]
    fn a_tree_with_hostile_entries_writes_nothing_outside(
        entries in prop::collection::vec(entry(), 0..8),
        gz in any::<bool>(),
    ) {
        let file = |path, body: &[u8]| Entry {
            path,
            deep: 0,
            kind: Kind::File(body.to_vec()),
            mode: 0o644,
            naming: Naming::Header,
            declared: None,
        };
        let mut all = vec![
            file("glibc-9.9/version.h", VERSION_H),
            file("glibc-9.9/malloc/malloc.c", b"/* malloc */\n"),
        ];
        all.extend(entries);
        unpack_checked(&all, gz, &Damage::None)?;
    }
}

/// The hostile shapes one by one, each alone in an archive or after a
/// symlink out of the tree: the cases the generator reaches only by chance.
#[test]
fn each_hostile_entry_alone() {
    let entry = |path, kind, naming| Entry {
        path,
        deep: 0,
        kind,
        mode: 0o644,
        naming,
        declared: None,
    };
    let symlink_out = entry("link", Kind::Symlink("{OUT}"), Naming::Header);
    let mut archives = Vec::new();
    for path in PATHS {
        for kind in [
            Kind::File(b"x\n".to_vec()),
            Kind::Dir,
            Kind::Symlink("{OUT}/victim"),
            Kind::HardLink("{OUT}/victim"),
            Kind::HardLink("../../../victim"),
        ] {
            let e = entry(path, kind, Naming::Header);
            archives.push(vec![e.clone()]);
            archives.push(vec![symlink_out.clone(), e]);
        }
        for naming in [Naming::GnuLong, Naming::Pax] {
            archives.push(vec![entry(path, Kind::File(b"x\n".to_vec()), naming)]);
        }
    }
    for entries in archives {
        if let Err(err) = unpack_checked(&entries, false, &Damage::None) {
            panic!("{entries:?}: {err}");
        }
    }
}
