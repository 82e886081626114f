//! Resolution on small fixtures (`tests/fixtures/`, see its README): a
//! glibc-like tree of a few hand-written files, resolved through the
//! library with libclang and this host's libc, as a real tree is. What the
//! manifest must say (the files pinned, the include order, who provides
//! each symbol, the exports, bridges and tunables), and the error a broken
//! tree gets. Hermetic: nothing is fetched, no cache is used.

mod common;

use common::fixture::{self, Fixture};
use manifest::{Export, IncludeDir, Provider, TranslationUnit};

fn paths(files: &[manifest::PinnedFile]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

fn provider(m: &manifest::Manifest, name: &str) -> Provider {
    m.symbols
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no symbol {name}: {:?}", m.symbols))
        .provider
        .clone()
}

#[test]
fn pins_the_files_that_took_part_and_nothing_else() {
    let m = fixture::resolve().manifest;
    // Included, found along the sysdeps chain, or compiled; not the generic
    // header the machine's shadows, nor files only read for their data.
    assert_eq!(
        paths(&m.verbatim),
        [
            "include/tiny-internal.h",
            "malloc/arena.c",
            "malloc/malloc.c",
            "malloc/malloc.h",
            "misc/tiny_page_size.c",
            "sysdeps/x86/tiny-atomic.h",
            "sysdeps/x86_64/tiny-machine.h",
        ]
    );
    assert_eq!(paths(&m.shims), ["shims/prelude.h", "shims/tiny-config.h"]);
    assert_eq!(
        paths(&m.stubs),
        [
            "stubs/fatal.c",
            "stubs/options/entry.c",
            "stubs/options/trace.c",
            "stubs/options/trace.h",
            "stubs/usable.c",
        ]
    );
    // Every hash is the file's.
    for (root, files) in [
        (fixture::tree(), &m.verbatim),
        (fixture::project(), &m.shims),
        (fixture::project(), &m.stubs),
    ] {
        for f in files {
            let bytes = std::fs::read(root.join(&f.path)).unwrap();
            assert_eq!(f.sha256, manifest::digest::sha256(&bytes), "{}", f.path);
        }
    }
    assert_eq!(m.version, fixture::VERSION);
    assert_eq!(m.source.origin, manifest::Origin::Tree);
}

#[test]
fn sysdeps_chain_and_include_order() {
    let m = fixture::resolve().manifest;
    // sysdeps/x86_64 from the target, sysdeps/x86 from its Implies, generic last.
    assert_eq!(
        m.sysdeps,
        ["sysdeps/x86_64", "sysdeps/x86", "sysdeps/generic"]
    );
    // Only the directories that supplied a file, in chain order, after ours
    // and the host's; the tree's root last.
    let glibc = |p: &str| IncludeDir::Glibc { path: p.into() };
    assert_eq!(
        m.include_order,
        [
            IncludeDir::ForceInclude {
                path: "shims/prelude.h".into()
            },
            IncludeDir::Shims {
                path: "shims".into()
            },
            IncludeDir::Generated { path: "gen".into() },
            IncludeDir::Host,
            glibc("include"),
            glibc("sysdeps/x86_64"),
            glibc("sysdeps/x86"),
            glibc(""),
        ]
    );
}

#[test]
fn every_need_has_the_provider_the_rules_give() {
    let r = fixture::resolve();
    let m = &r.manifest;
    // An internal alias the host keeps private, mapped to its public name.
    assert_eq!(
        provider(m, "__mmap"),
        Provider::Mapped { to: "mmap".into() }
    );
    assert_eq!(
        provider(m, "__munmap"),
        Provider::Mapped {
            to: "munmap".into()
        }
    );
    assert_eq!(m.defines.get("__mmap").map(String::as_str), Some("mmap"));
    // What the rest of libc would provide: our stub.
    assert_eq!(
        provider(m, "__tiny_fatal"),
        Provider::Stub {
            file: "stubs/fatal.c".into()
        }
    );
    // A routine of another subdirectory, found by its name.
    assert_eq!(
        provider(m, "__tiny_page_size"),
        Provider::Glibc {
            file: "misc/tiny_page_size.c".into()
        }
    );
    // The host's own exports.
    for n in ["sysconf", "mmap", "abort", "write"] {
        assert_eq!(provider(m, n), Provider::Host, "{n}");
    }
    // Translation units in the order the loop added them: malloc.c, then
    // what its first round needed (by name), arena.c never (it is included).
    assert_eq!(
        m.translation_units,
        [
            TranslationUnit::Glibc {
                path: "malloc/malloc.c".into()
            },
            TranslationUnit::Stub {
                path: "stubs/fatal.c".into()
            },
            TranslationUnit::Glibc {
                path: "misc/tiny_page_size.c".into()
            },
            TranslationUnit::Stub {
                path: "stubs/usable.c".into()
            },
        ]
    );
    assert_eq!(r.iterations, 2);
}

#[test]
fn exports_bridges_features_and_tunables() {
    let m = fixture::resolve().manifest;
    let export = |name: &str, since: &str| Export {
        name: name.into(),
        since: since.into(),
    };
    // malloc/Versions' names that the build defines (not the private
    // __libc_malloc), and the host's <malloc.h> API the fixture lacks,
    // bridged by a stub.
    assert_eq!(
        m.exports,
        [
            export("free", "GLIBC_2.2.5"),
            export("malloc", "GLIBC_2.2.5"),
            export("malloc_usable_size", "bridge"),
        ]
    );
    // Read off the parsed source: malloc_state has fastbinsY, and malloc
    // reads tunables; the rest is absent.
    let on: Vec<&str> = m.features.enabled().map(|f| f.name()).collect();
    assert_eq!(on, ["fastbins", "tunables"]);
    // The namespace malloc.c reads (TUNABLE_NAMESPACE), not rtld's.
    let names: Vec<&str> = m.tunables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["glibc.malloc.tiny_limit"]);
    assert_eq!(m.tunables[0].default.as_deref(), Some("4096"));
    assert_eq!(
        m.tunables[0].env_alias.as_deref(),
        Some("MALLOC_TINY_LIMIT_")
    );
    // trace is always offered; hooks only where the source has them.
    assert_eq!(m.options.keys().collect::<Vec<_>>(), ["trace"]);
}

