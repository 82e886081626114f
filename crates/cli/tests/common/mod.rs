//! Shared helpers for the integration tests: real glibc trees, fetched once
//! into the shared cache (outside the repository), and resolutions of them.
//!
//! Sources are fetched through the mirror [`mirror()`] names:
//! `$MALLOC_STANDALONE_MIRROR`, else `../shared/glibc-sources` beside the
//! project when it exists, which is how CI provides release trees of the
//! versions Debian's archive lacks. The resolver binary the tests run gets
//! the same mirror through the environment.

#![allow(dead_code)]

pub mod fixture;
pub mod run;
pub mod tarballs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use harness::ReferenceLibc;
use manifest::Manifest;
use resolve::sysdeps::Target;
use resolve::{self, Options, SourceInfo};
use source::fetch::{self, FetchOptions};
use source::mirror;
use source::{Cache, GlibcSource};

/// Calls the macro `[path]` with `args`, then every version that has a
/// committed manifest as `module: "version"` pairs: the one list
/// [`VERSIONS`] and the per-version test modules ([`per_version!`]) are made
/// from (`manifests.rs` checks it against `nix/manifests/`).
macro_rules! with_versions {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*!(
            $($args)*
            v2_23: "2.23",
            v2_24: "2.24",
            v2_25: "2.25",
            v2_26: "2.26",
            v2_27: "2.27",
            v2_29: "2.29",
            v2_30: "2.30",
            v2_31: "2.31",
            v2_32: "2.32",
            v2_33: "2.33",
            v2_34: "2.34",
            v2_35: "2.35",
            v2_36: "2.36",
            v2_37: "2.37",
            v2_39: "2.39",
            v2_40: "2.40",
            v2_41: "2.41",
            v2_42: "2.42",
            v2_43: "2.43",
            v2_44: "2.44",
        );
    };
}
#[allow(unused_imports)] // Not every test binary has per-version modules.
pub(crate) use with_versions;

macro_rules! versions_const {
    ($($module:ident: $version:literal),* $(,)?) => {
        /// Every version with a committed manifest.
        pub const VERSIONS: &[&str] = &[$($version),*];
    };
}
with_versions!([versions_const]);

/// One test module per version with a committed manifest (`v2_36`, ...),
/// holding one test per `test => function` pair that calls
/// `function("<version>")` of the module that invokes it:
///
/// ```ignore
/// common::per_version! {
///     symbol_hygiene => symbol_hygiene,
///     real_programs_use_it => real_programs,
/// }
/// ```
#[allow(unused_macros)] // Not every test binary has per-version modules.
macro_rules! per_version {
    ($($test:ident => $function:ident),* $(,)?) => {
        $crate::common::with_versions!(
            [$crate::common::per_version] @modules [$($test => $function),*]
        );
    };
    (@modules $tests:tt $($module:ident: $version:literal),* $(,)?) => {
        $(
            mod $module {
                $crate::common::per_version!(@tests $version $tests);
            }
        )*
    };
    (@tests $version:literal [$($test:ident => $function:ident),*]) => {
        $(
            #[test]
            fn $test() {
                super::$function($version)
            }
        )*
    };
}
#[allow(unused_imports)] // Not every test binary has per-version modules.
pub(crate) use per_version;

pub fn project() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .expect("the project root")
}

/// `nix/manifests/glibc-<version>.yaml`.
pub fn pinned_path(version: &str) -> PathBuf {
    manifest::committed_path(&project(), version)
}

pub fn cache() -> Cache {
    Cache::default_location().expect("cache location")
}

/// The mirror of release tarballs the tests fetch through
/// ([`source::mirror::for_project`]), if there is one.
pub fn mirror() -> Option<PathBuf> {
    mirror::for_project(&project())
}

/// What every fetch in the tests starts from: the defaults and [`mirror()`].
pub fn fetch_options() -> FetchOptions {
    FetchOptions {
        mirror: mirror(),
        ..FetchOptions::default()
    }
}

/// apt-get must not run twice at once on the same lists: every test that
/// may reach Debian's archive holds this.
pub fn apt_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The source a committed manifest pins (exact Debian version), or the
/// newest Debian tree of that version when nothing is pinned yet.
pub fn tree(version: &str) -> GlibcSource {
    let _g = apt_lock();
    let got = match Manifest::load(&pinned_path(version)) {
        Ok(m) => fetch::pinned_source(&m, &cache(), &fetch_options()),
        Err(_) => fetch::fetch(version, &cache(), &fetch_options()),
    };
    got.unwrap_or_else(|e| panic!("fetching glibc {version}: {e}"))
}

