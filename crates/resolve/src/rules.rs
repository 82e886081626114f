//! Classification rules: what a file is (host header, verbatim glibc file,
//! shim, stub) and who provides a symbol the allocator needs.
//!
//! The rules are general, never per version: a version that needs something
//! else gets a different answer because its source says something else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::graph::FileClass;

/// The directories a path is classified against (all canonical).
#[derive(Clone, Debug)]
pub struct Roots {
    /// The glibc source tree.
    pub tree: PathBuf,
    /// The project root (holding `shims/` and `stubs/`).
    pub project: PathBuf,
    /// Where the resolver writes the headers the build generates, shown as
    /// `gen/` (the build's own directory for them).
    pub generated: Option<PathBuf>,
}

impl Roots {
    /// Canonicalises both roots.
    pub fn new(tree: &Path, project: &Path) -> std::io::Result<Roots> {
        Ok(Roots {
            tree: tree.canonicalize()?,
            project: project.canonicalize()?,
            generated: None,
        })
    }

    /// Classifies a path and returns how it is shown (tree- or project-relative;
    /// host files keep their absolute path).
    pub fn classify(&self, path: &Path) -> (FileClass, String) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        if let Ok(rel) = path.strip_prefix(&self.project) {
            let rel = rel.to_string_lossy().into_owned();
            if rel.starts_with("shims/") {
                return (FileClass::Shim, rel);
            }
            if rel.starts_with("stubs/") {
                return (FileClass::Stub, rel);
            }
        }
        if let Ok(rel) = path.strip_prefix(&self.tree) {
            return (FileClass::Verbatim, rel.to_string_lossy().into_owned());
        }
        if let Some(rel) = self
            .generated
            .as_ref()
            .and_then(|g| path.strip_prefix(g).ok())
        {
            return (
                FileClass::Generated,
                format!("gen/{}", rel.to_string_lossy()),
            );
        }
        (FileClass::Host, path.to_string_lossy().into_owned())
    }
}

/// Who satisfies a symbol the allocator needs but does not define.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Already defined by a translation unit in the build.
    Defined,
    /// One of our stubs defines it: compile that stub.
    Stub(String),
    /// The host libc exports it under this name and a host header declares it.
    Host,
    /// An internal alias of a public host function: map it with `-Dname=to`.
    Mapped(String),
    /// A glibc source file defines it: compile that file verbatim.
    Glibc(String),
    /// Nothing provides it.
    Unresolved,
}

/// What the rules may consult.
pub struct Facts<'a> {
    /// Symbols defined by the translation units already in the build.
    pub defined: &'a BTreeSet<String>,
    /// Symbols each stub file defines: symbol -> stub path.
    pub stubs: &'a BTreeMap<String, String>,
    /// Public exports of the host libc.
    pub host_exports: &'a BTreeSet<String>,
    /// Functions and variables declared by host system headers.
    pub host_decls: &'a BTreeSet<String>,
    /// Finds a glibc file defining a symbol.
    pub glibc_file: &'a dyn Fn(&str) -> Option<String>,
}

/// The public names an internal alias may stand for, most specific first:
/// `__mmap` -> `mmap`, `__libc_foo` -> `foo`.
pub fn public_candidates(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let stripped = name.trim_start_matches('_');
    if stripped != name && !stripped.is_empty() {
        out.push(stripped.to_owned());
        if let Some(rest) = stripped.strip_prefix("libc_") {
            out.push(rest.to_owned());
        }
    }
    out
}

/// Why the allocator needs a symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// It uses a declared function or variable it does not define.
    Use,
    /// It uses a name with no declaration in scope: only a mapping to a public
    /// name that a host header declares can repair that.
    Undeclared,
    /// It is the version's public allocator API: it must come from glibc's
    /// own files (never the host's allocator, a mapping or a stub).
    Api,
    /// It is allocator API of the host that the version lacks: only a stub
    /// can bridge it to this version's allocator.
    Bridge,
}

