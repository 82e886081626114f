//! `resolver resolve`: resolve glibc versions and write their manifests.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use resolve::SourceInfo;
use source::GlibcSource;

use crate::common::{at_least_one, in_parallel, list_manifests, options, out_dir, say};
use crate::like;
use crate::project::{Kind, Project};
use crate::sources::{self, SourceArgs, Sources};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    src: SourceArgs,
    /// Directory for the manifests [default: <project>/nix/manifests, or
    /// the current directory outside a checkout].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Upper bound on resolution rounds.
    #[arg(long, env = "MAX_ITERS", default_value_t = 8, value_parser = at_least_one("--max-iters"))]
    max_iters: usize,
    /// Re-resolve every manifest already in the output directory, from the
    /// exact source each one pins.
    #[arg(long, conflicts_with_all = ["src", "git", "glibc"])]
    pinned: bool,
    /// Also write the dependency graph (Graphviz) next to each manifest.
    #[arg(long)]
    graph: bool,
    /// The manifest of the allocator matching a libc.so.6 (a challenge's),
    /// as `build --like` picks it: a committed manifest that pins exactly
    /// the source to use, else one resolved into the cache (not --out).
    #[arg(long, value_name = "LIBC", conflicts_with_all = ["src", "git", "glibc", "pinned", "out", "graph"])]
    like: Option<PathBuf>,
}

pub fn run(args: Args, sources: &Sources, project: &Project) -> Result<()> {
    let located = project.locate()?;
    let project = &located.root;
    if let Some(file) = &args.like {
        let manifest = like::manifest_like(file, sources, project, &sources::stderr)?;
        println!("{}", manifest.display());
        return Ok(());
    }
    // The embedded copy of the project is never written to.
    let out = match (&args.out, located.kind) {
        (Some(o), _) => o.clone(),
        (None, Kind::Embedded) => PathBuf::from("."),
        (None, _) => project.join(manifest::COMMITTED_DIR),
    };
    out_dir("--out", &out)?;
    let trees: Vec<GlibcSource> = if args.pinned {
        let pins = list_manifests(&out)?;
        if pins.is_empty() {
            bail!("--pinned: no manifests in {}", out.display());
        }
        pins.iter()
            .map(|(path, m)| sources.pinned(m, path, &sources::stderr))
            .collect::<Result<_>>()?
    } else {
        sources.open(&args.src, None, &sources::stderr)?
    };
    let opts = options(project, args.max_iters);
    let paths = in_parallel(&trees, "resolution", |s, bar| {
        bar.set_message(format!("glibc {}", s.version));
        let start = Instant::now();
        let r = resolve::resolve(&SourceInfo::of(s), &opts)
            .with_context(|| format!("resolving glibc {} at {}", s.version, s.root.display()))?;
        let path = r.manifest.write(&out)?;
        if args.graph {
            let dot = out.join(format!("{}.dot", r.manifest.stem()));
            manifest::write_atomic(&dot, r.graph.to_dot().as_bytes())?;
        }
        let (n, e) = r.graph.size();
        say(
            bar,
            format!(
                "glibc {}: converged in {} iteration(s), {} files pinned, {n} graph nodes, {e} edges, {:.2} s",
                s.version,
                r.iterations,
                r.manifest.verbatim.len(),
                start.elapsed().as_secs_f64()
            ),
        );
        Ok(path)
    })?;
    for p in &paths {
        println!("{}", p.display());
    }
    Ok(())
}
