//! The typed dependency graph of a converged build (see the `report` stage).
//!
//! Nodes are files, symbols and macros; edges say who includes, references
//! or expands what, and who provides it. The graph explains every decision:
//! `why` walks back from a node to the translation unit root that needs it,
//! and `to_dot` writes the whole thing for Graphviz.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

/// What a file is to the build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileClass {
    /// A glibc file copied verbatim.
    Verbatim,
    /// One of our headers standing in for a glibc internal.
    Shim,
    /// One of our C sources supplying what libc normally supplies.
    Stub,
    /// A header the build generates from the manifest (the tunables list).
    Generated,
    /// A header of the host's C library or compiler.
    Host,
    /// Included but found nowhere.
    Missing,
}

impl FileClass {
    fn as_str(self) -> &'static str {
        match self {
            FileClass::Verbatim => "verbatim",
            FileClass::Shim => "shim",
            FileClass::Stub => "stub",
            FileClass::Generated => "generated",
            FileClass::Host => "host",
            FileClass::Missing => "missing",
        }
    }
}

/// A node of the graph.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A file, by its display path (tree- or project-relative, or absolute for host files).
    File { path: String, class: FileClass },
    /// An external symbol (function or variable).
    Symbol { name: String },
    /// A macro, by name.
    Macro { name: String },
}

impl Node {
    fn key(&self) -> String {
        match self {
            Node::File { path, .. } => format!("file:{path}"),
            Node::Symbol { name } => format!("symbol:{name}"),
            Node::Macro { name } => format!("macro:{name}"),
        }
    }

    fn label(&self) -> String {
        match self {
            Node::File { path, class } => format!("{path} ({})", class.as_str()),
            Node::Symbol { name } => format!("{name}()"),
            Node::Macro { name } => format!("#{name}"),
        }
    }
}

/// An edge of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edge {
    /// A file includes a file at a line.
    Includes { line: u32 },
    /// A file asks at a line whether a file exists (`__has_include`) and it does.
    Probes { line: u32 },
    /// A file or a symbol (a function body) references a symbol.
    References,
    /// A file expands a macro.
    Expands,
    /// A symbol or macro is provided (defined) by a file.
    ProvidedBy,
}

impl Edge {
    fn label(&self) -> String {
        match self {
            Edge::Includes { line } => format!("includes@{line}"),
            Edge::Probes { line } => format!("probes@{line}"),
            Edge::References => "references".into(),
            Edge::Expands => "expands".into(),
            Edge::ProvidedBy => "provided-by".into(),
        }
    }
}

/// The dependency graph with an index from node keys to node ids.
#[derive(Default)]
pub struct Graph {
    g: DiGraph<Node, Edge>,
    index: HashMap<String, NodeIndex>,
}

impl Graph {
    /// Adds `node` unless a node with its key exists; a later, more specific
    /// file class (anything but `Missing`) replaces an earlier one.
    pub fn node(&mut self, node: Node) -> NodeIndex {
        let key = node.key();
        if let Some(&i) = self.index.get(&key) {
            if let (Node::File { class: old, .. }, Node::File { class: new, .. }) =
                (&mut self.g[i], &node)
            {
                if *old == FileClass::Missing {
                    *old = *new;
                }
            }
            return i;
        }
        let i = self.g.add_node(node);
        self.index.insert(key, i);
        i
    }

    /// Adds an edge once.
    pub fn edge(&mut self, from: NodeIndex, to: NodeIndex, e: Edge) {
        if !self.g.edges_connecting(from, to).any(|x| *x.weight() == e) {
            self.g.add_edge(from, to, e);
        }
    }

    /// Looks a node up by its kind and name.
    pub fn find(&self, node: &Node) -> Option<NodeIndex> {
        self.index.get(&node.key()).copied()
    }

    /// Number of nodes and edges.
    pub fn size(&self) -> (usize, usize) {
        (self.g.node_count(), self.g.edge_count())
    }

