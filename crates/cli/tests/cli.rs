//! The command line's contract, hermetic: the manifest's (or the shared
//! object's) path is the last line of stdout, and every bad input fails with
//! a specific message, a non-zero exit, and no file left behind. Glibc trees
//! here are the small fixture (`tests/fixtures/`, `common::fixture`) or
//! made up on the spot; nothing is fetched.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fixture::{self, Fixture};
use common::*;
use manifest::SCHEMA;

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

// ---------------------------------------------------------------- on the fixture

/// The resolver binary with the fixture's project and a cache of its own
/// (which must stay empty: nothing here is fetched or unpacked).
fn on_fixture(project: &Path, cache: &Path) -> Command {
    resolver_in(project, cache)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run resolver")
}

fn path_arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `resolver resolve` of the fixture into `out`: the manifest's path.
fn resolve_fixture(out: &Path) -> PathBuf {
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path()).args([
        "resolve",
        "--src",
        path_arg(&fixture::tree()),
        "--out",
        path_arg(out),
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(empty(cache.path()), "resolving a tree used the cache");
    let stdout = String::from_utf8_lossy(&o.stdout);
    PathBuf::from(stdout.lines().last().expect("a path"))
}

#[test]
fn resolve_prints_the_manifest_path_last() {
    let out = tempfile::tempdir().unwrap();
    let yaml = resolve_fixture(out.path());
    assert_eq!(yaml, out.path().join("glibc-2.99.yaml"));
    let json = out.path().join("glibc-2.99.json");
    assert!(json.is_file());
    // What the command wrote is what the library resolves.
    let m = fixture::resolve().manifest;
    assert_eq!(std::fs::read_to_string(&yaml).unwrap(), m.to_yaml());
    assert_eq!(std::fs::read_to_string(&json).unwrap(), m.to_json());
}

#[test]
fn libclang_missing_names_the_package() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path())
        .args(["resolve", "--src", path_arg(&fixture::tree())])
        .args(["--out", path_arg(out.path())])
        .env("LIBCLANG_PATH", "/nonexistent/libclang"));
    assert_fails_with(&o, &["libclang", "libclang1-14"]);
    assert!(empty(out.path()));
}

#[test]
fn no_convergence_names_what_is_still_missing() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path())
        .args(["resolve", "--src", path_arg(&fixture::tree())])
        .args(["--out", path_arg(out.path()), "--max-iters", "1"]));
    // The first round maps internal aliases such as __mmap.
    assert_fails_with(&o, &["after 1 iterations", "-D__mmap=mmap"]);
    assert!(empty(out.path()));
}

#[test]
fn a_missing_header_is_reported_with_its_include_chain_and_nothing_written() {
    let f = Fixture::copy();
    std::fs::remove_file(f.project().join("shims/tiny-config.h")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&f.project(), cache.path())
        .args(["resolve", "--src", path_arg(&f.tree())])
        .args(["--out", path_arg(out.path())]));
    assert_fails_with(
        &o,
        &[
            "header <tiny-config.h> not found (included at malloc/malloc.c:",
            "add shims/tiny-config.h",
            "why: malloc/malloc.c (verbatim)",
        ],
    );
    assert!(empty(out.path()));
}