/// Decides who provides `name`. Order matters: what the build already has,
/// then our stubs (they replace glibc internals on purpose), then the host
/// (its exact name, then a public alias), then a glibc source file. The
/// version's API comes from glibc's files alone, a bridge from a stub alone.
pub fn decide(name: &str, need: Need, f: &Facts) -> Decision {
    if f.defined.contains(name) {
        return Decision::Defined;
    }
    match need {
        Need::Api => {
            return (f.glibc_file)(name).map_or(Decision::Unresolved, Decision::Glibc);
        }
        Need::Bridge => {
            return f
                .stubs
                .get(name)
                .map_or(Decision::Unresolved, |s| Decision::Stub(s.clone()));
        }
        Need::Use | Need::Undeclared => {}
    }
    if let Some(stub) = f.stubs.get(name) {
        return Decision::Stub(stub.clone());
    }
    if need == Need::Use && f.host_exports.contains(name) {
        return Decision::Host;
    }
    let usable = |n: &str| f.host_exports.contains(n) && f.host_decls.contains(n);
    if let Some(to) = public_candidates(name).into_iter().find(|c| usable(c)) {
        return Decision::Mapped(to);
    }
    if let Some(file) = (f.glibc_file)(name) {
        return Decision::Glibc(file);
    }
    Decision::Unresolved
}

/// The glibc macros that define symbol aliases; their expansions are how an
/// alias such as `malloc` for `__libc_malloc` comes to be defined.
pub const ALIAS_MACROS: &[&str] = &["strong_alias", "weak_alias"];

/// Where glibc's build would find the definition of a symbol: every
/// subdirectory's routines (`subdir` first), each resolved to its source file
/// the way the build does (the first `r.c` along the sysdeps chain, else
/// `<subdir>/r.c`).
pub struct GlibcFiles {
    tree: PathBuf,
    sysdeps: Vec<String>,
    subdirs: Vec<String>,
    /// (routine file) in search order, computed once.
    routine_files: Vec<String>,
}

impl GlibcFiles {
    /// Indexes the routines of every subdirectory, `first` (e.g. `malloc`) first.
    pub fn new(tree: &Path, sysdeps: &[String], first: &str) -> GlibcFiles {
        let mut subdirs: Vec<String> = std::fs::read_dir(tree)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().join("Makefile").is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        subdirs.sort();
        let order = std::iter::once(first.to_owned())
            .chain(subdirs.iter().filter(|s| *s != first).cloned());
        let mut routine_files = Vec::new();
        for sub in order {
            for r in routines(tree, sysdeps, &sub) {
                let found = sysdeps
                    .iter()
                    .map(|d| format!("{d}/{r}.c"))
                    .chain([format!("{sub}/{r}.c")])
                    .find(|rel| tree.join(rel).is_file());
                if let Some(rel) = found {
                    if !routine_files.contains(&rel) {
                        routine_files.push(rel);
                    }
                }
            }
        }
        GlibcFiles {
            tree: tree.to_owned(),
            sysdeps: sysdeps.to_vec(),
            subdirs,
            routine_files,
        }
    }

    /// The file that defines `name`. Two ways to name it, in order: glibc's
    /// convention that a routine lives in `<name without leading
    /// underscores>.c` (with or without inner underscores: `__set_vma_name` is
    /// `setvmaname.c`), along the chain and then in every subdirectory; then
    /// the routine file that defines it at the start of a line (GNU style puts
    /// a definition's name in column 0).
    pub fn find(&self, name: &str) -> Option<String> {
        let stem = name.trim_start_matches('_');
        if stem.is_empty() {
            return None;
        }
        let mut stems = vec![stem.to_owned()];
        if stem.contains('_') {
            stems.push(stem.replace('_', ""));
        }
        for st in &stems {
            for dir in self.sysdeps.iter().chain(&self.subdirs) {
                let rel = format!("{dir}/{st}.c");
                if self.tree.join(&rel).is_file() {
                    return Some(rel);
                }
            }
        }
        // A function's name opens its line; a variable's definition is a
        // line of its own that starts with its type (`const char
        // _itoa_lower_digits[36]`), never with `extern` or `static`.
        let name = regex::escape(name);
        let function = regex::Regex::new(&format!(r"(?m)^{name}\s*\(")).ok()?;
        let variable = regex::Regex::new(&format!(
            r"(?m)^([A-Za-z_][A-Za-z0-9_ \t*]*[ \t*])?{name}\s*(\[[^\]]*\])?\s*(=.*)?;?\s*$"
        ))
        .ok()?;
        self.routine_files.iter().find_map(|rel| {
            let text = std::fs::read_to_string(self.tree.join(rel)).ok()?;
            let defines = function.is_match(&text)
                || variable.captures_iter(&text).any(|c| {
                    let ty = c.get(1).map_or("", |m| m.as_str());
                    !ty.is_empty() && !ty.starts_with("extern") && !ty.starts_with("static")
                });
            defines.then(|| rel.clone())
        })
    }
}

