//! Runs a manifest's build plan ([`manifest::Plan`], the one its JSON twin
//! carries for Nix) with a C compiler. Never touches libclang, and knows no
//! flags of its own: every argument and generated file comes from the plan.
//! What it adds is execution: staging the pinned files, substituting the
//! plan's placeholders, depfiles, staleness and parallel jobs.
//!
//! Layout of a build directory (`<out>/build-<version>[-options][-debug]/`,
//! the plan's `@BUILD@`): `glibc/` (the plan's `@TREE@`) holds the verbatim
//! files, checked against their pinned sha256 and copied in at their
//! tree-relative paths; `gen/` the generated headers; `obj/` the objects with
//! their depfiles (`-MMD -MP`) and the command line each was built with. A
//! second run recompiles only objects whose command line changed or one of
//! whose dependencies is newer, and relinks only when an object or the link
//! command changed.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use manifest::digest::sha256;
use manifest::plan::{self, Dirs};
use manifest::{self, Manifest};

pub mod patch;
pub use patch::{PatchError, PatchSet};

/// Errors from building.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the manifest of glibc {version} is refused: {refusal}")]
    Refused {
        version: String,
        refusal: manifest::validate::Refusal,
    },
    #[error("{}", pins_message(.0))]
    Pins(Vec<Mismatch>),
    #[error(
        "no C compiler `{cc}` ({reason}); install one (apt-get install gcc) or set CC to a \
         compiler's path"
    )]
    NoCompiler { cc: String, reason: String },
    #[error("compiling {unit} failed:\n{command}\n{stderr}")]
    Compile {
        unit: String,
        command: String,
        stderr: String,
    },
    #[error(
        "the compiler `{cc}` exited 0 but wrote no {what} {}:\n{command}\nCC must name a C \
         compiler (gcc or clang; apt-get install gcc), or be unset",
        output.display()
    )]
    NoOutput {
        cc: String,
        /// "object" or "shared object".
        what: &'static str,
        output: PathBuf,
        command: String,
    },
    #[error("linking {output} failed:\n{command}\n{stderr}")]
    Link {
        output: PathBuf,
        command: String,
        stderr: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "glibc {version} has no build option `{option}` (its manifest offers: {offered}); \
         run without it, or pick another version"
    )]
    NoSuchOption {
        version: String,
        option: String,
        offered: String,
    },
    #[error("--layout-like {}: {what}", path.display())]
    Layout { path: PathBuf, what: String },
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error(transparent)]
    Patch(#[from] PatchError),
}

/// Where a pinned file is looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// The glibc source tree (the manifest's `verbatim`).
    Tree,
    /// The project (its `shims` and `stubs`).
    Project,
}

/// A pinned file that is missing or differs from its pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub root: Root,
    /// The directory it was looked for in.
    pub dir: PathBuf,
    /// Its path relative to `dir`, as the manifest pins it.
    pub path: String,
    pub expected: String,
    /// Its sha256, or `None` when it is missing.
    pub actual: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let root = match self.root {
            Root::Tree => "the source tree",
            Root::Project => "the project",
        };
        write!(f, "{} (in {root} {}): ", self.path, self.dir.display())?;
        match &self.actual {
            Some(a) => write!(f, "sha256 {a}, but the manifest pins {}", self.expected),
            None => write!(f, "missing, but the manifest pins {}", self.expected),
        }
    }
}

fn pins_message(bad: &[Mismatch]) -> String {
    let mut text = format!(
        "{} pinned file(s) differ from the manifest; nothing was built:",
        bad.len()
    );
    for b in bad {
        text.push_str(&format!("\n  {b}"));
    }
    if bad.iter().any(|b| b.root == Root::Tree) {
        text.push_str(
            "\nthe source tree is not the one the manifest was resolved from: build from the \
             pinned source (leave out --src), or re-resolve this tree (resolver resolve --src)",
        );
    }
    if bad.iter().any(|b| b.root == Root::Project) {
        text.push_str(
            "\nthe project's shims or stubs changed since the manifest was resolved: re-resolve \
             (resolver resolve), or build with the project the manifest was made with \
             (--project)",
        );
    }
    text
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// How to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Output directory: the .so and its build directory go here.
    pub out: PathBuf,
    /// The `-O0 -g3` build instead of `-O2 -g`.
    pub debug: bool,
    /// The C compiler (`$CC`, else `cc`).
    pub cc: String,
    /// Parallel compile jobs.
    pub jobs: usize,
    /// Build options to switch on (the manifest's `options`, e.g. `hooks`,
    /// `trace`).
    pub options: Vec<String>,
    /// Link again, padded so that malloc.c's groups of globals lie at this
    /// real libc's distances from `main_arena` (an unstripped `libc.so.6`
    /// or its debug file): [`layout`]. The .so's name gets `-layout`.
    pub layout_like: Option<PathBuf>,
    /// Patches applied, in order, to the staged files ([`patch`]); the .so
    /// is named after them and records them.
    pub patches: PatchSet,
}

