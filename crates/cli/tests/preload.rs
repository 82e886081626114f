//! The built allocators themselves, for every version with a committed
//! manifest: each `libmalloc-glibc-<version>.so` is built from its manifest
//! by `resolver build` (once per version), then checked for symbol hygiene,
//! run under `LD_PRELOAD` in real programs and in our C programs
//! (`tests/c/`), and compared with the real glibc of the same version
//! (Debian's `libc6`, see `harness::reference_libc`): same heap
//! offsets for the same call sequence, same abort on a double free.
//!
//! The comparison is left out where there is no reference
//! (`common::has_reference`): the releases pinned to GNU's tarball, which
//! Debian's archive does not carry, and 2.42, whose `libc6` Debian never
//! shipped. They are run under our allocator only (deterministic offsets,
//! the version's own abort message read from its malloc.c), and the test
//! says so.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use common::{build_so, pinned, reference, scratch};
use object::read::elf::{Dyn, ElfFile64, Sym};
use object::{Endianness, SymbolIndex};

// One test module per version with a committed manifest.
common::per_version! {
    symbol_hygiene => symbol_hygiene,
    real_programs_use_it => real_programs,
    interposes_the_whole_api => interposition,
    threads_and_fork => threads_and_fork,
    heap_offsets_match_real_glibc => heap_offsets,
    double_free_aborts_like_real_glibc => double_free,
}

/// Releases older than the pinned ones that the same approach reaches: not
/// pinned (to keep the matrix's cost down), but resolved from their release
/// trees in the mirror, built, and run like the pinned ones. (2.17 and 2.19
/// are refused, with their reason: `cli.rs`.)
mod older_releases {
    #[test]
    fn v2_20_resolves_builds_and_runs() {
        super::older_release("2.20")
    }
    #[test]
    fn v2_21_resolves_builds_and_runs() {
        super::older_release("2.21")
    }
    #[test]
    fn v2_22_resolves_builds_and_runs() {
        super::older_release("2.22")
    }
}

fn older_release(version: &str) {
    let dir = scratch(&format!("older/{version}"));
    // GNU's sha256 of these releases is not at hand, so their manifests pin
    // the tarball as a local one: the release tree of the mirror.
    let tarball = common::mirror()
        .expect("a mirror of release trees (../shared/glibc-sources)")
        .join(format!("glibc-{version}.tar.xz"));
    let resolved = run_ok(
        common::resolver_command()
            .args(["resolve", "--src"])
            .arg(&tarball)
            .arg("--out")
            .arg(dir.join("manifests")),
    );
    let manifest = PathBuf::from(resolved.lines().last().unwrap_or_default().trim());
    let built = run_ok(
        common::resolver_command()
            .args(["build", "--manifest"])
            .arg(&manifest)
            .arg("--src")
            .arg(&tarball)
            .arg("--out")
            .arg(dir.join("malloc")),
    );
    let so = PathBuf::from(built.lines().last().unwrap_or_default().trim());
    assert!(so.is_file(), "glibc {version}: no .so at {}", so.display());
    real_programs_on(version, &so);
    threads_and_fork_on(version, &so, None);
}

// ---------------------------------------------------------------- running

use common::run::{clean, clean_env, describe, preloaded, run, run_ok, tail, Abi};

/// `program` on the real glibc of a version.
fn on_reference(r: &harness::ReferenceLibc, program: impl AsRef<OsStr>) -> Command {
    let mut cmd = r.command(program);
    clean_env(&mut cmd);
    cmd
}

// ---------------------------------------------------------------- test programs

/// `tests/c/<name>.c` compiled once per test binary.
fn program(name: &str, abi: Abi) -> PathBuf {
    static DONE: common::OnceMap<PathBuf> = OnceLock::new();
    common::once_per(&DONE, name, || compile(name, abi))
}

