//! Resolution of real glibc trees (fetched from Debian's archive into the
//! shared cache, or from the mirror in `../shared`): pinned manifests are
//! fresh, output is deterministic, what each version's source says shows up
//! in its manifest, and the command line's errors on real trees. (The same
//! machinery on small fixtures, hermetic: `fixtures.rs` and `cli.rs`.)

mod common;

use common::*;
use manifest::{Manifest, Provider, TranslationUnit};

const REGENERATE: &str = "cargo run -p resolver -- resolve --pinned";

/// Re-resolving every pinned version gives its committed manifest, byte for
/// byte. A manifest records the host it was resolved on (its libc, exports
/// and headers: ARCHITECTURE.md, "What a manifest takes from the host");
/// where that is not this host, a difference is reported as the host's,
/// not as staleness, and a manifest that differs in nothing but that record
/// is fresh.
#[test]
fn pinned_manifests_are_fresh() {
    let mut stale = Vec::new();
    let mut other_host = Vec::new();
    for v in VERSIONS {
        let fresh = resolved(v);
        let yaml_path = pinned_path(v);
        let json_path = yaml_path.with_extension("json");
        let yaml = std::fs::read_to_string(&yaml_path).unwrap_or_default();
        let json = std::fs::read_to_string(&json_path).unwrap_or_default();
        if yaml == fresh.to_yaml() && json == fresh.to_json() {
            continue;
        }
        let committed = Manifest::parse(&yaml, &yaml_path.display().to_string()).ok();
        let recorded = committed.as_ref().and_then(|m| m.host.clone());
        match (committed, recorded) {
            (Some(committed), Some(was)) if Some(&was) != fresh.host.as_ref() => {
                let mut differs = differing_fields(&committed, &fresh);
                differs.retain(|f| f != "host");
                let now = fresh.host.as_ref().expect("the resolver records the host");
                if differs.is_empty() {
                    eprintln!(
                        "{}: fresh; resolved on host libc {was}, this host has {now}",
                        yaml_path.display()
                    );
                    continue;
                }
                other_host.push(format!(
                    "{} was resolved against host libc {was}; this host has {now}. Resolved \
                     here it differs in {}: that may be the host's doing, not staleness",
                    yaml_path.display(),
                    differs.join(", ")
                ));
            }
            _ => {
                if yaml != fresh.to_yaml() {
                    stale.push(yaml_path.display().to_string());
                }
                if json != fresh.to_json() {
                    stale.push(json_path.display().to_string());
                }
            }
        }
    }
    assert!(
        other_host.is_empty(),
        "{}\ncheck their freshness on a host like the one they record, or re-resolve them on \
         this one with `{REGENERATE}` and review the diff (docs/adding-a-version.md)",
        other_host.join("\n")
    );
    assert!(
        stale.is_empty(),
        "stale or missing manifests: {stale:?}\nregenerate them with `{REGENERATE}` \
         (for a version not pinned yet: `cargo run -p resolver -- resolve --glibc <version>`) \
         and review the diff"
    );
}

/// The top-level fields in which two manifests differ.
fn differing_fields(a: &Manifest, b: &Manifest) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
    );
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

#[test]
fn resolution_is_deterministic() {
    let src = tree("2.36");
    let a = resolve::resolve(&info(&src), &options()).unwrap();
    let b = resolve::resolve(&info(&src), &options()).unwrap();
    assert_eq!(a.manifest.to_yaml(), b.manifest.to_yaml());
    assert_eq!(a.graph.to_dot(), b.graph.to_dot());
    // No absolute paths leak into the manifest.
    let yaml = a.manifest.to_yaml();
    for p in [
        src.root.display().to_string(),
        project().display().to_string(),
        "/usr/include".into(),
    ] {
        assert!(!yaml.contains(&p), "manifest mentions {p}");
    }
}

