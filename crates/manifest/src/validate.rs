//! What a manifest may ask of a builder: a manifest is data, not code.
//!
//! A build reads the files a manifest names and runs the compiler with the
//! flags it holds, so a manifest from a stranger could otherwise read or
//! overwrite any file (`../../x`, `/etc/passwd`) or run any command
//! (`-wrapper /bin/sh,-c,...`). [`Manifest::validate`] refuses, before
//! anything is fetched, read or written, every manifest that asks for more
//! than the resolver itself ever writes:
//!
//! - every path is relative and normalised (no `..`, `.` or empty
//!   component, no backslash, only the characters `A-Za-z0-9._+-`) and
//!   inside its root: the glibc tree for verbatim files, glibc units, the
//!   sysdeps and the glibc include directories; `shims/` or `stubs/` of the
//!   project for the project's files;
//! - every flag is one the resolver writes: [`CFLAGS`], [`DEBUG_CFLAGS`],
//!   [`LDFLAGS`]; the plan adds only its own `-I`, `-idirafter`,
//!   `-include`, `-c`, `-o` forms on placeholder paths, `-D` definitions,
//!   the macro prefix maps, the version script and the soname;
//! - every definition's name is a C identifier, and its value an
//!   identifier, a number or a quoted version string;
//! - every name that becomes part of a file name or generated text (the
//!   version, the options, symbols, exports, tunables) is a plain token;
//! - every unit the build compiles is pinned.
//!
//! The resolved [`Plan`] is checked too (`plan_args`): it is derived from
//! the checked data, so this holds by construction, and stays so.

use std::collections::BTreeMap;

use crate::plan::{
    macro_prefix_maps, Plan, BUILD, CFLAGS, DEBUG_CFLAGS, GEN_DIR, LDFLAGS, OBJ_DIR, PROJECT, TREE,
    VERSION_SCRIPT,
};
use crate::schema::{
    BuildOption, Export, IncludeDir, Manifest, Origin, PinnedFile, Provider, TranslationUnit,
};

/// Why a manifest is refused: the field (with its index or key), its
/// value, and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// E.g. `verbatim[3].path`, `flags.cflags[12]`, `defines.NAME`.
    pub field: String,
    /// The value as the manifest has it.
    pub value: String,
    /// What is wrong with it.
    pub rule: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 120;
        let value: String = self.value.chars().take(SHOWN).collect();
        let more = if self.value.chars().count() > SHOWN {
            "..."
        } else {
            ""
        };
        write!(f, "{} = {value:?}{more}: {}", self.field, self.rule)
    }
}

/// The most build options a manifest may offer (2^8 variants).
pub const MAX_OPTIONS: usize = 8;

type Rule = Result<(), String>;

fn refuse(field: impl Into<String>, value: &str, rule: Rule) -> Result<(), Refusal> {
    rule.map_err(|rule| Refusal {
        field: field.into(),
        value: value.to_owned(),
        rule,
    })
}

// ---------------------------------------------------------------- the rules

/// A path relative to its root, normalised, of plain characters.
fn relative(p: &str) -> Rule {
    if p.is_empty() {
        return Err("an empty path".into());
    }
    if p.starts_with('/') {
        return Err("an absolute path; every path is relative to its root".into());
    }
    if p.contains('\\') {
        return Err("a backslash; paths separate with `/` only".into());
    }
    for c in p.split('/') {
        match c {
            "" => return Err("an empty component (`//` or a trailing `/`)".into()),
            "." => return Err("a `.` component; paths are normalised".into()),
            ".." => return Err("a `..` component, which leaves its root".into()),
            _ if c.starts_with('-') => {
                return Err("a component starting with `-` (read as an option)".into())
            }
            _ => {}
        }
        if let Some(bad) = c
            .chars()
            .find(|ch| !(ch.is_ascii_alphanumeric() || "._+-".contains(*ch)))
        {
            return Err(format!(
                "the character {bad:?}; a path has only letters, digits and `._+-`"
            ));
        }
    }
    Ok(())
}

/// A path inside the project's `dir` (`shims` or `stubs`).
fn under(p: &str, dir: &str) -> Rule {
    relative(p)?;
    match p.strip_prefix(dir) {
        Some(rest) if rest.starts_with('/') => Ok(()),
        _ => Err(format!(
            "not under {dir}/ (the project's files a manifest may name are in shims/ and stubs/)"
        )),
    }
}