fn compile(name: &str, abi: Abi) -> PathBuf {
    let exe = common::run::compile(name, abi, &[], &scratch("programs"));
    if abi == Abi::Old {
        // Every version it asks for must exist in the oldest glibc tested.
        let oldest = common::VERSIONS
            .iter()
            .map(|v| parse_glibc_version(&format!("GLIBC_{v}")).expect("a version"))
            .min()
            .expect("versions");
        let elf = Elf::read(&exe);
        for u in &elf.undefined {
            if let Some((_, version)) = &u.version {
                let v = parse_glibc_version(version)
                    .unwrap_or_else(|| panic!("{name} asks for {}@{version}", u.name));
                assert!(
                    v <= oldest,
                    "{name} asks for {}@{version}, which glibc {}.{} lacks; bind an older version",
                    u.name,
                    oldest.0,
                    oldest.1
                );
            }
        }
    }
    exe
}

/// `(2, 34)` for `"GLIBC_2.34"` (and `(2, 2)` for `"GLIBC_2.2.5"`).
fn parse_glibc_version(v: &str) -> Option<(u32, u32)> {
    let rest = v.strip_prefix("GLIBC_")?;
    let mut parts = rest.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

// ---------------------------------------------------------------- ELF facts

struct Undefined {
    name: String,
    weak: bool,
    /// `(file, version)` from the version needs, e.g. `("libc.so.6", "GLIBC_2.2.5")`.
    version: Option<(String, String)>,
}

/// What the dynamic linker sees of a shared object or program.
struct Elf {
    /// Defined dynamic symbols with global or weak binding.
    exported: BTreeSet<String>,
    undefined: Vec<Undefined>,
    needed: Vec<String>,
    /// DT_FLAGS.
    flags: u64,
}

fn elf_ok<T>(path: &Path, r: object::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{} is not a valid 64-bit ELF file: {e}", path.display()))
}

impl Elf {
    fn read(path: &Path) -> Elf {
        let data = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let file = elf_ok(path, ElfFile64::<Endianness>::parse(&*data));
        let endian = file.endian();
        let sections = file.elf_section_table();
        let versions = elf_ok(path, sections.versions(endian, &*data));
        let dynsym = file.elf_dynamic_symbol_table();
        let mut exported = BTreeSet::new();
        let mut undefined = Vec::new();
        for (i, sym) in dynsym.symbols().iter().enumerate().skip(1) {
            let name =
                String::from_utf8_lossy(elf_ok(path, dynsym.symbol_name(endian, sym))).into_owned();
            let bind = sym.st_bind();
            if sym.st_shndx(endian) != object::elf::SHN_UNDEF {
                if bind == object::elf::STB_GLOBAL || bind == object::elf::STB_WEAK {
                    exported.insert(name);
                }
                continue;
            }
            let version = versions.as_ref().and_then(|v| {
                let vi = v.version_index(endian, SymbolIndex(i));
                let ver = v.version(vi).ok().flatten()?;
                Some((
                    String::from_utf8_lossy(ver.file().unwrap_or_default()).into_owned(),
                    String::from_utf8_lossy(ver.name()).into_owned(),
                ))
            });
            undefined.push(Undefined {
                name,
                weak: bind == object::elf::STB_WEAK,
                version,
            });
        }
        let mut needed = Vec::new();
        let mut flags = 0;
        if let Some((dyns, link)) = elf_ok(path, sections.dynamic(endian, &*data)) {
            let strings = elf_ok(path, sections.strings(endian, &*data, link));
            for d in dyns {
                match d.tag32(endian) {
                    Some(object::elf::DT_NEEDED) => needed.push(
                        String::from_utf8_lossy(elf_ok(path, d.string(endian, strings)))
                            .into_owned(),
                    ),
                    Some(object::elf::DT_FLAGS) => flags = d.d_val(endian),
                    _ => {}
                }
            }
        }
        Elf {
            exported,
            undefined,
            needed,
            flags,
        }
    }
}

// ---------------------------------------------------------------- the checks

/// The .so exports exactly the manifest's API, needs only glibc's own
/// objects, leaves nothing undefined that libc does not provide (it was
/// linked with -z defs), and uses initial-exec TLS (no `__tls_get_addr`).
fn symbol_hygiene(version: &str) {
    let so = build_so(version);
    let m = pinned(version);
    let elf = Elf::read(&so);

    let wanted: BTreeSet<String> = m.exports.iter().map(|e| e.name.clone()).collect();
    let extra: Vec<_> = elf.exported.difference(&wanted).collect();
    let missing: Vec<_> = wanted.difference(&elf.exported).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{} must export exactly the manifest's {} names: it also exports {extra:?} and lacks {missing:?}",
        so.display(),
        wanted.len()
    );

    // libc.so.6 and nothing else (the loader's __libc_stack_end is a weak
    // reference, resolved from the global scope every process has).
    assert_eq!(
        elf.needed,
        ["libc.so.6"],
        "{}: DT_NEEDED must be libc.so.6 alone",
        so.display()
    );

    assert!(
        m.flags.ldflags.iter().any(|f| f == "-Wl,-z,defs"),
        "the manifest must link with -z defs: {:?}",
        m.flags.ldflags
    );
    // Weak references crtstuff makes in every shared object.
    let crt = [
        "_ITM_deregisterTMCloneTable",
        "_ITM_registerTMCloneTable",
        "__gmon_start__",
    ];
    let mut stray = Vec::new();
    for u in &elf.undefined {
        assert_ne!(
            u.name,
            "__tls_get_addr",
            "{} calls __tls_get_addr: its TLS is not initial-exec",
            so.display()
        );
        match &u.version {
            Some((file, v)) if file == "libc.so.6" && v.starts_with("GLIBC_2.") => {}
            None if u.weak && crt.contains(&u.name.as_str()) => {}
            // The startup stack, for tunables read as ld.so reads them.
            Some((file, v))
                if u.weak
                    && u.name == "__libc_stack_end"
                    && file == "ld-linux-x86-64.so.2"
                    && v.starts_with("GLIBC_2.") => {}
            None if u.weak && u.name == "__libc_stack_end" => {}
            other => stray.push(format!("{} ({other:?})", u.name)),
        }
    }
    assert!(
        stray.is_empty(),
        "{} has undefined symbols that are not versioned glibc symbols: {stray:?}",
        so.display()
    );
    assert!(
        elf.flags & u64::from(object::elf::DF_STATIC_TLS) != 0,
        "{} lacks DF_STATIC_TLS (DT_FLAGS {:#x}): its TLS should be initial-exec",
        so.display(),
        elf.flags
    );
}

