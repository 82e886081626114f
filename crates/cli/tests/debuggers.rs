//! GEF's and pwndbg's heap commands on our allocators, with the unmodified
//! snapshots in `../shared/third-party/` (its README says where they come
//! from), sourced with `gdb/malloc_standalone.py` and nothing else: no
//! setting of either. `tests/c/debuggers_heap.c` fills the tcache, a
//! fastbin, the unsorted, a small and a large bin and prints every freed
//! chunk; each bin the tool lists must hold exactly those chunks, in order,
//! with the count the tool states.
//!
//! GEF handles the versions with fastbins (2.23 to 2.42); pwndbg those up to
//! 2.41 (2.42 renamed `mp_.tcache_bins`, so it finds no tcache there: its
//! `bins` is checked but for the tcache). For every other version the same
//! session checks our own command (`glibc-heap`) instead, which handles
//! every version (and on pwndbg's 2.42 too). One gdb session
//! per version per tool runs all of its commands.
//!
//! pwndbg needs its Python dependencies: a copy of the snapshot with a
//! virtual environment is made once in the cache
//! (`<cache>/third-party/pwndbg-<commit>/`, under a lock, through a
//! temporary directory renamed into place), with the pins of the
//! snapshot's README installed by pip.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::run::{clean, compile, run, run_ok, Abi};
use common::{build_so, pinned, scratch};

common::per_version! {
    gef_lists_what_the_program_freed => gef,
    pwndbg_lists_what_the_program_freed => pwndbg,
}

/// Every version with a tcache fills each tcache bin with this many chunks
/// (set through GLIBC_TUNABLES: 2.44's default is 16, earlier ones' 7).
const TCACHE_COUNT: usize = 7;

/// The newest version pwndbg's snapshot handles: 2.42 renamed
/// `mp_.tcache_bins` (to `tcache_small_bins`), and pwndbg takes a
/// `mp_` without it for a glibc without a tcache.
const PWNDBG_NEWEST: (u32, u32) = (2, 41);

fn third_party() -> PathBuf {
    common::project().join("../shared/third-party")
}

fn gef_script() -> PathBuf {
    let p = third_party().join("gef/gef.py");
    assert!(
        p.is_file(),
        "{} is missing: the tests need the GEF snapshot of ../shared/third-party",
        p.display()
    );
    p
}

fn our_script() -> PathBuf {
    common::project().join("gdb/malloc_standalone.py")
}

fn program() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("debuggers_heap", Abi::Host, &["-g"], &scratch("programs")))
}

fn parse_version(v: &str) -> (u32, u32) {
    let (a, b) = v.split_once('.').expect("a version like 2.31");
    (a.parse().unwrap(), b.parse().unwrap())
}

// ----------------------------------------------------------------- pwndbg

/// The pins of `../shared/third-party/README.md` (the git dependency `pt`
/// is not needed).
const PWNDBG_PINS: &[&str] = &[
    "capstone==5.0.3",
    "ipython==8.28.0",
    "setuptools==70.3.0",
    "psutil==5.9.8",
    "pwntools==4.14.0b1",
    "pycparser==2.22",
    "pyelftools==0.29",
    "pygments==2.18.0",
    "ropgadget==7.3",
    "sortedcontainers==2.4.0",
    "tabulate==0.9.0",
    "typing-extensions==4.12.2",
    "unicorn==2.1.1",
    "requests==2.32.3",
];

/// The snapshot's commit, from the README's table.
fn pwndbg_commit() -> String {
    let readme = third_party().join("README.md");
    let text = std::fs::read_to_string(&readme)
        .unwrap_or_else(|e| panic!("reading {}: {e}", readme.display()));
    let re = regex::Regex::new(r"pwndbg/pwndbg \| ([0-9a-f]{40})").unwrap();
    re.captures(&text)
        .unwrap_or_else(|| panic!("{} names no pwndbg commit", readme.display()))[1]
        .to_owned()
}

