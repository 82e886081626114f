//! deb822, the paragraph format of apt's `.sources` files and of what
//! `apt-cache show`/`showsrc` print: `Name: value` fields, continuation
//! lines indented, paragraphs separated by blank lines.

/// One deb822 paragraph: field name -> value (continuation lines joined with `\n`).
pub(super) type Paragraph = Vec<(String, String)>;

/// The paragraphs of `text`; `#` comment lines are skipped.
pub(super) fn parse_deb822(text: &str) -> Vec<Paragraph> {
    let mut paragraphs = Vec::new();
    let mut current: Paragraph = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else if line.starts_with('#') {
            continue;
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

/// The value of field `name` (matched case-insensitively), if present.
pub(super) fn field<'a>(paragraph: &'a Paragraph, name: &str) -> Option<&'a str> {
    paragraph
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_continuations() {
        let p = parse_deb822("A: 1\nB:\n x y\n z\n\n# c\nA: 2\n");
        assert_eq!(p.len(), 2);
        assert_eq!(field(&p[0], "b"), Some("\nx y\nz"));
        assert_eq!(field(&p[1], "A"), Some("2"));
    }

    // Properties (issue 15, item 8): any text parses, without a panic, into
    // paragraphs of trimmed, colon-free names; and paragraphs written out as
    // deb822 (with comments between fields) read back as they were.
    // `PROPTEST_CASES=100000 cargo test -p source deb822` runs more cases.
    use proptest::prelude::*;

    /// 256 cases, or `$PROPTEST_CASES`; as tests/proptest/support.rs.
    fn config() -> ProptestConfig {
        let mut c = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            c.cases = 256;
        }
        c.failure_persistence = None;
        c
    }

    /// Paragraphs: (name, first line, continuation lines) per field.
    type Written = Vec<Vec<(String, String, Vec<String>)>>;

    fn paragraphs() -> impl Strategy<Value = Written> {
        // A value line: trimmed, non-blank unless it is a first line.
        let text = "[!-~]([ -~]{0,20}[!-~])?";
        let field = (
            "[A-Za-z][A-Za-z0-9-]{0,12}",
            prop_oneof![Just(String::new()), text],
            prop::collection::vec(text, 0..4),
        );
        prop::collection::vec(prop::collection::vec(field, 1..6), 0..5)
    }

    fn write(p: &Written, comments: bool) -> String {
        let mut s = String::new();
        for para in p {
            for (name, first, more) in para {
                if comments {
                    s.push_str("# a comment: with a colon\n");
                }
                s.push_str(&format!("{name}: {first}\n"));
                for m in more {
                    s.push_str(&format!(" {m}\n"));
                }
            }
            s.push_str(if comments { "\n \t\n" } else { "\n" });
        }
        s
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_text_parses(text in prop::collection::vec(
            prop::sample::select(vec!["A", "b-c", ":", ": ", " ", "\t", "\n", "\r\n", "#", "x y", "\u{85}", "\u{a0}", "\u{feff}", "\0"]), 0..200)
            .prop_map(|t| t.concat())
        ) {
            for p in parse_deb822(&text) {
                prop_assert!(!p.is_empty());
                for (name, _) in &p {
                    prop_assert!(!name.contains(':') && name.trim() == name, "{:?}", name);
                }
            }
        }

        #[test]
        fn arbitrary_text_parses(text in any::<String>()) {
            let _ = parse_deb822(&text);
        }

        #[test]
        fn written_paragraphs_read_back(p in paragraphs(), comments in any::<bool>()) {
            let read = parse_deb822(&write(&p, comments));
            let expected: Vec<Paragraph> = p
                .iter()
                .map(|para| {
                    para.iter()
                        .map(|(n, first, more)| {
                            let mut v = first.clone();
                            for m in more {
                                v.push('\n');
                                v.push_str(m);
                            }
                            (n.clone(), v)
                        })
                        .collect()
                })
                .collect();
            prop_assert_eq!(read, expected);
        }
    }
}
