//! The Nix flake, offline: the real `flake.nix` is evaluated and built with
//! Debian's Nix, its `nixpkgs` input overridden by the small stand-in in
//! `nix/standin` (only what the flake uses, over the host's toolchain).
//!
//! Checked here: the committed lock pins a real nixpkgs and reads offline;
//! the flake lists exactly one package (and a `-debug` one) per manifest in
//! `nix/manifests/` and per set of the build options it offers (`-hooks`,
//! `-trace`, `-hooks-trace`), plus `resolver` and `default`; each package's
//! `src` is the fixed-output fetch of the download its manifest pins; the
//! generated tunables header and version script are byte-identical to the
//! Rust builder's; every flake check builds in the sandbox (every package,
//! its smoke run under `LD_PRELOAD`, a trace from each `-trace` package, the
//! formatting of the Nix files); every `.so` exports the same symbols as the
//! one `resolver build` makes from the same manifest, is byte-identical to
//! it once debug info and build-id are stripped, and runs `ls`; packages
//! with `src` overridden by a local tarball (from a user's own flake) build
//! the same `.so`, and a tarball failing a pin fails naming the file and
//! both hashes; built packages copied to a signed `file://` binary cache are
//! substituted into a fresh store without building; the dev shell has gdb
//! and its gdbinit finds `main_arena` and `mp_`.
//!
//! The pinned downloads are put into the Nix store by their pinned hash first
//! (`nix-store --add-fixed sha256`, from the shared download cache), so the
//! flake's real fixed-output fetches need no network. A GNU release tarball
//! that cannot be downloaded here is not faked: that version's packages are
//! built from the upstream tree in `../shared/glibc-sources/` through `src`
//! instead, which the per-file pins admit. `scripts/setup-nix.sh` installs
//! Nix (root only) and is run first; it does nothing when all is in place.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use build::{self, BuildOptions};
use common::run::describe;
use common::{apt_lock, cache, fetch_options, project, scratch};
use manifest::{self, Manifest, Origin};
use source::fetch::FetchError;

const SYSTEM: &str = "x86_64-linux";

/// The version whose package must build (the host's glibc).
const HOST_VERSION: &str = "2.36";

/// Versions built from the upstream release trees in
/// `../shared/glibc-sources/` through the packages' `src` override, and
/// compared with `resolver build` of the same tarball (issue 13). Each must
/// have a manifest in `nix/manifests/`; a missing one fails the test.
const OVERRIDE_VERSIONS: &[&str] = &["2.23", "2.27", "2.35", "2.39"];

/// Upstream glibc release trees, `glibc-<version>.tar.xz` (reduced exports,
/// not GNU's tarballs byte for byte, but every file they hold is the
/// release's own; see its README).
fn shared_sources() -> PathBuf {
    let dir = project().join("../shared/glibc-sources");
    dir.canonicalize().unwrap_or(dir)
}

/// `../shared/glibc-sources/glibc-<version>.tar.xz`; panics if it is missing.
fn shared_tarball(version: &str) -> PathBuf {
    let path = shared_sources().join(format!("glibc-{version}.tar.xz"));
    assert!(
        path.is_file(),
        "{} is missing: the offline Nix test builds glibc {version} from it",
        path.display()
    );
    path
}

