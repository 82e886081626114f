//! The differential suite: our deterministic C programs in `tests/c/diff/`,
//! each run under the real glibc of the version and under our
//! `libmalloc-glibc-<version>.so` on the host (`LD_PRELOAD`); a case passes
//! when both runs end the same way (exit status or signal) with the same
//! stdout and stderr, and the program's own checks held.
//!
//! Programs print heap offsets relative to their arena's first chunk and
//! whatever else the allocator decides (see `tests/c/diff/diff.h`). Each
//! file opens with a one-line comment saying what it checks, then
//! directives in comments of the form `/* diff: ... */`:
//!
//! - `case <label> [NAME=value...]`: one case per line, run with that
//!   environment (no `case` line: one case with none);
//! - `requires <feature>` / `requires !<feature>`: only for versions whose
//!   manifest has (lacks) that feature; a name that is no feature
//!   ([`manifest::Feature`]) fails the run with its file and line;
//! - `requires "<text>"` / `requires !"<text>"`: only for versions whose
//!   malloc sources (`malloc/*.c` but the tests) have (lack) that string
//!   literal: the message of the integrity check a program needs, for the
//!   checks glibc added over time (`"malloc(): corrupted top size"`, 2.29);
//! - `link <soname>`: linked with `-l:<soname>` (`libpthread.so.0`,
//!   `libdl.so.2`, where glibc before 2.34 keeps what a program needs);
//! - `allow <symbol>@<version>`: a symbol version newer than GLIBC_2.3 the
//!   program needs for what it tests (`aligned_alloc@GLIBC_2.16`).
//!
//! Every program is built once (cached by the hash of its sources, flags
//! and compiler) as one binary that also runs on glibc 2.31: its own
//! `_start` (`tests/c/old_start.c`), no stack protector or fortification,
//! and symbols bound to their GLIBC_2.2.5 versions; the build checks with
//! the object crate that it asks for nothing newer than GLIBC_2.3 but what
//! its `allow` lines name. Programs get the names of the version's true
//! features as arguments.
//!
//! Without a reference (a version Debian never shipped a libc6 of: 2.42
//! and the GNU-pinned releases), a case passes when it runs, two runs
//! agree, and its own checks held: for an abort program (one that prints
//! `expect: <message>`, alternatives separated by `|`), that it died of
//! SIGABRT with the first of those messages that the version's malloc
//! sources contain (a check renamed over time says which name it had).
//!
//! Left out of the comparison: lines of the real run's stderr that the real
//! ld.so prints about GLIBC_TUNABLES (`WARNING: ld.so: ...`); under
//! `LD_PRELOAD` the loader is the host's, and our tunables parser is silent
//! by design (see `stubs/tunables.c`). Where the version's malloc_printerr
//! names the program and the chunk's address and libc adds a backtrace and
//! the memory map (up to 2.26), the address, backtrace and map (which ASLR
//! decides) are left out ([`comparable_stderr`]); every run sets
//! `LIBC_FATAL_STDERR_=1`, as glibc's test skeleton does, so that such
//! messages go to stderr rather than to a terminal.

use std::collections::BTreeMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use manifest::{Feature, Features, UnknownFeature};
use object::read::elf::{ElfFile64, Sym};
use object::{Endianness, SymbolIndex};
use sha2::{Digest, Sha256};

use rustix::process::{setrlimit, Resource, Rlimit};

use super::slots::{self, Priority};
use super::{project, SuiteResult, Version};
use harness::process;

/// How long one run of one program may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// What a case is expected to take (its two or three runs): they are the
/// shortest programs of all, so they fill the cores last (super::slots).
const CASE_DURATION: Duration = Duration::from_millis(50);
/// How every program is compiled (with `tests/c/old_start.c` as its entry).
const CFLAGS: &[&str] = &[
    "-O1",
    "-fno-builtin",
    "-fno-stack-protector",
    "-U_FORTIFY_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-nostartfiles",
];
/// The newest symbol version a program may ask for without an `allow` line.
const NEWEST: [u32; 3] = [2, 3, u32::MAX];
const SIGABRT: i32 = 6;
/// What the real ld.so says about GLIBC_TUNABLES (not the allocator).
const LD_SO_WARNING: &str = "WARNING: ld.so: ";

