//! What glibc's `configure` decides for a default build that the
//! allocator's sources test, read off the tree's own `configure.ac` rather
//! than from a table of versions.
//!
//! One decision matters to malloc: whether tunables are on. 2.25 brought
//! the framework off by default (`--enable-tunables`), 2.26 to 2.38 have it
//! on by default and test `HAVE_TUNABLES`, and from 2.39 it is always there
//! and the macro is gone. `configure` defines `HAVE_TUNABLES` to 1 in
//! `config.h` when the option is on and leaves it undefined otherwise.

use std::collections::BTreeMap;
use std::path::Path;

/// The `config.h` definitions of a default `configure` run that the
/// allocator depends on: name -> value (`HAVE_TUNABLES` -> `1` where
/// tunables are on by default). Empty when the tree has no `configure.ac`.
pub fn defaults(tree: &Path) -> BTreeMap<String, String> {
    // configure.in up to 2.17.
    let text = ["configure.ac", "configure.in"]
        .iter()
        .find_map(|f| std::fs::read_to_string(tree.join(f)).ok())
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    if enable_default(&text, "tunables").as_deref() == Some("yes") {
        out.insert("HAVE_TUNABLES".to_owned(), "1".to_owned());
    }
    out
}

/// The value `AC_ARG_ENABLE([feature], help, [have_x=$enableval],
/// [have_x=<default>])` gives when the option is not passed.
fn enable_default(configure_ac: &str, feature: &str) -> Option<String> {
    let start = configure_ac.find(&format!("AC_ARG_ENABLE([{feature}]"))?;
    // The macro's arguments end at the parenthesis that closes it.
    let mut depth = 0usize;
    let mut end = start;
    for (i, c) in configure_ac[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let call = &configure_ac[start..end];
    let re =
        regex::Regex::new(r"\[\s*have_[A-Za-z0-9_]+=([A-Za-z0-9_]+)\s*\]").expect("static regex");
    // The last `[have_x=value]` argument is the action when not given.
    re.captures_iter(call).last().map(|c| c[1].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunables_default_from_configure_ac() {
        let on = "AC_ARG_ENABLE([tunables],\n\t      [AS_HELP_STRING([--enable-tunables],\n\t       [Enable tunables support. Known values are 'yes', 'no' and 'valstring'])],\n\t      [have_tunables=$enableval],\n\t      [have_tunables=yes])\nAC_SUBST(have_tunables)\n";
        assert_eq!(enable_default(on, "tunables").as_deref(), Some("yes"));
        let off = on.replace("have_tunables=yes", "have_tunables=no");
        assert_eq!(enable_default(&off, "tunables").as_deref(), Some("no"));
        assert_eq!(enable_default("AC_INIT([GNU C Library])", "tunables"), None);

        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("configure.ac"), on).unwrap();
        assert_eq!(
            defaults(d.path()),
            [("HAVE_TUNABLES".to_owned(), "1".to_owned())].into()
        );
        std::fs::write(d.path().join("configure.ac"), off).unwrap();
        assert!(defaults(d.path()).is_empty());
    }
}
