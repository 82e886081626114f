//! `resolver build --patch` (and `resolver run --patch`) on real glibc trees (issue 17): the example
//! patches of `examples/patches/` built on every pinned version they apply
//! to and run under real programs next to the unpatched build; where an
//! example has no variant, the code it touches is checked to be absent from
//! that version. Also: the record in the .so, patches in order, incremental
//! patched builds that share nothing with the unpatched one, and the
//! refusals (a hunk that does not apply, a file outside the build, a
//! malformed diff), alone and across several versions.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::run::{preloaded, run};
use common::*;

fn examples() -> PathBuf {
    project().join(EXAMPLE_PATCHES)
}

fn example(name: &str, version: &str) -> Option<PathBuf> {
    example_patch(name, version)
}

/// `resolver build` of `version` (its pinned source) with `args` into `out`.
fn resolver_build(out: &Path, versions: &[&str], args: &[&str]) -> Output {
    let mut cmd = resolver_command();
    cmd.arg("build").arg("--out").arg(out);
    for v in versions {
        cmd.arg("--manifest").arg(pinned_path(v));
    }
    if let [v] = versions {
        cmd.arg("--src").arg(&tree(v).root);
    }
    cmd.args(args).current_dir(project()).env_remove("DEBUG");
    cmd.output().expect("run resolver build")
}

/// The patched .so of `version`, built by `resolver build --patch`.
fn build_patched(version: &str, patches: &[&Path]) -> PathBuf {
    let out = scratch("patched");
    let mut args = Vec::new();
    for p in patches {
        args.push("--patch");
        args.push(p.to_str().unwrap());
    }
    let o = resolver_build(&out, &[version], &args);
    assert!(
        o.status.success(),
        "resolver build --patch of glibc {version} failed:\n{}",
        stderr(&o)
    );
    let so = PathBuf::from(String::from_utf8_lossy(&o.stdout).lines().last().unwrap());
    assert!(so.is_file());
    so
}

/// `exe args` under `resolver run --glibc version --patch patch` (which
/// builds the patched variant into the cache once), with the environment
/// that changes an allocator's behaviour removed.
fn resolver_run_patched(version: &str, patch: &Path, exe: &Path, args: &[&str]) -> Output {
    let mut cmd = resolver_command();
    cmd.args(["run", "--glibc", version, "--patch", arg(patch), "--"])
        .arg(exe)
        .args(args);
    common::run::clean_env(&mut cmd);
    if let Some(dir) = mirror() {
        cmd.env(source::mirror::ENV, dir);
    }
    cmd.output().expect("run resolver run")
}

