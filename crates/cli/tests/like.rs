//! `--like FILE` refuses what is not an x86_64 glibc it can build for,
//! before anything is fetched or written: a file that is not ELF, ELF
//! files that are not glibc's libc.so.6 (a program, another library, the
//! dynamic loader), a truncated libc, one for another architecture and one
//! too old. Each message names the file and says what to give instead; the
//! exit code is 1; neither the cache nor `--out` is created. The inputs are
//! this host's own files, or the host's libc.so.6 with bytes changed in a
//! copy. What `--like` builds from real libcs is the system tier's
//! `like_build.rs`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{arg, stderr};

const HOST_LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";

fn host_libc() -> Vec<u8> {
    fs::read(HOST_LIBC).unwrap_or_else(|e| panic!("this test reads {HOST_LIBC}: {e}"))
}

/// `resolver <command> --like FILE` with a cache and `--out` that do not
/// exist yet; fails with 1 and every needle (and the file's path) in
/// stderr, prints nothing on stdout and creates neither directory.
fn refused(command: &str, file: &Path, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out");
    let mut cmd = common::resolver_in(&common::project(), &cache);
    cmd.args([command, "--like", arg(file)]);
    if command == "build" {
        cmd.args(["--out", arg(&out)]);
    }
    let o: Output = cmd.output().unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "should fail with 1; stderr: {e}");
    assert!(!e.contains("panicked"), "a panic: {e}");
    assert!(
        o.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    for n in needles.iter().copied().chain([arg(file)]) {
        assert!(e.contains(n), "stderr lacks {n:?}: {e}");
    }
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(!cache.exists(), "the cache was created: {e}");
    assert!(!out.exists(), "--out was created: {e}");
}

/// A copy of the host's libc.so.6 in `dir`, changed by `edit`.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = host_libc();
    edit(&mut bytes);
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// Replaces the banner's first line in `bytes` with `line`, padded with
/// spaces to the same length (the file keeps its layout).
fn set_banner(bytes: &mut [u8], line: &str) {
    let start = bytes
        .windows(14)
        .position(|w| w == b"GNU C Library ")
        .expect("the host's libc has a banner");
    let len = bytes[start..].iter().position(|&b| b == b'\n').unwrap();
    assert!(line.len() <= len, "{line:?} is longer than the banner");
    let padded = format!("{line:<len$}");
    bytes[start..start + len].copy_from_slice(padded.as_bytes());
}

#[test]
fn a_file_that_is_not_elf() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("libc.so.6");
    fs::write(&f, "#!/bin/sh\necho not a libc\n").unwrap();
    refused(
        "build",
        &f,
        &[
            "is not an ELF file",
            "starts with `#!/bin/sh",
            "ldd ./chall",
        ],
    );
    refused("resolve", &f, &["is not an ELF file"]);
    refused(
        "build",
        Path::new("/nonexistent/libc.so.6"),
        &["cannot read", "No such file"],
    );
}

#[test]
fn elf_files_that_are_not_glibcs_libc() {
    refused(
        "build",
        Path::new("/bin/ls"),
        &["not glibc's libc.so.6", "no gnu_get_libc_version"],
    );
    let libgcc = [
        "/lib/x86_64-linux-gnu/libgcc_s.so.1",
        "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.is_file())
    .expect("libgcc_s.so.1 (every gcc-built program's companion)");
    refused("build", libgcc, &["not glibc's libc.so.6"]);
    refused(
        "build",
        Path::new("/lib64/ld-linux-x86-64.so.2"),
        &["glibc's dynamic loader", "the libc.so.6 beside it"],
    );
}

#[test]
fn a_truncated_libc() {
    let tmp = tempfile::tempdir().unwrap();
    let f = edited(tmp.path(), "libc.so.6", |b| b.truncate(64 * 1024));
    refused(
        "build",
        &f,
        &[
            "is truncated or damaged",
            "65536 bytes",
            "copy the libc.so.6 again",
        ],
    );
    let f = edited(tmp.path(), "stub.so.6", |b| b.truncate(12));
    refused(
        "build",
        &f,
        &["is truncated or damaged", "shorter than an ELF header"],
    );
}

/// The host's libc with its header's machine (and class) changed: the
/// file is refused by its header alone.
#[test]
fn a_libc_for_another_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    let f = edited(tmp.path(), "libc.so.6", |b| {
        b[18..20].copy_from_slice(&183u16.to_le_bytes())
    });
    refused(
        "build",
        &f,
        &["an ELF file for AArch64", "built for x86_64 only"],
    );
    let f = edited(tmp.path(), "i386.so.6", |b| {
        b[4] = 1;
        b[18..20].copy_from_slice(&3u16.to_le_bytes())
    });
    refused(
        "build",
        &f,
        &["an ELF file for i386", "give an x86_64 libc.so.6"],
    );
}

/// A banner naming a release older than the project builds, the old
/// banner form (no parenthesis) included; and a banner removed.
#[test]
fn a_libc_too_old_or_without_a_banner() {
    let tmp = tempfile::tempdir().unwrap();
    let f = edited(tmp.path(), "libc.so.6", |b| {
        set_banner(
            b,
            "GNU C Library stable release version 2.2.5, by Roland McGrath et al.",
        )
    });
    refused(
        "build",
        &f,
        &[
            "is glibc 2.2.5",
            "the oldest release this project builds is 2.20",
        ],
    );
    let f = edited(tmp.path(), "2.19.so.6", |b| {
        set_banner(
            b,
            "GNU C Library (Ubuntu EGLIBC 2.19-0ubuntu6) stable release version 2.19.",
        )
    });
    refused("build", &f, &["is glibc 2.19", "docs/adding-a-version.md"]);
    let f = edited(tmp.path(), "nobanner.so.6", |b| {
        let at = b.windows(14).position(|w| w == b"GNU C Library ").unwrap();
        b[at..at + 3].copy_from_slice(b"GNX");
    });
    refused("build", &f, &["not glibc's libc.so.6", "no `GNU C Library"]);
}

#[test]
fn like_names_one_source_alone() {
    let o = common::resolver(&["build", "--like", HOST_LIBC, "--manifest", "x.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    let o = common::resolver(&["resolve", "--like", HOST_LIBC, "--glibc", "2.36"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
