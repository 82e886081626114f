//! The convergence loop: parse every translation unit the allocator needs
//! with our include configuration, ask the rules who provides each missing
//! symbol, add translation units and symbol mappings, and parse again until
//! nothing changes. The result is a [`Manifest`] and the [`Graph`] that
//! explains it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::clang::{self, Cursor, Index, Kind, Linkage, Severity, Walk};
use crate::graph::{Edge, FileClass, Graph, Node};
use crate::rules::{self, Decision, Facts, Need, Roots};
use crate::sysdeps::{self, Target};
use manifest::{
    self, BuildOption, Export, Flags, IncludeDir, Manifest, Origin, PinnedFile, Provider, Symbol,
    TranslationUnit, Tunable,
};

/// The file the build generates from the manifest's tunables (see
/// [`manifest::tunables_header`]); the parse uses the same text.
pub const GENERATED_DIR: &str = "gen";

/// The compile flags every translation unit gets (glibc's own warnings and
/// code-generation choices that matter outside its build system).
pub const CFLAGS: &[&str] = &[
    "-fPIC",
    "-std=gnu11",
    "-pthread",
    "-O2",
    "-g",
    "-Wall",
    "-Wextra",
    "-Wimplicit-function-declaration",
    "-ftls-model=initial-exec",
    "-fno-common",
    "-fmerge-all-constants",
    "-frounding-math",
];

/// What `--debug` builds use instead of `-O2 -g`.
pub const DEBUG_CFLAGS: &[&str] = &["-O0", "-g3"];

/// Link flags (the builder adds the soname and the version script).
pub const LDFLAGS: &[&str] = &[
    "-shared",
    "-pthread",
    "-Wl,-z,defs",
    "-Wl,-z,relro",
    "-Wl,-z,now",
];

/// The `since` of an export that bridges host API the version lacks.
pub const BRIDGE: &str = "bridge";

/// Compatibility symbols exported anyway, for experiments: the main arena's
/// growth function as glibc had it up to 2.33 (stubs/morecore.c makes
/// every version's allocator use it).
pub const EXPERIMENT_EXPORTS: &[&str] = &["__morecore", "__default_morecore"];

/// The functions the host's own `<malloc.h>` declares: the allocator API a
/// program built on this host may call. Also the host headers read.
fn host_malloc_api(
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

/// Errors from resolution.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Clang(#[from] clang::ClangError),
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
    #[error(transparent)]
    Tunables(#[from] crate::tunables::TunablesError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The tree has configure add-ons with sysdeps of their own.
    #[error(
        "glibc {version} cannot be resolved: {} keep(s) sysdeps directories of its own \
         ({}), which glibc's configure searches before the main tree's (add-ons, up to \
         2.19) and this resolver does not; without them malloc would be compiled against the \
         generic, thread-less malloc-machine.h. Use glibc 2.20 or later",
        .add_ons.join(", "),
        .add_ons.iter().map(|a| format!("{a}/sysdeps")).collect::<Vec<_>>().join(", ")
    )]
    AddOns {
        version: String,
        add_ons: Vec<String>,
    },
    #[error(
        "glibc {version}: still changing after {iters} iterations (--max-iters); \
         last iteration added: {added}"
    )]
    NoConvergence {
        version: String,
        iters: usize,
        added: String,
    },
    #[error("glibc {version}: resolution converged but {} problem(s) remain:\n{}", .problems.len(), .problems.join("\n"))]
    Unresolved {
        version: String,
        problems: Vec<String>,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ResolveError + '_ {
    move |source| ResolveError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A source tree to resolve.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    pub root: PathBuf,
    pub version: String,
    pub origin: Origin,
    pub gnu: Option<manifest::GnuRelease>,
}

impl SourceInfo {
    /// What the resolver needs to know of a fetched or opened source; the
    /// GNU release is recorded where its hash is pinned.
    pub fn of(s: &source::GlibcSource) -> SourceInfo {
        SourceInfo {
            root: s.root.clone(),
            version: s.version.clone(),
            origin: s.origin.clone(),
            gnu: source::fetch::gnu_sha256(&s.version).map(|sha| manifest::GnuRelease {
                url: format!("{}/glibc-{}.tar.xz", source::fetch::GNU_BASE_URL, s.version),
                sha256: sha.to_owned(),
            }),
        }
    }
}

/// Resolution settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// The project root holding `shims/` and `stubs/`.
    pub project: PathBuf,
    /// Upper bound on parse-and-decide rounds.
    pub max_iters: usize,
    pub target: Target,
}

/// A finished resolution.
pub struct Resolution {
    pub manifest: Manifest,
    pub graph: Graph,
    pub iterations: usize,
}

