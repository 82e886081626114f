//! Stage 2 of the pipeline: resolve a glibc tree's `malloc/malloc.c` into a
//! [`manifest::Manifest`].
//!
//! [`resolve`] runs four stages, one module each:
//!
//! 1. `parse`: libclang (the crate-private `clang` module) parses one
//!    translation unit with the include chain of [`sysdeps`] and reads off
//!    what it defines, needs, includes and misses.
//! 2. `converge`: the loop. Each round parses every translation unit of the
//!    build, asks the [`rules`] who provides each missing symbol (the host's
//!    libc, [`host`], among them), and adds translation units, symbol
//!    mappings and tunables until nothing changes.
//! 3. `report`: the dependency [`graph`] of the converged build, and every
//!    needed symbol's provider, or the problems that remain, each with the
//!    chain of files and symbols that explains it.
//! 4. `plan`: the manifest: the files to pin, the include order pruned to
//!    the directories that supplied a file, the exports, the allocator's
//!    features and the build options.
//!
//! What is the builder's choice rather than the tree's (flags, entry points,
//! hooks, option files) is in [`policy`]. [`configure`] and [`tunables`]
//! read what glibc's configure and `dl-tunables.list` decide.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod clang;
pub mod configure;
mod converge;
pub mod graph;
pub mod host;
mod parse;
mod plan;
pub mod policy;
mod report;
pub mod rules;
pub mod sysdeps;
pub mod tunables;

pub use clang::ClangError;

use graph::Graph;
use manifest::{Manifest, Origin};
use sysdeps::Target;

/// The version string of the libclang the resolver loads, e.g. "Debian
/// clang version 14.0.6" (for reports; loading it is the only side effect).
pub fn libclang_version() -> Result<String, ClangError> {
    clang::version()
}

/// Errors from resolution.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Clang(#[from] ClangError),
    #[error(transparent)]
    Host(#[from] host::HostError),
    #[error(transparent)]
    Tunables(#[from] tunables::TunablesError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The tree has configure add-ons with sysdeps of their own.
    #[error(
        "glibc {version} cannot be resolved: {} keep(s) sysdeps directories of its own \
         ({}), which glibc's configure searches before the main tree's (add-ons, up to \
         2.19) and this resolver does not; without them malloc would be compiled against the \
         generic, thread-less malloc-machine.h. Use glibc 2.20 or later",
        .add_ons.join(", "),
        .add_ons.iter().map(|a| format!("{a}/sysdeps")).collect::<Vec<_>>().join(", ")
    )]
    AddOns {
        version: String,
        add_ons: Vec<String>,
    },
    #[error(
        "glibc {version}: still changing after {iters} iterations (--max-iters); \
         last iteration added: {added}"
    )]
    NoConvergence {
        version: String,
        iters: usize,
        added: String,
    },
    #[error("glibc {version}: resolution converged but {} problem(s) remain:\n{}", .problems.len(), .problems.join("\n"))]
    Unresolved {
        version: String,
        problems: Vec<String>,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ResolveError + '_ {
    move |source| ResolveError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A source tree to resolve.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    pub root: PathBuf,
    pub version: String,
    pub origin: Origin,
    pub gnu: Option<manifest::GnuRelease>,
}

impl SourceInfo {
    /// What the resolver needs to know of a fetched or opened source; the
    /// GNU release is recorded where its hash is pinned.
    pub fn of(s: &source::GlibcSource) -> SourceInfo {
        SourceInfo {
            root: s.root.clone(),
            version: s.version.clone(),
            origin: s.origin.clone(),
            gnu: source::fetch::gnu_sha256(&s.version).map(|sha| manifest::GnuRelease {
                url: format!("{}/glibc-{}.tar.xz", source::fetch::GNU_BASE_URL, s.version),
                sha256: sha.to_owned(),
            }),
        }
    }
}

/// Resolution settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// The project root holding `shims/` and `stubs/`.
    pub project: PathBuf,
    /// Upper bound on parse-and-decide rounds.
    pub max_iters: usize,
    pub target: Target,
}

/// A finished resolution.
pub struct Resolution {
    pub manifest: Manifest,
    pub graph: Graph,
    pub iterations: usize,
}