/// The pinned malloc.c of `version`, as the unpatched build staged it.
fn staged_malloc_c(version: &str) -> String {
    let so = build_so(version);
    let path = so
        .parent()
        .unwrap()
        .join(format!("build-{version}/glibc/malloc/malloc.c"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A program of `examples/patches/<example>/`, compiled once per test binary.
fn program(example: &str, name: &str) -> PathBuf {
    let dir = scratch("programs");
    let exe = dir.join(name);
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !exe.is_file() {
        let src = examples().join(example).join(format!("{name}.c"));
        let tmp = dir.join(format!("{name}.tmp"));
        let o = std::process::Command::new("cc")
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&tmp)
            .arg(&src)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::rename(&tmp, &exe).unwrap();
    }
    exe
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// tcache-count: the default number of chunks per tcache bin becomes 3.
fn tcache_count(version: &str) {
    let source = staged_malloc_c(version);
    let default = regex::Regex::new(r"(?m)^# define TCACHE_FILL_COUNT (\d+)$")
        .unwrap()
        .captures(&source)
        .map(|c| c[1].parse::<u32>().unwrap());
    let Some(patch) = example("tcache-count", version) else {
        assert_eq!(
            default, None,
            "glibc {version} has a tcache but no variant of tcache-count"
        );
        return;
    };
    let default = default.expect("a version with a tcache-count variant has a tcache");
    let exe = program("tcache-count", "tcache-count");
    let unpatched = run(&mut preloaded(&build_so(version), &exe));
    assert_eq!(
        stdout(&unpatched),
        format!("tcache holds {default} chunks of this size\n"),
        "glibc {version} unpatched: {}",
        stderr(&unpatched)
    );
    let so = build_patched(version, &[&patch]);
    assert!(so.ends_with(format!("libmalloc-glibc-{version}+tcache-count.so")));
    let patched = run(&mut preloaded(&so, &exe));
    assert_eq!(
        stdout(&patched),
        "tcache holds 3 chunks of this size\n",
        "glibc {version} patched: {}",
        stderr(&patched)
    );
    let ran = resolver_run_patched(version, &patch, &exe, &[]);
    assert_eq!(
        stdout(&ran),
        "tcache holds 3 chunks of this size\n",
        "glibc {version} under resolver run --patch: {}",
        stderr(&ran)
    );
}

const DOUBLE_FREE: &str = "free(): double free detected in tcache 2";

/// no-double-free-check: a double free into the tcache no longer aborts.
fn double_free(version: &str) {
    let source = staged_malloc_c(version);
    let Some(patch) = example("no-double-free-check", version) else {
        assert!(
            !source.contains(DOUBLE_FREE),
            "glibc {version} has the tcache double-free check but no variant of \
             no-double-free-check"
        );
        return;
    };
    let exe = program("no-double-free-check", "double-free");
    let unpatched = run(&mut preloaded(&build_so(version), &exe));
    assert!(
        !unpatched.status.success() && stderr(&unpatched).contains(DOUBLE_FREE),
        "glibc {version} unpatched should abort with `{DOUBLE_FREE}`: {:?}\n{}",
        unpatched.status,
        stderr(&unpatched)
    );
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(unpatched.status.signal(), Some(6), "SIGABRT");
    }
    let so = build_patched(version, &[&patch]);
    let patched = run(&mut preloaded(&so, &exe));
    assert!(
        patched.status.success(),
        "glibc {version} patched: {:?}\n{}",
        patched.status,
        stderr(&patched)
    );
    assert_eq!(
        stdout(&patched),
        "the double free went unnoticed: both allocations got the same block\n"
    );
    let ran = resolver_run_patched(version, &patch, &exe, &[]);
    assert!(
        ran.status.success(),
        "glibc {version} under resolver run --patch: {:?}\n{}",
        ran.status,
        stderr(&ran)
    );
    assert_eq!(stdout(&ran), stdout(&patched));
}

/// The counts `bin-counts` prints at exit, by kind.
fn counts(o: &Output) -> std::collections::BTreeMap<String, u64> {
    let err = stderr(o);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("malloc calls by bin kind: "))
        .unwrap_or_else(|| panic!("no counts on stderr:\n{err}"));
    let words: Vec<&str> = line.split(' ').collect();
    words
        .chunks(2)
        .map(|kv| (kv[0].to_owned(), kv[1].parse().unwrap()))
        .collect()
}

/// bin-counts: malloc calls counted per bin kind, printed at exit. Two runs
/// of a program that makes N and then 3N allocations of each of three sizes
/// differ by exactly 2N in the small size's kind (tcache, or fastbin before
/// 2.26), in largebin and in mmap, and by nothing elsewhere.
fn bin_counts(version: &str) {
    let patch = example("bin-counts", version).expect("bin-counts applies to every version");
    let exe = program("bin-counts", "bin-counts");
    let unpatched = run(preloaded(&build_so(version), &exe).arg("10"));
    assert!(unpatched.status.success(), "{}", stderr(&unpatched));
    assert!(!stderr(&unpatched).contains("malloc calls by bin kind"));
    let so = build_patched(version, &[&patch]);
    let once = run(preloaded(&so, &exe).arg("100"));
    let thrice = run(preloaded(&so, &exe).arg("300"));
    assert!(once.status.success() && thrice.status.success());
    let ran = resolver_run_patched(version, &patch, &exe, &["100"]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert_eq!(
        counts(&ran),
        counts(&once),
        "glibc {version}: resolver run --patch counts otherwise than build --patch's .so"
    );
    let (a, b) = (counts(&once), counts(&thrice));
    let small = if staged_malloc_c(version).contains("TCACHE_MAX_BINS") {
        "tcache"
    } else {
        "fastbin"
    };
    let grew: std::collections::BTreeMap<&str, u64> =
        a.keys().map(|k| (k.as_str(), b[k] - a[k])).collect();
    let expected: std::collections::BTreeMap<&str, u64> = [
        ("tcache", 0),
        ("fastbin", 0),
        ("smallbin", 0),
        ("largebin", 200),
        ("mmap", 200),
    ]
    .into_iter()
    .map(|(k, n)| (k, if k == small { 200 } else { n }))
    .collect();
    assert_eq!(grew, expected, "glibc {version}: {a:?} then {b:?}");
}

common::per_version! {
    tcache_count => tcache_count,
    double_free => double_free,
    bin_counts => bin_counts,
}

/// The names (and kinds) of the symbols `so` exports, without addresses.
fn dynamic_symbols(so: &Path) -> String {
    let o = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(so)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn two_patches_apply_in_order_and_the_so_records_them() {
    let a = example("tcache-count", "2.36").unwrap();
    let b = example("no-double-free-check", "2.36").unwrap();
    let so = build_patched("2.36", &[&a, &b]);
    assert!(so.ends_with("libmalloc-glibc-2.36+tcache-count+no-double-free-check.so"));
    // The record: readable with strings, each patch with its sha256.
    let strings = std::process::Command::new("strings")
        .arg(&so)
        .output()
        .unwrap();
    let expected = format!(
        "malloc-standalone patches: tcache-count sha256:{}; no-double-free-check sha256:{}",
        manifest::digest::sha256(&std::fs::read(&a).unwrap()),
        manifest::digest::sha256(&std::fs::read(&b).unwrap())
    );
    assert!(
        String::from_utf8_lossy(&strings.stdout).contains(&expected),
        "{expected}"
    );
    // gdb reads it in a process that loaded the .so.
    let exe = program("tcache-count", "tcache-count");
    let gdb = run(std::process::Command::new("gdb")
        .args(["-nx", "-batch", "-ex"])
        .arg(format!("set exec-wrapper env LD_PRELOAD={}", so.display()))
        .args([
            "-ex",
            "set print elements 0",
            "-ex",
            "break main",
            "-ex",
            "run",
            "-ex",
        ])
        .arg("print __malloc_standalone_patches")
        .arg(&exe));
    assert!(
        stdout(&gdb).contains(&format!("= \"{expected}\"")),
        "{}\n{}",
        stdout(&gdb),
        stderr(&gdb)
    );
    // Hidden from the dynamic API: the exports are the unpatched build's.
    let patched = dynamic_symbols(&so);
    assert!(!patched.contains("__malloc_standalone_patches"));
    assert_eq!(patched, dynamic_symbols(&build_so("2.36")));
    // Both changes are in.
    let tc = run(&mut preloaded(&so, program("tcache-count", "tcache-count")));
    assert_eq!(stdout(&tc), "tcache holds 3 chunks of this size\n");
    let df = run(&mut preloaded(
        &so,
        program("no-double-free-check", "double-free"),
    ));
    assert!(df.status.success(), "{}", stderr(&df));
}

#[test]
fn patched_builds_are_incremental_and_share_nothing_with_the_unpatched_one() {
    let out = tempfile::tempdir().unwrap();
    let patch = example("tcache-count", "2.36").unwrap();
    let p = ["--patch", patch.to_str().unwrap()];
    let first = resolver_build(out.path(), &["2.36"], &p);
    assert!(first.status.success(), "{}", stderr(&first));
    let plain = resolver_build(out.path(), &["2.36"], &[]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    // The unpatched build compiled everything afresh, in its own directory.
    assert!(
        !stderr(&plain).contains("compiled 0 unit(s)"),
        "{}",
        stderr(&plain)
    );
    let again = resolver_build(out.path(), &["2.36"], &p);
    assert!(
        stderr(&again).contains("compiled 0 unit(s), link up to date"),
        "{}",
        stderr(&again)
    );
    // The staged malloc.c differ; the project's own shims are not compiled
    // by the patched build (it has its staged copies).
    let patched_c = out
        .path()
        .join("build-2.36+tcache-count/glibc/malloc/malloc.c");
    let plain_c = out.path().join("build-2.36/glibc/malloc/malloc.c");
    assert_ne!(
        std::fs::read(&patched_c).unwrap(),
        std::fs::read(&plain_c).unwrap()
    );
    let cmd = std::fs::read_to_string(
        out.path()
            .join("build-2.36+tcache-count/obj/malloc__malloc.cmd"),
    )
    .unwrap();
    assert!(
        cmd.contains("build-2.36+tcache-count/project/shims"),
        "{cmd}"
    );
    // A changed patch of the same name rebuilds.
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("tcache-count.diff");
    std::fs::write(
        &edited,
        std::fs::read_to_string(&patch)
            .unwrap()
            .replace("COUNT 3", "COUNT 5"),
    )
    .unwrap();
    let changed = resolver_build(
        out.path(),
        &["2.36"],
        &["--patch", edited.to_str().unwrap()],
    );
    assert!(changed.status.success(), "{}", stderr(&changed));
    assert!(!stderr(&changed).contains("compiled 0 unit(s)"));
    let so = out.path().join("libmalloc-glibc-2.36+tcache-count.so");
    let tc = run(&mut preloaded(&so, program("tcache-count", "tcache-count")));
    assert_eq!(stdout(&tc), "tcache holds 5 chunks of this size\n");
}

#[test]
fn a_hunk_that_does_not_apply_is_named_and_nothing_is_built() {
    let out = tempfile::tempdir().unwrap();
    // The 2.43 variant expects TCACHE_FILL_COUNT 16; 2.36 has 7.
    let patch = example("tcache-count", "2.43").unwrap();
    let o = resolver_build(out.path(), &["2.36"], &["--patch", patch.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!(
            "patch {} does not apply to glibc 2.36",
            patch.display()
        )) && err.contains("malloc/malloc.c: hunk #1 (patch line 3: @@ -309 +309 @@)"),
        "{err}"
    );
    assert_eq!(files_under(out.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_file_outside_the_build_is_refused_with_its_path() {
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let patch = dir.path().join("elsewhere.diff");
    std::fs::write(
        &patch,
        "--- a/elf/dl-open.c\n+++ b/elf/dl-open.c\n@@ -1 +1 @@\n-/* x */\n+/* y */\n",
    )
    .unwrap();
    let o = resolver_build(out.path(), &["2.36"], &["--patch", patch.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("(line 2) touches elf/dl-open.c, which glibc 2.36's build does not use"),
        "{err}"
    );
    assert_eq!(files_under(out.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_malformed_diff_is_refused_with_its_line() {
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let patch = dir.path().join("cut.diff");
    std::fs::write(
        &patch,
        "--- a/malloc/malloc.c\n+++ b/malloc/malloc.c\n@@ -1,3 +1,3 @@\n a\nb\n",
    )
    .unwrap();
    let o = resolver_build(out.path(), &["2.36"], &["--patch", patch.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!(
            "patch {} is not a unified diff: line 5: `b` in the hunk at line 3",
            patch.display()
        )),
        "{err}"
    );
    assert_eq!(files_under(out.path()), Vec::<PathBuf>::new());
}

#[test]
fn several_versions_build_where_the_patch_applies_and_say_where_not() {
    let out = tempfile::tempdir().unwrap();
    let patch = example("no-double-free-check", "2.36").unwrap();
    let p = ["--patch", patch.to_str().unwrap()];
    let o = resolver_build(out.path(), &["2.27", "2.36"], &p);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        stdout(&o).trim(),
        out.path()
            .join("libmalloc-glibc-2.36+no-double-free-check.so")
            .display()
            .to_string()
    );
    assert!(
        err.contains("glibc 2.27: not built: patch")
            && err.contains("does not apply to glibc 2.27")
            && err.contains("malloc/malloc.c: hunk #1")
            && err.contains("the patches applied to 1 of 2 version(s); not to 2.27"),
        "{err}"
    );
    // Applying to none is a failure.
    let none = resolver_build(out.path(), &["2.26", "2.27"], &p);
    assert!(!none.status.success());
    assert!(
        stderr(&none).contains("the patches apply to none of the 2 version(s)"),
        "{}",
        stderr(&none)
    );
}

#[test]
fn a_patch_to_our_stubs_changes_the_staged_copy_only() {
    // A diff of the project's stubs/fatal.c (generated from the file, so
    // it is the pinned text): every fatal message gets a prefix.
    let fatal = project().join("stubs/fatal.c");
    let before = std::fs::read(&fatal).unwrap();
    let text = String::from_utf8(before.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "  struct iovec iov[16];")
        .expect("write_message's iovec in stubs/fatal.c");
    // Old lines at..at+3 (1-based: lines[at - 1] is line `at`), two added
    // in the middle (GNU patch takes uneven context for a file's start or end).
    let diff = format!(
        "--- a/stubs/fatal.c\n+++ b/stubs/fatal.c\n@@ -{at},4 +{at},6 @@\n {}\n {}\n+  if (write (fd, \"[patched] \", 10) != 10)\n+    return false;\n {}\n {}\n",
        lines[at - 1],
        lines[at],
        lines[at + 1],
        lines[at + 2],
    );
    let dir = tempfile::tempdir().unwrap();
    let patch = dir.path().join("prefix.diff");
    std::fs::write(&patch, diff).unwrap();
    let so = build_patched("2.36", &[&patch]);
    assert!(so.ends_with("libmalloc-glibc-2.36+prefix.so"));
    let df = run(&mut preloaded(
        &so,
        program("no-double-free-check", "double-free"),
    ));
    assert!(
        stderr(&df).contains(&format!("[patched] {DOUBLE_FREE}")),
        "{}",
        stderr(&df)
    );
    // The project's own file is untouched; the staged copy is patched.
    assert_eq!(std::fs::read(&fatal).unwrap(), before);
    let staged = so
        .parent()
        .unwrap()
        .join("build-2.36+prefix/project/stubs/fatal.c");
    assert!(std::fs::read_to_string(staged)
        .unwrap()
        .contains("[patched] "));
}

/// `resolver run --patch` and `resolver gdb --patch`: the program runs on
/// the patched build (the double free goes unnoticed) where plain `run`
/// still aborts, gdb's inferior sees the patched .so's record, and the
/// patched build is reused on the next run.
#[test]
fn run_and_gdb_take_patches_like_build() {
    use std::os::unix::process::ExitStatusExt;
    let patch = example("no-double-free-check", "2.36").unwrap();
    let exe = program("no-double-free-check", "double-free");
    let resolver_run = |args: &[&str]| {
        let mut cmd = resolver_command();
        cmd.args(args);
        common::run::clean_env(&mut cmd);
        if let Some(dir) = mirror() {
            cmd.env(source::mirror::ENV, dir);
        }
        cmd.output().expect("run resolver")
    };
    let plain = resolver_run(&["run", "--glibc", "2.36", "--", arg(&exe)]);
    assert_eq!(plain.status.signal(), Some(6), "{}", stderr(&plain));
    for round in 0..2 {
        let o = resolver_run(&[
            "run",
            "--glibc",
            "2.36",
            "--patch",
            arg(&patch),
            "--",
            arg(&exe),
        ]);
        assert!(o.status.success(), "{:?}\n{}", o.status, stderr(&o));
        assert_eq!(
            stdout(&o),
            "the double free went unnoticed: both allocations got the same block\n"
        );
        if round == 1 {
            assert!(
                !stderr(&o).contains("building"),
                "the second run rebuilt: {}",
                stderr(&o)
            );
        }
    }
    let o = resolver_run(&[
        "gdb",
        "--glibc",
        "2.36",
        "--patch",
        arg(&patch),
        "--batch",
        "--nx",
        "--ex",
        "break exit",
        "--ex",
        "run",
        "--ex",
        "print __malloc_standalone_patches",
        "--",
        arg(&exe),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{:?}\n{out}\n{}", o.status, stderr(&o));
    assert!(
        out.contains("malloc-standalone patches: no-double-free-check sha256:"),
        "gdb did not print the record:\n{out}\n{}",
        stderr(&o)
    );
}
