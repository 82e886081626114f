//! `resolver fetch`: fetch a glibc version's source into the cache.

use anyhow::Result;

use source::fetch::{self, FetchOptions};

use crate::sources::{self, Sources};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The glibc version, e.g. 2.41.
    version: String,
    /// An exact Debian version to take, e.g. 2.36-9+deb12u14.
    #[arg(long, value_name = "DEBVER")]
    debian_version: Option<String>,
    /// Do not try Debian's archive.
    #[arg(long)]
    no_debian: bool,
    /// Do not try the GNU release tarball.
    #[arg(long)]
    no_gnu: bool,
    /// Base URL of GNU glibc releases.
    #[arg(long, value_name = "URL")]
    gnu_url: Option<String>,
    /// Expected sha256 of the GNU tarball, for versions without a pinned one
    /// (a mirror's tarball with this sha256 is accepted as GNU's).
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
}

pub fn run(a: Args, sources: &Sources) -> Result<()> {
    let opts = FetchOptions {
        debian: !a.no_debian,
        gnu: !a.no_gnu,
        gnu_base_url: a.gnu_url,
        debian_version: a.debian_version,
        sha256: a.sha256,
        ..sources.options_for(&a.version)?
    };
    let got = sources.fetch_detailed(&a.version, &opts, &sources::stderr)?;
    let src = &got.source;
    match got.step {
        fetch::Step::Cache => {
            eprintln!("glibc {} from the cache: {}", src.version, src.origin)
        }
        fetch::Step::Mirror => {
            eprintln!("glibc {} from the mirror, as {}", src.version, src.origin)
        }
        _ => eprintln!("glibc {} from {}", src.version, src.origin),
    }
    println!("{}", src.root.display());
    Ok(())
}
