//! `cargo xtask`: project chores that are not part of the product.
//!
//! `cargo xtask bench resolve` measures how long resolving each pinned glibc
//! version takes (sources already in the cache), one at a time and all at
//! once on every core, and writes the results with the machine and date to
//! `bench/results/resolve.md`; `cargo xtask bench build` does the same for
//! building (cold and no-op) into `bench/results/build.md`.
//! `cargo xtask conformance` and `cargo xtask globals` hold each .so to
//! the real glibc of its version: its behaviour (docs/conformance.md) and
//! the placement of its globals (docs/globals.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

use build::{build, BuildOptions};
use manifest::{self, Manifest};
use resolve::sysdeps::Target;
use resolve::{self, Options, SourceInfo};
use source::fetch::{self, FetchOptions};
use source::mirror::{self, Pins};
use source::{Cache, GlibcSource};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Prove each .so behaves as the real glibc of its version: our
    /// differential programs and glibc's own malloc tests, per version.
    Conformance {
        /// Versions to check [default: every pinned manifest].
        versions: Vec<String>,
        /// Only this suite.
        #[arg(long, value_parser = ["differential", "glibc-tests"])]
        suite: Option<String>,
        /// Also write the matrix into docs/conformance.md (between its conformance
        /// markers): the rows of the versions checked (with --suite, only
        /// that suite's column), the other rows as they were.
        #[arg(long)]
        write: bool,
        /// Programs (compilers, tests) run at once, over all versions
        /// [default: one per core].
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Run the real glibc's tests again rather than take the verdicts
        /// kept from earlier runs of the same binaries (PASS and
        /// UNSUPPORTED are kept, in the cache outside the repository).
        #[arg(long)]
        rerun_reference: bool,
        /// Check the build with this unified diff applied (as `resolver
        /// build --patch`; repeat for several, in order): the report lists
        /// the cases that now differ from the real glibc (`FAIL`), and the
        /// run fails only when a suite cannot run (the patch does not apply).
        #[arg(long = "patch", value_name = "FILE.diff", conflicts_with = "write")]
        patch: Vec<PathBuf>,
    },
    /// Where the allocator's globals lie relative to `main_arena`, ours
    /// against the real Debian libc of each version (its libc6-dbg).
    Globals {
        /// Versions to report [default: every pinned version whose real
        /// libc Debian's archive has].
        versions: Vec<String>,
        /// Also write the report into docs/globals.md (between its globals
        /// markers).
        #[arg(long)]
        write: bool,
    },
    /// Run a benchmark and write its results under bench/results/.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Resolve time per pinned version, sequential and all in parallel.
    Resolve {
        /// Rounds per version (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Build time per pinned version: cold (empty build directory) and
    /// no-op (nothing changed), then all versions cold at once.
    Build {
        /// Rounds per version (the median is reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Real and synthetic workloads (glibc's bench-malloc-simple and
    /// -thread, python3, gcc, sqlite3, our churn and producer/consumer)
    /// under the host's malloc, our .so of every version, jemalloc,
    /// mimalloc and tcmalloc: instructions, time, peak RSS, and a plot.
    Workloads {
        /// Interleaved timing rounds (the median ratio is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Time only (skip the valgrind instruction counts).
        #[arg(long)]
        no_instructions: bool,
        /// Only this workload (repeatable), e.g. sqlite3. With --only or
        /// --version the run is a focused A/B of the host's malloc against
        /// our .so (no third-party allocators), written to
        /// bench/results/workloads-focused.md.
        #[arg(long = "only", value_name = "WORKLOAD")]
        only: Vec<String>,
        /// Only our .so of this pinned version (repeatable), e.g. 2.36.
        #[arg(long = "version", value_name = "VERSION")]
        versions: Vec<String>,
    },
    /// The cost of the tracer of `--trace` builds, compiled in but off (and
    /// on), in instructions per version.
    Trace {
        /// Allocator calls of the workload.
        #[arg(long, default_value_t = 1_000_000)]
        ops: u64,
    },
    /// `resolver view` on a large synthetic trace: time, page size, and
    /// the time to draw a step in headless Chromium.
    View {
        /// Calls in the trace.
        #[arg(long, default_value_t = 100_000)]
        calls: usize,
        /// A pinned version to draw (repeatable) [default: resolver view's].
        #[arg(long = "version", value_name = "VERSION")]
        versions: Vec<String>,
    },
    /// What `resolver run` adds to a program's start on a cached build:
    /// `/bin/true` under it against `env LD_PRELOAD=<so> /bin/true`.
    RunOverhead {
        /// Starts of /bin/true each way (the median is reported).
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// The pinned version whose .so is preloaded.
        #[arg(long, default_value = "2.36")]
        version: String,
    },
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Conformance {
            versions,
            suite,
            write,
            jobs,
            rerun_reference,
            patch,
        } => {
            if rerun_reference {
                conformance::glibc_tests::REUSE_REFERENCE
                    .store(false, std::sync::atomic::Ordering::Relaxed);
            }
            let patches = build::PatchSet::load(&patch)?;
            conformance_cmd(versions, suite, write, jobs, &patches)
        }
        Cmd::Globals { versions, write } => globals_cmd(versions, write),
        Cmd::Bench {
            which: Bench::Resolve { rounds },
        } => bench_resolve(rounds),
        Cmd::Bench {
            which: Bench::Build { rounds },
        } => bench_build(rounds),
        Cmd::Bench {
            which: Bench::Trace { ops },
        } => bench::trace::run(ops),
        Cmd::Bench {
            which: Bench::View { calls, versions },
        } => bench::view::run(calls, &versions),
        Cmd::Bench {
            which: Bench::RunOverhead { runs, version },
        } => bench::run_overhead::run(runs, &version),
        Cmd::Bench {
            which:
                Bench::Workloads {
                    rounds,
                    no_instructions,
                    only,
                    versions,
                },
        } => bench::workloads::run(&bench::workloads::Selection {
            rounds,
            skip_instructions: no_instructions,
            only,
            versions,
        }),
    }
}

