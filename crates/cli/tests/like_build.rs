//! `resolver build --like FILE` on real libcs: Debian's `libc6` builds
//! (the reference libcs of 2.31, 2.41, 2.43 and 2.44, and the host's 2.36)
//! get Debian's source of exactly their version, and the heap of one
//! program under the .so built is the heap under that very libc. Builds
//! whose source this tool cannot fetch get GNU's release, and stderr says
//! so and why.
//!
//! Ubuntu's archive is not reachable from where these tests run, so an
//! Ubuntu libc is a stand-in: Debian's real 2.31 libc.so.6 with its banner
//! rewritten in place (same length) to `Ubuntu GLIBC 2.31-0ubuntu9.16`. The
//! same trick makes a Debian point release that has left the archive
//! (2.31-13+deb11u10) and one of which only the source package's orig
//! tarball remains (2.43-6). Each of those runs on a cache of its own that
//! shares the default cache's apt lists and downloads, so the resolution
//! into the cache really happens (and then is reused).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::run::{clean_env, preloaded, run_ok, Abi};
use common::{arg, reference, scratch, stderr};
use harness::ReferenceLibc;
use manifest::{Manifest, Origin};
use source::Cache;

/// `tests/c/offsets.c`: where a fixed call sequence puts each chunk, as
/// offsets (built for the oldest glibc, so it runs on every reference).
fn offsets_program() -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| common::run::compile("offsets", Abi::Old, &[], &scratch("like-programs")))
        .clone()
}

/// `resolver build --like file` (with `cache`, else the default one) into
/// the scratch directory `out` (one per test where the .so names would
/// collide: each is `libmalloc-glibc-<version>.so`); must succeed.
fn build_like(file: &Path, cache: Option<&Path>, out: &str) -> (PathBuf, String) {
    let _g = common::apt_lock();
    let mut cmd = common::resolver_command();
    if let Some(c) = cache {
        cmd.arg("--cache").arg(c);
    }
    cmd.args(["build", "--like", arg(file), "--out"])
        .arg(scratch(out))
        .env_remove("DEBUG");
    let o = cmd.output().expect("run resolver");
    let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(
        o.status.success(),
        "`resolver build --like {}` failed ({}):\n{out}\n{err}",
        file.display(),
        o.status
    );
    let so = PathBuf::from(out.lines().last().unwrap_or_default().trim());
    assert!(
        so.is_file(),
        "{} was not built:\n{out}\n{err}",
        so.display()
    );
    (so, err)
}

/// `resolver resolve --like file` with `cache`: the manifest's path.
fn resolve_like(file: &Path, cache: &Path) -> (PathBuf, Output) {
    let _g = common::apt_lock();
    let o = common::resolver_command()
        .arg("--cache")
        .arg(cache)
        .args(["resolve", "--like", arg(file)])
        .output()
        .expect("run resolver");
    assert!(o.status.success(), "{}", stderr(&o));
    let path = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    (PathBuf::from(path), o)
}

/// The heap offsets of the program under `so` equal those under the libc
/// in `lib_dir` run by `r`'s loader.
fn same_heap(so: &Path, r: &ReferenceLibc, lib_dir: &Path, what: &str) {
    let prog = offsets_program();
    let ours = run_ok(&mut preloaded(so, &prog));
    let mut real = Command::new(&r.ld_so);
    real.arg("--library-path").arg(lib_dir).arg(&prog);
    clean_env(&mut real);
    let real = run_ok(&mut real);
    assert!(
        ours.lines().count() > 100,
        "offsets printed too little:\n{ours}"
    );
    if let Some((n, (a, b))) = real
        .lines()
        .zip(ours.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!(
            "{what}: the heap under {} differs from the real libc's at line {}:\n  real: {a}\n  ours: {b}",
            so.display(),
            n + 1
        );
    }
    assert_eq!(real.lines().count(), ours.lines().count(), "{what}");
}