/// One `malloc` or `free` binding that `LD_DEBUG=bindings` logged.
struct Binding {
    /// The log file (one per process).
    log: String,
    from: String,
    to: String,
    symbol: String,
}

/// The `malloc` and `free` bindings logged into `dir`.
fn bindings(dir: &Path) -> Vec<Binding> {
    // "binding file /bin/ls [0] to /x/libmalloc-glibc-2.36.so [0]: normal symbol `malloc' [GLIBC_2.2.5]"
    let re = regex::Regex::new(
        r"binding file (.*) \[\d+\] to (.*) \[\d+\]: normal symbol `(malloc|free)'",
    )
    .unwrap();
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).expect("LD_DEBUG_OUTPUT directory") {
        let path = entry.expect("entry").path();
        let text = fs::read_to_string(&path).expect("LD_DEBUG log");
        let log = path.file_name().unwrap().to_string_lossy().into_owned();
        for c in re.captures_iter(&text) {
            found.push(Binding {
                log: log.clone(),
                from: c[1].to_owned(),
                to: c[2].to_owned(),
                symbol: c[3].to_owned(),
            });
        }
    }
    found
}

/// Runs `cmd` with our allocator preloaded and the loader logging its
/// bindings; checks that in every process it started, malloc and free are
/// bound to our .so, and returns its stdout and how many processes logged
/// bindings.
///
/// One indirection is allowed: a non-PIE executable that takes the address
/// of `malloc` or `free` (python3 and cc1 do) defines a canonical PLT entry
/// for it, and data references (its own and other objects') bind to that
/// entry for pointer equality; the entry jumps through the executable's own
/// call binding, which must be to our .so.
fn run_bound(version: &str, so: &Path, label: &str, mut cmd: Command) -> (String, usize) {
    let dir = scratch(&format!("bindings/{version}/{label}"));
    for e in fs::read_dir(&dir).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    cmd.env("LD_PRELOAD", so)
        .env("LD_DEBUG", "bindings")
        .env("LD_DEBUG_OUTPUT", dir.join(label));
    let started = Instant::now();
    let out = run_ok(&mut cmd);
    let found = bindings(&dir);
    let ours = so.to_string_lossy();
    let to_ours = |log: &str, from: &str, symbol: &str| {
        found
            .iter()
            .any(|b| b.log == log && b.from == from && b.symbol == symbol && b.to == ours)
    };
    let elsewhere: Vec<String> = found
        .iter()
        .filter(|b| b.to != ours && !to_ours(&b.log, &b.to, &b.symbol))
        .map(|b| format!("{}: {} -> {} ({})", b.log, b.from, b.to, b.symbol))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "{label} on glibc {version}: malloc/free bound elsewhere than {ours}:\n{}",
        elsewhere.join("\n")
    );
    let processes: BTreeSet<&String> = found.iter().map(|b| &b.log).collect();
    assert!(
        !processes.is_empty(),
        "{label} on glibc {version}: no malloc/free binding was logged at all"
    );
    eprintln!(
        "{label} on glibc {version}: {} process(es) bound to our allocator, {:.2} s",
        processes.len(),
        started.elapsed().as_secs_f64()
    );
    (out, processes.len())
}

