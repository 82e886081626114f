//! The builder's policy: choices about how the standalone library is built
//! and what it offers, as opposed to what resolution finds in a glibc tree.
//! Everything here is written into each manifest as is (or selected by
//! what the tree has); changing it changes every manifest.

use std::collections::{BTreeMap, BTreeSet};

use manifest::{BuildOption, Export, Flags, IncludeDir, TranslationUnit};

use crate::converge::BRIDGE;

/// The header forced into every translation unit (`-include`), relative
/// to the project.
pub const PRELUDE: &str = "shims/prelude.h";

/// Our headers standing in for glibc internals, searched first (`-I`).
pub const SHIMS_DIR: &str = "shims";

/// The directory of the headers the build generates from the manifest
/// (the tunables list, see [`manifest::tunables_header`]); the parse uses
/// the same text.
pub const GENERATED_DIR: &str = "gen";

/// The compile flags every translation unit gets, `--debug`'s instead of
/// `-O2 -g`, and the link flags: defined in the builder contract, since
/// they are also all a manifest may carry.
pub use manifest::plan::{CFLAGS, DEBUG_CFLAGS, LDFLAGS};

/// The manifest's flags.
pub fn flags() -> Flags {
    let own = |f: &[&str]| f.iter().map(|s| s.to_string()).collect();
    Flags {
        cflags: own(CFLAGS),
        debug_cflags: own(DEBUG_CFLAGS),
        ldflags: own(LDFLAGS),
    }
}

/// The start of every include order, before the glibc directories that
/// supplied a file: the prelude, the shims, the generated headers, then the
/// host's headers.
pub fn include_prefix() -> Vec<IncludeDir> {
    vec![
        IncludeDir::ForceInclude {
            path: PRELUDE.into(),
        },
        IncludeDir::Shims {
            path: SHIMS_DIR.into(),
        },
        IncludeDir::Generated {
            path: GENERATED_DIR.into(),
        },
        IncludeDir::Host,
    ]
}

/// Compatibility symbols exported anyway, for experiments: the main arena's
/// growth function as glibc had it up to 2.33 (stubs/morecore.c makes
/// every version's allocator use it).
pub const EXPERIMENT_EXPORTS: &[&str] = &["__morecore", "__default_morecore"];

/// Stubs in every build, though nothing in the allocator needs them:
/// `stubs/debuggers.c`, what heap debuggers read from libc
/// (`__libc_version`). A project without one (the unit tests' fixtures)
/// builds without it.
pub const EVERY_BUILD_STUBS: &[&str] = &["stubs/debuggers.c"];

/// The allocator's public entry points that the `hooks` and `trace` build
/// options wrap (those the version exports).
pub const ENTRY_POINTS: &[&str] = &[
    "malloc",
    "free",
    "calloc",
    "realloc",
    "reallocarray",
    "memalign",
    "aligned_alloc",
    "posix_memalign",
    "valloc",
    "pvalloc",
    "free_sized",
    "free_aligned_sized",
];

/// The unit that wraps the entry points for the build options.
const OPTION_ENTRY: &str = "stubs/options/entry.c";

/// The tracer (the `trace` option's second unit).
const OPTION_TRACE: &str = "stubs/options/trace.c";

/// The tracer's interface, included by the options' units.
const OPTION_TRACE_HEADER: &str = "stubs/options/trace.h";

/// The hook variables glibc called up to 2.33.
pub const HOOKS: &[&str] = &[
    "__malloc_hook",
    "__free_hook",
    "__realloc_hook",
    "__memalign_hook",
    "__after_morecore_hook",
];

/// The name glibc's definition of a wrapped entry point takes.
pub fn glibc_entry_name(name: &str) -> String {
    format!("__malloc_standalone_glibc_{name}")
}

