//! Stage 4: the converged, problem-free build as a [`Manifest`]: every file
//! that took part pinned by hash, the include order pruned to the
//! directories that supplied a file, the exports, the allocator's features
//! as its source shows them, and the build options [`policy`] offers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use manifest::{Export, Features, IncludeDir, Manifest, PinnedFile, Provider, Symbol, Tunable};

use crate::converge::{Converged, BRIDGE};
use crate::graph::{FileClass, Graph, Node};
use crate::parse::TuFacts;
use crate::{io, policy, ResolveError, SourceInfo};

/// The manifest of a converged build whose report found no problem.
pub(crate) fn manifest(
    src: &SourceInfo,
    c: Converged,
    graph: &Graph,
    symbols: BTreeMap<String, Provider>,
) -> Result<Manifest, ResolveError> {
    let roots = &c.roots;
    // Pin every file that took part.
    let mut verbatim = BTreeSet::new();
    let mut shims = BTreeSet::new();
    let mut stubs = BTreeSet::new();
    for node in graph.nodes() {
        if let Node::File { path, class } = node {
            match class {
                FileClass::Verbatim => verbatim.insert(path.clone()),
                FileClass::Shim => shims.insert(path.clone()),
                FileClass::Stub => stubs.insert(path.clone()),
                _ => false,
            };
        }
    }
    shims.insert(policy::PRELUDE.to_string());

    let include_order = include_order(&verbatim, &c.chain);
    let defined: BTreeSet<String> = c
        .facts
        .values()
        .flat_map(|f| f.defined.iter().cloned())
        .collect();
    let exports = exports(&c.facts, &defined, &c.exports_wanted);
    let features = detect_features(&c.facts, &exports, &c.tunables);
    let hooks_native = features.hooks;
    let options = policy::options(
        &src.version,
        hooks_native,
        &defined,
        &exports,
        &c.exports_wanted,
    );
    stubs.extend(policy::option_files(&options));

    Ok(Manifest {
        schema: manifest::SCHEMA,
        version: src.version.clone(),
        source: manifest::Source {
            origin: src.origin.clone(),
            gnu: src.gnu.clone(),
        },
        target: "x86_64-linux-gnu".into(),
        include_order,
        symbols: symbols
            .into_iter()
            .map(|(name, provider)| Symbol { name, provider })
            .collect(),
        verbatim: pin(&roots.tree, &verbatim)?,
        shims: pin(&roots.project, &shims)?,
        stubs: pin(&roots.project, &stubs)?,
        flags: policy::flags(),
        exports,
        features,
        options,
        sysdeps: c.chain,
        defines: c.defines,
        translation_units: c.tus,
        // Filled in by `resolve` from the state's host and headers.
        host: None,
        tunables: c.tunables,
    })
}

/// The files of `set`, relative to `root`, with their hashes.
fn pin(root: &Path, set: &BTreeSet<String>) -> Result<Vec<PinnedFile>, ResolveError> {
    set.iter()
        .map(|p| {
            Ok(PinnedFile {
                path: p.clone(),
                sha256: sha256_file(&root.join(p))?,
            })
        })
        .collect()
}

fn sha256_file(path: &Path) -> Result<String, ResolveError> {
    manifest::digest::sha256_file(path).map_err(io(path))
}

/// The policy's prefix, then the glibc include directories that supplied at
/// least one of the `verbatim` files, in chain order (`include` first, the
/// tree's root last).
fn include_order(verbatim: &BTreeSet<String>, chain: &[String]) -> Vec<IncludeDir> {
    let used_dir = |dir: &str| {
        verbatim.iter().any(|p| {
            let Some(rest) = p.strip_prefix(&format!("{dir}/")) else {
                return false;
            };
            // A longer chain entry that also contains the file supplied it instead.
            !chain.iter().any(|c| {
                c.len() > dir.len()
                    && c.starts_with(&format!("{dir}/"))
                    && p.starts_with(&format!("{c}/"))
            }) && !rest.is_empty()
        })
    };
    let mut order = policy::include_prefix();
    if used_dir("include") {
        order.push(IncludeDir::Glibc {
            path: "include".into(),
        });
    }
    for d in chain {
        if used_dir(d) {
            order.push(IncludeDir::Glibc { path: d.clone() });
        }
    }
    order.push(IncludeDir::Glibc {
        path: String::new(),
    });
    order
}