/// Every committed manifest, from its JSON twin (what the flake reads).
fn manifests() -> Vec<Manifest> {
    manifest::committed(&project())
        .unwrap()
        .into_iter()
        .map(|(_, yaml)| {
            Manifest::load(&yaml.with_extension("json")).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// Every variant the flake should build of `m`: no options and each set of
/// the options it offers (sorted, as `resolver build` names them), each
/// in release and debug.
fn variants(m: &Manifest) -> Vec<(Vec<String>, bool)> {
    let offered: Vec<&String> = m.options.keys().collect();
    (0..1usize << offered.len())
        .map(|mask| {
            let mut set: Vec<String> = offered
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, o)| o.to_string())
                .collect();
            set.sort();
            set
        })
        .flat_map(|set| [(set.clone(), false), (set, true)])
        .collect()
}

/// The flake's attribute for a variant: the `.so`'s name as `resolver
/// build` gives it, dots made underscores (`malloc-glibc-2_36-trace-debug`).
fn attr(m: &Manifest, options: &[String], debug: bool) -> String {
    let so = build::so_name(m, options, debug);
    let variant = so
        .strip_prefix("libmalloc-glibc-")
        .and_then(|v| v.strip_suffix(".so"))
        .unwrap_or_else(|| panic!("unexpected .so name {so}"));
    format!("malloc-glibc-{}", variant.replace('.', "_"))
}

/// One Nix command at a time: the machine is shared, and every command
/// copies the flake and may build.
fn nix_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The sandbox, whatever nix.conf says (Debian's nix-bin ships `sandbox =
/// false`), over the host's /usr, /lib and /lib64, which the stand-in's
/// tools come from. (Never /bin: on a merged-/usr host it is /usr/bin.)
const SANDBOX: [&str; 6] = [
    "--option",
    "sandbox",
    "true",
    "--option",
    "extra-sandbox-paths",
    "/usr /lib /lib64",
];

/// `program args...` against the repository's flake with nixpkgs overridden
/// by the stand-in, sandboxed ([`SANDBOX`]), two build jobs of one core
/// each (a package compiles its units one after the other) (the options go
/// before `nix develop`'s `-c`, which takes the rest).
fn nix(program: &str, args: &[&str]) -> Command {
    let standin = format!("path:{}", project().join("nix/standin").display());
    let split = args.iter().position(|a| *a == "-c").unwrap_or(args.len());
    let mut cmd = Command::new(program);
    cmd.args(&args[..split])
        .args(["--override-input", "nixpkgs", &standin])
        .args(["--no-write-lock-file"])
        .args(SANDBOX)
        .args(["--cores", "1"]);
    if !args.contains(&"--max-jobs") {
        cmd.args(["--max-jobs", "2"]);
    }
    cmd.args(&args[split..]).current_dir(project());
    cmd
}

/// Runs a command; panics with its output unless it succeeds.
fn run(mut cmd: Command) -> Output {
    let started = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", describe(&cmd)));
    assert!(
        out.status.success(),
        "`{}` failed ({}):\n{}\n{}",
        describe(&cmd),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        tail(&out.stderr)
    );
    // What Nix took, for the timings in docs/nix.md ("What is verified, and where").
    if cmd.get_program().to_string_lossy().starts_with("nix") {
        eprintln!(
            "{:.1} s: {}",
            started.elapsed().as_secs_f64(),
            describe(&cmd)
        );
    }
    out
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// What [`prepared`] found.
struct Prepared {
    /// Versions whose pinned download cannot be had here (a GNU release
    /// tarball, offline): their packages are built from
    /// `../shared/glibc-sources/` through `src` instead of from the pinned
    /// download, which is never faked.
    local: BTreeSet<String>,
}

/// Nix installed and configured, the flake's files tracked by git, and every
/// manifest's pinned download that can be had in the Nix store under the
/// path its fixed-output fetch names. Done once per test binary.
fn prepared() -> &'static Prepared {
    static DONE: OnceLock<Prepared> = OnceLock::new();
    DONE.get_or_init(|| {
        let started = Instant::now();
        let setup = project().join("scripts/setup-nix.sh");
        let out = Command::new("bash").arg(&setup).output().unwrap();
        assert!(
            out.status.success(),
            "{} failed; the Nix tests need Nix (Debian's nix-bin) set up by it, as root:\n{}{}",
            setup.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        // A flake sees only what git tracks: its own files, the manifests,
        // and the shims and stubs they use.
        let mut read: BTreeSet<String> = ["flake.nix", "flake.lock", "nix", "tests/c/whoami.c"]
            .map(String::from)
            .into();
        for m in manifests() {
            read.extend(m.shims.iter().chain(&m.stubs).map(|f| f.path.clone()));
        }
        let untracked = run({
            let mut c = Command::new("git");
            c.args(["ls-files", "--others", "--exclude-standard", "--"])
                .args(&read)
                .current_dir(project());
            c
        });
        let untracked = String::from_utf8_lossy(&untracked.stdout);
        assert!(
            untracked.trim().is_empty(),
            "files the flake reads are not tracked by git, so Nix cannot see them; `git add` them:\n{untracked}"
        );

        let mut local = BTreeSet::new();
        for m in manifests() {
            let Some(file) = pinned_download(&m) else {
                shared_tarball(&m.version);
                local.insert(m.version.clone());
                continue;
            };
            let _g = nix_lock();
            run({
                let mut c = Command::new("nix-store");
                c.args(["--add-fixed", "sha256"]).arg(&file);
                c
            });
        }
        eprintln!(
            "prepared the Nix store in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Prepared { local }
    })
}

/// The file a manifest's fixed-output fetch downloads (the Debian package or
/// tarball, or the GNU release tarball), from the shared download cache,
/// fetched there first if need be; checked against the manifest's sha256.
/// `None` for a GNU release tarball that cannot be downloaded here (said on
/// stderr); a Debian download must succeed.
fn pinned_download(m: &Manifest) -> Option<PathBuf> {
    let fetched = {
        let _g = apt_lock();
        // No mirror: Nix fetches the pinned file itself, and for GNU's
        // tarball only its download puts that file in the cache (a tree
        // recorded from the mirror does not).
        let opts = source::fetch::pinned_options(m, &Default::default()).unwrap();
        match &m.source.origin {
            Origin::Gnu { .. } => source::fetch::fetch_gnu(&m.version, &cache(), &opts),
            _ => source::fetch::fetch(&m.version, &cache(), &opts),
        }
    };
    match (&m.source.origin, fetched) {
        (_, Ok(_)) => {}
        (Origin::Gnu { url, .. }, Err(e)) => {
            eprintln!(
                "glibc {}: {url} cannot be had here ({e}); its packages are built from {} through `src`",
                m.version,
                shared_sources().join(format!("glibc-{}.tar.xz", m.version)).display()
            );
            return None;
        }
        (_, Err(e)) => panic!("fetching the source glibc {} pins: {e}", m.version),
    }
    let (dir, url, sha256) = match &m.source.origin {
        Origin::Debian {
            file_name, sha256, ..
        } => ("downloads/debian", file_name, sha256),
        Origin::Gnu { url, sha256 } => ("downloads/gnu", url, sha256),
        other => panic!(
            "glibc {}'s manifest pins a source Nix cannot fetch: {other:?}",
            m.version
        ),
    };
    let name = url.rsplit('/').next().unwrap();
    let path = cache().root().join(dir).join(name);
    let actual = manifest::digest::sha256_file(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the download the manifest of glibc {} pins should be there after fetching)",
            path.display(),
            m.version
        )
    });
    assert_eq!(
        &actual,
        sha256,
        "{} is not the pinned download",
        path.display()
    );
    Some(path)
}

/// The glibc tree `resolver build` builds a manifest from, as the flake's
/// package is built: the pinned source, or for a version in
/// [`Prepared::local`] the shared tarball.
fn reference_tree(m: &Manifest, prep: &Prepared) -> PathBuf {
    let _g = apt_lock();
    let src = if prep.local.contains(&m.version) {
        source::open(&shared_tarball(&m.version), &cache()).map_err(FetchError::from)
    } else {
        source::fetch::pinned_source(m, &cache(), &fetch_options())
    };
    src.unwrap_or_else(|e| panic!("the source of glibc {}: {e}", m.version))
        .root
}

/// `resolver build` of one variant of a manifest from `tree` into `out`,
/// with the compiler the stand-in's stdenv uses; the `.so`'s path.
fn resolver_build(
    m: &Manifest,
    tree: &Path,
    options: &[String],
    debug: bool,
    out: &Path,
) -> PathBuf {
    let mut opts = BuildOptions::new(out.to_path_buf(), debug);
    opts.cc = "gcc".into();
    opts.jobs = 2;
    opts.options = options.to_vec();
    build::build(m, tree, &project(), &opts)
        .unwrap_or_else(|e| panic!("resolver build of glibc {}: {e}", m.version))
        .so
}

/// A flake in `dir` that uses this repository's flake as a user's own flake
/// would (`inputs.malloc-standalone`, its nixpkgs overridden by the stand-in
/// through [`consumer`]): `files` are copied next to its `flake.nix` (so
/// that `./<name>` reads them in pure evaluation), `packages` are its
/// packages as Nix expressions over `ours` (this flake's packages), and its
/// checks are this flake's smoke checks (nix/checks.nix) of those packages.
fn consumer_flake(dir: &Path, files: &[(&str, &Path)], packages: &[(String, String)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, from) in files {
        let to = dir.join(name);
        // Same bytes, same store path: a rerun builds nothing.
        if std::fs::read(&to).ok() != Some(std::fs::read(from).unwrap()) {
            std::fs::copy(from, &to)
                .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
        }
    }
    let packages: String = packages
        .iter()
        .map(|(name, expr)| format!("        {name} = {expr};\n"))
        .collect();
    let flake = format!(
        r#"{{
  inputs.malloc-standalone.url = "git+file://{project}";
  outputs = {{ self, malloc-standalone }}:
    let
      ours = malloc-standalone.packages.{SYSTEM};
      pkgs = malloc-standalone.inputs.nixpkgs.legacyPackages.{SYSTEM};
    in
    {{
      packages.{SYSTEM} = {{
{packages}      }};
      checks.{SYSTEM} = removeAttrs
        (import "${{malloc-standalone}}/nix/checks.nix" {{
          inherit (pkgs) lib runCommand stdenv nixpkgs-fmt;
          mallocPackages = self.packages.{SYSTEM};
          nixFiles = null;
        }}) [ "formatting" ];
    }};
}}
"#,
        project = project().display()
    );
    std::fs::write(dir.join("flake.nix"), flake).unwrap();
}

