//! `resolver`: a thin binary over the library crates. This file holds the
//! command line's shape and hands each command to its file in `commands/`;
//! `sources.rs` says where glibc sources come from, `project.rs` where the
//! project's files are (a checkout, or the copy embedded in the binary),
//! `preload.rs` what `run` and `gdb` share (the chosen manifest, its cached
//! build), `common.rs` the rest the commands share (the manifest list,
//! running in parallel with a progress bar). Nothing here knows about glibc.

mod commands;
mod common;
mod like;
mod patches;
mod preload;
mod project;
mod sources;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use commands::{build, fetch, gdb, graph, replay, resolve, run, verify, view};
use project::Project;
use source::Cache;
use sources::Sources;

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
    /// The project root holding shims/, stubs/, gdb/ and nix/manifests/
    /// [default: a checkout at or above the current directory, else the
    /// copy built into the resolver, extracted into the cache]
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
    Resolve(resolve::Args),
    /// Fetch a glibc version's source into the cache and print the tree's path.
    ///
    /// Tries, in order: the cache, the mirror (--mirror, checked against
    /// GNU's sha256 or the files nix/manifests/glibc-<version>.yaml pins),
    /// Debian's archive (the patched `glibc-source` tree, then the `glibc`
    /// source package's orig tarball), the GNU release tarball checked
    /// against a pinned sha256.
    Fetch(fetch::Args),
    /// Check a manifest against a source tree: every pinned file's sha256.
    Verify(verify::Args),
    /// Build a manifest's shared object with a C compiler (no libclang).
    ///
    /// Checks every verbatim file against the manifest's sha256 first, stages
    /// them in the build directory, and compiles incrementally. With no
    /// source option it fetches the exact source the manifest pins. The
    /// shared object's path is the last line of output.
    Build(build::Args),
    /// Replay a jsonl allocation trace against several versions' allocators.
    ///
    /// Records a trace with a `--trace` build (MALLOC_STANDALONE_TRACE,
    /// MALLOC_STANDALONE_TRACE_FORMAT=jsonl), then replays its calls, in
    /// order and single-threaded, under each version's default .so (built
    /// from its pinned source as needed) and on the host's own malloc, and
    /// prints time, peak RSS and fragmentation side by side.
    Replay(replay::Args),
    /// Draw a jsonl trace's heap, call by call, under several versions.
    ///
    /// Replays the trace under each version's default .so (built as
    /// needed) with the replayer walking the allocator's own chunks and
    /// bins after each call, and writes one self-contained HTML file
    /// (opens from disk): the heap of each version side by side, a step
    /// control, the calls where versions differ marked.
    View(view::Args),
    /// Write the dependency graph of a resolution.
    Graph(graph::Args),
    /// Run a program with a version's allocator preloaded.
    ///
    /// `resolver run --glibc 2.27 -- ./prog ARGS` builds the variant
    /// (--debug, --hooks, --trace) from the source its manifest pins the
    /// first time, into the cache, and reuses it after that; then it
    /// becomes the program (exec), with the .so first in LD_PRELOAD, so the
    /// program's exit status and signals are the command's.
    Run(run::Args),
    /// Debug a program under gdb with a version's allocator preloaded.
    ///
    /// As the Nix dev shell does: the program (not gdb) gets the .so through
    /// gdb's exec-wrapper; pending breakpoints are on; gdb/malloc_standalone.py
    /// (the heap command) is loaded, and when the .so loads gdb says which
    /// version it is and where main_arena and mp_ are. The debug build
    /// (-O0 -g3) unless --release. The set-up is a gdbinit written beside
    /// the .so; --ex, --batch, --nx and --gdb-arg pass on to gdb.
    Gdb(gdb::Args),
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", common::describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the command line.
fn run(cli: Cli) -> Result<()> {
    // Only commands that parse, verify or build need the project's files:
    // each asks for the root where it needs it.
    let cache = match cli.cache {
        Some(d) => Cache::new(d),
        None => Cache::default_location()?,
    };
    let project = std::sync::Arc::new(Project::new(cli.project, cache.root()));
    let sources = Sources::new(cache, cli.mirror, project.clone())?;
    match cli.command {
        Command::Resolve(args) => resolve::run(args, &sources, &project),
        Command::Fetch(args) => fetch::run(args, &sources),
        Command::Verify(args) => verify::run(args, &sources, &project),
        Command::Build(args) => build::run(args, &sources, &project),
        Command::Replay(args) => replay::run(args, &sources, &project),
        Command::View(args) => view::run(args, &sources, &project),
        Command::Graph(args) => graph::run(args, &sources, &project),
        Command::Run(args) => run::run(args, &sources, &project),
        Command::Gdb(args) => gdb::run(args, &sources, &project),
    }
}
