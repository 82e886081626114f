//! Source acquisition against real things made here: trees and tarballs, a
//! real git repository, a real HTTP server on loopback. Hermetic (nothing
//! leaves the machine); Debian's archive is the system tier's `debian.rs`.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::files_under;
use manifest::digest::sha256;
use source::fetch::{self, FetchError, FetchOptions};
use source::{self, Cache, Origin, SourceError};

/// A minimal tree with the two files every glibc tree is recognised by.
fn fake_tree(dir: &Path, version: &str) {
    fs::create_dir_all(dir.join("malloc")).unwrap();
    fs::write(
        dir.join("version.h"),
        format!(
            "/* This file just defines the current version number of libc.  */\n\n\
             #define RELEASE \"stable\"\n#define VERSION \"{version}\"\n"
        ),
    )
    .unwrap();
    fs::write(dir.join("malloc/malloc.c"), "/* Malloc implementation */\n").unwrap();
    fs::write(dir.join("malloc/arena.c"), "/* arena */\n").unwrap();
}

#[derive(Clone, Copy)]
enum Packing {
    Xz,
    Gz,
    Bz2,
}

impl Packing {
    fn ext(self) -> &'static str {
        match self {
            Packing::Xz => "tar.xz",
            Packing::Gz => "tar.gz",
            Packing::Bz2 => "tar.bz2",
        }
    }
}

/// Tars `tree` under the top-level name `top` (or at the root when `top` is
/// empty) and compresses it.
fn tarball_bytes(tree: &Path, top: &str, packing: Packing) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    if top.is_empty() {
        builder.append_dir_all(".", tree).unwrap();
    } else {
        builder.append_dir_all(top, tree).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    match packing {
        Packing::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(&tar).unwrap();
            e.finish().unwrap()
        }
        Packing::Gz => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&tar).unwrap();
            e.finish().unwrap()
        }
        Packing::Bz2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(&tar).unwrap();
            e.finish().unwrap()
        }
    }
}

/// A tarball of a fake glibc `version` tree, written into `dir`.
fn fake_tarball(dir: &Path, version: &str, packing: Packing) -> PathBuf {
    let tree = dir.join(format!("tree-{version}"));
    fake_tree(&tree, version);
    let path = dir.join(format!("glibc-{version}.{}", packing.ext()));
    fs::write(
        &path,
        tarball_bytes(&tree, &format!("glibc-{version}"), packing),
    )
    .unwrap();
    path
}

fn entries(dir: &Path) -> Vec<String> {
    match fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

// ---------------------------------------------------------------- trees

#[test]
fn tree_version_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    fake_tree(tmp.path(), "2.36");
    let cache = Cache::new(tmp.path().join("cache"));
    let src = source::open(tmp.path(), &cache).unwrap();
    assert_eq!(src.version, "2.36");
    assert_eq!(src.origin, Origin::Tree);
    assert!(src.root.is_absolute());
    assert_eq!(source::version_of_tree(tmp.path()).unwrap(), "2.36");
    // A directory is used in place: nothing goes into the cache.
    assert!(!cache.root().exists());
}

#[test]
fn development_snapshot_version_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    fake_tree(tmp.path(), "2.42.9000");
    let src = source::open(tmp.path(), &Cache::new(tmp.path().join("c"))).unwrap();
    assert_eq!(src.version, "2.42.9000");
}

#[test]
fn tree_without_version_h_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fake_tree(tmp.path(), "2.36");
    fs::remove_file(tmp.path().join("version.h")).unwrap();
    let err = source::open(tmp.path(), &Cache::new(tmp.path().join("c"))).unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::NotGlibcTree {
                missing: "version.h",
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("version.h is missing"), "{msg}");
    assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
}

#[test]
fn tree_without_malloc_c_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fake_tree(tmp.path(), "2.36");
    fs::remove_file(tmp.path().join("malloc/malloc.c")).unwrap();
    let err = source::open(tmp.path(), &Cache::new(tmp.path().join("c"))).unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::NotGlibcTree {
                missing: "malloc/malloc.c",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn parent_of_a_tree_gets_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("unpacked");
    fake_tree(&parent.join("glibc-2.36"), "2.36");
    let err = source::open(&parent, &Cache::new(tmp.path().join("c"))).unwrap_err();
    assert!(err.to_string().contains("did you mean"), "{err}");
}