pub fn info(s: &GlibcSource) -> SourceInfo {
    SourceInfo::of(s)
}

pub fn options() -> Options {
    Options {
        project: project(),
        max_iters: 8,
        target: Target::x86_64_linux(),
    }
}

/// One resolution per version, computed by whichever test asks first.
type Slot = Arc<OnceLock<Arc<Manifest>>>;

/// Resolves a version once per test binary and shares the manifest.
pub fn resolved(version: &str) -> Arc<Manifest> {
    static DONE: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    let cell = DONE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(version.to_owned())
        .or_default()
        .clone();
    cell.get_or_init(|| {
        let src = tree(version);
        let r = resolve::resolve(&info(&src), &options())
            .unwrap_or_else(|e| panic!("resolving glibc {version}: {e}"));
        Arc::new(r.manifest)
    })
    .clone()
}

/// Runs the resolver binary (with [`mirror()`] in its environment).
pub fn resolver(args: &[&str]) -> std::process::Output {
    resolver_command()
        .args(args)
        .output()
        .expect("run resolver")
}

/// The resolver binary, in the project, with [`mirror()`] in its environment.
pub fn resolver_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_resolver"));
    cmd.current_dir(project());
    if let Some(dir) = mirror() {
        cmd.env(mirror::ENV, dir);
    }
    cmd
}

/// The resolver binary with `project` (shims and stubs) and a cache of its
/// own, and none of the caller's environment that changes what it does
/// (iteration limit, debug builds, compiler, mirror): how the hermetic
/// tests run it. (`LIBCLANG_PATH` stays: it is how a machine finds libclang.)
pub fn resolver_in(project: &Path, cache: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_resolver"));
    cmd.arg("--project").arg(project).arg("--cache").arg(cache);
    for var in ["MAX_ITERS", "DEBUG", "CC", mirror::ENV] {
        cmd.env_remove(var);
    }
    cmd
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// What a run printed on stderr.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Values computed once per key per test binary.
pub type OnceMap<T> = OnceLock<Mutex<HashMap<String, Arc<OnceLock<T>>>>>;

/// Computes a value once per key per test binary (whichever test asks
/// first), and shares it.
pub fn once_per<T: Clone + Send + Sync + 'static>(
    map: &'static OnceMap<T>,
    key: &str,
    compute: impl FnOnce() -> T,
) -> T {
    let cell = map
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.to_owned())
        .or_default()
        .clone();
    cell.get_or_init(compute).clone()
}

/// The committed manifest of a version.
pub fn pinned(version: &str) -> Arc<Manifest> {
    static DONE: OnceMap<Arc<Manifest>> = OnceLock::new();
    once_per(&DONE, version, || {
        Arc::new(
            Manifest::load(&pinned_path(version))
                .unwrap_or_else(|e| panic!("loading the pinned manifest of {version}: {e}")),
        )
    })
}

/// A directory for this test binary's build products, under Cargo's
/// per-target temporary directory (kept between runs, so builds are
/// incremental).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// `libmalloc-glibc-<version>.so` built from the committed manifest by
/// `resolver build` (the pinned source, fetched into the shared cache),
/// once per version per test binary. Panics with the build's output when
/// it fails.
pub fn build_so(version: &str) -> PathBuf {
    build_with(version, &[])
}