/// `program args...` on the flake in `dir` made by [`consumer_flake`], this
/// flake's nixpkgs overridden by the stand-in, as [`nix`] does.
fn consumer(dir: &Path, program: &str, args: &[&str]) -> Command {
    let standin = format!("path:{}", project().join("nix/standin").display());
    let mut cmd = Command::new(program);
    cmd.args(args)
        .args(["--override-input", "malloc-standalone/nixpkgs", &standin])
        .args(["--no-write-lock-file"])
        .args(SANDBOX)
        .args(["--max-jobs", "2", "--cores", "1"])
        .current_dir(dir);
    cmd
}

/// `nix build` of every package of the consumer flake in `dir` (under the
/// Nix lock): where each is, by name.
fn build_consumer_packages(
    dir: &Path,
    packages: &[(String, String)],
) -> std::collections::BTreeMap<String, PathBuf> {
    let args: Vec<String> = ["build", "--no-link"]
        .map(String::from)
        .into_iter()
        .chain(packages.iter().map(|(a, _)| installable(dir, a)))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _g = nix_lock();
    run(consumer(dir, "nix", &args));
    consumer_outs(dir)
}

/// Where each package of the consumer flake in `dir` is, by name.
fn consumer_outs(dir: &Path) -> std::collections::BTreeMap<String, PathBuf> {
    let outs = json(&run(consumer(
        dir,
        "nix",
        &[
            "eval",
            "--json",
            &installable(dir, &format!("packages.{SYSTEM}")),
            "--apply",
            "ps: builtins.mapAttrs (n: p: p.outPath) ps",
        ],
    )));
    outs.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), PathBuf::from(v.as_str().unwrap())))
        .collect()
}

/// `path:<dir>#<attr>`: an installable of a consumer flake.
fn installable(dir: &Path, attr: &str) -> String {
    format!("path:{}#{attr}", dir.display())
}

#[test]
fn lock_pins_real_nixpkgs_and_reads_offline() {
    prepared();
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project().join("flake.lock")).unwrap())
            .unwrap();
    assert_eq!(lock["version"], 7);
    assert_eq!(
        keys(&lock["nodes"]["root"]["inputs"]),
        BTreeSet::from(["nixpkgs".to_string()]),
        "nixpkgs must be the only input"
    );
    let locked = &lock["nodes"]["nixpkgs"]["locked"];
    assert_eq!(locked["type"], "github");
    assert_eq!(
        (&locked["owner"], &locked["repo"]),
        (&"NixOS".into(), &"nixpkgs".into())
    );
    let rev = locked["rev"].as_str().unwrap();
    assert!(
        rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
        "rev {rev}"
    );
    assert!(locked["narHash"].as_str().unwrap().starts_with("sha256-"));

    // The lock as committed reads without network...
    let _g = nix_lock();
    let mut plain = Command::new("nix");
    plain
        .args(["flake", "metadata", "--json", "--no-write-lock-file"])
        .current_dir(project());
    let meta = json(&run(plain));
    assert_eq!(meta["locks"]["nodes"]["nixpkgs"]["locked"]["rev"], rev);
    // ...and the stand-in replaces it for evaluation, leaving the file alone.
    let meta = json(&run(nix("nix", &["flake", "metadata", "--json"])));
    assert_eq!(meta["locks"]["nodes"]["nixpkgs"]["locked"]["type"], "path");
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project().join("flake.lock")).unwrap())
            .unwrap();
    assert_eq!(after, lock, "a Nix command rewrote flake.lock");
}

#[test]
fn one_package_per_manifest() {
    prepared();
    let ms = manifests();
    let versions: Vec<&str> = ms.iter().map(|m| m.version.as_str()).collect();
    assert!(
        ms.iter()
            .any(|m| m.options.contains_key("hooks") && m.options.contains_key("trace")),
        "no manifest offers both build options, so the option packages go untested"
    );
    let show = {
        let _g = nix_lock();
        json(&run(nix("nix", &["flake", "show", "--json"])))
    };

    let mut want: BTreeSet<String> = ms
        .iter()
        .flat_map(|m| variants(m).into_iter().map(|(o, d)| attr(m, &o, d)))
        .collect();
    want.extend(["resolver".to_string(), "default".to_string()]);
    assert_eq!(keys(&show["packages"][SYSTEM]), want, "packages");

    let mut shells: BTreeSet<String> = versions
        .iter()
        .map(|v| format!("glibc-{}", v.replace('.', "_")))
        .collect();
    shells.insert("default".into());
    assert_eq!(keys(&show["devShells"][SYSTEM]), shells, "devShells");

    let mut checks: BTreeSet<String> = want
        .iter()
        .filter(|a| a.starts_with("malloc-glibc-"))
        .map(|a| format!("{a}-smoke"))
        .collect();
    checks.insert("formatting".into());
    assert_eq!(keys(&show["checks"][SYSTEM]), checks, "checks");

    // `default` is the newest pinned glibc.
    let _g = nix_lock();
    let default = run(nix(
        "nix",
        &[
            "eval",
            "--raw",
            &format!(".#packages.{SYSTEM}.default.version"),
        ],
    ));
    assert_eq!(
        String::from_utf8_lossy(&default.stdout),
        *versions.last().unwrap()
    );
}

