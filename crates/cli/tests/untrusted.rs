//! A manifest from a stranger is safe to build (issue 15, items 1 and 5):
//! `build`, `verify` and `replay` refuse, before anything is fetched, read
//! or written, a manifest that names a path outside its root, a flag the
//! resolver does not write, or text too large or too deeply nested to
//! parse at once; the message names the field, its index and its value.
//!
//! Hermetic: the hostile manifests are the committed glibc 2.36 manifest
//! or the fixture's, edited; every run gets an empty cache of its own,
//! which must stay empty (nothing was fetched). The attacks that need a
//! build to do harm run on the fixture's tree, which a build would
//! otherwise compile.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::fixture;
use common::stderr;
use manifest::digest::sha256;
use manifest::{Manifest, PinnedFile};

/// Fails, with each of `needles` in its message.
fn assert_refused(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "accepted; stderr: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr lacks {n:?}: {e}");
    }
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
}

/// The resolver in the repository's project with a fresh `cache`; no mirror.
fn resolver(project: &Path, cache: &Path) -> Command {
    common::resolver_in(project, cache)
}

/// `build` (with `--out`, and the source the manifest pins unless `extra`
/// gives one) and `verify` of `manifest`; both must be refused with
/// `needles` named, having fetched nothing and written nothing.
fn refused_by_build_and_verify(manifest: &Path, extra: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (cache, out) = (dir.path().join("cache"), dir.path().join("out"));
    let project = common::project();
    let o = resolver(&project, &cache)
        .args(["build", "--manifest"])
        .arg(manifest)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    assert_refused(&o, needles);
    assert!(is_empty(&out), "build wrote into --out");
    let o = resolver(&project, &cache)
        .args(["verify", "--manifest"])
        .arg(manifest)
        .args(extra)
        .output()
        .unwrap();
    assert_refused(&o, needles);
    assert!(is_empty(&cache), "something was fetched");
    // Nothing but the cache and --out was ever in the directory.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "cache" && n != "out")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The index of the committed glibc 2.36 manifest's translation unit
/// `path` (the units change as stubs join the build).
fn unit_index(path: &str) -> usize {
    common::pinned("2.36")
        .translation_units
        .iter()
        .position(|u| u.path() == path)
        .unwrap_or_else(|| panic!("glibc 2.36's manifest has no unit {path}"))
}

/// The committed glibc 2.36 manifest with `edit` applied (which must
/// change it), in a directory of its own.
fn edited_236(ext: &str, edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(common::pinned_path("2.36").with_extension(ext)).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("glibc-2.36.{ext}"));
    std::fs::write(&path, edited).unwrap();
    (dir, path)
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "lacks {from:?}");
    text.replacen(from, to, 1)
}

#[test]
fn paths_outside_their_root_are_refused_with_the_field_named() {
    let first_verbatim = "verbatim:\n- path: assert/assert.h\n";
    let lifecycle = format!(
        "translation_units[{}].path = \"/etc/shadow\"",
        unit_index("stubs/lifecycle.c")
    );
    let reallocarray = format!(
        "translation_units[{}].path = \"../../etc/x.c\"",
        unit_index("malloc/reallocarray.c")
    );
    let cases: &[(&str, &str, &str, &str)] = &[
        // (replace, with, field, rule)
        (
            first_verbatim,
            "verbatim:\n- path: ../../../outside/victim\n",
            "verbatim[0].path = \"../../../outside/victim\"",
            "`..`",
        ),
        (
            first_verbatim,
            "verbatim:\n- path: /etc/passwd\n",
            "verbatim[0].path = \"/etc/passwd\"",
            "absolute",
        ),
        (
            first_verbatim,
            "verbatim:\n- path: malloc/./malloc.c\n",
            "verbatim[0].path",
            "normalised",
        ),
        (
            first_verbatim,
            "verbatim:\n- path: malloc\\..\\..\\x\n",
            "verbatim[0].path",
            "backslash",
        ),
        (
            "- origin: stub\n  path: stubs/lifecycle.c\n",
            "- origin: stub\n  path: /etc/shadow\n",
            &lifecycle,
            "absolute",
        ),
        (
            "- origin: glibc\n  path: malloc/reallocarray.c\n",
            "- origin: glibc\n  path: ../../etc/x.c\n",
            &reallocarray,
            "`..`",
        ),
        (
            "- kind: glibc\n  path: include\n",
            "- kind: glibc\n  path: /etc\n",
            "include_order[4].path = \"/etc\"",
            "absolute",
        ),
        (
            "- kind: force-include\n  path: shims/prelude.h\n",
            "- kind: force-include\n  path: /etc/shadow\n",
            "include_order[0].path = \"/etc/shadow\"",
            "absolute",
        ),
        (
            "- kind: shims\n  path: shims\n",
            "- kind: shims\n  path: stubs/../..\n",
            "include_order[1].path",
            "`..`",
        ),
        (
            "stubs:\n- path: stubs/",
            "stubs:\n- path: shims/../stubs/",
            "stubs[0].path",
            "`..`",
        ),
        (
            "stubs:\n- path: stubs/",
            "stubs:\n- path: src/",
            "stubs[0].path = \"src/",
            "not under stubs/",
        ),
        (
            "sysdeps:\n- sysdeps/unix/sysv/linux/x86_64/64\n",
            "sysdeps:\n- /usr/include\n",
            "sysdeps[0] = \"/usr/include\"",
            "absolute",
        ),
        (
            "    - origin: stub\n      path: stubs/options/trace.c\n",
            "    - origin: stub\n      path: /tmp/trace.c\n",
            "options.trace.translation_units[1].path = \"/tmp/trace.c\"",
            "absolute",
        ),
        (
            "version: '2.36'\n",
            "version: 2.36/../../../x\n",
            "version = \"2.36/../../../x\"",
            "the character '/'",
        ),
    ];
    for (from, to, field, rule) in cases {
        let (_dir, path) = edited_236("yaml", |t| replace_once(t, from, to));
        refused_by_build_and_verify(&path, &[], &[field, rule, "regenerate it"]);
    }
}

