//! What interrupted and refused runs leave behind, and what the next run
//! does with it: a download killed midway, an unpack and a resolve whose
//! process died (their temporaries are named `...pid<pid>-*` and locked
//! while alive, so the next run removes dead ones at once, whatever their
//! age), and a tarball refused for a symbolic link leading out of its tree.
//! Hermetic: a loopback HTTP server, small tarballs made here, the fixture.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::files_under;
use common::fixture;
use common::tarballs::{small_tree, write_tarball};
use common::{arg, stderr};
use manifest::digest::sha256;

/// The resolver with the fixture's project and the cache `cache`.
fn resolver(cache: &Path) -> Command {
    common::resolver_in(&fixture::project(), cache)
}

fn succeeded(o: &Output) -> PathBuf {
    assert!(o.status.success(), "failed: {}", stderr(o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    PathBuf::from(stdout.lines().last().expect("a path on stdout"))
}

/// The pid of a process that has exited and been reaped: what a killed
/// run's temporaries carry.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Entries of `dir` whose name starts with `prefix`.
fn named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `cond` every few milliseconds for up to 60 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A loopback HTTP server: the first request gets the headers and half of
/// `body`, then the connection stalls until the test is done with it;
/// every later request gets all of `body`.
fn stalling_server(body: Vec<u8>) -> (String, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (done, stalled) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut first = true;
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            if first {
                first = false;
                let _ = stream.write_all(&body[..body.len() / 2]);
                let _ = stream.flush();
                held.push(stream);
                let _ = stalled.recv_timeout(Duration::from_secs(120));
            } else {
                let _ = stream.write_all(&body);
            }
        }
    });
    (url, done)
}

/// A big tarball of a small glibc-looking tree: an incompressible file
/// makes the download long enough to be caught midway.
fn big_tarball(dir: &Path, version: &str) -> PathBuf {
    let mut tree = small_tree(version);
    let mut noise = String::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while noise.len() < 2 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push_str(&format!("{x:016x}\n"));
    }
    tree.push(("noise.txt", noise));
    write_tarball(dir, version, &tree)
}