#[test]
fn graph_writes_dot() {
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path()).args([
        "graph",
        "--src",
        path_arg(&fixture::tree()),
        "--format",
        "dot",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(dot.starts_with("digraph malloc {"));
    assert!(dot.contains("malloc/malloc.c (verbatim)"));
    assert!(dot.contains("malloc/arena.c (verbatim)"));
    assert!(dot.contains("shims/tiny-config.h (shim)"));
    assert!(dot.contains("stubs/fatal.c (stub)"));
    assert!(dot.contains("includes@"));
    assert!(dot.contains("provided-by"));
}

#[test]
fn verify_accepts_the_tree_and_names_a_changed_file() {
    let out = tempfile::tempdir().unwrap();
    let manifest = resolve_fixture(out.path());
    let f = Fixture::copy();
    let verify = |tree: &Path| {
        let cache = tempfile::tempdir().unwrap();
        run(on_fixture(&fixture::project(), cache.path()).args([
            "verify",
            "--manifest",
            path_arg(&manifest),
            "--src",
            path_arg(tree),
        ]))
    };
    let o = verify(&f.tree());
    assert!(o.status.success(), "{}", stderr(&o));
    f.edit("malloc/arena.c", "arena_count", "arena_count_changed");
    let o = verify(&f.tree());
    assert_fails_with(&o, &["malloc/arena.c"]);
    assert!(
        !stderr(&o).contains("malloc/malloc.c:"),
        "only the changed file is named: {}",
        stderr(&o)
    );
}

#[test]
fn newer_schema_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let manifest = resolve_fixture(out.path());
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace(&format!("schema: {SCHEMA}\n"), "schema: 999\n");
    std::fs::write(&manifest, text).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path()).args([
        "verify",
        "--manifest",
        path_arg(&manifest),
        "--src",
        path_arg(&fixture::tree()),
    ]));
    assert_fails_with(&o, &["schema 999", "newer"]);
}

#[test]
fn build_prints_the_so_last_and_exports_the_manifests_names() {
    use object::{Object, ObjectSymbol};
    let dir = tempfile::tempdir().unwrap();
    let manifest = resolve_fixture(&dir.path().join("manifests"));
    let out = dir.path().join("out");
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path()).args([
        "build",
        "--manifest",
        path_arg(&manifest),
        "--src",
        path_arg(&fixture::tree()),
        "--out",
        path_arg(&out),
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(empty(cache.path()), "building from a tree used the cache");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let so = PathBuf::from(stdout.lines().last().unwrap());
    assert_eq!(so, out.join("libmalloc-glibc-2.99.so"));
    let bytes = std::fs::read(&so).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    let mut exported: Vec<String> = elf
        .dynamic_symbols()
        .filter(|s| s.is_definition() && s.is_global())
        .map(|s| s.name().unwrap().to_string())
        .collect();
    exported.sort();
    assert_eq!(exported, ["free", "malloc", "malloc_usable_size"]);
}

#[test]
fn missing_compiler_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = resolve_fixture(&dir.path().join("manifests"));
    let out = dir.path().join("out");
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path())
        .args(["build", "--manifest", path_arg(&manifest)])
        .args(["--src", path_arg(&fixture::tree()), "--out", path_arg(&out)])
        .env("CC", "/nonexistent/cc"));
    assert_fails_with(&o, &["/nonexistent/cc", "apt-get install gcc"]);
    assert!(empty(&out), "wrote files");
}

#[test]
fn a_changed_glibc_file_fails_the_build_before_compiling_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = resolve_fixture(&dir.path().join("manifests"));
    let f = Fixture::copy();
    f.edit("malloc/arena.c", "static void", "/* edited */\nstatic void");
    let out = dir.path().join("out");
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path())
        .args(["build", "--manifest", path_arg(&manifest)])
        .args(["--src", path_arg(&f.tree()), "--out", path_arg(&out)]));
    assert_fails_with(&o, &["malloc/arena.c"]);
    assert!(!out.join("libmalloc-glibc-2.99.so").exists());
    let objects: Vec<PathBuf> = walk(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    assert!(objects.is_empty(), "something was compiled: {objects:?}");
}

#[test]
fn newer_schema_is_refused_by_build() {
    let text = std::fs::read_to_string(pinned_path("2.36"))
        .unwrap()
        .replace(
            &format!("schema: {SCHEMA}\n"),
            &format!("schema: {}\n", SCHEMA + 1),
        );
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = resolver(&[
        "build",
        "--manifest",
        f.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        e.contains(&format!("schema {}", SCHEMA + 1)) && e.contains("newer"),
        "{e}"
    );
}

// ---------------------------------------------------------------- messages (issue 15, item 7)

/// Each of `needles` once in `o`'s stderr (which failed).
fn says_once(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "should fail; stderr: {e}");
    for n in needles {
        assert_eq!(e.matches(n).count(), 1, "{n:?} not once in: {e}");
    }
}