/// The flake's `resolver` is built from a `src` that holds every directory
/// `crates/cli/build.rs` embeds (its `DIRS`), file for file: without them
/// the build script fails, and an installed resolver would lack its
/// manifests, shims and stubs. (The stand-in builds no Rust; this is what
/// can be checked offline.)
#[test]
fn resolver_src_holds_what_its_build_script_embeds() {
    prepared();
    let build_rs = std::fs::read_to_string(project().join("crates/cli/build.rs")).unwrap();
    let line = build_rs
        .lines()
        .find(|l| l.starts_with("const DIRS:"))
        .expect("build.rs names the directories it embeds in `const DIRS`");
    let dirs: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
    assert!(dirs.contains(&"nix/manifests"), "{line}");
    let src = {
        let _g = nix_lock();
        let out = run(nix(
            "nix",
            &[
                "eval",
                "--raw",
                &format!(".#packages.{SYSTEM}.resolver.src"),
            ],
        ));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    assert!(
        src.join("crates/cli/build.rs").is_file(),
        "{}",
        src.display()
    );
    for dir in dirs {
        let files = common::files_under(&project().join(dir));
        assert!(!files.is_empty(), "{dir} is empty");
        for f in files {
            let rel = Path::new(dir).join(&f);
            assert_eq!(
                std::fs::read(src.join(&rel)).ok(),
                std::fs::read(project().join(&rel)).ok(),
                "{}: the resolver's src ({}) lacks it or holds another",
                rel.display(),
                src.display()
            );
        }
    }
}

/// `nix eval --json .#packages.<system> --apply <apply>`.
fn packages_with(apply: &str) -> serde_json::Value {
    let _g = nix_lock();
    json(&run(nix(
        "nix",
        &[
            "eval",
            "--json",
            &format!(".#packages.{SYSTEM}"),
            "--apply",
            apply,
        ],
    )))
}

#[test]
fn generated_files_equal_the_rust_builders() {
    prepared();
    let apply =
        "ps: builtins.mapAttrs (n: p: { inherit (p) version tunablesHeader versionScript; }) \
                 (removeAttrs ps [ \"resolver\" \"default\" ])";
    let got = packages_with(apply);
    for m in manifests() {
        for (options, debug) in variants(&m) {
            let name = attr(&m, &options, debug);
            let p = &got[&name];
            assert_eq!(p["version"], m.version.as_str(), "{name}");
            assert_eq!(
                p["tunablesHeader"].as_str().unwrap(),
                manifest::tunables_header(&m.tunables),
                "glibc {}: the flake's {} differs from the Rust builder's",
                m.version,
                manifest::TUNABLES_HEADER
            );
            assert_eq!(
                p["versionScript"].as_str().unwrap(),
                build::version_script(&m, &options),
                "{name}: the flake's version script differs from the Rust builder's"
            );
        }
    }
}

/// `nm -D --defined-only` of a shared object: what it exports.
fn exports(so: &Path) -> String {
    let out = run({
        let mut c = Command::new("nm");
        c.args(["-D", "--defined-only"]).arg(so);
        c
    });
    String::from_utf8(out.stdout).unwrap()
}

/// The shared object without debug info and build-id (the only parts that
/// record build paths: the build-id hashes the debug info).
fn stripped(so: &Path, dir: &Path, name: &str) -> Vec<u8> {
    let dest = dir.join(name);
    run({
        let mut c = Command::new("objcopy");
        c.args(["--strip-debug", "--remove-section=.note.gnu.build-id"])
            .arg(so)
            .arg(&dest);
        c
    });
    std::fs::read(dest).unwrap()
}

/// The flake's `.so` against `resolver build`'s of the same manifest: the
/// same exports, byte-identical outside debug info and build-id, and `ls`
/// runs under it.
fn assert_same_so(from_nix: &Path, reference: &Path, work: &Path, what: &str) {
    assert!(from_nix.is_file(), "{} is missing", from_nix.display());
    assert_eq!(
        exports(from_nix),
        exports(reference),
        "{what}: the flake's exports differ from `resolver build`'s"
    );
    let a = stripped(from_nix, work, &format!("{what}.nix"));
    let b = stripped(reference, work, &format!("{what}.resolver"));
    assert!(
        a == b,
        "{what}: the flake's .so differs from `resolver build`'s beyond debug info and build-id \
         (compare {} and {})",
        from_nix.display(),
        reference.display()
    );
    let ls = run({
        let mut c = Command::new("ls");
        c.args(["-la", "/"]).env("LD_PRELOAD", from_nix);
        c
    });
    assert!(
        !ls.stdout.is_empty() && ls.stderr.is_empty(),
        "{what} under ls: {}",
        tail(&ls.stderr)
    );
}

/// The out paths `nix build --json` gives (in no particular order).
fn built_outs(out: &Output) -> Vec<PathBuf> {
    json(out)
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", String::from_utf8_lossy(&out.stdout)))
        .iter()
        .map(|b| PathBuf::from(b["outputs"]["out"].as_str().unwrap()))
        .collect()
}

#[test]
fn flake_checks_pass_and_every_so_matches_resolver_build() {
    let prep = prepared();
    let ms = manifests();
    assert!(
        ms.iter().any(|m| m.version == HOST_VERSION),
        "no manifest for the host's glibc {HOST_VERSION}"
    );
    // Every output evaluates; then every check builds: each package, its
    // smoke run, and the formatting check. (`nix flake check` builds them
    // all; a package whose pinned download cannot be had here is built from
    // the shared tree instead, below.)
    let pinned: Vec<&Manifest> = ms
        .iter()
        .filter(|m| !prep.local.contains(&m.version))
        .collect();
    let checks: Vec<String> = std::iter::once("formatting".to_string())
        .chain(pinned.iter().flat_map(|m| {
            variants(m)
                .into_iter()
                .map(|(o, d)| format!("{}-smoke", attr(m, &o, d)))
        }))
        .map(|c| format!(".#checks.{SYSTEM}.{c}"))
        .collect();
    {
        let _g = nix_lock();
        run(nix("nix", &["flake", "check", "--no-build"]));
        let mut args = vec!["build", "--no-link"];
        args.extend(checks.iter().map(String::as_str));
        run(nix("nix", &args));
    }
    // `nix build` of the host's version and of its traced variant, by name,
    // as a user would.
    for suffix in ["", "-trace"] {
        let _g = nix_lock();
        let host = format!(".#malloc-glibc-{}{suffix}", HOST_VERSION.replace('.', "_"));
        let built = json(&run(nix("nix", &["build", "--json", "--no-link", &host])));
        assert_eq!(built.as_array().map(Vec::len), Some(1), "{host}: {built}");
    }
    // Where each package is (the checks built them all).
    let apply =
        "ps: builtins.mapAttrs (n: p: p.outPath) (removeAttrs ps [ \"resolver\" \"default\" ])";
    let mut outs: std::collections::BTreeMap<String, PathBuf> = {
        let all = packages_with(apply);
        all.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), PathBuf::from(v.as_str().unwrap())))
            .collect()
    };

    // Every variant of a version whose pinned download cannot be had here,
    // with `src` the shared tree, from a user's flake; its smoke checks too.
    let local: Vec<(String, String)> = ms
        .iter()
        .filter(|m| prep.local.contains(&m.version))
        .flat_map(|m| {
            variants(m).into_iter().map(move |(o, d)| {
                let a = attr(m, &o, d);
                let expr = format!(
                    "ours.{a}.overrideAttrs (o: {{ src = ./glibc-{}.tar.xz; }})",
                    m.version
                );
                (a, expr)
            })
        })
        .collect();
    if !local.is_empty() {
        let dir = scratch("nix-local-all");
        let tarballs: Vec<(String, PathBuf)> = prep
            .local
            .iter()
            .map(|v| (format!("glibc-{v}.tar.xz"), shared_tarball(v)))
            .collect();
        let files: Vec<(&str, &Path)> = tarballs
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_path()))
            .collect();
        consumer_flake(&dir, &files, &local);
        // The smoke checks build the packages.
        let mut args = vec!["build".to_string(), "--no-link".into()];
        args.extend(
            local
                .iter()
                .map(|(a, _)| installable(&dir, &format!("checks.{SYSTEM}.{a}-smoke"))),
        );
        let _g = nix_lock();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(consumer(&dir, "nix", &args));
        outs.extend(consumer_outs(&dir));
    }

    let work = scratch("nix");
    let mut identical = Vec::new();
    for (m, options, debug) in ms
        .iter()
        .flat_map(|m| variants(m).into_iter().map(move |(o, d)| (m, o, d)))
    {
        let name = build::so_name(m, &options, debug);
        let from_nix = outs[&attr(m, &options, debug)].join("lib").join(&name);
        let tree = reference_tree(m, prep);
        let reference = resolver_build(m, &tree, &options, debug, &work.join("resolver-build"));
        assert_same_so(&from_nix, &reference, &work, &name);
        identical.push(if prep.local.contains(&m.version) {
            format!("{name} (from ../shared)")
        } else {
            name
        });
    }
    eprintln!(
        "byte-identical to `resolver build` once debug info and build-id are stripped: {}",
        identical.join(" ")
    );
}