/// A translation unit's path: a C file.
fn c_file(p: &str) -> Rule {
    if p.ends_with(".c") {
        Ok(())
    } else {
        Err("not a C file (`.c`)".into())
    }
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A C identifier.
fn ident(s: &str) -> Rule {
    if is_ident(s) {
        Ok(())
    } else {
        Err("not a C identifier".into())
    }
}

/// A `-D` value: an identifier, a number, or a quoted version string, as
/// the resolver writes them (`1`, `getrandom`, `"2.36"`).
fn define_value(v: &str) -> Rule {
    let number =
        v.starts_with(|c: char| c.is_ascii_digit()) && v.chars().all(|c| c.is_ascii_alphanumeric());
    let quoted = v.len() >= 2
        && v.starts_with('"')
        && v.ends_with('"')
        && v[1..v.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+~-".contains(c));
    if is_ident(v) || number || quoted {
        Ok(())
    } else {
        Err(
            "not a definition the resolver writes (an identifier, a number, or a quoted \
             version such as \"2.36\")"
                .into(),
        )
    }
}

/// Non-empty, of ASCII letters, digits and `extra`, starting with a letter
/// or digit (never `-`, read as an option).
fn token(s: &str, extra: &str) -> Rule {
    if s.is_empty() {
        return Err("empty".into());
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or a digit".into());
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(*c)))
    {
        Some(bad) => Err(format!(
            "the character {bad:?}; only letters, digits and `{extra}`"
        )),
        None => Ok(()),
    }
}

/// A single file name (no directory).
fn file_name(s: &str) -> Rule {
    token(s, "._+~-")
}

/// A sha256 as the resolver writes it: 64 lowercase hex digits.
fn sha256(s: &str) -> Rule {
    if s.len() == 64 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        Ok(())
    } else {
        Err("not a sha256 (64 lowercase hex digits)".into())
    }
}

/// Free text for people (descriptions, banners): printable, one line.
fn text(s: &str) -> Rule {
    // Control characters (C0, DEL, C1) and Unicode's line and paragraph
    // separators: a YAML reader takes the latter as line breaks.
    match s
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        Some(c) => Err(format!("the control character {c:?}")),
        None => Ok(()),
    }
}

/// A URL to download from.
fn url(s: &str) -> Rule {
    if !(s.starts_with("https://") || s.starts_with("http://")) {
        return Err("not an http(s) URL".into());
    }
    match s
        .chars()
        .find(|c| !c.is_ascii_graphic() || "\"'`\\<>".contains(*c))
    {
        Some(c) => Err(format!("the character {c:?}")),
        None => Ok(()),
    }
}

/// The glibc version: `2.36`, `2.42.9000`.
fn version(v: &str) -> Rule {
    let mut parts = v.splitn(3, '.');
    let numeric = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.starts_with(|c: char| c.is_ascii_digit()))
    };
    if !(numeric(parts.next()) && numeric(parts.next())) {
        return Err("not a glibc version (`2.36`)".into());
    }
    token(v, "._+~-")
}

/// A build option's name: it becomes part of file names.
fn option_name(s: &str) -> Rule {
    if s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(())
    } else {
        Err("not an option name (lowercase letters, digits, `_`)".into())
    }
}

/// One flag of `allowed`.
fn one_of(flag: &str, allowed: &[&str]) -> Rule {
    if allowed.contains(&flag) {
        Ok(())
    } else {
        Err(format!(
            "not a flag the resolver writes (it writes only {})",
            allowed.join(" ")
        ))
    }
}

// ---------------------------------------------------------------- the manifest