/// Real programs run on our allocator: every malloc and free they (and
/// libc inside them) call is bound to our .so, and they do their work.
fn real_programs(version: &str) {
    real_programs_on(version, &build_so(version));
}

fn real_programs_on(version: &str, so: &Path) {
    let so = so.to_path_buf();

    let (out, _) = run_bound(version, &so, "ls", {
        let mut c = clean("/bin/ls");
        c.args(["-la", "/"]);
        c
    });
    assert!(
        out.lines().any(|l| l.ends_with(" ..")),
        "ls -la / printed:\n{out}"
    );

    // Every Python object through malloc: a dict of 200k strings, sorted.
    let (out, _) = run_bound(version, &so, "python3", {
        let mut c = clean("/usr/bin/python3");
        c.env("PYTHONMALLOC", "malloc").args([
            "-c",
            "d = {str(i) * 3: i for i in range(200000)}\n\
             k = sorted(d)\n\
             print(len(k), k[0], k[-1], sum(d.values()))",
        ]);
        c
    });
    let mut keys: Vec<String> = (0..200000).map(|i: u64| i.to_string().repeat(3)).collect();
    keys.sort();
    let expected = format!(
        "200000 {} {} {}\n",
        keys[0],
        keys[keys.len() - 1],
        (0..200000u64).sum::<u64>()
    );
    assert_eq!(out, expected, "python3 on glibc {version}");

    let (out, _) = run_bound(version, &so, "perl", {
        let mut c = clean("/usr/bin/perl");
        c.args([
            "-e",
            "my %h; $h{$_ x 3} = [$_] for 1..200000; my @k = sort keys %h; \
             print scalar(@k), \" $k[0] $k[-1]\\n\";",
        ]);
        c
    });
    let mut keys: Vec<String> = (1..=200000).map(|i: u64| i.to_string().repeat(3)).collect();
    keys.sort();
    assert_eq!(
        out,
        format!("200000 {} {}\n", keys[0], keys[keys.len() - 1]),
        "perl on glibc {version}"
    );

    // gcc runs the driver, cc1 and as: each must be on our allocator, and
    // the object file must not depend on the allocator.
    let (source, expected) = gcc_workload();
    let obj = scratch(&format!("gcc/{version}")).join("big.o");
    let _ = fs::remove_file(&obj);
    let (_, processes) = run_bound(version, &so, "gcc", {
        let mut c = clean("/usr/bin/gcc");
        c.args(["-O2", "-c"]).arg(source).arg("-o").arg(&obj);
        c
    });
    assert!(
        processes >= 3,
        "gcc on glibc {version}: expected the driver, cc1 and as to log bindings, got {processes}"
    );
    let got = fs::read(&obj).unwrap_or_default();
    assert!(
        got == *expected,
        "gcc on glibc {version} wrote a different object file than on the host's allocator"
    );
}