#[test]
fn version_without_define_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fake_tree(tmp.path(), "2.36");
    fs::write(tmp.path().join("version.h"), "#define RELEASE \"stable\"\n").unwrap();
    let err = source::open(tmp.path(), &Cache::new(tmp.path().join("c"))).unwrap_err();
    assert!(matches!(err, SourceError::NoVersion { .. }), "{err:?}");
}

#[test]
fn old_versions_are_not_refused_by_number() {
    // Whether a version's allocator can be built is the resolver's to find
    // out from its source, and to explain; opening never judges the number.
    let tmp = tempfile::tempdir().unwrap();
    for v in ["2.17", "2.25", "2.26"] {
        fake_tree(tmp.path(), v);
        let src = source::open(tmp.path(), &Cache::new(tmp.path().join("c"))).unwrap();
        assert_eq!(src.version, v);
    }
}

#[test]
fn missing_path_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = source::open(&missing, &Cache::new(tmp.path().join("c"))).unwrap_err();
    assert!(matches!(err, SourceError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn unknown_archive_extension_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("glibc-2.36.zip");
    fs::write(&zip, b"PK\x03\x04").unwrap();
    let err = source::open(&zip, &Cache::new(tmp.path().join("c"))).unwrap_err();
    assert!(matches!(err, SourceError::UnknownArchive { .. }), "{err:?}");
    assert!(err.to_string().contains(".tar.xz"), "{err}");
}

// ---------------------------------------------------------------- tarballs

fn open_tarball_and_reuse(packing: Packing) {
    let tmp = tempfile::tempdir().unwrap();
    let tarball = fake_tarball(tmp.path(), "2.36", packing);
    let cache = Cache::new(tmp.path().join("cache"));

    let first = source::open(&tarball, &cache).unwrap();
    assert_eq!(first.version, "2.36");
    let want_sha = sha256(&fs::read(&tarball).unwrap());
    assert_eq!(
        first.origin,
        Origin::Tarball {
            file_name: tarball.file_name().unwrap().to_string_lossy().into_owned(),
            sha256: want_sha.clone(),
        }
    );
    assert_eq!(first.root, cache.tree_dir(&want_sha).join("glibc-2.36"));
    assert!(first.root.join("malloc/arena.c").is_file());

    // A second open must reuse the unpacked tree, not unpack again over it.
    let marker = first.root.join("MARKER");
    fs::write(&marker, "kept").unwrap();
    let second = source::open(&tarball, &cache).unwrap();
    assert_eq!(second, first);
    assert!(marker.is_file());
    assert_eq!(entries(&cache.root().join("trees")), vec![want_sha]);
}

/// A tree in the cache is data: a tarball's setuid, setgid, sticky and
/// group- or world-writable modes are not kept, even when root unpacks it;
/// the rest of the mode (a script's execute bits) is.
#[test]
fn unpacking_drops_setuid_and_shared_write_modes() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    fake_tree(&tree, "2.36");
    let set = |p: &str, mode: u32| {
        fs::set_permissions(tree.join(p), fs::Permissions::from_mode(mode)).unwrap()
    };
    set("malloc/arena.c", 0o4777);
    set("malloc", 0o3777);
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Complete);
    builder.append_dir_all("glibc-2.36", &tree).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    let tarball = tmp.path().join("glibc-2.36.tar.gz");
    fs::write(&tarball, gz.finish().unwrap()).unwrap();

    let got = source::open(&tarball, &Cache::new(tmp.path().join("cache"))).unwrap();
    let mode = |p: &str| fs::metadata(got.root.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("malloc/arena.c"), 0o755);
    assert_eq!(mode("malloc"), 0o755);
}

#[test]
fn tar_xz_opens_and_is_reused() {
    open_tarball_and_reuse(Packing::Xz);
}

