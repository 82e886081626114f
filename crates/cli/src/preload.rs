//! What `resolver run` and `resolver gdb` share: which manifest
//! ([`ManifestArgs`]: `--glibc VERSION | --manifest FILE | --like LIBC`), which variant
//! (`--hooks`, `--trace`, debug or not), and that variant's shared object,
//! built once into the cache and reused: a stamp beside it records what it
//! was built from, so a later run checks only the manifest's bytes and the
//! project's shims and stubs (never the glibc tree) before using it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use manifest::digest::sha256;
use manifest::Manifest;

use crate::sources::{self, Sources};

/// What `run` and `gdb` preload: which manifest, which build options,
/// which patches.
#[derive(clap::Args, Debug, Clone)]
pub struct VariantArgs {
    #[command(flatten)]
    pub which: ManifestArgs,
    #[command(flatten)]
    pub options: OptionArgs,
    #[command(flatten)]
    pub patches: crate::patches::PatchArgs,
}

impl VariantArgs {
    /// The chosen variant's shared object (`debug`: the -O0 -g3 build),
    /// built if needed, and the project root it was built with.
    pub fn ready(
        &self,
        debug: bool,
        project: &crate::project::Project,
        sources: &Sources,
    ) -> Result<(PathBuf, Ready)> {
        let root = project.root()?;
        let patches = self.patches.load()?;
        let manifest = self.which.choice().manifest_path(&root, sources)?;
        let ready = shared_object(
            &manifest,
            &self.options.options(),
            debug,
            &patches,
            &root,
            sources,
        )?;
        Ok((root, ready))
    }
}

/// Which manifest: exactly one of these. (Another way to choose one adds
/// a field here and a variant to [`Choice`].)
#[derive(clap::Args, Debug, Clone)]
#[group(id = "which", required = true, multiple = false)]
pub struct ManifestArgs {
    /// A pinned glibc version: the project's committed manifest of it
    /// (nix/manifests/glibc-<VERSION>.yaml, embedded in the resolver).
    #[arg(long, value_name = "VERSION")]
    pub glibc: Option<String>,
    /// A manifest file (YAML or JSON), e.g. one `resolver resolve` wrote;
    /// built from the source it pins.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The allocator matching a libc.so.6 (a challenge's), as `build
    /// --like` picks it: Debian's source of exactly that version where the
    /// archive has it, else GNU's release (stderr says which, and why).
    #[arg(long, value_name = "LIBC")]
    pub like: Option<PathBuf>,
}

/// The manifest the arguments choose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// A version with a committed manifest.
    Pinned(String),
    /// A manifest file.
    File(PathBuf),
    /// The manifest matching a libc.so.6.
    Like(PathBuf),
}

impl ManifestArgs {
    pub fn choice(&self) -> Choice {
        match (&self.glibc, &self.manifest, &self.like) {
            (Some(v), _, _) => Choice::Pinned(v.clone()),
            (None, Some(p), _) => Choice::File(p.clone()),
            (None, None, Some(l)) => Choice::Like(l.clone()),
            (None, None, None) => {
                unreachable!("clap requires one of --glibc, --manifest and --like")
            }
        }
    }
}

impl Choice {
    /// The manifest's path; a version the project pins no manifest of is
    /// refused with the versions it does pin.
    pub fn manifest_path(&self, project: &Path, sources: &Sources) -> Result<PathBuf> {
        match self {
            Choice::File(p) => Ok(p.clone()),
            Choice::Like(libc) => {
                crate::like::manifest_like(libc, sources, project, &sources::stderr)
            }
            Choice::Pinned(v) => {
                let path = manifest::committed_path(project, v);
                if path.is_file() {
                    return Ok(path);
                }
                let pinned: Vec<String> = manifest::committed(project)
                    .map(|l| l.into_iter().map(|(v, _)| v).collect())
                    .unwrap_or_default();
                bail!(
                    "glibc {v} has no pinned manifest ({} is missing); pinned versions: {}. \
                     For another version, resolve it first (resolver resolve --glibc {v} --out \
                     DIR) and pass --manifest DIR/glibc-{v}.yaml",
                    path.display(),
                    if pinned.is_empty() {
                        "none".to_string()
                    } else {
                        pinned.join(", ")
                    }
                )
            }
        }
    }
}

