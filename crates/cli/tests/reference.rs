//! Reference libcs: the real glibc of a version, from Debian's `libc6`
//! package (or the host's own), runnable on this host through its own
//! dynamic loader. The allocator built for a version is compared with it
//! (tests/preload.rs).

mod common;

use std::fs;
use std::path::Path;

use harness::{ReferenceError, ReferenceLibc};
use source::fetch::{self, FetchError};
use source::Cache;

/// Runs the reference's own libc.so.6 through its own loader: glibc's
/// libc.so.6 is executable and prints its version banner. Every loader
/// version understands `--library-path` (2.31's has no `--help` or
/// `--version`).
fn banner(r: &ReferenceLibc) -> String {
    let out = r
        .command(r.lib_dir.join("libc.so.6"))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", r.ld_so.display()));
    assert!(
        out.status.success(),
        "{} {} failed: {}",
        r.ld_so.display(),
        r.lib_dir.join("libc.so.6").display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A cache of its own (so that the unpack really happens) that shares the
/// apt lists and downloaded .debs of the default cache (so that nothing is
/// downloaded twice).
fn fresh_cache(dir: &Path) -> Cache {
    let shared = common::cache();
    for sub in ["apt", "downloads"] {
        let target = shared.dir(sub).expect("shared cache");
        std::os::unix::fs::symlink(target, dir.join(sub)).unwrap();
    }
    Cache::new(dir)
}

fn check_downloaded(version: &str, r: &ReferenceLibc, cache: &Cache) {
    assert_eq!(r.version, version);
    assert!(!r.is_host());
    let debver = r.debian_version.as_deref().expect("a Debian version");
    assert_eq!(fetch::upstream_version(debver), version);
    assert_eq!(
        r.root,
        cache
            .root()
            .join("libc6")
            .join(debver)
            .canonicalize()
            .unwrap()
    );
    for p in [&r.ld_so, &r.lib_dir] {
        let real = p.canonicalize().unwrap();
        assert!(
            real.starts_with(&r.root),
            "{} leads out of the unpacked package ({})",
            p.display(),
            real.display()
        );
    }
    assert_eq!(r.ld_so.file_name().unwrap(), "ld-linux-x86-64.so.2");
    let line = banner(r);
    assert!(
        line.contains(&format!("GLIBC {debver})"))
            && line.ends_with(&format!("version {version}.")),
        "banner of glibc {debver}: {line}"
    );
}

fn download_and_unpack(version: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = fresh_cache(tmp.path());
    let r = {
        let _g = common::apt_lock();
        harness::reference_libc(version, &cache, None)
            .unwrap_or_else(|e| panic!("reference libc {version}: {e}"))
    };
    check_downloaded(version, &r, &cache);
    // Unpacked atomically: nothing but the final directory is left.
    let entries: Vec<String> = fs::read_dir(cache.root().join("libc6"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, [r.debian_version.clone().unwrap()]);

    // Asking again for that exact version is answered from the cache,
    // without apt: it works even with the archive unreachable (no apt dir).
    fs::remove_file(cache.root().join("apt")).unwrap();
    let again = harness::reference_libc(version, &cache, r.debian_version.as_deref())
        .unwrap_or_else(|e| panic!("cached reference libc {version}: {e}"));
    assert_eq!(again, r);
    assert!(
        !cache.root().join("apt").exists(),
        "a cached reference libc should not need apt"
    );
}

/// Bullseye's libc6, from before the /usr merge: the loader is in lib/, and
/// lib64/'s loader is an absolute symlink to the host's (not to be used).
#[test]
fn glibc_2_31_from_bullseye() {
    download_and_unpack("2.31");
}

/// Experimental's libc6, after the /usr merge: everything is in usr/lib/.
#[test]
fn glibc_2_44_from_experimental() {
    download_and_unpack("2.44");
}

#[test]
fn host_version_is_the_hosts_own() {
    let host = fetch::host_glibc().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path());
    let r = harness::reference_libc(&host.version, &cache, None).unwrap();
    assert!(r.is_host());
    assert_eq!(r.version, host.version);
    assert_eq!(r.debian_version, host.debian_version);
    assert_eq!(r.ld_so, Path::new("/lib64/ld-linux-x86-64.so.2"));
    assert_eq!(r.lib_dir, Path::new("/lib/x86_64-linux-gnu"));
    assert!(
        fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "nothing should be downloaded or unpacked for the host's glibc"
    );
    let line = banner(&r);
    assert!(
        line.ends_with(&format!("version {}.", host.version)),
        "{line}"
    );
    // The host's own ld.so runs host programs too.
    let out = r.command("/bin/true").status().unwrap();
    assert!(out.success());
}

#[test]
fn version_without_a_libc6_package_is_a_clear_error() {
    let _g = common::apt_lock();
    let err = harness::reference_libc("2.42", &common::cache(), None).unwrap_err();
    let ReferenceError::NoReferenceLibc {
        wanted, offered, ..
    } = &err
    else {
        panic!("expected NoReferenceLibc, got {err:?}")
    };
    assert_eq!(wanted, "2.42");
    assert!(offered.contains("2.31-"), "{offered}");
    let text = err.to_string();
    assert!(
        text.starts_with("Debian's archive has no libc6 2.42 (libc6 is on offer as ")
            && text.contains("no real glibc of that version"),
        "{text}"
    );
}

#[test]
fn bad_arguments_are_refused_before_any_download() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path());
    assert!(matches!(
        harness::reference_libc("2.x", &cache, None),
        Err(ReferenceError::Fetch(FetchError::BadVersion { .. }))
    ));
    let err = harness::reference_libc("2.31", &cache, Some("2.41-12")).unwrap_err();
    assert!(
        matches!(
            err,
            ReferenceError::Fetch(FetchError::VersionMismatch { .. })
        ),
        "{err:?}"
    );
    assert!(fs::read_dir(tmp.path()).unwrap().next().is_none());
}

/// A library a reference glibc's programs load besides libc (glibc's
/// pthread_cancel dlopens libgcc_s.so.1): every version of Debian's
/// `libgcc-s1` on offer, newest first, each unpacked with the library found
/// before and after the /usr merge, and a bad package name a clear error.
#[test]
fn companion_library_from_debian() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = fresh_cache(tmp.path());
    let _g = common::apt_lock();
    let versions = harness::debian_package_versions("libgcc-s1", &cache).unwrap();
    assert!(
        versions.len() >= 2,
        "libgcc-s1 versions on offer: {versions:?}"
    );
    for pair in versions.windows(2) {
        assert_eq!(
            fetch::compare_debian_versions(&pair[0], &pair[1]),
            std::cmp::Ordering::Greater,
            "not newest first: {versions:?}"
        );
    }
    for v in [versions.first().unwrap(), versions.last().unwrap()] {
        let lib = harness::unpack_debian_library("libgcc-s1", v, "libgcc_s.so.1", &cache)
            .unwrap_or_else(|e| panic!("libgcc-s1 {v}: {e}"));
        assert!(lib.starts_with(cache.root().join("deb/libgcc-s1").join(v)));
        let head = fs::read(&lib).unwrap();
        assert_eq!(&head[..4], b"\x7fELF", "{}", lib.display());
        // Again, from the cache.
        let again =
            harness::unpack_debian_library("libgcc-s1", v, "libgcc_s.so.1", &cache).unwrap();
        assert_eq!(again, lib);
    }
    let err = harness::unpack_debian_library(
        "libgcc-s1",
        versions.last().unwrap(),
        "libnothing.so.9",
        &cache,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("libnothing.so.9"), "{err}");
}