#[test]
fn tar_gz_opens_and_is_reused() {
    open_tarball_and_reuse(Packing::Gz);
}

#[test]
fn tar_bz2_opens_and_is_reused() {
    open_tarball_and_reuse(Packing::Bz2);
}

#[test]
fn any_single_top_level_directory_or_none_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    fake_tree(&tree, "2.39");
    let cache = Cache::new(tmp.path().join("cache"));
    for (name, top) in [("odd.tar.xz", "src-checkout"), ("flat.tar.xz", "")] {
        let path = tmp.path().join(name);
        fs::write(&path, tarball_bytes(&tree, top, Packing::Xz)).unwrap();
        let src = source::open(&path, &cache).unwrap();
        assert_eq!(src.version, "2.39", "{name}");
        assert!(src.root.join("malloc/malloc.c").is_file(), "{name}");
    }
}

#[test]
fn truncated_tarballs_fail_and_leave_nothing() {
    for packing in [Packing::Xz, Packing::Gz, Packing::Bz2] {
        let tmp = tempfile::tempdir().unwrap();
        let good = fake_tarball(tmp.path(), "2.36", packing);
        let bytes = fs::read(&good).unwrap();
        for cut in [bytes.len() / 2, bytes.len() - 4] {
            let bad = tmp.path().join(format!("cut.{}", packing.ext()));
            fs::write(&bad, &bytes[..cut]).unwrap();
            let cache = Cache::new(tmp.path().join("cache"));
            let err = source::open(&bad, &cache).unwrap_err();
            assert!(
                matches!(err, SourceError::CorruptTarball { .. }),
                "{} cut to {cut}: {err:?}",
                packing.ext()
            );
            let msg = err.to_string();
            assert!(msg.contains("cut."), "{msg}");
            assert!(msg.contains("delete it and download it again"), "{msg}");
            assert_eq!(
                entries(&cache.root().join("trees")),
                Vec::<String>::new(),
                "{} cut to {cut} left something behind",
                packing.ext()
            );
        }
    }
}

#[test]
fn tarball_without_a_glibc_tree_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk");
    fs::create_dir_all(junk.join("a")).unwrap();
    fs::create_dir_all(junk.join("b")).unwrap();
    fs::write(junk.join("a/x"), "x").unwrap();
    let path = tmp.path().join("junk.tar.gz");
    fs::write(&path, tarball_bytes(&junk, "", Packing::Gz)).unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let err = source::open(&path, &cache).unwrap_err();
    assert!(
        matches!(err, SourceError::NoTreeInTarball { .. }),
        "{err:?}"
    );
    assert_eq!(entries(&cache.root().join("trees")), Vec::<String>::new());
}

// ---------------------------------------------------------------- git

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn fake_repo(dir: &Path) -> String {
    fake_tree(dir, "2.36");
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "glibc 2.36"]);
    git(
        dir,
        &["tag", "-a", "glibc-2.36", "-m", "The GNU C Library 2.36"],
    );
    // Move on, so the tag is not simply HEAD.
    fake_tree(dir, "2.37");
    git(dir, &["commit", "-q", "-a", "-m", "bump"]);
    git(dir, &["rev-parse", "glibc-2.36^{commit}"])
}

#[test]
fn git_tag_is_cloned_and_commit_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let commit = fake_repo(&repo);
    let cache = Cache::new(tmp.path().join("cache"));

    let src = fetch::from_git(repo.to_str().unwrap(), "glibc-2.36", &cache).unwrap();
    assert_eq!(src.version, "2.36");
    assert_eq!(
        src.origin,
        Origin::Git {
            tag: "glibc-2.36".into(),
            commit: commit.clone()
        }
    );
    assert_eq!(src.root, cache.root().join("git").join(&commit));

    // Cached by commit: a second call clones nothing.
    let marker = src.root.join("MARKER");
    fs::write(&marker, "").unwrap();
    let again = fetch::from_git(repo.to_str().unwrap(), "glibc-2.36", &cache).unwrap();
    assert_eq!(again, src);
    assert!(marker.exists());
    assert_eq!(entries(&cache.root().join("git")), vec![commit]);
}

