//! What interrupted and refused runs leave behind, and what the next run
//! does with it: a download killed midway, an unpack and a resolve whose
//! process died (their temporaries are named `...pid<pid>-*` and locked
//! while alive, so the next run removes dead ones at once, whatever their
//! age).
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
use manifest::digest::sha256;

/// The resolver with the fixture's project and the cache `cache`.
fn resolver(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resolver"));
    cmd.arg("--project")
        .arg(fixture::project())
        .arg("--cache")
        .arg(cache)
        .env_remove("MAX_ITERS")
        .env_remove("CC")
        .env_remove("MALLOC_STANDALONE_MIRROR");
    cmd
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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
