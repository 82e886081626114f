//! `resolver build` of real glibc trees: hash checks before compiling,
//! incremental rebuilds, the debug variant. (Its errors for bad input, on
//! the small fixture: `cli.rs`.)

mod common;

use std::path::Path;

use build::{build, BuildOptions};
use common::*;
use manifest::Manifest;

fn pinned(version: &str) -> Manifest {
    Manifest::load(&pinned_path(version)).unwrap()
}

/// The bytes of a shared object's `.rodata` section.
fn rodata(so: &[u8]) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(so).unwrap();
    file.section_by_name(".rodata")
        .unwrap()
        .data()
        .unwrap()
        .to_vec()
}

#[test]
fn second_build_compiles_nothing_and_a_shim_edit_rebuilds_only_its_users() {
    let m = pinned("2.36");
    let src = tree("2.36");
    // A private copy of the project, so touching a shim disturbs nobody.
    let proj = tempfile::tempdir().unwrap();
    copy_dir(&project().join("shims"), &proj.path().join("shims"));
    copy_dir(&project().join("stubs"), &proj.path().join("stubs"));
    let out = tempfile::tempdir().unwrap();
    let opts = BuildOptions::new(out.path().to_owned(), false);

    let first = build(&m, &src.root, proj.path(), &opts).unwrap();
    assert_eq!(first.compiled, m.translation_units.len());
    assert!(first.linked && first.so.is_file());

    let again = build(&m, &src.root, proj.path(), &opts).unwrap();
    assert_eq!(
        (again.compiled, again.linked),
        (0, false),
        "a no-op rebuild did work"
    );

    // A shim that some units include and others do not.
    let obj = out.path().join("build-2.36/obj");
    let depfiles: Vec<String> = std::fs::read_dir(&obj)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "d"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let shims_dir = proj.path().canonicalize().unwrap().join("shims");
    let (shim, users) = std::fs::read_dir(&shims_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let n = depfiles
                .iter()
                .filter(|d| d.contains(p.to_str().unwrap()))
                .count();
            (p, n)
        })
        .find(|(_, n)| *n > 0 && *n < depfiles.len())
        .expect("a shim used by some units only");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let text = std::fs::read(&shim).unwrap();
    std::fs::write(&shim, text).unwrap();
    let after = build(&m, &src.root, proj.path(), &opts).unwrap();
    assert_eq!(
        after.compiled,
        users,
        "touching {} rebuilt the wrong units",
        shim.display()
    );
    assert!(after.linked);
}

#[test]
fn a_changed_glibc_file_fails_before_compiling_and_names_it() {
    let m = pinned("2.36");
    let src = tree("2.36");
    let copy = tempfile::tempdir().unwrap();
    for f in &m.verbatim {
        let to = copy.path().join(&f.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.root.join(&f.path), &to).unwrap();
    }
    let arena = copy.path().join("malloc/arena.c");
    let mut text = std::fs::read(&arena).unwrap();
    text.extend_from_slice(b"/* edited */\n");
    std::fs::write(&arena, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = build(
        &m,
        copy.path(),
        &project(),
        &BuildOptions::new(out.path().to_owned(), false),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("malloc/arena.c") && err.contains("pins"),
        "{err}"
    );
    // The pins are checked before anything is written: not even the
    // build directory exists.
    assert_eq!(
        files_under(out.path()),
        Vec::<std::path::PathBuf>::new(),
        "something was written"
    );
    assert!(!out.path().join("build-2.36").exists());
}

#[test]
fn cli_prints_the_so_last_and_debug_is_unoptimised() {
    let src = tree("2.31");
    let out = tempfile::tempdir().unwrap();
    let manifest = pinned_path("2.31");
    let args = |debug: bool| {
        let mut a = vec![
            "build",
            "--manifest",
            manifest.to_str().unwrap(),
            "--src",
            src.root.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ];
        if debug {
            a.push("--debug");
        }
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    for debug in [false, true] {
        let a = args(debug);
        let o = resolver(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        let so = Path::new(stdout.lines().last().unwrap()).to_owned();
        let name = if debug {
            "libmalloc-glibc-2.31-debug.so"
        } else {
            "libmalloc-glibc-2.31.so"
        };
        assert_eq!(so, out.path().join(name));
        let bytes = std::fs::read(&so).unwrap();
        let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
        // DW_AT_producer records the optimisation level.
        assert_eq!(has(" -O0"), debug, "{name}: -O0 in producer");
        // Assertion messages (__FILE__ in .rodata; 2.31's malloc asserts print
        // it) name malloc.c as glibc does, never the build path (debug info
        // keeps real paths for gdb).
        let rodata = rodata(&bytes);
        let in_rodata = |s: &str| rodata.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(
            in_rodata("malloc.c\0"),
            "{name}: no malloc.c in __FILE__ strings"
        );
        let build_dir = out.path().join("build-2.31").display().to_string();
        assert!(!in_rodata(&build_dir), "{name}: build path in .rodata");
    }
}

#[test]
fn a_change_in_the_pinned_files_rebuilds_everything() {
    // A file the build only probes (`__has_include`) is in no depfile, yet
    // whether it is staged changes what compiles: the set of staged files is
    // part of every object's key.
    let mut m = pinned("2.36");
    let src = tree("2.36");
    let out = tempfile::tempdir().unwrap();
    let opts = BuildOptions::new(out.path().to_owned(), false);
    build(&m, &src.root, &project(), &opts).unwrap();
    let extra = "malloc/tst-malloc.c";
    let bytes = std::fs::read(src.root.join(extra)).unwrap();
    m.verbatim.push(manifest::PinnedFile {
        path: extra.into(),
        sha256: manifest::digest::sha256(&bytes),
    });
    let again = build(&m, &src.root, &project(), &opts).unwrap();
    assert_eq!(again.compiled, m.translation_units.len());
    assert!(out.path().join("build-2.36/glibc").join(extra).is_file());
}