/// Allocator history (glibc's NEWS of each release, summed up in
/// docs/adding-a-version.md) as the manifests must report it.
#[test]
fn features_follow_the_source() {
    // (version, tcache, tcache key, safe-linking, hooks, morecore, fastbins,
    // eager init, mallinfo2, free_sized, MALLOC_CHECK_ in malloc.c, tunables,
    // hugepages)
    #[rustfmt::skip]
    let expect = [
        ("2.23", 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0),
        ("2.24", 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0),
        ("2.25", 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0),
        ("2.26", 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0),
        ("2.27", 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0),
        ("2.29", 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0),
        ("2.30", 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0),
        ("2.31", 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0),
        ("2.32", 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0),
        ("2.33", 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0),
        ("2.34", 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0),
        ("2.35", 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1),
        ("2.36", 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1),
        ("2.37", 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1),
        ("2.39", 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1),
        ("2.40", 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1),
        ("2.41", 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1),
        ("2.42", 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1),
        ("2.43", 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1),
        ("2.44", 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1),
    ];
    assert_eq!(
        expect.iter().map(|e| e.0).collect::<Vec<_>>(),
        VERSIONS,
        "every pinned version's history is listed here"
    );
    for (v, tcache, key, safe, hooks, morecore, fast, eager, mi2, fs, check, tun, huge) in expect {
        let m = resolved(v);
        let f = |n: &str| u8::from(m.features.has(n.parse().unwrap()));
        assert_eq!(f("tcache"), tcache, "{v}: tcache");
        assert_eq!(f("tcache_double_free_key"), key, "{v}: tcache key");
        assert_eq!(f("safe_linking"), safe, "{v}: safe-linking");
        assert_eq!(f("hooks"), hooks, "{v}: hooks");
        assert_eq!(f("morecore"), morecore, "{v}: morecore");
        assert_eq!(f("fastbins"), fast, "{v}: fastbins");
        assert_eq!(f("eager_init"), eager, "{v}: eager init");
        assert_eq!(f("mallinfo2"), mi2, "{v}: mallinfo2");
        assert_eq!(f("free_sized"), fs, "{v}: free_sized");
        assert_eq!(f("malloc_check_in_malloc"), check, "{v}: MALLOC_CHECK_");
        assert_eq!(f("tunables"), tun, "{v}: tunables");
        assert_eq!(f("hugepages"), huge, "{v}: hugepages");
        assert_eq!(
            manifest::Feature::ALL.len(),
            12,
            "{v}: a feature not checked here"
        );
    }
}

#[test]
fn exports_are_the_versions_public_api() {
    for v in VERSIONS {
        let m = resolved(v);
        let names: Vec<&str> = m.exports.iter().map(|e| e.name.as_str()).collect();
        for n in [
            "malloc",
            "free",
            "calloc",
            "realloc",
            "reallocarray",
            "memalign",
            "posix_memalign",
            "aligned_alloc",
            "valloc",
            "pvalloc",
            "malloc_usable_size",
            "mallopt",
            "mallinfo",
            "malloc_trim",
            "malloc_stats",
            "malloc_info",
            "__libc_malloc",
            "__libc_free",
        ] {
            assert!(names.contains(&n), "{v}: {n} not exported: {names:?}");
        }
        let has = |n: &str| names.contains(&n);
        let since = |n: &str| {
            m.exports
                .iter()
                .find(|e| e.name == n)
                .map(|e| e.since.as_str())
                .unwrap_or_else(|| panic!("{v}: {n} not exported"))
        };
        let ver = source::parse_version(v).unwrap();
        // The host's allocator API that a version lacks is bridged by a stub
        // (the host's <malloc.h> declares it, so programs call it):
        // mallinfo2 before 2.33, reallocarray before 2.26.
        assert_eq!(
            since("mallinfo2") == "bridge",
            ver < (2, 33),
            "{v}: mallinfo2"
        );
        assert_eq!(
            since("reallocarray") == "bridge",
            ver < (2, 26),
            "{v}: reallocarray since {}",
            since("reallocarray")
        );
        // reallocarray lives in its own file from 2.26: the resolver found
        // it there; before, the bridge's stub defines it.
        let unit = if ver < (2, 26) {
            TranslationUnit::Stub {
                path: "stubs/reallocarray.c".into(),
            }
        } else {
            TranslationUnit::Glibc {
                path: "malloc/reallocarray.c".into(),
            }
        };
        assert!(m.translation_units.contains(&unit), "{v}: {unit:?}");
        // The hooks are API up to 2.33, compatibility symbols after.
        assert_eq!(has("__malloc_hook"), ver < (2, 34), "{v}: hooks");
        // __morecore on every version, for experiments (stubs/morecore.c);
        // malloc.c itself calls it only up to 2.33.
        assert!(
            has("__morecore") && has("__default_morecore"),
            "{v}: __morecore"
        );
        assert_eq!(m.features.morecore, ver < (2, 34), "{v}: native __morecore");
        // Never the obstack, mcheck or mtrace families; names that became
        // compatibility symbols only while they were API (cfree up to 2.25,
        // malloc_get_state and malloc_set_state up to 2.24,
        // __malloc_initialize_hook up to 2.23).
        for n in ["_obstack_begin", "mcheck", "mtrace"] {
            assert!(!has(n), "{v}: {n} must not be exported");
        }
        assert_eq!(has("cfree"), ver < (2, 26), "{v}: cfree");
        assert_eq!(
            has("malloc_get_state"),
            ver < (2, 25),
            "{v}: malloc_get_state"
        );
        assert_eq!(
            has("malloc_set_state"),
            ver < (2, 25),
            "{v}: malloc_set_state"
        );
        assert_eq!(
            has("__malloc_initialize_hook"),
            ver < (2, 24),
            "{v}: __malloc_initialize_hook"
        );
    }
}