/// Runs every differential program under the real glibc and under our .so.
pub fn run(v: &Version) -> Result<SuiteResult> {
    let started = Instant::now();
    let dir = project().join("tests/c/diff");
    let programs = discover(&dir)?;
    let work = v.work.join("diff");
    // This run's outputs only; binaries stay (cached by content).
    let _ = std::fs::remove_dir_all(work.join("out"));
    for sub in ["out", "run"] {
        std::fs::create_dir_all(work.join(sub))?;
    }
    std::fs::create_dir_all(shared_bin())?;
    let features = &v.manifest.features;
    let sources = MallocSources::read(&v.tree)?;

    let mut applicable = Vec::new();
    let mut skipped = Vec::new();
    for p in &programs {
        if p.applies(features, &sources) {
            applicable.push(p);
        } else {
            skipped.push(p);
        }
    }
    let binaries: Vec<std::result::Result<PathBuf, String>> = slots::map(
        &applicable,
        |_| Priority::BUILD,
        |p| compile(p, &dir, &shared_bin()),
    );
    let compiled = started.elapsed();

    let args: Vec<String> = features.enabled().map(|f| f.name().to_owned()).collect();
    let mut cases = Vec::new();
    for (p, bin) in applicable.iter().zip(&binaries) {
        for c in &p.cases {
            cases.push(Case {
                name: if c.label.is_empty() {
                    p.name.clone()
                } else {
                    format!("{}[{}]", p.name, c.label)
                },
                env: c.env.clone(),
                binary: bin.clone(),
            });
        }
    }
    let ctx = Runner {
        v,
        args: &args,
        work: &work,
        sources: &sources,
    };
    let verdicts = slots::map(&cases, |_| Priority::run(CASE_DURATION), |c| ctx.check(c));

    let mut failures = Vec::new();
    let mut filtered = 0;
    for (c, verdict) in cases.iter().zip(&verdicts) {
        match verdict {
            Ok(f) => filtered += usize::from(*f),
            Err(why) => failures.push(format!("{}: {why}", c.name)),
        }
    }
    let total = cases.len();
    let passed = total - failures.len();
    let mut notes = Vec::new();
    if v.reference.is_none() {
        let why = v.no_reference.as_deref().unwrap_or("unknown reason");
        notes.push(
            "no real glibc of this version in Debian's archive: each case checked for \
             determinism (two runs) and its own assertions only"
                .to_string(),
        );
        // Only a version Debian never shipped may go without a comparison.
        if !why.starts_with("Debian's archive has no libc6") {
            failures.push(format!("no real glibc to compare with: {why}"));
        }
    }
    if !skipped.is_empty() {
        let list: Vec<String> = skipped
            .iter()
            .map(|p| format!("{} ({})", p.name, p.requirement_text()))
            .collect();
        notes.push(format!("not for this version: {}", list.join(", ")));
    }
    if filtered > 0 {
        notes.push(format!(
            "{filtered} case(s) with ld.so's GLIBC_TUNABLES warnings left out of stderr"
        ));
    }
    eprintln!(
        "glibc {}: differential: {total} cases from {} programs, compiled in {:.1} s, all done in {:.1} s",
        v.manifest.version,
        applicable.len(),
        compiled.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(SuiteResult {
        version: v.manifest.version.clone(),
        suite: "differential",
        passed,
        unsupported: 0,
        total,
        failures,
        notes,
    })
}

// ---------------------------------------------------------------- programs

/// One program of `tests/c/diff/` and its directives.
struct Program {
    name: String,
    source: PathBuf,
    requires: Vec<Requirement>,
    link: Vec<String>,
    allow: Vec<String>,
    cases: Vec<CaseSpec>,
}

#[derive(Clone)]
struct CaseSpec {
    label: String,
    env: Vec<(String, String)>,
}

/// A `requires` directive: what the version must have (`wanted`) or lack.
struct Requirement {
    need: Need,
    wanted: bool,
}

enum Need {
    /// A feature of the version's manifest (`requires tcache`).
    Feature(Feature),
    /// A string literal of the version's malloc sources (`requires
    /// "malloc(): corrupted top size"`): an integrity check's message,
    /// where the check is what the program needs.
    Literal(String),
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Need::Feature(feature) => write!(f, "{feature}"),
            Need::Literal(text) => write!(f, "\"{text}\""),
        }
    }
}

