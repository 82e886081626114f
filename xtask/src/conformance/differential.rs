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
//!   manifest has (lacks) that feature;
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
//! Without a reference (2.42: Debian never shipped its libc6), a case
//! passes when it runs, two runs agree, and its own checks held: for an
//! abort program (one that prints `expect: <message>`), that it died of
//! SIGABRT with that message, which the version's malloc sources contain.
//!
//! Left out of the comparison: lines of the real run's stderr that the real
//! ld.so prints about GLIBC_TUNABLES (`WARNING: ld.so: ...`); under
//! `LD_PRELOAD` the loader is the host's, and our tunables parser is silent
//! by design (see `stubs/tunables.c`).

use std::collections::BTreeMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use object::read::elf::{ElfFile64, Sym};
use object::{Endianness, SymbolIndex};
use sha2::{Digest, Sha256};

use super::{project, SuiteResult, Version};

/// How long one run of one program may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Cases (and compilations) run at once.
const JOBS: usize = 2;
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
    for sub in ["bin", "out", "run"] {
        std::fs::create_dir_all(work.join(sub))?;
    }
    let features = &v.manifest.features;
    let sources = MallocSources::read(&v.tree)?;

    let (applicable, skipped): (Vec<&Program>, Vec<&Program>) =
        programs.iter().partition(|p| p.applies(features));
    let binaries: Vec<std::result::Result<PathBuf, String>> =
        parallel(&applicable, |p| compile(p, &dir, &work.join("bin")));
    let compiled = started.elapsed();

    let args: Vec<String> = features
        .iter()
        .filter(|(_, on)| **on)
        .map(|(name, _)| name.clone())
        .collect();
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
    let verdicts = parallel(&cases, |c| ctx.check(c));

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
    /// `(feature, wanted)`.
    requires: Vec<(String, bool)>,
    link: Vec<String>,
    allow: Vec<String>,
    cases: Vec<CaseSpec>,
}

#[derive(Clone)]
struct CaseSpec {
    label: String,
    env: Vec<(String, String)>,
}

impl Program {
    fn applies(&self, features: &BTreeMap<String, bool>) -> bool {
        self.requires
            .iter()
            .all(|(f, wanted)| features.get(f).copied().unwrap_or(false) == *wanted)
    }

    fn requirement_text(&self) -> String {
        let parts: Vec<String> = self
            .requires
            .iter()
            .map(|(f, wanted)| format!("{}{f}", if *wanted { "needs " } else { "not with " }))
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
    for line in text.lines() {
        let Some(rest) = line
            .trim()
            .strip_prefix("/* diff: ")
            .and_then(|r| r.strip_suffix("*/"))
        else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let words: Vec<&str> = words.collect();
        let bad = || anyhow::anyhow!("{}: bad directive `{}`", path.display(), line.trim());
        match (kind, words.as_slice()) {
            ("requires", [f]) => match f.strip_prefix('!') {
                Some(f) => p.requires.push((f.to_owned(), false)),
                None => p.requires.push(((*f).to_owned(), true)),
            },
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

// ---------------------------------------------------------------- building

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// The program's binary in `bin`, compiled unless a binary of the same
/// sources, flags and compiler is there. An error is the compiler's or
/// the symbol-version check's complaint, for the program's cases.
fn compile(p: &Program, dir: &Path, bin: &Path) -> std::result::Result<PathBuf, String> {
    let start = project().join("tests/c/old_start.c");
    let cc = cc();
    let version = Command::new(&cc)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    let mut h = Sha256::new();
    h.update(&version.stdout);
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

/// The strings of the version's malloc sources, to find abort messages in.
struct MallocSources(String);

impl MallocSources {
    fn read(tree: &Path) -> Result<MallocSources> {
        let mut text = String::new();
        for e in std::fs::read_dir(tree.join("malloc"))? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "c") {
                text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
        Ok(MallocSources(text))
    }

    fn has_message(&self, message: &str) -> bool {
        self.0.contains(&format!("\"{message}\""))
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
                let got = o.stderr.strip_suffix('\n').unwrap_or(&o.stderr);
                if !expected.split('|').any(|m| m == got) {
                    return Err(format!(
                        "on {whose}: expected the message `{expected}`, got `{}`",
                        first_lines(&o.stderr, 3)
                    ));
                }
                if !self.sources.has_message(got) {
                    return Err(format!(
                        "on {whose}: `{got}` is not a message of glibc {}'s malloc sources",
                        self.v.manifest.version
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
    /// preloaded) and keeps its output under `out/`.
    fn run(&self, c: &Case, side: &str, mut cmd: Command) -> std::result::Result<Outcome, String> {
        cmd.env_clear()
            .env("LC_ALL", "C")
            .envs(c.env.iter().map(|(k, v)| (k, v)));
        if side.starts_with("ours") {
            cmd.env("LD_PRELOAD", &self.v.so);
        }
        // Its own process group, so that a timeout takes its children too;
        // and no core dumps from the abort programs.
        cmd.process_group(0);
        // SAFETY: the closure runs in the child between fork and exec and
        // calls only setrlimit, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &none);
                Ok(())
            });
        }
        cmd.args(self.args)
            .current_dir(self.work.join("run"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let outcome = match rx.recv_timeout(TIMEOUT) {
            Ok(out) => {
                let out = out.map_err(|e| format!("waiting for the program: {e}"))?;
                Outcome {
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    status: match (out.status.code(), out.status.signal()) {
                        (Some(code), _) => Status::Exit(code),
                        (None, Some(sig)) => Status::Signal(sig),
                        (None, None) => Status::Exit(-1),
                    },
                }
            }
            Err(_) => {
                // The process group this case started, by its id.
                // SAFETY: kill(2) with a negative pid signals that process
                // group only, which the spawn above created.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                }
                Outcome {
                    stdout: String::new(),
                    stderr: String::new(),
                    status: Status::Timeout,
                }
            }
        };
        let out = |what: &str| {
            self.work
                .join("out")
                .join(format!("{}.{side}.{what}", file_name(&c.name)))
        };
        let _ = std::fs::write(out("stdout"), &outcome.stdout);
        let _ = std::fs::write(out("stderr"), &outcome.stderr);
        let _ = std::fs::write(out("status"), format!("{}\n", outcome.status));
        Ok(outcome)
    }

    /// The commands that reproduce a case by hand, and where its outputs are.
    fn reproduce(
        &self,
        c: &Case,
        bin: &Path,
        reference: Option<&resolver::fetch::ReferenceLibc>,
    ) -> String {
        let env: String = c.env.iter().map(|(k, v)| format!("{k}='{v}' ")).collect();
        let args = self.args.join(" ");
        let ours = format!(
            "{env}LD_PRELOAD={} {} {args}",
            self.v.so.display(),
            bin.display()
        );
        let outputs = format!(
            "outputs in {}/{}.*",
            self.work.join("out").display(),
            file_name(&c.name)
        );
        match reference {
            Some(r) => format!(
                "reproduce: {env}{} --library-path {} {} {args}  vs  {ours}  ({outputs})",
                r.ld_so.display(),
                r.lib_dir.display(),
                bin.display()
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

/// `f` over `items`, [`JOBS`] at a time, results in order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..JOBS.min(items.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was run"))
        .collect()
}
