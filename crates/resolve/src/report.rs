//! Stage 3: what the converged build is and whether it is whole. The
//! dependency [`Graph`] of its files, symbols and macros; every needed
//! symbol's provider; and the problems that remain (headers not found,
//! errors, symbols nothing provides, API nothing defines), each explained
//! by the chain of includes and references that leads to it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use manifest::{Provider, TranslationUnit};

use crate::converge::{Converged, BRIDGE};
use crate::graph::{Edge, FileClass, Graph, Node};
use crate::ResolveError;

/// The report on a converged build that has no problems.
pub(crate) struct Report {
    pub graph: Graph,
    /// Who provides each symbol the build needs or maps.
    pub symbols: BTreeMap<String, Provider>,
}

/// Builds the graph and finds every symbol's provider; fails with every
/// problem found, sorted.
pub(crate) fn report(c: &Converged) -> Result<Report, ResolveError> {
    let mut problems = Vec::new();
    let mut graph = graph(c, &mut problems);
    let symbols = providers(c, &mut graph, &mut problems);
    check_api(c, &mut problems);
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        return Err(ResolveError::Unresolved {
            version: c.version.clone(),
            problems,
        });
    }
    Ok(Report { graph, symbols })
}

/// The dependency graph of the build: what `__has_include` found, then per
/// translation unit its includes, macro expansions, definitions and
/// references. Missing headers and compile errors are reported as they are
/// added, each with the chain that reaches it.
fn graph(c: &Converged, problems: &mut Vec<String>) -> Graph {
    let roots = &c.roots;
    let mut graph = Graph::default();
    let file_node = |g: &mut Graph, p: &Path| {
        let (class, shown) = roots.classify(p);
        g.node(Node::File { path: shown, class })
    };

    // Files the build only asks about (`__has_include`) decide what it
    // compiles as much as included ones: pin and stage them too.
    for (from, line, found) in &c.probes {
        let a = file_node(&mut graph, from);
        let b = file_node(&mut graph, found);
        graph.edge(a, b, Edge::Probes { line: *line });
    }
    for tu in &c.tus {
        let f = &c.facts[tu.path()];
        let tu_node = file_node(&mut graph, &c.tu_path(tu));
        for (from, line, to) in &f.includes {
            let a = file_node(&mut graph, from);
            let b = file_node(&mut graph, to);
            graph.edge(a, b, Edge::Includes { line: *line });
        }
        for (file, name, def) in &f.macros {
            let a = file_node(&mut graph, file);
            let m = graph.node(Node::Macro { name: name.clone() });
            let d = file_node(&mut graph, def);
            graph.edge(a, m, Edge::Expands);
            graph.edge(m, d, Edge::ProvidedBy);
        }
        for name in &f.defined {
            let s = graph.node(Node::Symbol { name: name.clone() });
            graph.edge(s, tu_node, Edge::ProvidedBy);
        }
        for (from, name) in &f.needs {
            let a = graph.node(Node::Symbol { name: from.clone() });
            let b = graph.node(Node::Symbol { name: name.clone() });
            graph.edge(tu_node, a, Edge::References);
            graph.edge(a, b, Edge::References);
        }
        for (file, line, name) in &f.missing {
            let a = file_node(&mut graph, file);
            let b = graph.node(Node::File {
                path: name.clone(),
                class: FileClass::Missing,
            });
            graph.edge(a, b, Edge::Includes { line: *line });
            problems.push(format!(
                "header <{name}> not found (included at {}:{line}); glibc's build generates it, \
                 so it needs a shim: add shims/{name}\n  why: {}",
                roots.classify(file).1,
                graph.why(b).join("\n      ")
            ));
        }
        // Other errors, with the include chain of the first error in each file.
        let mut seen_files = BTreeSet::new();
        for e in &f.errors {
            let (class, shown) = roots.classify(&e.file);
            let mut p = format!("{shown}:{}: error: {}", e.line, e.message);
            if e.nested_function {
                // GCC compiles it, but what it uses stays unseen.
                p.push_str(
                    " (a nested function, a GCC extension libclang does not parse: the \
                     resolver cannot see what it needs, so the version cannot be resolved)",
                );
            }
            if seen_files.insert(e.file.clone()) {
                let n = graph.node(Node::File { path: shown, class });
                p.push_str(&format!("\n  why: {}", graph.why(n).join("\n      ")));
            }
            problems.push(p);
        }
    }
    graph
}

