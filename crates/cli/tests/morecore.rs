//! `__morecore` on every version (stubs/morecore.c): exported, starting as
//! `__default_morecore`, growing the main arena, settable by a program to a
//! region of its own, chainable, falling back to mmap when a region runs
//! out, shrunk by trimming; and `MALLOC_STANDALONE_HEAP`, which puts the
//! main heap of an unmodified program at a fixed address. Each check runs
//! `tests/c/morecore.c` or `examples/fixed-heap.c` under `LD_PRELOAD`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::run::{compile, preloaded, run, run_ok, Abi};
use common::{build_so, scratch};

// One test module per version with a committed manifest.
common::per_version! {
    program_sets_morecore => program_sets_morecore,
    environment_fixes_the_heap => environment_fixes_the_heap,
}

fn program() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("morecore", Abi::Host, &[], &scratch("programs")))
}

fn example() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = scratch("programs");
        let exe = dir.join("fixed-heap");
        let src = common::project().join("examples/fixed-heap.c");
        run_ok(
            common::run::clean("gcc")
                .args(["-Wall", "-Wextra", "-Werror", "-O2"])
                .arg(&src)
                .arg("-o")
                .arg(&exe),
        );
        exe
    })
}

fn mode(so: &Path, m: &str) -> String {
    run_ok(preloaded(so, program()).arg(m))
}

fn program_sets_morecore(version: &str) {
    let so = build_so(version);
    let d = mode(&so, "default");
    assert_eq!(
        d, "__morecore starts as __default_morecore: yes\nheap in brk: yes\n",
        "glibc {version}: the default must be sbrk's heap"
    );

    // The whole main heap in a region at a fixed address: the same
    // addresses on every run, whatever ASLR does.
    let a = mode(&so, "region");
    let b = mode(&so, "region");
    assert_eq!(
        a, b,
        "glibc {version}: two runs placed the heap differently"
    );
    assert!(
        a.contains("in the region: 32 of 64") && a.contains("addresses: 0x6000000"),
        "glibc {version}: chunks below the mmap threshold belong in the region:\n{a}"
    );
    assert!(
        a.contains("shrank the region: yes (break lower)") && a.contains("grew: yes, asked: yes"),
        "glibc {version}: the region grows, is asked for its break and shrinks on trim:\n{a}"
    );

    let c = mode(&so, "chain");
    assert_eq!(
        c, "chained calls: yes, heap in brk: yes\n",
        "glibc {version}"
    );

    let e = mode(&so, "exhaust");
    assert_eq!(
        e, "after the region ran out, chunks outside it: yes; data intact\n",
        "glibc {version}: a full region must fail like a full brk"
    );

    // The example in docs/experimenting.md.
    let x = run_ok(&mut preloaded(&so, example()));
    assert_eq!(x, run_ok(&mut preloaded(&so, example())), "glibc {version}");
    assert!(
        x.lines().count() == 4 && x.lines().all(|l| l.contains("= 0x6000000")),
        "glibc {version}: examples/fixed-heap.c:\n{x}"
    );
}

fn environment_fixes_the_heap(version: &str) {
    let so = build_so(version);
    let with = |spec: &str| {
        let mut cmd = preloaded(&so, program());
        cmd.arg("plain").env("MALLOC_STANDALONE_HEAP", spec);
        cmd
    };
    let a = run_ok(&mut with("0x500000000000:64M"));
    let b = run_ok(&mut with("0x500000000000:64M"));
    assert_eq!(
        a, b,
        "glibc {version}: two runs placed the heap differently"
    );
    assert!(
        a.lines().count() == 4 && a.lines().all(|l| l.starts_with("0x5000000")),
        "glibc {version}: the heap belongs at 0x500000000000:\n{a}"
    );
    // Without it, the heap is sbrk's (and ASLR moves it).
    let plain = run_ok(preloaded(&so, program()).arg("plain"));
    assert!(!plain.contains("0x5000000"), "glibc {version}:\n{plain}");

    // A malformed value and an address that cannot be had are fatal, with
    // a message that says what to write.
    for (spec, says) in [
        ("0x500000000000", "must be <address>:<size>"),
        ("0x500000000000:12Q", "must be <address>:<size>"),
        ("0x500000000123:1M", "multiple of the page size"),
        ("0xffffffffffff000:1M", "cannot map the region"),
    ] {
        let out = run(&mut with(spec));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "glibc {version}: MALLOC_STANDALONE_HEAP={spec} should fail saying {says:?}, got \
             {} and {stderr}",
            out.status
        );
    }
}
