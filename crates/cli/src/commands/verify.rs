//! `resolver verify`: check a manifest's pinned files against a tree.

use std::path::PathBuf;

use anyhow::{bail, Result};

use manifest::Manifest;

use crate::project::Project;
use crate::sources::{self, SourceArgs, Sources};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The manifest (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    #[command(flatten)]
    src: SourceArgs,
}

pub fn run(Args { manifest, src }: Args, sources: &Sources, project: &Project) -> Result<()> {
    let m = Manifest::load(&manifest)?;
    let opened = sources.open(&src, Some((&manifest, &m)), &sources::stderr)?;
    let [s] = opened.as_slice() else {
        bail!("verify takes exactly one source");
    };
    let bad = source::verify::verify(&m, &s.root, &project.root()?)?;
    if bad.is_empty() {
        println!(
            "{}: all {} pinned files match {}",
            manifest.display(),
            m.verbatim.len() + m.shims.len() + m.stubs.len(),
            s.root.display()
        );
        Ok(())
    } else {
        for b in &bad {
            eprintln!("{b}");
        }
        bail!(
            "{} file(s) differ from {}; the tree is not the one this manifest pins \
             (fetch the pinned source, or re-resolve with `resolver resolve`)",
            bad.len(),
            manifest.display()
        )
    }
}