/// The version's public names that the build defines, except
/// compatibility-only symbols (no program built for this version can link
/// them) other than those kept for experiments.
fn exports(
    facts: &BTreeMap<String, TuFacts>,
    defined: &BTreeSet<String>,
    exports_wanted: &BTreeMap<String, String>,
) -> Vec<Export> {
    let compat: BTreeSet<&String> = facts.values().flat_map(|f| &f.compat).collect();
    exports_wanted
        .iter()
        .filter(|(n, _)| {
            defined.contains(*n)
                && (!compat.contains(n) || policy::EXPERIMENT_EXPORTS.contains(&n.as_str()))
        })
        .map(|(n, v)| Export {
            name: n.clone(),
            since: v.clone(),
        })
        .collect()
}

/// Allocator features, read off the parsed source rather than a version table.
fn detect_features(
    facts: &BTreeMap<String, TuFacts>,
    exports: &[Export],
    tunables: &[Tunable],
) -> Features {
    let any = |p: &dyn Fn(&TuFacts) -> bool| facts.values().any(p);
    let field = |s: &str, fld: &str| any(&|f| f.structs.get(s).is_some_and(|x| x.contains(fld)));
    let defined = |n: &str| any(&|f| f.defined.contains(n));
    let function = |n: &str| any(&|f| f.functions.contains(n));
    // Public API of the version itself: exported from glibc's files, not kept
    // as a compatibility symbol, not bridged by a stub.
    let exported = |n: &str| exports.iter().any(|e| e.name == n && e.since != BRIDGE);
    Features {
        tcache: any(&|f| f.structs.contains_key("tcache_perthread_struct")),
        tcache_double_free_key: field("tcache_entry", "key"),
        safe_linking: any(&|f| f.macro_defs.contains("PROTECT_PTR")),
        fastbins: field("malloc_state", "fastbinsY"),
        hooks: exported("__malloc_hook"),
        // malloc.c itself calls __morecore (up to 2.33), rather than a stub.
        morecore: exported("__morecore") && !any(&|f| f.compat.contains("__morecore")),
        eager_init: defined("__ptmalloc_init"),
        mallinfo2: exported("mallinfo2"),
        free_sized: exported("free_sized"),
        malloc_check_in_malloc: function("malloc_check"),
        hugepages: tunables.iter().any(|t| t.name == "glibc.malloc.hugetlb"),
        // malloc reads tunables (GLIBC_TUNABLES): from 2.26, and in 2.25 only
        // when configured with --enable-tunables.
        tunables: !tunables.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_order_keeps_the_directories_that_supplied_a_file() {
        let verbatim: BTreeSet<String> = [
            "include/libc-symbols.h",
            "sysdeps/x86_64/nptl/tls.h",
            "sysdeps/generic/malloc-machine.h",
            "malloc/malloc.c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let chain: Vec<String> = ["sysdeps/x86_64/nptl", "sysdeps/x86_64", "sysdeps/generic"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let glibc: Vec<String> = include_order(&verbatim, &chain)
            .into_iter()
            .skip(policy::include_prefix().len())
            .map(|d| match d {
                IncludeDir::Glibc { path } => path,
                other => panic!("{other:?}"),
            })
            .collect();
        // sysdeps/x86_64 holds tls.h only through its longer chain entry.
        assert_eq!(
            glibc,
            ["include", "sysdeps/x86_64/nptl", "sysdeps/generic", ""]
        );
    }

    #[test]
    fn exports_leave_out_compatibility_symbols_but_experiments() {
        let f = TuFacts {
            compat: ["__morecore", "__malloc_hook"].map(String::from).into(),
            ..TuFacts::default()
        };
        let facts = [("malloc/malloc.c".to_string(), f)].into();
        let defined = ["malloc", "__morecore", "__malloc_hook"]
            .map(String::from)
            .into();
        let wanted = [
            ("malloc", "GLIBC_2.0"),
            ("__morecore", "GLIBC_2.0"),
            ("__malloc_hook", "GLIBC_2.0"),
            ("mallinfo2", "GLIBC_2.33"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .into();
        let names: Vec<String> = exports(&facts, &defined, &wanted)
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["__morecore", "malloc"]);
    }
}
