//! Resolution of real glibc trees (fetched from Debian's archive into the
//! shared cache): pinned manifests are fresh, output is deterministic, and
//! what each version's source says shows up in its manifest.

mod common;

use common::*;
use resolver::manifest::{Manifest, Provider, TranslationUnit};

const REGENERATE: &str = "cargo run -p resolver -- resolve --pinned";

#[test]
fn pinned_manifests_are_fresh() {
    let mut stale = Vec::new();
    for v in VERSIONS {
        let fresh = resolved(v);
        let yaml_path = pinned_path(v);
        let json_path = yaml_path.with_extension("json");
        let yaml = std::fs::read_to_string(&yaml_path).unwrap_or_default();
        let json = std::fs::read_to_string(&json_path).unwrap_or_default();
        if yaml != fresh.to_yaml() {
            stale.push(yaml_path.display().to_string());
        }
        if json != fresh.to_json() {
            stale.push(json_path.display().to_string());
        }
        // The JSON twin carries exactly the YAML's data.
        if !yaml.is_empty() && !json.is_empty() {
            assert_eq!(
                Manifest::parse(&yaml, "yaml").unwrap(),
                Manifest::parse(&json, "json").unwrap()
            );
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing manifests: {stale:?}\nregenerate them with `{REGENERATE}` \
         (for a version not pinned yet: `cargo run -p resolver -- resolve --glibc <version>`) \
         and review the diff"
    );
}

#[test]
fn resolution_is_deterministic() {
    let src = tree("2.36");
    let a = resolver::resolve::resolve(&info(&src), &options()).unwrap();
    let b = resolver::resolve::resolve(&info(&src), &options()).unwrap();
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

/// Allocator history (DESIGN.md) as the manifests must report it.
#[test]
fn features_follow_the_source() {
    // (version, tcache key, safe-linking, hooks, morecore, fastbins, eager init, mallinfo2, free_sized)
    let expect = [
        ("2.31", true, false, true, true, true, false, false, false),
        ("2.36", true, true, false, false, true, false, true, false),
        ("2.41", true, true, false, false, true, false, true, false),
        ("2.42", true, true, false, false, true, true, true, false),
        ("2.43", true, true, false, false, false, true, true, true),
        ("2.44", true, true, false, false, false, true, true, true),
    ];
    for (v, key, safe, hooks, morecore, fast, eager, mi2, fs) in expect {
        let m = resolved(v);
        let f = |n: &str| {
            m.features
                .get(n)
                .copied()
                .unwrap_or_else(|| panic!("{v}: no feature {n}"))
        };
        assert!(f("tcache"), "{v}: tcache");
        assert_eq!(f("tcache_double_free_key"), key, "{v}: tcache key");
        assert_eq!(f("safe_linking"), safe, "{v}: safe-linking");
        assert_eq!(f("hooks"), hooks, "{v}: hooks");
        assert_eq!(f("morecore"), morecore, "{v}: morecore");
        assert_eq!(f("fastbins"), fast, "{v}: fastbins");
        assert_eq!(f("eager_init"), eager, "{v}: eager init");
        assert_eq!(f("mallinfo2"), mi2, "{v}: mallinfo2");
        assert_eq!(f("free_sized"), fs, "{v}: free_sized");
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
        // Every version answers mallinfo2: its own from 2.33, a stub's bridge
        // before (the host's <malloc.h> declares it, so programs call it).
        assert!(has("mallinfo2"), "{v}: mallinfo2");
        let since = &m
            .exports
            .iter()
            .find(|e| e.name == "mallinfo2")
            .unwrap()
            .since;
        assert_eq!(
            since == "bridge",
            *v == "2.31",
            "{v}: mallinfo2 since {since}"
        );
        assert_eq!(has("__malloc_hook"), *v == "2.31", "{v}: hooks");
        // __morecore on every version, for experiments (stubs/morecore.c);
        // malloc.c itself calls it only up to 2.33.
        assert!(
            has("__morecore") && has("__default_morecore"),
            "{v}: __morecore"
        );
        assert_eq!(
            m.features["morecore"],
            *v == "2.31",
            "{v}: native __morecore"
        );
        // Never the obstack, mcheck or mtrace families, nor compat-only names.
        for n in ["_obstack_begin", "mcheck", "mtrace", "cfree"] {
            assert!(!has(n), "{v}: {n} must not be exported");
        }
        // reallocarray lives in its own file: the resolver found it there.
        assert!(
            m.translation_units.contains(&TranslationUnit::Glibc {
                path: "malloc/reallocarray.c".into()
            }),
            "{v}: reallocarray.c"
        );
    }
}

#[test]
fn version_specific_translation_units_come_from_the_source() {
    let tus = |v: &str| resolved(v).translation_units.clone();
    // 2.31's malloc.c calls __default_morecore, which lives in morecore.c.
    assert!(tus("2.31").contains(&TranslationUnit::Glibc {
        path: "malloc/morecore.c".into()
    }));
    assert!(!tus("2.36").contains(&TranslationUnit::Glibc {
        path: "malloc/morecore.c".into()
    }));
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
    let host = resolver::host::HostLibc::detect().unwrap();
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