/// What one parse of one translation unit told us.
#[derive(Default)]
struct TuFacts {
    /// External symbols this TU defines (definitions and aliases).
    defined: BTreeSet<String>,
    /// Those of `defined` that are weak definitions. In a stub, a weak
    /// definition is a fallback: it provides a symbol only where no glibc
    /// file of the build does (the linker lets a strong definition win).
    weak: BTreeSet<String>,
    /// Every function defined, any linkage (for feature detection).
    functions: BTreeSet<String>,
    /// External symbols referenced but not defined here: (referrer, name).
    needs: BTreeSet<(String, String)>,
    /// Names declared by host system headers.
    host_decls: BTreeSet<String>,
    /// Names declared by the version's public malloc.h.
    public_decls: BTreeSet<String>,
    /// Files included: (includer, line, included).
    includes: Vec<(PathBuf, u32, PathBuf)>,
    /// Headers not found: (includer, line, spelled name).
    missing: Vec<(PathBuf, u32, String)>,
    /// Identifiers used without a declaration (implicit or undeclared): (file, line, name).
    undeclared: Vec<(PathBuf, u32, String)>,
    /// Other errors: (file, line, message).
    errors: Vec<(PathBuf, u32, String)>,
    /// Macro expansions of project/glibc macros: (file, macro, defining file).
    macros: BTreeSet<(PathBuf, String, PathBuf)>,
    /// Macros defined in glibc or shim files.
    macro_defs: BTreeSet<String>,
    /// Symbols only defined as compatibility symbols (`compat_symbol`): old
    /// binaries may bind them, new programs cannot link them.
    compat: BTreeSet<String>,
    /// Tunable namespaces read: `glibc.<TUNABLE_NAMESPACE>` and the
    /// `top.namespace` of every `TUNABLE_GET_FULL`.
    tunable_namespaces: BTreeSet<String>,
    /// struct name -> field names, for glibc-defined structs.
    structs: BTreeMap<String, BTreeSet<String>>,
}

/// The parse configuration for one iteration.
struct ParseConfig {
    args: Vec<String>,
    /// The directory of generated headers.
    gen: PathBuf,
}