/// Every needed symbol's provider (what defines it in the build, the host,
/// or a mapping to a public name), and every mapping the loop added.
/// Reports symbols used without a declaration or provided by nothing.
fn providers(
    c: &Converged,
    graph: &mut Graph,
    problems: &mut Vec<String>,
) -> BTreeMap<String, Provider> {
    let facts = &c.facts;
    let mut symbols: BTreeMap<String, Provider> = BTreeMap::new();
    let definer = |name: &str| -> Option<&TranslationUnit> {
        c.tus
            .iter()
            .find(|t| facts[t.path()].defined.contains(name))
    };
    // name -> places it is used without a declaration (empty: declared).
    let mut needed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in facts.values() {
        for (_, n) in &f.needs {
            needed.entry(n.clone()).or_default();
        }
        for (file, line, n) in &f.undeclared {
            let at = format!("{}:{line}", c.roots.classify(file).1);
            let places = needed.entry(n.clone()).or_default();
            if !places.contains(&at) {
                places.push(at);
            }
        }
    }
    for (name, undeclared_at) in &needed {
        if symbols.contains_key(name) {
            continue;
        }
        if let Some(to) = c.defines.get(name) {
            symbols.insert(name.clone(), Provider::Mapped { to: to.clone() });
            continue;
        }
        if let Some(first) = undeclared_at.first() {
            let more = match undeclared_at.len() {
                1 => String::new(),
                n => format!(" (and {} more places)", n - 1),
            };
            problems.push(format!(
                "`{name}` is used at {first}{more} without a declaration; declare it in a shim \
                 header (and define it in a stub if libc normally provides it)"
            ));
            continue;
        }
        if let Some(tu) = definer(name) {
            symbols.insert(
                name.clone(),
                match tu {
                    TranslationUnit::Stub { path } => Provider::Stub { file: path.clone() },
                    TranslationUnit::Glibc { path } => Provider::Glibc { file: path.clone() },
                },
            );
        } else if c.host.exports(name) {
            symbols.insert(name.clone(), Provider::Host);
        } else {
            let node = graph.node(Node::Symbol { name: name.clone() });
            problems.push(format!(
                "`{name}` is needed but nothing provides it (no stub defines it, the host libc \
                 does not export it or a public alias, no glibc file defines it)\n  why: {}",
                graph.why(node).join("\n      ")
            ));
        }
    }
    for (name, to) in c
        .defines
        .iter()
        .filter(|(n, _)| !c.configured.contains_key(*n))
    {
        symbols
            .entry(name.clone())
            .or_insert(Provider::Mapped { to: to.clone() });
    }
    symbols
}

/// The bridges and the version's public API must be defined by the build
/// itself.
fn check_api(c: &Converged, problems: &mut Vec<String>) {
    let defined: BTreeSet<&String> = c.facts.values().flat_map(|f| &f.defined).collect();
    for (n, since) in &c.exports_wanted {
        if since == BRIDGE && !defined.contains(n) {
            problems.push(format!(
                "`{n}` is allocator API of the host's <malloc.h> that glibc {} lacks; add a stub \
                 that defines it on top of this version's allocator, or programs calling it reach \
                 the host's own malloc",
                c.version
            ));
        }
    }
    for f in c.facts.values() {
        for n in f
            .public_decls
            .iter()
            .filter(|n| c.exports_wanted.contains_key(*n))
        {
            if !defined.contains(n) {
                problems.push(format!(
                    "`{n}` is public API of this version (malloc/Versions, malloc/malloc.h) but \
                     no glibc file or stub in the build defines it"
                ));
            }
        }
    }
}
