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

    // The smallest region glibc can use (its 128 KiB top pad and a page)
    // holds the heap.
    let small = run_ok(&mut with("0x500000000000:132k"));
    assert!(
        small.lines().count() == 4 && small.lines().all(|l| l.starts_with("0x5000000")),
        "glibc {version}: a 132k region must hold the heap:\n{small}"
    );

    // A value that does not ask for exactly that stops the program before
    // it starts: one message naming the variable, its value, what is wrong
    // and what to write, and exit status 127 (no abort, no core dump).
    let syntax = "Write <address>:<size>";
    for (spec, says, hint) in [
        (
            "-1",
            "not <address>:<size>: the address has a sign.",
            syntax,
        ),
        (
            "junk",
            "not <address>:<size>: the address is not a number.",
            syntax,
        ),
        (
            "4096",
            "not <address>:<size>: no ':' after the address.",
            syntax,
        ),
        (
            "0x500000000000",
            "not <address>:<size>: no ':' after the address.",
            syntax,
        ),
        (
            "0x500000000000:-1",
            "not <address>:<size>: the size has a sign.",
            syntax,
        ),
        (
            "0x500000000000: 64M",
            "not <address>:<size>: the size is not a number.",
            syntax,
        ),
        (
            "0x500000000000:12Q",
            "not <address>:<size>: the size ends in something other than k, M or G.",
            syntax,
        ),
        (
            "0x500000000000:99999999999999999999",
            "not <address>:<size>: the size is too large.",
            syntax,
        ),
        (
            "0x500000000000:17179869184G",
            "not <address>:<size>: the size is too large.",
            syntax,
        ),
        (
            "99999999999999999999:64M",
            "not <address>:<size>: the address is too large.",
            syntax,
        ),
        (
            "0x500000000123:1M",
            "the address must be a non-zero multiple of the page size.",
            syntax,
        ),
        (
            "0:1M",
            "the address must be a non-zero multiple of the page size.",
            syntax,
        ),
        (
            "0x500000000000:0",
            "the region is too small: the least glibc can use is 132k.",
            "Give a larger size.",
        ),
        (
            "0x500000000000:4096",
            "the region is too small: the least glibc can use is 132k.",
            "Give a larger size.",
        ),
        (
            "0x500000000000:128k",
            "the region is too small: the least glibc can use is 132k.",
            "Give a larger size.",
        ),
        (
            "0xffffffffffff000:1M",
            "cannot map the region at that address: ",
            "Pick another address",
        ),
    ] {
        let out = run(&mut with(spec));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = format!("malloc-standalone: MALLOC_STANDALONE_HEAP={spec}: {says}");
        assert!(
            out.status.code() == Some(127)
                && out.stdout.is_empty()
                && stderr.lines().count() == 2
                && stderr.starts_with(&first)
                && stderr.lines().nth(1).is_some_and(|l| l.contains(hint)),
            "glibc {version}: MALLOC_STANDALONE_HEAP={spec} should stop the program (exit 127) \
             with {first:?} and then {hint:?}, got {} and:\n{stderr}",
            out.status
        );
    }
}
