//! Stage 1 of a round: parse one translation unit with libclang and read
//! off what the loop decides on ([`TuFacts`]): what it defines and needs,
//! what it includes and fails to find, what it uses undeclared, which
//! tunables and structs it has. Also the two probes the loop makes with the
//! same compiler: the host's allocator API and what `__has_include` finds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::clang::{Cursor, Diagnostic, Index, Kind, Linkage, Location, Severity, Walk};
use crate::graph::FileClass;
use crate::policy;
use crate::rules::{self, Roots};
use crate::{io, ResolveError};

/// What one parse of one translation unit told us.
#[derive(Default)]
pub(crate) struct TuFacts {
    /// External symbols this TU defines (definitions and aliases).
    pub defined: BTreeSet<String>,
    /// Those of `defined` that are weak definitions. In a stub, a weak
    /// definition is a fallback: it provides a symbol only where no glibc
    /// file of the build does (the linker lets a strong definition win).
    pub weak: BTreeSet<String>,
    /// Every function defined, any linkage (for feature detection).
    pub functions: BTreeSet<String>,
    /// External symbols referenced but not defined here: (referrer, name).
    pub needs: BTreeSet<(String, String)>,
    /// Names declared by host system headers.
    pub host_decls: BTreeSet<String>,
    /// Names declared by the version's public malloc.h.
    pub public_decls: BTreeSet<String>,
    /// Files included: (includer, line, included).
    pub includes: Vec<(PathBuf, u32, PathBuf)>,
    /// Headers not found: (includer, line, spelled name).
    pub missing: Vec<(PathBuf, u32, String)>,
    /// Identifiers used without a declaration (implicit or undeclared): (file, line, name).
    pub undeclared: Vec<(PathBuf, u32, String)>,
    /// Other errors.
    pub errors: Vec<CompileError>,
    /// Macro expansions of project/glibc macros: (file, macro, defining file).
    pub macros: BTreeSet<(PathBuf, String, PathBuf)>,
    /// Macros defined in glibc or shim files.
    pub macro_defs: BTreeSet<String>,
    /// Symbols only defined as compatibility symbols (`compat_symbol`): old
    /// binaries may bind them, new programs cannot link them.
    pub compat: BTreeSet<String>,
    /// Tunable namespaces read: `glibc.<TUNABLE_NAMESPACE>` and the
    /// `top.namespace` of every `TUNABLE_GET_FULL`.
    pub tunable_namespaces: BTreeSet<String>,
    /// struct name -> field names, for glibc-defined structs.
    pub structs: BTreeMap<String, BTreeSet<String>>,
}

/// An error the compiler reports that no rule repairs.
#[derive(Clone, Debug)]
pub(crate) struct CompileError {
    pub file: PathBuf,
    pub line: u32,
    pub message: String,
    /// A nested function (a GCC extension libclang does not parse).
    pub nested_function: bool,
}

/// The command line libclang parses every translation unit with: the
/// build's flags (without debug info) and include order, with the glibc
/// directories of the sysdeps chain after the host's.
pub(crate) fn args(
    roots: &Roots,
    sysdeps: &[String],
    gen: &Path,
    defines: &BTreeMap<String, String>,
) -> Vec<String> {
    // Report every error, not the first twenty.
    let mut a: Vec<String> = vec!["-x".into(), "c".into(), "-ferror-limit=0".into()];
    a.extend(
        policy::CFLAGS
            .iter()
            .filter(|f| **f != "-g")
            .map(|s| s.to_string()),
    );
    a.push("-include".into());
    a.push(roots.project.join(policy::PRELUDE).display().to_string());
    a.push("-I".into());
    a.push(roots.project.join(policy::SHIMS_DIR).display().to_string());
    a.push("-I".into());
    a.push(gen.display().to_string());
    for (k, v) in defines {
        a.push(format!("-D{k}={v}"));
    }
    let root = &roots.tree;
    a.push("-idirafter".into());
    a.push(root.join("include").display().to_string());
    for d in sysdeps {
        a.push("-idirafter".into());
        a.push(root.join(d).display().to_string());
    }
    a.push("-idirafter".into());
    a.push(root.display().to_string());
    a
}

/// What a diagnostic means to the loop.
#[derive(Debug, PartialEq, Eq)]
enum Finding {
    /// An `#include` found no file: the spelled name.
    Missing(String),
    /// A name used without a declaration in scope.
    Undeclared(String),
    /// Nothing the loop acts on.
    Ignore,
    /// Any other error.
    Error { nested_function: bool },
}