/// The build options the version's source allows: `trace` always; `hooks`
/// where the source still defines the hook variables (as compatibility
/// symbols, all of `defined`) but malloc.c no longer calls them
/// (`hooks_native` false, from 2.34). Both wrap the exported entry points
/// with `stubs/options/entry.c`. `exports_wanted` gives the hooks their
/// symbol versions.
pub fn options(
    version: &str,
    hooks_native: bool,
    defined: &BTreeSet<String>,
    exports: &[Export],
    exports_wanted: &BTreeMap<String, String>,
) -> BTreeMap<String, BuildOption> {
    let entry = TranslationUnit::Stub {
        path: OPTION_ENTRY.into(),
    };
    let glibc_renames: BTreeMap<String, String> = ENTRY_POINTS
        .iter()
        .filter(|n| exports.iter().any(|e| e.name == **n && e.since != BRIDGE))
        .map(|n| (n.to_string(), glibc_entry_name(n)))
        .collect();
    let mut options = BTreeMap::new();
    options.insert(
        "trace".to_string(),
        BuildOption {
            description: "record every call of the exported entry points to \
                          $MALLOC_STANDALONE_TRACE (mtrace or jsonl format)"
                .into(),
            translation_units: vec![
                entry.clone(),
                TranslationUnit::Stub {
                    path: OPTION_TRACE.into(),
                },
            ],
            defines: [
                ("MALLOC_STANDALONE_TRACE".to_string(), "1".to_string()),
                (
                    "MALLOC_STANDALONE_GLIBC_VERSION".to_string(),
                    format!("\"{version}\""),
                ),
            ]
            .into(),
            glibc_renames: glibc_renames.clone(),
            exports: Vec::new(),
        },
    );
    if !hooks_native && HOOKS.iter().all(|h| defined.contains(*h)) {
        options.insert(
            "hooks".to_string(),
            BuildOption {
                description: "call __malloc_hook, __free_hook, __realloc_hook, \
                              __memalign_hook and __after_morecore_hook as glibc 2.33 did"
                    .into(),
                translation_units: vec![entry],
                defines: [("MALLOC_STANDALONE_HOOKS".to_string(), "1".to_string())].into(),
                glibc_renames,
                exports: HOOKS
                    .iter()
                    .map(|h| Export {
                        name: h.to_string(),
                        since: exports_wanted
                            .get(*h)
                            .cloned()
                            .unwrap_or_else(|| "GLIBC_2.0".into()),
                    })
                    .collect(),
            },
        );
    }
    options
}

/// The project files the options need, pinned with the stubs (the resolver
/// does not parse them: they join only builds that ask for them).
pub fn option_files(options: &BTreeMap<String, BuildOption>) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = options
        .values()
        .flat_map(|o| &o.translation_units)
        .map(|tu| tu.path().to_string())
        .collect();
    if options.contains_key("trace") {
        out.insert(OPTION_TRACE_HEADER.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(name: &str, since: &str) -> Export {
        Export {
            name: name.into(),
            since: since.into(),
        }
    }

    #[test]
    fn hooks_are_an_option_only_where_the_source_keeps_but_no_longer_calls_them() {
        let exports = [export("malloc", "GLIBC_2.0"), export("free_sized", BRIDGE)];
        let wanted = BTreeMap::new();
        let all_hooks: BTreeSet<String> = HOOKS.iter().map(|h| h.to_string()).collect();
        let o = options("2.34", false, &all_hooks, &exports, &wanted);
        assert_eq!(o.keys().collect::<Vec<_>>(), ["hooks", "trace"]);
        // Only the version's own entry points are wrapped, not a bridge.
        assert_eq!(
            o["trace"].glibc_renames,
            [("malloc".to_string(), glibc_entry_name("malloc"))].into()
        );
        assert!(!options("2.33", true, &all_hooks, &exports, &wanted).contains_key("hooks"));
        assert!(!options("2.35", false, &BTreeSet::new(), &exports, &wanted).contains_key("hooks"));
        assert_eq!(
            option_files(&o).into_iter().collect::<Vec<_>>(),
            [OPTION_ENTRY, OPTION_TRACE, OPTION_TRACE_HEADER]
        );
    }
}
