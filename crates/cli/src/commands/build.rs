//! `resolver build`: build manifests' shared objects with a C compiler.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use manifest::Manifest;

use crate::common::{in_parallel, out_dir, pinned_manifests, say};
use crate::like;
use crate::patches::{self, PatchArgs};
use crate::project::Project;
use crate::sources::{self, SourceArgs, Sources};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The manifest (YAML or JSON), e.g. nix/manifests/glibc-2.36.yaml;
    /// repeat to build several in parallel.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["pinned", "like"])]
    manifest: Vec<PathBuf>,
    /// Build every manifest in nix/manifests, in parallel.
    #[arg(long, conflicts_with_all = ["manifest", "src", "git", "glibc"])]
    pinned: bool,
    /// Build the allocator matching a libc.so.6 (a challenge's): its glibc
    /// version and distribution are read from its banner. A Debian build
    /// gets Debian's source of exactly that version where the archive still
    /// has it; anything else GNU's release (stderr says which, and why).
    /// Resolves into the cache when no committed manifest pins that source.
    #[arg(long, value_name = "LIBC", conflicts_with_all = ["manifest", "pinned", "src", "git", "glibc"])]
    like: Option<PathBuf>,
    #[command(flatten)]
    src: SourceArgs,
    /// Output directory [default: <project>/target/malloc, or <cache>/malloc
    /// outside a checkout].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The debug build (-O0 -g3) instead of -O2 -g.
    #[arg(long, env = "DEBUG", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    debug: bool,
    /// Call __malloc_hook, __free_hook, __realloc_hook, __memalign_hook
    /// and __after_morecore_hook as glibc 2.33 did (versions from 2.34;
    /// earlier ones have them natively). Names the .so `...-hooks.so`.
    #[arg(long)]
    hooks: bool,
    /// Compile in the tracer, switched on at run time by
    /// MALLOC_STANDALONE_TRACE=<file> (MALLOC_STANDALONE_TRACE_FORMAT=
    /// mtrace|jsonl). Names the .so `...-trace.so`.
    #[arg(long)]
    trace: bool,
    /// Also link a copy padded so that malloc's globals lie at the
    /// distances from main_arena they have in FILE, a real libc.so.6 with
    /// its symbols or its debug file (Debian's libc6-dbg:
    /// /usr/lib/debug/.build-id/<xx>/<rest>.debug). Whole groups move (a
    /// unit's variables of one section: .data with mp_, .bss, TLS), and a
    /// FILE laid out otherwise inside a group is refused; docs/globals.md
    /// says why. Names the .so `...-layout.so`; not in Nix.
    #[arg(long, value_name = "FILE")]
    layout_like: Option<PathBuf>,
    #[command(flatten)]
    patches: PatchArgs,
}

/// One version's result.
enum Outcome {
    Built(PathBuf),
    /// The patches do not apply to it: why.
    NotApplied(String, String),
}

pub fn run(a: Args, sources: &Sources, project: &Project) -> Result<()> {
    let out = match a.out {
        Some(o) => o,
        None => project.default_out()?,
    };
    let project = &project.root()?;
    let requested: Vec<String> = [("hooks", a.hooks), ("trace", a.trace)]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(o, _)| o.to_string())
        .collect();
    let manifests: Vec<PathBuf> = if a.pinned {
        pinned_manifests(project)?
    } else if let Some(file) = &a.like {
        vec![like::manifest_like(
            file,
            sources,
            project,
            &sources::stderr,
        )?]
    } else {
        a.manifest
    };
    let patch_set = a.patches.load()?;
    let several = manifests.len() > 1;
    if several && (a.src.src.is_some() || a.src.git.is_some()) {
        bail!("--src and --git name one tree; build several manifests from their pinned sources");
    }
    if several && a.layout_like.is_some() {
        bail!("--layout-like names one real libc, of one version: build one manifest with it");
    }
    out_dir("--out", &out)?;
    let built = in_parallel(&manifests, "build", |path, bar| {
        let m = Manifest::load(path)?;
        bar.set_message(format!("glibc {}", m.version));
        let note = |line: String| say(bar, line);
        let opened = sources.open(&a.src, Some((path, &m)), &note)?;
        let [s] = opened.as_slice() else {
            bail!("build takes exactly one source");
        };
        // Each build also compiles its units in parallel: a version's
        // malloc.c is its long pole, so overlapping versions pays.
        let mut opts = build::BuildOptions::new(out.clone(), a.debug);
        opts.options = requested.clone();
        opts.layout_like = a.layout_like.clone();
        opts.patches = patch_set.clone();
        for o in &requested {
            if build::native_option(&m, o) {
                say(
                    bar,
                    format!("glibc {}: --{o}: the default build has them", m.version),
                );
            }
        }
        let start = Instant::now();
        let built = match build::build_noting(&m, &s.root, project, &opts, &|line| say(bar, line)) {
            // Several versions: the patches may fit some only.
            Err(e) if several && patches::not_applicable(&e) => {
                return Ok(Outcome::NotApplied(m.version.clone(), e.to_string()))
            }
            r => {
                r.with_context(|| format!("building glibc {} from {}", m.version, path.display()))?
            }
        };
        if let Some(padded) = &built.layout {
            for (section, pad, symbol, offset) in &padded.groups {
                say(
                    bar,
                    format!(
                        "glibc {}: --layout-like: {section} padded by {pad:#x}: {symbol} at {}",
                        m.version,
                        build::layout::signed_hex(*offset)
                    ),
                );
            }
        }
        say(
            bar,
            format!(
                "glibc {}: compiled {} unit(s), {}, {:.2} s",
                m.version,
                built.compiled,
                if built.linked {
                    "linked"
                } else {
                    "link up to date"
                },
                start.elapsed().as_secs_f64()
            ),
        );
        if !patch_set.is_empty() {
            say(bar, format!("glibc {}: the patches applied", m.version));
        }
        Ok(Outcome::Built(built.so))
    })?;
    let mut skipped = Vec::new();
    for o in &built {
        match o {
            Outcome::Built(so) => println!("{}", so.display()),
            Outcome::NotApplied(version, why) => {
                eprintln!("glibc {version}: not built: {why}");
                skipped.push(version.as_str());
            }
        }
    }
    if !skipped.is_empty() {
        let applied = built.len() - skipped.len();
        eprintln!(
            "the patches applied to {applied} of {} version(s); not to {}",
            built.len(),
            skipped.join(", ")
        );
        if applied == 0 {
            bail!(
                "the patches apply to none of the {} version(s)",
                built.len()
            );
        }
    }
    Ok(())
}
