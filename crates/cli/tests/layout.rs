//! `resolver build --layout-like FILE`: a copy of the .so padded so that
//! malloc's globals lie at a real libc's distances from `main_arena`
//! (docs/globals.md). Checked with an exploit's relative write in the
//! spirit of how2heap's `tcache_relative_write` (`tests/c/relative_write.c`,
//! our own program) on the versions how2heap has it for: the distance from
//! the leaked unsorted-bin `fd` to `mp_.tcache_bins` is measured in Debian's
//! `libc6-dbg` with gdb; the write must work under the real libc and under
//! our padded .so, and does not under our default .so (whose distance,
//! measured in it, works instead).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::run::{clean, compile, preloaded, run, run_ok, Abi};
use common::{
    apt_lock, build_so, cache, pinned_path, project, reference, resolver_command, scratch, tree,
};

#[test]
fn relative_write_2_31() {
    relative_write("2.31");
}

#[test]
fn relative_write_2_36() {
    relative_write("2.36");
}

#[test]
fn relative_write_2_41() {
    relative_write("2.41");
}

#[test]
fn a_stripped_libc_is_refused_with_what_to_give_instead() {
    let r = reference("2.36").expect("the real glibc 2.36");
    let out = resolver_command()
        .args(["build", "--manifest"])
        .arg(pinned_path("2.36"))
        .arg("--src")
        .arg(&tree("2.36").root)
        .arg("--out")
        .arg(scratch("layout-stripped"))
        .arg("--layout-like")
        .arg(r.lib_dir.join("libc.so.6"))
        .current_dir(project())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no symbol main_arena") && stderr.contains("libc6-dbg"),
        "{stderr}"
    );
}

/// `fd - &mp_.tcache_bins` in `file` (the unsorted bin's `fd` is the
/// address of bin 1, `&main_arena.bins[0]` minus the chunk header), read
/// from its DWARF by gdb.
fn distance(file: &Path) -> String {
    let out = run_ok(
        clean("gdb")
            .args(["-batch", "-nx", "-ex"])
            .arg("print/x (long)&main_arena.bins - 16 - (long)&mp_.tcache_bins")
            .arg(file),
    );
    let value = out
        .lines()
        .last()
        .and_then(|l| l.split_once("= "))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("gdb printed no distance for {}: {out}", file.display()));
    assert!(value.starts_with("0x"), "{value}");
    value
}

fn program() -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| compile("relative_write", Abi::Old, &[], &scratch("programs")))
        .clone()
}

fn relative_write(version: &str) {
    let r = reference(version).expect("Debian's libc6 of this version");
    let debug = {
        let _g = apt_lock();
        harness::libc_debug_file(&r, &cache()).expect("Debian's libc6-dbg")
    };
    let real = distance(&debug);
    let mut cmd = r.command(program());
    common::run::clean_env(&mut cmd);
    assert_eq!(
        run_ok(cmd.arg(&real)).trim(),
        "tcache",
        "the real glibc {version}"
    );

    // Ours, padded as the real one.
    let out = scratch("layout");
    let o = resolver_command()
        .args(["build", "--manifest"])
        .arg(pinned_path(version))
        .arg("--src")
        .arg(&tree(version).root)
        .arg("--out")
        .arg(&out)
        .arg("--layout-like")
        .arg(&debug)
        .current_dir(project())
        .env_remove("DEBUG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let padded = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    assert_eq!(
        padded.file_name().and_then(|n| n.to_str()),
        Some(format!("libmalloc-glibc-{version}-layout.so").as_str())
    );
    assert_eq!(distance(&padded), real, "{}", padded.display());
    assert_eq!(
        run_ok(preloaded(&padded, program()).arg(&real)).trim(),
        "tcache",
        "our padded {version}"
    );

    // Ours, unpadded: its own distance works, the real one's does not.
    let plain = build_so(version);
    let own = distance(&plain);
    assert_ne!(own, real);
    assert_eq!(
        run_ok(preloaded(&plain, program()).arg(&own)).trim(),
        "tcache",
        "our {version} with its own distance"
    );
    let missed = run(preloaded(&plain, program()).arg(&real));
    assert!(
        !(missed.status.success() && String::from_utf8_lossy(&missed.stdout).trim() == "tcache"),
        "our unpadded {version} took the real distance: docs/globals.md is out of date"
    );
}

#[test]
fn another_versions_libc_is_refused_and_nothing_is_written() {
    let r = reference("2.31").expect("the real glibc 2.31");
    let debug = {
        let _g = apt_lock();
        harness::libc_debug_file(&r, &cache()).expect("Debian's libc6-dbg 2.31")
    };
    let out = scratch("layout-mismatch");
    let o = resolver_command()
        .args(["build", "--manifest"])
        .arg(pinned_path("2.36"))
        .arg("--src")
        .arg(&tree("2.36").root)
        .arg("--out")
        .arg(&out)
        .arg("--layout-like")
        .arg(&debug)
        .current_dir(project())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(
        stderr.contains("laid out otherwise there") && stderr.contains("global_max_fast"),
        "{stderr}"
    );
    assert!(
        !out.join("libmalloc-glibc-2.36-layout.so").exists(),
        "a refused --layout-like build left its .so"
    );
    let leftovers: Vec<_> = common::files_under(&out)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn one_real_libc_is_for_one_manifest() {
    let o = resolver_command()
        .args(["build", "--pinned", "--layout-like", "/nonexistent"])
        .arg("--out")
        .arg(scratch("layout-pinned"))
        .current_dir(project())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(
        stderr.contains("--layout-like names one real libc"),
        "{stderr}"
    );
}