    /// All nodes.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.g.node_weights()
    }

    /// The shortest chain of includers or referrers from a root (a node nobody
    /// includes or references) to `target`, root first, rendered for people.
    pub fn why(&self, target: NodeIndex) -> Vec<String> {
        // Breadth-first search backwards over Includes/References/Expands edges.
        let mut prev: HashMap<NodeIndex, (NodeIndex, Edge)> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([target]);
        let mut root = target;
        while let Some(n) = queue.pop_front() {
            let mut incoming: Vec<_> = self
                .g
                .edges_directed(n, Direction::Incoming)
                .filter(|e| !matches!(e.weight(), Edge::ProvidedBy))
                .map(|e| (e.source(), *e.weight()))
                .collect();
            incoming.sort_by_key(|(s, _)| self.g[*s].key());
            if incoming.is_empty() {
                root = n;
                break;
            }
            for (s, w) in incoming {
                if s != target && !prev.contains_key(&s) {
                    prev.insert(s, (n, w));
                    queue.push_back(s);
                }
            }
            root = n;
        }
        let mut chain = vec![self.g[root].label()];
        let mut at = root;
        while let Some(&(next, w)) = prev.get(&at) {
            chain.push(format!("  -{}-> {}", w.label(), self.g[next].label()));
            at = next;
            if at == target {
                break;
            }
        }
        chain
    }

    /// Graphviz text, deterministic: nodes and edges sorted by key.
    pub fn to_dot(&self) -> String {
        let mut ids: BTreeMap<String, NodeIndex> = BTreeMap::new();
        for i in self.g.node_indices() {
            ids.insert(self.g[i].key(), i);
        }
        let number: HashMap<NodeIndex, usize> =
            ids.values().enumerate().map(|(n, &i)| (i, n)).collect();
        let mut out = String::from("digraph malloc {\n  rankdir=LR;\n  node [fontsize=10];\n");
        for (n, &i) in ids.values().enumerate() {
            let (shape, color) = match &self.g[i] {
                Node::File { class, .. } => (
                    "box",
                    match class {
                        FileClass::Verbatim => "black",
                        FileClass::Shim => "blue",
                        FileClass::Stub => "darkgreen",
                        FileClass::Generated => "purple",
                        FileClass::Host => "gray",
                        FileClass::Missing => "red",
                    },
                ),
                Node::Symbol { .. } => ("ellipse", "black"),
                Node::Macro { .. } => ("note", "gray40"),
            };
            let _ = writeln!(
                out,
                "  n{n} [label={:?}, shape={shape}, color={color}];",
                self.g[i].label()
            );
        }
        let mut edges: Vec<(usize, usize, String)> = self
            .g
            .edge_references()
            .map(|e| (number[&e.source()], number[&e.target()], e.weight().label()))
            .collect();
        edges.sort();
        for (a, b, l) in edges {
            let _ = writeln!(out, "  n{a} -> n{b} [label={l:?}];");
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_walks_back_to_the_root() {
        let mut g = Graph::default();
        let tu = g.node(Node::File {
            path: "malloc/malloc.c".into(),
            class: FileClass::Verbatim,
        });
        let arena = g.node(Node::File {
            path: "malloc/arena.c".into(),
            class: FileClass::Verbatim,
        });
        let missing = g.node(Node::File {
            path: "tunable-list.h".into(),
            class: FileClass::Missing,
        });
        g.edge(tu, arena, Edge::Includes { line: 1 });
        g.edge(arena, missing, Edge::Includes { line: 7 });
        let chain = g.why(missing);
        assert_eq!(chain.len(), 3, "{chain:?}");
        assert!(chain[0].starts_with("malloc/malloc.c"));
        assert!(chain[2].contains("tunable-list.h (missing)"));
        // The same node is not added twice, and Missing is upgraded.
        let again = g.node(Node::File {
            path: "tunable-list.h".into(),
            class: FileClass::Shim,
        });
        assert_eq!(again, missing);
        assert!(g.to_dot().contains("tunable-list.h (shim)"));
    }
}
