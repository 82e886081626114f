//! Where the commands get glibc sources: the cache, a mirror checked
//! against the committed manifests' pins, a tree, a tarball, a git tag, a
//! version to fetch, or the host's own glibc.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use manifest::Manifest;
use source::fetch::{self, FetchOptions};
use source::mirror::{self, Pins};
use source::{self, Cache, GlibcSource};

use crate::project::Project;

/// Where a glibc source comes from (at most one).
#[derive(Args, Debug, Clone, Default)]
pub struct SourceArgs {
    /// A glibc source tree or tarball (.tar.xz, .tar.gz, .tar.bz2).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["git", "glibc"])]
    pub src: Option<PathBuf>,
    /// A git repository (path or URL) to clone a tag from; needs --tag.
    #[arg(long, env = "GLIBC_REPO", value_name = "REPO", requires = "tag")]
    pub git: Option<String>,
    /// The tag to clone from --git, e.g. glibc-2.39.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// A glibc version to fetch (cache, mirror, Debian, GNU); repeat to resolve several in parallel.
    #[arg(long = "glibc", value_name = "VERSION")]
    pub glibc: Vec<String>,
}

/// How this run gets glibc sources: the cache, the fetch options every
/// fetch starts from (the mirror), and the project whose committed
/// manifests pin the files a mirror's tarball is checked by.
pub struct Sources {
    pub cache: Cache,
    pub base: FetchOptions,
    project: Arc<Project>,
}

impl Sources {
    /// The cache and the mirror (`--mirror`, else
    /// `$MALLOC_STANDALONE_MIRROR`), checked. The committed pins are the
    /// project's (a checkout's, or the embedded copy's).
    pub fn new(cache: Cache, mirror: Option<PathBuf>, project: Arc<Project>) -> Result<Sources> {
        let mirror = match mirror {
            Some(dir) => {
                mirror::check_dir(&dir)?;
                Some(dir)
            }
            None => mirror::from_env()
                .map(|dir| {
                    mirror::check_dir(&dir).with_context(|| format!("${}", mirror::ENV))?;
                    Ok::<_, anyhow::Error>(dir)
                })
                .transpose()?,
        };
        Ok(Sources {
            cache,
            base: FetchOptions {
                mirror,
                ..FetchOptions::default()
            },
            project,
        })
    }

    /// `base` plus the pins of the project's committed manifest of `version`.
    pub fn options_for(&self, version: &str) -> Result<FetchOptions> {
        let pins = match self.project.root() {
            Ok(p) => mirror::committed_pins(&p, version)?,
            Err(_) => None,
        };
        Ok(FetchOptions {
            pins,
            ..self.base.clone()
        })
    }

    /// Fetches `version` with `opts`, telling `note` how a tarball from the
    /// mirror was accepted.
    pub fn fetch(
        &self,
        version: &str,
        opts: &FetchOptions,
        note: &dyn Fn(String),
    ) -> Result<GlibcSource> {
        Ok(self.fetch_detailed(version, opts, note)?.source)
    }

    /// [`Sources::fetch`], also saying where the tree was found.
    pub fn fetch_detailed(
        &self,
        version: &str,
        opts: &FetchOptions,
        note: &dyn Fn(String),
    ) -> Result<fetch::Fetched> {
        let got = fetch::fetch_detailed(version, &self.cache, opts)?;
        if let Some(accepted) = &got.mirror {
            note(accepted.to_string());
        }
        Ok(got)
    }

    /// Fetches exactly the source manifest `m` (read from `path`) pins.
    pub fn pinned(&self, m: &Manifest, path: &Path, note: &dyn Fn(String)) -> Result<GlibcSource> {
        let mut opts = fetch::pinned_options(m, &self.base)?;
        opts.pins = Some(Pins::of(m, self.label(path)));
        self.fetch(&m.version, &opts, note)
    }

    /// `path` for messages: relative to the project when inside it.
    fn label(&self, path: &Path) -> String {
        let root = self.project.root().ok();
        root.as_deref()
            .and_then(|p| path.strip_prefix(p).ok())
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Opens the sources the arguments name; with none, the source `pinned`
    /// (a manifest and its path) pins, else the host's glibc. `note` gets
    /// how a tarball from the mirror was accepted.
    pub fn open(
        &self,
        a: &SourceArgs,
        pinned: Option<(&Path, &Manifest)>,
        note: &dyn Fn(String),
    ) -> Result<Vec<GlibcSource>> {
        let cache = &self.cache;
        if let Some(p) = &a.src {
            return Ok(vec![source::open(p, cache)?]);
        }
        if let Some(repo) = &a.git {
            let tag = a.tag.as_deref().context("--git needs --tag")?;
            return Ok(vec![fetch::from_git(repo, tag, cache)?]);
        }
        if !a.glibc.is_empty() {
            return a
                .glibc
                .iter()
                .map(|v| {
                    // The manifest at hand pins its own version's files;
                    // other versions are checked by the committed manifests.
                    let opts = match pinned {
                        Some((path, m)) if &m.version == v => FetchOptions {
                            pins: Some(Pins::of(m, self.label(path))),
                            ..self.base.clone()
                        },
                        _ => self.options_for(v)?,
                    };
                    self.fetch(v, &opts, note)
                })
                .collect();
        }
        if let Some((path, m)) = pinned {
            return Ok(vec![self.pinned(m, path, note)?]);
        }
        let host = fetch::host_glibc()?;
        eprintln!(
            "no source given: using the host's glibc {}{}",
            host.version,
            host.debian_version
                .as_deref()
                .map(|d| format!(" (Debian {d})"))
                .unwrap_or_default()
        );
        let opts = FetchOptions {
            debian_version: host.debian_version.clone(),
            ..self.options_for(&host.version)?
        };
        Ok(vec![self.fetch(&host.version, &opts, note)?])
    }
}

/// Prints a line on stderr (how a mirror's tarball was accepted).
pub fn stderr(line: String) {
    eprintln!("{line}");
}