/// `gdbinit.py` of a copy of the pwndbg snapshot with its dependencies,
/// made once in the cache.
fn pwndbg_script() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::cache()
            .root()
            .join("third-party")
            .join(format!("pwndbg-{}", pwndbg_commit()));
        let parent = dir.parent().unwrap().to_owned();
        std::fs::create_dir_all(&parent)
            .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        let _lock = source::temp::lock(&parent.join("pwndbg.lock"), || {
            eprintln!(
                "waiting for another test setting up pwndbg in {}",
                parent.display()
            )
        })
        .expect("the lock of the pwndbg set-up");
        if !dir.join(".venv/poetry.lock.hash").is_file() {
            set_up_pwndbg(&parent, &dir);
        }
        dir.join("gdbinit.py")
    })
}

/// How long pip may take to install [`PWNDBG_PINS`].
const PIP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(900);

/// The venv is made by Debian's python3, which is gdb's Python: the
/// compiled dependencies (capstone, unicorn) must match its version.
fn set_up_pwndbg(parent: &Path, dir: &Path) {
    let venv_ok = clean("/usr/bin/python3")
        .args(["-c", "import venv, ensurepip"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        venv_ok,
        "pwndbg's dependencies need a Python virtual environment, and /usr/bin/python3 cannot \
         make one (the modules venv and ensurepip are missing): install Debian's python3-venv \
         (`./dev setup` does: apt-get install python3-venv)"
    );
    let started = std::time::Instant::now();
    let tmp = source::temp::dir_in(parent, ".tmp-pwndbg").expect("a temporary directory");
    let copy = tmp.path().join("pwndbg");
    common::copy_dir(&third_party().join("pwndbg"), &copy);
    run_ok(
        clean("/usr/bin/python3")
            .args(["-m", "venv", ".venv"])
            .current_dir(&copy),
    );
    // Downloads and maybe compiles: longer than a test program may take.
    let mut pip = Command::new(copy.join(".venv/bin/pip"));
    pip.args(["install", "--disable-pip-version-check", "-q"])
        .args(PWNDBG_PINS)
        .current_dir(&copy)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let ran = harness::process::run(&mut pip, PIP_TIMEOUT).expect("run pip");
    let ok = ran.status.is_some_and(|s| s.success());
    assert!(
        ok,
        "installing pwndbg's dependencies from PyPI failed ({:?}, limit {PIP_TIMEOUT:?}); \
         pwndbg's tests need them (network access to PyPI, once):\n{}",
        ran.status,
        String::from_utf8_lossy(&ran.stderr)
    );
    // Otherwise gdbinit.py runs poetry to install them again.
    let lock = std::fs::read(copy.join("poetry.lock")).expect("pwndbg's poetry.lock");
    let hash = manifest::digest::sha256(&lock);
    std::fs::write(copy.join(".venv/poetry.lock.hash"), format!("{hash}\n")).unwrap();
    std::fs::rename(&copy, dir)
        .unwrap_or_else(|e| panic!("renaming {} to {}: {e}", copy.display(), dir.display()));
    eprintln!(
        "set up pwndbg in {} in {:.0} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
}

// ----------------------------------------------------------------- sessions

/// gdb's output for `commands` run at `heap_is_ready`, after sourcing
/// `scripts` in order; each command's output follows a line `@@@ <command>`.
fn session(version: &str, scripts: &[&Path], commands: &[&str]) -> String {
    let so = build_so(version);
    let p = pinned(version);
    let n = if p.features.tcache { TCACHE_COUNT } else { 0 };
    let mut cmd = clean("gdb");
    cmd.args(["-batch", "-nx"]);
    for s in scripts {
        cmd.arg("-ex").arg(format!("source {}", s.display()));
    }
    cmd.arg("-ex")
        .arg(format!(
            "set exec-wrapper env LD_PRELOAD={} GLIBC_TUNABLES=glibc.malloc.tcache_count={TCACHE_COUNT}",
            so.display()
        ))
        .args(["-ex", "break heap_is_ready", "-ex"])
        .arg(format!("run {n} {}", u8::from(p.features.fastbins)));
    for c in commands {
        cmd.arg("-ex")
            .arg(format!("echo @@@ {c}\\n"))
            .arg("-ex")
            .arg(c);
    }
    cmd.arg(program());
    let out = run(&mut cmd);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // Colours, and the marks around them for readline (GEF's \x01 and
    // \x02): neither plugin is told anything, so they go here.
    let text = regex::Regex::new("\x1b\\[[0-9;]*[A-Za-z]|[\x01\x02]")
        .unwrap()
        .replace_all(&text, "")
        .into_owned();
    assert!(
        out.status.success(),
        "glibc {version}: gdb failed ({}):\n{text}",
        out.status
    );
    text
}

/// The output of `command` in a session (up to the next command's).
fn part<'a>(out: &'a str, command: &str) -> &'a str {
    let marker = format!("@@@ {command}\n");
    let start = out
        .find(&marker)
        .unwrap_or_else(|| panic!("no output of `{command}`:\n{out}"))
        + marker.len();
    let rest = &out[start..];
    &rest[..rest.find("@@@ ").unwrap_or(rest.len())]
}