impl Manifest {
    /// Checks that the manifest asks for nothing the resolver would not
    /// write (see [the module](self)): the first violation, naming the
    /// field, its index and its value.
    pub fn validate(&self) -> Result<(), Refusal> {
        refuse("version", &self.version, version(&self.version))?;
        self.validate_source()?;
        refuse("target", &self.target, token(&self.target, "._-"))?;
        for (i, s) in self.sysdeps.iter().enumerate() {
            let rule = relative(s).and_then(|()| {
                if s.starts_with("sysdeps/") {
                    Ok(())
                } else {
                    Err("not under sysdeps/".into())
                }
            });
            refuse(format!("sysdeps[{i}]"), s, rule)?;
        }
        for (i, d) in self.include_order.iter().enumerate() {
            let field = format!("include_order[{i}].path");
            match d {
                IncludeDir::ForceInclude { path } => refuse(field, path, under(path, "shims"))?,
                IncludeDir::Shims { path } => {
                    let rule = if path == "shims" {
                        Ok(())
                    } else {
                        under(path, "shims")
                    };
                    refuse(field, path, rule)?
                }
                IncludeDir::Generated { path } => {
                    let rule = if path == GEN_DIR {
                        Ok(())
                    } else {
                        Err(format!("the generated headers' directory is `{GEN_DIR}`"))
                    };
                    refuse(field, path, rule)?
                }
                IncludeDir::Host => {}
                // "" is the tree's root itself.
                IncludeDir::Glibc { path } if path.is_empty() => {}
                IncludeDir::Glibc { path } => refuse(field, path, relative(path))?,
            }
        }
        defines("defines", &self.defines)?;
        for (i, s) in self.symbols.iter().enumerate() {
            refuse(format!("symbols[{i}].name"), &s.name, ident(&s.name))?;
            match &s.provider {
                Provider::Host => {}
                Provider::Mapped { to } => refuse(format!("symbols[{i}].to"), to, ident(to))?,
                Provider::Stub { file } => {
                    refuse(format!("symbols[{i}].file"), file, under(file, "stubs"))?
                }
                Provider::Glibc { file } => {
                    refuse(format!("symbols[{i}].file"), file, relative(file))?
                }
            }
        }
        pinned("verbatim", &self.verbatim, None)?;
        pinned("shims", &self.shims, Some("shims"))?;
        pinned("stubs", &self.stubs, Some("stubs"))?;
        self.units("translation_units", &self.translation_units)?;
        for (key, list, allowed) in [
            ("cflags", &self.flags.cflags, CFLAGS),
            ("debug_cflags", &self.flags.debug_cflags, DEBUG_CFLAGS),
            ("ldflags", &self.flags.ldflags, LDFLAGS),
        ] {
            for (i, f) in list.iter().enumerate() {
                refuse(format!("flags.{key}[{i}]"), f, one_of(f, allowed))?;
            }
        }
        exports("exports", &self.exports)?;
        for (i, t) in self.tunables.iter().enumerate() {
            let field = |k: &str| format!("tunables[{i}].{k}");
            let name_rule = if t.name.split('.').count() == 3 && t.name.split('.').all(is_ident) {
                Ok(())
            } else {
                Err("not a tunable name (`glibc.malloc.name`)".into())
            };
            refuse(field("name"), &t.name, name_rule)?;
            refuse(field("type"), &t.ty, ident(&t.ty))?;
            for (k, v) in [
                ("minval", &t.minval),
                ("maxval", &t.maxval),
                ("default", &t.default),
            ] {
                if let Some(v) = v {
                    let rule = token(v.trim_start_matches('-'), "_")
                        .map_err(|_| "not a number or a constant's name".to_string());
                    refuse(field(k), v, rule)?;
                }
            }
            if let Some(a) = &t.env_alias {
                refuse(field("env_alias"), a, ident(a))?;
            }
            refuse(
                field("security_level"),
                &t.security_level,
                ident(&t.security_level),
            )?;
        }
        // Builders make one variant per subset of the options, so their
        // number is bounded: the resolver writes two (hooks, trace).
        if self.options.len() > MAX_OPTIONS {
            return Err(Refusal {
                field: "options".into(),
                value: format!("{} options", self.options.len()),
                rule: format!(
                    "more than {MAX_OPTIONS} build options (builders make one variant per \
                     subset of them; the resolver writes two)"
                ),
            });
        }
        for (name, o) in &self.options {
            self.validate_option(name, o)?;
        }
        if let Some(h) = &self.host {
            refuse("host.libc", &h.libc, text(&h.libc))?;
            refuse(
                "host.exports_sha256",
                &h.exports_sha256,
                sha256(&h.exports_sha256),
            )?;
            refuse(
                "host.headers_sha256",
                &h.headers_sha256,
                sha256(&h.headers_sha256),
            )?;
        }
        plan_args(&self.plan())
    }