/// Every package's `src` is the fixed-output fetch of the download its
/// manifest pins, as nixpkgs' fetchurl gives it: `outputHash` is the pinned
/// sha256 (the Debian package's or GNU's tarball's), flat.
#[test]
fn src_is_the_pinned_download() {
    prepared();
    let apply = "ps: builtins.mapAttrs (n: p: { inherit (p.src) name url outputHash outputHashAlgo outputHashMode; }) \
                 (removeAttrs ps [ \"resolver\" \"default\" ])";
    let got = packages_with(apply);
    for m in manifests() {
        let (file, sha256) = match (&m.source.origin, &m.source.gnu) {
            (
                Origin::Debian {
                    file_name, sha256, ..
                },
                _,
            ) => (file_name, sha256),
            (Origin::Gnu { url, sha256 }, _) => (url, sha256),
            (_, Some(gnu)) => (&gnu.url, &gnu.sha256),
            (other, None) => panic!("glibc {}: nothing to fetch for {other:?}", m.version),
        };
        let name = file.rsplit('/').next().unwrap();
        for (options, debug) in variants(&m) {
            let a = attr(&m, &options, debug);
            let src = &got[&a];
            assert_eq!(src["outputHash"], sha256.as_str(), "{a}.src.outputHash");
            assert_eq!(src["outputHashAlgo"], "sha256", "{a}.src.outputHashAlgo");
            assert_eq!(src["outputHashMode"], "flat", "{a}.src.outputHashMode");
            assert_eq!(src["name"], name, "{a}.src.name");
            assert!(
                src["url"].as_str().unwrap().ends_with(&format!("/{name}")),
                "{a}.src.url: {}",
                src["url"]
            );
        }
    }
    // As the issue spells it, for the host's version.
    let m = manifests()
        .into_iter()
        .find(|m| m.version == HOST_VERSION)
        .unwrap();
    let Origin::Debian { sha256, .. } = &m.source.origin else {
        panic!("glibc {HOST_VERSION} is pinned to Debian's package")
    };
    let _g = nix_lock();
    let out = run(nix(
        "nix",
        &[
            "eval",
            "--raw",
            &format!(
                ".#malloc-glibc-{}.src.outputHash",
                HOST_VERSION.replace('.', "_")
            ),
        ],
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout), *sha256);
}

/// The versions of [`OVERRIDE_VERSIONS`], each built by a user's flake with
/// `src` the upstream tarball from `../shared/glibc-sources/` (not the
/// pinned download: a different archive, whose files pass the per-file
/// pins), and compared with `resolver build` of the same tarball.
#[test]
fn src_override_builds_each_listed_version_from_a_local_tarball() {
    let prep = prepared();
    let ms = manifests();
    let missing: Vec<&str> = OVERRIDE_VERSIONS
        .iter()
        .copied()
        .filter(|v| !ms.iter().any(|m| m.version == *v))
        .collect();
    assert!(
        missing.is_empty(),
        "no manifest in nix/manifests/ for glibc {}: the flake has no package to build from \
         ../shared/glibc-sources/ (resolve and pin them: cargo run -p resolver -- resolve --glibc <version>)",
        missing.join(", ")
    );
    let listed: Vec<&Manifest> = OVERRIDE_VERSIONS
        .iter()
        .map(|v| ms.iter().find(|m| m.version == *v).unwrap())
        .collect();
    let tarballs: Vec<(String, PathBuf)> = listed
        .iter()
        .map(|m| {
            (
                format!("glibc-{}.tar.xz", m.version),
                shared_tarball(&m.version),
            )
        })
        .collect();
    let files: Vec<(&str, &Path)> = tarballs
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_path()))
        .collect();
    let packages: Vec<(String, String)> = listed
        .iter()
        .map(|m| {
            let a = attr(m, &[], false);
            let expr = format!(
                "ours.{a}.overrideAttrs (o: {{ src = ./glibc-{}.tar.xz; }})",
                m.version
            );
            (a, expr)
        })
        .collect();
    let dir = scratch("nix-local-listed");
    consumer_flake(&dir, &files, &packages);
    let outs = build_consumer_packages(&dir, &packages);
    let work = scratch("nix-local-listed-work");
    for m in &listed {
        let out = &outs[&attr(m, &[], false)];
        let name = build::so_name(m, &[], false);
        let tree = source::open(&shared_tarball(&m.version), &cache())
            .unwrap_or_else(|e| panic!("glibc {}: {e}", m.version))
            .root;
        let reference = resolver_build(m, &tree, &[], false, &work.join("resolver-build"));
        assert_same_so(&out.join("lib").join(&name), &reference, &work, &name);
        eprintln!(
            "{name} from {} ({}): byte-identical to `resolver build`'s outside debug info",
            shared_tarball(&m.version).display(),
            if prep.local.contains(&m.version) {
                "its pinned download cannot be had here"
            } else {
                "not its pinned download"
            }
        );
    }
}

