//! The builder contract: a manifest's build plan, fully resolved.
//!
//! [`Plan::of`] spells a manifest out as the compiler's and linker's
//! argument lists, with placeholders for the directories a builder chooses
//! ([`TREE`], [`PROJECT`], [`BUILD`]), and the exact text of every file the
//! build generates (the tunables header, the version script). The resolver
//! writes it into the manifest's JSON twin (`plan`); the Nix flake
//! (`nix/plan.nix`) only substitutes and runs it, and `resolver build`
//! (crates/build) runs the very same plan, adding only execution concerns:
//! depfiles, staleness, parallel jobs. All knowledge of how a manifest
//! becomes command lines is here, once.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::schema::{IncludeDir, Manifest, TranslationUnit, Tunable};

/// Stands for the glibc tree holding the manifest's verbatim files, checked
/// against their pins, at their tree-relative paths.
pub const TREE: &str = "@TREE@";
/// Stands for the project root, which holds the manifest's shims and stubs.
pub const PROJECT: &str = "@PROJECT@";
/// Stands for the build directory: generated files and objects go there.
pub const BUILD: &str = "@BUILD@";

/// The compile flags every translation unit gets (glibc's own warnings and
/// code-generation choices that matter outside its build system). The
/// resolver's policy writes them into every manifest; they are here, in the
/// builder contract, because they are also all a manifest may carry: a
/// manifest with any other flag is refused ([`crate::validate`]).
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

/// What `--debug` builds use instead of `-O2 -g` (see [`CFLAGS`]).
pub const DEBUG_CFLAGS: &[&str] = &["-O0", "-g3"];

/// Link flags (the plan adds the soname and the version script; see
/// [`CFLAGS`]).
pub const LDFLAGS: &[&str] = &[
    "-shared",
    "-pthread",
    "-Wl,-z,defs",
    "-Wl,-z,relro",
    "-Wl,-z,now",
];

/// The header the build generates from a manifest's tunables (in [`GEN_DIR`]).
pub const TUNABLES_HEADER: &str = "malloc-standalone-tunables.h";
/// The build directory's subdirectory of generated headers (on the include path).
pub const GEN_DIR: &str = "gen";
/// The build directory's subdirectory of objects.
pub const OBJ_DIR: &str = "obj";
/// The version script, in the build directory.
pub const VERSION_SCRIPT: &str = "exports.map";
/// The role of [`TUNABLES_HEADER`] among [`Plan::files`].
pub const ROLE_TUNABLES_HEADER: &str = "tunables_header";
/// The role of [`VERSION_SCRIPT`] among [`Variant::files`].
pub const ROLE_VERSION_SCRIPT: &str = "version_script";

/// What a builder reads first: how to run a plan, in words. Written into
/// every JSON twin, so that the file explains itself.
const ABOUT: &[&str] = &[
    "The build plan of this manifest, resolved from the data above by the resolver \
     (crates/manifest/src/plan.rs). `resolver build` runs exactly this plan, and so does the \
     Nix flake (nix/plan.nix): a builder substitutes the placeholders and runs it, and derives \
     nothing itself.",
    "Placeholders: every string may hold those listed in `placeholders`; substitute each with \
     the directory it stands for (an absolute path).",
    "A build is one variant in one mode (`release`, or `debug` for -O0 -g3).",
    "Build options combine by set, not by addition: `variants` holds one entry per set of the \
     options this manifest offers (its `options`, names sorted; [] for none), each already \
     merged: every chosen option's defines on every unit, their glibc_renames on glibc's units \
     only (each once), their translation units after the manifest's (each once), their exports \
     with the manifest's. A builder picks the variant whose `options` are the requested ones \
     and merges nothing. (Options a version has natively, such as hooks before 2.34, are not \
     offered: its default variant already has them.)",
    "Before compiling, create `dirs` and write `files` and the variant's `files`, each at \
     @BUILD@/<path> with exactly its `text`.",
    "Compile every entry of the variant's `compile`, in any order: the C compiler, then \
     `cflags.<mode>`, then the entry's `args` (which end with -c <source> -o <object>). A \
     builder may append flags that leave the object unchanged (a depfile: -MMD -MP -MF <file>).",
    "Link: the C compiler, then the variant's `link`, then -o <file>; the file is the shared \
     object `so_name.<mode>`.",
    "`exports` are the symbols the shared object exports (the version script's); \
     `suffix.<mode>` is what the variant's names carry after the version.",
];

