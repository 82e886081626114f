//! `resolver run` and `resolver gdb`'s arguments, hermetic: each mistake
//! fails with a message that says what to do, before anything is built;
//! and a copy of the binary outside any checkout finds its own manifests
//! (the project embedded in it, extracted into the cache). The runs
//! themselves are the system tier's (`run.rs`).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{arg, project, resolver_in, stderr, VERSIONS};

fn fails_with(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "should fail; stderr: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr lacks {n:?}: {e}");
    }
}

/// `resolver <args>` on the checkout, with a cache of its own.
fn on_checkout(cache: &Path, args: &[&str]) -> Output {
    resolver_in(&project(), cache)
        .args(args)
        .output()
        .expect("run resolver")
}

#[test]
fn an_unknown_version_is_refused_with_the_pinned_ones() {
    let cache = tempfile::tempdir().unwrap();
    let pinned = VERSIONS.join(", ");
    for command in ["run", "gdb"] {
        let o = on_checkout(cache.path(), &[command, "--glibc", "2.99", "--", "true"]);
        fails_with(
            &o,
            &[
                "glibc 2.99 has no pinned manifest",
                &format!("pinned versions: {pinned}."),
                "--manifest DIR/glibc-2.99.yaml",
            ],
        );
    }
    // Nothing was built.
    assert!(!cache.path().join("run").exists());
}

#[test]
fn a_program_and_exactly_one_manifest_are_needed() {
    let cache = tempfile::tempdir().unwrap();
    for command in ["run", "gdb"] {
        let o = on_checkout(cache.path(), &[command, "--glibc", "2.36"]);
        fails_with(&o, &["required", "<PROGRAM [ARGS]>"]);
        let o = on_checkout(cache.path(), &[command, "--", "true"]);
        fails_with(&o, &["required", "--glibc <VERSION>|--manifest <FILE>"]);
        let o = on_checkout(
            cache.path(),
            &[
                command,
                "--glibc",
                "2.36",
                "--manifest",
                "m.yaml",
                "--",
                "true",
            ],
        );
        fails_with(&o, &["cannot be used with"]);
        let o = on_checkout(
            cache.path(),
            &[
                command,
                "--glibc",
                "2.36",
                "--trace-format",
                "jsonl",
                "--",
                "true",
            ],
        );
        fails_with(&o, &["--trace"]);
        // A mistyped option before the program is an error, not the program.
        let o = on_checkout(
            cache.path(),
            &[command, "--glibc", "2.36", "--debgu", "--", "true"],
        );
        fails_with(&o, &["unexpected argument '--debgu'"]);
    }
}

#[test]
fn a_missing_manifest_file_is_named() {
    let cache = tempfile::tempdir().unwrap();
    let o = on_checkout(
        cache.path(),
        &[
            "run",
            "--manifest",
            "/nonexistent/glibc-2.36.yaml",
            "--",
            "true",
        ],
    );
    fails_with(
        &o,
        &[
            "reading the manifest /nonexistent/glibc-2.36.yaml",
            "No such file",
        ],
    );
}

/// The binary copied out of the checkout, run from a directory outside any
/// checkout with no --project: the manifests it lists are the embedded
/// ones, extracted into its cache, identical to the checkout's.
#[test]
fn an_installed_resolver_carries_its_project() {
    let dir = common::outside_checkout();
    let bin = common::installed_copy(dir.path());
    let cache = dir.path().join("cache");
    let o = Command::new(&bin)
        .current_dir(dir.path())
        .args([
            "--cache",
            arg(&cache),
            "run",
            "--glibc",
            "2.99",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    let extracted = cache.join("project");
    fails_with(
        &o,
        &[
            &format!("pinned versions: {}.", VERSIONS.join(", ")),
            arg(&extracted),
        ],
    );
    let copies: Vec<_> = std::fs::read_dir(&extracted)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    for rel in [
        "shims/prelude.h",
        "stubs/options/entry.c",
        "gdb/malloc_standalone.py",
        "tools/replay.c",
        "nix/manifests/glibc-2.44.json",
    ] {
        assert_eq!(
            std::fs::read(copies[0].join(rel)).unwrap(),
            std::fs::read(project().join(rel)).unwrap(),
            "{rel}"
        );
    }
}