#[test]
fn resolution_is_deterministic_and_has_no_machine_paths() {
    let a = fixture::resolve();
    let b = fixture::resolve();
    assert_eq!(a.manifest.to_yaml(), b.manifest.to_yaml());
    assert_eq!(a.manifest.to_json(), b.manifest.to_json());
    assert_eq!(a.graph.to_dot(), b.graph.to_dot());
    // The same tree elsewhere gives the same manifest.
    let copy = Fixture::copy();
    assert_eq!(
        copy.resolve().unwrap().manifest.to_yaml(),
        a.manifest.to_yaml()
    );
    let yaml = a.manifest.to_yaml();
    for p in [
        fixture::tree().display().to_string(),
        fixture::project().display().to_string(),
        "/usr/include".into(),
        "/tmp".into(),
    ] {
        assert!(!yaml.contains(&p), "the manifest mentions {p}");
    }
    // The JSON twin carries the same data.
    assert_eq!(
        manifest::Manifest::parse(&a.manifest.to_json(), "json").unwrap(),
        a.manifest
    );
}

/// The manifest says which host it was resolved on: its libc's banner and
/// what identifies its exports and the host headers read, never a path.
#[test]
fn the_host_it_was_resolved_on_is_recorded() {
    let m = fixture::resolve().manifest;
    let host = m.host.clone().expect("a host record");
    assert!(
        host.libc.starts_with("GNU C Library ") && host.libc.contains("release version 2."),
        "{}",
        host.libc
    );
    let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(
        hex64(&host.exports_sha256) && hex64(&host.headers_sha256),
        "{host:?}"
    );
    // Another plan on the same host: another header read, the same exports.
    let f = Fixture::copy();
    f.edit(
        "misc/tiny_page_size.c",
        "#include <unistd.h>\n",
        "#include <unistd.h>\n#include <stdint.h>\n",
    );
    let other = f.resolve().unwrap().manifest.host.unwrap();
    assert_eq!(
        (&other.libc, &other.exports_sha256),
        (&host.libc, &host.exports_sha256)
    );
    assert_ne!(other.headers_sha256, host.headers_sha256);
}

// ---------------------------------------------------------------- broken trees

/// The error of a resolution that must fail.
fn error(f: &Fixture) -> String {
    match f.resolve() {
        Ok(r) => panic!("resolved anyway:\n{}", r.manifest.to_yaml()),
        Err(e) => e.to_string(),
    }
}

fn assert_says(err: &str, needles: &[&str]) {
    for n in needles {
        assert!(err.contains(n), "{n:?} not in:\n{err}");
    }
}