/// What the program freed, by list: `tcache 0x20`, `tcache 0x90`,
/// `fast 0x20`, `unsorted`, `small`, `large`; user pointers, newest first.
fn freed(out: &str) -> BTreeMap<String, Vec<u64>> {
    let mut m = BTreeMap::new();
    for (label, key) in [
        ("tcache20", "tcache 0x20"),
        ("tcache90", "tcache 0x90"),
        ("fast20", "fast 0x20"),
        ("unsorted", "unsorted"),
        ("small", "small"),
        ("large", "large"),
    ] {
        if let Some(line) = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{label} ")))
        {
            m.insert(key.to_owned(), line.split_whitespace().map(hex).collect());
        }
    }
    assert!(
        m.contains_key("large"),
        "the program printed no lists:\n{out}"
    );
    m
}

fn hex(s: &str) -> u64 {
    let t = s.trim().trim_end_matches(',');
    u64::from_str_radix(t.trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("not a hex address: {s:?}: {e}"))
}

/// The chunk header of a user pointer.
fn chunk(mem: u64) -> u64 {
    mem - 16
}

/// Every hex number after `key=` on a line (GEF's `Chunk(addr=...)`).
fn after(line: &str, key: &str) -> Vec<u64> {
    line.match_indices(key)
        .map(|(i, _)| {
            let s = &line[i + key.len()..];
            let end = s
                .find(|c: char| !c.is_ascii_hexdigit() && c != 'x')
                .unwrap_or(s.len());
            hex(&s[..end])
        })
        .collect()
}

// ----------------------------------------------------------------- our command

/// Our `glibc-heap bins` and `glibc-heap tcache`, by list as [`freed`] names them.
fn ours(out: &str) -> BTreeMap<String, Vec<u64>> {
    let mut m = BTreeMap::new();
    let ptrs = |s: &str| -> Vec<u64> { s.split(", ").map(hex).collect() };
    for l in part(out, "glibc-heap tcache")
        .lines()
        .chain(part(out, "glibc-heap bins").lines())
    {
        let l = l.trim();
        let key = if let Some(r) = l.strip_prefix("tcache bin ") {
            let size = r
                .split("chunk size ")
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap();
            format!("tcache {size}")
        } else if let Some(r) = l.strip_prefix("fastbin ") {
            let size = r
                .split("chunk size ")
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap();
            format!("fast {size}")
        } else if l.starts_with("unsorted bin:") {
            "unsorted".into()
        } else if l.starts_with("small bin ") {
            "small".into()
        } else if l.starts_with("large bin ") {
            "large".into()
        } else {
            continue;
        };
        m.insert(key, ptrs(l.rsplit_once(": ").unwrap().1));
    }
    m
}