#[test]
fn a_file_that_is_not_a_manifest_is_said_to_be_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let verify = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        run(on_fixture(&fixture::project(), cache.path()).args([
            "verify",
            "--manifest",
            path_arg(&path),
        ]))
    };
    for (name, bytes, found) in [
        ("text.yaml", &b"hello\n"[..], "found the text \"hello\""),
        ("list.yaml", b"- schema: 2\n", "found a list"),
        ("empty.yaml", b"", "found an empty file"),
        ("number.json", b"42", "found the number 42"),
    ] {
        let o = verify(name, bytes);
        says_once(
            &o,
            &[
                &format!("{name}: not a manifest: expected a YAML mapping with schema, version"),
                found,
            ],
        );
        assert!(!stderr(&o).contains("Probe"), "{}", stderr(&o));
    }
    // Binary input: said once, with what a manifest is.
    let o = verify("binary.yaml", b"\x00\xff\xfe\x7fELF");
    says_once(
        &o,
        &["binary.yaml: not a manifest: not UTF-8 text", "UTF-8"],
    );
    assert!(stderr(&o).contains("a manifest is YAML or JSON text"));
    assert!(empty(cache.path()));
}

#[test]
fn max_iters_zero_is_refused_when_parsing_the_arguments() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path())
        .args(["resolve", "--src", path_arg(&fixture::tree())])
        .args(["--out", path_arg(out.path()), "--max-iters", "0"]));
    says_once(&o, &["--max-iters must be at least 1"]);
    assert!(!stderr(&o).contains("iterations"), "{}", stderr(&o));
    assert!(empty(out.path()));
    // The same from the environment, for graph too.
    let o = run(on_fixture(&fixture::project(), cache.path())
        .args(["graph", "--src", path_arg(&fixture::tree())])
        .env("MAX_ITERS", "0"));
    says_once(&o, &["--max-iters must be at least 1"]);
}

#[test]
fn an_out_that_is_a_file_is_named_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, "mine\n").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let pinned = pinned_path("2.36");
    let sub = format!("{}/sub", file.display());
    let tree = fixture::tree();
    let fixture_src = ["--src", path_arg(&tree)];
    for (args, says) in [
        (
            vec![
                "build",
                "--manifest",
                path_arg(&pinned),
                "--out",
                path_arg(&file),
            ],
            format!("--out {} is a file; give a directory", file.display()),
        ),
        (
            vec![
                "resolve",
                fixture_src[0],
                fixture_src[1],
                "--out",
                path_arg(&file),
            ],
            format!("--out {} is a file; give a directory", file.display()),
        ),
        (
            vec!["build", "--manifest", path_arg(&pinned), "--out", &sub],
            format!(
                "--out {}/sub: {} is a file, so it cannot hold a directory; give a directory",
                file.display(),
                file.display()
            ),
        ),
        (
            vec![
                "graph",
                fixture_src[0],
                fixture_src[1],
                "--out",
                path_arg(dir.path()),
            ],
            format!("--out {} is a directory; give a file", dir.path().display()),
        ),
    ] {
        let o = run(on_fixture(&fixture::project(), cache.path()).args(&args));
        says_once(&o, &[&says]);
        assert!(!stderr(&o).contains("File exists"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(empty(cache.path()), "something was fetched");
}

#[test]
fn an_os_error_is_said_once_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = resolve_fixture(&dir.path().join("manifests"));
    // A file where the build makes its directory.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("build-2.99"), "").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = run(on_fixture(&fixture::project(), cache.path())
        .args(["build", "--manifest", path_arg(&manifest)])
        .args(["--src", path_arg(&fixture::tree()), "--out", path_arg(&out)]));
    says_once(&o, &["(os error", "move or remove it"]);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    // A manifest that is not there.
    let missing = dir.path().join("nope.yaml");
    let o = run(on_fixture(&fixture::project(), cache.path()).args([
        "verify",
        "--manifest",
        path_arg(&missing),
    ]));
    says_once(&o, &["(os error 2)", "check the path"]);
}