fn parse_args(
    roots: &Roots,
    sysdeps: &[String],
    gen: &Path,
    defines: &BTreeMap<String, String>,
) -> Vec<String> {
    // Report every error, not the first twenty.
    let mut a: Vec<String> = vec!["-x".into(), "c".into(), "-ferror-limit=0".into()];
    a.extend(CFLAGS.iter().filter(|f| **f != "-g").map(|s| s.to_string()));
    a.push("-include".into());
    a.push(roots.project.join("shims/prelude.h").display().to_string());
    a.push("-I".into());
    a.push(roots.project.join("shims").display().to_string());
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

/// Names a diagnostic refers to in quotes, e.g. `'foo.h' file not found`.
fn quoted(msg: &str) -> Option<String> {
    let start = msg.find('\'')? + 1;
    let end = start + msg[start..].find('\'')?;
    Some(msg[start..end].to_owned())
}

fn parse_tu(
    index: &Index,
    path: &Path,
    cfg: &ParseConfig,
    roots: &Roots,
) -> Result<TuFacts, ResolveError> {
    let tu = index.parse(path, &cfg.args)?;
    let mut f = TuFacts::default();
    let malloc_h = roots.tree.join("malloc/malloc.h");
    for inc in tu.inclusions() {
        if let Some((includer, line)) = inc.includer {
            f.includes.push((includer, line, inc.file));
        }
    }
    for d in tu.diagnostics() {
        if d.severity < Severity::Warning {
            continue;
        }
        let file = d.location.file.clone().unwrap_or_default();
        let line = d.location.line;
        if d.message.ends_with("file not found") {
            f.missing
                .push((file, line, quoted(&d.message).unwrap_or(d.message.clone())));
        } else if d.message.starts_with("implicit declaration of function")
            || d.message.starts_with("use of undeclared identifier")
            || d.message.starts_with("call to undeclared function")
        {
            if let Some(name) = quoted(&d.message) {
                f.undeclared.push((file, line, name));
            }
        } else if d.message.starts_with("use of unknown builtin") {
            // A GCC builtin libclang does not know (e.g. 2.42's
            // `__builtin_add_overflow_p`): the compiler that builds is GCC,
            // and it is no symbol anyone must provide.
        } else if d.severity >= Severity::Error {
            f.errors.push((file, line, d.message.clone()));
        }
    }
    // Where a cursor is spelled decides whose it is: glibc's tree, our
    // project (shims, stubs, the generated header) or the host. (libclang's
    // "system header" will not do: -idirafter makes glibc's headers system
    // headers too.)
    let ours_path = |p: &Path| {
        p.starts_with(&roots.tree) || p.starts_with(&roots.project) || p.starts_with(&cfg.gen)
    };
    let is_ours = |c: &Cursor| -> bool { c.location().file.is_some_and(|p| ours_path(&p)) };
    // Every reference between definitions (referrer, referenced, external
    // and undefined here?), and the definitions the compiler must keep.
    let mut refs: BTreeSet<(String, String, bool)> = BTreeSet::new();
    let mut roots: BTreeSet<String> = BTreeSet::new();
    let root = tu.cursor();
    root.visit(|c, _| {
        match c.kind() {
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
                    let pretty = c.pretty();
                    if c.linkage() == Linkage::External
                        || pretty.contains("__attribute__((constructor")
                        || pretty.contains("__attribute__((destructor")
                    {
                        roots.insert(name.clone());
                    }
                    if c.linkage() == Linkage::External {
                        f.defined.insert(name.clone());
                        if pretty.contains("__attribute__((weak))") {
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
                    if let Some(ns) = tu.tokens(&c).get(1) {
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
                    let toks = tu.tokens(&c);
                    if let Some(alias) = toks.get(4) {
                        f.defined.insert(alias.clone());
                    }
                } else if name == "compat_symbol" {
                    // compat_symbol (lib, local, symbol, version)
                    if let Some(sym) = macro_args(&tu.tokens(&c)).get(2) {
                        f.compat.insert(sym.clone());
                    }
                } else if name.starts_with("TUNABLE_GET") {
                    // TUNABLE_GET_FULL (top, ns, id, ...) and the five-argument
                    // TUNABLE_GET (top, ns, id, type, cb) name their namespace.
                    let args = macro_args(&tu.tokens(&c));
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
    // A static function nobody live calls is dropped by the compiler, and so
    // are its references: glibc relies on that for link-time assertions such
    // as `__libc_mtag_link_error`, called only from static inlines that only
    // dead code calls. Needs are the undefined references of live code.
    let mut live: BTreeSet<&String> = roots.iter().collect();
    let mut queue: Vec<&String> = roots.iter().collect();
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
        && !r.pretty().contains("__attribute__((weak))");
    if r.linkage() == Linkage::External && !undefined && r.definition().is_none() {
        return;
    }
    out.insert((referrer.to_owned(), name, undefined));
}

fn sha256_file(path: &Path) -> Result<String, ResolveError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Public, non-private names of `malloc/Versions`, with their symbol version.
fn versions_file(root: &Path) -> Result<BTreeMap<String, String>, ResolveError> {
    let path = root.join("malloc/Versions");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let mut toks: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let spaced = line
            .replace('{', " { ")
            .replace('}', " } ")
            .replace(';', " ");
        toks.extend(spaced.split_whitespace().map(str::to_owned));
    }
    let mut out = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.as_str() {
            "{" => {}
            "}" => {
                stack.pop();
            }
            _ if toks.get(i + 1).map(String::as_str) == Some("{") => stack.push(t.clone()),
            _ => {
                if let [lib, ver] = stack.as_slice() {
                    if lib == "libc" && ver.starts_with("GLIBC_2") {
                        out.entry(t.clone()).or_insert_with(|| ver.clone());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Runs the convergence loop on one source tree.
pub fn resolve(src: &SourceInfo, opts: &Options) -> Result<Resolution, ResolveError> {
    clang::load()?;
    let host = crate::host::HostLibc::detect()?;
    let mut roots = Roots::new(&src.root, &opts.project).map_err(io(&src.root))?;
    let add_ons = sysdeps::add_ons_with_sysdeps(&roots.tree);
    if !add_ons.is_empty() {
        return Err(ResolveError::AddOns {
            version: src.version.clone(),
            add_ons,
        });
    }
    let chain = sysdeps::chain(&roots.tree, &opts.target);

    let tl_path = roots.tree.join("elf/dl-tunables.list");
    let all_tunables = match std::fs::read_to_string(&tl_path) {
        Ok(text) => crate::tunables::parse(&text, "elf/dl-tunables.list")?,
        Err(_) => Vec::new(),
    };
    // The generated tunables header is part of the loop's state: it holds the
    // tunables of the namespaces the allocator reads, which the first round
    // finds out; the build regenerates the same text from the manifest.
    let gen_dir = tempfile::tempdir().map_err(io(Path::new("temporary directory")))?;
    roots.generated = Some(gen_dir.path().canonicalize().map_err(io(gen_dir.path()))?);
    let mut tunables: Vec<Tunable> = Vec::new();

    let index = Index::new()?;
    // What a default `configure` run decides (config.h), then the symbol
    // mappings the loop adds.
    let configured = crate::configure::defaults(&roots.tree);
    let mut defines: BTreeMap<String, String> = configured.clone();
    let mut tus: Vec<TranslationUnit> = vec![TranslationUnit::Glibc {
        path: "malloc/malloc.c".into(),
    }];
    let stub_files = list_stubs(&roots.project)?;
    let mut exports_wanted = versions_file(&roots.tree)?;
    // The host's allocator API that this version lacks (2.31 has no
    // mallinfo2): a program calling it would reach the host's own, idle
    // allocator, so a stub must bridge it to this version's allocator.
    let (host_api, host_api_headers) = host_malloc_api(&index, gen_dir.path())?;
    let bridges: BTreeSet<String> = host_api
        .into_iter()
        .filter(|n| !exports_wanted.contains_key(n) && host.exports(n))
        .collect();
    for b in &bridges {
        exports_wanted.insert(b.clone(), BRIDGE.into());
    }

    let glibc_files = rules::GlibcFiles::new(&roots.tree, &chain, "malloc");
    let mut iterations = 0;
    let (facts, stub_facts) = loop {
        iterations += 1;
        let header = gen_dir.path().join(manifest::TUNABLES_HEADER);
        std::fs::write(&header, manifest::tunables_header(&tunables)).map_err(io(&header))?;
        let cfg = ParseConfig {
            args: parse_args(
                &roots,
                &chain,
                &roots.generated.clone().unwrap_or_default(),
                &defines,
            ),
            gen: roots.generated.clone().unwrap_or_default(),
        };
        let mut facts: BTreeMap<String, TuFacts> = BTreeMap::new();
        for tu in &tus {
            let path = tu_path(&roots, tu);
            facts.insert(tu.path().to_owned(), parse_tu(&index, &path, &cfg, &roots)?);
        }
        let mut stub_facts: BTreeMap<String, TuFacts> = BTreeMap::new();
        for s in &stub_files {
            if let Some(f) = facts.remove(s) {
                stub_facts.insert(s.clone(), f);
            } else {
                let p = roots.project.join(s);
                stub_facts.insert(s.clone(), parse_tu(&index, &p, &cfg, &roots)?);
            }
        }
        // Put stub facts of TUs in the build back in `facts`.
        for tu in &tus {
            if let TranslationUnit::Stub { path } = tu {
                if let Some(f) = stub_facts.remove(path) {
                    facts.insert(path.clone(), f);
                }
            }
        }

        // What decides a need: glibc's definitions, and stubs' strong ones.
        let is_stub = |path: &str| {
            tus.iter()
                .any(|t| t.path() == path && matches!(t, TranslationUnit::Stub { .. }))
        };
        let defined: BTreeSet<String> = facts
            .iter()
            .flat_map(|(path, f)| {
                let stub = is_stub(path);
                f.defined
                    .iter()
                    .filter(move |n| !stub || !f.weak.contains(*n))
                    .cloned()
            })
            .collect();
        let glibc_defined: BTreeSet<String> = tus
            .iter()
            .filter(|t| matches!(t, TranslationUnit::Glibc { .. }))
            .flat_map(|t| facts[t.path()].defined.iter().cloned())
            .collect();
        let host_decls: BTreeSet<String> = facts
            .values()
            .chain(stub_facts.values())
            .flat_map(|f| f.host_decls.iter().cloned())
            .collect();
        let stubs_index: BTreeMap<String, String> = stub_facts
            .iter()
            .flat_map(|(p, f)| {
                f.defined
                    .difference(&f.weak)
                    .map(move |n| (n.clone(), p.clone()))
            })
            .collect();
        let glibc_file = |n: &str| glibc_files.find(n);
        let rule_facts = Facts {
            defined: &defined,
            stubs: &stubs_index,
            host_exports: &host.public,
            host_decls: &host_decls,
            glibc_file: &glibc_file,
        };

        let mut needed: BTreeSet<String> = facts
            .values()
            .flat_map(|f| f.needs.iter().map(|(_, n)| n.clone()))
            .collect();
        needed.extend(
            facts
                .values()
                .flat_map(|f| f.undeclared.iter().map(|(_, _, n)| n.clone())),
        );
        // The public API the version's malloc.h declares must be defined too,
        // and so must the host's allocator API that the version lacks.
        let api: BTreeSet<String> = facts
            .values()
            .flat_map(|f| f.public_decls.iter())
            .filter(|n| exports_wanted.contains_key(*n))
            .chain(&bridges)
            .cloned()
            .collect();
        needed.extend(api.iter().cloned());

        let undeclared: BTreeSet<&String> = facts
            .values()
            .flat_map(|f| f.undeclared.iter().map(|(_, _, n)| n))
            .collect();
        let mut added = Vec::new();
        for name in &needed {
            let need = if bridges.contains(name) {
                Need::Bridge
            } else if api.contains(name) {
                Need::Api
            } else if undeclared.contains(name) {
                Need::Undeclared
            } else {
                Need::Use
            };
            match rules::decide(name, need, &rule_facts) {
                Decision::Stub(file) => {
                    push_tu(&mut tus, TranslationUnit::Stub { path: file }, &mut added)
                }
                Decision::Glibc(file) => {
                    push_tu(&mut tus, TranslationUnit::Glibc { path: file }, &mut added)
                }
                Decision::Mapped(to) => {
                    if defines.insert(name.clone(), to.clone()).is_none() {
                        added.push(format!("-D{name}={to}"));
                    }
                }
                Decision::Defined | Decision::Host | Decision::Unresolved => {}
            }
        }
        // Stubs that hook into the allocator (they reference what it defines)
        // come along, unless they would define what glibc's files already do.
        // A stub that defines allocator API (a bridge) joins only as the
        // bridge a need asks for.
        for (path, f) in &stub_facts {
            if f.needs.iter().any(|(_, n)| glibc_defined.contains(n))
                && !f
                    .defined
                    .difference(&f.weak)
                    .any(|n| glibc_defined.contains(n) || exports_wanted.contains_key(n))
            {
                push_tu(
                    &mut tus,
                    TranslationUnit::Stub { path: path.clone() },
                    &mut added,
                );
            }
        }
        let namespaces: BTreeSet<&String> = tus
            .iter()
            .filter(|t| matches!(t, TranslationUnit::Glibc { .. }))
            .filter_map(|t| facts.get(t.path()))
            .flat_map(|f| &f.tunable_namespaces)
            .collect();
        let wanted: Vec<Tunable> = all_tunables
            .iter()
            .filter(|t| {
                namespaces
                    .iter()
                    .any(|ns| t.name.starts_with(&format!("{ns}.")))
            })
            .cloned()
            .collect();
        if wanted != tunables {
            added.push(format!(
                "{} ({} tunables)",
                manifest::TUNABLES_HEADER,
                wanted.len()
            ));
            tunables = wanted;
        }
        if added.is_empty() {
            break (facts, stub_facts);
        }
        if iterations >= opts.max_iters {
            return Err(ResolveError::NoConvergence {
                version: src.version.clone(),
                iters: iterations,
                added: added.join(", "),
            });
        }
    };
    let _ = stub_facts;
    let args = parse_args(
        &roots,
        &chain,
        &roots.generated.clone().unwrap_or_default(),
        &defines,
    );
    let probes = probe_has_include(&index, &args, gen_dir.path(), &roots, &facts, &tus)?;

    let mut resolution = finish(
        src,
        probes,
        &roots,
        &host,
        chain,
        tunables,
        defines,
        &configured,
        tus,
        facts,
        exports_wanted,
        iterations,
    )?;
    // What the plan took from the host: its libc, and every host header
    // read (the parse's and the <malloc.h> probe's).
    let host_headers: BTreeSet<PathBuf> = resolution
        .graph
        .nodes()
        .filter_map(|n| match n {
            Node::File {
                path,
                class: FileClass::Host,
            } => Some(PathBuf::from(path)),
            _ => None,
        })
        .chain(host_api_headers)
        .collect();
    resolution.manifest.host = Some(host.fingerprint(&host_headers)?);
    Ok(resolution)
}

/// The files `__has_include` finds for the build's own files (glibc's,
/// shims, stubs), resolved exactly as the compiler resolves them: a probe
/// translation unit `#include`s each target under `#if __has_include`, with
/// the build's arguments, and libclang reports what it found where.
/// Returns (probing file, line, file found).
fn probe_has_include(
    index: &Index,
    args: &[String],
    scratch: &Path,
    roots: &Roots,
    facts: &BTreeMap<String, TuFacts>,
    tus: &[TranslationUnit],
) -> Result<Vec<(PathBuf, u32, PathBuf)>, ResolveError> {
    let pattern =
        regex::Regex::new(r#"__has_include\s*\(\s*(<[^>]+>|"[^"]+")\s*\)"#).expect("valid regex");
    let mut files: BTreeSet<PathBuf> = tus.iter().map(|t| tu_path(roots, t)).collect();
    for f in facts.values() {
        files.extend(f.includes.iter().map(|(_, _, inc)| inc.clone()));
    }
    // (spelled target) -> where it is probed
    let mut wanted: BTreeMap<String, Vec<(PathBuf, u32)>> = BTreeMap::new();
    for file in &files {
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

fn push_tu(tus: &mut Vec<TranslationUnit>, tu: TranslationUnit, added: &mut Vec<String>) {
    if !tus.contains(&tu) {
        added.push(tu.path().to_owned());
        tus.push(tu);
    }
}

fn tu_path(roots: &Roots, tu: &TranslationUnit) -> PathBuf {
    match tu {
        TranslationUnit::Glibc { path } => roots.tree.join(path),
        TranslationUnit::Stub { path } => roots.project.join(path),
    }
}

fn list_stubs(project: &Path) -> Result<Vec<String>, ResolveError> {
    let dir = project.join("stubs");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map_err(io(&dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".c"))
        .map(|n| format!("stubs/{n}"))
        .collect();
    out.sort();
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    src: &SourceInfo,
    probes: Vec<(PathBuf, u32, PathBuf)>,
    roots: &Roots,
    host: &crate::host::HostLibc,
    chain: Vec<String>,
    tunables: Vec<Tunable>,
    defines: BTreeMap<String, String>,
    configured: &BTreeMap<String, String>,
    tus: Vec<TranslationUnit>,
    facts: BTreeMap<String, TuFacts>,
    exports_wanted: BTreeMap<String, String>,
    iterations: usize,
) -> Result<Resolution, ResolveError> {
    let mut graph = Graph::default();
    let mut problems = Vec::new();
    let file_node = |g: &mut Graph, p: &Path| {
        let (class, shown) = roots.classify(p);
        g.node(Node::File { path: shown, class })
    };

    // Files the build only asks about (`__has_include`) decide what it
    // compiles as much as included ones: pin and stage them too.
    for (from, line, found) in &probes {
        let a = file_node(&mut graph, from);
        let b = file_node(&mut graph, found);
        graph.edge(a, b, Edge::Probes { line: *line });
    }
    for tu in &tus {
        let f = &facts[tu.path()];
        let tu_node = file_node(&mut graph, &tu_path(roots, tu));
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
        for (file, line, msg) in &f.errors {
            let (class, shown) = roots.classify(file);
            let mut p = format!("{shown}:{line}: error: {msg}");
            if msg == "function definition is not allowed here" {
                // GCC compiles it, but what it uses stays unseen.
                p.push_str(
                    " (a nested function, a GCC extension libclang does not parse: the \
                     resolver cannot see what it needs, so the version cannot be resolved)",
                );
            }
            if seen_files.insert(file.clone()) {
                let n = graph.node(Node::File { path: shown, class });
                p.push_str(&format!("\n  why: {}", graph.why(n).join("\n      ")));
            }
            problems.push(p);
        }
    }

    // Every needed symbol's provider.
    let defined: BTreeSet<String> = facts
        .values()
        .flat_map(|f| f.defined.iter().cloned())
        .collect();
    let mut symbols: BTreeMap<String, Provider> = BTreeMap::new();
    let definer = |name: &str| -> Option<&TranslationUnit> {
        tus.iter().find(|t| facts[t.path()].defined.contains(name))
    };
    // name -> places it is used without a declaration (empty: declared).
    let mut needed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in facts.values() {
        for (_, n) in &f.needs {
            needed.entry(n.clone()).or_default();
        }
        for (file, line, n) in &f.undeclared {
            let at = format!("{}:{line}", roots.classify(file).1);
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
        if let Some(to) = defines.get(name) {
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
        } else if host.exports(name) {
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
    // Every bridge must be defined by a stub.
    for (n, since) in &exports_wanted {
        if since == BRIDGE && !defined.contains(n) {
            problems.push(format!(
                "`{n}` is allocator API of the host's <malloc.h> that glibc {} lacks; add a stub \
                 that defines it on top of this version's allocator, or programs calling it reach \
                 the host's own malloc",
                src.version
            ));
        }
    }
    // The version's public API must be defined by the build itself.
    for f in facts.values() {
        for n in f
            .public_decls
            .iter()
            .filter(|n| exports_wanted.contains_key(*n))
        {
            if !defined.contains(n) {
                problems.push(format!(
                    "`{n}` is public API of this version (malloc/Versions, malloc/malloc.h) but \
                     no glibc file or stub in the build defines it"
                ));
            }
        }
    }
    for (name, to) in defines.iter().filter(|(n, _)| !configured.contains_key(*n)) {
        symbols
            .entry(name.clone())
            .or_insert(Provider::Mapped { to: to.clone() });
    }
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        return Err(ResolveError::Unresolved {
            version: src.version.clone(),
            problems,
        });
    }

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
    shims.insert("shims/prelude.h".to_string());
    let pin = |root: &Path, set: &BTreeSet<String>| -> Result<Vec<PinnedFile>, ResolveError> {
        set.iter()
            .map(|p| {
                Ok(PinnedFile {
                    path: p.clone(),
                    sha256: sha256_file(&root.join(p))?,
                })
            })
            .collect()
    };

    // Include directories that supplied at least one file, in chain order.
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
    let mut include_order = vec![
        IncludeDir::ForceInclude {
            path: "shims/prelude.h".into(),
        },
        IncludeDir::Shims {
            path: "shims".into(),
        },
        IncludeDir::Generated {
            path: GENERATED_DIR.into(),
        },
        IncludeDir::Host,
    ];
    if used_dir("include") {
        include_order.push(IncludeDir::Glibc {
            path: "include".into(),
        });
    }
    for d in &chain {
        if used_dir(d) {
            include_order.push(IncludeDir::Glibc { path: d.clone() });
        }
    }
    include_order.push(IncludeDir::Glibc {
        path: String::new(),
    });

    // Exports: the version's public names that the build defines, except
    // compatibility-only symbols (no program built for this version can link
    // them) other than those kept for experiments.
    let compat: BTreeSet<&String> = facts.values().flat_map(|f| &f.compat).collect();
    let exports: Vec<Export> = exports_wanted
        .iter()
        .filter(|(n, _)| {
            defined.contains(*n)
                && (!compat.contains(n) || EXPERIMENT_EXPORTS.contains(&n.as_str()))
        })
        .map(|(n, v)| Export {
            name: n.clone(),
            since: v.clone(),
        })
        .collect();

    let features = detect_features(&facts, &exports, &tunables);
    let options = build_options(&src.version, &features, &defined, &exports, &exports_wanted);
    // The options' files are pinned with the other stubs (the resolver
    // does not parse them: they join only builds that ask for them).
    for o in options.values() {
        for tu in &o.translation_units {
            stubs.insert(tu.path().to_string());
        }
    }
    if options.contains_key("trace") {
        stubs.insert(OPTION_TRACE_HEADER.to_string());
    }

    let manifest = Manifest {
        schema: manifest::SCHEMA,
        version: src.version.clone(),
        source: manifest::Source {
            origin: src.origin.clone(),
            gnu: src.gnu.clone(),
        },
        target: "x86_64-linux-gnu".into(),
        sysdeps: chain.clone(),
        include_order,
        defines,
        symbols: symbols
            .into_iter()
            .map(|(name, provider)| Symbol { name, provider })
            .collect(),
        translation_units: tus,
        verbatim: pin(&roots.tree, &verbatim)?,
        shims: pin(&roots.project, &shims)?,
        stubs: pin(&roots.project, &stubs)?,
        flags: Flags {
            cflags: CFLAGS.iter().map(|s| s.to_string()).collect(),
            debug_cflags: DEBUG_CFLAGS.iter().map(|s| s.to_string()).collect(),
            ldflags: LDFLAGS.iter().map(|s| s.to_string()).collect(),
        },
        exports,
        features,
        tunables,
        options,
        host: None,
    };
    Ok(Resolution {
        manifest,
        graph,
        iterations,
    })
}

/// The allocator's public entry points that the `hooks` and `trace` build
/// options wrap (those the version exports).
pub const ENTRY_POINTS: &[&str] = &[
    "malloc",
    "free",
    "calloc",
    "realloc",
    "reallocarray",
    "memalign",
    "aligned_alloc",
    "posix_memalign",
    "valloc",
    "pvalloc",
    "free_sized",
    "free_aligned_sized",
];

/// The tracer's interface, included by the options' units.
const OPTION_TRACE_HEADER: &str = "stubs/options/trace.h";

/// The hook variables glibc called up to 2.33.
const HOOKS: &[&str] = &[
    "__malloc_hook",
    "__free_hook",
    "__realloc_hook",
    "__memalign_hook",
    "__after_morecore_hook",
];

/// The name glibc's definition of a wrapped entry point takes.
pub fn glibc_entry_name(name: &str) -> String {
    format!("__malloc_standalone_glibc_{name}")
}

/// The build options the version's source allows: `trace` always; `hooks`
/// where the source still defines the hook variables (as compatibility
/// symbols) but malloc.c no longer calls them (from 2.34). Both wrap the
/// exported entry points with `stubs/options/entry.c`.
fn build_options(
    version: &str,
    features: &BTreeMap<String, bool>,
    defined: &BTreeSet<String>,
    exports: &[Export],
    exports_wanted: &BTreeMap<String, String>,
) -> BTreeMap<String, BuildOption> {
    let entry = TranslationUnit::Stub {
        path: "stubs/options/entry.c".into(),
    };
    let glibc_renames: BTreeMap<String, String> = ENTRY_POINTS
        .iter()
        .filter(|n| exports.iter().any(|e| e.name == **n && e.since != BRIDGE))
        .map(|n| (n.to_string(), glibc_entry_name(n)))
        .collect();
    let mut options = BTreeMap::new();
    options.insert(
        "trace".to_string(),
        BuildOption {
            description: "record every call of the exported entry points to \
                          $MALLOC_STANDALONE_TRACE (mtrace or jsonl format)"
                .into(),
            translation_units: vec![
                entry.clone(),
                TranslationUnit::Stub {
                    path: "stubs/options/trace.c".into(),
                },
            ],
            defines: [
                ("MALLOC_STANDALONE_TRACE".to_string(), "1".to_string()),
                (
                    "MALLOC_STANDALONE_GLIBC_VERSION".to_string(),
                    format!("\"{version}\""),
                ),
            ]
            .into(),
            glibc_renames: glibc_renames.clone(),
            exports: Vec::new(),
        },
    );
    let hooks_native = features.get("hooks").copied().unwrap_or(false);
    if !hooks_native && HOOKS.iter().all(|h| defined.contains(*h)) {
        options.insert(
            "hooks".to_string(),
            BuildOption {
                description: "call __malloc_hook, __free_hook, __realloc_hook, \
                              __memalign_hook and __after_morecore_hook as glibc 2.33 did"
                    .into(),
                translation_units: vec![entry],
                defines: [("MALLOC_STANDALONE_HOOKS".to_string(), "1".to_string())].into(),
                glibc_renames,
                exports: HOOKS
                    .iter()
                    .map(|h| Export {
                        name: h.to_string(),
                        since: exports_wanted
                            .get(*h)
                            .cloned()
                            .unwrap_or_else(|| "GLIBC_2.0".into()),
                    })
                    .collect(),
            },
        );
    }
    options
}

/// Allocator features, read off the parsed source rather than a version table.
fn detect_features(
    facts: &BTreeMap<String, TuFacts>,
    exports: &[Export],
    tunables: &[Tunable],
) -> BTreeMap<String, bool> {
    let any = |p: &dyn Fn(&TuFacts) -> bool| facts.values().any(p);
    let field = |s: &str, fld: &str| any(&|f| f.structs.get(s).is_some_and(|x| x.contains(fld)));
    let defined = |n: &str| any(&|f| f.defined.contains(n));
    let function = |n: &str| any(&|f| f.functions.contains(n));
    let mut m = BTreeMap::new();
    m.insert(
        "tcache".into(),
        any(&|f| f.structs.contains_key("tcache_perthread_struct")),
    );
    m.insert(
        "tcache_double_free_key".into(),
        field("tcache_entry", "key"),
    );
    m.insert(
        "safe_linking".into(),
        any(&|f| f.macro_defs.contains("PROTECT_PTR")),
    );
    m.insert("fastbins".into(), field("malloc_state", "fastbinsY"));
    // Public API of the version itself: exported from glibc's files, not kept
    // as a compatibility symbol, not bridged by a stub.
    let exported = |n: &str| exports.iter().any(|e| e.name == n && e.since != BRIDGE);
    m.insert("hooks".into(), exported("__malloc_hook"));
    // malloc.c itself calls __morecore (up to 2.33), rather than a stub.
    m.insert(
        "morecore".into(),
        exported("__morecore") && !any(&|f| f.compat.contains("__morecore")),
    );
    m.insert("eager_init".into(), defined("__ptmalloc_init"));
    m.insert("mallinfo2".into(), exported("mallinfo2"));
    m.insert("free_sized".into(), exported("free_sized"));
    m.insert("malloc_check_in_malloc".into(), function("malloc_check"));
    m.insert(
        "hugepages".into(),
        tunables.iter().any(|t| t.name == "glibc.malloc.hugetlb"),
    );
    // malloc reads tunables (GLIBC_TUNABLES): from 2.26, and in 2.25 only
    // when configured with --enable-tunables.
    m.insert("tunables".into(), !tunables.is_empty());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn quoted_names() {
        assert_eq!(
            quoted("'tunable-list.h' file not found").as_deref(),
            Some("tunable-list.h")
        );
        assert_eq!(
            quoted("use of undeclared identifier 'x'").as_deref(),
            Some("x")
        );
        assert_eq!(quoted("no quotes"), None);
    }

    #[test]
    fn versions_file_keeps_public_libc_names() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("malloc")).unwrap();
        std::fs::write(
            d.path().join("malloc/Versions"),
            "libc {\n  GLIBC_2.0 {\n    # c\n    malloc; free;\n  }\n  GLIBC_2.33 {\n    mallinfo2;\n  }\n  GLIBC_PRIVATE {\n    __libc_thread_freeres;\n  }\n}\n",
        )
        .unwrap();
        let v = versions_file(d.path()).unwrap();
        assert_eq!(v.get("malloc").map(String::as_str), Some("GLIBC_2.0"));
        assert_eq!(v.get("mallinfo2").map(String::as_str), Some("GLIBC_2.33"));
        assert!(!v.contains_key("__libc_thread_freeres"));
    }
}
