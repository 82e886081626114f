//! The command line: parse arguments, call the library, print results.
//! Nothing here knows about glibc; it only wires the library together.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use manifest::{self, Manifest};
use resolve::sysdeps::Target;
use resolve::{self, Options, SourceInfo};
use source::fetch::{self, FetchOptions};
use source::mirror::{self, Pins};
use source::{self, Cache, GlibcSource};

/// Resolve glibc's allocator into a pinned build manifest.
///
/// The resolver parses malloc/malloc.c of a glibc source tree with libclang,
/// follows every header and symbol it needs to a host header, a verbatim
/// glibc file, or one of our shims and stubs, and writes the result as a
/// deterministic YAML manifest (plus a JSON twin for Nix).
#[derive(Parser, Debug)]
#[command(name = "resolver", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Cache for fetched and unpacked sources [default: $MALLOC_STANDALONE_CACHE,
    /// else $XDG_CACHE_HOME/malloc-standalone, else ~/.cache/malloc-standalone]
    #[arg(long, global = true, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// The project root holding shims/ and stubs/ [default: found from the
    /// current directory upwards]
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    /// A local mirror: a directory of glibc release tarballs named
    /// glibc-<version>.tar.xz, tried after the cache and before Debian's
    /// archive and GNU [default: $MALLOC_STANDALONE_MIRROR]. A tarball is
    /// accepted when its sha256 is GNU's release tarball's (or --sha256's),
    /// else when every file the version's manifest pins matches (a reduced
    /// export is fine), else, for a version no manifest pins yet and no
    /// --sha256, unverified with a note; stderr says which. Not used for an
    /// exact Debian version (a Debian-pinned manifest, the host's glibc).
    #[arg(long, global = true, value_name = "DIR")]
    mirror: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Resolve one or more glibc versions and write their manifests.
    ///
    /// With no source option, resolves the host's own glibc (on Debian, the
    /// exact Debian patch level of the installed libc6). The manifest's path
    /// is the last line of output.
    Resolve(ResolveArgs),
    /// Fetch a glibc version's source into the cache and print the tree's path.
    ///
    /// Tries, in order: the cache, the mirror (--mirror, checked against
    /// GNU's sha256 or the files nix/manifests/glibc-<version>.yaml pins),
    /// Debian's archive (the patched `glibc-source` tree, then the `glibc`
    /// source package's orig tarball), the GNU release tarball checked
    /// against a pinned sha256.
    Fetch(FetchArgs),
    /// Check a manifest against a source tree: every pinned file's sha256.
    Verify {
        /// The manifest (YAML or JSON).
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        #[command(flatten)]
        src: SourceArgs,
    },
    /// Build a manifest's shared object with a C compiler (no libclang).
    ///
    /// Checks every verbatim file against the manifest's sha256 first, stages
    /// them in the build directory, and compiles incrementally. With no
    /// source option it fetches the exact source the manifest pins. The
    /// shared object's path is the last line of output.
    Build {
        /// The manifest (YAML or JSON), e.g. nix/manifests/glibc-2.36.yaml;
        /// repeat to build several in parallel.
        #[arg(long, value_name = "FILE", required_unless_present = "pinned")]
        manifest: Vec<PathBuf>,
        /// Build every manifest in nix/manifests, in parallel.
        #[arg(long, conflicts_with_all = ["manifest", "src", "git", "glibc"])]
        pinned: bool,
        #[command(flatten)]
        src: SourceArgs,
        /// Output directory [default: <project>/target/malloc].
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
    },
    /// Replay a jsonl allocation trace against several versions' allocators.
    ///
    /// Records a trace with a `--trace` build (MALLOC_STANDALONE_TRACE,
    /// MALLOC_STANDALONE_TRACE_FORMAT=jsonl), then replays its calls, in
    /// order and single-threaded, under each version's default .so (built
    /// from its pinned source as needed) and on the host's own malloc, and
    /// prints time, peak RSS and fragmentation side by side.
    Replay {
        /// The trace (jsonl).
        trace: PathBuf,
        /// Manifests of the versions to compare; repeat [default: every
        /// manifest in nix/manifests].
        #[arg(long, value_name = "FILE")]
        manifest: Vec<PathBuf>,
        /// Runs per allocator, interleaved; the median time is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Where the shared objects and the replayer are built
        /// [default: <project>/target/malloc].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write the dependency graph of a resolution.
    Graph {
        #[command(flatten)]
        src: SourceArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Upper bound on resolution rounds.
        #[arg(long, env = "MAX_ITERS", default_value_t = 8)]
        max_iters: usize,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    /// Graphviz.
    Dot,
}

/// Where a glibc source comes from (at most one).
#[derive(Args, Debug, Clone, Default)]
struct SourceArgs {
    /// A glibc source tree or tarball (.tar.xz, .tar.gz, .tar.bz2).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["git", "glibc"])]
    src: Option<PathBuf>,
    /// A git repository (path or URL) to clone a tag from; needs --tag.
    #[arg(long, env = "GLIBC_REPO", value_name = "REPO", requires = "tag")]
    git: Option<String>,
    /// The tag to clone from --git, e.g. glibc-2.39.
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,
    /// A glibc version to fetch (cache, mirror, Debian, GNU); repeat to resolve several in parallel.
    #[arg(long = "glibc", value_name = "VERSION")]
    glibc: Vec<String>,
}

#[derive(Args, Debug)]
struct ResolveArgs {
    #[command(flatten)]
    src: SourceArgs,
    /// Directory for the manifests [default: <project>/nix/manifests].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Upper bound on resolution rounds.
    #[arg(long, env = "MAX_ITERS", default_value_t = 8)]
    max_iters: usize,
    /// Re-resolve every manifest already in the output directory, from the
    /// exact source each one pins.
    #[arg(long, conflicts_with_all = ["src", "git", "glibc"])]
    pinned: bool,
    /// Also write the dependency graph (Graphviz) next to each manifest.
    #[arg(long)]
    graph: bool,
}

#[derive(Args, Debug)]
struct FetchArgs {
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

/// How this run gets glibc sources: the cache, the fetch options every
/// fetch starts from (the mirror), and the project whose committed
/// manifests pin the files a mirror's tarball is checked by.
struct Sources {
    cache: Cache,
    base: FetchOptions,
    project: Option<PathBuf>,
}

impl Sources {
    /// `base` plus the pins of the project's committed manifest of `version`.
    fn options_for(&self, version: &str) -> Result<FetchOptions> {
        let pins = match &self.project {
            Some(p) => mirror::committed_pins(p, version)?,
            None => None,
        };
        Ok(FetchOptions {
            pins,
            ..self.base.clone()
        })
    }

    /// Fetches `version` with `opts`, telling `note` how a tarball from the
    /// mirror was accepted.
    fn fetch(
        &self,
        version: &str,
        opts: &FetchOptions,
        note: &dyn Fn(String),
    ) -> Result<GlibcSource> {
        Ok(self.fetch_detailed(version, opts, note)?.source)
    }

    /// [`Sources::fetch`], also saying where the tree was found.
    fn fetch_detailed(
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
    fn pinned(&self, m: &Manifest, path: &Path, note: &dyn Fn(String)) -> Result<GlibcSource> {
        let mut opts = fetch::pinned_options(m, &self.base)?;
        opts.pins = Some(Pins::of(m, self.label(path)));
        self.fetch(&m.version, &opts, note)
    }

    /// `path` for messages: relative to the project when inside it.
    fn label(&self, path: &Path) -> String {
        self.project
            .as_deref()
            .and_then(|p| path.strip_prefix(p).ok())
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    let cache = match &cli.cache {
        Some(d) => Cache::new(d.clone()),
        None => Cache::default_location()?,
    };
    // Only commands that parse or verify need the project's shims and stubs.
    let project = || match &cli.project {
        Some(p) => Ok(p.clone()),
        None => find_project(),
    };
    let mirror = match &cli.mirror {
        Some(dir) => {
            mirror::check_dir(dir)?;
            Some(dir.clone())
        }
        None => mirror::from_env()
            .map(|dir| {
                mirror::check_dir(&dir).with_context(|| format!("${}", mirror::ENV))?;
                Ok::<_, anyhow::Error>(dir)
            })
            .transpose()?,
    };
    // `fetch` runs outside the project too; it then has no committed pins.
    let sources = Sources {
        cache,
        base: FetchOptions {
            mirror,
            ..FetchOptions::default()
        },
        project: project().ok(),
    };
    let stderr = |line: String| eprintln!("{line}");
    match cli.command {
        Command::Resolve(args) => cmd_resolve(args, &sources, &project()?),
        Command::Fetch(a) => {
            let opts = FetchOptions {
                debian: !a.no_debian,
                gnu: !a.no_gnu,
                gnu_base_url: a.gnu_url,
                debian_version: a.debian_version,
                sha256: a.sha256,
                ..sources.options_for(&a.version)?
            };
            let got = sources.fetch_detailed(&a.version, &opts, &stderr)?;
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
        Command::Verify { manifest, src } => {
            let m = Manifest::load(&manifest)?;
            let opened = open_sources(&src, &sources, Some((&manifest, &m)), &stderr)?;
            let [s] = opened.as_slice() else {
                bail!("verify takes exactly one source");
            };
            let bad = source::verify::verify(&m, &s.root, &project()?)?;
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
        Command::Build {
            manifest,
            pinned,
            src,
            out,
            debug,
            hooks,
            trace,
        } => {
            let project = project()?;
            let requested: Vec<String> = [("hooks", hooks), ("trace", trace)]
                .iter()
                .filter(|(_, on)| *on)
                .map(|(o, _)| o.to_string())
                .collect();
            let manifests: Vec<PathBuf> = if pinned {
                pinned_manifests(&project)?
            } else {
                manifest
            };
            let several = manifests.len() > 1;
            if several && (src.src.is_some() || src.git.is_some()) {
                bail!("--src and --git name one tree; build several manifests from their pinned sources");
            }
            let out = out.unwrap_or_else(|| project.join("target/malloc"));
            let built = in_parallel(&manifests, "build", |path, bar| {
                let m = Manifest::load(path)?;
                bar.set_message(format!("glibc {}", m.version));
                let note = |line: String| say(bar, line);
                let opened = open_sources(&src, &sources, Some((path, &m)), &note)?;
                let [s] = opened.as_slice() else {
                    bail!("build takes exactly one source");
                };
                // Each build also compiles its units in parallel: a version's
                // malloc.c is its long pole, so overlapping versions pays.
                let mut opts = build::BuildOptions::new(out.clone(), debug);
                opts.options = requested.clone();
                for o in &requested {
                    if build::native_option(&m, o) {
                        say(
                            bar,
                            format!("glibc {}: --{o}: the default build has them", m.version),
                        );
                    }
                }
                let start = Instant::now();
                let built = build::build(&m, &s.root, &project, &opts).with_context(|| {
                    format!("building glibc {} from {}", m.version, path.display())
                })?;
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
                Ok(built.so)
            })?;
            for so in built {
                println!("{}", so.display());
            }
            Ok(())
        }
        Command::Replay {
            trace,
            manifest,
            rounds,
            out,
        } => cmd_replay(&trace, manifest, rounds, out, &sources, &project()?),
        Command::Graph {
            src,
            format: GraphFormat::Dot,
            out,
            max_iters,
        } => {
            let opened = open_sources(&src, &sources, None, &stderr)?;
            let [s] = opened.as_slice() else {
                bail!("graph takes exactly one source");
            };
            let r = resolve::resolve(&info(s), &options(&project()?, max_iters))?;
            let dot = r.graph.to_dot();
            match out {
                Some(p) => manifest::write_atomic(&p, dot.as_bytes())?,
                None => print!("{dot}"),
            }
            Ok(())
        }
    }
}

fn options(project: &Path, max_iters: usize) -> Options {
    Options {
        project: project.to_owned(),
        max_iters,
        target: Target::x86_64_linux(),
    }
}

fn info(s: &GlibcSource) -> SourceInfo {
    SourceInfo::of(s)
}

/// The project root: `--project`, else the nearest ancestor of the current
/// directory holding `shims/prelude.h` and `stubs/`.
fn find_project() -> Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        if dir.join("shims/prelude.h").is_file() && dir.join("stubs").is_dir() {
            return Ok(dir.to_owned());
        }
    }
    bail!(
        "no project root (a directory with shims/prelude.h and stubs/) at or above {}; \
         run inside the repository or pass --project DIR",
        cwd.display()
    )
}

/// Opens the sources the arguments name; with none, the source `pinned`
/// (a manifest and its path) pins, else the host's glibc. `note` gets how
/// a tarball from the mirror was accepted.
fn open_sources(
    a: &SourceArgs,
    sources: &Sources,
    pinned: Option<(&Path, &Manifest)>,
    note: &dyn Fn(String),
) -> Result<Vec<GlibcSource>> {
    let cache = &sources.cache;
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
                        pins: Some(Pins::of(m, sources.label(path))),
                        ..sources.base.clone()
                    },
                    _ => sources.options_for(v)?,
                };
                sources.fetch(v, &opts, note)
            })
            .collect();
    }
    if let Some((path, m)) = pinned {
        return Ok(vec![sources.pinned(m, path, note)?]);
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
        ..sources.options_for(&host.version)?
    };
    Ok(vec![sources.fetch(&host.version, &opts, note)?])
}

