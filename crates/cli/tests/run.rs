//! `resolver run` and `resolver gdb` on real programs: the program's exit
//! status and signals pass through, the allocator is the chosen version's
//! (its own integrity checks, its own file in the program's memory map), a
//! second run reuses the build while a changed manifest or stub does not,
//! an installed copy of the binary works outside any checkout, and
//! `resolver gdb` runs the program under our allocator with the heap
//! command loaded. Builds go to the shared cache's `run/` (where sources
//! already are), as a user's would.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::run::{clean_env, compile, run, tail, Abi};
use common::{arg, project, scratch, stderr};

/// The resolver binary in the project, with the test mirror, and none of
/// the caller's allocator environment.
fn resolver() -> Command {
    let mut cmd = common::resolver_command();
    clean_env(&mut cmd);
    cmd.env_remove("CC");
    cmd
}

/// `resolver run <args>`.
fn resolver_run(args: &[&str]) -> Output {
    let mut cmd = resolver();
    cmd.arg("run").args(args);
    run(&mut cmd)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn say(o: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        tail(&o.stdout),
        tail(&o.stderr)
    )
}

/// `tests/c/double_free.c`, which frees a chunk twice (and says "no
/// abort" when that was not caught).
fn double_free() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("double_free", Abi::Host, &[], &scratch("programs")))
}

/// The shared object mapped into a program, by the `libmalloc-glibc-`
/// file its /proc/self/maps lists.
fn mapped_so(maps: &str) -> PathBuf {
    let found: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains("/libmalloc-glibc-"))
        .collect();
    assert!(!found.is_empty(), "no libmalloc-glibc .so mapped:\n{maps}");
    assert!(
        found.iter().all(|p| *p == found[0]),
        "several allocators mapped:\n{maps}"
    );
    PathBuf::from(found[0])
}