/// For a version the tool does not handle: our command, in the same kind of
/// session (the tool loaded too), lists exactly what was freed.
fn ours_instead(version: &str, plugin: &Path) {
    let out = session(
        version,
        &[plugin, &our_script()],
        &["glibc-heap tcache", "glibc-heap bins"],
    );
    assert_eq!(
        ours(&out),
        freed(&out),
        "glibc {version}, our command:\n{out}"
    );
}

// ----------------------------------------------------------------- GEF

fn gef(version: &str) {
    if !pinned(version).features.fastbins {
        return ours_instead(version, &gef_script());
    }
    let out = session(
        version,
        &[&gef_script(), &our_script()],
        &[
            "heap bins",
            "heap arenas",
            "heap chunks",
            "glibc-heap arenas",
        ],
    );
    let want = freed(&out);
    assert_eq!(
        gef_bins(part(&out, "heap bins")),
        want,
        "glibc {version}, GEF:\n{out}"
    );

    // One arena, ours.
    let arenas: Vec<u64> = part(&out, "heap arenas")
        .lines()
        .flat_map(|l| after(l, "Arena(base="))
        .collect();
    assert_eq!(arenas, [main_arena(&out)], "glibc {version}:\n{out}");

    // The chunk walk reaches every freed chunk and the top.
    let chunks = part(&out, "heap chunks");
    let walked: Vec<u64> = chunks
        .lines()
        .flat_map(|l| after(l, "Chunk(addr="))
        .collect();
    for p in want.values().flatten() {
        assert!(
            walked.contains(p),
            "glibc {version}: {p:#x} not walked:\n{chunks}"
        );
    }
    assert!(chunks.contains("top chunk"), "glibc {version}:\n{chunks}");
}

/// `heap bins` of GEF, by list as [`freed`] names them (its addresses are
/// user pointers).
fn gef_bins(text: &str) -> BTreeMap<String, Vec<u64>> {
    let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for l in text.lines() {
        let size = |l: &str| after(l, "size=")[0];
        if l.starts_with("Tcachebins[") {
            let list = after(l, "Chunk(addr=");
            let count = after(l, "count=")[0] as usize;
            assert_eq!(count, list.len(), "GEF's count: {l}");
            m.insert(format!("tcache {:#x}", size(l)), list);
            current = None;
        } else if l.starts_with("Fastbins[") {
            let list = after(l, "Chunk(addr=");
            if !list.is_empty() {
                m.insert(format!("fast {:#x}", size(l)), list);
            }
            current = None;
        } else if l.starts_with("[+] unsorted_bins[") {
            current = Some("unsorted".into());
        } else if l.starts_with("[+] small_bins[") {
            current = Some("small".into());
        } else if l.starts_with("[+] large_bins[") {
            current = Some("large".into());
        } else if let (Some(c), true) = (&current, l.trim_start().starts_with("→")) {
            m.entry(c.clone())
                .or_default()
                .extend(after(l, "Chunk(addr="));
        } else if l.starts_with("[+] Found") {
            current = None;
        }
    }
    m
}

/// The main arena's address, as our `glibc-heap arenas` gives it.
fn main_arena(out: &str) -> u64 {
    part(out, "glibc-heap arenas")
        .lines()
        .find_map(|l| l.strip_prefix("main_arena "))
        .map(|l| hex(l.split(':').next().unwrap()))
        .unwrap_or_else(|| panic!("our command listed no main_arena:\n{out}"))
}

// ----------------------------------------------------------------- pwndbg

fn pwndbg_handles(version: &str) -> bool {
    pinned(version).features.fastbins && parse_version(version) <= PWNDBG_NEWEST
}