#[test]
fn a_header_nobody_has_is_named_with_its_include_chain() {
    let f = Fixture::copy();
    std::fs::remove_file(f.project().join("shims/tiny-config.h")).unwrap();
    assert_says(
        &error(&f),
        &[
            "glibc 2.99: resolution converged but",
            "header <tiny-config.h> not found (included at malloc/malloc.c:11)",
            "add shims/tiny-config.h",
            "why: malloc/malloc.c (verbatim)",
        ],
    );
}

#[test]
fn a_header_missing_deeper_names_the_file_that_includes_it() {
    let f = Fixture::copy();
    std::fs::remove_file(f.tree().join("sysdeps/x86/tiny-atomic.h")).unwrap();
    assert_says(
        &error(&f),
        &[
            "header <tiny-atomic.h> not found (included at sysdeps/x86_64/tiny-machine.h:2)",
            "why: malloc/malloc.c (verbatim)",
            "-> sysdeps/x86_64/tiny-machine.h (verbatim)",
        ],
    );
}

#[test]
fn a_symbol_nothing_provides_is_named_with_its_caller() {
    let f = Fixture::copy();
    f.edit(
        "malloc/malloc.c",
        "  arena_count (&main_arena);\n",
        "  arena_count (&main_arena);\n  __tiny_nowhere ();\n",
    );
    f.edit(
        "include/tiny-internal.h",
        "#endif\n",
        "extern void __tiny_nowhere (void);\n#endif\n",
    );
    assert_says(
        &error(&f),
        &[
            "`__tiny_nowhere` is needed but nothing provides it",
            "no stub defines it, the host libc does not export it",
            "__libc_malloc",
        ],
    );
}

#[test]
fn an_undeclared_name_is_reported_where_it_is_used() {
    let f = Fixture::copy();
    f.edit(
        "malloc/arena.c",
        "  tiny_atomic_increment (&av->count);\n",
        "  tiny_atomic_increment (&av->count);\n  __tiny_undeclared (av);\n",
    );
    assert_says(
        &error(&f),
        &[
            "`__tiny_undeclared` is used at malloc/arena.c:8 without a declaration",
            "declare it in a shim header",
        ],
    );
}

#[test]
fn a_bridge_without_its_stub_is_refused() {
    let f = Fixture::copy();
    std::fs::remove_file(f.project().join("stubs/usable.c")).unwrap();
    assert_says(
        &error(&f),
        &[
            "`malloc_usable_size` is allocator API of the host's <malloc.h> that glibc 2.99 lacks",
            "add a stub",
        ],
    );
}

#[test]
fn public_api_the_build_does_not_define_is_refused() {
    let f = Fixture::copy();
    f.edit(
        "malloc/malloc.h",
        "extern void free (void *ptr);\n",
        "extern void free (void *ptr);\nextern void *calloc (size_t n, size_t size);\n",
    );
    assert_says(
        &error(&f),
        &["`calloc` is public API of this version (malloc/Versions, malloc/malloc.h) but no glibc file or stub in the build defines it"],
    );
}

#[test]
fn configure_add_ons_with_sysdeps_are_refused_with_their_reason() {
    let f = Fixture::copy();
    let t = f.tree();
    std::fs::write(
        t.join("configure.ac"),
        "AC_ARG_ENABLE([add-ons], [AS_HELP_STRING([--enable-add-ons])])\n",
    )
    .unwrap();
    std::fs::create_dir_all(t.join("nptl/sysdeps/pthread")).unwrap();
    std::fs::write(t.join("nptl/configure"), "libc_add_on_canonical=nptl\n").unwrap();
    assert_says(
        &error(&f),
        &[
            "glibc 2.99 cannot be resolved",
            "nptl/sysdeps",
            "2.20 or later",
        ],
    );
}

#[test]
fn a_loop_cut_short_names_what_it_still_added() {
    let f = Fixture::copy();
    let err = resolve::resolve(
        &resolve::SourceInfo::of(
            &source::open(&f.tree(), &source::Cache::new(f.dir.path().join("cache"))).unwrap(),
        ),
        &resolve::Options {
            project: f.project(),
            max_iters: 1,
            target: resolve::sysdeps::Target::x86_64_linux(),
        },
    )
    .err()
    .expect("one round cannot converge")
    .to_string();
    assert_says(
        &err,
        &[
            "glibc 2.99: still changing after 1 iterations",
            "-D__mmap=mmap",
            "stubs/fatal.c",
            "misc/tiny_page_size.c",
        ],
    );
}