#[test]
fn the_programs_exit_code_passes_through() {
    let o = resolver_run(&["--glibc", "2.36", "--", "sh", "-c", "echo ran; exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", say(&o));
    assert_eq!(stdout(&o), "ran\n");
}

#[test]
fn an_integrity_abort_is_the_programs_sigabrt_with_the_versions_message() {
    let o = resolver_run(&["--glibc", "2.36", "--", arg(double_free())]);
    assert_eq!(o.status.signal(), Some(libc_sigabrt()), "{}", say(&o));
    assert!(
        stderr(&o).contains("free(): double free detected in tcache 2"),
        "{}",
        say(&o)
    );
    assert!(!stdout(&o).contains("no abort"), "{}", say(&o));
}

/// SIGABRT on Linux.
fn libc_sigabrt() -> i32 {
    6
}

/// The same double free under three versions does what each version's own
/// checks do, none of which is the host's (2.36's) answer for the other
/// two: 2.23 has no tcache and its fastbin check names `fasttop`; 2.27's
/// tcache has no double-free check yet (2.29 added it), so the program
/// survives; and each program maps that version's file.
#[test]
fn the_allocator_is_the_chosen_versions() {
    let o = resolver_run(&["--glibc", "2.23", "--", arg(double_free())]);
    assert_eq!(o.status.signal(), Some(libc_sigabrt()), "{}", say(&o));
    assert!(
        stderr(&o).contains("double free or corruption (fasttop)"),
        "{}",
        say(&o)
    );
    let o = resolver_run(&["--glibc", "2.27", "--", arg(double_free())]);
    assert_eq!(o.status.code(), Some(0), "{}", say(&o));
    assert_eq!(stdout(&o), "no abort\n", "{}", say(&o));
    for v in ["2.23", "2.27", "2.36"] {
        let o = resolver_run(&["--glibc", v, "--", "cat", "/proc/self/maps"]);
        assert!(o.status.success(), "{}", say(&o));
        let so = mapped_so(&stdout(&o));
        assert_eq!(
            so.file_name().unwrap().to_str().unwrap(),
            format!("libmalloc-glibc-{v}.so"),
            "{}",
            so.display()
        );
    }
}

#[test]
fn variants_are_chosen_by_flag_and_an_existing_preload_stays() {
    let o = resolver_run(&[
        "--glibc",
        "2.36",
        "--debug",
        "--hooks",
        "--",
        "cat",
        "/proc/self/maps",
    ]);
    assert!(o.status.success(), "{}", say(&o));
    let so = mapped_so(&stdout(&o));
    assert_eq!(
        so.file_name().unwrap().to_str().unwrap(),
        "libmalloc-glibc-2.36-hooks-debug.so"
    );
    // An LD_PRELOAD the caller had stays, after ours.
    let other = scratch("run").join("other-preload");
    let o = resolver_run(&["--glibc", "2.36", "--", "sh", "-c", "echo \"$LD_PRELOAD\""]);
    let ours = stdout(&o).trim().to_string();
    let mut cmd = resolver();
    cmd.env("LD_PRELOAD", "").args([
        "run",
        "--glibc",
        "2.36",
        "--",
        "sh",
        "-c",
        "echo \"$LD_PRELOAD\"",
    ]);
    assert_eq!(stdout(&run(&mut cmd)).trim(), ours);
    // (a preload that does not exist only draws a warning from the loader)
    let mut cmd = resolver();
    cmd.env("LD_PRELOAD", &other).args([
        "run",
        "--glibc",
        "2.36",
        "--",
        "sh",
        "-c",
        "echo \"$LD_PRELOAD\"",
    ]);
    assert_eq!(
        stdout(&run(&mut cmd)).trim(),
        format!("{ours}:{}", other.display())
    );
}

#[test]
fn trace_switches_the_tracer_on_into_the_named_file() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let o = resolver_run(&[
        "--glibc",
        "2.31",
        &format!("--trace={}", trace.display()),
        "--trace-format",
        "jsonl",
        "--",
        arg(double_free()),
    ]);
    assert_eq!(o.status.signal(), Some(libc_sigabrt()), "{}", say(&o));
    let text = std::fs::read_to_string(&trace)
        .unwrap_or_else(|e| panic!("no trace at {}: {e}\n{}", trace.display(), say(&o)));
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("\"op\":\"start\"") && header.contains("2.31"),
        "{text}"
    );
    // Both frees are recorded before the second one aborts.
    assert_eq!(text.matches("\"op\":\"free\"").count(), 2, "{text}");
}

#[test]
fn a_program_that_cannot_start_gets_the_shells_codes() {
    let o = resolver_run(&["--glibc", "2.36", "--", "/nonexistent/prog"]);
    assert_eq!(o.status.code(), Some(127), "{}", say(&o));
    assert!(
        stderr(&o).contains("cannot run /nonexistent/prog"),
        "{}",
        say(&o)
    );
    // A file that is not executable (mode 0644).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-program");
    std::fs::write(&file, "exit 0\n").unwrap();
    let o = resolver_run(&["--glibc", "2.36", "--", arg(&file)]);
    assert_eq!(o.status.code(), Some(126), "{}", say(&o));
    assert!(stderr(&o).contains("Permission denied"), "{}", say(&o));
}

#[test]
fn the_second_run_reuses_the_build_and_a_changed_manifest_rebuilds() {
    let first = resolver_run(&["--glibc", "2.33", "--", "cat", "/proc/self/maps"]);
    assert!(first.status.success(), "{}", say(&first));
    let so = mapped_so(&stdout(&first));
    let built = std::fs::metadata(&so).unwrap().modified().unwrap();
    let again = resolver_run(&["--glibc", "2.33", "--", "cat", "/proc/self/maps"]);
    assert!(again.status.success(), "{}", say(&again));
    assert_eq!(mapped_so(&stdout(&again)), so);
    assert_eq!(
        stderr(&again),
        "",
        "a second run should neither build nor say anything"
    );
    assert_eq!(std::fs::metadata(&so).unwrap().modified().unwrap(), built);

    // The same manifest with one more byte (a comment) is another manifest:
    // built anew, into a directory of its own.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("glibc-2.33.yaml");
    let mut text = std::fs::read_to_string(common::pinned_path("2.33")).unwrap();
    text.push_str(&format!("# {}\n", std::process::id()));
    std::fs::write(&copy, text).unwrap();
    let changed = resolver_run(&["--manifest", arg(&copy), "--", "cat", "/proc/self/maps"]);
    assert!(changed.status.success(), "{}", say(&changed));
    assert!(
        stderr(&changed).contains("resolver: building glibc 2.33"),
        "{}",
        say(&changed)
    );
    let rebuilt = mapped_so(&stdout(&changed));
    assert_ne!(rebuilt.parent(), so.parent());
    std::fs::remove_dir_all(rebuilt.parent().unwrap()).unwrap();
}