impl Program {
    /// Whether the program is for a version with these features and malloc
    /// sources.
    fn applies(&self, features: &Features, sources: &MallocSources) -> bool {
        self.requires.iter().all(|r| {
            let has = match &r.need {
                Need::Feature(f) => features.has(*f),
                Need::Literal(text) => sources.has_message(text),
            };
            has == r.wanted
        })
    }

    fn requirement_text(&self) -> String {
        let parts: Vec<String> = self
            .requires
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    if r.wanted { "needs " } else { "not with " },
                    r.need
                )
            })
            .collect();
        parts.join(", ")
    }
}

/// Every `*.c` in `dir`, sorted, with its directives.
fn discover(dir: &Path) -> Result<Vec<Program>> {
    let mut programs = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "c") {
            programs.push(parse_program(&path)?);
        }
    }
    programs.sort_by(|a, b| a.name.cmp(&b.name));
    if programs.is_empty() {
        bail!("no programs in {}", dir.display());
    }
    Ok(programs)
}

fn parse_program(path: &Path) -> Result<Program> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_directives(path, &text)
}

/// The program at `path`, whose text is `text`. A directive that does not
/// parse, or names no feature, fails with its file and line.
fn parse_directives(path: &Path, text: &str) -> Result<Program> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .context("a program's name")?
        .to_owned();
    if !text.starts_with("/* Checks ") {
        bail!(
            "{}: a program must open with a one-line comment saying what it checks (`/* Checks ... */`)",
            path.display()
        );
    }
    let mut p = Program {
        name,
        source: path.to_owned(),
        requires: Vec::new(),
        link: Vec::new(),
        allow: Vec::new(),
        cases: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line
            .trim()
            .strip_prefix("/* diff: ")
            .and_then(|r| r.strip_suffix("*/"))
        else {
            continue;
        };
        let at = format!("{}:{}", path.display(), n + 1);
        let bad = || anyhow::anyhow!("{at}: bad directive `{}`", line.trim());
        if let Some(what) = rest.strip_prefix("requires ") {
            let r = parse_requirement(what.trim()).ok_or_else(bad)?;
            p.requires
                .push(r.map_err(|e| anyhow::anyhow!("{at}: {e}"))?);
            continue;
        }
        let mut words = rest.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let words: Vec<&str> = words.collect();
        match (kind, words.as_slice()) {
            ("link", libs) if !libs.is_empty() => {
                p.link.extend(libs.iter().map(|s| (*s).to_owned()))
            }
            ("allow", syms) if !syms.is_empty() && syms.iter().all(|s| s.contains('@')) => {
                p.allow.extend(syms.iter().map(|s| (*s).to_owned()))
            }
            ("case", [label, env @ ..]) => {
                let mut vars = Vec::new();
                for kv in env {
                    let (k, v) = kv.split_once('=').ok_or_else(bad)?;
                    vars.push((k.to_owned(), v.to_owned()));
                }
                let label = if *label == "default" {
                    String::new()
                } else {
                    (*label).to_owned()
                };
                p.cases.push(CaseSpec { label, env: vars });
            }
            _ => return Err(bad()),
        }
    }
    if p.cases.is_empty() {
        p.cases.push(CaseSpec {
            label: String::new(),
            env: Vec::new(),
        });
    }
    Ok(p)
}

