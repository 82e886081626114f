//! The local mirror of release tarballs, against the real upstream trees in
//! `../shared/glibc-sources/` (reduced exports: not GNU's tarballs byte for
//! byte, but every file they hold is the release's own). Every test has its
//! own cache, and Debian and GNU are turned off or pointed at a closed port,
//! so nothing waits on the network. (On small tarballs built here: the fast
//! tier's `mirror.rs`.)

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::tarballs::{mirror_only, small_tree, write_tarball};
use common::*;
use manifest::{Manifest, PinnedFile};
use source::fetch::{self, FetchOptions, Step};
use source::mirror::{Check, Pins};
use source::{Cache, Origin};

/// A GNU "server" that refuses every connection at once.
const CLOSED_PORT: &str = "http://127.0.0.1:9";

/// The real release trees beside the project.
fn shared() -> PathBuf {
    let dir = project()
        .canonicalize()
        .unwrap()
        .parent()
        .unwrap()
        .join("shared/glibc-sources");
    assert!(
        dir.join("glibc-2.42.tar.xz").is_file(),
        "{} should hold the upstream release trees (see its README)",
        dir.display()
    );
    dir
}

/// The committed 2.42 manifest pinned to GNU's release tarball instead of
/// Debian's orig tarball. Debian's orig tarball is the release tag's export
/// minus `manual/`, so its per-file pins hold for the upstream tree in the
/// mirror (those of 2.31, 2.36 and 2.41 are Debian's patched trees).
fn gnu_pinned_2_42() -> Manifest {
    let mut m = (*pinned("2.42")).clone();
    m.source.origin = Origin::Gnu {
        url: fetch::gnu_release_url(None, "2.42"),
        sha256: fetch::gnu_sha256("2.42").unwrap().to_string(),
    };
    m
}

/// (a) A GNU-pinned manifest's tarball from the mirror, a reduced export
/// whose own sha256 is not GNU's, is accepted because every file the
/// manifest pins matches; it is recorded as GNU's release, so the same
/// manifest later finds it in the cache without the mirror.
#[test]
fn gnu_pinned_manifest_is_accepted_by_its_pins_and_cached_as_gnus() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let m = gnu_pinned_2_42();
    let base = FetchOptions {
        mirror: Some(shared()),
        gnu_base_url: Some(CLOSED_PORT.to_string()),
        ..FetchOptions::default()
    };
    let opts = fetch::pinned_options(&m, &base).unwrap();
    assert!(!opts.debian, "a GNU-pinned manifest does not ask Debian");

    let got = fetch::fetch_detailed("2.42", &cache, &opts).unwrap();
    assert_eq!(got.step, Step::Mirror);
    let accepted = got.mirror.clone().expect("the mirror says how it accepted");
    assert_eq!(
        accepted.check,
        Check::Pins {
            count: m.verbatim.len(),
            from: "the glibc 2.42 manifest".to_string()
        }
    );
    assert_ne!(
        Some(accepted.sha256.as_str()),
        fetch::gnu_sha256("2.42"),
        "the shared tree is a reduced export, not GNU's tarball"
    );
    let note = accepted.to_string();
    assert!(
        note.contains(&format!(
            "accepted: all {} files pinned by the glibc 2.42 manifest match",
            m.verbatim.len()
        )) && note.contains("glibc-2.42.tar.xz"),
        "{note}"
    );
    assert_eq!(got.source.origin, m.source.origin);
    assert!(source::verify::check_files(&got.source.root, &m.verbatim).is_empty());
    assert!(cache.root().join("fetch/2.42.mirror.json").is_file());

    // Later, without the mirror: the cache, and no request to GNU.
    let no_mirror = FetchOptions {
        gnu_base_url: Some(CLOSED_PORT.to_string()),
        ..FetchOptions::default()
    };
    let again = fetch::fetch_detailed(
        "2.42",
        &cache,
        &fetch::pinned_options(&m, &no_mirror).unwrap(),
    )
    .unwrap();
    assert_eq!(again.step, Step::Cache);
    assert_eq!(again.source, got.source);
    assert_eq!(
        fetch::pinned_source(&m, &cache, &no_mirror).unwrap(),
        got.source
    );
}