/// `fetch` killed (SIGKILL) while downloading GNU's tarball leaves its
/// partial download; the next fetch removes it at once and leaves nothing
/// but the tarball and its tree.
#[test]
fn a_download_killed_midway_is_removed_by_the_next_fetch() {
    let tmp = tempfile::tempdir().unwrap();
    let tarball = big_tarball(&tmp.path().join("release"), "2.97");
    let bytes = std::fs::read(&tarball).unwrap();
    let sha = sha256(&bytes);
    let (url, done) = stalling_server(bytes);
    let cache = tmp.path().join("cache");
    let fetch = || {
        let mut cmd = resolver(&cache);
        cmd.args(["fetch", "2.97", "--no-debian", "--gnu-url", &url])
            .args(["--sha256", &sha]);
        cmd
    };
    let mut child = fetch()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let downloads = cache.join("downloads/gnu");
    wait_for("a partial download", || {
        named(&downloads, ".tmp-")
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = named(&downloads, ".tmp-");
    assert_eq!(partial.len(), 1, "{partial:?}");
    done.send(()).unwrap();

    let root = succeeded(&fetch().output().unwrap());
    assert!(root.join("malloc/malloc.c").is_file());
    assert!(!partial[0].exists(), "the partial download is still there");
    let mut files: Vec<PathBuf> = files_under(&cache)
        .into_iter()
        .filter(|p| !p.starts_with("trees"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            PathBuf::from("downloads/gnu/glibc-2.97.tar.xz"),
            PathBuf::from("fetch/2.97.gnu.json")
        ]
    );
}

/// An unpack whose process died (a young `.tmp-pid<dead>-*` directory in
/// `trees/`, as a killed fetch leaves it) is removed by the next fetch at
/// once: on a miss (the fetch unpacks) and on a hit (it unpacks nothing).
#[test]
fn a_dead_unpack_is_removed_by_the_next_fetch_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    write_tarball(&mirror, "2.97", &small_tree("2.97"));
    let cache = tmp.path().join("cache");
    let plant = || {
        let dead = cache
            .join("trees")
            .join(format!(".tmp-pid{}-abcdef", dead_pid()));
        std::fs::create_dir_all(dead.join("glibc-2.97/malloc")).unwrap();
        std::fs::write(dead.join("glibc-2.97/malloc/malloc.c"), "partial").unwrap();
        dead
    };
    let fetch = || {
        resolver(&cache)
            .args(["fetch", "2.97", "--no-debian", "--no-gnu"])
            .args(["--mirror", arg(&mirror)])
            .output()
            .unwrap()
    };
    for (run, hit) in [("a miss", false), ("a hit", true)] {
        let dead = plant();
        let o = fetch();
        succeeded(&o);
        assert_eq!(stderr(&o).contains("from the cache"), hit, "{}", stderr(&o));
        assert!(!dead.exists(), "{run}: {} is still there", dead.display());
        assert_eq!(named(&cache.join("trees"), ".tmp").len(), 0, "{run}");
    }
}

/// The generated headers of `resolve` live in `$TMPDIR`: a resolve killed
/// there leaves them, and the next resolve removes them; a resolve that
/// finishes leaves nothing.
#[test]
fn a_killed_resolves_temporary_directory_is_removed_by_the_next_resolve() {
    let tmpdir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let resolve = || {
        let mut cmd = resolver(cache.path());
        cmd.args(["resolve", "--src", arg(&fixture::tree())])
            .args(["--out", arg(out.path())])
            .env("TMPDIR", tmpdir.path());
        cmd
    };
    // Kill a resolve once its temporary directory exists (retrying in the
    // unlikely case it finished first).
    let mut left = Vec::new();
    for _ in 0..5 {
        let mut child = resolve()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while named(tmpdir.path(), "").is_empty() && start.elapsed() < Duration::from_secs(60) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        child.wait().unwrap();
        left = named(tmpdir.path(), "");
        if !left.is_empty() {
            break;
        }
    }
    assert!(
        !left.is_empty(),
        "no resolve was caught with its temporaries"
    );
    // And one planted as an older run would have left it, with a dead pid.
    let planted = tmpdir
        .path()
        .join(format!("malloc-standalone-pid{}-abcdef", dead_pid()));
    std::fs::create_dir(&planted).unwrap();
    std::fs::write(planted.join("malloc-standalone-tunables.h"), "").unwrap();

    succeeded(&resolve().output().unwrap());
    assert_eq!(
        named(tmpdir.path(), ""),
        Vec::<PathBuf>::new(),
        "left in $TMPDIR (the killed run's were {left:?})"
    );
}

/// What a tarball entry is.
#[derive(Clone, Copy)]
enum Entry<'a> {
    /// A file with this content.
    File(&'a str),
    /// A symbolic link to this target.
    Link(&'a str),
}
use Entry::{File, Link};

/// A tarball of `entries` (path, what), under `glibc-2.97/`.
fn tarball_with_links(dir: &Path, entries: &[(&str, Entry)]) -> PathBuf {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, what) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        let path = format!("glibc-2.97/{path}");
        match what {
            File(content) => {
                header.set_size(content.len() as u64);
                header.set_cksum();
                builder
                    .append_data(&mut header, &path, content.as_bytes())
                    .unwrap();
            }
            Link(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, &path, target).unwrap();
            }
        }
    }
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&builder.into_inner().unwrap()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("glibc-2.97.tar.xz");
    std::fs::write(&path, xz.finish().unwrap()).unwrap();
    path
}

const VERSION_H: &str = "#define RELEASE \"stable\"\n#define VERSION \"2.97\"\n";