#[test]
fn git_missing_tag_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fake_repo(&repo);
    let cache = Cache::new(tmp.path().join("cache"));
    let err = fetch::from_git(repo.to_str().unwrap(), "glibc-9.99", &cache).unwrap_err();
    assert!(matches!(err, FetchError::GitTagNotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("glibc-9.99") && msg.contains("ls-remote"),
        "{msg}"
    );
    assert_eq!(entries(&cache.root().join("git")), Vec::<String>::new());
}

#[test]
fn git_missing_repository_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let missing = tmp.path().join("no-repo");
    let err = fetch::from_git(missing.to_str().unwrap(), "glibc-2.36", &cache).unwrap_err();
    assert!(matches!(err, FetchError::Command { .. }), "{err:?}");
    assert!(err.to_string().contains("no-repo"), "{err}");
}

// ---------------------------------------------------------------- GNU over HTTP

/// Serves `files` (path -> body) on loopback until `max_requests` were
/// answered or 60 s passed; counts requests.
fn serve(files: Vec<(String, Vec<u8>)>, max_requests: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < max_requests && Instant::now() < deadline {
            let (mut stream, _) = match listener.accept() {
                Ok(conn) => conn,
                Err(_) => {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            counter.fetch_add(1, Ordering::SeqCst);
            served += 1;
            let (status, body) = match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => ("200 OK", body.clone()),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/x-xz\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (base, count)
}

fn gnu_only(base: &str, sha256: Option<String>) -> FetchOptions {
    FetchOptions {
        debian: false,
        gnu: true,
        gnu_base_url: Some(base.to_string()),
        debian_version: None,
        sha256,
        mirror: None,
        pins: None,
    }
}

#[test]
fn gnu_tarball_over_http_with_sha256_override() {
    let tmp = tempfile::tempdir().unwrap();
    let tarball = fake_tarball(tmp.path(), "2.36", Packing::Xz);
    let bytes = fs::read(&tarball).unwrap();
    let sha = sha256(&bytes);
    let (base, requests) = serve(vec![("/glibc-2.36.tar.xz".into(), bytes)], 1);
    let cache = Cache::new(tmp.path().join("cache"));
    let opts = gnu_only(&base, Some(sha.clone()));

    let src = fetch::fetch("2.36", &cache, &opts).unwrap();
    assert_eq!(src.version, "2.36");
    assert_eq!(
        src.origin,
        Origin::Gnu {
            url: format!("{base}/glibc-2.36.tar.xz"),
            sha256: sha.clone()
        }
    );
    assert!(src.root.join("malloc/malloc.c").is_file());
    assert!(cache
        .root()
        .join("downloads/gnu/glibc-2.36.tar.xz")
        .is_file());

    // The second fetch comes from the cache's record, without a request.
    let again = fetch::fetch("2.36", &cache, &opts).unwrap();
    assert_eq!(again, src);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[test]
fn gnu_tarball_with_wrong_sha256_is_discarded() {
    let tmp = tempfile::tempdir().unwrap();
    let tarball = fake_tarball(tmp.path(), "2.36", Packing::Xz);
    let bytes = fs::read(&tarball).unwrap();
    let actual = sha256(&bytes);
    let (base, _) = serve(vec![("/glibc-2.36.tar.xz".into(), bytes)], 1);
    let cache = Cache::new(tmp.path().join("cache"));
    let wrong = "0".repeat(64);

    let err = fetch::fetch("2.36", &cache, &gnu_only(&base, Some(wrong.clone()))).unwrap_err();
    let FetchError::AllFailed { attempts, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        attempts
            .iter()
            .any(|(_, e)| matches!(e, FetchError::ChecksumMismatch { .. })),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&wrong) && msg.contains(&actual), "{msg}");
    assert!(msg.contains("debian: not tried"), "{msg}");
    assert_eq!(files_under(cache.root()), Vec::<PathBuf>::new(), "{msg}");
}

#[test]
fn gnu_without_pinned_hash_is_refused_without_downloading() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, requests) = serve(vec![], 1);
    let cache = Cache::new(tmp.path().join("cache"));
    // A well-formed version GNU has not released: no hash is known for it.
    let err = fetch::fetch("2.90", &cache, &gnu_only(&base, None)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no pinned sha256") && msg.contains("--sha256"),
        "{msg}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 0);
}

#[test]
fn gnu_http_404_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, _) = serve(vec![], 1);
    let cache = Cache::new(tmp.path().join("cache"));
    // 2.36 has a pinned hash, so the request is made.
    let err = fetch::fetch("2.36", &cache, &gnu_only(&base, None)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("404") && msg.contains("glibc-2.36.tar.xz"),
        "{msg}"
    );
    assert_eq!(files_under(cache.root()), Vec::<PathBuf>::new(), "{msg}");
}