    fn validate_source(&self) -> Result<(), Refusal> {
        let f = |k: &str| format!("source.origin.{k}");
        match &self.source.origin {
            Origin::Tree => {}
            Origin::Tarball {
                file_name: n,
                sha256: s,
            } => {
                refuse(f("file_name"), n, file_name(n))?;
                refuse(f("sha256"), s, sha256(s))?;
            }
            Origin::Git { tag, commit } => {
                let tag_rule = token(tag, "._+/-").and_then(|()| {
                    if tag.contains("..") {
                        Err("`..` in a tag".into())
                    } else {
                        Ok(())
                    }
                });
                refuse(f("tag"), tag, tag_rule)?;
                let commit_rule = if (40..=64).contains(&commit.len())
                    && commit.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
                {
                    Ok(())
                } else {
                    Err("not a commit id (lowercase hex)".into())
                };
                refuse(f("commit"), commit, commit_rule)?;
            }
            Origin::Debian {
                package,
                version,
                file_name: n,
                sha256: s,
                tarball,
                tarball_sha256,
            } => {
                refuse(f("package"), package, token(package, ".+-"))?;
                refuse(f("version"), version, token(version, ".+~:-"))?;
                refuse(f("file_name"), n, relative(n))?;
                refuse(f("sha256"), s, sha256(s))?;
                refuse(f("tarball"), tarball, file_name(tarball))?;
                refuse(f("tarball_sha256"), tarball_sha256, sha256(tarball_sha256))?;
            }
            Origin::Gnu { url: u, sha256: s } => {
                refuse(f("url"), u, url(u))?;
                refuse(f("sha256"), s, sha256(s))?;
            }
        }
        if let Some(g) = &self.source.gnu {
            refuse("source.gnu.url", &g.url, url(&g.url))?;
            refuse("source.gnu.sha256", &g.sha256, sha256(&g.sha256))?;
        }
        Ok(())
    }

    /// Translation units: C files in the tree, or in `stubs/`, each pinned.
    fn units(&self, key: &str, units: &[TranslationUnit]) -> Result<(), Refusal> {
        for (i, tu) in units.iter().enumerate() {
            let field = format!("{key}[{i}].path");
            let (rule, pins, list) = match tu {
                TranslationUnit::Glibc { path } => (relative(path), &self.verbatim, "verbatim"),
                TranslationUnit::Stub { path } => (under(path, "stubs"), &self.stubs, "stubs"),
            };
            let path = tu.path();
            refuse(&field, path, rule.and_then(|()| c_file(path)))?;
            let pinned = if pins.iter().any(|p| p.path == path) {
                Ok(())
            } else {
                Err(format!(
                    "not pinned in `{list}` (every unit a build compiles is pinned)"
                ))
            };
            refuse(&field, path, pinned)?;
        }
        Ok(())
    }

    fn validate_option(&self, name: &str, o: &BuildOption) -> Result<(), Refusal> {
        let key = format!("options.{name}");
        refuse("options", name, option_name(name))?;
        refuse(
            format!("{key}.description"),
            &o.description,
            text(&o.description),
        )?;
        self.units(&format!("{key}.translation_units"), &o.translation_units)?;
        defines(&format!("{key}.defines"), &o.defines)?;
        for (from, to) in &o.glibc_renames {
            refuse(format!("{key}.glibc_renames"), from, ident(from))?;
            refuse(format!("{key}.glibc_renames.{from}"), to, ident(to))?;
        }
        exports(&format!("{key}.exports"), &o.exports)
    }
}

fn defines(key: &str, defines: &BTreeMap<String, String>) -> Result<(), Refusal> {
    for (name, value) in defines {
        refuse(key, name, ident(name))?;
        refuse(format!("{key}.{name}"), value, define_value(value))?;
    }
    Ok(())
}

fn exports(key: &str, exports: &[Export]) -> Result<(), Refusal> {
    for (i, e) in exports.iter().enumerate() {
        refuse(format!("{key}[{i}].name"), &e.name, ident(&e.name))?;
        refuse(format!("{key}[{i}].since"), &e.since, token(&e.since, "._"))?;
    }
    Ok(())
}

