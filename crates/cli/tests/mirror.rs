//! The local mirror of release tarballs, on small tarballs the tests build:
//! a tampered tarball, a mirror that is not a directory, a version taken on
//! trust and then checked. Every test has its own cache, and Debian and GNU
//! are turned off, so nothing leaves the machine. (Against the real release
//! trees in `../shared/glibc-sources/`: the system tier's `mirror_shared.rs`.)

mod common;

use std::fs;
use std::path::PathBuf;

use common::tarballs::{mirror_only, pins_of, small_tree, write_tarball};
use common::*;
use manifest::digest::sha256;
use source::fetch::{self, FetchError, FetchOptions, Step};
use source::mirror::{Check, MirrorError};
use source::{Cache, Origin};

/// (c) A tarball with one pinned file altered is refused, naming that file
/// with both hashes, and nothing of it stays in the cache.
#[test]
fn tampered_tarball_is_refused_naming_the_file_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let genuine = small_tree("2.39");
    let pins = pins_of("2.39", &genuine);
    let mut tampered = genuine.clone();
    tampered[2].1.push_str("/* one more line */\n");
    assert_eq!(tampered[2].0, "malloc/malloc.c");
    let altered_sha = sha256(tampered[2].1.as_bytes());
    let pinned_sha = pins.files[1].sha256.clone();
    let mirror = tmp.path().join("mirror");
    write_tarball(&mirror, "2.39", &tampered);

    let opts = FetchOptions {
        pins: Some(pins),
        ..mirror_only(&mirror)
    };
    let err = fetch::fetch("2.39", &cache, &opts).unwrap_err();
    let FetchError::AllFailed { attempts, .. } = &err else {
        panic!("{err:?}")
    };
    let (_, from_mirror) = attempts
        .iter()
        .find(|(step, _)| *step == Step::Mirror)
        .unwrap();
    let FetchError::Mirror(MirrorError::PinMismatch { first, more, .. }) = from_mirror else {
        panic!("{from_mirror:?}")
    };
    assert_eq!(first.path, "malloc/malloc.c");
    assert_eq!(*more, 0);
    let msg = err.to_string();
    for needle in [
        "glibc-2.39.tar.xz refused",
        "malloc/malloc.c",
        &altered_sha,
        &pinned_sha,
        "the test's pins",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in: {msg}");
    }
    assert_eq!(files_under(cache.root()), Vec::<PathBuf>::new(), "{msg}");
}

/// (f) A `--mirror` that is not a directory (missing, a file, or named by
/// the environment) fails at once, says what to give instead, and leaves
/// nothing in the cache.
#[test]
fn mirror_that_is_not_a_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let file = tmp.path().join("a-file");
    fs::write(&file, "not a mirror").unwrap();
    let missing = tmp.path().join("missing");
    for (mirror, problem) in [(&file, "is not a directory"), (&missing, "does not exist")] {
        let o = resolver(&[
            "fetch",
            "2.42",
            "--mirror",
            mirror.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{stderr}");
        for needle in [
            format!("the mirror {} {problem}", mirror.display()),
            "give --mirror (or MALLOC_STANDALONE_MIRROR) a directory of glibc-<version>.tar.xz"
                .to_string(),
        ] {
            assert!(stderr.contains(&needle), "{needle:?} not in: {stderr}");
        }
    }
    let o = resolver_command()
        .args(["build", "--manifest", "nix/manifests/glibc-2.42.yaml"])
        .arg("--cache")
        .arg(&cache)
        .env(source::mirror::ENV, &file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(
        stderr.contains("$MALLOC_STANDALONE_MIRROR: the mirror")
            && stderr.contains(file.to_str().unwrap()),
        "{stderr}"
    );
    assert!(!cache.exists(), "nothing should be written");

    // The library refuses it too, before trying anything.
    let err = fetch::fetch("2.42", &Cache::new(&cache), &mirror_only(&file)).unwrap_err();
    assert!(
        matches!(err, FetchError::Mirror(MirrorError::NotADirectory { .. })),
        "{err:?}"
    );
}

/// A version no manifest pins yet is taken on trust, with a note that says
/// so; once pins exist, a tree taken that way that does not match them no
/// longer stands for the version, even from the cache.
#[test]
fn unpinned_version_is_trusted_on_first_use_and_checked_once_pinned() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let mirror = tmp.path().join("mirror");
    let tree = small_tree("2.39");
    write_tarball(&mirror, "2.39", &tree);

    let got = fetch::fetch_detailed("2.39", &cache, &mirror_only(&mirror)).unwrap();
    assert_eq!(got.step, Step::Mirror);
    let accepted = got.mirror.unwrap();
    assert_eq!(
        accepted.check,
        Check::TrustOnFirstUse {
            gnu_sha256: fetch::gnu_sha256("2.39").map(str::to_string)
        }
    );
    let note = accepted.to_string();
    assert!(
        note.contains("WITHOUT verification") && note.contains("resolver verify"),
        "{note}"
    );
    // It stands for GNU's release: a manifest resolved from it pins that.
    assert!(
        matches!(&got.source.origin, Origin::Gnu { sha256, .. } if Some(sha256.as_str()) == fetch::gnu_sha256("2.39")),
        "{:?}",
        got.source.origin
    );

    // Pins that it matches: the cache answers (the mirror is now empty).
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let opts = FetchOptions {
        pins: Some(pins_of("2.39", &tree)),
        ..mirror_only(&empty)
    };
    assert_eq!(
        fetch::fetch_detailed("2.39", &cache, &opts).unwrap().step,
        Step::Cache
    );

    // Pins that it does not match: neither the cache nor the mirror has it.
    let mut other = tree.clone();
    other[1].1 = "/* another arena */\n".to_string();
    let opts = FetchOptions {
        pins: Some(pins_of("2.39", &other)),
        ..opts
    };
    let msg = fetch::fetch("2.39", &cache, &opts).unwrap_err().to_string();
    assert!(
        msg.contains("from the mirror, whose malloc/arena.c differs from the test's pins"),
        "{msg}"
    );
}