/// Fetches exactly the source a manifest pins.
fn cmd_replay(
    trace: &Path,
    manifests: Vec<PathBuf>,
    rounds: usize,
    out: Option<PathBuf>,
    sources: &Sources,
    project: &Path,
) -> Result<()> {
    use replay;
    // A missing or unreadable trace is the user's first mistake: say so
    // before building anything.
    std::fs::File::open(trace)
        .with_context(|| format!("cannot read the trace {}", trace.display()))?;
    let manifests = if manifests.is_empty() {
        pinned_manifests(project)?
    } else {
        manifests
    };
    let out = out.unwrap_or_else(|| project.join("target/malloc"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let replayer = replay::compile(&cc, project, &out)?;
    let mut allocators: Vec<(String, Option<PathBuf>)> = Vec::new();
    let host = fetch::host_glibc()?;
    allocators.push((format!("host glibc {} (libc.so.6)", host.version), None));
    for path in &manifests {
        let m = Manifest::load(path)?;
        let src = sources.pinned(&m, path, &|line| eprintln!("{line}"))?;
        let built = build::build(
            &m,
            &src.root,
            project,
            &build::BuildOptions::new(out.clone(), false),
        )
        .with_context(|| format!("building glibc {}", m.version))?;
        allocators.push((format!("glibc {} (ours)", m.version), Some(built.so)));
    }
    let mut results: Vec<Vec<replay::Measurement>> = vec![Vec::new(); allocators.len()];
    for round in 0..rounds.max(1) {
        for (i, (name, so)) in allocators.iter().enumerate() {
            let m = replay::replay(&replayer, trace, so.as_deref())?;
            eprintln!(
                "round {}: {name}: {:.1} ms",
                round + 1,
                m.time_ns as f64 / 1e6
            );
            results[i].push(m);
        }
    }
    let rows: Vec<(String, replay::Measurement)> = allocators
        .iter()
        .zip(results)
        .map(|((name, _), mut runs)| {
            runs.sort_by_key(|m| m.time_ns);
            (name.clone(), runs[runs.len() / 2].clone())
        })
        .collect();
    print!("{}", replay::table(trace, &rows));
    Ok(())
}

/// The manifests in `<project>/nix/manifests`, sorted.
fn pinned_manifests(project: &Path) -> Result<Vec<PathBuf>> {
    let dir = project.join("nix/manifests");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    if v.is_empty() {
        bail!("no manifests in {}", dir.display());
    }
    Ok(v)
}

fn cmd_resolve(args: ResolveArgs, sources: &Sources, project: &Path) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| project.join("nix/manifests"));
    let sources: Vec<GlibcSource> = if args.pinned {
        let mut pins = list_manifests(&out)?;
        if pins.is_empty() {
            bail!("--pinned: no manifests in {}", out.display());
        }
        pins.sort_by(|(_, a), (_, b)| a.version.cmp(&b.version));
        pins.iter()
            .map(|(path, m)| sources.pinned(m, path, &|line| eprintln!("{line}")))
            .collect::<Result<_>>()?
    } else {
        open_sources(&args.src, sources, None, &|line| eprintln!("{line}"))?
    };
    let opts = options(project, args.max_iters);
    let paths = in_parallel(&sources, "resolution", |s, bar| {
        bar.set_message(format!("glibc {}", s.version));
        let start = Instant::now();
        let r = resolve::resolve(&info(s), &opts)
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

/// Runs `work` on every item, one worker per core, with a progress bar;
/// prints every failure and fails if any did, else returns the results in
/// the items' order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    what: &str,
    work: impl Fn(&T, &indicatif::ProgressBar) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let bar = progress(items.len());
    let results: Mutex<Vec<(usize, Result<R>)>> = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = work(item, &bar);
                bar.inc(1);
                results.lock().unwrap().push((i, r));
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut failed = 0;
    let mut out = Vec::new();
    for (_, r) in results {
        match r {
            Ok(v) => out.push(v),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} {what}(s) failed", items.len());
    }
    Ok(out)
}

/// The manifests in `dir`, with their paths.
fn list_manifests(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for e in entries {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let m = Manifest::load(&p)?;
            out.push((p, m));
        }
    }
    Ok(out)
}

/// Prints a line above the progress bar, or plainly when the bar is hidden
/// (stderr is not a terminal), so logs keep the per-version summary.
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// A progress bar on stderr when it is a terminal (hidden otherwise).
fn progress(n: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}