/// A C file that keeps cc1 busy allocating for about half a second (a
/// chain of functions gcc inlines into each other), and the object file
/// gcc makes of it on the host's own allocator.
fn gcc_workload() -> (PathBuf, Arc<Vec<u8>>) {
    static DONE: OnceLock<(PathBuf, Arc<Vec<u8>>)> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = scratch("gcc");
        let mut text = String::from("int f0 (int *a, int n) { return n ? a[0] : 0; }\n");
        for i in 1..150 {
            text.push_str(&format!(
                "int f{i} (int *a, int n) {{ int s = 0; for (int k = 0; k < n; k++) \
                 switch ((a[k] + {i}) % 5) {{ case 0: s += a[k] * {i}; break; \
                 case 1: s ^= a[k] << (k % 7); break; case 2: s -= a[k] / ({i} + 1); break; \
                 default: s += k; }} return s + f{} (a, n / 2); }}\n",
                i - 1
            ));
        }
        let source = dir.join("big.c");
        fs::write(&source, text).unwrap();
        let obj = dir.join("big-host.o");
        run_ok(
            clean("/usr/bin/gcc")
                .args(["-O2", "-c"])
                .arg(&source)
                .arg("-o")
                .arg(&obj),
        );
        (source, Arc::new(fs::read(&obj).unwrap()))
    })
    .clone()
}

/// Every name the .so exports resolves to it in a preloaded process, and
/// libc's own internal allocations (strdup) are counted by our mallinfo.
fn interposition(version: &str) {
    let so = build_so(version);
    let m = pinned(version);
    let names: Vec<&str> = m.exports.iter().map(|e| e.name.as_str()).collect();
    let out = run_ok(preloaded(&so, program("whoami", Abi::Host)).args(&names));
    let so_text = so.to_string_lossy();
    let mut lines = out.lines();
    for name in &names {
        let line = lines.next().unwrap_or_default();
        assert_eq!(
            line,
            format!("{name}\t{so_text}"),
            "glibc {version}: `{name}` should resolve to our .so"
        );
    }
    let last = lines.next().unwrap_or_default();
    let grew: i64 = last
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected whoami output: {last}"));
    assert!(
        grew >= 50000,
        "glibc {version}: libc's strdup of 50000 bytes did not land in our heap ({last})"
    );
}

/// `tests/c/stress.c`: 8 threads churning every allocation function on
/// blocks of 1 B to 2 MiB with their contents checked, blocks freed and
/// reallocated by other threads than their own, forked children that free
/// their parent's blocks and allocate (also in a thread), exit cleanly. The
/// version's reallocarray (its own, or the bridge a stub gives the older
/// ones) is the .so's, as the manifest's exports say.
fn threads_and_fork(version: &str) {
    let reallocarray = pinned(version)
        .exports
        .iter()
        .any(|e| e.name == "reallocarray");
    threads_and_fork_on(version, &build_so(version), Some(reallocarray));
}

fn threads_and_fork_on(version: &str, so: &Path, reallocarray: Option<bool>) {
    let started = Instant::now();
    let mut cmd = preloaded(so, program("stress", Abi::Host));
    if let Some(has) = reallocarray {
        cmd.arg(format!("--reallocarray={}", if has { "yes" } else { "no" }));
    }
    let out = run_ok(&mut cmd);
    assert_eq!(out, "stress ok\n", "glibc {version}");
    eprintln!(
        "stress on glibc {version}: {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// The first line where two outputs differ, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "no difference".into(),
            (x, y) => {
                return format!(
                    "first difference at line {n}:\n  real glibc: {}\n  ours:       {}",
                    x.unwrap_or("<end of output>"),
                    y.unwrap_or("<end of output>")
                )
            }
        }
    }
    unreachable!()
}