impl BuildOptions {
    /// Defaults: `$CC` or `cc`, one job per core.
    pub fn new(out: PathBuf, debug: bool) -> BuildOptions {
        BuildOptions {
            out,
            debug,
            cc: std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            options: Vec::new(),
            layout_like: None,
            patches: PatchSet::default(),
        }
    }
}

/// The build options that apply to `m`, sorted: `requested` minus those the
/// version has natively (its hooks, before 2.34), which need nothing; an
/// option the manifest neither offers nor has natively is an error.
pub fn applicable_options(m: &Manifest, requested: &[String]) -> Result<Vec<String>, BuildError> {
    let mut out: Vec<String> = Vec::new();
    for o in requested {
        if m.options.contains_key(o) {
            if !out.contains(o) {
                out.push(o.clone());
            }
        } else if !native_option(m, o) {
            return Err(BuildError::NoSuchOption {
                version: m.version.clone(),
                option: o.clone(),
                offered: if m.options.is_empty() {
                    "none".to_string()
                } else {
                    m.options.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            });
        }
    }
    out.sort();
    Ok(out)
}

/// Whether the version's default build already has what option `o` adds.
pub fn native_option(m: &Manifest, o: &str) -> bool {
    o == "hooks" && m.features.hooks
}

/// What a build did.
#[derive(Clone, Debug)]
pub struct Built {
    /// The shared object.
    pub so: PathBuf,
    /// Translation units compiled this time (0 when nothing changed).
    pub compiled: usize,
    /// Whether the shared object was relinked.
    pub linked: bool,
    /// With [`BuildOptions::layout_like`]: the padded link's groups.
    pub layout: Option<layout::Padded>,
}

/// The file name of a version's shared object, with the (applicable,
/// sorted) options it was built with.
pub fn so_name(m: &Manifest, options: &[String], debug: bool) -> String {
    plan::so_name(&m.version, options, debug)
}

/// Writes `bytes` to `path` unless it already holds exactly them (so that
/// unchanged inputs keep their modification time), through a temporary file.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, BuildError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    manifest::write_atomic(path, bytes)?;
    Ok(true)
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Files to stage: (pinned path, bytes).
type Staged = Vec<(String, Vec<u8>)>;

/// Reads every verbatim file of `tree` and checks it, and every shim and
/// stub of `project`, against its pin: the verbatim files' bytes (what the
/// build stages) and the shims' and stubs' (a patched build stages them
/// too), or every file that is missing or differs.
fn check_pins(m: &Manifest, tree: &Path, project: &Path) -> Result<(Staged, Staged), BuildError> {
    let mut bad = Vec::new();
    let mut verbatim = Vec::new();
    let mut ours = Vec::new();
    let mut check = |root: Root, dir: &Path, f: &manifest::PinnedFile| {
        let bytes = std::fs::read(dir.join(&f.path)).ok();
        let actual = bytes.as_deref().map(sha256);
        if actual.as_deref() != Some(f.sha256.as_str()) {
            bad.push(Mismatch {
                root,
                dir: dir.to_owned(),
                path: f.path.clone(),
                expected: f.sha256.clone(),
                actual,
            });
            return None;
        }
        bytes
    };
    for f in &m.verbatim {
        if let Some(bytes) = check(Root::Tree, tree, f) {
            verbatim.push((f.path.clone(), bytes));
        }
    }
    for f in m.shims.iter().chain(&m.stubs) {
        if let Some(bytes) = check(Root::Project, project, f) {
            ours.push((f.path.clone(), bytes));
        }
    }
    if bad.is_empty() {
        Ok((verbatim, ours))
    } else {
        Err(BuildError::Pins(bad))
    }
}

/// Copies the checked verbatim files into `staged`.
fn stage(verbatim: &[(String, Vec<u8>)], staged: &Path) -> Result<(), BuildError> {
    for (path, bytes) in verbatim {
        write_if_changed(&staged.join(path), bytes)?;
    }
    Ok(())
}

/// Takes the build directory's lock, saying so through `note` when another
/// build holds it.
fn lock_build_dir(dir: &Path, what: &str, note: &dyn Fn(String)) -> Result<File, BuildError> {
    use rustix::fs::{flock, FlockOperation};
    let path = dir.join(LOCK);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    let locked = match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            note(format!(
                "waiting for another build of {what} (lock {})",
                path.display()
            ));
            flock(&file, FlockOperation::LockExclusive)
        }
        r => r,
    };
    locked.map_err(|e| BuildError::Io {
        path,
        source: e.into(),
    })?;
    Ok(file)
}