fn pwndbg(version: &str) {
    if pinned(version).features.fastbins && !pwndbg_handles(version) {
        // 2.42: pwndbg's lists are right but for the tcache, which it
        // does not find (what docs/debuggers.md says); ours has it all.
        let out = session(
            version,
            &[pwndbg_script(), &our_script()],
            &["bins", "glibc-heap tcache", "glibc-heap bins"],
        );
        let mut want = freed(&out);
        assert_eq!(ours(&out), want, "glibc {version}, our command:\n{out}");
        want.retain(|k, _| !k.starts_with("tcache"));
        assert_eq!(
            pwndbg_bins(part(&out, "bins")),
            want,
            "glibc {version}, pwndbg:\n{out}"
        );
        return;
    }
    if !pwndbg_handles(version) {
        return ours_instead(version, pwndbg_script());
    }
    let out = session(
        version,
        &[pwndbg_script(), &our_script()],
        &[
            "heap",
            "bins",
            "arenas",
            "vis_heap_chunks 64",
            "glibc-heap arenas",
        ],
    );
    check_pwndbg(version, &out, main_arena(&out));
}

fn check_pwndbg(version: &str, out: &str, arena: u64) {
    let want = freed(out);
    assert_eq!(
        pwndbg_bins(part(out, "bins")),
        want,
        "glibc {version}, pwndbg:\n{out}"
    );

    // The list each freed chunk is in, as `heap` and `vis_heap_chunks` name them.
    let kind = |key: &str| match key.split(' ').next().unwrap() {
        "tcache" => "tcachebins",
        "fast" => "fastbins",
        "unsorted" => "unsortedbin",
        "small" => "smallbins",
        _ => "largebins",
    };
    let mut want_heap: BTreeMap<u64, &str> = BTreeMap::new();
    for (key, ptrs) in &want {
        for p in ptrs {
            want_heap.insert(chunk(*p), kind(key));
        }
    }
    // `heap`: every free chunk, with its list.
    let mut got_heap: BTreeMap<u64, &str> = BTreeMap::new();
    let heap = part(out, "heap");
    let mut free_kind: Option<&str> = None;
    for l in heap.lines() {
        if let Some(r) = l.strip_prefix("Free chunk (") {
            free_kind = Some(&r[..r.find(')').unwrap()]);
        } else if let (Some(k), Some(a)) = (free_kind, l.strip_prefix("Addr: ")) {
            got_heap.insert(hex(a), k);
            free_kind = None;
        } else if l.starts_with("Allocated chunk") || l.starts_with("Top chunk") {
            free_kind = None;
        }
    }
    assert_eq!(
        got_heap, want_heap,
        "glibc {version}, pwndbg `heap`:\n{heap}"
    );

    // `arenas`: one, ours.
    let arenas: Vec<u64> = part(out, "arenas")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("main_arena"))
        .map(|l| hex(l.split_whitespace().next().unwrap()))
        .collect();
    assert_eq!(arenas, [arena], "glibc {version}:\n{out}");

    // `vis_heap_chunks`: each line a list entry starts (a tcache entry at
    // its user pointer, any other at its chunk) names the list.
    let vis = part(out, "vis_heap_chunks 64");
    let mut got_vis: BTreeMap<u64, &str> = BTreeMap::new();
    for l in vis.lines() {
        if let Some((_, label)) = l.split_once("<-- ") {
            let k = label.split('[').next().unwrap().trim();
            if k == "Top chunk" {
                continue;
            }
            let a = hex(l.split_whitespace().next().unwrap());
            got_vis.insert(if k == "tcachebins" { chunk(a) } else { a }, k);
        }
    }
    assert_eq!(
        got_vis, want_heap,
        "glibc {version}, pwndbg `vis_heap_chunks`:\n{vis}"
    );
}