mod bench;
mod conformance;
mod globals;

fn conformance_cmd(
    versions: Vec<String>,
    suite: Option<String>,
    write: bool,
    jobs: Option<usize>,
    patches: &build::PatchSet,
) -> Result<()> {
    if let Some(n) = jobs {
        conformance::slots::init(n);
    }
    let cache = Cache::default_location()?;
    let versions: Vec<String> = if versions.is_empty() {
        pinned()?.into_iter().map(|m| m.version).collect()
    } else {
        versions
    };
    let suites: Vec<conformance::Suite> = conformance::SUITES
        .into_iter()
        .filter(|(name, _)| suite.as_deref().is_none_or(|s| s == *name))
        .collect();
    // Every version at once (conformance::slots shares the cores).
    let started = Instant::now();
    let checked: Vec<conformance::Checked> = at_once(&versions, |v| {
        conformance::check(v, &cache, &suites, patches)
    });
    let md = conformance::table(&checked);
    println!("\n{md}");
    eprintln!(
        "conformance: {} version(s) in {:.1} min",
        checked.len(),
        started.elapsed().as_secs_f64() / 60.0
    );
    if write {
        let page = project().join("docs/conformance.md");
        let text = std::fs::read_to_string(&page)?;
        let (begin, end) = ("<!-- conformance:begin -->", "<!-- conformance:end -->");
        let (Some(a), Some(b)) = (text.find(begin), text.find(end)) else {
            bail!("{} has no {begin} ... {end} markers", page.display());
        };
        let old = &text[a + begin.len()..b];
        let merged = conformance::merge_table(old, &checked);
        let new = format!("{}{begin}\n{merged}{}", &text[..a], &text[b..]);
        manifest::write_atomic(&page, new.as_bytes())?;
    }
    let errors: usize = checked.iter().map(|c| c.errors.len()).sum();
    let (line, failed) = conformance::summary(&checked);
    println!("{line}");
    if errors > 0 {
        bail!("{errors} suite(s) could not run (ERROR above)");
    }
    if !patches.is_empty() {
        let names: Vec<&str> = patches.patches.iter().map(|p| p.id.name.as_str()).collect();
        println!(
            "with {}: {failed} case(s) now differ from the real glibc (FAIL above); every other \
             case behaves as it did",
            names.join(" + ")
        );
        return Ok(());
    }
    if failed > 0 {
        bail!("{failed} conformance case(s) failed");
    }
    Ok(())
}

