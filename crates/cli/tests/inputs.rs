//! What `build` and `resolve` refuse from their inputs and environment,
//! on the fixture: a pinned file that changed (verbatim, shim, stub) fails
//! the build before anything is written; a `CC` that writes nothing and a
//! `LIBCLANG_PATH` whose `libclang.so` is another library are named, with
//! what to do, once, without a panic.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::files_under;
use common::fixture::{self, Fixture};
use common::{arg, stderr};

/// The resolver with `project` and a cache of its own.
fn resolver(project: &Path, cache: &Path) -> Command {
    common::resolver_in(project, cache)
}

/// Fails (not a panic's exit code 101) with every needle in stderr.
fn assert_fails_with(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "should fail with 1; stderr: {e}");
    assert!(!e.contains("panicked"), "a panic: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr lacks {n:?}: {e}");
    }
}

/// `resolver build` of `manifest` from `tree` and `project` into `out`
/// (with a cache beside it, which stays empty).
fn build(manifest: &Path, tree: &Path, project: &Path, out: &Path) -> Command {
    let mut cmd = resolver(project, &out.with_extension("cache"));
    cmd.args(["build", "--manifest", arg(manifest)])
        .args(["--src", arg(tree), "--out", arg(out)]);
    cmd
}

fn append(path: &Path, text: &str) {
    let mut content = std::fs::read_to_string(path).unwrap();
    content.push_str(text);
    std::fs::write(path, content).unwrap();
}

/// A changed shim, stub or verbatim file fails the build before anything
/// is written (a fresh `--out` is not even created), each named once with
/// its sha256 and its pin, and what to do. (Before, a changed shim or stub
/// built, and a changed verbatim file left the files staged before it.)
#[test]
fn a_changed_pinned_file_fails_the_build_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = fixture::resolve_into(&dir.path().join("manifests"));
    let cases: [(&str, &[&str], &str); 4] = [
        ("a shim", &["project/shims/tiny-config.h"], "re-resolve"),
        ("a stub", &["project/stubs/fatal.c"], "re-resolve"),
        // The last verbatim file, so that, one by one, all the others would
        // have been staged first.
        (
            "a verbatim file",
            &["glibc-tiny/sysdeps/x86_64/tiny-machine.h"],
            "pinned source",
        ),
        (
            "all three",
            &[
                "glibc-tiny/malloc/arena.c",
                "project/shims/prelude.h",
                "project/stubs/usable.c",
            ],
            "re-resolve",
        ),
    ];
    for (what, changed, advice) in cases {
        let f = Fixture::copy();
        for rel in changed {
            append(&f.dir.path().join(rel), "\n/* changed */\n");
        }
        let out = dir.path().join("out");
        let o = build(&manifest, &f.tree(), &f.project(), &out)
            .output()
            .unwrap();
        let mut needles = vec![advice, "nothing was built"];
        let names: Vec<&str> = changed
            .iter()
            .map(|rel| rel.split_once('/').unwrap().1)
            .collect();
        needles.extend(&names);
        assert_fails_with(&o, &needles);
        let e = stderr(&o);
        for name in &names {
            assert_eq!(e.matches(&format!("{name} (in ")).count(), 1, "{what}: {e}");
        }
        assert!(
            e.contains(&format!("{} pinned file(s) differ", changed.len())),
            "{what}: {e}"
        );
        assert!(!out.exists(), "{what}: wrote {:?}", files_under(&out));
    }
}

/// The same build with the files as pinned succeeds (the check is not
/// refusing everything).
#[test]
fn unchanged_pinned_files_build() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = fixture::resolve_into(&dir.path().join("manifests"));
    let f = Fixture::copy();
    let out = dir.path().join("out");
    let o = build(&manifest, &f.tree(), &f.project(), &out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("libmalloc-glibc-2.99.so").is_file());
}

/// A `CC` that exits 0 and writes nothing is named, with the object it did
/// not write and what `CC` must be. (Before: `<out>/....so: No such file
/// or directory`.)
#[test]
fn a_compiler_that_writes_nothing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = fixture::resolve_into(&dir.path().join("manifests"));
    let out = dir.path().join("out");
    let o = build(&manifest, &fixture::tree(), &fixture::project(), &out)
        .env("CC", "true")
        .output()
        .unwrap();
    assert_fails_with(
        &o,
        &[
            "the compiler `true` exited 0 but wrote no object",
            ".o:",
            "CC must name a C compiler",
        ],
    );
    assert!(!stderr(&o).contains("No such file"), "{}", stderr(&o));
    assert!(!out.join("libmalloc-glibc-2.99.so").exists());
}

/// `LIBCLANG_PATH` at a directory whose `libclang.so` is another library
/// (zlib): the file is named, with what to do, and nothing is written.
/// (Before: clang-sys panicked with a backtrace at the first call.)
#[test]
fn a_libclang_path_whose_libclang_is_another_library_is_named() {
    let zlib = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.is_file())
    .expect("zlib, which every Debian has");
    let fake = tempfile::tempdir().unwrap();
    let fake_so = fake.path().join("libclang.so");
    std::fs::copy(zlib, &fake_so).unwrap();
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = resolver(&fixture::project(), cache.path())
        .args(["resolve", "--src", arg(&fixture::tree())])
        .args(["--out", arg(out.path())])
        .env("LIBCLANG_PATH", fake.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let e = stderr(&o);
    assert_fails_with(
        &o,
        &[
            &format!("{} is not libclang", fake_so.display()),
            &format!("LIBCLANG_PATH={}", fake.path().display()),
            "/usr/lib/llvm-14/lib",
        ],
    );
    assert_eq!(e.matches("is not libclang").count(), 1, "{e}");
    assert!(!e.contains("backtrace"), "{e}");
    assert!(files_under(out.path()).is_empty());
}