/// `feature`, `!feature`, `"text"` or `!"text"`; `None` if it is none of
/// them, an error if the feature is unknown.
fn parse_requirement(what: &str) -> Option<std::result::Result<Requirement, UnknownFeature>> {
    let (wanted, what) = match what.strip_prefix('!') {
        Some(w) => (false, w),
        None => (true, what),
    };
    let need = match what.strip_prefix('"') {
        Some(quoted) => {
            let text = quoted.strip_suffix('"')?;
            if text.is_empty() || text.contains('"') {
                return None;
            }
            Need::Literal(text.to_owned())
        }
        None if !what.is_empty() && what.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            match what.parse() {
                Ok(f) => Need::Feature(f),
                Err(e) => return Some(Err(e)),
            }
        }
        None => return None,
    };
    Some(Ok(Requirement { need, wanted }))
}

// ---------------------------------------------------------------- building

/// Where every version's programs are: they are the same binaries (built
/// to run on every glibc), so they are built once for all.
fn shared_bin() -> PathBuf {
    project().join("target/conformance/diff-bin")
}

/// The lock that one compilation of `exe` holds.
fn compile_lock(exe: &Path) -> std::sync::Arc<Mutex<()>> {
    static LOCKS: Mutex<BTreeMap<PathBuf, std::sync::Arc<Mutex<()>>>> = Mutex::new(BTreeMap::new());
    LOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(exe.to_owned())
        .or_default()
        .clone()
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// `<cc> --version`, asked once.
fn compiler_identity(cc: &str) -> std::result::Result<Vec<u8>, String> {
    static IDENTITY: Mutex<BTreeMap<String, Vec<u8>>> = Mutex::new(BTreeMap::new());
    let mut known = IDENTITY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = known.get(cc) {
        return Ok(id.clone());
    }
    let version = Command::new(cc)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    known.insert(cc.to_owned(), version.stdout.clone());
    Ok(version.stdout)
}

/// The program's binary in `bin`, compiled unless a binary of the same
/// sources, flags and compiler is there. An error is the compiler's or
/// the symbol-version check's complaint, for the program's cases.
fn compile(p: &Program, dir: &Path, bin: &Path) -> std::result::Result<PathBuf, String> {
    let start = project().join("tests/c/old_start.c");
    let cc = cc();
    let mut h = Sha256::new();
    h.update(compiler_identity(&cc)?);
    for f in CFLAGS
        .iter()
        .copied()
        .chain(p.link.iter().map(String::as_str))
    {
        h.update(f.as_bytes());
        h.update([0]);
    }
    for f in [&start, &dir.join("diff.h"), &p.source] {
        h.update(std::fs::read(f).map_err(|e| format!("reading {}: {e}", f.display()))?);
    }
    let hash: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let exe = bin.join(format!("{}-{hash}", p.name));
    if !exe.is_file() {
        let tmp = bin.join(format!(".tmp-{}-{}", p.name, std::process::id()));
        // One compilation of a program at a time (versions run at once).
        let lock = compile_lock(&exe);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        if exe.is_file() {
            return check_versions(&exe, &p.allow).map(|()| exe);
        }
        let mut cmd = Command::new(&cc);
        cmd.args(CFLAGS)
            .arg(format!("-ffile-prefix-map={}/=", dir.display()))
            .arg(&start)
            .arg(&p.source)
            .arg("-o")
            .arg(&tmp);
        if !p.link.is_empty() {
            cmd.arg("-Wl,--no-as-needed");
            cmd.args(p.link.iter().map(|l| format!("-l:{l}")));
        }
        let out = cmd.output().map_err(|e| format!("cannot run {cc}: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!(
                "does not compile: {}",
                first_lines(&String::from_utf8_lossy(&out.stderr), 6)
            ));
        }
        std::fs::rename(&tmp, &exe).map_err(|e| format!("renaming {}: {e}", tmp.display()))?;
    }
    check_versions(&exe, &p.allow)?;
    Ok(exe)
}

/// `[2, 3, 4]` for `"GLIBC_2.3.4"`.
fn glibc_version(v: &str) -> Option<Vec<u32>> {
    v.strip_prefix("GLIBC_")?
        .split('.')
        .map(|n| n.parse().ok())
        .collect()
}