#[test]
fn flags_the_resolver_does_not_write_are_refused_with_the_flag_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "  cflags:\n  - -fPIC\n",
            "  cflags:\n  - -fPIC\n  - -wrapper\n  - /bin/sh,-c,touch /tmp/x\n",
            "flags.cflags[1] = \"-wrapper\": not a flag the resolver writes",
        ),
        (
            "  ldflags:\n  - -shared\n",
            "  ldflags:\n  - -shared\n  - -Wl,-rpath,/tmp\n",
            "flags.ldflags[1] = \"-Wl,-rpath,/tmp\"",
        ),
        (
            "  debug_cflags:\n  - -O0\n",
            "  debug_cflags:\n  - -O0\n  - -fplugin=/tmp/p.so\n",
            "flags.debug_cflags[1] = \"-fplugin=/tmp/p.so\"",
        ),
        (
            "  HAVE_TUNABLES: '1'\n",
            "  HAVE_TUNABLES: '1'\n  'X -include /etc/shadow': '1'\n",
            "defines = \"X -include /etc/shadow\": not a C identifier",
        ),
        (
            "  HAVE_TUNABLES: '1'\n",
            "  HAVE_TUNABLES: 1 $(touch /tmp/x)\n",
            "defines.HAVE_TUNABLES = \"1 $(touch /tmp/x)\"",
        ),
        (
            "      MALLOC_STANDALONE_TRACE: '1'\n",
            "      MALLOC_STANDALONE_TRACE: \"1\\n#include </etc/shadow>\"\n",
            "options.trace.defines.MALLOC_STANDALONE_TRACE",
        ),
        (
            "    free: __malloc_standalone_glibc_free\n",
            "    free: x;y\n",
            "options.hooks.glibc_renames.free = \"x;y\"",
        ),
    ];
    for (from, to, needle) in cases {
        let (_dir, path) = edited_236("yaml", |t| replace_once(t, from, to));
        refused_by_build_and_verify(&path, &[], &[needle]);
    }
}

#[test]
fn a_json_twin_whose_plan_has_another_flag_is_refused_with_it_named() {
    let (_dir, path) = edited_236("json", |t| {
        replace_once(
            t,
            "    \"cflags\": {\n      \"release\": [\n",
            "    \"cflags\": {\n      \"release\": [\n        \"-wrapper\",\n",
        )
    });
    refused_by_build_and_verify(&path, &[], &["plan.cflags.release[0] = \"-wrapper\""]);
    let (_dir, path) = edited_236("json", |t| {
        replace_once(
            t,
            "\"-Wl,--version-script=@BUILD@/exports.map\",",
            "\"-Wl,--version-script=/etc/shadow\",",
        )
    });
    refused_by_build_and_verify(
        &path,
        &[],
        &["link[5] = \"-Wl,--version-script=/etc/shadow\""],
    );
}