/// The build directory's lock file.
const LOCK: &str = ".lock";

/// Removes the temporary files an interrupted build left in `dir` (those of
/// [`manifest::write_atomic`]); only under the directory's lock, when no
/// other build can be writing them.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let Ok(kind) = e.file_type() else { continue };
        if e.file_name().to_string_lossy().starts_with(".tmp-") && !kind.is_dir() {
            let _ = std::fs::remove_file(e.path());
        } else if kind.is_dir() {
            remove_leftovers(&e.path());
        }
    }
}

/// The version script of `m` with `options` (applicable, sorted): the
/// manifest's exports and those of the options, everything else local.
pub fn version_script(m: &Manifest, options: &[String]) -> String {
    let plan = m.plan();
    let variant = plan
        .variant(options)
        .unwrap_or_else(|| panic!("glibc {} offers no options {options:?}", m.version));
    variant.files[plan::ROLE_VERSION_SCRIPT].text.clone()
}

/// One compile job.
struct Job {
    unit: String,
    source: PathBuf,
    object: PathBuf,
    args: Vec<String>,
    /// What the object was built from besides its depfile's inputs: the
    /// command line and the set of staged files (a file the build only
    /// probes with `__has_include` appears in no depfile, yet changes what
    /// compiles).
    key: String,
}

impl Job {
    fn cmdfile(&self) -> PathBuf {
        self.object.with_extension("cmd")
    }

    fn depfile(&self) -> PathBuf {
        self.object.with_extension("d")
    }

    /// Whether the object is missing, was built differently, or is older
    /// than anything it depends on.
    fn stale(&self) -> bool {
        let Some(built) = mtime(&self.object) else {
            return true;
        };
        if std::fs::read_to_string(self.cmdfile()).ok().as_deref() != Some(&self.key) {
            return true;
        }
        let Ok(deps) = std::fs::read_to_string(self.depfile()) else {
            return true;
        };
        depfile_inputs(&deps)
            .iter()
            .any(|d| mtime(Path::new(d)).is_none_or(|t| t > built))
    }
}

/// The prerequisites listed in a make-style depfile.
fn depfile_inputs(text: &str) -> BTreeSet<String> {
    let joined = text.replace("\\\n", " ");
    let mut out = BTreeSet::new();
    for line in joined.lines() {
        // `target: a b c` (and, with -MP, `header:` lines with no inputs).
        if let Some((_, deps)) = line.split_once(": ") {
            out.extend(deps.split_whitespace().map(str::to_owned));
        }
    }
    out
}

fn run(cmd: &mut Command) -> Result<std::process::Output, std::io::Error> {
    cmd.output()
}

fn render(cc: &str, args: &[String]) -> String {
    shell_words::join(std::iter::once(cc).chain(args.iter().map(String::as_str)))
}

/// Builds the manifest's shared object from `tree` (the pinned source) and
/// `project` (shims and stubs); [`build_noting`] with notes on stderr.
pub fn build(
    m: &Manifest,
    tree: &Path,
    project: &Path,
    opts: &BuildOptions,
) -> Result<Built, BuildError> {
    build_noting(m, tree, project, opts, &|line| eprintln!("{line}"))
}