fn globals_cmd(versions: Vec<String>, write: bool) -> Result<()> {
    let (reports, skipped) = globals::collect(&versions)?;
    if !skipped.is_empty() {
        eprintln!(
            "no real libc in Debian's archive for glibc {}: not reported",
            skipped.join(", ")
        );
    }
    let md = globals::page(&reports);
    print!("{md}");
    if write {
        let page = project().join(globals::PAGE);
        let text = std::fs::read_to_string(&page)?;
        let new = globals::splice(&text, &md).ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no {} ... {} markers",
                page.display(),
                globals::BEGIN,
                globals::END
            )
        })?;
        manifest::write_atomic(&page, new.as_bytes())?;
        println!("{}", page.display());
    }
    Ok(())
}

fn pinned() -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    for (_, p) in manifest::committed(&project())? {
        out.push(Manifest::load(&p)?);
    }
    if out.is_empty() {
        bail!(
            "no manifests in {}",
            project().join(manifest::COMMITTED_DIR).display()
        );
    }
    Ok(out)
}

fn source_info(m: &Manifest, cache: &Cache) -> Result<SourceInfo> {
    let s = pinned_source(m, cache)?;
    Ok(SourceInfo::of(&s))
}

/// The source a committed manifest pins, fetched through the mirror the
/// project's chores use ([`mirror::for_project`]: `$MALLOC_STANDALONE_MIRROR`,
/// else `../shared/glibc-sources`, which is how CI provides the release
/// trees Debian's archive lacks). How a mirror's tarball was accepted goes
/// to stderr.
pub fn pinned_source(m: &Manifest, cache: &Cache) -> Result<GlibcSource> {
    let base = FetchOptions {
        mirror: mirror::for_project(&project()),
        ..FetchOptions::default()
    };
    let mut opts = fetch::pinned_options(m, &base)?;
    opts.pins = Some(Pins::of(m, manifest::committed_rel(&m.version)));
    let got = fetch::fetch_detailed(&m.version, cache, &opts)?;
    if let Some(accepted) = &got.mirror {
        eprintln!("{accepted}");
    }
    Ok(got.source)
}

