//! Property tests of the `dl-tunables.list` reader (issue 15, item 8): any
//! text is read or refused with an error that names a line of it, in
//! bounded time and without a panic; a list written from tunables reads
//! back as those tunables; an edited list is read or refused the same way.
//!
//! Fast tier: a bounded number of cases per property. A longer run:
//! `PROPTEST_CASES=100000 cargo test -p resolve --test fuzz` (docs/testing.md).

#[path = "../../../tests/proptest/support.rs"]
mod support;

use std::collections::BTreeMap;

use manifest::Tunable;
use proptest::prelude::*;
use proptest::sample::Index;
use resolve::tunables;
use support::{bounded, config};

/// Reads in bounded time; an error must name a line of the text.
fn read(text: String) -> Result<Vec<Tunable>, String> {
    let lines = text.lines().count();
    let r = bounded("tunables::parse", move || {
        tunables::parse(&text, "dl-tunables.list")
    });
    r.map_err(|e| {
        assert!(
            e.line >= 1 && e.line <= lines.max(1),
            "error at line {} of a {lines}-line text: {e}",
            e.line
        );
        assert!(e.to_string().starts_with("dl-tunables.list:"), "{e}");
        e.to_string()
    })
}

const TOKENS: &[&str] = &[
    "glibc {",
    "malloc {",
    "cpu {",
    "rtld {",
    "x {",
    "{",
    "}",
    "} }",
    "{ }",
    "a b {",
    "type: INT_32",
    "type: SIZE_T",
    "type: STRING",
    "minval: 0",
    "maxval: 0xffffffff",
    "default: 3",
    "env_alias: MALLOC_CHECK_",
    "security_level: SXID_IGNORE",
    "colour: red",
    ":",
    ": ",
    "# comment",
    "#",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\u{85}",
    "\u{feff}",
    "\0",
    "é",
];

fn tokens() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..120).prop_map(|t| t.concat())
}

/// Lines of tokens: mostly well-formed lines, in any nesting.
fn token_lines() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::collection::vec(prop::sample::select(TOKENS), 0..3),
        0..60,
    )
    .prop_map(|lines| lines.iter().map(|l| l.concat() + "\n").collect::<String>())
}

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,10}"
}

fn value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.x+-]{1,12}"
}

fn tunable() -> impl Strategy<Value = (String, Tunable)> {
    (
        name(),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::option::of(value()),
    )
        .prop_map(|(n, ty, min, max, default, alias, level)| {
            (
                n,
                Tunable {
                    name: String::new(),
                    ty: ty.unwrap_or_else(|| "STRING".into()),
                    minval: min,
                    maxval: max,
                    default,
                    env_alias: alias,
                    security_level: level.unwrap_or_else(|| "SXID_ERASE".into()),
                },
            )
        })
}

/// top namespace -> namespace -> tunable name -> tunable (names unique
/// within their block, as glibc's own lists have them).
type Tree = BTreeMap<String, BTreeMap<String, BTreeMap<String, Tunable>>>;

fn tree() -> impl Strategy<Value = Tree> {
    prop::collection::btree_map(
        name(),
        prop::collection::btree_map(
            name(),
            prop::collection::btree_map(name(), tunable().prop_map(|(_, t)| t), 0..4),
            0..3,
        ),
        0..3,
    )
}

/// The list glibc would write for `tree`, with comments and blank lines
/// about, attributes in a fixed order, each omitted one left to its default.
fn write(tree: &Tree, comments: bool) -> String {
    let c = |s: &mut String, indent: &str| {
        if comments {
            s.push_str(&format!("{indent}# {{ a comment: }}\n\n"));
        }
    };
    let mut s = String::new();
    for (top, namespaces) in tree {
        c(&mut s, "");
        s.push_str(&format!("{top} {{\n"));
        for (ns, ts) in namespaces {
            c(&mut s, "  ");
            s.push_str(&format!("  {ns} {{\n"));
            for (name, t) in ts {
                s.push_str(&format!("    {name} {{\n"));
                c(&mut s, "      ");
                let attr = |s: &mut String, key: &str, v: Option<&String>| {
                    if let Some(v) = v {
                        let tail = if comments { " # trailing" } else { "" };
                        s.push_str(&format!("      {key}: {v}{tail}\n"));
                    }
                };
                attr(&mut s, "type", Some(&t.ty).filter(|t| *t != "STRING"));
                attr(&mut s, "minval", t.minval.as_ref());
                attr(&mut s, "maxval", t.maxval.as_ref());
                attr(&mut s, "default", t.default.as_ref());
                attr(&mut s, "env_alias", t.env_alias.as_ref());
                attr(
                    &mut s,
                    "security_level",
                    Some(&t.security_level).filter(|l| *l != "SXID_ERASE"),
                );
                s.push_str("    }\n");
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
    }
    s
}

fn expected(tree: &Tree) -> Vec<Tunable> {
    let mut out = Vec::new();
    for (top, namespaces) in tree {
        for (ns, ts) in namespaces {
            for (name, t) in ts {
                let mut t = t.clone();
                t.name = format!("{top}.{ns}.{name}");
                out.push(t);
            }
        }
    }
    out.sort();
    out
}

/// One edit of a list's lines.
#[derive(Clone, Debug)]
enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    InsertLine(Index, &'static str),
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::DeleteLine),
        any::<Index>().prop_map(Edit::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<Index>(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Edit::InsertLine(i, t)),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match e {
        Edit::DeleteLine(i) => {
            lines.remove(i.index(n));
        }
        Edit::DuplicateLine(i) => {
            let at = i.index(n);
            lines.insert(at, lines[at].clone());
        }
        Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
        Edit::InsertLine(i, t) => lines.insert(i.index(n + 1), t.to_string()),
        Edit::Truncate(i) => lines.truncate(i.index(n + 1)),
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_text_is_read_or_refused_at_a_line(text in prop_oneof![tokens(), token_lines(), any::<String>()]) {
        let _ = read(text);
    }

    #[test]
    fn written_lists_read_back(tree in tree(), comments in any::<bool>()) {
        let text = write(&tree, comments);
        let read = read(text.clone());
        prop_assert_eq!(read, Ok(expected(&tree)), "{}", text);
    }

    #[test]
    fn edited_lists_are_read_or_refused_at_a_line(tree in tree(), edits in prop::collection::vec(edit(), 1..4)) {
        let mut text = write(&tree, true);
        for e in &edits {
            text = apply(&text, e);
        }
        if let Ok(ts) = read(text) {
            // What reads is tunables with three-part names.
            for t in ts {
                prop_assert_eq!(t.name.split('.').count(), 3, "{:?}", t);
            }
        }
    }
}