/// `tar` of `root`'s single directory into `<root>.tar.xz`, the same bytes
/// for the same files (so a rerun builds nothing).
fn tar_xz(root: &Path) -> PathBuf {
    let dest = root.with_extension("tar.xz");
    let top = std::fs::read_dir(root).unwrap().next().unwrap().unwrap();
    run({
        let mut c = Command::new("tar");
        c.args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
        ])
        .args(["-cJf"])
        .arg(&dest)
        .arg("-C")
        .arg(root)
        .arg(top.file_name())
        .env("XZ_OPT", "-T1");
        c
    });
    dest
}

/// A tarball is admitted by its files, not by its own hash: one holding only
/// the host version's verbatim files builds the same `.so` (through
/// `overrideAttrs` and `.override` alike); one with a file changed and
/// another missing fails, naming each with the expected and actual sha256.
#[test]
fn src_override_takes_any_tarball_holding_the_pinned_files() {
    let prep = prepared();
    let m = manifests()
        .into_iter()
        .find(|m| m.version == HOST_VERSION)
        .unwrap();
    let tree = reference_tree(&m, prep);
    let work = scratch("nix-any-tarball");
    let top = format!("glibc-{}", m.version);

    // Only the verbatim files, nothing else (no version.h, no Makefile).
    let copy_tree = |name: &str| -> PathBuf {
        let root = work.join(name);
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        for f in &m.verbatim {
            let to = root.join(&top).join(&f.path);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(tree.join(&f.path), &to).unwrap();
        }
        root
    };
    let minimal = tar_xz(&copy_tree("minimal"));

    let tampered_root = copy_tree("tampered");
    let changed = "malloc/malloc.c";
    let changed_path = tampered_root.join(&top).join(changed);
    let mut text = std::fs::read(&changed_path).unwrap();
    text.extend_from_slice(b"/* not glibc's */\n");
    std::fs::write(&changed_path, &text).unwrap();
    let changed_actual = manifest::digest::sha256_file(&changed_path).unwrap();
    let removed = m
        .verbatim
        .iter()
        .rfind(|f| f.path != changed)
        .expect("more than one verbatim file");
    std::fs::remove_file(tampered_root.join(&top).join(&removed.path)).unwrap();
    let tampered = tar_xz(&tampered_root);
    let pin = |path: &str| {
        m.verbatim
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} is not pinned"))
            .sha256
            .clone()
    };

    let a = attr(&m, &[], false);
    let dir = work.join("flake");
    consumer_flake(
        &dir,
        &[("minimal.tar.xz", &minimal), ("tampered.tar.xz", &tampered)],
        &[
            (
                "minimal".into(),
                format!("ours.{a}.overrideAttrs (o: {{ src = ./minimal.tar.xz; }})"),
            ),
            (
                "minimal-override".into(),
                format!("ours.{a}.override {{ src = ./minimal.tar.xz; }}"),
            ),
            (
                "tampered".into(),
                format!("ours.{a}.overrideAttrs (o: {{ src = ./tampered.tar.xz; }})"),
            ),
            ("pinned".into(), format!("ours.{a}")),
        ],
    );

    // Both ways of overriding give the same derivation, not the pinned one.
    let drvs = {
        let _g = nix_lock();
        json(&run(consumer(
            &dir,
            "nix",
            &[
                "eval",
                "--json",
                &installable(&dir, &format!("packages.{SYSTEM}")),
                "--apply",
                "ps: builtins.mapAttrs (n: p: p.drvPath) ps",
            ],
        )))
    };
    assert_eq!(
        drvs["minimal"], drvs["minimal-override"],
        "overrideAttrs (o: {{ src = ...; }}) and .override {{ src = ...; }} should give the same derivation"
    );
    assert_ne!(
        drvs["minimal"], drvs["pinned"],
        "the override changed nothing"
    );

    let out = {
        let _g = nix_lock();
        built_outs(&run(consumer(
            &dir,
            "nix",
            &[
                "build",
                "--no-link",
                "--json",
                &installable(&dir, "minimal"),
            ],
        )))
        .remove(0)
    };
    let name = build::so_name(&m, &[], false);
    let reference = resolver_build(&m, &tree, &[], false, &work.join("resolver-build"));
    assert_same_so(&out.join("lib").join(&name), &reference, &work, &name);

    let failed = {
        let _g = nix_lock();
        let mut c = consumer(
            &dir,
            "nix",
            &["build", "--no-link", "-L", &installable(&dir, "tampered")],
        );
        c.output().unwrap()
    };
    let log = String::from_utf8_lossy(&failed.stderr);
    assert!(
        !failed.status.success(),
        "a tampered tarball built:\n{}",
        tail(&failed.stderr)
    );
    let v = &m.version;
    for line in [
        format!(
            "glibc {v}: {changed}: expected sha256 {}, actual {changed_actual}",
            pin(changed)
        ),
        format!("glibc {v}: {}: not in /nix/store/", removed.path),
        format!("(expected sha256 {})", removed.sha256),
        format!(
            "tampered.tar.xz is not the source the manifest pins: 2 of its {} verbatim files differ from their pins",
            m.verbatim.len()
        ),
    ] {
        assert!(
            log.contains(&line),
            "the failed build should say `{line}`:\n{}",
            tail(&failed.stderr)
        );
    }
}

/// Removes a directory tree that may hold a Nix store (read-only paths).
fn remove_tree(dir: &Path) {
    if dir.exists() {
        run({
            let mut c = Command::new("chmod");
            c.arg("-R").arg("u+w").arg(dir);
            c
        });
        std::fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("removing {}: {e}", dir.display()));
    }
}