/// The same with build options switched on (`resolver build --hooks
/// --trace`): `libmalloc-glibc-<version>-<option>...so`.
pub fn build_with(version: &str, options: &[&str]) -> PathBuf {
    static DONE: OnceMap<PathBuf> = OnceLock::new();
    let key = std::iter::once(version)
        .chain(options.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    once_per(&DONE, &key, || {
        let src = tree(version);
        let out = scratch("malloc");
        let manifest = pinned_path(version);
        let started = std::time::Instant::now();
        let mut cmd = resolver_command();
        cmd.arg("build")
            .arg("--manifest")
            .arg(&manifest)
            .arg("--src")
            .arg(&src.root)
            .arg("--out")
            .arg(&out)
            .args(options.iter().map(|o| format!("--{o}")))
            .current_dir(project())
            .env_remove("DEBUG");
        let o = cmd.output().expect("run resolver build");
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "`resolver build` of glibc {version} {options:?} failed ({}):\n{stdout}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        let so = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        let m = pinned(version);
        let wanted: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        let applicable = build::applicable_options(&m, &wanted).expect("options");
        assert_eq!(
            so.file_name().and_then(|n| n.to_str()),
            Some(build::so_name(&m, &applicable, false).as_str()),
            "the last line of `resolver build`'s output should be the .so's path:\n{stdout}"
        );
        assert!(so.is_file(), "{} was not built", so.display());
        eprintln!(
            "built {} in {:.1} s",
            so.display(),
            started.elapsed().as_secs_f64()
        );
        so
    })
}

/// Debian-pinned versions whose real glibc is not in Debian's archive as a
/// `libc6` package (2.42 only ever reached sid as a source upload). The
/// versions pinned to GNU's tarball have none here either: Debian's archive
/// carries only the releases it ships.
pub const NO_REFERENCE: &[&str] = &["2.42"];

/// Whether the real glibc of a pinned version is expected to be at hand.
pub fn has_reference(version: &str) -> bool {
    matches!(
        pinned(version).source.origin,
        manifest::Origin::Debian { .. }
    ) && !NO_REFERENCE.contains(&version)
}

/// The real glibc of `version` (the host's own, or Debian's `libc6`
/// unpacked into the shared cache), or `None` for a version without one
/// ([`has_reference`]), after checking that the archive really has none.
pub fn reference(version: &str) -> Option<Arc<ReferenceLibc>> {
    static DONE: OnceMap<Option<Arc<ReferenceLibc>>> = OnceLock::new();
    once_per(&DONE, version, || {
        let _g = apt_lock();
        match (
            harness::reference_libc(version, &cache(), None),
            has_reference(version),
        ) {
            (Ok(r), true) => Some(Arc::new(r)),
            (Err(harness::ReferenceError::NoReferenceLibc { .. }), false) => None,
            (Ok(r), false) => panic!(
                "Debian's archive now has libc6 {:?} of glibc {version}: pin {version} to Debian \
                 (or take it out of NO_REFERENCE)",
                r.debian_version
            ),
            (Err(e), _) => panic!("the real glibc {version}: {e}"),
        }
    })
}

/// Every file (not directory) under `dir`, relative to it.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

/// Copies a directory tree (a private copy of the project for tests that edit it).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A copy of the resolver binary at `dir/resolver`, as `cargo install`
/// leaves one, ready to run. While the copy is written, another test
/// thread may fork; its child holds the open file until it execs, and
/// running the copy meanwhile fails with ETXTBSY ("Text file busy"). So
/// the copy is run (`--version`) until that has passed: once one exec
/// succeeds, no writer is left, and the parent's descriptor is closed.
pub fn installed_copy(dir: &Path) -> PathBuf {
    let bin = dir.join("resolver");
    std::fs::copy(env!("CARGO_BIN_EXE_resolver"), &bin).expect("copy the resolver binary");
    for _ in 0..500 {
        match std::process::Command::new(&bin).arg("--version").output() {
            Ok(o) if o.status.success() => return bin,
            Ok(o) => panic!("{} --version failed: {}", bin.display(), stderr(&o)),
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Err(e) => panic!("running {}: {e}", bin.display()),
        }
    }
    panic!("{} stayed busy for 5 s", bin.display())
}

/// Where the example patches live, relative to the project.
pub const EXAMPLE_PATCHES: &str = "examples/patches";

/// An example patch's variant for `version`: `examples/patches/<name>/
/// <from>/<name>.diff` with the greatest `<from>` not after `version`
/// (`examples/patches/README.md`); none where the example has no variant.
pub fn example_patch(name: &str, version: &str) -> Option<PathBuf> {
    let key = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    let dir = project().join(EXAMPLE_PATCHES).join(name);
    let mut froms: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    froms.sort_by_key(|f| key(f));
    let from = froms.into_iter().rfind(|f| key(f) <= key(version))?;
    Some(dir.join(from).join(format!("{name}.diff")))
}

/// A temporary directory outside any checkout of the project (no
/// `shims/prelude.h` in it or above it), where an installed resolver must
/// find its project by itself.
pub fn outside_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        dir.path()
            .ancestors()
            .all(|d| !d.join("shims/prelude.h").exists()),
        "the temporary directory must be outside any checkout"
    );
    dir
}
