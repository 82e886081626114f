//! The command line's contract: the manifest path is the last line of
//! stdout, and every bad input fails with a specific message, a non-zero
//! exit, and no file left behind.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_fails_with(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "should fail; stderr: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr lacks {n:?}: {e}");
    }
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// A minimal directory that looks like a glibc tree of `version`.
fn fake_tree(version: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("malloc")).unwrap();
    std::fs::write(d.path().join("malloc/malloc.c"), "").unwrap();
    std::fs::write(
        d.path().join("version.h"),
        format!("#define RELEASE \"stable\"\n#define VERSION \"{version}\"\n"),
    )
    .unwrap();
    d
}

#[test]
fn resolve_prints_the_manifest_path_last() {
    let src = tree("2.36");
    let out = tempfile::tempdir().unwrap();
    let o = resolver(&[
        "resolve",
        "--src",
        src.root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout.lines().last().unwrap();
    assert_eq!(Path::new(last), out.path().join("glibc-2.36.yaml"));
    assert!(out.path().join("glibc-2.36.json").is_file());
}

#[test]
fn missing_path() {
    let out = tempfile::tempdir().unwrap();
    let o = resolver(&[
        "resolve",
        "--src",
        "/nonexistent/glibc",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_fails_with(&o, &["/nonexistent/glibc"]);
    assert!(empty(out.path()));
}

#[test]
fn directory_that_is_not_glibc() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("README"), "hello").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = resolver(&[
        "resolve",
        "--src",
        d.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_fails_with(&o, &[d.path().to_str().unwrap(), "malloc/malloc.c"]);
    assert!(empty(out.path()));
}

/// Releases whose allocator this approach cannot build are refused with the
/// reason their own source gives, and nothing is written: up to 2.19 the
/// thread library is a configure add-on with sysdeps of its own.
#[test]
fn releases_that_cannot_be_done_are_refused_with_their_reason() {
    for v in ["2.17", "2.19"] {
        let tarball = project()
            .join("../shared/glibc-sources")
            .join(format!("glibc-{v}.tar.xz"));
        assert!(tarball.is_file(), "{} is missing", tarball.display());
        let out = tempfile::tempdir().unwrap();
        let o = resolver(&[
            "resolve",
            "--src",
            tarball.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ]);
        assert_fails_with(
            &o,
            &[&format!("glibc {v} cannot be resolved"), "nptl/sysdeps"],
        );
        assert!(empty(out.path()), "glibc {v} left files behind");
    }
}

#[test]
fn corrupt_and_truncated_tarballs() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let d = tempfile::tempdir().unwrap();
    // Garbage with the right extension.
    let garbage = d.path().join("glibc-2.36.tar.xz");
    std::fs::write(&garbage, b"this is not xz").unwrap();
    // A real tarball of a small tree, cut in half.
    let t = fake_tree("2.36");
    std::fs::write(t.path().join("malloc/big.c"), "x".repeat(200_000)).unwrap();
    let gz = d.path().join("glibc-2.36.tar.gz");
    let st = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&gz)
        .arg("-C")
        .arg(t.path())
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
    for tarball in [&garbage, &gz] {
        let o = resolver(&[
            "--cache",
            cache.path().to_str().unwrap(),
            "resolve",
            "--src",
            tarball.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ]);
        assert_fails_with(&o, &[tarball.file_name().unwrap().to_str().unwrap()]);
        assert!(empty(out.path()));
    }
    // No half-unpacked tree is left in the cache.
    let leftovers: Vec<_> = walk(cache.path())
        .into_iter()
        .filter(|p| p.ends_with("malloc/malloc.c"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "partial unpack left behind: {leftovers:?}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn libclang_missing_names_the_package() {
    let src = tree("2.36");
    let out = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resolver"))
        .args([
            "resolve",
            "--src",
            src.root.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ])
        .current_dir(project())
        .env("LIBCLANG_PATH", "/nonexistent/libclang")
        .output()
        .unwrap();
    assert_fails_with(&o, &["libclang", "libclang1-14"]);
    assert!(empty(out.path()));
}

#[test]
fn no_convergence_names_what_is_still_missing() {
    let src = tree("2.36");
    let out = tempfile::tempdir().unwrap();
    let o = resolver(&[
        "resolve",
        "--src",
        src.root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--max-iters",
        "1",
    ]);
    // The first round always maps internal aliases such as __mmap.
    assert_fails_with(&o, &["after 1 iterations", "-D__mmap=mmap"]);
    assert!(empty(out.path()));
}

#[test]
fn a_missing_shim_is_reported_with_its_include_chain() {
    let src = tree("2.36");
    // A copy of the project without the tunables shim: glibc's own
    // elf/dl-tunables.h takes its place and wants a header only glibc's build
    // generates.
    let proj = tempfile::tempdir().unwrap();
    copy_dir(&project().join("shims"), &proj.path().join("shims"));
    copy_dir(&project().join("stubs"), &proj.path().join("stubs"));
    std::fs::remove_file(proj.path().join("shims/elf/dl-tunables.h")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = resolver(&[
        "--project",
        proj.path().to_str().unwrap(),
        "resolve",
        "--src",
        src.root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_fails_with(
        &o,
        &[
            "header <dl-tunable-list.h> not found (included at elf/dl-tunables.h:",
            "add shims/dl-tunable-list.h",
            "why: malloc/malloc.c (verbatim)",
            "-> malloc/arena.c (verbatim)",
        ],
    );
    assert!(empty(out.path()));
}

#[test]
fn newer_schema_is_refused() {
    let m = resolved("2.36");
    let text = m
        .to_yaml()
        .replace(&format!("schema: {}\n", manifest::SCHEMA), "schema: 999\n");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    let src = tree("2.36");
    let o = resolver(&[
        "verify",
        "--manifest",
        f.path().to_str().unwrap(),
        "--src",
        src.root.to_str().unwrap(),
    ]);
    assert_fails_with(&o, &["schema 999", "newer"]);
}

#[test]
fn graph_writes_dot() {
    let src = tree("2.36");
    let o = resolver(&[
        "graph",
        "--src",
        src.root.to_str().unwrap(),
        "--format",
        "dot",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(dot.starts_with("digraph malloc {"));
    assert!(dot.contains("malloc/malloc.c (verbatim)"));
    assert!(dot.contains("malloc/arena.c (verbatim)"));
    assert!(dot.contains("(shim)"));
    assert!(dot.contains("includes@"));
    assert!(dot.contains("provided-by"));
}