/// Nix's own distribution of built packages: `nix copy --to` a `file://`
/// binary cache, signed with a key of our own, then a fresh store (a
/// separate root) gets the same output from it with local builds forbidden
/// (`--max-jobs 0`), so it was substituted, not rebuilt; a key it does not
/// trust gets nothing.
#[test]
fn binary_cache_substitutes_built_packages_into_a_fresh_store() {
    prepared();
    let work = scratch("nix-cache");
    for sub in ["cache", "store", "untrusted-store"] {
        remove_tree(&work.join(sub));
    }
    let key_name = "malloc-standalone-test-1";
    let secret = work.join("secret-key");
    let generated = run({
        let mut c = Command::new("nix");
        c.args(["key", "generate-secret", "--key-name", key_name]);
        c
    });
    std::fs::write(&secret, &generated.stdout).unwrap();
    let public_key = |secret: &[u8]| -> String {
        let mut child = Command::new("nix")
            .args(["key", "convert-secret-to-public"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), secret).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let public = public_key(&generated.stdout);

    let host = format!(".#malloc-glibc-{}", HOST_VERSION.replace('.', "_"));
    let cache_url = format!("file://{}", work.join("cache").display());
    let _g = nix_lock();
    let out = built_outs(&run(nix("nix", &["build", "--no-link", "--json", &host]))).remove(0);
    let copy_to = format!("{cache_url}?secret-key={}", secret.display());
    run(nix("nix", &["copy", "--to", &copy_to, &host]));

    let fresh = work.join("store");
    let fresh_arg = fresh.display().to_string();
    let substituted = run(nix(
        "nix",
        &[
            "build",
            "--no-link",
            "--json",
            "--store",
            &fresh_arg,
            "--substituters",
            &cache_url,
            "--option",
            "trusted-public-keys",
            &public,
            "--max-jobs",
            "0",
            &host,
        ],
    ));
    assert_eq!(
        built_outs(&substituted),
        std::slice::from_ref(&out),
        "the same output path"
    );
    let log = String::from_utf8_lossy(&substituted.stderr);
    assert!(
        log.contains(&format!(
            "copying path '{}' from '{cache_url}'",
            out.display()
        )) && !log.contains("building '"),
        "the fresh store should have copied {} from the cache and built nothing:\n{log}",
        out.display()
    );
    let info = json(&run(nix(
        "nix",
        &[
            "path-info",
            "--json",
            "--sigs",
            "--store",
            &fresh_arg,
            out.to_str().unwrap(),
        ],
    )));
    let sigs = info[0]["signatures"].to_string();
    assert!(
        sigs.contains(&format!("\"{key_name}:")),
        "{} in the fresh store should carry the cache's signature: {info}",
        out.display()
    );
    // What the package is made from never reached the fresh store.
    let src = String::from_utf8(
        run(nix(
            "nix",
            &["eval", "--raw", &format!("{host}.src.outPath")],
        ))
        .stdout,
    )
    .unwrap();
    let src_there = nix("nix", &["path-info", "--store", &fresh_arg, &src])
        .output()
        .unwrap();
    assert!(
        !src_there.status.success(),
        "{src} (the pinned download) is in the fresh store: something was built"
    );
    // The same bytes, under the fresh store's root.
    let m = manifests()
        .into_iter()
        .find(|m| m.version == HOST_VERSION)
        .unwrap();
    let so = out.join("lib").join(build::so_name(&m, &[], false));
    let in_fresh = fresh.join(so.strip_prefix("/").unwrap());
    assert!(
        std::fs::read(&in_fresh).ok() == Some(std::fs::read(&so).unwrap()),
        "{} differs from {}",
        in_fresh.display(),
        so.display()
    );

    // Signed by a key the store does not trust: nothing is substituted, and
    // nothing may be built.
    let other = run({
        let mut c = Command::new("nix");
        c.args(["key", "generate-secret", "--key-name", "someone-else-1"]);
        c
    });
    let untrusted = work.join("untrusted-store").display().to_string();
    let refused = nix(
        "nix",
        &[
            "build",
            "--no-link",
            "--store",
            &untrusted,
            "--substituters",
            &cache_url,
            "--option",
            "trusted-public-keys",
            &public_key(&other.stdout),
            "--max-jobs",
            "0",
            &host,
        ],
    )
    .output()
    .unwrap();
    let log = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && log.contains("is not signed by any of the keys"),
        "a cache signed by an untrusted key should be refused:\n{log}"
    );
}

#[test]
fn dev_shell_has_gdb_and_its_gdbinit_finds_the_arena() {
    prepared();
    let _g = nix_lock();
    let out = run(nix(
        "nix",
        &[
            "develop",
            "-c",
            "bash",
            "-c",
            "command -v gdb; gdb --version; echo \"$MALLOC_GLIBC_VERSION\"",
        ],
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("/nix/store/"),
        "gdb is not the shell's: {stdout}"
    );
    assert!(lines[1].starts_with("GNU gdb"), "{stdout}");
    let newest = manifests().pop().unwrap().version;
    assert_eq!(
        *lines.last().unwrap(),
        newest,
        "the default shell is the newest glibc's"
    );
    let banner = String::from_utf8_lossy(&out.stderr);
    assert!(
        banner.contains("gdb -x $MALLOC_GLIBC_GDBINIT --args ./prog"),
        "entering the shell should say how to start a session:\n{banner}"
    );

    // A session on a real program, with the host version's allocator.
    let shell = format!(".#glibc-{}", HOST_VERSION.replace('.', "_"));
    let out = run(nix(
        "nix",
        &[
            "develop",
            &shell,
            "-c",
            "bash",
            "-c",
            "gdb -nx -batch -x \"$MALLOC_GLIBC_GDBINIT\" -ex 'break exit' -ex run \
             -ex 'heap arenas' --args /usr/bin/true",
        ],
    ));
    let session = String::from_utf8_lossy(&out.stdout);
    let so = format!("libmalloc-glibc-{HOST_VERSION}-debug.so");
    assert!(
        session.contains(&format!("glibc {HOST_VERSION} allocator: /nix/store/"))
            && session.contains(&so),
        "the gdbinit should name the preloaded allocator:\n{session}\n{}",
        tail(&out.stderr)
    );
    assert!(
        session.contains("main_arena at 0x") && session.contains(", mp_ at 0x"),
        "the gdbinit should locate main_arena and mp_:\n{session}\n{}",
        tail(&out.stderr)
    );
    // And it loads the `heap` command (gdb/malloc_standalone.py).
    assert!(
        session.contains(&format!("glibc {HOST_VERSION} allocator (/nix/store/"))
            && session.contains("main_arena 0x"),
        "the gdbinit should load the heap command:\n{session}\n{}",
        tail(&out.stderr)
    );
}

/// Patches the nixpkgs way (issue 17): a package with `.overrideAttrs (o:
/// { patches = [ ... ]; })` from a user's flake applies them in order to the
/// checked verbatim files and builds the same `.so` as `resolver build
/// --patch` with the same files (same name, same record, byte-identical
/// outside debug info), which runs a program with the patch's effect; a
/// patch that does not apply fails the build naming the file and hunk.
#[test]
fn patches_override_builds_the_same_so_as_resolver_build_patch() {
    let prep = prepared();
    let m = manifests()
        .into_iter()
        .find(|m| m.version == HOST_VERSION)
        .expect("the host version's manifest");
    let examples = project().join("examples/patches");
    let tcache = examples.join("tcache-count/2.26/tcache-count.diff");
    let counts = examples.join("bin-counts/2.23/bin-counts.diff");
    let wrong = examples.join("tcache-count/2.43/tcache-count.diff");
    let a = attr(&m, &[], false);
    let dir = scratch("nix-patches");
    consumer_flake(
        &dir,
        &[
            ("tcache-count.diff", &tcache),
            ("bin-counts.diff", &counts),
            ("too-new.diff", &wrong),
        ],
        &[
            (
                "patched".to_string(),
                format!(
                    "ours.{a}.overrideAttrs (o: {{ patches = [ ./tcache-count.diff ./bin-counts.diff ]; }})"
                ),
            ),
            (
                "not-applying".to_string(),
                format!("ours.{a}.overrideAttrs (o: {{ patches = [ ./too-new.diff ]; }})"),
            ),
        ],
    );
    let out = {
        let _g = nix_lock();
        run(consumer(
            &dir,
            "nix",
            &["build", "--no-link", &installable(&dir, "patched")],
        ));
        consumer_outs(&dir)["patched"].clone()
    };
    let name = format!("libmalloc-glibc-{HOST_VERSION}+tcache-count+bin-counts.so");
    let from_nix = out.join("lib").join(&name);

    let work = scratch("nix-patches-work");
    let mut opts = BuildOptions::new(work.join("resolver-build"), false);
    opts.cc = "gcc".into();
    opts.jobs = 2;
    opts.patches = build::PatchSet::load(&[tcache.clone(), counts.clone()]).unwrap();
    let reference = build::build(&m, &reference_tree(&m, prep), &project(), &opts)
        .unwrap_or_else(|e| panic!("resolver build --patch of glibc {HOST_VERSION}: {e}"))
        .so;
    assert!(reference.ends_with(&name), "{}", reference.display());
    assert_same_so(&from_nix, &reference, &work, &name);

    // The patches' effects, in the Nix-built .so.
    let record = format!(
        "malloc-standalone patches: tcache-count sha256:{}; bin-counts sha256:{}",
        manifest::digest::sha256(&std::fs::read(&tcache).unwrap()),
        manifest::digest::sha256(&std::fs::read(&counts).unwrap())
    );
    let strings = run({
        let mut c = Command::new("strings");
        c.arg(&from_nix);
        c
    });
    assert!(String::from_utf8_lossy(&strings.stdout).contains(&record));
    let exe = work.join("tcache-count");
    run({
        let mut c = Command::new("gcc");
        c.arg("-O2")
            .arg("-o")
            .arg(&exe)
            .arg(examples.join("tcache-count/tcache-count.c"));
        c
    });
    let ran = run({
        let mut c = Command::new(&exe);
        c.env("LD_PRELOAD", &from_nix);
        c
    });
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "tcache holds 3 chunks of this size\n"
    );
    assert!(
        String::from_utf8_lossy(&ran.stderr).contains("malloc calls by bin kind: tcache "),
        "{}",
        tail(&ran.stderr)
    );

    // A patch for another range of versions fails, naming the hunk.
    let failed = {
        let _g = nix_lock();
        consumer(
            &dir,
            "nix",
            &[
                "build",
                "--no-link",
                "-L",
                &installable(&dir, "not-applying"),
            ],
        )
        .output()
        .unwrap()
    };
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        err.contains("Hunk #1 FAILED at 309")
            && err.contains(&format!("glibc {HOST_VERSION}: patch "))
            && err.contains("too-new.diff does not apply"),
        "{}",
        tail(&failed.stderr)
    );
}