/// A tarball whose `malloc/malloc.c` is a symbolic link leading out of the
/// tree (to `/etc/shadow`; climbing out; or climbing out through another
/// link while looking, written out, as if it stayed inside) is refused,
/// naming the link and its target, and nothing of it stays in the cache.
#[test]
fn a_tarball_with_a_symlink_leading_outside_is_refused_and_leaves_nothing() {
    let deep = "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16";
    let up16 = "../../../../../../../../../../../../../../../..";
    // `<deep>/q` leads back to the top of the tree, so from it `..` climbs
    // out of the tree, while, read as written, it stays inside.
    let through = format!("../{deep}/q/{up16}/etc/passwd");
    type Case<'a> = (&'a str, Vec<(&'a str, Entry<'a>)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "absolute",
            vec![("malloc/malloc.c", Link("/etc/shadow"))],
            "/etc/shadow",
        ),
        (
            "climbing",
            vec![(
                "malloc/malloc.c",
                Link("../../../../../../../../../etc/passwd"),
            )],
            "../../../../../../../../../etc/passwd",
        ),
        (
            "through another link",
            vec![
                (
                    "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/q",
                    Link(up16),
                ),
                ("malloc/malloc.c", Link(&through)),
            ],
            &through,
        ),
    ];
    for (what, links, target) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let mut entries = vec![("version.h", File(VERSION_H))];
        entries.extend(links);
        let tarball = tarball_with_links(tmp.path(), &entries);
        let cache = tmp.path().join("cache");
        let out = tmp.path().join("out");
        let o = resolver(&cache)
            .args(["resolve", "--src", arg(&tarball), "--out", arg(&out)])
            .output()
            .unwrap();
        let e = stderr(&o);
        assert!(!o.status.success(), "{what}: accepted");
        for needle in [
            arg(&tarball),
            "glibc-2.97/malloc/malloc.c is a symbolic link to",
            target,
            "leads outside the tree",
        ] {
            assert!(e.contains(needle), "{what}: {needle:?} not in: {e}");
        }
        assert_eq!(e.matches("symbolic link").count(), 1, "{what}: once: {e}");
        assert_eq!(files_under(&cache), Vec::<PathBuf>::new(), "{what}");
        assert_eq!(named(&cache.join("trees"), "").len(), 0, "{what}");
        assert!(!out.exists(), "{what}");
    }
}

/// Links that stay inside are kept, dangling ones too, as glibc's own
/// tarballs have them (`benchtests/strcoll-inputs/filelist#C`).
#[test]
fn a_tarball_with_symlinks_inside_its_tree_is_unpacked() {
    let tmp = tempfile::tempdir().unwrap();
    let tarball = tarball_with_links(
        tmp.path(),
        &[
            ("version.h", File(VERSION_H)),
            ("malloc/malloc.c", File("/* Malloc implementation */\n")),
            ("malloc/arena.c", Link("../malloc/./malloc.c")),
            (
                "benchtests/filelist#C",
                Link("glibc-2.97/filelist#en_US.UTF-8"),
            ),
        ],
    );
    let cache = Path::new(tmp.path()).join("cache");
    let src = source::open(&tarball, &source::Cache::new(&cache)).unwrap();
    assert_eq!(src.version, "2.97");
    assert_eq!(
        std::fs::read_to_string(src.root.join("malloc/arena.c")).unwrap(),
        "/* Malloc implementation */\n"
    );
    assert!(std::fs::symlink_metadata(src.root.join("benchtests/filelist#C")).is_ok());
}

/// The same for a git tag: a clone whose `malloc/malloc.c` is a link to
/// `/etc/shadow` is refused and leaves nothing in the cache.
#[test]
fn a_git_tag_with_a_symlink_leading_outside_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("malloc")).unwrap();
    std::fs::write(repo.join("version.h"), VERSION_H).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", repo.join("malloc/malloc.c")).unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.invalid",
            ])
            .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "glibc 2.97"]);
    git(&["tag", "glibc-2.97"]);
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out");
    let o = resolver(&cache)
        .args(["resolve", "--git", arg(&repo), "--tag", "glibc-2.97"])
        .args(["--out", arg(&out)])
        .output()
        .unwrap();
    let e = stderr(&o);
    assert!(!o.status.success(), "accepted");
    assert!(
        e.contains(
            "malloc/malloc.c is a symbolic link to /etc/shadow, which leads outside the tree"
        ),
        "{e}"
    );
    assert_eq!(files_under(&cache), Vec::<PathBuf>::new());
    assert!(!out.exists());
}
