//! The Nix flake, offline: the real `flake.nix` is evaluated and built with
//! Debian's Nix, its `nixpkgs` input overridden by the small stand-in in
//! `nix/standin` (only what the flake uses, over the host's toolchain).
//!
//! Checked here: the committed lock pins a real nixpkgs and reads offline;
//! the flake lists exactly one package (and a `-debug` one) per manifest in
//! `nix/manifests/` and per set of the build options it offers (`-hooks`,
//! `-trace`, `-hooks-trace`), plus `resolver` and `default`; the generated
//! tunables header and version script are byte-identical to the Rust
//! builder's; every flake check builds in the sandbox (every package, its
//! smoke run under `LD_PRELOAD`, a trace from each `-trace` package, the
//! formatting of the Nix files); every `.so` exports the
//! same symbols as the one `resolver build` makes from the same manifest, is
//! byte-identical to it once debug info and build-id are stripped, and runs
//! `ls`; the dev shell has gdb and its gdbinit finds `main_arena` and `mp_`.
//!
//! The pinned sources are put into the Nix store by their pinned hash first
//! (`nix-store --add-fixed sha256`, from the shared download cache), so the
//! flake's real fixed-output fetches need no network. `scripts/setup-nix.sh`
//! installs Nix (root only) and is run first; it does nothing when all is in
//! place.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use common::{apt_lock, cache, fetch_options, project, scratch};
use resolver::build::{self, BuildOptions};
use resolver::manifest::{self, Manifest, Origin};

const SYSTEM: &str = "x86_64-linux";

/// The version whose package must build (the host's glibc).
const HOST_VERSION: &str = "2.36";

/// Every committed manifest, from its JSON twin (what the flake reads).
fn manifests() -> Vec<Manifest> {
    let dir = project().join("nix/manifests");
    let mut out: Vec<Manifest> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| Manifest::load(&p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    out.sort_by_key(|m| version_key(&m.version));
    out
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
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

/// `program args...` against the repository's flake with nixpkgs overridden
/// by the stand-in, sandboxed over the host's /usr, one build job (the
/// options go before `nix develop`'s `-c`, which takes the rest).
fn nix(program: &str, args: &[&str]) -> Command {
    let standin = format!("path:{}", project().join("nix/standin").display());
    let split = args.iter().position(|a| *a == "-c").unwrap_or(args.len());
    let mut cmd = Command::new(program);
    cmd.args(&args[..split])
        .args(["--override-input", "nixpkgs", &standin])
        .args(["--no-write-lock-file"])
        .args(["--option", "extra-sandbox-paths", "/usr /lib /lib64"])
        .args(["--max-jobs", "1", "--cores", "2"])
        .args(&args[split..])
        .current_dir(project());
    cmd
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
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
    // What Nix took, for the timings in nix/README.md.
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

/// Nix installed and configured, the flake's files tracked by git, and every
/// manifest's pinned download in the Nix store under the path its
/// fixed-output fetch names. Done once per test binary.
fn prepared() {
    static DONE: OnceLock<()> = OnceLock::new();
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

        for m in manifests() {
            let file = pinned_download(&m);
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
    });
}

/// The file a manifest's fixed-output fetch downloads (the Debian package or
/// tarball, or the GNU release tarball), from the shared download cache,
/// fetched there first if need be; checked against the manifest's sha256.
fn pinned_download(m: &Manifest) -> PathBuf {
    {
        let _g = apt_lock();
        // No mirror: Nix fetches the pinned file itself, and for GNU's
        // tarball only its download puts that file in the cache (a tree
        // recorded from the mirror does not).
        let opts = resolver::fetch::pinned_options(m, &Default::default()).unwrap();
        match &m.source.origin {
            Origin::Gnu { .. } => resolver::fetch::fetch_gnu(&m.version, &cache(), &opts),
            _ => resolver::fetch::fetch(&m.version, &cache(), &opts),
        }
        .unwrap_or_else(|e| panic!("fetching the source glibc {} pins: {e}", m.version));
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
    let actual = resolver::source::sha256_file(&path).unwrap_or_else(|e| {
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
    path
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

#[test]
fn generated_files_equal_the_rust_builders() {
    prepared();
    let apply =
        "ps: builtins.mapAttrs (n: p: { inherit (p) version tunablesHeader versionScript; }) \
                 (removeAttrs ps [ \"resolver\" \"default\" ])";
    let got = {
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
    };
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

#[test]
fn flake_checks_pass_and_every_so_matches_resolver_build() {
    prepared();
    let ms = manifests();
    assert!(
        ms.iter().any(|m| m.version == HOST_VERSION),
        "no manifest for the host's glibc {HOST_VERSION}"
    );
    // Every package, its smoke run, and the formatting check.
    {
        let _g = nix_lock();
        run(nix("nix", &["flake", "check"]));
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
    let outs = {
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
    };

    let work = scratch("nix");
    let mut identical = Vec::new();
    for (m, options, debug) in ms
        .iter()
        .flat_map(|m| variants(m).into_iter().map(move |(o, d)| (m, o, d)))
    {
        let name = build::so_name(m, &options, debug);
        let out = outs[attr(m, &options, debug)].as_str().unwrap();
        let from_nix = Path::new(out).join("lib").join(&name);
        assert!(from_nix.is_file(), "{} is missing", from_nix.display());

        // The same manifest through `resolver build`, with the compiler the
        // stand-in's stdenv uses.
        let src = {
            let _g = apt_lock();
            resolver::fetch::pinned_source(m, &cache(), &fetch_options()).unwrap()
        };
        let mut opts = BuildOptions::new(work.join("resolver-build"), debug);
        opts.cc = "gcc".into();
        opts.jobs = 2;
        opts.options = options.clone();
        let reference = build::build(m, &src.root, &project(), &opts)
            .unwrap_or_else(|e| panic!("resolver build of glibc {}: {e}", m.version))
            .so;

        assert_eq!(
            exports(&from_nix),
            exports(&reference),
            "{name}: the flake's exports differ from `resolver build`'s"
        );
        let a = stripped(&from_nix, &work, &format!("{name}.nix"));
        let b = stripped(&reference, &work, &format!("{name}.resolver"));
        assert!(
            a == b,
            "{name}: the flake's .so differs from `resolver build`'s beyond debug info and build-id \
             (compare {} and {})",
            from_nix.display(),
            reference.display()
        );
        identical.push(name.clone());

        let ls = run({
            let mut c = Command::new("ls");
            c.args(["-la", "/"]).env("LD_PRELOAD", &from_nix);
            c
        });
        assert!(
            !ls.stdout.is_empty() && ls.stderr.is_empty(),
            "{name} under ls: {}",
            tail(&ls.stderr)
        );
    }
    eprintln!(
        "byte-identical to `resolver build` once debug info and build-id are stripped: {}",
        identical.join(" ")
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