/// A manifest's build plan: every variant's compile and link commands and
/// generated files, with placeholders for the directories.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// How to run the plan, in words.
    pub about: Vec<String>,
    /// Each placeholder and what it stands for.
    pub placeholders: BTreeMap<String, String>,
    /// Directories to create in the build directory, relative to it.
    pub dirs: Vec<String>,
    /// Files every variant generates, by role (`tunables_header`).
    pub files: BTreeMap<String, GeneratedFile>,
    /// The compiler flags that come first in every compile command, by mode.
    pub cflags: Modes<Vec<String>>,
    /// One per set of the manifest's options, the empty set first.
    pub variants: Vec<Variant>,
}

/// A value for each build mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modes<T> {
    /// `-O2 -g`.
    pub release: T,
    /// `-O0 -g3`.
    pub debug: T,
}

impl<T> Modes<T> {
    /// The debug build's value, or the release build's.
    pub fn get(&self, debug: bool) -> &T {
        if debug {
            &self.debug
        } else {
            &self.release
        }
    }
}

/// A file the build generates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedFile {
    /// Where, relative to the build directory.
    pub path: String,
    /// Its exact contents.
    pub text: String,
}

/// The build with one set of options switched on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The options, sorted (empty: the version's allocator as it is).
    pub options: Vec<String>,
    /// What the variant's names carry after the version (`-hooks-trace-debug`).
    pub suffix: Modes<String>,
    /// The shared object's file name.
    pub so_name: Modes<String>,
    /// The symbols it exports, sorted.
    pub exports: Vec<String>,
    /// Files this variant generates, by role (`version_script`).
    pub files: BTreeMap<String, GeneratedFile>,
    /// One compile per translation unit, in link order.
    pub compile: Vec<Compile>,
    /// The linker's arguments, but for `-o <file>`.
    pub link: Vec<String>,
}

/// Compiling one translation unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compile {
    /// The unit's path, relative to its root (the tree or the project).
    pub unit: String,
    /// The source file.
    pub source: String,
    /// The object file.
    pub object: String,
    /// The arguments after the mode's cflags, ending with `-c <source> -o <object>`.
    pub args: Vec<String>,
}