// ---------------------------------------------------------------- replay

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

#[test]
fn bad_traces_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let r = replay::compile("cc", &project(), dir.path()).expect("compile tools/replay.c");
    for (lines, says) in [
        (
            vec![r#"{"seq":0,"op":"mallocx","size":1,"ret":"0x1"}"#],
            ":1: unknown op \"mallocx\"",
        ),
        (
            vec![
                r#"{"seq":0,"op":"malloc","size":1,"ret":"0x1"}"#,
                "not json",
            ],
            ":2: not a JSON object",
        ),
        (
            vec![r#"{"seq":0,"op":"malloc","size":1,"ret":16}"#],
            ":1: \"ret\" must be",
        ),
        (
            vec![r#"{"seq":0,"op":"malloc","ret":"0x10"}"#],
            ":1: no \"size\"",
        ),
        (vec![r#"{"op":"start"}"#], "no calls in the trace"),
    ] {
        let lines: Vec<String> = lines.into_iter().map(String::from).collect();
        let trace = write(dir.path(), "bad.jsonl", &lines);
        let e = replay::replay(&r, &trace, None).unwrap_err().to_string();
        assert!(e.contains(says), "expected {says:?} in: {e}");
    }
    // The command refuses a missing trace before building anything.
    let o = common::resolver(&["replay", "/nonexistent/trace.jsonl"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("cannot read the trace /nonexistent/trace.jsonl"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------- view

/// `resolver view` reads and checks the whole trace before it builds
/// anything: a bad line is named by its number, and no HTML is written
/// (an old file at --out is left as it was).
#[test]
fn view_refuses_bad_traces_by_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"seq":0,"t_ns":1,"tid":1,"op":"malloc","size":24,"ret":"0x10","caller":"0x1"}"#;
    let out = dir.path().join("heap.html");
    for (text, says) in [
        (
            format!("{good}\n{}", &good[..good.len() - 20]),
            ":2: not a JSON object: EOF while parsing",
        ),
        (
            format!("{good}\nnot json\n{good}\n"),
            ":2: not a JSON object",
        ),
        (
            format!(
                "{good}\n{}\n",
                good.replace("malloc", "mallocx").replace(":0,", ":1,")
            ),
            ":2: unknown op \"mallocx\"",
        ),
        (
            format!("{}\n", good.replace(r#","size":24"#, "")),
            ":1: \"size\" is missing or not a number",
        ),
        (
            format!("{}\n", good.replace(r#""0x10""#, "16")),
            ":1: \"ret\" must be a \"0x...\" string",
        ),
        (format!("{good}\n{good}\n"), ":2: \"seq\" 0 repeats"),
        (
            "{\"op\":\"start\"}\n".to_string(),
            ": no calls in the trace",
        ),
    ] {
        let trace = dir.path().join("bad.jsonl");
        std::fs::write(&trace, &text).unwrap();
        for before in [None, Some("an older picture")] {
            match before {
                Some(b) => std::fs::write(&out, b).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&out);
                }
            }
            let o = common::resolver(&[
                "view",
                trace.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(
                !o.status.success() && stderr.contains(&format!("bad.jsonl{says}")),
                "expected {says:?} in: {stderr}"
            );
            if says.starts_with(":2: not a JSON object: EOF") {
                assert!(stderr.contains("truncated"), "{stderr}");
            }
            assert_eq!(
                std::fs::read_to_string(&out).ok().as_deref(),
                before,
                "{stderr}"
            );
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != "bad.jsonl" && n != "heap.html")
                .collect();
            assert!(left.is_empty(), "left behind: {left:?}");
        }
    }
    // A version that is not pinned is refused before anything is built.
    let trace = dir.path().join("good.jsonl");
    std::fs::write(&trace, format!("{good}\n")).unwrap();
    let o = common::resolver(&[
        "view",
        trace.to_str().unwrap(),
        "--version",
        "2.99",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && stderr.contains("--version 2.99: not a pinned version (pinned: 2.23,"),
        "{stderr}"
    );
    let o = common::resolver(&[
        "view",
        "/nonexistent/t.jsonl",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("cannot read the trace /nonexistent/t.jsonl"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------- --patch on the fixture

/// A diff of the fixture's malloc/arena.c, counting twice.
const ARENA_PATCH: &str = "--- a/malloc/arena.c\n+++ b/malloc/arena.c\n@@ -5,4 +5,5 @@\n arena_count (struct malloc_state *av)\n {\n   tiny_atomic_increment (&av->count);\n+  tiny_atomic_increment (&av->count);\n }\n";

fn build_fixture_with(patch: &Path, out: &Path) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let manifest = resolve_fixture(&dir.path().join("manifests"));
    let cache = tempfile::tempdir().unwrap();
    run(on_fixture(&fixture::project(), cache.path())
        .args(["build", "--manifest", path_arg(&manifest)])
        .args(["--src", path_arg(&fixture::tree()), "--out", path_arg(out)])
        .args(["--patch", path_arg(patch)]))
}

#[test]
fn a_patch_builds_a_named_variant_and_leaves_the_tree_alone() {
    let dir = tempfile::tempdir().unwrap();
    let patch = dir.path().join("count-twice.diff");
    std::fs::write(&patch, ARENA_PATCH).unwrap();
    let tree_file = fixture::tree().join("malloc/arena.c");
    let before = std::fs::read(&tree_file).unwrap();
    let out = dir.path().join("out");
    let o = build_fixture_with(&patch, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let so = out.join("libmalloc-glibc-2.99+count-twice.so");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().last(),
        Some(so.to_str().unwrap())
    );
    assert_eq!(std::fs::read(&tree_file).unwrap(), before);
    let staged =
        std::fs::read_to_string(out.join("build-2.99+count-twice/glibc/malloc/arena.c")).unwrap();
    assert_eq!(staged.matches("tiny_atomic_increment").count(), 2);
    let bytes = std::fs::read(&so).unwrap();
    let record = format!(
        "malloc-standalone patches: count-twice sha256:{}",
        manifest::digest::sha256(ARENA_PATCH.as_bytes())
    );
    assert!(
        bytes.windows(record.len()).any(|w| w == record.as_bytes()),
        "no record in the .so"
    );
}

#[test]
fn a_bad_patch_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, String, &[&str]); 3] = [
        (
            "cut.diff",
            ARENA_PATCH.replace(" }\n", ""),
            &["is not a unified diff: line 7: the diff ends inside the hunk at line 3"],
        ),
        (
            "elsewhere.diff",
            ARENA_PATCH.replace("malloc/arena.c", "malloc/other.c"),
            &["(line 2) touches malloc/other.c, which glibc 2.99's build does not use"],
        ),
        (
            "stale.diff",
            ARENA_PATCH.replace("&av->count);\n+", "&av->total);\n+"),
            &[
                "does not apply to glibc 2.99",
                "malloc/arena.c: hunk #1 (patch line 3: @@ -5,4 +5,5 @@) does not match",
            ],
        ),
    ];
    for (name, text, needles) in cases {
        let patch = dir.path().join(name);
        std::fs::write(&patch, text).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        let o = build_fixture_with(&patch, &out);
        assert_fails_with(&o, needles);
        assert!(
            !out.exists() || empty(&out),
            "{name}: wrote {:?}",
            walk(&out)
        );
    }
}