/// A Debian build: Debian's patched source of exactly its version, from
/// the committed manifest that pins it, and the very heap of that libc.
fn debian(version: &str) {
    let r = reference(version).expect("a Debian libc6 of this version");
    let debver = r.debian_version.clone().expect("a Debian version");
    let libc = r.lib_dir.join("libc.so.6");
    let (so, err) = build_like(&libc, None, "like-debian");
    for needle in [
        format!("glibc {version} (`GNU C Library (Debian GLIBC {debver}) stable release version {version}`)"),
        format!("Debian's patched source of {debver} (glibc-source), as "),
        format!("nix/manifests/glibc-{version}.yaml pins it"),
    ] {
        assert!(err.contains(&needle), "stderr lacks {needle:?}:\n{err}");
    }
    assert!(!err.contains("not applied"), "{err}");
    assert_eq!(
        so.file_name().unwrap().to_str().unwrap(),
        format!("libmalloc-glibc-{version}.so")
    );
    same_heap(&so, &r, &r.lib_dir, &format!("Debian {debver}"));
}

#[test]
fn debian_2_31() {
    debian("2.31")
}

#[test]
fn debian_2_36_the_hosts() {
    let r = reference("2.36").unwrap();
    assert!(r.is_host(), "2.36 is this host's glibc");
    debian("2.36")
}

#[test]
fn debian_2_41() {
    debian("2.41")
}

#[test]
fn debian_2_43() {
    debian("2.43")
}

#[test]
fn debian_2_44() {
    debian("2.44")
}

/// A cache of its own (so the fetch, unpack and resolution really happen)
/// sharing the default cache's apt lists and downloads (so nothing is
/// downloaded twice).
fn fresh_cache(dir: &Path) -> PathBuf {
    let shared = common::cache();
    let root = dir.join("cache");
    fs::create_dir_all(&root).unwrap();
    for sub in ["apt", "downloads"] {
        std::os::unix::fs::symlink(shared.dir(sub).unwrap(), root.join(sub)).unwrap();
    }
    root
}

/// A copy of `r`'s libc.so.6 in `dir` whose banner says `to` where the
/// real one says `from` (same length: the file keeps its layout, and
/// still runs).
fn stand_in(r: &ReferenceLibc, from: &str, to: &str, dir: &Path) -> PathBuf {
    assert_eq!(from.len(), to.len(), "{from} -> {to}");
    let bytes = fs::read(r.lib_dir.join("libc.so.6")).unwrap();
    let at: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "`{from}` once in the real libc");
    let mut bytes = bytes;
    bytes[at[0]..at[0] + to.len()].copy_from_slice(to.as_bytes());
    fs::create_dir_all(dir).unwrap();
    let path = dir.join("libc.so.6");
    fs::write(&path, bytes).unwrap();
    path
}

/// The manifest `--like` resolved into `cache` for `key`, read.
fn resolved_in(cache: &Path, key: &str, version: &str) -> (PathBuf, Manifest) {
    let path = cache
        .join("like")
        .join(key)
        .join(format!("glibc-{version}.yaml"));
    let m = Manifest::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, m)
}

/// The committed manifests are never written by `--like`.
fn committed_bytes() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = common::project().join(manifest::COMMITTED_DIR);
    let mut all: Vec<_> = common::files_under(&dir)
        .into_iter()
        .map(|p| (p.clone(), fs::read(dir.join(p)).unwrap()))
        .collect();
    all.sort();
    all
}

