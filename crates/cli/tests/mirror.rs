//! The local mirror of release tarballs, against the real upstream trees in
//! `../shared/glibc-sources/` (reduced exports: not GNU's tarballs byte for
//! byte, but every file they hold is the release's own) and small tarballs
//! built here. Every test has its own cache, and Debian and GNU are turned
//! off or pointed at a closed port, so nothing waits on the network.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use manifest::digest::sha256;
use manifest::{Manifest, PinnedFile};
use source::fetch::{self, FetchError, FetchOptions, Step};
use source::mirror::{Check, MirrorError, Pins};
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

/// The mirror only: no Debian, no GNU.
fn mirror_only(dir: &Path) -> FetchOptions {
    FetchOptions {
        debian: false,
        gnu: false,
        mirror: Some(dir.to_path_buf()),
        ..FetchOptions::default()
    }
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

/// A small glibc-looking tree of `version`, as `(path, content)`.
fn small_tree(version: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "version.h",
            format!("#define RELEASE \"stable\"\n#define VERSION \"{version}\"\n"),
        ),
        ("malloc/arena.c", "/* arena */\n".to_string()),
        (
            "malloc/malloc.c",
            "/* Malloc implementation */\n".to_string(),
        ),
    ]
}

/// Pins of every file of `tree` but version.h, sorted by path.
fn pins_of(version: &str, tree: &[(&str, String)]) -> Pins {
    let mut files: Vec<PinnedFile> = tree
        .iter()
        .filter(|(p, _)| *p != "version.h")
        .map(|(p, c)| PinnedFile {
            path: p.to_string(),
            sha256: sha256(c.as_bytes()),
        })
        .collect();
    files.sort();
    Pins {
        version: version.to_string(),
        from: "the test's pins".to_string(),
        files,
    }
}

/// Writes `tree` as `<dir>/glibc-<version>.tar.xz` (top directory
/// `glibc-<version>/`, as GNU's tarballs are packed).
fn write_tarball(dir: &Path, version: &str, tree: &[(&str, String)]) -> PathBuf {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in tree {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                format!("glibc-{version}/{path}"),
                content.as_bytes(),
            )
            .unwrap();
    }
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&builder.into_inner().unwrap()).unwrap();
    fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("glibc-{version}.tar.xz"));
    fs::write(&path, xz.finish().unwrap()).unwrap();
    path
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
    let sha = sha256(&fs::read(&tarball).unwrap());
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
