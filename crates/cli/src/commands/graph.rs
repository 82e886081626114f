//! `resolver graph`: the dependency graph of a resolution.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::ValueEnum;

use resolve::SourceInfo;

use crate::common::{at_least_one, options, out_file};
use crate::project::Project;
use crate::sources::{self, SourceArgs, Sources};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    src: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Upper bound on resolution rounds.
    #[arg(long, env = "MAX_ITERS", default_value_t = 8, value_parser = at_least_one("--max-iters"))]
    max_iters: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Graphviz.
    Dot,
}

pub fn run(a: Args, sources: &Sources, project: &Project) -> Result<()> {
    let Format::Dot = a.format;
    if let Some(p) = &a.out {
        out_file("--out", p)?;
    }
    let opened = sources.open(&a.src, None, &sources::stderr)?;
    let [s] = opened.as_slice() else {
        bail!("graph takes exactly one source");
    };
    let r = resolve::resolve(&SourceInfo::of(s), &options(&project.root()?, a.max_iters))?;
    let dot = r.graph.to_dot();
    match a.out {
        Some(p) => manifest::write_atomic(&p, dot.as_bytes())?,
        None => print!("{dot}"),
    }
    Ok(())
}