/// The routines glibc's build compiles for `subdir`: `routines`, `aux` and
/// `sysdep_routines` of `<subdir>/Makefile`, plus those the sysdeps
/// directories' Makefiles add inside `ifeq ($(subdir),<subdir>)`.
pub fn routines(tree: &Path, sysdeps: &[String], subdir: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut scan = |path: &Path, always: bool| {
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let text = text.replace("\\\n", " ");
        // A stack of "does this conditional block apply to our subdir".
        let mut applies: Vec<bool> = Vec::new();
        let wanted = [
            format!("ifeq ($(subdir),{subdir})"),
            format!("ifeq ($(subdir), {subdir})"),
        ];
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("ifeq")
                || l.starts_with("ifneq")
                || l.starts_with("ifdef")
                || l.starts_with("ifndef")
            {
                applies.push(wanted.iter().any(|w| l.starts_with(w.as_str())));
                continue;
            }
            if l.starts_with("endif") {
                applies.pop();
                continue;
            }
            let here = always || applies.iter().any(|a| *a);
            if !here {
                continue;
            }
            for var in ["routines", "sysdep_routines", "aux"] {
                if let Some(rest) = l.strip_prefix(var) {
                    let rest = rest.trim_start();
                    if let Some(words) = rest
                        .strip_prefix("+=")
                        .or_else(|| rest.strip_prefix(":="))
                        .or_else(|| rest.strip_prefix('='))
                    {
                        for w in words.split_whitespace() {
                            if !w.contains('$') && !out.iter().any(|o| o == w) {
                                out.push(w.to_owned());
                            }
                        }
                    }
                }
            }
        }
    };
    scan(&tree.join(subdir).join("Makefile"), true);
    for d in sysdeps {
        scan(&tree.join(d).join("Makefile"), false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    fn check(name: &str, need: Need, expect: Decision) {
        let defined = set(&["__libc_malloc"]);
        let stubs: BTreeMap<String, String> =
            [("__libc_message".to_string(), "stubs/fatal.c".to_string())].into();
        let host_exports = set(&[
            "mmap",
            "__sbrk",
            "sbrk",
            "__libc_single_threaded",
            "get_nprocs",
        ]);
        let host_decls = set(&["mmap", "sbrk", "__libc_single_threaded", "get_nprocs"]);
        let glibc = |n: &str| match n {
            "__default_morecore" => Some("malloc/morecore.c".to_string()),
            "reallocarray" => Some("malloc/reallocarray.c".to_string()),
            _ => None,
        };
        let f = Facts {
            defined: &defined,
            stubs: &stubs,
            host_exports: &host_exports,
            host_decls: &host_decls,
            glibc_file: &glibc,
        };
        assert_eq!(decide(name, need, &f), expect, "{name}");
    }

    #[test]
    fn rules_in_order() {
        use Need::*;
        check("__libc_malloc", Use, Decision::Defined);
        check(
            "__libc_message",
            Use,
            Decision::Stub("stubs/fatal.c".into()),
        );
        check("__libc_single_threaded", Use, Decision::Host);
        check("__mmap", Undeclared, Decision::Mapped("mmap".into()));
        // Exported, and declared by the allocator's own headers: the host's symbol.
        check("__sbrk", Use, Decision::Host);
        // Exported but used undeclared: only the declared public name helps.
        check("__sbrk", Undeclared, Decision::Mapped("sbrk".into()));
        check(
            "__get_nprocs",
            Undeclared,
            Decision::Mapped("get_nprocs".into()),
        );
        check(
            "__default_morecore",
            Use,
            Decision::Glibc("malloc/morecore.c".into()),
        );
        check("__libc_nothing", Use, Decision::Unresolved);
        // The public API never comes from the host, even though it exports it.
        check(
            "reallocarray",
            Api,
            Decision::Glibc("malloc/reallocarray.c".into()),
        );
        check("mmap", Api, Decision::Unresolved);
        // A stub never stands in for the version's own API, only bridges
        // the host's API the version lacks.
        check("__libc_message", Api, Decision::Unresolved);
        check(
            "__libc_message",
            Bridge,
            Decision::Stub("stubs/fatal.c".into()),
        );
        check("reallocarray", Bridge, Decision::Unresolved);
    }

    #[test]
    fn public_candidates_strip_prefixes() {
        assert_eq!(public_candidates("__mmap"), ["mmap"]);
        assert_eq!(public_candidates("__libc_foo"), ["libc_foo", "foo"]);
        assert!(public_candidates("mmap").is_empty());
    }

    #[test]
    fn finds_routine_files_like_glibc_build() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path();
        for (p, text) in [
            (
                "sysdeps/unix/sysv/linux/setvmaname.c",
                "void\n__set_vma_name (void) {}\n",
            ),
            ("misc/setvmaname.c", ""),
            ("misc/Makefile", ""),
            (
                "malloc/morecore.c",
                "void *\n__default_morecore (long i)\n{}\n",
            ),
            ("malloc/tst-x.c", "int\n__only_in_test (void)\n{}\n"),
            (
                "malloc/Makefile",
                "routines = malloc morecore \\\n  tst-y\n",
            ),
            (
                "sysdeps/unix/sysv/linux/Makefile",
                "ifeq ($(subdir),misc)\nsysdep_routines += other\nendif\n\
                 ifeq ($(subdir),misc)\nsysdep_routines += malloc-hugepages\nendif\n",
            ),
            (
                "sysdeps/unix/sysv/linux/malloc-hugepages.c",
                "int\n__malloc_thp_mode (void)\n{}\n",
            ),
            (
                "stdio-common/Makefile",
                "routines := itoa-digits itoa-udigits\n",
            ),
            (
                "stdio-common/itoa-digits.c",
                "extern const char _itoa_upper_digits[];\n\
                 const char _itoa_lower_digits[36]\n\t= \"0123\";\n",
            ),
            (
                "stdio-common/itoa-udigits.c",
                "const char _itoa_upper_digits[36]\n\t= \"0123\";\n",
            ),
        ] {
            std::fs::create_dir_all(t.join(p).parent().unwrap()).unwrap();
            std::fs::write(t.join(p), text).unwrap();
        }
        let chain = vec![
            "sysdeps/unix/sysv/linux".to_string(),
            "sysdeps/generic".to_string(),
        ];
        let files = GlibcFiles::new(t, &chain, "malloc");
        let find = |n| files.find(n);
        let linux = Some("sysdeps/unix/sysv/linux/setvmaname.c");
        assert_eq!(find("__setvmaname").as_deref(), linux);
        assert_eq!(find("__set_vma_name").as_deref(), linux);
        for (name, file) in [
            ("__default_morecore", "malloc/morecore.c"),
            (
                "__malloc_thp_mode",
                "sysdeps/unix/sysv/linux/malloc-hugepages.c",
            ),
            // A variable's definition; a declaration (itoa-digits.c
            // declares _itoa_upper_digits) is none.
            ("_itoa_lower_digits", "stdio-common/itoa-digits.c"),
            ("_itoa_upper_digits", "stdio-common/itoa-udigits.c"),
        ] {
            assert_eq!(find(name).as_deref(), Some(file), "{name}");
        }
        assert_eq!(find("__only_in_test"), None);
        assert_eq!(find("__nowhere"), None);
        assert_eq!(
            routines(t, &chain, "malloc"),
            ["malloc", "morecore", "tst-y"]
        );
    }
}
