//! Runs that share an output directory or the cache, at the same time:
//! builds into one `--out` (the fixture's `.so`), resolves into one
//! `--out`, fetches and unpacks into one cache (a small tarball in a
//! mirror). Each either waits for the other (a lock, with a message while
//! waiting) or works on temporaries of its own; all succeed, and the result
//! is the one a lone run gives. Hermetic: nothing is fetched from outside.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::files_under;
use common::fixture;
use common::tarballs::{small_tree, write_tarball};
use common::{arg, stderr};

/// The resolver with the fixture's project and the cache `cache`.
fn resolver(project: &Path, cache: &Path) -> Command {
    let mut cmd = common::resolver_in(project, cache);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("wait for resolver")
}

/// The last line of stdout, which must be a path.
fn printed_path(o: &Output) -> PathBuf {
    assert!(o.status.success(), "failed: {}", stderr(o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    PathBuf::from(stdout.lines().last().expect("a path on stdout"))
}

fn build(manifest: &Path, out: &Path, cache: &Path) -> Command {
    let mut cmd = resolver(&fixture::project(), cache);
    cmd.args(["build", "--manifest", arg(manifest)]).args([
        "--src",
        arg(&fixture::tree()),
        "--out",
        arg(out),
    ]);
    cmd
}

/// The `.so`'s exported names.
fn exports(so: &Path) -> Vec<String> {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(so).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    let mut names: Vec<String> = elf
        .dynamic_symbols()
        .filter(|s| s.is_definition() && s.is_global())
        .map(|s| s.name().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Temporaries or half-written files anywhere under `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(".tmp") || name.ends_with(".tmp")
        })
        .collect()
}

/// Two builds into the same fresh `--out` at once, ten times: both succeed
/// every time and print the same `.so`, which is whole. (Before the build
/// directory's lock both linked to the same `build-<v>/<so>.tmp`, and one
/// failed with `<out>/libmalloc-glibc-<v>.so: No such file or directory`.)
#[test]
fn two_builds_into_one_out_both_succeed_ten_times_over() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = fixture::resolve_into(&dir.path().join("manifests"));
    let cache = tempfile::tempdir().unwrap();
    for round in 0..10 {
        let out = dir.path().join(format!("out-{round}"));
        let a = build(&manifest, &out, cache.path()).spawn().unwrap();
        let b = build(&manifest, &out, cache.path()).spawn().unwrap();
        let (a, b) = (finish(a), finish(b));
        let so = out.join("libmalloc-glibc-2.99.so");
        for o in [&a, &b] {
            assert_eq!(printed_path(o), so, "round {round}");
        }
        assert_eq!(exports(&so), ["free", "malloc", "malloc_usable_size"]);
        assert_eq!(leftovers(&out), Vec::<PathBuf>::new(), "round {round}");
    }
    assert!(
        files_under(cache.path()).is_empty(),
        "a build used the cache"
    );
}

/// A build whose build directory another holds waits for it, saying so
/// with the lock's path, then finds the work done or does it.
#[test]
fn a_build_waits_for_the_lock_of_its_build_directory_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = fixture::resolve_into(&dir.path().join("manifests"));
    let cache = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let build_dir = out.join("build-2.99");
    std::fs::create_dir_all(&build_dir).unwrap();
    let lock_path = build_dir.join(".lock");
    let held = source::temp::lock(&lock_path, || panic!("nobody else holds it")).unwrap();
    let started = Instant::now();
    let child = build(&manifest, &out, cache.path()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    let o = finish(child);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(printed_path(&o), out.join("libmalloc-glibc-2.99.so"));
    let message = format!(
        "waiting for another build of glibc 2.99 (lock {})",
        lock_path.canonicalize().unwrap().display()
    );
    let e = stderr(&o);
    assert_eq!(e.matches(&message).count(), 1, "{message:?} once in: {e}");
    assert_eq!(exports(&out.join("libmalloc-glibc-2.99.so")).len(), 3);
}

/// Two resolves into the same `--out` at once: both succeed, and the
/// manifest is the one a lone resolve writes.
#[test]
fn two_resolves_into_one_out_both_succeed() {
    let lone = tempfile::tempdir().unwrap();
    let expected = std::fs::read_to_string(fixture::resolve_into(lone.path())).unwrap();
    for round in 0..3 {
        let out = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let spawn = || {
            resolver(&fixture::project(), cache.path())
                .args(["resolve", "--src", arg(&fixture::tree())])
                .args(["--out", arg(out.path())])
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (finish(a), finish(b));
        let yaml = out.path().join("glibc-2.99.yaml");
        assert_eq!(printed_path(&a), yaml, "round {round}");
        assert_eq!(printed_path(&b), yaml, "round {round}");
        assert_eq!(std::fs::read_to_string(&yaml).unwrap(), expected);
        assert_eq!(leftovers(out.path()), Vec::<PathBuf>::new());
    }
}

/// Two fetches of the same version into the same fresh cache at once (the
/// tarball unpacked twice into temporaries of their own, one published):
/// both succeed with the same tree, and nothing else is left in the cache.
#[test]
fn two_fetches_into_one_cache_both_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    let tree = small_tree("2.97");
    write_tarball(&mirror, "2.97", &tree);
    for round in 0..5 {
        let cache = tmp.path().join(format!("cache-{round}"));
        let spawn = || {
            resolver(&fixture::project(), &cache)
                .args(["fetch", "2.97", "--no-debian", "--no-gnu"])
                .args(["--mirror", arg(&mirror)])
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (finish(a), finish(b));
        let root = printed_path(&a);
        assert_eq!(printed_path(&b), root, "round {round}");
        for (path, content) in &tree {
            assert_eq!(&std::fs::read_to_string(root.join(path)).unwrap(), content);
        }
        let trees: Vec<_> = std::fs::read_dir(cache.join("trees")).unwrap().collect();
        assert_eq!(trees.len(), 1, "round {round}: one tree, no temporaries");
        assert_eq!(leftovers(&cache), Vec::<PathBuf>::new());
    }
}