fn pinned(key: &str, files: &[PinnedFile], dir: Option<&str>) -> Result<(), Refusal> {
    for (i, f) in files.iter().enumerate() {
        let rule = match dir {
            Some(d) => under(&f.path, d),
            None => relative(&f.path),
        };
        refuse(format!("{key}[{i}].path"), &f.path, rule)?;
        refuse(format!("{key}[{i}].sha256"), &f.sha256, sha256(&f.sha256))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- the plan

/// `@PLACEHOLDER@` itself or `@PLACEHOLDER@/<relative path>`, for one of
/// `roots`.
fn placed(s: &str, roots: &[&str]) -> Rule {
    for root in roots {
        if let Some(rest) = s.strip_prefix(root) {
            if rest.is_empty() {
                return Ok(());
            }
            if let Some(p) = rest.strip_prefix('/') {
                return relative(p);
            }
        }
    }
    Err(format!("not a path under {}", roots.join(" or ")))
}

/// An object file the plan writes: `@BUILD@/obj/<name>.o`.
fn object(s: &str) -> Rule {
    match s
        .strip_prefix(&format!("{BUILD}/{OBJ_DIR}/"))
        .and_then(|n| n.strip_suffix(".o"))
    {
        Some(n) => file_name(n),
        None => Err(format!("not an object under {BUILD}/{OBJ_DIR}/")),
    }
}

/// Checks a plan's every path and argument: what a builder runs.
pub fn plan_args(plan: &Plan) -> Result<(), Refusal> {
    let compile_flags: Vec<&str> = CFLAGS.iter().chain(DEBUG_CFLAGS).copied().collect();
    for (i, d) in plan.dirs.iter().enumerate() {
        refuse(format!("plan.dirs[{i}]"), d, relative(d))?;
    }
    for (role, f) in &plan.files {
        refuse(
            format!("plan.files.{role}.path"),
            &f.path,
            relative(&f.path),
        )?;
    }
    for (mode, flags) in [
        ("release", &plan.cflags.release),
        ("debug", &plan.cflags.debug),
    ] {
        for (i, f) in flags.iter().enumerate() {
            refuse(
                format!("plan.cflags.{mode}[{i}]"),
                f,
                one_of(f, &compile_flags),
            )?;
        }
    }
    let maps = macro_prefix_maps();
    for (v, variant) in plan.variants.iter().enumerate() {
        let key = format!("plan.variants[{v}]");
        for (i, o) in variant.options.iter().enumerate() {
            refuse(format!("{key}.options[{i}]"), o, option_name(o))?;
        }
        for (mode, name) in [
            ("release", &variant.so_name.release),
            ("debug", &variant.so_name.debug),
        ] {
            refuse(format!("{key}.so_name.{mode}"), name, file_name(name))?;
        }
        for (role, f) in &variant.files {
            refuse(
                format!("{key}.files.{role}.path"),
                &f.path,
                relative(&f.path),
            )?;
        }
        for (c, compile) in variant.compile.iter().enumerate() {
            let key = format!("{key}.compile[{c}]");
            refuse(
                format!("{key}.unit"),
                &compile.unit,
                relative(&compile.unit),
            )?;
            refuse(
                format!("{key}.source"),
                &compile.source,
                placed(&compile.source, &[TREE, PROJECT]),
            )?;
            refuse(
                format!("{key}.object"),
                &compile.object,
                object(&compile.object),
            )?;
            let args = &compile.args;
            let mut i = 0;
            while i < args.len() {
                let a = &args[i];
                let field = |i: usize| format!("{key}.args[{i}]");
                let roots: Option<&[&str]> = match a.as_str() {
                    "-include" => Some(&[PROJECT]),
                    "-I" => Some(&[PROJECT, BUILD]),
                    "-idirafter" => Some(&[TREE]),
                    "-c" => Some(&[TREE, PROJECT]),
                    "-o" => Some(&[BUILD]),
                    _ => None,
                };
                if let Some(roots) = roots {
                    let next = args.get(i + 1).map(String::as_str).unwrap_or("");
                    refuse(field(i + 1), next, placed(next, roots))?;
                    i += 2;
                    continue;
                }
                if let Some(d) = a.strip_prefix("-D") {
                    let (name, value) = d.split_once('=').unwrap_or((d, "1"));
                    refuse(field(i), a, ident(name))?;
                    refuse(field(i), a, define_value(value))?;
                } else if !maps.contains(a) {
                    refuse(field(i), a, one_of(a, &compile_flags))?;
                }
                i += 1;
            }
        }
        let script = format!("-Wl,--version-script={BUILD}/{VERSION_SCRIPT}");
        for (i, a) in variant.link.iter().enumerate() {
            let field = format!("{key}.link[{i}]");
            if *a == script {
                continue;
            }
            if let Some(name) = a.strip_prefix("-Wl,-soname,") {
                refuse(field, a, file_name(name))?;
            } else if a.starts_with(BUILD) {
                refuse(field, a, object(a))?;
            } else {
                refuse(field, a, one_of(a, LDFLAGS))?;
            }
        }
        for (i, e) in variant.exports.iter().enumerate() {
            refuse(format!("{key}.exports[{i}]"), e, ident(e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_their_root() {
        for ok in ["malloc/malloc.c", "sysdeps/x86_64/64/a+b-c.h", "a"] {
            assert_eq!(relative(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "empty path"),
            ("/etc/passwd", "absolute"),
            ("../../../outside/victim", "`..`"),
            ("malloc/../../x", "`..`"),
            ("./malloc.c", "`.` component"),
            ("malloc//malloc.c", "empty component"),
            ("malloc/", "empty component"),
            ("malloc\\..\\x", "backslash"),
            ("malloc/-o", "`-`"),
            ("malloc/a b.c", "' '"),
            ("malloc/@BUILD@", "'@'"),
            ("malloc/\u{0}x", "'\\0'"),
        ] {
            let e = relative(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert_eq!(under("stubs/fatal.c", "stubs"), Ok(()));
        assert!(under("/etc/shadow", "stubs").is_err());
        assert!(under("stubsx/fatal.c", "stubs")
            .unwrap_err()
            .contains("stubs/"));
        assert!(under("shims/x.h", "stubs").is_err());
    }

    #[test]
    fn definitions_are_identifiers_numbers_or_versions() {
        for ok in [
            "1",
            "getrandom",
            "\"2.36\"",
            "0x10",
            "__malloc_standalone_glibc_malloc",
        ] {
            assert_eq!(define_value(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "x;y",
            "$(touch /tmp/x)",
            "\"a b\"",
            "`id`",
            "1\n#include",
            "\"",
        ] {
            assert!(define_value(bad).is_err(), "{bad:?}");
        }
        assert!(ident("a-b").is_err());
        assert!(ident("9a").is_err());
        assert!(ident("_a9").is_ok());
    }

    fn committed_236() -> Manifest {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../nix/manifests/glibc-2.36.yaml");
        Manifest::load(&path).unwrap()
    }

    #[test]
    fn the_resolver_writes_no_manifest_it_would_refuse() {
        let mut m = committed_236();
        m.flags.cflags.push("-wrapper".into());
        let dir = tempfile::tempdir().unwrap();
        let e = m.write(dir.path()).unwrap_err().to_string();
        assert!(e.contains("flags.cflags[12] = \"-wrapper\""), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_twin_is_checked_like_its_yaml() {
        let mut m = committed_236();
        m.stubs[0].path = "/etc/shadow".into();
        let e = Manifest::parse(&m.to_json(), "twin.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("manifest twin.json is refused: stubs[0].path = \"/etc/shadow\""),
            "{e}"
        );
    }

    #[test]
    fn versions_and_names_are_plain_tokens() {
        for ok in ["2.36", "2.42.9000", "2.44"] {
            assert_eq!(version(ok), Ok(()), "{ok}");
        }
        for bad in ["", "2", "x.36", "2.36/../../x", "-2.36", "2.36 x"] {
            assert!(version(bad).is_err(), "{bad:?}");
        }
        assert!(option_name("trace").is_ok());
        assert!(option_name("../x").is_err());
        assert!(url("https://ftp.gnu.org/gnu/glibc/glibc-2.36.tar.xz").is_ok());
        assert!(url("file:///etc/passwd").is_err());
        assert!(url("https://x/ y").is_err());
    }

    #[test]
    fn too_many_options_are_refused_before_any_plan_is_made() {
        let mut m = committed_236();
        let hooks = m.options["hooks"].clone();
        for i in 0..=MAX_OPTIONS {
            m.options.insert(format!("o{i}"), hooks.clone());
        }
        let r = m.validate().unwrap_err();
        assert_eq!(r.field, "options");
        assert!(r.rule.contains("more than 8 build options"), "{r}");
    }
}