/// `#include` directives that found no file: (file, line) -> the name as written.
type Unresolved = BTreeMap<(PathBuf, u32), String>;

/// Classifies a diagnostic at `at` by where it points and the option that
/// controls it, not by its English text, with two documented exceptions.
///
/// - A missing header: an error on the line of an `#include` directive
///   whose file the preprocessor did not find (its cursor has no included
///   file); the name is the directive's own
///   spelling. (By line, not by the cursor at the diagnostic's location:
///   for `#include MACRO` that location is inside the macro.)
/// - `-Wimplicit-function-declaration` covers every call of an undeclared
///   function. Its identifier says which: a `__builtin_` name is a GCC
///   builtin libclang does not know (e.g. 2.42's `__builtin_add_overflow_p`:
///   the compiler that builds is GCC, and it is no symbol anyone must
///   provide); a function clang itself declares `extern` is a C library
///   function it knows (the host provides it; known by the reference at the
///   diagnostic's location, so a call written inside a macro, where the
///   location points into the macro, counts as undeclared); anything else is
///   undeclared.
/// - Text, first exception: "use of undeclared identifier" (a name that is
///   not called) is a hard error with no `-W` option, in the "Semantic
///   Issue" category it shares with hundreds of others, and it leaves no
///   node in the AST; libclang exposes neither diagnostic IDs nor their
///   arguments, so its message prefix is the only signal. The name itself is
///   the token the diagnostic points at, not the quoted text.
/// - Text, second exception: "function definition is not allowed here" only
///   adds an explanation (a nested function) to an error that is reported
///   anyway; it is a "Parse Issue" without an option, and nothing in the AST
///   marks it either.
fn classify(d: &Diagnostic, at: &Location, unresolved: &mut Unresolved) -> Finding {
    let option = d.option();
    if d.severity() >= Severity::Error && option.is_empty() {
        let key = (at.file.clone().unwrap_or_default(), at.line);
        if let Some(name) = unresolved.remove(&key) {
            return Finding::Missing(name);
        }
    }
    if option == "-Wimplicit-function-declaration" {
        let Some(name) = d.identifier() else {
            return Finding::Ignore;
        };
        let cursor = d.cursor();
        let library = cursor.kind() == Kind::DeclRefExpr
            && cursor
                .referenced()
                .is_some_and(|r| r.kind() == Kind::FunctionDecl && r.is_extern());
        if name.starts_with("__builtin_") || library {
            return Finding::Ignore;
        }
        return Finding::Undeclared(name);
    }
    if d.severity() < Severity::Error {
        return Finding::Ignore;
    }
    let message = d.message();
    if option.is_empty() && message.starts_with("use of undeclared identifier") {
        if let Some(name) = d.identifier() {
            return Finding::Undeclared(name);
        }
    }
    Finding::Error {
        nested_function: message == "function definition is not allowed here",
    }
}

/// The names of a declaration's attributes (`weak`, `constructor`,
/// `alias`...), its own and those it inherits from earlier declarations, as
/// GCC applies them: each attribute cursor's name token, with GCC's
/// `__name__` spelling reduced to `name`. (Only the name token: an
/// attribute written through a macro has an extent that spans from the
/// macro's definition to its use.)
fn attributes(decl: &Cursor) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    decl.visit(|c, _| {
        if c.is_attribute() {
            if let Some(name) = c.name_token() {
                let bare = name
                    .strip_prefix("__")
                    .and_then(|n| n.strip_suffix("__"))
                    .unwrap_or(&name);
                out.insert(bare.to_owned());
            }
        }
        Walk::Continue
    });
    out
}

