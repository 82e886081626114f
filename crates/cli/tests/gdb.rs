//! The gdb `heap` command (gdb/malloc_standalone.py), in gdb batch mode on
//! `tests/c/gdb_heap.c` stopped after allocations whose places are known:
//! for every version, the tcache entries, the fastbin (where the version
//! has them), the unsorted and the large bin it lists must be exactly the
//! chunks the program freed there, in list order, and the chunk walk must
//! show them free or in use; a threaded program's second arena must show.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::run::{clean, compile, run_ok, Abi};
use common::{build_so, pinned, scratch};

// One test module per version with a committed manifest.
common::per_version! {
    heap_lists_what_the_program_freed => lists_what_was_freed,
    heap_shows_a_threads_arena => threads_arena,
}

fn program() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("gdb_heap", Abi::Host, &["-g"], &scratch("programs")))
}

/// Every version fills a tcache bin with this many chunks (set through
/// GLIBC_TUNABLES: 2.44's default is 16, earlier ones' 7).
const TCACHE_COUNT: usize = 7;

/// gdb's output for `heap` subcommands run at `heap_is_ready`.
fn session(so: &Path, args: &[&str], commands: &[&str]) -> String {
    let script = common::project().join("gdb/malloc_standalone.py");
    let mut cmd = clean("gdb");
    cmd.args(["-batch", "-nx", "-ex"])
        .arg(format!("source {}", script.display()))
        .arg("-ex")
        .arg(format!(
            "set exec-wrapper env LD_PRELOAD={} GLIBC_TUNABLES=glibc.malloc.tcache_count={TCACHE_COUNT}",
            so.display()
        ))
        .args(["-ex", "break heap_is_ready", "-ex"])
        .arg(format!("run {}", args.join(" ")));
    for c in commands {
        cmd.arg("-ex").arg(c);
    }
    cmd.arg(program());
    run_ok(&mut cmd)
}

/// The pointers after `label` on the program's line that starts with it.
fn printed(out: &str, label: &str) -> Vec<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("the program printed no {label}:\n{out}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The pointers `heap` listed on its line that starts with `label`.
fn listed(out: &str, label: &str) -> Vec<String> {
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("heap listed no `{label}`:\n{out}"))
        .trim_start()
        .rsplit_once(": ")
        .map_or_else(|| out_of_label(out, label), |(_, ptrs)| ptrs)
        .split(", ")
        .map(str::to_owned)
        .collect()
}

/// The rest of the line after `label`, where no count precedes the list.
fn out_of_label<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_default()
        .trim()
}

fn lists_what_was_freed(version: &str) {
    let so = build_so(version);
    let fastbins = pinned(version).features.fastbins;
    let n = TCACHE_COUNT.to_string();
    let out = session(
        &so,
        &[&n, if fastbins { "1" } else { "0" }],
        &["heap tcache", "heap bins", "heap chunks"],
    );
    assert!(
        out.contains(&format!("glibc {version} allocator (")),
        "glibc {version}:\n{out}"
    );
    if pinned(version).features.tcache {
        // tcache: newest first, exactly what was freed.
        assert_eq!(
            listed(&out, "tcache bin 0 (chunk size 0x20):"),
            printed(&out, "tcache20"),
            "glibc {version}:\n{out}"
        );
        assert_eq!(
            listed(&out, "tcache bin 2 (chunk size 0x40):"),
            printed(&out, "tcache40"),
            "glibc {version}:\n{out}"
        );
        if fastbins {
            assert_eq!(
                listed(&out, "fastbin 2 (chunk size 0x40):"),
                printed(&out, "fastbin40"),
                "glibc {version}:\n{out}"
            );
        } else {
            assert!(!out.contains("fastbin"), "glibc {version}:\n{out}");
        }
    } else {
        // Before 2.26 the chunks the program meant for the tcache go to the
        // fastbins too, newest first.
        assert!(
            out.contains("tcache: this version has none"),
            "glibc {version}:\n{out}"
        );
        assert_eq!(
            listed(&out, "fastbin 0 (chunk size 0x20):"),
            printed(&out, "tcache20"),
            "glibc {version}:\n{out}"
        );
        let mut fast40 = printed(&out, "fastbin40");
        fast40.extend(printed(&out, "tcache40"));
        assert_eq!(
            listed(&out, "fastbin 2 (chunk size 0x40):"),
            fast40,
            "glibc {version}:\n{out}"
        );
    }
    assert_eq!(
        listed(&out, "unsorted bin:"),
        printed(&out, "unsorted"),
        "glibc {version}:\n{out}"
    );
    let large = printed(&out, "large");
    let large_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("large bin "))
        .unwrap_or_else(|| panic!("glibc {version}: no large bin listed:\n{out}"));
    assert!(
        large_line.ends_with(&format!(": {}", large[0])),
        "glibc {version}: {large_line}"
    );
    // The chunk walk: the binned chunks are free, the tcached ones in use.
    let chunk = |mem: &str| {
        out.lines()
            .find(|l| l.contains(&format!("(mem {mem})")))
            .unwrap_or_else(|| panic!("glibc {version}: no chunk with mem {mem}:\n{out}"))
            .to_string()
    };
    assert!(
        chunk(&large[0]).ends_with(" size 0x510 PREV_INUSE free"),
        "{}",
        chunk(&large[0])
    );
    assert!(chunk(&printed(&out, "unsorted")[0]).ends_with(" free"));
    for p in printed(&out, "tcache20") {
        assert!(chunk(&p).contains(" size 0x20 ") && chunk(&p).ends_with(" in use"));
    }
    assert!(
        out.lines().any(|l| l.ends_with(" top")),
        "glibc {version}:\n{out}"
    );
}

fn threads_arena(version: &str) {
    let so = build_so(version);
    let out = session(&so, &["threads"], &["heap arenas"]);
    let arenas: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("main_arena 0x") || l.starts_with("arena 0x"))
        .collect();
    assert_eq!(arenas.len(), 2, "glibc {version}: a thread's arena:\n{out}");
    assert!(arenas[0].starts_with("main_arena") && arenas[1].starts_with("arena 0x"));
}