impl Plan {
    /// The plan of `m`.
    pub fn of(m: &Manifest) -> Plan {
        let placeholders = [
            (
                TREE,
                "the glibc tree holding the manifest's verbatim files (each checked against \
                 its sha256) at their tree-relative paths",
            ),
            (
                PROJECT,
                "the project root, holding the manifest's shims and stubs",
            ),
            (
                BUILD,
                "the build directory: `dirs`, `files` and the objects are made there",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let files = BTreeMap::from([(
            ROLE_TUNABLES_HEADER.to_owned(),
            GeneratedFile {
                path: format!("{GEN_DIR}/{TUNABLES_HEADER}"),
                text: tunables_header(&m.tunables),
            },
        )]);
        let release = m.flags.cflags.clone();
        let debug = m
            .flags
            .cflags
            .iter()
            .filter(|f| *f != "-O2" && *f != "-g")
            .chain(&m.flags.debug_cflags)
            .cloned()
            .collect();
        Plan {
            about: ABOUT.iter().map(|s| s.to_string()).collect(),
            placeholders,
            dirs: vec![GEN_DIR.to_owned(), OBJ_DIR.to_owned()],
            files,
            cflags: Modes { release, debug },
            variants: option_sets(m).iter().map(|o| variant(m, o)).collect(),
        }
    }

    /// The variant with exactly `options` (sorted) switched on.
    pub fn variant(&self, options: &[String]) -> Option<&Variant> {
        self.variants.iter().find(|v| v.options == options)
    }
}

/// Every set of the manifest's options, each sorted, the empty set first:
/// `[]`, `[a]`, `[b]`, `[a, b]`, ...
fn option_sets(m: &Manifest) -> Vec<Vec<String>> {
    let mut sets = vec![Vec::new()];
    for o in m.options.keys() {
        let with: Vec<Vec<String>> = sets
            .iter()
            .map(|s| s.iter().cloned().chain([o.clone()]).collect())
            .collect();
        sets.extend(with);
    }
    sets
}

/// What a build's names carry after the version: each option, then
/// `-debug`, e.g. `-hooks-trace-debug`.
pub fn suffix(options: &[String], debug: bool) -> String {
    let mut s: String = options.iter().map(|o| format!("-{o}")).collect();
    if debug {
        s.push_str("-debug");
    }
    s
}

/// The file name of a version's shared object with (sorted) `options`.
pub fn so_name(version: &str, options: &[String], debug: bool) -> String {
    format!("libmalloc-glibc-{version}{}.so", suffix(options, debug))
}

/// The generated C file that records a patched build's patches (in
/// [`GEN_DIR`]), role [`ROLE_PATCH_RECORD`] among a patched variant's files.
pub const PATCH_RECORD: &str = "malloc-standalone-patches.c";
/// The role of [`PATCH_RECORD`].
pub const ROLE_PATCH_RECORD: &str = "patch_record";
/// The symbol a patched build's record is in: a string a program or gdb
/// reads (`print __malloc_standalone_patches`, `strings`), local to the
/// shared object (the version script exports only the allocator's API).
pub const PATCH_RECORD_SYMBOL: &str = "__malloc_standalone_patches";

/// One patch a build carries: its name (the patch file's name without
/// `.diff`/`.patch`) and the sha256 of the patch file's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchId {
    pub name: String,
    pub sha256: String,
}

/// What a patched build's names carry after the version: `+name` per
/// patch, in the order applied (`+count-bins+tcache-count`).
pub fn patch_suffix(patches: &[PatchId]) -> String {
    patches.iter().map(|p| format!("+{}", p.name)).collect()
}

/// The text the record holds: `malloc-standalone patches: <name> sha256:<hex>; ...`.
pub fn patch_record_text(patches: &[PatchId]) -> String {
    let list: Vec<String> = patches
        .iter()
        .map(|p| format!("{} sha256:{}", p.name, p.sha256))
        .collect();
    format!("malloc-standalone patches: {}", list.join("; "))
}

/// The C source of [`PATCH_RECORD`]. Names are `[A-Za-z0-9._-]` and hashes
/// hex, so the text needs no escaping.
pub fn patch_record_c(patches: &[PatchId]) -> String {
    format!(
        "/* Generated: the patches this build carries (resolver build --patch).  */\n\
         __attribute__ ((used, visibility (\"hidden\")))\n\
         const char {PATCH_RECORD_SYMBOL}[] = \"{}\";\n",
        patch_record_text(patches)
    )
}

/// `v` with `patches` applied: the names carry [`patch_suffix`] right after
/// the version (`libmalloc-glibc-2.36+count-bins-trace.so`, also the
/// soname), and one more unit, [`PATCH_RECORD`], is compiled with the mode's
/// flags alone and linked last. `v` itself when `patches` is empty. The
/// patched files themselves are the builder's: it applies the patches to its
/// staged copies of the verbatim files, shims and stubs.
pub fn patched(version: &str, v: &Variant, patches: &[PatchId]) -> Variant {
    if patches.is_empty() {
        return v.clone();
    }
    let ps = patch_suffix(patches);
    let name = |suffix: &str| format!("libmalloc-glibc-{version}{ps}{suffix}.so");
    let mut out = v.clone();
    out.suffix = Modes {
        release: format!("{ps}{}", v.suffix.release),
        debug: format!("{ps}{}", v.suffix.debug),
    };
    out.so_name = Modes {
        release: name(&v.suffix.release),
        debug: name(&v.suffix.debug),
    };
    let soname = format!("-Wl,-soname,{}", v.so_name.release);
    for a in &mut out.link {
        if *a == soname {
            *a = format!("-Wl,-soname,{}", out.so_name.release);
        }
    }
    let source = format!("{BUILD}/{GEN_DIR}/{PATCH_RECORD}");
    let object = format!("{BUILD}/{OBJ_DIR}/{}", PATCH_RECORD.replace(".c", ".o"));
    out.files.insert(
        ROLE_PATCH_RECORD.to_owned(),
        GeneratedFile {
            path: format!("{GEN_DIR}/{PATCH_RECORD}"),
            text: patch_record_c(patches),
        },
    );
    out.compile.push(Compile {
        unit: format!("{GEN_DIR}/{PATCH_RECORD}"),
        source: source.clone(),
        object: object.clone(),
        args: vec!["-c".into(), source, "-o".into(), object.clone()],
    });
    out.link.push(object);
    out
}

/// The `-fmacro-prefix-map` flags every compile starts with. glibc compiles
/// in each subdirectory, so __FILE__ reads "malloc.c" in malloc/ and
/// "../sysdeps/..." elsewhere. GCC applies the last matching map, so the
/// most specific comes last (a build directory may lie inside the project).
pub fn macro_prefix_maps() -> [String; 3] {
    [
        format!("-fmacro-prefix-map={PROJECT}/="),
        format!("-fmacro-prefix-map={TREE}/=../"),
        format!("-fmacro-prefix-map={TREE}/malloc/="),
    ]
}

/// The plan of `m` with `options` (sorted, each offered by `m`).
fn variant(m: &Manifest, options: &[String]) -> Variant {
    let chosen: Vec<&crate::schema::BuildOption> = options.iter().map(|o| &m.options[o]).collect();

    let mut common: Vec<String> = macro_prefix_maps().to_vec();
    for d in &m.include_order {
        match d {
            IncludeDir::ForceInclude { path } => {
                common.extend(["-include".into(), format!("{PROJECT}/{path}")]);
            }
            IncludeDir::Shims { path } => {
                common.extend(["-I".into(), format!("{PROJECT}/{path}")]);
            }
            IncludeDir::Generated { .. } => {
                common.extend(["-I".into(), format!("{BUILD}/{GEN_DIR}")]);
            }
            IncludeDir::Host => {}
            IncludeDir::Glibc { path } => {
                common.push("-idirafter".into());
                common.push(if path.is_empty() {
                    TREE.to_owned()
                } else {
                    format!("{TREE}/{path}")
                });
            }
        }
    }
    common.extend(m.defines.iter().map(|(k, v)| format!("-D{k}={v}")));
    for o in &chosen {
        common.extend(o.defines.iter().map(|(k, v)| format!("-D{k}={v}")));
    }
    let mut renames: Vec<String> = Vec::new();
    for o in &chosen {
        for (k, v) in &o.glibc_renames {
            let d = format!("-D{k}={v}");
            if !renames.contains(&d) {
                renames.push(d);
            }
        }
    }

    let mut units: Vec<&TranslationUnit> = m.translation_units.iter().collect();
    for o in &chosen {
        for tu in &o.translation_units {
            if !units.contains(&tu) {
                units.push(tu);
            }
        }
    }
    let compile: Vec<Compile> = units
        .iter()
        .map(|tu| {
            let (source, glibc) = match tu {
                TranslationUnit::Glibc { path } => (format!("{TREE}/{path}"), true),
                TranslationUnit::Stub { path } => (format!("{PROJECT}/{path}"), false),
            };
            let object = format!(
                "{BUILD}/{OBJ_DIR}/{}.o",
                tu.path().replace('/', "__").trim_end_matches(".c")
            );
            let mut args = common.clone();
            if glibc {
                args.extend(renames.iter().cloned());
            }
            args.extend(["-c".into(), source.clone(), "-o".into(), object.clone()]);
            Compile {
                unit: tu.path().to_owned(),
                source,
                object,
                args,
            }
        })
        .collect();

    let exports: BTreeSet<&str> = m
        .exports
        .iter()
        .chain(chosen.iter().flat_map(|o| &o.exports))
        .map(|e| e.name.as_str())
        .collect();
    let mut link = m.flags.ldflags.clone();
    link.push(format!("-Wl,--version-script={BUILD}/{VERSION_SCRIPT}"));
    link.push(format!(
        "-Wl,-soname,{}",
        so_name(&m.version, options, false)
    ));
    link.extend(compile.iter().map(|c| c.object.clone()));

    Variant {
        options: options.to_vec(),
        suffix: Modes {
            release: suffix(options, false),
            debug: suffix(options, true),
        },
        so_name: Modes {
            release: so_name(&m.version, options, false),
            debug: so_name(&m.version, options, true),
        },
        files: BTreeMap::from([(
            ROLE_VERSION_SCRIPT.to_owned(),
            GeneratedFile {
                path: VERSION_SCRIPT.to_owned(),
                text: version_script(&exports),
            },
        )]),
        exports: exports.into_iter().map(str::to_owned).collect(),
        compile,
        link,
    }
}

/// The version script: `names` global, everything else local.
fn version_script(names: &BTreeSet<&str>) -> String {
    let mut s = String::from("/* Generated from the manifest's exports.  */\n{\n  global:\n");
    for n in names {
        s.push_str(&format!("    {n};\n"));
    }
    s.push_str("  local:\n    *;\n};\n");
    s
}

/// The text of [`TUNABLES_HEADER`]: one X-macro line per tunable,
/// `MALLOC_STANDALONE_TUNABLE(top, namespace, name, TYPE, min, max, default,
/// "ENV_ALIAS" or NULL, SECURITY_LEVEL)`, with the type's range where the list
/// gives none and 0 where it gives no default.
pub fn tunables_header(tunables: &[Tunable]) -> String {
    let mut out = String::from(
        "/* Generated from the version's elf/dl-tunables.list by the build; do not edit.  */\n",
    );
    for t in tunables {
        let parts: Vec<&str> = t.name.splitn(3, '.').collect();
        let [top, ns, name] = parts.as_slice() else {
            continue;
        };
        let (min, max) = match t.ty.as_str() {
            "INT_32" => ("INT32_MIN", "INT32_MAX"),
            "UINT_64" => ("0", "UINT64_MAX"),
            "SIZE_T" => ("0", "SIZE_MAX"),
            _ => ("0", "0"),
        };
        let alias = t
            .env_alias
            .as_ref()
            .map_or("NULL".to_string(), |a| format!("\"{a}\""));
        out.push_str(&format!(
            "MALLOC_STANDALONE_TUNABLE({top}, {ns}, {name}, {}, {}, {}, {}, {alias}, {})\n",
            t.ty,
            t.minval.as_deref().unwrap_or(min),
            t.maxval.as_deref().unwrap_or(max),
            t.default.as_deref().unwrap_or("0"),
            t.security_level
        ));
    }
    out
}

/// The directories a builder substitutes for the placeholders.
#[derive(Clone, Debug)]
pub struct Dirs {
    /// For [`TREE`].
    pub tree: String,
    /// For [`PROJECT`].
    pub project: String,
    /// For [`BUILD`].
    pub build: String,
}

impl Dirs {
    /// `s` with every placeholder replaced by its directory (in one pass, so
    /// a directory's own name is never taken for a placeholder).
    pub fn substitute(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        'scan: while let Some(at) = rest.find('@') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            for (p, dir) in [
                (TREE, &self.tree),
                (PROJECT, &self.project),
                (BUILD, &self.build),
            ] {
                if let Some(after) = rest.strip_prefix(p) {
                    out.push_str(dir);
                    rest = after;
                    continue 'scan;
                }
            }
            out.push('@');
            rest = &rest[1..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_each_placeholder_once() {
        let dirs = Dirs {
            tree: "/t/@BUILD@".into(),
            project: "/p".into(),
            build: "/b".into(),
        };
        assert_eq!(
            dirs.substitute("-fmacro-prefix-map=@TREE@/=../ @PROJECT@/x @BUILD@/gen a@b @"),
            "-fmacro-prefix-map=/t/@BUILD@/=../ /p/x /b/gen a@b @"
        );
    }

    #[test]
    fn patched_variant_names_records_and_links_its_patches() {
        let m = crate::Manifest::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../nix/manifests/glibc-2.36.json"),
        )
        .unwrap();
        let plan = Plan::of(&m);
        let v = plan.variant(&["trace".to_string()]).unwrap();
        assert_eq!(patched("2.36", v, &[]), *v);
        let ids = [
            PatchId {
                name: "a".into(),
                sha256: "11".into(),
            },
            PatchId {
                name: "b-c".into(),
                sha256: "22".into(),
            },
        ];
        let p = patched("2.36", v, &ids);
        assert_eq!(p.so_name.release, "libmalloc-glibc-2.36+a+b-c-trace.so");
        assert_eq!(p.so_name.debug, "libmalloc-glibc-2.36+a+b-c-trace-debug.so");
        assert!(p
            .link
            .contains(&"-Wl,-soname,libmalloc-glibc-2.36+a+b-c-trace.so".to_string()));
        assert!(!p
            .link
            .iter()
            .any(|a| a.contains("-soname,libmalloc-glibc-2.36-trace")));
        assert_eq!(p.compile.len(), v.compile.len() + 1);
        assert_eq!(p.link.last(), Some(&p.compile.last().unwrap().object));
        assert!(p.files[ROLE_PATCH_RECORD]
            .text
            .contains("\"malloc-standalone patches: a sha256:11; b-c sha256:22\""));
        // The exports are the unpatched variant's: the record stays local.
        assert_eq!(p.exports, v.exports);
    }