/// Ubuntu (a stand-in, as no Ubuntu archive is reachable here): GNU's 2.31
/// release, with a note that Ubuntu's patches are not applied, resolved
/// into the cache (the committed 2.31 manifest pins Debian's source, not
/// GNU's), then reused. Its heap is the real 2.31's (the stand-in is
/// Debian's 2.31 binary, whose allocator Debian does not patch).
#[test]
fn ubuntu_stand_in_gets_gnus_release() {
    let r = reference("2.31").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = fresh_cache(tmp.path());
    let debver = r.debian_version.clone().unwrap();
    let libc = stand_in(
        &r,
        &format!("Debian GLIBC {debver}"),
        "Ubuntu GLIBC 2.31-0ubuntu9.16",
        &tmp.path().join("ubuntu"),
    );
    let before = committed_bytes();
    let (so, err) = build_like(&libc, Some(&cache), "like-ubuntu");
    for needle in [
        "(`GNU C Library (Ubuntu GLIBC 2.31-0ubuntu9.16) stable release version 2.31`)",
        "Ubuntu's archive is not one this tool fetches from: using GNU's glibc 2.31 release; \
         Ubuntu's patches are not applied",
        "no committed manifest pins this source: resolving it into ",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    let (path, m) = resolved_in(&cache, "gnu-2.31", "2.31");
    assert!(
        err.contains(&path.parent().unwrap().display().to_string()),
        "{err}"
    );
    assert!(
        matches!(m.source.origin, Origin::Gnu { .. }),
        "{:?}",
        m.source.origin
    );
    assert_eq!(so.file_name().unwrap(), "libmalloc-glibc-2.31.so");
    same_heap(&so, &r, libc.parent().unwrap(), "the Ubuntu stand-in");
    assert_eq!(committed_bytes(), before, "--like wrote into nix/manifests");

    // Again: the manifest resolved before is reused, and `resolve --like`
    // names it.
    let (_, again) = build_like(&libc, Some(&cache), "like-ubuntu");
    assert!(
        again.contains("was resolved earlier from this source; reusing it"),
        "{again}"
    );
    assert!(!again.contains("resolving it into"), "{again}");
    let (named, _) = resolve_like(&libc, &cache);
    assert_eq!(named, path);

    // A manifest resolved before whose stub pins no longer match the
    // project's stubs (as after a change to stubs/) is resolved again.
    let stale = m.stubs[0].sha256.clone();
    let yaml = fs::read_to_string(&path).unwrap();
    assert_eq!(
        yaml.matches(&stale).count(),
        1,
        "{stale} once in {}",
        path.display()
    );
    fs::write(&path, yaml.replace(&stale, &"0".repeat(64))).unwrap();
    let (_, err) = resolve_like(&libc, &cache);
    let err = stderr(&err);
    assert!(err.contains("resolving it into"), "{err}");
    assert_eq!(resolved_in(&cache, "gnu-2.31", "2.31").1, m);
}

/// A Debian point release that has left the archive: GNU's release
/// instead, saying why (the archive's own answer) and that Debian's
/// patches are not applied.
#[test]
fn debian_point_release_gone_from_the_archive() {
    let r = reference("2.31").unwrap();
    let debver = r.debian_version.clone().unwrap();
    assert_eq!(
        debver, "2.31-13+deb11u11",
        "the stand-in below names the release before it"
    );
    let tmp = tempfile::tempdir().unwrap();
    let cache = fresh_cache(tmp.path());
    let libc = stand_in(
        &r,
        "Debian GLIBC 2.31-13+deb11u11",
        "Debian GLIBC 2.31-13+deb11u10",
        &tmp.path().join("old"),
    );
    let (so, err) = build_like(&libc, Some(&cache), "like-gone");
    for needle in [
        "Debian's source of 2.31-13+deb11u10 cannot be fetched (Debian's archive has no glibc \
         2.31-13+deb11u10",
        "using GNU's glibc 2.31 release instead; Debian's patches are not applied",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    let (_, m) = resolved_in(&cache, "gnu-2.31", "2.31");
    assert!(matches!(m.source.origin, Origin::Gnu { .. }));
    same_heap(
        &so,
        &r,
        libc.parent().unwrap(),
        "Debian 2.31-13+deb11u10's stand-in",
    );
}

/// A Debian version whose `glibc-source` has left the archive while its
/// source package remains (2.43-6 in sid's source index): that exact
/// Debian version, from the orig tarball, saying that Debian's patches are
/// not applied; resolved into the cache under its Debian version. The
/// fetch records it apart: the cache's record of 2.43 alone is untouched.
#[test]
fn debian_version_only_in_the_source_package() {
    let r = reference("2.43").unwrap();
    assert_eq!(r.debian_version.as_deref(), Some("2.43-7"));
    let tmp = tempfile::tempdir().unwrap();
    let cache = fresh_cache(tmp.path());
    let libc = stand_in(
        &r,
        "Debian GLIBC 2.43-7",
        "Debian GLIBC 2.43-6",
        &tmp.path().join("2.43-6"),
    );
    let (so, err) = build_like(&libc, Some(&cache), "like-orig");
    for needle in [
        "Debian's glibc 2.43-6 source package; the archive keeps only its orig tarball \
         (upstream's files), so Debian's patches are not applied",
        "no committed manifest pins this source: resolving it into ",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    let (_, m) = resolved_in(&cache, "debian-2.43-6", "2.43");
    let Origin::Debian {
        package, version, ..
    } = &m.source.origin
    else {
        panic!("{:?}", m.source.origin)
    };
    assert_eq!((package.as_str(), version.as_str()), ("glibc", "2.43-6"));
    let fetched = Cache::new(&cache).root().join("fetch");
    assert!(fetched.join("2.43.debian=2.43-6.json").is_file());
    assert!(!fetched.join("2.43.debian.json").exists());
    assert_eq!(so.file_name().unwrap(), "libmalloc-glibc-2.43.so");
    same_heap(&so, &r, libc.parent().unwrap(), "Debian 2.43-6's stand-in");
}

/// The host's libc.so.6 with its banner's first line replaced by `line`,
/// padded with spaces to the same length, in `dir` (read, never run).
fn with_banner(line: &str, dir: &Path) -> PathBuf {
    let mut bytes = fs::read("/lib/x86_64-linux-gnu/libc.so.6").unwrap();
    let start = bytes
        .windows(14)
        .position(|w| w == b"GNU C Library ")
        .unwrap();
    let len = bytes[start..].iter().position(|&b| b == b'\n').unwrap();
    assert!(line.len() <= len, "{line:?} is longer than the banner");
    bytes[start..start + len].copy_from_slice(format!("{line:<len$}").as_bytes());
    fs::create_dir_all(dir).unwrap();
    let path = dir.join("libc.so.6");
    fs::write(&path, bytes).unwrap();
    path
}

/// Banners naming no distribution (`GNU libc`, glibc's default) or one
/// whose sources this tool does not fetch (Gentoo's), and a development
/// snapshot: GNU's release, from the committed manifest where it pins
/// GNU's tarball (2.35, 2.39), each with its note.
#[test]
fn other_banners_get_gnus_release_from_the_committed_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    for (line, version, needles) in [
        (
            "GNU C Library (GNU libc) stable release version 2.35.",
            "2.35",
            &[
                "the banner names no distribution (`GNU libc`): using GNU's glibc 2.35 release; \
                 if a distribution built it, its patches are not applied",
            ][..],
        ),
        (
            "GNU C Library (Gentoo 2.39-r6 (patchset 4)) stable release version 2.39.",
            "2.39",
            &[
                "`Gentoo 2.39-r6 (patchset 4)` is not a distribution this tool fetches sources \
                 of: using GNU's glibc 2.39 release; Gentoo's patches are not applied",
            ][..],
        ),
        (
            "GNU C Library (GNU libc) development release version 2.39.9000.",
            "2.39",
            &["2.39.9000 is a development snapshot after glibc 2.39: building 2.39's allocator"][..],
        ),
    ] {
        let libc = with_banner(line, &tmp.path().join(version));
        let (so, err) = build_like(&libc, None, "like-gnu");
        for needle in needles.iter().copied().chain([
            &*format!("GNU's glibc {version} release, as "),
            &*format!("nix/manifests/glibc-{version}.yaml pins it"),
        ]) {
            assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
        }
        assert_eq!(
            so.file_name().unwrap().to_str().unwrap(),
            format!("libmalloc-glibc-{version}.so")
        );
    }
}

/// `resolver run --like` runs a program on the allocator matching a
/// challenge's libc: the heap under `run --like` of Debian's real 2.31
/// libc is that libc's own.
#[test]
fn run_like_gives_the_challenge_libcs_heap() {
    let r = reference("2.31").expect("Debian's libc6 2.31");
    let libc = r.lib_dir.join("libc.so.6");
    let prog = offsets_program();
    let ours = {
        let _g = common::apt_lock();
        let mut cmd = common::resolver_command();
        cmd.args(["run", "--like", arg(&libc), "--"]).arg(&prog);
        clean_env(&mut cmd);
        if let Some(dir) = common::mirror() {
            cmd.env(source::mirror::ENV, dir);
        }
        cmd.output().expect("run resolver")
    };
    assert!(ours.status.success(), "{}", stderr(&ours));
    let mut real = Command::new(&r.ld_so);
    real.arg("--library-path").arg(&r.lib_dir).arg(&prog);
    clean_env(&mut real);
    let real = run_ok(&mut real);
    let ours = String::from_utf8_lossy(&ours.stdout);
    assert!(
        ours.lines().count() > 100,
        "offsets printed too little:\n{ours}"
    );
    assert_eq!(real, ours, "the heap under `resolver run --like` differs");
}