#[test]
fn fetch_refuses_bad_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let opts = gnu_only("http://127.0.0.1:9", None);
    let err = fetch::fetch("2.36-9", &cache, &opts).unwrap_err();
    assert!(matches!(err, FetchError::BadVersion { .. }), "{err:?}");
    let err = fetch::fetch("2", &cache, &opts).unwrap_err();
    assert!(matches!(err, FetchError::BadVersion { .. }), "{err:?}");
}

#[test]
fn pinned_gnu_hashes() {
    assert_eq!(
        fetch::gnu_sha256("2.36"),
        Some("1c959fea240906226062cb4b1e7ebce71a9f0e3c0836c09e7e3423d434fcfe75")
    );
    // Every release from 2.17 to 2.44 the project has a sha256 for
    // (../shared/glibc-sources/gnu-release-sha256.txt), none beyond.
    assert_eq!(
        fetch::gnu_sha256("2.17"),
        Some("6914e337401e0e0ade23694e1b2c52a5f09e4eda3270c67e7c3ba93a89b5b23e")
    );
    assert_eq!(
        fetch::gnu_sha256("2.44"),
        Some("37f600f2bef3c5e8300147059568b2a2e40a7ad6ccc65ce942556d49429cc667")
    );
    assert_eq!(fetch::gnu_sha256("2.18"), None);
    assert_eq!(fetch::gnu_sha256("2.90"), None);
}

/// A fetch of an exact Debian version (`build --like` of an older Debian
/// build, a Debian-pinned manifest) is recorded apart from the version's
/// own record, so it never changes what a fetch of the version alone gets;
/// a record written before exact ones existed still answers its exact
/// version. The records are written here as `fetch` writes them: reading
/// them must not need the archive.
#[test]
fn an_exact_debian_version_is_found_by_its_own_record() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let record = |name: &str, debver: &str, tree: &str| {
        let root = cache.root().join("trees").join(tree).join("glibc-2.97");
        fake_tree(&root, "2.97");
        let rec = serde_json::json!({
            "version": "2.97",
            "origin": {
                "kind": "debian",
                "package": "glibc-source",
                "version": debver,
                "file_name": format!("pool/main/g/glibc/glibc-source_{debver}_all.deb"),
                "sha256": "0".repeat(64),
                "tarball": "glibc-2.97.tar.xz",
                "tarball_sha256": tree,
            },
            "tree": format!("trees/{tree}/glibc-2.97"),
        });
        let path = cache.root().join("fetch").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    };
    record("2.97.debian.json", "2.97-1", &"a".repeat(64));
    record("2.97.debian=2.97-0.1.json", "2.97-0.1", &"b".repeat(64));
    let debian = |exact: Option<&str>| FetchOptions {
        gnu: false,
        debian_version: exact.map(str::to_string),
        ..FetchOptions::default()
    };
    let version_of = |s: source::GlibcSource| match s.origin {
        Origin::Debian { version, .. } => version,
        other => panic!("{other}"),
    };
    let got = |exact| version_of(fetch::fetch("2.97", &cache, &debian(exact)).unwrap());
    assert_eq!(got(None), "2.97-1");
    assert_eq!(got(Some("2.97-0.1")), "2.97-0.1");
    assert_eq!(got(Some("2.97-1")), "2.97-1");
}