    #[test]
    fn option_sets_are_every_subset_sorted() {
        let mut m: Manifest = serde_norway::from_str(MINIMAL).unwrap();
        for o in ["trace", "hooks"] {
            m.options.insert(
                o.into(),
                crate::BuildOption {
                    description: o.into(),
                    translation_units: vec![],
                    defines: BTreeMap::new(),
                    glibc_renames: BTreeMap::new(),
                    exports: vec![],
                },
            );
        }
        let sets: Vec<Vec<String>> = Plan::of(&m)
            .variants
            .into_iter()
            .map(|v| v.options)
            .collect();
        assert_eq!(
            sets,
            [vec![], vec!["hooks"], vec!["trace"], vec!["hooks", "trace"]]
        );
    }

    #[test]
    fn options_merge_into_their_variant() {
        let mut m: Manifest = serde_norway::from_str(MINIMAL).unwrap();
        m.translation_units = vec![
            TranslationUnit::Glibc {
                path: "malloc/malloc.c".into(),
            },
            TranslationUnit::Stub {
                path: "stubs/fatal.c".into(),
            },
        ];
        m.flags.cflags = vec!["-O2".into(), "-g".into(), "-Wall".into()];
        m.flags.debug_cflags = vec!["-O0".into(), "-g3".into()];
        m.exports = vec![crate::Export {
            name: "malloc".into(),
            since: "GLIBC_2.2.5".into(),
        }];
        let entry = TranslationUnit::Stub {
            path: "stubs/options/entry.c".into(),
        };
        for (o, define) in [("hooks", "HOOKS"), ("trace", "TRACE")] {
            m.options.insert(
                o.into(),
                crate::BuildOption {
                    description: o.into(),
                    translation_units: vec![entry.clone()],
                    defines: BTreeMap::from([(define.to_owned(), "1".to_owned())]),
                    glibc_renames: BTreeMap::from([("malloc".to_owned(), "g_malloc".to_owned())]),
                    exports: vec![crate::Export {
                        name: format!("__{o}"),
                        since: "GLIBC_2.0".into(),
                    }],
                },
            );
        }
        let plan = Plan::of(&m);
        assert_eq!(plan.cflags.debug, ["-Wall", "-O0", "-g3"]);
        let both = plan.variant(&["hooks".into(), "trace".into()]).unwrap();
        assert_eq!(both.suffix.debug, "-hooks-trace-debug");
        assert_eq!(both.so_name.release, "libmalloc-glibc-2.36-hooks-trace.so");
        assert_eq!(both.exports, ["__hooks", "__trace", "malloc"]);
        // The shared unit once, after the manifest's.
        let units: Vec<&str> = both.compile.iter().map(|c| c.unit.as_str()).collect();
        assert_eq!(
            units,
            ["malloc/malloc.c", "stubs/fatal.c", "stubs/options/entry.c"]
        );
        // Both options' defines everywhere; the rename once, on glibc's unit only.
        let has = |args: &[String], a: &str| args.iter().filter(|x| *x == a).count();
        let (glibc, stub) = (&both.compile[0].args, &both.compile[1].args);
        for args in [glibc, stub] {
            assert_eq!(has(args, "-DHOOKS=1") + has(args, "-DTRACE=1"), 2);
        }
        assert_eq!(has(glibc, "-Dmalloc=g_malloc"), 1);
        assert_eq!(has(stub, "-Dmalloc=g_malloc"), 0);
        assert_eq!(
            glibc[glibc.len() - 4..],
            [
                "-c",
                "@TREE@/malloc/malloc.c",
                "-o",
                "@BUILD@/obj/malloc__malloc.o"
            ]
        );
        assert_eq!(
            has(
                &both.link,
                "-Wl,-soname,libmalloc-glibc-2.36-hooks-trace.so"
            ),
            1
        );
        assert!(both.files[ROLE_VERSION_SCRIPT]
            .text
            .contains("    __trace;\n"));
    }

    const MINIMAL: &str = r#"
schema: 2
version: '2.36'
source: { origin: { kind: tree } }
target: x86_64-linux-gnu
sysdeps: []
include_order: []
defines: {}
symbols: []
translation_units: []
verbatim: []
shims: []
stubs: []
flags: { cflags: [], debug_cflags: [], ldflags: [] }
exports: []
features:
  eager_init: false
  fastbins: false
  free_sized: false
  hooks: false
  hugepages: false
  malloc_check_in_malloc: false
  mallinfo2: false
  morecore: false
  safe_linking: false
  tcache: false
  tcache_double_free_key: false
  tunables: false
tunables: []
"#;
}