/// Parses one translation unit.
pub(crate) fn parse(
    index: &Index,
    path: &Path,
    args: &[String],
    roots: &Roots,
) -> Result<TuFacts, ResolveError> {
    let tu = index.parse(path, args)?;
    let mut f = TuFacts::default();
    let malloc_h = roots.tree.join("malloc/malloc.h");
    for inc in tu.inclusions() {
        if let Some((includer, line)) = inc.includer {
            f.includes.push((includer, line, inc.file));
        }
    }
    // Where a cursor is spelled decides whose it is: glibc's tree, our
    // project (shims, stubs, the generated header) or the host. (libclang's
    // "system header" will not do: -idirafter makes glibc's headers system
    // headers too.)
    let ours_path = |p: &Path| {
        p.starts_with(&roots.tree)
            || p.starts_with(&roots.project)
            || roots.generated.as_ref().is_some_and(|g| p.starts_with(g))
    };
    let is_ours = |c: &Cursor| -> bool { c.location().file.is_some_and(|p| ours_path(&p)) };
    // Every reference between definitions (referrer, referenced, external
    // and undefined here?), and the definitions the compiler must keep.
    let mut refs: BTreeSet<(String, String, bool)> = BTreeSet::new();
    let mut kept: BTreeSet<String> = BTreeSet::new();
    let mut unresolved = Unresolved::new();
    tu.cursor().visit(|c, _| {
        match c.kind() {
            Kind::InclusionDirective if c.included_file().is_none() => {
                let at = c.location();
                unresolved.insert((at.file.unwrap_or_default(), at.line), c.spelling());
            }
            Kind::FunctionDecl | Kind::VarDecl => {
                let name = c.spelling();
                if !is_ours(&c) {
                    f.host_decls.insert(name);
                    return Walk::Continue;
                }
                if c.location().file.as_deref() == Some(malloc_h.as_path()) {
                    f.public_decls.insert(name.clone());
                }
                // `int x;` at file scope is a (tentative) definition too.
                let tentative = c.kind() == Kind::VarDecl && !c.is_extern();
                if c.is_definition() || tentative {
                    if c.kind() == Kind::FunctionDecl {
                        f.functions.insert(name.clone());
                    }
                    // What the compiler keeps: external definitions, and
                    // constructors and destructors, whatever their linkage.
                    let attrs = attributes(&c);
                    if c.linkage() == Linkage::External
                        || attrs.contains("constructor")
                        || attrs.contains("destructor")
                    {
                        kept.insert(name.clone());
                    }
                    if c.linkage() == Linkage::External {
                        f.defined.insert(name.clone());
                        if attrs.contains("weak") {
                            f.weak.insert(name.clone());
                        }
                    }
                    collect_refs(&c, &name, &mut refs);
                }
            }
            Kind::StructDecl if is_ours(&c) && c.is_definition() => {
                let fields = f.structs.entry(c.spelling()).or_default();
                c.visit(|x, _| {
                    if x.kind() == Kind::FieldDecl {
                        fields.insert(x.spelling());
                    }
                    Walk::Continue
                });
            }
            Kind::MacroDefinition if is_ours(&c) && !c.is_macro_builtin() => {
                let name = c.spelling();
                if name == "TUNABLE_NAMESPACE" {
                    if let Some(ns) = c.tokens().get(1) {
                        f.tunable_namespaces.insert(format!("glibc.{ns}"));
                    }
                }
                f.macro_defs.insert(name);
            }
            Kind::MacroExpansion if is_ours(&c) => {
                let name = c.spelling();
                let file = c.location().file.unwrap_or_default();
                if let Some(def) = c.referenced() {
                    if let Some(def_file) = def.location().file {
                        if ours_path(&def_file) {
                            f.macros.insert((file.clone(), name.clone(), def_file));
                        }
                    }
                }
                if rules::ALIAS_MACROS.contains(&name.as_str()) {
                    // strong_alias ( target , alias )
                    if let Some(alias) = c.tokens().get(4) {
                        f.defined.insert(alias.clone());
                    }
                } else if name == "compat_symbol" {
                    // compat_symbol (lib, local, symbol, version)
                    if let Some(sym) = macro_args(&c.tokens()).get(2) {
                        f.compat.insert(sym.clone());
                    }
                } else if name.starts_with("TUNABLE_GET") {
                    // TUNABLE_GET_FULL (top, ns, id, ...) and the five-argument
                    // TUNABLE_GET (top, ns, id, type, cb) name their namespace.
                    let args = macro_args(&c.tokens());
                    if name == "TUNABLE_GET_FULL" || (name == "TUNABLE_GET" && args.len() == 5) {
                        if let [top, ns, ..] = args.as_slice() {
                            f.tunable_namespaces.insert(format!("{top}.{ns}"));
                        }
                    }
                }
            }
            _ => {}
        }
        Walk::Continue
    });
    // Diagnostics last: a missing header is known by its directive.
    for d in tu.diagnostics() {
        if d.severity() < Severity::Warning {
            continue;
        }
        let loc = d.location();
        let finding = classify(&d, &loc, &mut unresolved);
        let file = loc.file.unwrap_or_default();
        let line = loc.line;
        match finding {
            Finding::Missing(name) => f.missing.push((file, line, name)),
            Finding::Undeclared(name) => f.undeclared.push((file, line, name)),
            Finding::Ignore => {}
            Finding::Error { nested_function } => f.errors.push(CompileError {
                file,
                line,
                message: d.message(),
                nested_function,
            }),
        }
    }
    // A static function nobody live calls is dropped by the compiler, and so
    // are its references: glibc relies on that for link-time assertions such
    // as `__libc_mtag_link_error`, called only from static inlines that only
    // dead code calls. Needs are the undefined references of live code.
    let mut live: BTreeSet<&String> = kept.iter().collect();
    let mut queue: Vec<&String> = kept.iter().collect();
    while let Some(n) = queue.pop() {
        for (from, to, _) in refs.range((n.clone(), String::new(), false)..) {
            if from != n {
                break;
            }
            if live.insert(to) {
                queue.push(to);
            }
        }
    }
    for (from, to, undefined) in &refs {
        if *undefined && live.contains(from) && !f.defined.contains(to) {
            f.needs.insert((from.clone(), to.clone()));
        }
    }
    Ok(f)
}

