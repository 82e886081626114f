//! The tests of one glibc version, as its own `malloc/Makefile` and `Rules`
//! describe them: names (glibc's `tests-expected`: `tests`,
//! `tests-internal` and every variant), the object and source of each, the
//! Makefile's compile and link flags, the helper modules they need, and
//! their environment (`<test>-ENV`, and from 2.44 on `<test>-TUNABLES`,
//! which glibc's Rules turns into `GLIBC_TUNABLES`). Also the support
//! library's routines and flags from `support/Makefile`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::make::{pattern_match, words, Make};

/// One test as glibc's build would run it.
#[derive(Clone, Debug)]
pub struct TestCase {
    pub name: String,
    /// The stem of its object file (`<object>.o`): its own name, or the
    /// base test's for the variants that relink the base object.
    pub object: String,
    /// Its source, relative to the tree.
    pub source: String,
    /// Compiler flags the Makefile gives its object.
    pub cflags: Vec<String>,
    /// Linker flags the Makefile gives it (`LDFLAGS-`, `LDLIBS-`).
    pub ldflags: Vec<String>,
    /// Further objects linked in: (object stem, source relative to the tree).
    pub extra_objects: Vec<(String, String)>,
    /// Test modules (`modules-names`) it loads, built as `<module>.so`.
    pub modules: Vec<String>,
    /// Prerequisites this suite cannot build (e.g. `libc_malloc_debug.so`).
    pub unbuildable: Vec<String>,
    /// The Makefile's environment for it, in order.
    pub env: Vec<(String, String)>,
}

/// A file of the support library.
#[derive(Clone, Debug)]
pub struct SupportFile {
    pub name: String,
    /// Relative to the tree.
    pub source: String,
    pub flags: Vec<String>,
}

/// Everything the Makefiles say about one version's malloc tests.
pub struct Plan {
    pub tests: Vec<TestCase>,
    /// The sources (relative to the tree) of the modules in `modules-names`.
    pub modules: BTreeMap<String, String>,
    /// `libsupport-routines` of `support/Makefile` and the
    /// `libsupport-sysdep_routines` of the sysdeps Makefiles; empty up to
    /// 2.24, whose tree has no `support/` (each test includes the tree's
    /// `test-skeleton.c` instead).
    pub support: Vec<SupportFile>,
    /// The evaluated malloc/Makefile, for `list:` rules.
    pub make: Make,
}

/// What glibc's configure would decide on x86_64-linux-gnu for a shared build
/// that runs its tests; `tunables`: whether the version's build has them
/// (configure's default: off in 2.25, on from 2.26), which is what the
/// manifest's tunables say.
fn config<'a>(objpfx: &'a str, common_objpfx: &'a str, tunables: bool) -> Vec<(&'a str, &'a str)> {
    vec![
        ("..", "../"),
        ("objpfx", objpfx),
        ("common-objpfx", common_objpfx),
        ("build-shared", "yes"),
        ("build-programs", "yes"),
        ("run-built-tests", "yes"),
        ("have-tunables", if tunables { "yes" } else { "no" }),
        ("have-GLIBC_2.23", "yes"),
        ("have-fpie", "yes"),
        ("have-libgcc_s", "yes"),
        ("experimental-malloc", "yes"),
        ("PERL", "/usr/bin/perl"),
        ("LIBGD", "no"),
        (
            "config-sysdirs",
            "sysdeps/x86_64 sysdeps/wordsize-64 sysdeps/generic",
        ),
        ("empty", ""),
    ]
}

/// A glibc tree and its sysdeps chain: where glibc's build finds files.
pub struct Tree<'a> {
    pub root: &'a Path,
    pub chain: &'a [String],
    /// Whether the version's build has tunables ([`config`]).
    pub tunables: bool,
}

impl Tree<'_> {
    fn read(&self, rel: &str) -> Result<String> {
        std::fs::read_to_string(self.root.join(rel))
            .with_context(|| format!("reading {}", self.root.join(rel).display()))
    }

    /// The sysdeps Makefiles, in the chain's order (what Makerules includes).
    fn sysdeps_makefiles(&self) -> Vec<String> {
        self.chain
            .iter()
            .filter_map(|d| std::fs::read_to_string(self.root.join(d).join("Makefile")).ok())
            .collect()
    }

    /// A source of `subdir`, as glibc's build finds it: along the sysdeps
    /// chain first, then in the subdirectory (relative to the tree).
    pub fn source(&self, subdir: &str, file: &str) -> String {
        self.chain
            .iter()
            .map(|d| format!("{d}/{file}"))
            .find(|rel| self.root.join(rel).is_file())
            .unwrap_or_else(|| format!("{subdir}/{file}"))
    }

    /// A make evaluator primed to read `<subdir>/Makefile`.
    fn make(&self, objpfx: &str, common_objpfx: &str) -> Result<Make> {
        Ok(Make::new(&config(objpfx, common_objpfx, self.tunables))
            .with_include("Rules", vec![self.read("Rules")?])
            .with_include("Makerules", self.sysdeps_makefiles()))
    }
}