/// The build options of a variant, as flags.
#[derive(clap::Args, Debug, Clone)]
pub struct OptionArgs {
    /// The variant with malloc hooks as glibc 2.33 called them (from 2.34;
    /// earlier versions have them in the default build).
    #[arg(long)]
    pub hooks: bool,
    /// The variant with the tracer, switched on: the program writes its
    /// calls to FILE (`%p` stands for the process id) [default:
    /// $MALLOC_STANDALONE_TRACE, else malloc-trace.%p in the current
    /// directory].
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub trace: Option<Option<PathBuf>>,
    /// The trace's format (MALLOC_STANDALONE_TRACE_FORMAT).
    #[arg(long, value_enum, value_name = "FORMAT", requires = "trace")]
    pub trace_format: Option<TraceFormat>,
}

/// `MALLOC_STANDALONE_TRACE_FORMAT`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TraceFormat {
    /// What glibc's mtrace() wrote (glibc's `mtrace` script reads it).
    Mtrace,
    /// One JSON object per line (`resolver replay` reads it).
    Jsonl,
}

impl OptionArgs {
    /// The build options, sorted.
    pub fn options(&self) -> Vec<String> {
        let mut o = Vec::new();
        if self.hooks {
            o.push("hooks".to_string());
        }
        if self.trace.is_some() {
            o.push("trace".to_string());
        }
        o
    }

    /// The environment the variant needs: the tracer's file (absolute, so
    /// a program that changes directory still writes where it was asked
    /// to) and format. Says on stderr where a trace goes when nothing
    /// named the file.
    pub fn environment(&self) -> Result<Vec<(&'static str, OsString)>> {
        let Some(file) = &self.trace else {
            return Ok(Vec::new());
        };
        let file = match file {
            Some(f) => f.clone(),
            None => match std::env::var_os("MALLOC_STANDALONE_TRACE").filter(|v| !v.is_empty()) {
                Some(f) => PathBuf::from(f),
                None => {
                    let f = PathBuf::from("malloc-trace.%p");
                    eprintln!(
                        "resolver: tracing to {} (%p: the process id)",
                        std::env::current_dir()?.join(&f).display()
                    );
                    f
                }
            },
        };
        let file = std::path::absolute(&file)
            .with_context(|| format!("the trace file {}", file.display()))?;
        let mut env = vec![("MALLOC_STANDALONE_TRACE", file.into_os_string())];
        if let Some(f) = self.trace_format {
            let name = match f {
                TraceFormat::Mtrace => "mtrace",
                TraceFormat::Jsonl => "jsonl",
            };
            env.push(("MALLOC_STANDALONE_TRACE_FORMAT", name.into()));
        }
        Ok(env)
    }
}

/// A variant's shared object, ready.
#[derive(Clone, Debug)]
pub struct Ready {
    pub so: PathBuf,
    /// The glibc version.
    pub version: String,
}

/// `LD_PRELOAD` with `so` first and what was there after it.
pub fn ld_preload(so: &Path, existing: Option<OsString>) -> Result<OsString> {
    let text = so.as_os_str();
    // The loader splits LD_PRELOAD at spaces and colons.
    if text.to_string_lossy().contains([' ', ':', '\t', '\n']) {
        bail!(
            "{} holds a space or a colon, which LD_PRELOAD cannot carry; pass --cache DIR with a \
             plainer path",
            so.display()
        );
    }
    let mut out = text.to_owned();
    if let Some(rest) = existing.filter(|v| !v.is_empty()) {
        out.push(":");
        out.push(rest);
    }
    Ok(out)
}