/// `bins` of pwndbg, by list as [`freed`] names them (user pointers; pwndbg
/// shows a tcache entry's, and every other list's chunk).
fn pwndbg_bins(text: &str) -> BTreeMap<String, Vec<u64>> {
    let mut m = BTreeMap::new();
    let mut section = "";
    for l in text.lines() {
        let t = l.trim();
        if [
            "tcachebins",
            "fastbins",
            "unsortedbin",
            "smallbins",
            "largebins",
        ]
        .contains(&t)
        {
            section = t;
            continue;
        }
        let Some((head, chain)) = t.split_once(": ") else {
            continue;
        };
        // The entries: up to the loop-back mark, without the bin headers
        // (`0x7f... (main_arena+96)`).
        let entries: Vec<u64> = chain
            .split("◂—")
            .next()
            .unwrap()
            .split("—▸")
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.contains('('))
            .map(hex)
            .collect();
        let (key, list) = match section {
            "tcachebins" => {
                let (size, count) = head.split_once(" [").unwrap();
                let count: usize = count.trim_end_matches(']').trim().parse().unwrap();
                assert_eq!(count, entries.len(), "pwndbg's count: {l}");
                (format!("tcache {size}"), entries)
            }
            "fastbins" => (format!("fast {head}"), entries),
            "unsortedbin" => ("unsorted".to_owned(), entries),
            "smallbins" => ("small".to_owned(), entries),
            "largebins" => ("large".to_owned(), entries),
            _ => continue,
        };
        let list = if section == "tcachebins" {
            list
        } else {
            list.into_iter().map(|c| c + 16).collect()
        };
        m.insert(key, list);
    }
    m
}

// ----------------------------------------------------------------- together

/// pwndbg finds the version in the .so alone (`__libc_version`): its lists
/// are right on 2.31 (no safe-linking; the host's glibc has it) without our
/// script.
#[test]
fn pwndbg_reads_the_version_from_the_so_alone() {
    let out = session(
        "2.31",
        &[pwndbg_script()],
        &[
            "heap",
            "bins",
            "arenas",
            "vis_heap_chunks 64",
            "p/x &main_arena",
        ],
    );
    let arena = part(&out, "p/x &main_arena")
        .lines()
        .find_map(|l| l.split_once(" = ").map(|(_, a)| hex(a)))
        .unwrap();
    check_pwndbg("2.31", &out, arena);
}

/// Sourced after a plugin, our command is `glibc-heap` only and theirs
/// stays `heap`; sourced before, theirs takes `heap` and ours stays
/// `glibc-heap`. Both ways the plugin is told the version: its lists
/// (`theirs`, checked by `check`) are right on 2.31, where the host's
/// glibc (2.36) would make it undo safe-linking.
fn coexist(plugin: &Path, theirs: &str, check: impl Fn(&str) -> BTreeMap<String, Vec<u64>>) {
    for order in [[plugin, &our_script()], [&our_script(), plugin]] {
        let out = session(
            "2.31",
            &order,
            &[theirs, "glibc-heap tcache", "glibc-heap bins"],
        );
        let want = freed(&out);
        assert_eq!(
            check(part(&out, theirs)),
            want,
            "`{theirs}` ({order:?}):\n{out}"
        );
        assert_eq!(ours(&out), want, "ours ({order:?}):\n{out}");
    }
}

#[test]
fn our_command_and_gefs_coexist_in_both_orders() {
    coexist(&gef_script(), "heap bins", gef_bins);
}

#[test]
fn our_command_and_pwndbgs_coexist_in_both_orders() {
    // pwndbg's `heap` is a command of its own (GEF's a prefix of
    // subcommands): `heap` must be pwndbg's, `bins` tells its lists.
    coexist(pwndbg_script(), "bins", pwndbg_bins);
    for order in [
        [pwndbg_script(), &our_script()],
        [&our_script(), pwndbg_script()],
    ] {
        let out = session("2.31", &order, &["heap"]);
        assert!(
            part(&out, "heap").contains("Free chunk (tcachebins)"),
            "`heap` is not pwndbg's ({order:?}):\n{out}"
        );
    }
}

/// Without a plugin, `heap` is ours.
#[test]
fn heap_is_ours_where_the_name_is_free() {
    let out = session("2.31", &[&our_script()], &["heap bins"]);
    assert!(
        part(&out, "heap bins").contains("glibc 2.31 allocator"),
        "{out}"
    );
}
