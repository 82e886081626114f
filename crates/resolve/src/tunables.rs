//! Reads a version's `elf/dl-tunables.list`, the data glibc's build turns
//! into its tunables table: names, types, ranges, defaults, environment
//! aliases and security levels.

use manifest::Tunable;

/// A malformed `dl-tunables.list`.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct TunablesError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// Parses the text of `dl-tunables.list` (`path` is only used in errors).
///
/// The format is nested `name {` blocks three deep (top namespace, namespace,
/// tunable) holding `attribute: value` lines; `#` starts a comment.
pub fn parse(text: &str, path: &str) -> Result<Vec<Tunable>, TunablesError> {
    let err = |line: usize, message: String| TunablesError {
        path: path.to_owned(),
        line,
        message,
    };
    let mut stack: Vec<String> = Vec::new();
    let mut current: Option<Tunable> = None;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_suffix('{') {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(err(n, format!("bad block name {name:?}")));
            }
            stack.push(name.to_owned());
            if stack.len() == 3 {
                current = Some(Tunable {
                    name: stack.join("."),
                    ty: "STRING".into(),
                    minval: None,
                    maxval: None,
                    default: None,
                    env_alias: None,
                    security_level: "SXID_ERASE".into(),
                });
            } else if stack.len() > 3 {
                return Err(err(n, "blocks nest deeper than three levels".into()));
            }
        } else if line == "}" {
            if stack.pop().is_none() {
                return Err(err(n, "unbalanced '}'".into()));
            }
            if stack.len() == 2 {
                out.push(current.take().expect("a tunable was open"));
            }
        } else if let Some((key, value)) = line.split_once(':') {
            let Some(t) = current.as_mut() else {
                return Err(err(n, format!("attribute {key:?} outside a tunable")));
            };
            let value = value.trim().to_owned();
            match key.trim() {
                "type" => t.ty = value,
                "minval" => t.minval = Some(value),
                "maxval" => t.maxval = Some(value),
                "default" => t.default = Some(value),
                "env_alias" => t.env_alias = Some(value),
                "security_level" => t.security_level = value,
                other => return Err(err(n, format!("unknown attribute {other:?}"))),
            }
        } else {
            return Err(err(n, format!("cannot parse {line:?}")));
        }
    }
    if !stack.is_empty() {
        return Err(err(
            text.lines().count(),
            "unclosed block at end of file".into(),
        ));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_and_defaults() {
        let text = "# c\nglibc {\n  malloc {\n    check {\n      type: INT_32\n      minval: 0\n      maxval: 3\n      env_alias: MALLOC_CHECK_\n    }\n    tcache_count {\n      type: SIZE_T\n      security_level: SXID_IGNORE # x\n    }\n  }\n}\n";
        let t = parse(text, "x").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "glibc.malloc.check");
        assert_eq!(t[0].maxval.as_deref(), Some("3"));
        assert_eq!(t[0].env_alias.as_deref(), Some("MALLOC_CHECK_"));
        assert_eq!(t[0].security_level, "SXID_ERASE");
        assert_eq!(t[1].name, "glibc.malloc.tcache_count");
        assert_eq!(t[1].security_level, "SXID_IGNORE");
    }

    #[test]
    fn reports_line_of_bad_input() {
        let e = parse(
            "glibc {\n malloc {\n  x {\n   colour: red\n  }\n }\n}\n",
            "f",
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.to_string().contains("unknown attribute"));
        let e = parse("glibc {\n", "f").unwrap_err();
        assert!(e.to_string().contains("unclosed"));
    }
}