/// The binary asks for no symbol version newer than GLIBC_2.3, but what
/// `allow` names (`symbol@GLIBC_x.y`).
fn check_versions(exe: &Path, allow: &[String]) -> std::result::Result<(), String> {
    let data = std::fs::read(exe).map_err(|e| format!("reading {}: {e}", exe.display()))?;
    let bad_elf = |e: object::Error| format!("{} is not a 64-bit ELF file: {e}", exe.display());
    let file = ElfFile64::<Endianness>::parse(&*data).map_err(bad_elf)?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let versions = sections.versions(endian, &*data).map_err(bad_elf)?;
    let dynsym = file.elf_dynamic_symbol_table();
    let mut wrong = Vec::new();
    for (i, sym) in dynsym.symbols().iter().enumerate().skip(1) {
        if sym.st_shndx(endian) != object::elf::SHN_UNDEF {
            continue;
        }
        let name = String::from_utf8_lossy(dynsym.symbol_name(endian, sym).map_err(bad_elf)?);
        let Some(version) = versions.as_ref().and_then(|v| {
            let vi = v.version_index(endian, SymbolIndex(i));
            v.version(vi)
                .ok()
                .flatten()
                .map(|ver| String::from_utf8_lossy(ver.name()).into_owned())
        }) else {
            continue;
        };
        let old_enough = glibc_version(&version).is_some_and(|n| n.as_slice() <= &NEWEST[..]);
        if !old_enough && !allow.contains(&format!("{name}@{version}")) {
            wrong.push(format!("{name}@{version}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "asks for symbol versions newer than GLIBC_2.3: {}; bind GLIBC_2.2.5 with .symver, \
             or add `/* diff: allow NAME@VERSION */` if what it tests needs it",
            wrong.join(", ")
        ))
    }
}

// ---------------------------------------------------------------- running

struct Case {
    name: String,
    env: Vec<(String, String)>,
    binary: std::result::Result<PathBuf, String>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    Exit(i32),
    Signal(i32),
    Timeout,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exit(c) => write!(f, "exit {c}"),
            Status::Signal(SIGABRT) => write!(f, "signal 6 (SIGABRT)"),
            Status::Signal(s) => write!(f, "signal {s}"),
            Status::Timeout => write!(f, "no end within {TIMEOUT:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    stderr: String,
    status: Status,
}

/// The strings of the version's malloc sources (`malloc/*.c` but its
/// tests), to find abort messages in.
struct MallocSources(String);

/// Up to 2.26, malloc_printerr's format: the program, the message and the
/// chunk's address; libc then adds a backtrace and the memory map.
const NAMED_FATAL_FORMAT: &str = "\"*** Error in `%s': %s: 0x%s ***\\n\"";
/// A line in that format, once its address is left out ([`comparable_stderr`]).
const NAMED_FATAL_LINE: &str = r"^\*\*\* Error in `.*': (.*): 0x<address> \*\*\*$";
/// What stands for the backtrace and memory map of such a message.
const BACKTRACE_AND_MAP: &str = "<backtrace and memory map>";

impl MallocSources {
    fn read(tree: &Path) -> Result<MallocSources> {
        let mut text = String::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(tree.join("malloc"))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        files.sort();
        for p in files {
            let test = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tst-"));
            if p.extension().is_some_and(|x| x == "c") && !test {
                text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
        Ok(MallocSources(text))
    }

    fn has_message(&self, message: &str) -> bool {
        self.0.contains(&format!("\"{message}\""))
    }

    /// Whether the version's fatal messages name the program and the chunk.
    fn names_program_and_chunk(&self) -> bool {
        self.0.contains(NAMED_FATAL_FORMAT)
    }
}

/// What of a run's stderr is compared: all of it, but where the version's
/// malloc_printerr names the program and the chunk's address and libc adds
/// a backtrace and the memory map (up to 2.26), ASLR decides the address,
/// the backtrace and the map: the address becomes `0x<address>`, and the
/// backtrace and map (from their heading to the end: the process aborts)
/// one line saying they were there.
fn comparable_stderr(stderr: &str, named: bool) -> String {
    if !named {
        return stderr.to_owned();
    }
    let line = regex::Regex::new(r"^(\*\*\* Error in `.*': .*: 0x)[0-9a-f]+( \*\*\*)$")
        .expect("static regex");
    let mut out = String::new();
    for l in stderr.split_inclusive('\n') {
        let text = l.strip_suffix('\n').unwrap_or(l);
        if text == "======= Backtrace: =========" {
            out.push_str(BACKTRACE_AND_MAP);
            out.push('\n');
            break;
        }
        out.push_str(&line.replace(text, "${1}<address>${2}"));
        if l.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The message of a fatal error on (comparable) stderr: all of it, or the
/// message part of a line that names the program and the chunk, followed
/// by nothing but the backtrace and map.
fn fatal_message(stderr: &str) -> Option<&str> {
    let text = stderr.strip_suffix('\n').unwrap_or(stderr);
    let named = regex::Regex::new(NAMED_FATAL_LINE).expect("static regex");
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    match named.captures(first) {
        Some(c) if rest.is_empty() || rest == BACKTRACE_AND_MAP => {
            Some(c.get(1).expect("a group").as_str())
        }
        Some(_) => None,
        None => Some(text),
    }
}

struct Runner<'a> {
    v: &'a Version,
    args: &'a [String],
    work: &'a Path,
    sources: &'a MallocSources,
}

impl Runner<'_> {
    /// Ok(whether ld.so warnings were left out) or why the case failed.
    fn check(&self, c: &Case) -> std::result::Result<bool, String> {
        let bin = c.binary.as_ref().map_err(Clone::clone)?;
        let ours = self.run(c, "ours", Command::new(bin))?;
        let Some(reference) = &self.v.reference else {
            let again = self.run(c, "ours-again", Command::new(bin))?;
            if again != ours {
                return Err(format!(
                    "two runs differ ({}); {}",
                    difference(&ours, &again, "first", "second"),
                    self.reproduce(c, bin, None)
                ));
            }
            self.sane(&ours, "ours")
                .map_err(|e| format!("{e}; {}", self.reproduce(c, bin, None)))?;
            return Ok(false);
        };
        let (real, filtered) = self.run_real(c, reference.command(bin))?;
        self.sane(&real, "the real glibc").map_err(|e| {
            format!(
                "{e} (a bug in the program?); {}",
                self.reproduce(c, bin, Some(reference))
            )
        })?;
        if real != ours {
            // A program that is not deterministic is the program's fault.
            let (again, _) = self.run_real(c, reference.command(bin))?;
            if again != real {
                return Err(format!(
                    "not deterministic on the real glibc ({}); {}",
                    difference(&real, &again, "first", "second"),
                    self.reproduce(c, bin, Some(reference))
                ));
            }
            return Err(format!(
                "{}; {}",
                difference(&real, &ours, "real", "ours"),
                self.reproduce(c, bin, Some(reference))
            ));
        }
        Ok(filtered)
    }

    /// The real glibc's run, without ld.so's warnings about GLIBC_TUNABLES.
    fn run_real(&self, c: &Case, cmd: Command) -> std::result::Result<(Outcome, bool), String> {
        let mut out = self.run(c, "real", cmd)?;
        let kept: Vec<&str> = out
            .stderr
            .split_inclusive('\n')
            .filter(|l| !l.starts_with(LD_SO_WARNING))
            .collect();
        let kept = kept.concat();
        let filtered = kept.len() != out.stderr.len();
        out.stderr = kept;
        Ok((out, filtered))
    }

    /// What must hold of any run: its own checks passed; an abort program
    /// died of SIGABRT with the message it expected, which the version's
    /// malloc has; any other program exited 0.
    fn sane(&self, o: &Outcome, whose: &str) -> std::result::Result<(), String> {
        if let Some(line) = o.stdout.lines().find(|l| l.starts_with("CHECK FAILED")) {
            return Err(format!("on {whose}: {line}"));
        }
        match o.stdout.lines().find_map(|l| l.strip_prefix("expect: ")) {
            Some(expected) => {
                if o.status != Status::Signal(SIGABRT) {
                    return Err(format!(
                        "on {whose}: expected an abort with `{expected}`, got {} (stderr: {})",
                        o.status,
                        first_lines(&o.stderr, 3)
                    ));
                }
                // The first alternative the version's malloc has is the
                // message of the check that catches this corruption there.
                let Some(wanted) = expected.split('|').find(|m| self.sources.has_message(m)) else {
                    return Err(format!(
                        "on {whose}: no message of `{expected}` is in glibc {}'s malloc sources",
                        self.v.manifest.version
                    ));
                };
                let got = fatal_message(&o.stderr);
                if got != Some(wanted) {
                    return Err(format!(
                        "on {whose}: expected the message `{wanted}`, got `{}`",
                        first_lines(&o.stderr, 3)
                    ));
                }
            }
            None if o.status != Status::Exit(0) => {
                return Err(format!(
                    "on {whose}: {} (stderr: {})",
                    o.status,
                    first_lines(&o.stderr, 3)
                ))
            }
            None => {}
        }
        Ok(())
    }

    /// Runs one side of a case (with a clean environment, the case's own,
    /// the version's features as arguments; `ours*` with our .so
    /// preloaded) and keeps its output under `out/`. libc's fatal messages
    /// go to stderr (`LIBC_FATAL_STDERR_`, as glibc's test skeleton sets
    /// it), never to a terminal the harness may have; the outcome holds
    /// the [`comparable_stderr`].
    fn run(&self, c: &Case, side: &str, mut cmd: Command) -> std::result::Result<Outcome, String> {
        cmd.env_clear()
            .env("LC_ALL", "C")
            .env("LIBC_FATAL_STDERR_", "1")
            .envs(c.env.iter().map(|(k, v)| (k, v)));
        if side.starts_with("ours") {
            cmd.env("LD_PRELOAD", &self.v.so);
        }
        // No core dumps from the abort programs.
        // SAFETY: the closure runs in the child between fork and exec and
        // calls only setrlimit, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                let none = Rlimit {
                    current: Some(0),
                    maximum: Some(0),
                };
                let _ = setrlimit(Resource::Core, none);
                Ok(())
            });
        }
        cmd.args(self.args)
            .current_dir(self.work.join("run"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so that a timeout takes its children too.
        let program = cmd.get_program().to_owned();
        let ran = process::run(&mut cmd, TIMEOUT)
            .map_err(|e| format!("cannot run {:?}: {e}", program))?;
        let outcome = match ran.status {
            Some(status) => Outcome {
                stdout: String::from_utf8_lossy(&ran.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&ran.stderr).into_owned(),
                status: match (status.code(), status.signal()) {
                    (Some(code), _) => Status::Exit(code),
                    (None, Some(sig)) => Status::Signal(sig),
                    (None, None) => Status::Exit(-1),
                },
            },
            None => Outcome {
                stdout: String::new(),
                stderr: String::new(),
                status: Status::Timeout,
            },
        };
        let out = |what: &str| {
            self.work
                .join("out")
                .join(format!("{}.{side}.{what}", file_name(&c.name)))
        };
        let _ = std::fs::write(out("stdout"), &outcome.stdout);
        let _ = std::fs::write(out("stderr"), &outcome.stderr);
        let _ = std::fs::write(out("status"), format!("{}\n", outcome.status));
        Ok(Outcome {
            stderr: comparable_stderr(&outcome.stderr, self.sources.names_program_and_chunk()),
            ..outcome
        })
    }

    /// The commands that reproduce a case by hand, and where its outputs are.
    fn reproduce(
        &self,
        c: &Case,
        bin: &Path,
        reference: Option<&harness::ReferenceLibc>,
    ) -> String {
        let shown = |mut cmd: Command, preload: Option<&Path>| {
            cmd.envs(c.env.iter().map(|(k, v)| (k, v)));
            if let Some(so) = preload {
                cmd.env("LD_PRELOAD", so);
            }
            cmd.args(self.args);
            process::command_line(&cmd)
        };
        let ours = shown(Command::new(bin), Some(&self.v.so));
        let outputs = format!(
            "outputs in {}/{}.*",
            self.work.join("out").display(),
            file_name(&c.name)
        );
        match reference {
            Some(r) => format!(
                "reproduce: {}  vs  {ours}  ({outputs})",
                shown(r.command(bin), None)
            ),
            None => format!("reproduce: {ours}  ({outputs})"),
        }
    }
}

/// The first difference between two outcomes, named `a` and `b`.
fn difference(x: &Outcome, y: &Outcome, a: &str, b: &str) -> String {
    if x.stdout != y.stdout {
        return format!("stdout {}", first_difference(&x.stdout, &y.stdout, a, b));
    }
    if x.stderr != y.stderr {
        return format!("stderr {}", first_difference(&x.stderr, &y.stderr, a, b));
    }
    format!("{a}: {}, {b}: {}", x.status, y.status)
}

fn first_difference(x: &str, y: &str, a: &str, b: &str) -> String {
    let (mut lx, mut ly) = (x.lines(), y.lines());
    let mut n = 1;
    loop {
        match (lx.next(), ly.next()) {
            (Some(p), Some(q)) if p == q => n += 1,
            (p, q) => {
                return format!(
                    "line {n}: {a} `{}`, {b} `{}`",
                    p.unwrap_or("<end>"),
                    q.unwrap_or("<end>")
                )
            }
        }
    }
}

fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().take(n).collect();
    lines.join(" / ")
}

/// A case name as a file name: `tunables[tcache_count=0]` as
/// `tunables.tcache_count=0`.
fn file_name(name: &str) -> String {
    name.chars()
        .filter(|c| *c != ']')
        .map(|c| match c {
            '[' => '.',
            c if c.is_ascii_alphanumeric() || "_-=.".contains(c) => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_parse() {
        let r = parse_requirement("!tcache").unwrap().unwrap();
        assert!(!r.wanted && matches!(r.need, Need::Feature(Feature::Tcache)));
        let r = parse_requirement("\"malloc(): corrupted top size\"")
            .unwrap()
            .unwrap();
        assert!(
            r.wanted && matches!(&r.need, Need::Literal(t) if t == "malloc(): corrupted top size")
        );
        for bad in ["", "\"unterminated", "two words", "\"\"", "!"] {
            assert!(parse_requirement(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_misspelled_feature_fails_with_its_file_and_line() {
        let text = "/* Checks x. */\n/* diff: requires !tcahe */\nint main(void) { return 0; }\n";
        let e = parse_directives(Path::new("tests/c/diff/x.c"), text)
            .err()
            .expect("an unknown feature is an error")
            .to_string();
        assert!(
            e.starts_with("tests/c/diff/x.c:2: unknown feature 'tcahe' (known: eager_init, "),
            "{e}"
        );
        assert!(e.contains("tcache, tcache_double_free_key"), "{e}");

        let text = "/* Checks x. */\n/* diff: requires tcache */\n";
        let p = parse_directives(Path::new("x.c"), text).unwrap();
        let sources = MallocSources(String::new());
        let with = Features {
            tcache: true,
            ..Features::default()
        };
        assert!(p.applies(&with, &sources));
        assert!(!p.applies(&Features::default(), &sources));
    }

    #[test]
    fn a_named_fatal_message_is_compared_without_address_backtrace_and_map() {
        let raw = "*** Error in `/t/bin/abort_fasttop-1': double free or corruption (fasttop): 0x000055676fac2030 ***\n\
                   ======= Backtrace: =========\n/lib/libc.so.6(+0x7)[0x7f00]\n\
                   ======= Memory map: ========\n55676fa00000-55676fa01000 r--p 0 fe:00 1 /t/bin/x\n";
        let c = comparable_stderr(raw, true);
        assert_eq!(
            c,
            "*** Error in `/t/bin/abort_fasttop-1': double free or corruption (fasttop): 0x<address> ***\n\
             <backtrace and memory map>\n"
        );
        assert_eq!(
            fatal_message(&c),
            Some("double free or corruption (fasttop)")
        );
        // Versions whose messages are the message alone.
        assert_eq!(comparable_stderr(raw, false), raw);
        assert_eq!(
            fatal_message("free(): invalid pointer\n"),
            Some("free(): invalid pointer")
        );
    }
}