#[test]
fn version_specific_translation_units_come_from_the_source() {
    let tus = |v: &str| resolved(v).translation_units.clone();
    // Up to 2.33 malloc.c calls __default_morecore, which lives in
    // morecore.c; from 2.34 malloc.c includes morecore.c itself.
    let morecore = TranslationUnit::Glibc {
        path: "malloc/morecore.c".into(),
    };
    for v in VERSIONS {
        let before_2_34 = source::parse_version(v).unwrap() < (2, 34);
        assert_eq!(tus(v).contains(&morecore), before_2_34, "{v}: morecore.c");
    }
    // Upstream 2.35 to 2.37 size the arena limit with __get_nprocs_sched
    // from their own getsysstats.c (Debian's 2.36 calls __get_nprocs).
    let getsysstats = |v: &str| {
        tus(v)
            .iter()
            .any(|t| t.path() == "sysdeps/unix/sysv/linux/getsysstats.c")
    };
    assert!(getsysstats("2.35") && getsysstats("2.37"));
    assert!(!getsysstats("2.36") && !getsysstats("2.34") && !getsysstats("2.39"));
    // Up to 2.23 malloc registers its fork handlers itself (stubs/atfork.c
    // links them in); up to 2.26 malloc_printerr names the program
    // (stubs/argv.c) and formats the pointer with _itoa_word.
    let has_stub = |v: &str, s: &str| {
        tus(v).contains(&TranslationUnit::Stub {
            path: format!("stubs/{s}"),
        })
    };
    for v in VERSIONS {
        let ver = source::parse_version(v).unwrap();
        assert_eq!(has_stub(v, "atfork.c"), ver < (2, 24), "{v}: atfork.c");
        assert_eq!(has_stub(v, "argv.c"), ver < (2, 27), "{v}: argv.c");
    }
    // From 2.39 malloc names its mappings with __set_vma_name (Linux sysdeps setvmaname.c).
    let has_vma = |v: &str| {
        resolved(v)
            .translation_units
            .iter()
            .any(|t| t.path().contains("setvmaname"))
    };
    assert!(has_vma("2.41"));
    assert!(has_vma("2.43"));
    assert!(!has_vma("2.36"));
}

