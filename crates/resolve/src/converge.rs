//! Stage 2: the convergence loop. Parse every translation unit the
//! allocator needs with our include configuration, ask the rules who
//! provides each missing symbol, add translation units, symbol mappings and
//! tunables, and parse again until nothing changes. The result is the
//! [`Converged`] state that the report and the plan read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use manifest::{TranslationUnit, Tunable};
use source::temp::{self, TempDir};

use crate::clang::{self, Index};
use crate::host::HostLibc;
use crate::parse::{self, TuFacts};
use crate::rules::{self, Decision, Facts, GlibcFiles, Need, Roots};
use crate::sysdeps;
use crate::{io, Options, ResolveError, SourceInfo};

/// The prefix of the generated headers' directory in `$TMPDIR`.
pub(crate) const GEN_PREFIX: &str = "malloc-standalone-";

/// The `since` of an export that bridges host API the version lacks.
pub(crate) const BRIDGE: &str = "bridge";

/// The loop's state once nothing changes.
pub(crate) struct Converged {
    pub version: String,
    pub roots: Roots,
    pub host: HostLibc,
    /// The sysdeps chain, most specific first.
    pub chain: Vec<String>,
    /// What a default `configure` run decides (config.h).
    pub configured: BTreeMap<String, String>,
    /// `configured` and the symbol mappings the loop added.
    pub defines: BTreeMap<String, String>,
    /// The build's translation units, in the order they joined.
    pub tus: Vec<TranslationUnit>,
    /// The last round's facts of each of `tus`, by path.
    pub facts: FactsByPath,
    /// The tunables of the namespaces the allocator reads.
    pub tunables: Vec<Tunable>,
    /// The version's public names (`malloc/Versions`) and the bridges, with
    /// their symbol version (or [`BRIDGE`]).
    pub exports_wanted: BTreeMap<String, String>,
    /// What `__has_include` finds: (probing file, line, file found).
    pub probes: Vec<(PathBuf, u32, PathBuf)>,
    /// The host headers the `<malloc.h>` probe read (recorded in the
    /// manifest's `host`, with the graph's host files).
    pub host_api_headers: BTreeSet<PathBuf>,
    pub iterations: usize,
    /// Holds the generated headers (`roots.generated`) while the state lives.
    _gen_dir: TempDir,
}

impl Converged {
    /// Where a translation unit's file is.
    pub(crate) fn tu_path(&self, tu: &TranslationUnit) -> PathBuf {
        tu_path(&self.roots, tu)
    }
}

/// What every round consults and never changes.
struct Inputs {
    host: HostLibc,
    glibc_files: GlibcFiles,
    /// Every stub file, project-relative.
    stub_files: Vec<String>,
    /// All tunables of the tree.
    all_tunables: Vec<Tunable>,
    /// The host's allocator API this version lacks.
    bridges: BTreeSet<String>,
    exports_wanted: BTreeMap<String, String>,
}

/// What the rounds change.
struct State {
    defines: BTreeMap<String, String>,
    tus: Vec<TranslationUnit>,
    tunables: Vec<Tunable>,
}

/// Runs the convergence loop on one source tree.
pub(crate) fn converge(src: &SourceInfo, opts: &Options) -> Result<Converged, ResolveError> {
    clang::load()?;
    let host = HostLibc::detect()?;
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
    // Named `malloc-standalone-pid<pid>-*` and locked while alive, so that
    // the next run removes one an interrupted run left ([`source::temp`]).
    let tmp = std::env::temp_dir();
    let gen_dir = temp::dir_in(&tmp, GEN_PREFIX).map_err(io(&tmp))?;
    let gen = gen_dir.path().canonicalize().map_err(io(gen_dir.path()))?;
    roots.generated = Some(gen.clone());

    let index = Index::new()?;
    let configured = crate::configure::defaults(&roots.tree);
    let mut exports_wanted = versions_file(&roots.tree)?;
    // The host's allocator API that this version lacks (2.31 has no
    // mallinfo2): a program calling it would reach the host's own, idle
    // allocator, so a stub must bridge it to this version's allocator.
    let (host_api, host_api_headers) = parse::host_malloc_api(&index, gen_dir.path())?;
    let bridges: BTreeSet<String> = host_api
        .into_iter()
        .filter(|n| !exports_wanted.contains_key(n) && host.exports(n))
        .collect();
    for b in &bridges {
        exports_wanted.insert(b.clone(), BRIDGE.into());
    }
    let inputs = Inputs {
        glibc_files: GlibcFiles::new(&roots.tree, &chain, "malloc"),
        stub_files: list_stubs(&roots.project)?,
        host,
        all_tunables,
        bridges,
        exports_wanted,
    };
    let mut state = State {
        defines: configured.clone(),
        tus: std::iter::once(TranslationUnit::Glibc {
            path: "malloc/malloc.c".into(),
        })
        .chain(
            crate::policy::EVERY_BUILD_STUBS
                .iter()
                .filter(|s| roots.project.join(s).is_file())
                .map(|s| TranslationUnit::Stub {
                    path: s.to_string(),
                }),
        )
        .collect(),
        tunables: Vec::new(),
    };

    let mut iterations = 0;
    let facts = loop {
        iterations += 1;
        let header = gen_dir.path().join(manifest::TUNABLES_HEADER);
        std::fs::write(&header, manifest::tunables_header(&state.tunables)).map_err(io(&header))?;
        let args = parse::args(&roots, &chain, &gen, &state.defines);
        let (facts, stub_facts) = parse_round(&index, &args, &roots, &inputs, &state.tus)?;
        let added = decide(&inputs, &mut state, &facts, &stub_facts);
        if added.is_empty() {
            break facts;
        }
        if iterations >= opts.max_iters {
            return Err(ResolveError::NoConvergence {
                version: src.version.clone(),
                iters: iterations,
                added: added.join(", "),
            });
        }
    };

    // Files the build only asks about (`__has_include`) decide what it
    // compiles as much as included ones.
    let args = parse::args(&roots, &chain, &gen, &state.defines);
    let mut files: BTreeSet<PathBuf> = state.tus.iter().map(|t| tu_path(&roots, t)).collect();
    for f in facts.values() {
        files.extend(f.includes.iter().map(|(_, _, inc)| inc.clone()));
    }
    let probes = parse::probe_has_include(&index, &args, gen_dir.path(), &roots, &files)?;

    Ok(Converged {
        version: src.version.clone(),
        roots,
        host: inputs.host,
        chain,
        configured,
        defines: state.defines,
        tus: state.tus,
        facts,
        tunables: state.tunables,
        exports_wanted: inputs.exports_wanted,
        probes,
        host_api_headers,
        iterations,
        _gen_dir: gen_dir,
    })
}