/// The shared object of `manifest`'s variant (`options`, `debug`), from
/// the cache's `run/` when a stamp proves it current, else built there
/// (from the source the manifest pins) and stamped.
///
/// The stamp records the manifest's sha256, the project's path and the
/// sha256 of its shims and stubs, the compiler, the variant, and the
/// shared object's size and modification time: any of them changed means a
/// build (which recompiles only what changed, and refuses shims or stubs
/// the manifest does not pin).
pub fn shared_object(
    manifest_path: &Path,
    options: &[String],
    debug: bool,
    patches: &build::PatchSet,
    project: &Path,
    sources: &Sources,
) -> Result<Ready> {
    let bytes = std::fs::read(manifest_path)
        .with_context(|| format!("reading the manifest {}", manifest_path.display()))?;
    let project = project
        .canonicalize()
        .with_context(|| format!("the project {}", project.display()))?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    // What the build directory is for: one per manifest, project and compiler.
    let base = format!(
        "manifest {}\nproject {}\ncc {cc}\n",
        sha256(&bytes),
        project.display()
    );
    let out = sources
        .cache
        .root()
        .join("run")
        .join(&sha256(base.as_bytes())[..16]);
    // The patches' names and sha256 are part of the variant: another
    // patch, or an edited one, is another build.
    let ids = patches.ids();
    let variant = format!(
        "variant{}{}{}",
        manifest::plan::patch_suffix(&ids),
        manifest::plan::suffix(options, debug),
        if ids.is_empty() {
            String::new()
        } else {
            format!("\n{}", manifest::plan::patch_record_text(&ids))
        }
    );
    let stamp = out.join(format!(
        "variant{}{}.stamp",
        manifest::plan::patch_suffix(&ids),
        manifest::plan::suffix(options, debug)
    ));
    let inputs = format!(
        "{base}project files {}\n{variant}\n",
        project_files_digest(&project)?
    );
    if let Some(ready) = stamped(&stamp, &inputs) {
        return Ok(ready);
    }

    let m = Manifest::load(manifest_path)?;
    let started = Instant::now();
    let applicable = build::applicable_options(&m, options)?;
    eprintln!(
        "resolver: building glibc {}'s {}{} from {} into {} (once: later runs reuse it)",
        m.version,
        build::so_name(&m, &applicable, debug),
        if ids.is_empty() {
            String::new()
        } else {
            format!(" with {}", manifest::plan::patch_suffix(&ids))
        },
        manifest_path.display(),
        out.display()
    );
    let src = sources.pinned(&m, manifest_path, &sources::stderr)?;
    let mut opts = build::BuildOptions::new(out.clone(), debug);
    opts.cc = cc;
    opts.options = options.to_vec();
    opts.patches = patches.clone();
    let built = build::build(&m, &src.root, &project, &opts).with_context(|| {
        format!(
            "building glibc {} from {}",
            m.version,
            manifest_path.display()
        )
    })?;
    eprintln!(
        "resolver: built {} ({} unit(s) compiled, {:.1} s)",
        built.so.display(),
        built.compiled,
        started.elapsed().as_secs_f64()
    );
    let so = built
        .so
        .canonicalize()
        .with_context(|| format!("the built {}", built.so.display()))?;
    let text = format!(
        "{inputs}version {}\nso {}\n{}",
        m.version,
        so.display(),
        file_state(&so).context("the shared object just built")?
    );
    manifest::write_atomic(&stamp, text.as_bytes())?;
    Ok(Ready {
        so,
        version: m.version,
    })
}

/// The stamp's shared object, when the stamp says it was built from
/// `inputs` and the file is still the one it recorded.
fn stamped(stamp: &Path, inputs: &str) -> Option<Ready> {
    let text = std::fs::read_to_string(stamp).ok()?;
    let rest = text.strip_prefix(inputs)?;
    let mut lines = rest.lines();
    let version = lines.next()?.strip_prefix("version ")?;
    let so = PathBuf::from(lines.next()?.strip_prefix("so ")?);
    let state = lines.next()?;
    (file_state(&so)?.trim_end() == state).then(|| Ready {
        so,
        version: version.to_owned(),
    })
}

/// A file's size and modification time (nanoseconds), as a stamp line.
fn file_state(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "file {} {}.{:09}\n",
        meta.len(),
        mtime.as_secs(),
        mtime.subsec_nanos()
    ))
}

/// sha256 over every file under the project's `shims/` and `stubs/`
/// (path and bytes, in path order): what a build reads from the project.
fn project_files_digest(project: &Path) -> Result<String> {
    let mut files = Vec::new();
    for dir in ["shims", "stubs"] {
        walk(&project.join(dir), &mut files)
            .with_context(|| format!("reading {}", project.join(dir).display()))?;
    }
    files.sort();
    let mut all = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        all.extend_from_slice(
            f.strip_prefix(project)
                .unwrap_or(f)
                .as_os_str()
                .as_encoded_bytes(),
        );
        all.push(0);
        all.extend_from_slice(sha256(&bytes).as_bytes());
        all.push(b'\n');
    }
    Ok(sha256(&all))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            walk(&e.path(), out)?;
        } else {
            out.push(e.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ld_preload_puts_ours_first_and_refuses_what_it_cannot_carry() {
        let so = Path::new("/c/libmalloc-glibc-2.36.so");
        assert_eq!(ld_preload(so, None).unwrap(), "/c/libmalloc-glibc-2.36.so");
        assert_eq!(
            ld_preload(so, Some("".into())).unwrap(),
            "/c/libmalloc-glibc-2.36.so"
        );
        assert_eq!(
            ld_preload(so, Some("/x/liba.so /x/libb.so".into())).unwrap(),
            "/c/libmalloc-glibc-2.36.so:/x/liba.so /x/libb.so"
        );
        let e = ld_preload(Path::new("/my cache/libmalloc-glibc-2.36.so"), None).unwrap_err();
        assert!(e.to_string().contains("--cache DIR"), "{e}");
    }
}