/// Runs a program that must succeed silently on stderr.
fn run_quiet(cmd: &mut Command) -> String {
    let what = describe(cmd);
    let out = run(cmd);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what} failed ({}) or complained:\nstderr: {}",
        out.status,
        tail(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The same single-threaded call sequence gives the same heap offsets,
/// usable sizes and mallinfo on our allocator as on the real glibc.
fn heap_offsets(version: &str) {
    let so = build_so(version);
    let prog = program("offsets", Abi::Old);
    let ours = run_quiet(&mut preloaded(&so, &prog));
    assert!(
        ours.lines().count() > 100,
        "offsets printed too little:\n{ours}"
    );
    let again = run_quiet(&mut preloaded(&so, &prog));
    assert_eq!(
        ours,
        again,
        "glibc {version}: two runs differ ({})",
        first_difference(&ours, &again)
    );
    let Some(r) = reference(version) else {
        eprintln!(
            "glibc {version}: Debian has no libc6 of this version, so the offsets \
             are only checked to be deterministic, not compared with a real glibc"
        );
        return;
    };
    let real = run_quiet(&mut on_reference(&r, &prog));
    assert!(
        real == ours,
        "glibc {version}: heap offsets differ from the real glibc ({}); {}",
        r.ld_so.display(),
        first_difference(&real, &ours)
    );
}

/// How a version reports a double free, read from its malloc.c: the
/// program's mode (`tcache`: freed twice in a row, caught by the tcache
/// key from 2.29; `fastbin`: after the tcache of its size is full, caught
/// by the fastbin check of every version before 2.29) and the message.
struct DoubleFree {
    mode: &'static str,
    message: String,
    /// Up to 2.26 malloc_printerr names the program and the pointer, then
    /// prints a backtrace and the memory map.
    with_backtrace: bool,
}

fn double_free_of(version: &str) -> DoubleFree {
    let src = common::tree(version);
    let text = fs::read_to_string(src.root.join("malloc/malloc.c")).expect("malloc.c");
    let re = regex::Regex::new(
        r#"malloc_printerr \("(free\(\): double free detected in tcache[^"]*)"\)"#,
    )
    .unwrap();
    let found: BTreeSet<String> = re.captures_iter(&text).map(|c| c[1].to_owned()).collect();
    assert!(
        found.len() <= 1,
        "glibc {version}'s malloc.c should have at most one tcache double-free message: {found:?}"
    );
    let with_backtrace = text.contains("*** Error in `%s': %s: 0x%s ***");
    match found.into_iter().next() {
        Some(message) => DoubleFree {
            mode: "tcache",
            message,
            with_backtrace,
        },
        None => {
            let message = "double free or corruption (fasttop)".to_owned();
            assert!(
                text.contains(&format!("\"{message}\"")),
                "glibc {version}'s malloc.c has neither a tcache nor a fastbin double-free check"
            );
            DoubleFree {
                mode: "fastbin",
                message,
                with_backtrace,
            }
        }
    }
}

fn assert_aborts(what: &str, out: &Output, expected: &DoubleFree, program: &Path) {
    assert_eq!(
        out.status.signal(),
        Some(SIGABRT),
        "{what} should die of SIGABRT, not {} (stderr: {})",
        out.status,
        tail(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    if expected.with_backtrace {
        // "*** Error in `<argv[0]>': <message>: 0x<chunk> ***", the backtrace
        // (of this program, through the allocator) and the memory map.
        let first = regex::Regex::new(&format!(
            r"\A\*\*\* Error in `{}': {}: 0x[0-9a-f]{{16}} \*\*\*\n======= Backtrace: =========\n",
            regex::escape(&program.to_string_lossy()),
            regex::escape(&expected.message)
        ))
        .unwrap();
        assert!(first.is_match(&stderr), "{what}: stderr {stderr}");
        assert!(
            stderr.contains("\n======= Memory map: ========\n")
                && stderr.contains(&*program.to_string_lossy()),
            "{what}: no memory map in stderr {stderr}"
        );
    } else {
        assert_eq!(stderr, format!("{}\n", expected.message), "{what}: stderr");
    }
    assert!(
        out.stdout.is_empty(),
        "{what}: stdout {}",
        tail(&out.stdout)
    );
}

/// SIGABRT on Linux.
const SIGABRT: i32 = 6;

/// Freeing a chunk twice aborts with exactly the version's message, in
/// its era's format, on our allocator as on the real glibc.
fn double_free(version: &str) {
    let so = build_so(version);
    let prog = program("double_free", Abi::Old);
    let expected = double_free_of(version);
    let cmd = &mut preloaded(&so, &prog);
    cmd.arg(expected.mode);
    let what = describe(cmd);
    assert_aborts(&what, &run(cmd), &expected, &prog);
    match reference(version) {
        Some(r) => {
            let cmd = &mut on_reference(&r, &prog);
            cmd.arg(expected.mode);
            let what = describe(cmd);
            assert_aborts(&what, &run(cmd), &expected, &prog);
        }
        None => eprintln!(
            "glibc {version}: Debian has no libc6 of this version; the message is checked \
             against its malloc.c only"
        ),
    }
}