/// Facts by translation unit path.
type FactsByPath = BTreeMap<String, TuFacts>;

/// One round's parse: the facts of every translation unit in the build
/// (stubs included), and of every stub not in it (what it would define).
fn parse_round(
    index: &Index,
    args: &[String],
    roots: &Roots,
    inputs: &Inputs,
    tus: &[TranslationUnit],
) -> Result<(FactsByPath, FactsByPath), ResolveError> {
    let mut facts = FactsByPath::new();
    for tu in tus {
        let path = tu_path(roots, tu);
        facts.insert(
            tu.path().to_owned(),
            parse::parse(index, &path, args, roots)?,
        );
    }
    let mut stub_facts = FactsByPath::new();
    for s in &inputs.stub_files {
        if let Some(f) = facts.remove(s) {
            stub_facts.insert(s.clone(), f);
        } else {
            let p = roots.project.join(s);
            stub_facts.insert(s.clone(), parse::parse(index, &p, args, roots)?);
        }
    }
    // Put stub facts of TUs in the build back in `facts`.
    for tu in tus {
        if let TranslationUnit::Stub { path } = tu {
            if let Some(f) = stub_facts.remove(path) {
                facts.insert(path.clone(), f);
            }
        }
    }
    Ok((facts, stub_facts))
}

/// One round's decisions: who provides each need, which stubs hook in, which
/// tunables the generated header holds. Returns what changed (empty once
/// the loop has converged).
fn decide(
    inputs: &Inputs,
    state: &mut State,
    facts: &FactsByPath,
    stub_facts: &FactsByPath,
) -> Vec<String> {
    let tus = &mut state.tus;
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
    let glibc_file = |n: &str| inputs.glibc_files.find(n);
    let rule_facts = Facts {
        defined: &defined,
        stubs: &stubs_index,
        host_exports: &inputs.host.public,
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
        .filter(|n| inputs.exports_wanted.contains_key(*n))
        .chain(&inputs.bridges)
        .cloned()
        .collect();
    needed.extend(api.iter().cloned());

    let undeclared: BTreeSet<&String> = facts
        .values()
        .flat_map(|f| f.undeclared.iter().map(|(_, _, n)| n))
        .collect();
    let mut added = Vec::new();
    for name in &needed {
        let need = if inputs.bridges.contains(name) {
            Need::Bridge
        } else if api.contains(name) {
            Need::Api
        } else if undeclared.contains(name) {
            Need::Undeclared
        } else {
            Need::Use
        };
        match rules::decide(name, need, &rule_facts) {
            Decision::Stub(file) => push_tu(tus, TranslationUnit::Stub { path: file }, &mut added),
            Decision::Glibc(file) => {
                push_tu(tus, TranslationUnit::Glibc { path: file }, &mut added)
            }
            Decision::Mapped(to) => {
                if state.defines.insert(name.clone(), to.clone()).is_none() {
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
    for (path, f) in stub_facts {
        if f.needs.iter().any(|(_, n)| glibc_defined.contains(n))
            && !f
                .defined
                .difference(&f.weak)
                .any(|n| glibc_defined.contains(n) || inputs.exports_wanted.contains_key(n))
        {
            push_tu(
                tus,
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
    let wanted: Vec<Tunable> = inputs
        .all_tunables
        .iter()
        .filter(|t| {
            namespaces
                .iter()
                .any(|ns| t.name.starts_with(&format!("{ns}.")))
        })
        .cloned()
        .collect();
    if wanted != state.tunables {
        added.push(format!(
            "{} ({} tunables)",
            manifest::TUNABLES_HEADER,
            wanted.len()
        ));
        state.tunables = wanted;
    }
    added
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

#[cfg(test)]
mod tests {
    use super::*;

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