#[test]
fn mappings_point_at_real_host_exports() {
    let host = resolve::host::HostLibc::detect().unwrap();
    for v in VERSIONS {
        let m = resolved(v);
        assert!(
            !m.defines.is_empty(),
            "{v}: expected some internal aliases mapped"
        );
        for s in &m.symbols {
            match &s.provider {
                Provider::Mapped { to } => {
                    assert!(
                        host.exports(to),
                        "{v}: {} mapped to {to}, not exported",
                        s.name
                    );
                    assert_eq!(m.defines.get(&s.name), Some(to));
                }
                Provider::Host => assert!(host.exports(&s.name), "{v}: {}", s.name),
                Provider::Stub { file } => assert!(m.stubs.iter().any(|p| &p.path == file)),
                Provider::Glibc { file } => assert!(m.verbatim.iter().any(|p| &p.path == file)),
            }
        }
        // The mmap family is always mapped to its public name.
        assert_eq!(
            m.defines.get("__mmap").map(String::as_str),
            Some("mmap"),
            "{v}"
        );
    }
}

#[test]
fn verify_accepts_the_tree_and_names_a_changed_file() {
    let src = tree("2.36");
    let m = resolved("2.36");
    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(manifest.path(), m.to_yaml()).unwrap();
    let mpath = manifest.path().to_str().unwrap();
    let out = resolver(&[
        "verify",
        "--manifest",
        mpath,
        "--src",
        src.root.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A copy of the pinned files with one byte changed in arena.c.
    let copy = tempfile::tempdir().unwrap();
    for f in &m.verbatim {
        let to = copy.path().join(&f.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.root.join(&f.path), &to).unwrap();
    }
    std::fs::copy(src.root.join("version.h"), copy.path().join("version.h")).unwrap();
    let arena = copy.path().join("malloc/arena.c");
    let mut text = std::fs::read(&arena).unwrap();
    text.push(b'\n');
    std::fs::write(&arena, text).unwrap();
    let out = resolver(&[
        "verify",
        "--manifest",
        mpath,
        "--src",
        copy.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("malloc/arena.c"), "{err}");
    assert!(
        !err.contains("malloc/malloc.c:"),
        "only the changed file is named: {err}"
    );
}

// ---------------------------------------------------------------- the command line on real trees

fn assert_fails_with(o: &std::process::Output, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "should fail; stderr: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr lacks {n:?}: {e}");
    }
}

fn empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// Releases whose allocator this approach cannot build are refused with the
/// reason their own source gives, and nothing is written: up to 2.19 the
/// thread library is a configure add-on with sysdeps of its own.
#[test]
fn releases_that_cannot_be_done_are_refused_with_their_reason() {
    for v in ["2.17", "2.19"] {
        let tarball = project()
            .join("../shared/glibc-sources")
            .join(format!("glibc-{v}.tar.xz"));
        assert!(tarball.is_file(), "{} is missing", tarball.display());
        let out = tempfile::tempdir().unwrap();
        let o = resolver(&[
            "resolve",
            "--src",
            tarball.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ]);
        assert_fails_with(
            &o,
            &[&format!("glibc {v} cannot be resolved"), "nptl/sysdeps"],
        );
        assert!(empty(out.path()), "glibc {v} left files behind");
    }
}

#[test]
fn a_missing_shim_is_reported_with_its_include_chain() {
    let src = tree("2.36");
    // A copy of the project without the tunables shim: glibc's own
    // elf/dl-tunables.h takes its place and wants a header only glibc's build
    // generates.
    let proj = tempfile::tempdir().unwrap();
    copy_dir(&project().join("shims"), &proj.path().join("shims"));
    copy_dir(&project().join("stubs"), &proj.path().join("stubs"));
    std::fs::remove_file(proj.path().join("shims/elf/dl-tunables.h")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = resolver(&[
        "--project",
        proj.path().to_str().unwrap(),
        "resolve",
        "--src",
        src.root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_fails_with(
        &o,
        &[
            "header <dl-tunable-list.h> not found (included at elf/dl-tunables.h:",
            "add shims/dl-tunable-list.h",
            "why: malloc/malloc.c (verbatim)",
            "-> malloc/arena.c (verbatim)",
        ],
    );
    assert!(empty(out.path()));
}