/// The example patch of `examples/patches/<name>/` for `version`, as a
/// path relative to `examples/patches/`.
fn example_variant(name: &str, version: &str) -> Option<String> {
    let path = common::example_patch(name, version)?;
    let rel = path
        .strip_prefix(project().join(common::EXAMPLE_PATCHES))
        .ok()?;
    Some(rel.to_string_lossy().into_owned())
}

/// Every example patch builds with Nix (`patches` through `overrideAttrs`)
/// on every pinned version it has a variant for, and gives the `.so`
/// `resolver build --patch` gives from the same source and patch.
#[test]
fn every_example_patch_builds_with_nix_on_every_version_it_applies_to() {
    let prep = prepared();
    let dir = scratch("nix-example-patches");
    // The examples and the local tarballs next to the flake.
    let examples = project().join("examples/patches");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut builds: Vec<(Manifest, String, String)> = Vec::new();
    for m in manifests() {
        for name in ["bin-counts", "no-double-free-check", "tcache-count"] {
            if let Some(rel) = example_variant(name, &m.version) {
                builds.push((m.clone(), name.to_string(), rel));
            }
        }
        if prep.local.contains(&m.version) {
            files.push((
                format!("glibc-{}.tar.xz", m.version),
                shared_tarball(&m.version),
            ));
        }
    }
    for (_, _, rel) in &builds {
        let to = dir.join("patches").join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        files.push((format!("patches/{rel}"), examples.join(rel)));
    }
    let file_refs: Vec<(&str, &Path)> = files
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_path()))
        .collect();
    let packages: Vec<(String, String)> = builds
        .iter()
        .map(|(m, name, rel)| {
            let src = if prep.local.contains(&m.version) {
                format!(" src = ./glibc-{}.tar.xz;", m.version)
            } else {
                String::new()
            };
            (
                format!("v{}-{name}", plan_attr_version(&m.version)),
                format!(
                    "ours.{}.overrideAttrs (o: {{ patches = [ ./patches/{rel} ];{src} }})",
                    attr(m, &[], false)
                ),
            )
        })
        .collect();
    consumer_flake(&dir, &file_refs, &packages);
    let outs = build_consumer_packages(&dir, &packages);
    let work = scratch("nix-example-patches-work");
    for ((m, name, rel), (a, _)) in builds.iter().zip(&packages) {
        let so_name = format!("libmalloc-glibc-{}+{name}.so", m.version);
        let from_nix = outs[a].join("lib").join(&so_name);
        let tree = if prep.local.contains(&m.version) {
            source::open(&shared_tarball(&m.version), &cache())
                .unwrap_or_else(|e| panic!("glibc {}: {e}", m.version))
                .root
        } else {
            reference_tree(m, prep)
        };
        let mut opts = BuildOptions::new(work.join("resolver-build"), false);
        opts.cc = "gcc".into();
        opts.jobs = 2;
        opts.patches = build::PatchSet::load(&[examples.join(rel)]).unwrap();
        let reference = build::build(m, &tree, &project(), &opts)
            .unwrap_or_else(|e| panic!("resolver build --patch {rel} of glibc {}: {e}", m.version))
            .so;
        assert!(reference.ends_with(&so_name));
        assert_same_so(&from_nix, &reference, &work, &so_name);
    }
    eprintln!(
        "{} patched packages (3 examples over their versions) byte-identical to resolver build --patch's outside debug info",
        builds.len()
    );
}

/// "2.36" -> "2_36".
fn plan_attr_version(v: &str) -> String {
    v.replace('.', "_")
}