/// [`build`], telling `note` what the user should know while it runs (it
/// waits for another build of the same directory).
///
/// Nothing is written before the compiler is found and every pinned file
/// (verbatim, shim, stub) matches its pin. Builds into the same build
/// directory take turns (an exclusive lock on `<build dir>/.lock`); the
/// later one finds the work done.
pub fn build_noting(
    m: &Manifest,
    tree: &Path,
    project: &Path,
    opts: &BuildOptions,
    note: &dyn Fn(String),
) -> Result<Built, BuildError> {
    // A manifest is data: what `Manifest::load` checks, checked again for a
    // caller that built or edited one in memory.
    m.validate().map_err(|refusal| BuildError::Refused {
        version: m.version.clone(),
        refusal,
    })?;
    // The compiler must exist before anything is written.
    match Command::new(&opts.cc).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(BuildError::NoCompiler {
                cc: opts.cc.clone(),
                reason: format!("`{} --version` exited with {}", opts.cc, o.status),
            })
        }
        Err(e) => {
            return Err(BuildError::NoCompiler {
                cc: opts.cc.clone(),
                reason: e.to_string(),
            })
        }
    }
    let options = applicable_options(m, &opts.options)?;
    let plan = m.plan();
    let variant = plan
        .variant(&options)
        .expect("the plan has a variant for every set of offered options");
    let variant = &plan::patched(&m.version, variant, &opts.patches.ids());
    let project = project.canonicalize().map_err(io(project))?;
    // Every pin is checked before anything is written.
    let (mut verbatim, mut ours) = check_pins(m, tree, &project)?;
    // Then the patches apply, in memory, to the checked files: a patch that
    // does not apply builds nothing.
    if !opts.patches.is_empty() {
        let files: std::collections::BTreeMap<String, Vec<u8>> =
            verbatim.iter().chain(&ours).cloned().collect();
        let (patched, notes) = opts.patches.apply(&m.version, &files)?;
        for n in notes {
            note(format!("glibc {}: {n}", m.version));
        }
        for (path, bytes) in verbatim.iter_mut().chain(ours.iter_mut()) {
            *bytes = patched[path.as_str()].clone();
        }
    }
    let dir = opts.out.join(format!(
        "build-{}{}",
        m.version,
        variant.suffix.get(opts.debug)
    ));
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let dir = dir.canonicalize().map_err(io(&dir))?;
    let what = format!("glibc {}{}", m.version, variant.suffix.get(opts.debug));
    let _lock = lock_build_dir(&dir, &what, note)?;
    remove_leftovers(&dir);
    let staged = dir.join("glibc");
    // A patched build compiles staged copies of the shims and stubs too
    // (`project/`), patched or not, never the project's own files.
    let staged_project = dir.join("project");
    let dirs = Dirs {
        tree: staged.display().to_string(),
        project: if opts.patches.is_empty() {
            project.display().to_string()
        } else {
            staged_project.display().to_string()
        },
        build: dir.display().to_string(),
    };
    for d in std::iter::once(staged.clone()).chain(plan.dirs.iter().map(|d| dir.join(d))) {
        std::fs::create_dir_all(&d).map_err(io(&d))?;
    }

    stage(&verbatim, &staged)?;
    if !opts.patches.is_empty() {
        stage(&ours, &staged_project)?;
    }
    let mut generated = Vec::new();
    for f in plan.files.values().chain(variant.files.values()) {
        let path = dir.join(&f.path);
        write_if_changed(&path, f.text.as_bytes())?;
        generated.push(path);
    }

    let cflags = plan.cflags.get(opts.debug);
    let staged_digest = if opts.patches.is_empty() {
        sha256(
            m.verbatim
                .iter()
                .map(|f| format!("{} {}\n", f.sha256, f.path))
                .collect::<String>()
                .as_bytes(),
        )
    } else {
        // What was staged after patching.
        sha256(
            verbatim
                .iter()
                .chain(&ours)
                .map(|(path, bytes)| format!("{} {path}\n", sha256(bytes)))
                .collect::<String>()
                .as_bytes(),
        )
    };
    let jobs: Vec<Job> = variant
        .compile
        .iter()
        .map(|c| {
            let object = PathBuf::from(dirs.substitute(&c.object));
            let mut args: Vec<String> = cflags
                .iter()
                .chain(&c.args)
                .map(|a| dirs.substitute(a))
                .collect();
            // Execution only: the depfile, for staleness.
            args.extend([
                "-MMD".into(),
                "-MP".into(),
                "-MF".into(),
                object.with_extension("d").display().to_string(),
            ]);
            let key = format!("{}\n# staged files: {staged_digest}\n", args.join("\n"));
            Job {
                unit: c.unit.clone(),
                source: PathBuf::from(dirs.substitute(&c.source)),
                object,
                args,
                key,
            }
        })
        .collect();

    let stale: Vec<&Job> = jobs.iter().filter(|j| j.stale()).collect();
    compile_all(&opts.cc, &stale, opts.jobs.max(1))?;

    // Link when an object, a generated file or the link command changed.
    let so = opts.out.join(variant.so_name.get(opts.debug));
    let link: Vec<String> = variant.link.iter().map(|a| dirs.substitute(a)).collect();
    let link_cmd_file = dir.join("link.cmd");
    let link_text = link.join("\n");
    let newest_input = jobs
        .iter()
        .filter_map(|j| mtime(&j.object))
        .chain(generated.iter().filter_map(|p| mtime(p)))
        .max();
    let relink = !stale.is_empty()
        || mtime(&so).is_none_or(|t| newest_input.is_some_and(|n| n > t))
        || std::fs::read_to_string(&link_cmd_file).ok().as_deref() != Some(&link_text);
    if relink {
        let tmp = dir.join(format!("{}.tmp", variant.so_name.release));
        let mut args = link.clone();
        args.push("-o".into());
        args.push(tmp.display().to_string());
        let _ = std::fs::remove_file(&tmp);
        let out = run(Command::new(&opts.cc).args(&args)).map_err(io(Path::new(&opts.cc)))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(BuildError::Link {
                output: so,
                command: render(&opts.cc, &args),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        if !tmp.is_file() {
            return Err(BuildError::NoOutput {
                cc: opts.cc.clone(),
                what: "shared object",
                output: tmp,
                command: render(&opts.cc, &args),
            });
        }
        std::fs::rename(&tmp, &so).map_err(io(&so))?;
        manifest::write_atomic(&link_cmd_file, link_text.as_bytes())?;
    }
    if let Some(real) = &opts.layout_like {
        let malloc_obj = jobs
            .iter()
            .find(|j| j.unit == "malloc/malloc.c")
            .map(|j| j.object.clone())
            .ok_or_else(|| BuildError::Layout {
                path: real.clone(),
                what: "the plan has no unit malloc/malloc.c".to_string(),
            })?;
        let name = variant.so_name.get(opts.debug);
        let padded = opts.out.join(format!(
            "{}-layout.so",
            name.strip_suffix(".so").unwrap_or(name)
        ));
        let others: Vec<(String, PathBuf)> = variant
            .compile
            .iter()
            .zip(&jobs)
            .filter(|(c, j)| c.source.starts_with(plan::TREE) && j.object != malloc_obj)
            .map(|(_, j)| (j.unit.clone(), j.object.clone()))
            .collect();
        let got = layout::link_like(
            &opts.cc,
            real,
            &link,
            &malloc_obj,
            &others,
            &dir.join("layout"),
            &padded,
        )?;
        return Ok(Built {
            so: padded,
            compiled: stale.len(),
            linked: true,
            layout: Some(got),
        });
    }
    Ok(Built {
        so,
        compiled: stale.len(),
        linked: relink,
        layout: None,
    })
}

/// Compiles `jobs` with up to `parallel` compilers at once; the first failure wins.
fn compile_all(cc: &str, jobs: &[&Job], parallel: usize) -> Result<(), BuildError> {
    use rayon::prelude::*;
    // A pool of its own: `parallel` compilers at once, whatever else runs
    // on rayon's global pool (several builds at once, from the CLI).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(parallel.max(1))
        .build()
        .map_err(|e| BuildError::Io {
            path: PathBuf::from("a thread pool"),
            source: std::io::Error::other(e),
        })?;
    pool.install(|| jobs.par_iter().try_for_each(|job| compile(cc, job)))
}

fn compile(cc: &str, job: &Job) -> Result<(), BuildError> {
    // A failed compile must not leave an object that looks up to date, nor
    // one a compiler that writes nothing would leave standing.
    let _ = std::fs::remove_file(job.cmdfile());
    let _ = std::fs::remove_file(&job.object);
    let out = run(Command::new(cc).args(&job.args)).map_err(io(&job.source))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&job.object);
        return Err(BuildError::Compile {
            unit: job.unit.clone(),
            command: render(cc, &job.args),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    if !job.object.is_file() {
        return Err(BuildError::NoOutput {
            cc: cc.to_string(),
            what: "object",
            output: job.object.clone(),
            command: render(cc, &job.args),
        });
    }
    manifest::write_atomic(&job.cmdfile(), job.key.as_bytes())?;
    Ok(())
}

pub mod layout;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depfile_lists_every_prerequisite() {
        let d = "obj/malloc.o: /g/malloc/malloc.c /g/malloc/arena.c \\\n /p/shims/prelude.h\n/g/malloc/arena.c:\n/p/shims/prelude.h:\n";
        let deps = depfile_inputs(d);
        assert_eq!(
            deps.into_iter().collect::<Vec<_>>(),
            [
                "/g/malloc/arena.c",
                "/g/malloc/malloc.c",
                "/p/shims/prelude.h"
            ]
        );
    }
}