/// The arguments of a function-like macro expansion from its tokens
/// (`NAME ( a , b c , d )` gives `["a", "b c", "d"]`).
fn macro_args(toks: &[String]) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut depth = 0;
    for t in toks.iter().skip(1) {
        match t.as_str() {
            "(" => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ")" => {
                depth -= 1;
                if depth == 0 {
                    args.push(cur.join(" "));
                    break;
                }
            }
            "," if depth == 1 => {
                args.push(cur.join(" "));
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(t);
    }
    args
}

/// Collects the functions and variables referenced in a definition's body
/// or initialiser. Branches whose condition is a compile-time constant are
/// followed only where they lead, as the compiler does: glibc relies on that
/// for link-time assertions such as `__atomic_link_error`, which it declares
/// and calls in dead branches but defines nowhere.
fn collect_refs(def: &Cursor, referrer: &str, out: &mut BTreeSet<(String, String, bool)>) {
    def.visit(|c, _| match c.kind() {
        Kind::DeclRefExpr => {
            note_ref(&c, referrer, out);
            Walk::Recurse
        }
        Kind::IfStmt | Kind::ConditionalOperator => {
            let kids = c.children();
            match kids.first().and_then(Cursor::evaluate_int) {
                Some(v) => {
                    let taken = if v != 0 { kids.get(1) } else { kids.get(2) };
                    if let Some(t) = taken {
                        note_ref(t, referrer, out);
                        collect_refs(t, referrer, out);
                    }
                    Walk::Continue
                }
                None => Walk::Recurse,
            }
        }
        _ => Walk::Recurse,
    });
}

/// Records a reference `c` from `referrer` to a function or variable, and
/// whether it is external and undefined in this TU (a candidate need).
/// Declarations clang made up (compiler builtins, anything `__builtin_`,
/// implicit declarations, which diagnostics report anyway) are not needs;
/// nor are weak references, optional by definition (`-z defs` accepts them
/// undefined).
fn note_ref(c: &Cursor, referrer: &str, out: &mut BTreeSet<(String, String, bool)>) {
    if c.kind() != Kind::DeclRefExpr {
        return;
    }
    let Some(r) = c.referenced() else { return };
    // Locals and parameters have no linkage and cannot be needs.
    if !matches!(r.kind(), Kind::FunctionDecl | Kind::VarDecl) || r.linkage() == Linkage::None {
        return;
    }
    let name = r.spelling();
    let undefined = r.linkage() == Linkage::External
        && r.definition().is_none()
        && r.location().file.is_some()
        && !name.starts_with("__builtin_")
        && !r.starts_at_its_name()
        && !attributes(&r).contains("weak");
    if r.linkage() == Linkage::External && !undefined && r.definition().is_none() {
        return;
    }
    out.insert((referrer.to_owned(), name, undefined));
}

/// The functions the host's own `<malloc.h>` declares: the allocator API a
/// program built on this host may call. Also the host headers read.
pub(crate) fn host_malloc_api(
    index: &Index,
    scratch: &Path,
) -> Result<(BTreeSet<String>, BTreeSet<PathBuf>), ResolveError> {
    let probe = scratch.join("host-malloc-api.c");
    std::fs::write(&probe, "#include <malloc.h>\n").map_err(io(&probe))?;
    let args: Vec<String> = ["-x", "c", "-std=gnu11", "-D_GNU_SOURCE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let tu = index.parse(&probe, &args)?;
    let mut out = BTreeSet::new();
    tu.cursor().visit(|c, _| {
        if c.kind() == Kind::FunctionDecl
            && c.location()
                .file
                .is_some_and(|f| f.file_name().is_some_and(|n| n == "malloc.h"))
        {
            out.insert(c.spelling());
        }
        Walk::Continue
    });
    let headers = tu
        .inclusions()
        .into_iter()
        .filter(|i| i.includer.is_some())
        .map(|i| i.file.canonicalize().unwrap_or(i.file))
        .collect();
    let _ = std::fs::remove_file(&probe);
    Ok((out, headers))
}

/// The files `__has_include` finds for the build's own `files` (glibc's,
/// shims, stubs), resolved exactly as the compiler resolves them: a probe
/// translation unit `#include`s each target under `#if __has_include`, with
/// the build's arguments, and libclang reports what it found where.
/// Returns (probing file, line, file found).
pub(crate) fn probe_has_include(
    index: &Index,
    args: &[String],
    scratch: &Path,
    roots: &Roots,
    files: &BTreeSet<PathBuf>,
) -> Result<Vec<(PathBuf, u32, PathBuf)>, ResolveError> {
    let pattern =
        regex::Regex::new(r#"__has_include\s*\(\s*(<[^>]+>|"[^"]+")\s*\)"#).expect("valid regex");
    // (spelled target) -> where it is probed
    let mut wanted: BTreeMap<String, Vec<(PathBuf, u32)>> = BTreeMap::new();
    for file in files {
        if roots.classify(file).0 == FileClass::Host {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for cap in pattern.captures_iter(line) {
                let spelled = cap[1].to_owned();
                // A quoted name is looked up next to its file first.
                if let Some(q) = spelled.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    let beside = file.parent().unwrap_or(Path::new(".")).join(q);
                    if beside.is_file() {
                        continue;
                    }
                }
                wanted
                    .entry(spelled.replace('"', "").replace(['<', '>'], ""))
                    .or_default()
                    .push((file.clone(), n as u32 + 1));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let probe = scratch.join("has-include-probe.c");
    let mut text = String::new();
    for name in wanted.keys() {
        text.push_str(&format!(
            "#if __has_include(<{name}>)\n#include <{name}>\n#endif\n"
        ));
    }
    std::fs::write(&probe, text).map_err(io(&probe))?;
    let tu = index.parse(&probe, args)?;
    let mut out = Vec::new();
    let probe_canon = probe.canonicalize().unwrap_or(probe.clone());
    for inc in tu.inclusions() {
        let Some((from, line)) = inc.includer else {
            continue;
        };
        if from.canonicalize().unwrap_or(from) != probe_canon {
            continue;
        }
        // Line 3k+2 of the probe includes the k-th name.
        let Some(name) = wanted.keys().nth(((line as usize).saturating_sub(2)) / 3) else {
            continue;
        };
        if roots.classify(&inc.file).0 != FileClass::Verbatim {
            continue;
        }
        for (file, l) in &wanted[name] {
            out.push((file.clone(), *l, inc.file.clone()));
        }
    }
    let _ = std::fs::remove_file(&probe);
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `malloc/t.c` of a tree holding `files`, with the project's
    /// flags but no include configuration.
    fn facts(files: &[(&str, &str)]) -> TuFacts {
        let tree = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = tree.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let roots = Roots::new(tree.path(), project.path()).unwrap();
        let mut args: Vec<String> = vec!["-x".into(), "c".into(), "-ferror-limit=0".into()];
        args.extend(policy::CFLAGS.iter().map(|s| s.to_string()));
        let index = Index::new().unwrap();
        parse(&index, &roots.tree.join("malloc/t.c"), &args, &roots).unwrap()
    }

    fn names<'a>(v: impl IntoIterator<Item = &'a (PathBuf, u32, String)>) -> Vec<(u32, &'a str)> {
        v.into_iter().map(|(_, l, n)| (*l, n.as_str())).collect()
    }

    #[test]
    fn diagnostics_are_classified_by_what_they_point_at() {
        let f = facts(&[(
            "malloc/t.c",
            "#include \"gone.h\"\n\
                 #define PASTE(a) tun_##a\n\
                 #define HEADER <nested/gone.h>\n\
                 #include HEADER\n\
                 int f (void)\n\
                 {\n\
                 \x20 int r = undeclared_fn (3);\n\
                 \x20 r += undeclared_var;\n\
                 \x20 r += PASTE (id);\n\
                 \x20 __builtin_add_overflow_p (1, 2, (int) 0);\n\
                 \x20 memcpy (0, 0, 0);\n\
                 \x20 int inner (int x) { return x; }\n\
                 \x20 return r.x;\n\
                 }\n",
        )]);
        assert_eq!(names(&f.missing), [(1, "gone.h"), (4, "nested/gone.h")]);
        // Not the GCC builtin libclang lacks, nor the C library function
        // clang knows.
        assert_eq!(
            names(&f.undeclared),
            [(7, "undeclared_fn"), (8, "undeclared_var"), (9, "tun_id")]
        );
        let errors: Vec<(u32, bool)> = f
            .errors
            .iter()
            .map(|e| (e.line, e.nested_function))
            .collect();
        assert_eq!(errors, [(12, true), (13, false)], "{:?}", f.errors);
    }

    #[test]
    fn attributes_are_read_off_attribute_cursors() {
        let f = facts(&[(
            "malloc/t.c",
            "#define weak_function __attribute__ ((weak))\n\
                 #define attribute_ctor __attribute__ ((__constructor__))\n\
                 #define strong_alias(name, aliasname) \\\n\
                 \x20 extern __typeof (name) aliasname __attribute__ ((alias (#name)));\n\
                 extern void ext (void);\n\
                 extern void ext_weak (void) weak_function;\n\
                 extern void ext_from_ctor (void);\n\
                 extern void ext_from_dead (void);\n\
                 extern void inherits (void) __attribute__ ((weak));\n\
                 void inherits (void) { ext (); ext_weak (); }\n\
                 void __attribute__ ((weak)) own (void) { }\n\
                 void body (void) { extern int q __attribute__ ((weak)); (void) q; }\n\
                 static void attribute_ctor init (void) { ext_from_ctor (); }\n\
                 static void dead (void) { ext_from_dead (); }\n\
                 void __impl (void) { }\n\
                 strong_alias (__impl, real)\n",
        )]);
        let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            f.defined,
            set(&["__impl", "body", "inherits", "own", "real"])
        );
        // An attribute inherited from an earlier declaration counts (GCC
        // makes the definition weak); one inside a body is not the function's.
        assert_eq!(f.weak, set(&["inherits", "own"]));
        // A constructor is kept although static, and so what it calls is
        // needed; a dead static function's calls are not; a weak
        // declaration is no need.
        let needs: BTreeSet<&str> = f.needs.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(needs, ["ext", "ext_from_ctor"].into());
    }

    #[test]
    fn a_header_found_by_a_probe_is_reported_where_it_is_probed() {
        let tree = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        for (path, text) in [
            (
                "malloc/t.c",
                "#if __has_include (<here.h>)\n#endif\n#if __has_include (<nowhere.h>)\n#endif\n",
            ),
            ("include/here.h", ""),
        ] {
            let p = tree.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let roots = Roots::new(tree.path(), project.path()).unwrap();
        let args: Vec<String> = vec![
            "-x".into(),
            "c".into(),
            "-idirafter".into(),
            roots.tree.join("include").display().to_string(),
        ];
        let index = Index::new().unwrap();
        let t = roots.tree.join("malloc/t.c");
        let probes =
            probe_has_include(&index, &args, project.path(), &roots, &[t.clone()].into()).unwrap();
        assert_eq!(probes, [(t, 1, roots.tree.join("include/here.h"))]);
    }

    #[test]
    fn macro_arguments() {
        let t = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            macro_args(&t(
                "TUNABLE_GET ( glibc , mem , decorate_maps , int32_t , NULL )"
            )),
            ["glibc", "mem", "decorate_maps", "int32_t", "NULL"]
        );
        assert_eq!(
            macro_args(&t("F ( a ( b , c ) , d )")),
            ["a ( b , c )", "d"]
        );
    }
}