/// A project whose stub changed after a build: the stamp no longer proves
/// the build current, and the build refuses the stub the manifest does not
/// pin (never the old .so).
#[test]
fn a_changed_stub_is_never_run_from_the_old_build() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("project");
    for d in ["shims", "stubs", "gdb", "nix/manifests"] {
        common::copy_dir(&project().join(d), &copy.join(d));
    }
    let with = |project: &Path| {
        let mut cmd = resolver();
        cmd.arg("--project")
            .arg(project)
            .args(["run", "--glibc", "2.35", "--", "sh", "-c", "exit 5"]);
        run(&mut cmd)
    };
    let o = with(&copy);
    assert_eq!(o.status.code(), Some(5), "{}", say(&o));
    let stub = std::fs::read_dir(copy.join("stubs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "c"))
        .unwrap();
    let mut text = std::fs::read_to_string(&stub).unwrap();
    text.push_str("/* changed */\n");
    std::fs::write(&stub, text).unwrap();
    let o = with(&copy);
    assert_ne!(o.status.code(), Some(5), "ran the old build:\n{}", say(&o));
    assert!(
        stderr(&o).contains("the project's shims or stubs changed"),
        "{}",
        say(&o)
    );
    let built = common::cache()
        .root()
        .join("run")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| {
            std::fs::read_dir(d).is_ok_and(|mut r| {
                r.any(|e| {
                    std::fs::read_to_string(e.unwrap().path())
                        .is_ok_and(|t| t.contains(&format!("project {}", copy.display())))
                })
            })
        })
        .collect::<Vec<_>>();
    for d in built {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// The binary copied outside the checkout and run from a directory outside
/// any checkout, as `cargo install` leaves it: it finds its manifests,
/// shims and stubs in itself (extracted into the cache), runs a program,
/// and resolves a manifest equal to the committed one, which it then runs.
#[test]
fn an_installed_resolver_works_from_any_directory() {
    let dir = common::outside_checkout();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    let bin = common::installed_copy(&dir.path().join("bin"));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let installed = |args: &[&str]| {
        let mut cmd = Command::new(&bin);
        clean_env(&mut cmd);
        cmd.current_dir(&work).args(args);
        if let Some(m) = common::mirror() {
            cmd.env(source::mirror::ENV, m);
        }
        run(&mut cmd)
    };
    let o = installed(&["run", "--glibc", "2.36", "--", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", say(&o));
    let o = installed(&["run", "--glibc", "2.36", "--", arg(double_free())]);
    assert_eq!(o.status.signal(), Some(libc_sigabrt()), "{}", say(&o));
    assert!(stderr(&o).contains("double free detected in tcache 2"));

    // resolve's output directory is the current one (the embedded copy
    // is never written to): re-resolving the committed manifest there from
    // its pinned source, with the embedded shims and stubs, gives it back.
    let committed = common::pinned_path("2.36");
    let written = work.join("glibc-2.36.yaml");
    std::fs::copy(&committed, &written).unwrap();
    std::fs::copy(
        committed.with_extension("json"),
        written.with_extension("json"),
    )
    .unwrap();
    let o = installed(&["resolve", "--pinned"]);
    assert!(o.status.success(), "{}", say(&o));
    assert_eq!(stdout(&o).lines().last(), Some("./glibc-2.36.yaml"));
    for ext in ["yaml", "json"] {
        assert_eq!(
            std::fs::read_to_string(written.with_extension(ext)).unwrap(),
            std::fs::read_to_string(committed.with_extension(ext)).unwrap(),
            "the installed resolver's resolution differs from the committed {ext}"
        );
    }
    let o = installed(&[
        "run",
        "--manifest",
        "glibc-2.36.yaml",
        "--",
        "cat",
        "/proc/self/maps",
    ]);
    assert!(o.status.success(), "{}", say(&o));
    assert!(mapped_so(&stdout(&o)).starts_with(common::cache().root().join("run")));
}

/// gdb's output of `resolver gdb` in batch mode on `tests/c/gdb_heap.c`,
/// stopped where its heap is ready, with `commands` run there.
fn gdb_session(version: &str, extra: &[&str], commands: &[&str]) -> Output {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    let program = EXE.get_or_init(|| compile("gdb_heap", Abi::Host, &["-g"], &scratch("programs")));
    let mut cmd = resolver();
    cmd.args(["gdb", "--glibc", version, "--batch", "--nx"])
        .args(extra)
        .args(["--ex", "break heap_is_ready", "--ex", "run"]);
    for c in commands {
        cmd.arg("--ex").arg(c);
    }
    // 7 in tcache (the default count up to 2.43), 2 in the fastbin.
    cmd.arg("--").arg(program).args(["7", "1"]);
    run(&mut cmd)
}

/// Runs our heap command's `tcache`, under its name: `heap`, or
/// `glibc-heap` where it leaves `heap` to pwndbg or GEF
/// (gdb/malloc_standalone.py says which).
const HEAP_TCACHE: &str = "\
try:
    gdb.execute('help glibc-heap', to_string=True)
    name = 'glibc-heap'
except gdb.error:
    name = 'heap'
gdb.execute(name + ' tcache')
";

#[test]
fn gdb_runs_the_program_under_our_allocator_with_the_heap_command() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("heap-tcache.py");
    std::fs::write(&script, HEAP_TCACHE).unwrap();
    let o = gdb_session(
        "2.36",
        &[],
        &[
            &format!("source {}", script.display()),
            "python import os; print('gdb LD_PRELOAD=%r' % os.environ.get('LD_PRELOAD'))",
        ],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{}", say(&o));
    // The gdbinit: the allocator named when it loads, main_arena and mp_ found.
    assert!(
        out.contains("glibc 2.36 allocator: ") && out.contains("libmalloc-glibc-2.36-debug.so"),
        "{}",
        say(&o)
    );
    assert!(
        out.contains("main_arena at 0x") && out.contains(", mp_ at 0x"),
        "{}",
        say(&o)
    );
    // The heap command lists exactly what the program freed into tcache.
    let printed: Vec<&str> = out
        .lines()
        .find_map(|l| l.strip_prefix("tcache40 "))
        .unwrap_or_else(|| panic!("{}", say(&o)))
        .split_whitespace()
        .collect();
    let listed: Vec<&str> = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("tcache bin 2 (chunk size 0x40): "))
        .unwrap_or_else(|| panic!("the heap command listed no tcache bin 2:\n{}", say(&o)))
        .rsplit_once(": ")
        .unwrap()
        .1
        .split(", ")
        .collect();
    assert_eq!(listed, printed, "{}", say(&o));
    // gdb itself is not preloaded.
    assert!(out.contains("gdb LD_PRELOAD=None"), "{}", say(&o));
}

#[test]
fn gdb_release_takes_the_release_build_and_the_exit_status_is_gdbs() {
    let o = gdb_session("2.31", &["--release"], &["info sharedlibrary"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", say(&o));
    assert!(out.contains("libmalloc-glibc-2.31.so"), "{}", say(&o));
    assert!(!out.contains("-debug.so"), "{}", say(&o));
    // A command that fails in batch mode makes gdb exit 1, and so the command.
    let o = gdb_session("2.31", &["--release"], &["no-such-command"]);
    assert_eq!(o.status.code(), Some(1), "{}", say(&o));
}