/// How the benchmarks resolve (as `resolver resolve` does by default).
fn resolve_options() -> Options {
    Options {
        project: project(),
        max_iters: 8,
        target: Target::x86_64_linux(),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench_resolve(rounds: usize) -> Result<()> {
    let cache = Cache::default_location()?;
    let opts = resolve_options();
    let sources: Vec<SourceInfo> = pinned()?
        .iter()
        .map(|m| source_info(m, &cache))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for s in &sources {
        let mut times = Vec::new();
        let mut iters = 0;
        for _ in 0..rounds.max(1) {
            let t = Instant::now();
            let r = resolve::resolve(s, &opts)?;
            times.push(t.elapsed());
            iters = r.iterations;
        }
        let (min, max) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
        eprintln!(
            "glibc {}: median {:.3} s",
            s.version,
            median(times.clone()).as_secs_f64()
        );
        rows.push((s.version.clone(), median(times), min, max, iters));
    }
    // All versions at once, one thread each (as `resolver resolve --pinned` does on every core).
    let parallel = all_at_once(&sources, |s| {
        resolve::resolve(s, &opts)?;
        Ok(())
    })?;

    let machine = machine();
    let date = date();
    let mut md = format!(
        "# Resolve time\n\nCommand: `cargo xtask bench resolve --rounds {rounds}` (sources already cached; \
         libclang {}).\n\nMachine: {machine}. Date: {date}.\n\n\
         | glibc | median (s) | min (s) | max (s) | iterations |\n|---|---|---|---|---|\n",
        resolve::libclang_version().unwrap_or_default()
    );
    for (v, med, min, max, iters) in &rows {
        md.push_str(&format!(
            "| {v} | {:.3} | {:.3} | {:.3} | {iters} |\n",
            med.as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64()
        ));
    }
    md.push_str(&format!(
        "\nAll {} versions at once (one thread each): {:.3} s wall.\n\nTarget (issue 2): at most 2 s per version.\n",
        rows.len(),
        parallel.as_secs_f64()
    ));
    let out = project().join("bench/results/resolve.md");
    manifest::write_atomic(&out, md.as_bytes())?;
    print!("{md}");
    println!("{}", out.display());
    Ok(())
}

fn bench_build(rounds: usize) -> Result<()> {
    let cache = Cache::default_location()?;
    let manifests = pinned()?;
    let mut rows = Vec::new();
    let mut pairs = Vec::new();
    for m in &manifests {
        let src = source_info(m, &cache)?;
        let (mut cold, mut noop) = (Vec::new(), Vec::new());
        for _ in 0..rounds.max(1) {
            let out = tempfile_dir()?;
            let opts = BuildOptions::new(out.clone(), false);
            let t = Instant::now();
            build(m, &src.root, &project(), &opts)?;
            cold.push(t.elapsed());
            let t = Instant::now();
            let again = build(m, &src.root, &project(), &opts)?;
            noop.push(t.elapsed());
            if again.compiled != 0 || again.linked {
                bail!("glibc {}: a no-op rebuild did work", m.version);
            }
            std::fs::remove_dir_all(&out)?;
        }
        eprintln!(
            "glibc {}: cold {:.3} s",
            m.version,
            median(cold.clone()).as_secs_f64()
        );
        rows.push((m.version.clone(), median(cold), median(noop)));
        pairs.push((m.clone(), src));
    }
    // All versions from cold at once (the builder compiles each version's
    // units in parallel too, so this is how long "build everything" takes).
    let all = all_at_once(&pairs, |(m, src)| build_cold(m, &src.root))?;
    // The whole matrix from cold: every version resolved (libclang) and
    // built into an empty directory, all at once, as `resolver resolve
    // --pinned` and `resolver build --pinned` do one after the other.
    let opts = resolve_options();
    let matrix = all_at_once(&pairs, |(_, src)| {
        build_cold(&resolve::resolve(src, &opts)?.manifest, &src.root)
    })?;
    let mut md = format!(
        "# Build time\n\nCommand: `cargo xtask bench build --rounds {rounds}` (sources already cached; \
         {}).\n\nMachine: {}. Date: {}.\n\n\
         | glibc | cold (s) | no-op (s) |\n|---|---|---|\n",
        cc_version(),
        machine(),
        date()
    );
    for (v, cold, noop) in &rows {
        md.push_str(&format!(
            "| {v} | {:.3} | {:.3} |\n",
            cold.as_secs_f64(),
            noop.as_secs_f64()
        ));
    }
    md.push_str(&format!(
        "\nAll {n} versions from cold at once: {:.3} s wall.\n\n\
         The whole matrix from cold (all {n} versions resolved with libclang and built into empty \
         directories, all at once): {:.3} s wall.\n\n\
         Targets: at most 3 s cold and 0.2 s no-op per version (issues 3 and 7); the whole \
         matrix of every pinned release from cold in at most 60 s on 2 cores (issue 13).\n",
        all.as_secs_f64(),
        matrix.as_secs_f64(),
        n = rows.len(),
    ));
    let out = project().join("bench/results/build.md");
    manifest::write_atomic(&out, md.as_bytes())?;
    print!("{md}");
    println!("{}", out.display());
    Ok(())
}

/// `work` on every item at once, one thread each (not a pool: what the
/// threads run is limited elsewhere, if at all); the results in the items'
/// order.
pub fn at_once<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|sc| {
        let hs: Vec<_> = items.iter().map(|i| sc.spawn(|| work(i))).collect();
        hs.into_iter()
            .map(|h| h.join().expect("a thread of at_once"))
            .collect()
    })
}

/// How long `work` takes on every item at once, one thread each.
fn all_at_once<T: Sync>(items: &[T], work: impl Fn(&T) -> Result<()> + Sync) -> Result<Duration> {
    let t = Instant::now();
    at_once(items, work).into_iter().collect::<Result<()>>()?;
    Ok(t.elapsed())
}

/// `m` built into a fresh directory, which is removed afterwards.
fn build_cold(m: &Manifest, root: &Path) -> Result<()> {
    let out = tempfile_dir()?;
    build(m, root, &project(), &BuildOptions::new(out.clone(), false))?;
    std::fs::remove_dir_all(&out)?;
    Ok(())
}

/// A fresh directory under the system's temporary directory.
fn tempfile_dir() -> Result<PathBuf> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "malloc-bench-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

fn cc_version() -> String {
    conformance::compiler_version(&std::env::var("CC").unwrap_or_else(|_| "cc".into()))
}

fn date() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// "<cpu model>, <n> cores, <memory>, <os>"
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find(|l| l.starts_with("PRETTY_NAME=")).map(|l| {
                l.trim_start_matches("PRETTY_NAME=")
                    .trim_matches('"')
                    .to_owned()
            })
        })
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}, {os}")
}