// ---------------------------------------------------------------- real harm, on the fixture

/// The fixture's tree copied to `<dir>/a/b/glibc-tiny` (so that
/// `../../../x` from it is `<dir>/x`), and its manifest.
fn fixture_in(dir: &Path) -> (PathBuf, Manifest) {
    let tree = dir.join("a/b/glibc-tiny");
    common::copy_dir(&fixture::tree(), &tree);
    (tree, fixture::resolve().manifest)
}

/// The first attack: a verbatim entry `../../../outside/victim`,
/// pinned to the file placed there (relative to the tree), made `build`
/// write it outside `--out` (to `<out>/../outside/victim`).
#[test]
fn a_verbatim_entry_outside_the_tree_writes_nothing_outside_out() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, mut m) = fixture_in(dir.path());
    let planted = dir.path().join("outside/victim");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, "the attacker's bytes\n").unwrap();
    // Where the build would stage it: <out>/build-2.99/glibc/../../../outside.
    let out = dir.path().join("o/out");
    let victim = dir.path().join("o/outside/victim");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, "precious\n").unwrap();
    m.verbatim.insert(
        0,
        PinnedFile {
            path: "../../../outside/victim".into(),
            sha256: sha256(b"the attacker's bytes\n"),
        },
    );
    let path = dir.path().join("glibc-2.99.yaml");
    std::fs::write(&path, m.to_yaml()).unwrap();
    let cache = dir.path().join("cache");
    for command in ["build", "verify"] {
        let o = resolver(&fixture::project(), &cache)
            .args([command, "--manifest"])
            .arg(&path)
            .arg("--src")
            .arg(&tree)
            .args(if command == "build" {
                vec![OsStr::new("--out"), out.as_os_str()]
            } else {
                vec![]
            })
            .output()
            .unwrap();
        assert_refused(
            &o,
            &["verbatim[0].path = \"../../../outside/victim\"", "`..`"],
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(
        std::fs::read_dir(victim.parent().unwrap()).unwrap().count(),
        1
    );
    assert!(is_empty(&out));
    assert!(is_empty(&cache));
}

/// The cflags `-wrapper /bin/sh,-c,...`: GCC runs its compilers
/// through the wrapper, so the build ran the command.
#[test]
fn a_wrapper_flag_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, mut m) = fixture_in(dir.path());
    let marker = dir.path().join("ran");
    m.flags.cflags.push("-wrapper".into());
    m.flags
        .cflags
        .push(format!("/bin/sh,-c,touch {}", marker.display()));
    let path = dir.path().join("glibc-2.99.yaml");
    std::fs::write(&path, m.to_yaml()).unwrap();
    let out = dir.path().join("out");
    let o = resolver(&fixture::project(), &dir.path().join("cache"))
        .args(["build", "--manifest"])
        .arg(&path)
        .arg("--src")
        .arg(&tree)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_refused(
        &o,
        &[
            "flags.cflags[",
            "= \"-wrapper\": not a flag the resolver writes",
        ],
    );
    assert!(!marker.exists(), "the wrapper ran");
    assert!(is_empty(&out));
}

// ---------------------------------------------------------------- bounded parsing

/// `resolver verify` of `manifest`: refused with `needles`, in well under
/// a second.
fn refused_at_once(manifest: &Path, needles: &[&str]) -> Duration {
    let cache = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let o = resolver(&common::project(), cache.path())
        .args(["verify", "--manifest"])
        .arg(manifest)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_refused(&o, needles);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(is_empty(cache.path()));
    took
}

#[test]
fn a_deeply_nested_manifest_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "flow.yaml",
            format!(
                "schema: 2\nversion: {}1{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "flow.json",
            format!(
                "{{\"schema\": 2, \"version\": {}{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "block.yaml",
            format!("schema: 2\nversion:\n{}x\n", "- ".repeat(100_000)),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        refused_at_once(&path, &[name, "nest deeper than 64 levels"]);
    }
}

#[test]
fn a_huge_manifest_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    // 110 MB, sparse: reading it whole would take seconds and 110 MB.
    let path = dir.path().join("huge.yaml");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(110_000_000)
        .unwrap();
    refused_at_once(
        &path,
        &["huge.yaml", "110000000 bytes", "the limit is 4 MiB"],
    );
    // A device that never ends: read no further than the limit.
    refused_at_once(Path::new("/dev/zero"), &["/dev/zero", "the limit is 4 MiB"]);
}