/// Resolves one source tree: converge, report, plan.
pub fn resolve(src: &SourceInfo, opts: &Options) -> Result<Resolution, ResolveError> {
    let state = converge::converge(src, opts)?;
    let report::Report { graph, symbols } = report::report(&state)?;
    let iterations = state.iterations;
    // What the plan takes from the host: its libc, and every host header
    // read (the parse's and the <malloc.h> probe's).
    let host_headers: BTreeSet<PathBuf> = graph
        .nodes()
        .filter_map(|n| match n {
            graph::Node::File {
                path,
                class: graph::FileClass::Host,
            } => Some(PathBuf::from(path)),
            _ => None,
        })
        .chain(state.host_api_headers.iter().cloned())
        .collect();
    let host = state.host.fingerprint(&host_headers)?;
    let mut manifest = plan::manifest(src, state, &graph, symbols)?;
    manifest.host = Some(host);
    Ok(Resolution {
        manifest,
        graph,
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use manifest::{Provider, TranslationUnit};

    /// A glibc-shaped tree and a project, in temporary directories.
    struct Fixture {
        tree: tempfile::TempDir,
        project: tempfile::TempDir,
    }

    impl Fixture {
        /// `malloc/malloc.c` is `malloc_c`; `malloc/Versions` exports the
        /// host's allocator API (so that nothing needs a bridge); the project
        /// has an empty prelude, the option files and `stubs/fatal.c`.
        fn new(malloc_c: &str) -> Fixture {
            let f = Fixture {
                tree: tempfile::tempdir().unwrap(),
                project: tempfile::tempdir().unwrap(),
            };
            let index = clang::Index::new().unwrap();
            let (api, _) = parse::host_malloc_api(&index, f.project.path()).unwrap();
            let versions = format!(
                "libc {{\n  GLIBC_2.0 {{\n    {};\n  }}\n}}\n",
                api.into_iter().collect::<Vec<_>>().join("; ")
            );
            for (dir, path, text) in [
                (&f.tree, "malloc/malloc.c", malloc_c),
                (&f.tree, "malloc/arena.h", "#define ARENA 1\n"),
                (&f.tree, "malloc/Versions", &versions),
                (&f.project, "shims/prelude.h", ""),
                (
                    &f.project,
                    "stubs/fatal.c",
                    "void __fatal_x (const char *m) { (void) m; }\n",
                ),
                (&f.project, "stubs/options/entry.c", ""),
                (&f.project, "stubs/options/trace.c", ""),
                (&f.project, "stubs/options/trace.h", ""),
            ] {
                let p = dir.path().join(path);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
            f
        }

        fn resolve(&self) -> Result<Resolution, ResolveError> {
            let src = SourceInfo {
                root: self.tree.path().to_owned(),
                version: "2.99".into(),
                origin: Origin::Tree,
                gnu: None,
            };
            let opts = Options {
                project: self.project.path().to_owned(),
                max_iters: 8,
                target: Target::x86_64_linux(),
            };
            resolve(&src, &opts)
        }
    }

    fn problems(r: Result<Resolution, ResolveError>) -> Vec<String> {
        match r {
            Err(ResolveError::Unresolved { problems, .. }) => problems,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("resolved"),
        }
    }

    #[test]
    fn a_tiny_tree_resolves_to_its_manifest() {
        let f = Fixture::new(
            "#include <unistd.h>\n\
             #include \"arena.h\"\n\
             extern void __fatal_x (const char *);\n\
             void *malloc (unsigned long n)\n\
             {\n\
             \x20 if (n == 0)\n\
             \x20   __fatal_x (\"zero\");\n\
             \x20 return (void *) (long) __getpagesize ();\n\
             }\n",
        );
        let r = f.resolve().unwrap();
        let m = &r.manifest;
        assert_eq!(r.iterations, 2);
        assert_eq!(
            m.translation_units,
            [
                TranslationUnit::Glibc {
                    path: "malloc/malloc.c".into()
                },
                TranslationUnit::Stub {
                    path: "stubs/fatal.c".into()
                },
            ]
        );
        let provider = |n: &str| m.symbols.iter().find(|s| s.name == n).map(|s| &s.provider);
        assert_eq!(
            provider("__fatal_x"),
            Some(&Provider::Stub {
                file: "stubs/fatal.c".into()
            })
        );
        assert_eq!(
            provider("__getpagesize"),
            Some(&Provider::Mapped {
                to: "getpagesize".into()
            })
        );
        assert_eq!(provider("getpagesize"), Some(&Provider::Host));
        let pinned =
            |v: &[manifest::PinnedFile]| v.iter().map(|p| p.path.clone()).collect::<Vec<_>>();
        assert_eq!(pinned(&m.verbatim), ["malloc/arena.h", "malloc/malloc.c"]);
        assert_eq!(pinned(&m.shims), [policy::PRELUDE]);
        assert_eq!(
            pinned(&m.stubs),
            [
                "stubs/fatal.c",
                "stubs/options/entry.c",
                "stubs/options/trace.c",
                "stubs/options/trace.h"
            ]
        );
        assert_eq!(m.include_order.len(), policy::include_prefix().len() + 1);
        assert!(m.exports.iter().any(|e| e.name == "malloc"));
        assert!(m.options.contains_key("trace") && !m.options.contains_key("hooks"));
        assert!(r.graph.to_dot().contains("malloc/arena.h (verbatim)"));
    }

    #[test]
    fn problems_come_with_the_chain_that_explains_them() {
        let f = Fixture::new(
            "#include \"generated.h\"\n\
             extern void __nowhere_x (void);\n\
             void *malloc (unsigned long n) { __nowhere_x (); return 0; }\n",
        );
        let p = problems(f.resolve());
        assert_eq!(p.len(), 2, "{p:#?}");
        assert_eq!(
            p[0],
            "`__nowhere_x` is needed but nothing provides it (no stub defines it, the host libc \
             does not export it or a public alias, no glibc file defines it)\n  \
             why: malloc/malloc.c (verbatim)\n        \
             -references-> malloc()\n        \
             -references-> __nowhere_x()"
        );
        assert_eq!(
            p[1],
            "header <generated.h> not found (included at malloc/malloc.c:1); glibc's build \
             generates it, so it needs a shim: add shims/generated.h\n  \
             why: malloc/malloc.c (verbatim)\n        \
             -includes@1-> generated.h (missing)"
        );
    }
}