impl Plan {
    /// Reads `<tree>/malloc/Makefile` (with `Rules` and the sysdeps
    /// Makefiles) and `<tree>/support/Makefile` if there is one. `objpfx` is where test
    /// binaries and modules go (with a trailing slash): environments name
    /// files there.
    ///
    /// `paths` are the values of the `-D<NAME>_PATH` macros that glibc's
    /// build computes with the shell for `support_paths.c` (where the tree
    /// and the loader are); names it lacks get `/nonexistent`.
    pub fn read(
        tree: &Tree,
        objpfx: &str,
        common_objpfx: &str,
        paths: &BTreeMap<String, String>,
    ) -> Result<Plan> {
        let mut make = tree.make(objpfx, common_objpfx)?;
        make.read(&tree.read("malloc/Makefile")?);

        let mut names: Vec<String> = Vec::new();
        for n in make
            .words("tests-expected")
            .into_iter()
            .chain(make.words("tests"))
            .chain(make.words("tests-internal"))
        {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        if names.is_empty() {
            bail!("{}: malloc/Makefile names no tests", tree.root.display());
        }
        let modules: BTreeMap<String, String> = make
            .words("modules-names")
            .into_iter()
            .map(|m| {
                let src = tree.source("malloc", &format!("{m}.c"));
                (m, src)
            })
            .collect();
        let mut tests = Vec::new();
        for name in names {
            tests.push(test_case(tree, &mut make, &name, objpfx, &modules));
        }

        let mut smake = tree.make(objpfx, common_objpfx)?;
        let mut routines = Vec::new();
        if tree.root.join("support/Makefile").is_file() {
            smake.read(&tree.read("support/Makefile")?);
            routines = smake.words("libsupport-routines");
            routines.extend(smake.words("libsupport-sysdep_routines"));
        }
        let support = routines
            .into_iter()
            .map(|r| {
                let file = format!("{r}.c");
                let text = format!(
                    "{} {}",
                    smake.var(&format!("CPPFLAGS-{file}")),
                    smake.var(&format!("CFLAGS-{file}"))
                );
                let flags = shell_words(&text)
                    .into_iter()
                    .map(|w| {
                        // A path glibc's build computes with the shell
                        // (support_paths.c): ours instead.
                        match w.strip_prefix("-D").and_then(|d| d.split_once('=')) {
                            Some((name, value))
                                if paths.contains_key(name) || value.contains('`') =>
                            {
                                let p = paths.get(name).map_or("/nonexistent", String::as_str);
                                format!("-D{name}=\"{p}\"")
                            }
                            _ => w,
                        }
                    })
                    .collect();
                SupportFile {
                    source: tree.source("support", &file),
                    name: r,
                    flags,
                }
            })
            .collect();
        Ok(Plan {
            tests,
            modules,
            support,
            make,
        })
    }
}

fn test_case(
    tree: &Tree,
    make: &mut Make,
    name: &str,
    objpfx: &str,
    modules: &BTreeMap<String, String>,
) -> TestCase {
    let binary = format!("{objpfx}{name}");
    let mut object = name.to_string();
    let mut prereqs: Vec<String> = Vec::new();
    // A static pattern rule (`%-malloc-check: %.o ...` in Rules) links the
    // variant from another object.
    for rule in &make.rules {
        if !rule.targets.contains(&binary) {
            continue;
        }
        match &rule.pattern {
            Some(p) => {
                let Some(stem) = pattern_match(p, &binary) else {
                    continue;
                };
                for pre in &rule.prereqs {
                    let pre = pre.replacen('%', stem, 1);
                    match pre.strip_prefix(objpfx).and_then(|o| o.strip_suffix(".o")) {
                        Some(o) if object == name => object = o.to_string(),
                        _ => prereqs.push(pre),
                    }
                }
            }
            None => prereqs.extend(rule.prereqs.iter().cloned()),
        }
    }
    // Files its run needs (`$(objpfx)<test>.out: $(objpfx)<module>.so`).
    let out = format!("{binary}.out");
    for rule in &make.rules {
        if rule.pattern.is_none() && rule.targets.contains(&out) {
            prereqs.extend(rule.prereqs.iter().filter(|p| p.ends_with(".so")).cloned());
        }
    }
    let file = source_of(make, &object, objpfx);
    let obj_target = format!("{objpfx}{object}.o");
    let mut cflags = words(&make.target_var(&obj_target, "CPPFLAGS"));
    cflags.extend(words(&make.target_var(&obj_target, "CFLAGS")));
    for v in [format!("CPPFLAGS-{file}"), format!("CFLAGS-{file}")] {
        cflags.extend(make.words(&v));
    }
    let mut ldflags = make.words(&format!("LDFLAGS-{name}"));
    ldflags.extend(make.words(&format!("LDLIBS-{name}")));

    let mut env: Vec<(String, String)> = make
        .words(&format!("{name}-ENV"))
        .iter()
        .filter_map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    // 2.44's Rules: `<test>-TUNABLES` (or `-TUNABLES-only`) words joined
    // with `:` become GLIBC_TUNABLES.
    let tun_only = make.words(&format!("{name}-TUNABLES-only"));
    let tun = if tun_only.is_empty() {
        make.words(&format!("{name}-TUNABLES"))
    } else {
        tun_only
    };
    if !tun.is_empty() {
        let joined = tun.join(":");
        match env.iter_mut().find(|(k, _)| k == "GLIBC_TUNABLES") {
            Some((_, v)) => *v = format!("{v}:{joined}"),
            None => env.push(("GLIBC_TUNABLES".to_string(), joined)),
        }
    }

    let mut t = TestCase {
        name: name.to_string(),
        object,
        source: tree.source("malloc", &file),
        cflags,
        ldflags,
        extra_objects: Vec::new(),
        modules: Vec::new(),
        unbuildable: Vec::new(),
        env,
    };
    // Modules its environment preloads are needed too.
    prereqs.extend(
        modules
            .keys()
            .map(|m| format!("{objpfx}{m}.so"))
            .filter(|path| t.env.iter().any(|(_, v)| v.contains(path.as_str()))),
    );
    for p in &prereqs {
        let Some(file) = p.strip_prefix(objpfx) else {
            // Anything outside the malloc build directory that matters is
            // another part of glibc (libmcheck.a, libc_malloc_debug.so),
            // but the C library's own libraries, which every test links
            // (build::LINK_LIBS; 2.23 names nptl/libpthread.so and
            // libpthread_nonshared.a where later versions say
            // $(shared-thread-library)).
            let lib = p.rsplit('/').next().unwrap_or(p);
            if p.contains('/')
                && (p.ends_with(".so") || p.ends_with(".a"))
                && !C_LIBRARY.contains(&lib)
            {
                t.unbuildable.push(lib.to_string());
            }
            continue;
        };
        let file = file.trim_start_matches('/');
        if let Some(o) = file.strip_suffix(".o") {
            let src = tree.source("malloc", &source_of(make, o, objpfx));
            if !t.extra_objects.iter().any(|(e, _)| e == o) {
                t.extra_objects.push((o.to_string(), src));
            }
        } else if let Some(m) = file.strip_suffix(".so") {
            if modules.contains_key(m) {
                if !t.modules.iter().any(|x| x == m) {
                    t.modules.push(m.to_string());
                }
            } else if !t.unbuildable.iter().any(|x| x == file) {
                t.unbuildable.push(file.to_string());
            }
        }
    }
    t
}

/// Libraries of the C library itself that a test may name as a
/// prerequisite; the linked C library provides them.
const C_LIBRARY: &[&str] = &[
    "libc.so",
    "libc_nonshared.a",
    "libpthread.so",
    "libpthread_nonshared.a",
    "libdl.so",
    "librt.so",
];

/// The source file name of `<objpfx><object>.o`: from a pattern rule
/// (`$(objpfx)%-threaded-main.o: %.c`), else `<object>.c`.
fn source_of(make: &Make, object: &str, objpfx: &str) -> String {
    let target = format!("{objpfx}{object}.o");
    for rule in &make.rules {
        if rule.pattern.is_some() {
            continue;
        }
        for t in rule.targets.iter().filter(|t| t.contains('%')) {
            if let Some(stem) = pattern_match(t, &target) {
                // `%.c` (found along the sysdeps chain and in malloc/), not
                // a generated `$(objpfx)%.c`.
                if let Some(src) = rule
                    .prereqs
                    .iter()
                    .find(|p| p.ends_with(".c") && !p.contains('/'))
                {
                    return src.replacen('%', stem, 1);
                }
            }
        }
    }
    format!("{object}.c")
}

/// Splits a compiler flags string as the shell would: quotes and
/// backslashes group and escape; a backquoted command stays in its word,
/// unrun.
pub fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' | '"' | '`' => {
                in_word = true;
                if c == '`' {
                    cur.push('`');
                }
                for n in chars.by_ref() {
                    if n == c {
                        break;
                    }
                    cur.push(n);
                }
                if c == '`' {
                    cur.push('`');
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of a pinned version, its source fetched as conformance
    /// fetches it (the cache, the mirror, Debian's archive).
    fn plan_of(version: &str) -> Plan {
        let manifest = manifest::Manifest::load(&manifest::committed_path(
            &crate::conformance::project(),
            version,
        ))
        .unwrap();
        let cache = source::Cache::default_location().unwrap();
        let root = crate::pinned_source(&manifest, &cache).unwrap().root;
        let chain = resolve::sysdeps::chain(&root, &resolve::sysdeps::Target::x86_64_linux());
        let tree = Tree {
            root: &root,
            chain: &chain,
            tunables: !manifest.tunables.is_empty(),
        };
        let paths = BTreeMap::from([("SRCDIR_PATH".to_string(), "/src".to_string())]);
        Plan::read(&tree, "/o/", "/c/", &paths).unwrap()
    }

    fn test<'a>(plan: &'a Plan, name: &str) -> &'a TestCase {
        plan.tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    #[cfg_attr(
        not(feature = "system-tests"),
        ignore = "fetches glibc trees: the system tier (./dev test)"
    )]
    fn reads_the_makefiles_of_real_trees() {
        {
            let p = plan_of("2.31");
            // From sysdeps/x86_64/Makefile, with its source there.
            assert_eq!(
                test(&p, "tst-mallocalign1").source,
                "sysdeps/x86_64/tst-mallocalign1.c"
            );
            // Rules: the -mcheck variant relinks the base object, with MALLOC_CHECK_=3.
            let v = test(&p, "tst-malloc-mcheck");
            assert_eq!(v.object, "tst-malloc");
            assert_eq!(v.env, vec![("MALLOC_CHECK_".to_string(), "3".to_string())]);
            assert!(test(&p, "tst-malloc")
                .cflags
                .contains(&"-DTEST_NO_MALLOPT".to_string()));
        }
        {
            let p = plan_of("2.36");
            let t = test(&p, "tst-mxfast");
            assert_eq!(
                t.env[0].1,
                "glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0"
            );
            assert!(test(&p, "tst-malloc-check")
                .env
                .iter()
                .any(|(k, v)| k == "LD_PRELOAD" && v.ends_with("libc_malloc_debug.so")));
            assert_eq!(
                test(&p, "tst-calloc-malloc-hugetlb1").env[0].1,
                "glibc.malloc.hugetlb=1"
            );
            let sp = p
                .support
                .iter()
                .find(|f| f.name == "support_paths")
                .unwrap();
            assert!(sp.flags.contains(&"-DSRCDIR_PATH=\"/src\"".to_string()));
        }
        {
            let p = plan_of("2.44");
            let t = test(&p, "tst-malloc-threaded-main");
            assert_eq!(t.source, "malloc/tst-malloc.c");
            assert!(t
                .cflags
                .contains(&"-DTEST_IN_THREAD=TEST_THREAD_MAIN".to_string()));
            // Its own object, compiled with -DTEST_HUGETLB, and -TUNABLES.
            let h = test(&p, "tst-calloc-malloc-hugetlb2");
            assert_eq!(h.object, "tst-calloc-malloc-hugetlb2");
            assert!(h.cflags.contains(&"-DTEST_HUGETLB".to_string()));
            assert_eq!(
                h.env,
                vec![(
                    "GLIBC_TUNABLES".to_string(),
                    "glibc.malloc.hugetlb=2".to_string()
                )]
            );
            assert_eq!(
                test(&p, "tst-malloc-random").modules,
                vec!["tst-aligned_alloc-lib"]
            );
            assert!(p
                .support
                .iter()
                .any(|f| f.source == "sysdeps/generic/support-address-diff.c"));
        }
    }

    #[test]
    fn shell_words_like_sh() {
        assert_eq!(
            shell_words(r#"-DA=\"`cd .. ; pwd`\" '-DB=x y' -DC=false"#),
            vec!["-DA=\"`cd .. ; pwd`\"", "-DB=x y", "-DC=false"]
        );
    }
}