/// (b) A tarball whose sha256 is the one given is accepted by that check,
/// before any pins are looked at (these would refuse it).
#[test]
fn tarball_with_the_given_sha256_is_accepted_by_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let tarball = shared().join("glibc-2.39.tar.xz");
    let sha = manifest::digest::sha256(&fs::read(&tarball).unwrap());
    let wrong_pins = Pins {
        version: "2.39".to_string(),
        from: "pins that no tree matches".to_string(),
        files: vec![PinnedFile {
            path: "malloc/malloc.c".to_string(),
            sha256: "0".repeat(64),
        }],
    };
    let opts = FetchOptions {
        sha256: Some(sha.clone()),
        pins: Some(wrong_pins),
        ..mirror_only(&shared())
    };
    let got = fetch::fetch_detailed("2.39", &cache, &opts).unwrap();
    assert_eq!(got.step, Step::Mirror);
    let accepted = got.mirror.unwrap();
    assert_eq!(accepted.check, Check::GivenSha256);
    assert_eq!(accepted.tarball, tarball);
    assert!(
        accepted
            .to_string()
            .contains(&format!("accepted: its sha256 is the one given ({sha})")),
        "{accepted}"
    );
    assert_eq!(got.source.version, "2.39");
    assert_eq!(
        got.source.origin,
        Origin::Gnu {
            url: fetch::gnu_release_url(None, "2.39"),
            sha256: sha
        }
    );
}

/// (d) A version the mirror lacks: the error lists every place tried, in
/// order, the mirror with the exact path it looked for.
#[test]
fn missing_version_lists_every_place_tried() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let opts = FetchOptions {
        debian: false,
        gnu_base_url: Some(CLOSED_PORT.to_string()),
        mirror: Some(shared()),
        ..FetchOptions::default()
    };
    // 2.38 is not in the shared trees (see their README).
    let msg = fetch::fetch("2.38", &cache, &opts).unwrap_err().to_string();
    let missing = shared().join("glibc-2.38.tar.xz");
    let wanted = [
        "cannot fetch glibc 2.38:".to_string(),
        "\n  cache: ".to_string(),
        format!("\n  mirror: {} does not exist", missing.display()),
        "\n  debian: not tried: turned off".to_string(),
        format!("\n  gnu: cannot download {CLOSED_PORT}/glibc-2.38.tar.xz"),
    ];
    let mut at = 0;
    for w in &wanted {
        let found = msg[at..]
            .find(w.as_str())
            .unwrap_or_else(|| panic!("{w:?} missing or out of order in: {msg}"));
        at += found + w.len();
    }
    assert!(msg.contains("the mirror has 2.17"), "{msg}");

    // The same from the command line, with a non-zero exit.
    let cache_dir = tmp.path().join("cli-cache");
    let o = resolver(&[
        "fetch",
        "2.38",
        "--mirror",
        shared().to_str().unwrap(),
        "--cache",
        cache_dir.to_str().unwrap(),
        "--no-debian",
        "--gnu-url",
        CLOSED_PORT,
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    for w in &wanted {
        assert!(stderr.contains(w.as_str()), "{w:?} not in: {stderr}");
    }
}

/// (e) The cache comes before the mirror: once a version is fetched, a
/// mirror whose tarball of it is different is not even opened.
#[test]
fn a_cached_fetch_wins_over_the_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let pins = Pins::of(&pinned("2.42"), "nix/manifests/glibc-2.42.yaml");
    let opts = FetchOptions {
        pins: Some(pins.clone()),
        ..mirror_only(&shared())
    };
    let first = fetch::fetch_detailed("2.42", &cache, &opts).unwrap();
    assert_eq!(first.step, Step::Mirror);

    let other = tmp.path().join("other-mirror");
    write_tarball(&other, "2.42", &small_tree("2.42"));
    let opts = FetchOptions {
        pins: Some(pins),
        ..mirror_only(&other)
    };
    let second = fetch::fetch_detailed("2.42", &cache, &opts).unwrap();
    assert_eq!(second.step, Step::Cache);
    assert_eq!(second.mirror, None);
    assert_eq!(second.source, first.source);
}

/// The command line looks up the project's committed manifest of the
/// version for its pins, and says which check accepted the tarball.
#[test]
fn cli_fetch_checks_the_committed_manifests_pins() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let o = resolver(&[
        "fetch",
        "2.42",
        "--mirror",
        shared().to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--no-debian",
        "--no-gnu",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let n = pinned("2.42").verbatim.len();
    assert!(
        stderr.contains(&format!(
            "accepted: all {n} files pinned by nix/manifests/glibc-2.42.yaml match"
        )) && stderr.contains("from the mirror, as "),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let root = Path::new(stdout.lines().last().unwrap());
    assert!(root.starts_with(&cache) && root.join("malloc/malloc.c").is_file());
}

/// `resolver build --manifest` of a GNU-pinned manifest takes its source
/// from the mirror and builds the allocator.
#[test]
fn cli_build_of_a_gnu_pinned_manifest_through_the_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = gnu_pinned_2_42().write(tmp.path()).unwrap();
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out");
    let o = resolver(&[
        "build",
        "--manifest",
        manifest.to_str().unwrap(),
        "--mirror",
        shared().to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("pinned by {} match", manifest.display())),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let so = Path::new(stdout.lines().last().unwrap());
    assert!(so.is_file(), "{stdout}");
}
