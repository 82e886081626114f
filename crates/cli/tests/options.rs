//! The build options of the manifests (`resolver build --hooks`, `--trace`)
//! in real programs under `LD_PRELOAD`:
//! - hooks: `tests/c/hooks.c` prints which hook each entry point calls and
//!   with what; the real glibc 2.31 (Debian's `libc6`), our 2.31 (native
//!   hooks) and our `--hooks` builds of every later version must print the
//!   same transcript;
//! - trace: `tests/c/trace.c` under `MALLOC_STANDALONE_TRACE`, read back in
//!   both formats (glibc's own `mtrace` script must report the planted
//!   leak), with threads, fork, exec, a symlink at the path, tracing off, a
//!   setuid program, and python3; and what it does with targets it must not
//!   write (a FIFO, a device, a directory, a hard link) or cannot (a file
//!   size limit).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::run::{clean, compile, preloaded, run, run_ok, Abi};
use common::{build_so, build_with, pinned, reference, scratch};

// One test module per version with a committed manifest.
common::per_version! {
    hooks_behave_as_in_glibc => hooks,
    trace_in_mtrace_format => trace_mtrace,
    trace_in_jsonl_format => trace_jsonl,
    trace_refuses_what_it_must_not_write => trace_targets,
    trace_stops_at_the_first_write_error => trace_write_error,
}

fn program(name: &'static str, abi: Abi) -> PathBuf {
    static DONE: common::OnceMap<PathBuf> = OnceLock::new();
    common::once_per(&DONE, name, || {
        compile(name, abi, &[], &scratch("programs"))
    })
}

// ---------------------------------------------------------------- hooks

/// The transcript of `tests/c/hooks.c` on the real glibc 2.31.
fn hooks_on_real_2_31() -> &'static str {
    static OUT: OnceLock<String> = OnceLock::new();
    OUT.get_or_init(|| {
        let r = reference("2.31").expect("Debian's libc6 2.31");
        let mut cmd = r.command(program("hooks", Abi::Old));
        common::run::clean_env(&mut cmd);
        run_ok(&mut cmd)
    })
}

fn hooks(version: &str) {
    let m = pinned(version);
    let native = m.features.hooks;
    assert_eq!(
        m.options.contains_key("hooks"),
        !native,
        "glibc {version}: a `hooks` option exactly where the hooks are not native"
    );
    // `--hooks` on a version whose hooks are native builds the default .so.
    let so = build_with(version, &["hooks"]);
    if native {
        assert_eq!(so, build_so(version), "glibc {version}");
    }
    let ours = run_ok(&mut preloaded(&so, program("hooks", Abi::Old)));
    // Native hooks are the version's own: its real glibc where there is
    // one; else glibc 2.31's transcript, but for the one call whose
    // arguments changed between versions: pvalloc's size, which 2.30 to
    // 2.33 round one byte past the page (`& -(pagesize - 1)`) and the
    // others to the page. (The `hooks` option calls them as 2.33 did.)
    let expected = match (native, reference(version)) {
        (true, Some(r)) => {
            let mut cmd = r.command(program("hooks", Abi::Old));
            common::run::clean_env(&mut cmd);
            run_ok(&mut cmd)
        }
        (true, None) => {
            let src = common::tree(version);
            let malloc_c = std::fs::read_to_string(src.root.join("malloc/malloc.c")).unwrap();
            let size = if malloc_c.contains("rounded_bytes & -(pagesize - 1)") {
                4097
            } else {
                4096
            };
            hooks_on_real_2_31().replace(
                "memalign hook (4096, 4097) from the program",
                &format!("memalign hook (4096, {size}) from the program"),
            )
        }
        (false, _) => hooks_on_real_2_31().to_owned(),
    };
    assert_eq!(
        ours,
        expected,
        "glibc {version}: the hooks of {} differ from the version's",
        so.display()
    );
    // The default build of a version without native hooks neither exports
    // nor calls them (the program's hooks are then the host libc's unused
    // compatibility variables).
    if !native {
        let plain = build_so(version);
        let out = run_ok(&mut preloaded(&plain, program("hooks", Abi::Old)));
        assert!(
            !out.contains("malloc hook (100)"),
            "glibc {version}: the default build must not call hooks:\n{out}"
        );
    }
}

// ---------------------------------------------------------------- trace

fn traced(version: &str) -> PathBuf {
    build_with(version, &["trace"])
}

/// A fresh directory for one test's trace files.
fn trace_dir(name: &str) -> PathBuf {
    let dir = scratch("traces").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn trace_mtrace(version: &str) {
    let so = traced(version);
    let dir = trace_dir(&format!("mtrace-{version}"));
    let file = dir.join("trace");
    let exe = &program("trace", Abi::Host);
    let out = run_ok(
        preloaded(&so, exe)
            .arg("leak")
            .env("MALLOC_STANDALONE_TRACE", &file),
    );
    let leak = out
        .trim()
        .strip_prefix("leak ")
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("= Start\n"), "glibc {version}:\n{text}");
    // libc's own allocations are there, attributed to libc.
    assert!(
        text.lines()
            .any(|l| l.contains("libc.so.6:(__strdup+0x") && l.contains(" + ")),
        "glibc {version}: strdup's malloc is missing:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("libc.so.6:") && l.ends_with(" 0x1d8")),
        "glibc {version}: fopen's FILE is missing:\n{text}"
    );
    assert!(text.contains(" < ") && text.contains(" > "), "{text}");
    // glibc's own script (Debian's libc-dev-bin) finds exactly the leak.
    // (It exits 1 when it finds leaks.)
    let o = run(clean("mtrace").arg(exe).arg(&file));
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = report.lines().collect();
    let leak_hex = leak.trim_start_matches("0x");
    // Besides the leak, only stdout's buffer (libc's, never freed) remains.
    let leaks: Vec<&&str> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("0x"))
        .collect();
    assert!(
        report.contains("Memory not freed:")
            && leaks
                .iter()
                .any(|l| l.contains(leak_hex) && l.contains(" 0x4d "))
            && leaks
                .iter()
                .all(|l| l.contains(leak_hex) || l.contains(" 0x1000 ")),
        "glibc {version}: mtrace should report the 77-byte leak at {leak}:\n{report}"
    );

    // Tracing off: no file. A symlink at the path: refused, not followed.
    let off = dir.join("off");
    run_ok(preloaded(&so, exe).arg("leak"));
    assert!(!off.exists());
    let target = dir.join("target");
    let link = dir.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = run(preloaded(&so, exe)
        .arg("leak")
        .env("MALLOC_STANDALONE_TRACE", &link));
    assert!(o.status.success());
    assert!(
        !target.exists(),
        "glibc {version}: the symlink was followed"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("symbolic link"),
        "glibc {version}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A bad format: said, and nothing traced.
    let o = run(preloaded(&so, exe)
        .arg("leak")
        .env("MALLOC_STANDALONE_TRACE", dir.join("xml"))
        .env("MALLOC_STANDALONE_TRACE_FORMAT", "xml"));
    assert!(o.status.success() && !dir.join("xml").exists());
    assert!(String::from_utf8_lossy(&o.stderr).contains("must be mtrace or jsonl"));

    // Opened close-on-exec: the program it executes does not inherit it.
    let fds = run_ok(
        preloaded(&so, exe)
            .arg("exec")
            .env("MALLOC_STANDALONE_TRACE", dir.join("exec")),
    );
    assert!(
        !fds.contains(&dir.join("exec").display().to_string()),
        "glibc {version}: the trace file leaked into an exec'd program:\n{fds}"
    );
}

/// The records of a jsonl trace (every line must parse).
fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: not JSON ({e}): {l}", path.display(), i + 1))
        })
        .collect()
}

fn trace_jsonl(version: &str) {
    let so = traced(version);
    let dir = trace_dir(&format!("jsonl-{version}"));
    let exe = &program("trace", Abi::Host);
    let jsonl = |file: &Path| {
        let mut c = preloaded(&so, exe);
        c.env("MALLOC_STANDALONE_TRACE", file)
            .env("MALLOC_STANDALONE_TRACE_FORMAT", "jsonl");
        c
    };

    // One call of each kind, with its fields.
    let file = dir.join("leak");
    let out = run_ok(jsonl(&file).arg("leak"));
    let leak = out.trim().strip_prefix("leak ").unwrap().to_string();
    let recs = records(&file);
    let head = &recs[0];
    assert_eq!(head["op"], "start");
    assert_eq!(head["version"], version);
    assert_eq!(head["exe"], exe.display().to_string());
    let ops: Vec<&str> = recs[1..]
        .iter()
        .map(|r| r["op"].as_str().unwrap())
        .collect();
    for op in [
        "malloc",
        "calloc",
        "realloc",
        "free",
        "posix_memalign",
        "memalign",
    ] {
        assert!(ops.contains(&op), "glibc {version}: no {op} in {ops:?}");
    }
    let first = &recs[1];
    assert_eq!(
        (
            first["op"].as_str(),
            first["size"].as_u64(),
            first["ret"].as_str()
        ),
        (Some("malloc"), Some(77), Some(leak.as_str())),
        "glibc {version}: the first call is the planted leak"
    );
    for r in &recs[1..] {
        for f in ["seq", "t_ns", "tid", "caller"] {
            assert!(r.get(f).is_some(), "glibc {version}: no {f} in {r}");
        }
    }
    let seqs: Vec<u64> = recs[1..]
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(
        recs.iter()
            .any(|r| r["op"] == "calloc" && r["nmemb"] == 3 && r["size"] == 40),
        "glibc {version}"
    );

    // Threads: every call recorded once, no torn line.
    let file = dir.join("threads");
    run_ok(jsonl(&file).args(["threads", "8", "2000"]));
    let recs = records(&file);
    let mut per_tid: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for r in &recs[1..] {
        let e = per_tid.entry(r["tid"].as_u64().unwrap()).or_default();
        match r["op"].as_str() {
            Some("malloc") if r["size"].as_u64().unwrap() < 216 => e.0 += 1,
            Some("free") => e.1 += 1,
            _ => {}
        }
    }
    let workers: Vec<&(usize, usize)> = per_tid.values().filter(|(m, _)| *m >= 2000).collect();
    assert_eq!(workers.len(), 8, "glibc {version}: {per_tid:?}");
    let seqs: BTreeSet<u64> = recs[1..]
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), recs.len() - 1, "glibc {version}: duplicate seq");

    // Fork: the child writes <file>.<pid>, whose header names the parent.
    let file = dir.join("fork");
    let out = run_ok(jsonl(&file).arg("fork"));
    let child: u32 = out.trim().strip_prefix("child ").unwrap().parse().unwrap();
    let parent = records(&file);
    let kid = records(&dir.join(format!("fork.{child}")));
    let sizes = |rs: &[serde_json::Value]| -> Vec<u64> {
        rs.iter()
            .filter(|r| r["op"] == "malloc")
            .filter_map(|r| r["size"].as_u64())
            .filter(|s| [111, 222, 333].contains(s))
            .collect()
    };
    assert_eq!(sizes(&parent), [111, 333], "glibc {version}");
    assert_eq!(sizes(&kid), [222], "glibc {version}");
    assert_eq!(kid[0]["parent"], parent[0]["pid"], "glibc {version}");

    // %p: a file per process.
    let pattern = dir.join("p.%p");
    run_ok(jsonl(&pattern).arg("leak"));
    let made: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("p."))
        .collect();
    assert!(
        made.len() == 1 && made[0][2..].parse::<u32>().is_ok(),
        "glibc {version}: {made:?}"
    );

    // A real workload: python3 with its allocations on malloc.
    let file = dir.join("python");
    run_ok(
        preloaded(&so, "/usr/bin/python3")
            .args([
                "-c",
                "d = {str(i): [i] * 5 for i in range(20000)}; print(len(d))",
            ])
            .env("PYTHONMALLOC", "malloc")
            .env("MALLOC_STANDALONE_TRACE", &file)
            .env("MALLOC_STANDALONE_TRACE_FORMAT", "jsonl"),
    );
    let recs = records(&file);
    assert!(
        recs.len() > 40000,
        "glibc {version}: {} records",
        recs.len()
    );
}

/// The tracer's lines on a program's stderr.
fn tracer_messages(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("malloc-standalone:"))
        .map(str::to_owned)
        .collect()
}

/// Runs a command that must finish within `limit` (a program the tracer
/// would block fails here rather than hang the suite), and returns its
/// output.
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let what = common::run::describe(cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let ran =
        harness::process::run(cmd, limit).unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let Some(status) = ran.status else {
        panic!("{what} did not finish within {limit:?}: the tracer blocked it");
    };
    Output {
        status,
        stdout: ran.stdout,
        stderr: ran.stderr,
    }
}

/// The entries of /dev named `full.<digits>` (what a forked child used to
/// create next to /dev/full).
fn dev_full_children() -> BTreeSet<PathBuf> {
    std::fs::read_dir("/dev")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("full."))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

/// The tracer writes only a regular file, new or with a single link: a
/// FIFO (which used to block the program forever in open), a device (whose
/// forked children used to create `/dev/full.<pid>`), a directory and a
/// file with other hard links are refused with one message naming the
/// variable, the path and why, and the program runs on untraced, its
/// children too. A symlinked directory on the way is followed
/// (docs/experimenting.md, "Tracing").
fn trace_targets(version: &str) {
    let so = traced(version);
    let dir = trace_dir(&format!("targets-{version}"));
    let exe = &program("trace", Abi::Host);
    let limit = Duration::from_secs(30);
    let traced_to = |target: &Path, mode: &str| {
        let mut c = preloaded(&so, exe);
        c.arg(mode).env("MALLOC_STANDALONE_TRACE", target);
        c
    };
    let refused = |target: &Path, mode: &str, why: &str| {
        let o = run_within(&mut traced_to(target, mode), limit);
        let messages = tracer_messages(&o);
        let expected = format!(
            "malloc-standalone: MALLOC_STANDALONE_TRACE={}: ",
            target.display()
        );
        assert!(
            o.status.success()
                && messages.len() == 1
                && messages[0].starts_with(&expected)
                && messages[0].contains(why)
                && messages[0].ends_with("; tracing is off"),
            "glibc {version}: tracing to {} ({mode}) should be refused once with {expected:?} and \
             {why:?}, the program running on; got {} and:\n{}",
            target.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };

    // A FIFO without a reader: refused at once, not opened; nothing is
    // written into it, in the parent or in the forked child.
    let fifo = dir.join("fifo");
    run_ok(clean("mkfifo").arg(&fifo));
    let o = refused(&fifo, "fork", "it is a FIFO, not a regular file");
    let child: u32 = String::from_utf8_lossy(&o.stdout)
        .trim()
        .strip_prefix("child ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        !dir.join(format!("fifo.{child}")).exists(),
        "glibc {version}: the child traced next to a FIFO"
    );

    // /dev/full: refused, and its forked children create no
    // /dev/full.<pid> (CI runs as root, who could). Any that appear are
    // removed before failing.
    let before = dev_full_children();
    let o = refused(
        Path::new("/dev/full"),
        "fork",
        "it is a character device, not a regular file",
    );
    let made: Vec<PathBuf> = dev_full_children().difference(&before).cloned().collect();
    for p in &made {
        if p.symlink_metadata().is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(p);
        }
    }
    assert!(
        made.is_empty(),
        "glibc {version}: tracing to /dev/full created {made:?} (stdout {})",
        String::from_utf8_lossy(&o.stdout)
    );

    // A directory.
    let sub = dir.join("a-directory");
    std::fs::create_dir(&sub).unwrap();
    refused(&sub, "leak", "it is a directory");

    // A file with another hard link: refused, untouched under both names.
    let precious = dir.join("precious");
    std::fs::write(&precious, "keep me\n").unwrap();
    let linked = dir.join("linked");
    std::fs::hard_link(&precious, &linked).unwrap();
    refused(&linked, "leak", "it has other hard links");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "keep me\n",
        "glibc {version}: a hard-linked target was overwritten"
    );

    // A regular file with a single link is emptied and traced to.
    let old = dir.join("old");
    std::fs::write(&old, "an old trace\n".repeat(1000)).unwrap();
    let o = run_within(&mut traced_to(&old, "leak"), limit);
    assert!(
        o.status.success() && tracer_messages(&o).is_empty(),
        "glibc {version}: {o:?}"
    );
    let text = std::fs::read_to_string(&old).unwrap();
    assert!(
        text.starts_with("= Start\n") && !text.contains("an old trace"),
        "glibc {version}: the old contents must go:\n{text}"
    );

    // A symlinked directory on the way is followed (as by any program
    // writing a path it is given): the trace, and the forked child's, land
    // in the directory it points to.
    let real = dir.join("real");
    std::fs::create_dir(&real).unwrap();
    let via = dir.join("via");
    std::os::unix::fs::symlink(&real, &via).unwrap();
    let o = run_within(&mut traced_to(&via.join("trace"), "fork"), limit);
    assert!(
        o.status.success() && tracer_messages(&o).is_empty(),
        "glibc {version}: {o:?}"
    );
    let child: u32 = String::from_utf8_lossy(&o.stdout)
        .trim()
        .strip_prefix("child ")
        .unwrap()
        .parse()
        .unwrap();
    for name in ["trace".to_owned(), format!("trace.{child}")] {
        let text = std::fs::read_to_string(real.join(&name)).unwrap_or_default();
        assert!(
            text.starts_with("= Start\n"),
            "glibc {version}: {name} should be traced through the symlinked directory"
        );
    }
}

/// RLIMIT_FSIZE, in bytes, for the program a command runs, with SIGXFSZ
/// ignored: a write past the limit then fails with EFBIG instead of
/// killing the process.
fn limit_file_size(cmd: &mut Command, bytes: u64) {
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }
    extern "C" {
        fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
        fn signal(signal: i32, handler: usize) -> usize;
    }
    const RLIMIT_FSIZE: i32 = 1;
    const SIGXFSZ: i32 = 25;
    const SIG_IGN: usize = 1;
    const SIG_ERR: usize = usize::MAX;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = Rlimit {
                cur: bytes,
                max: bytes,
            };
            if signal(SIGXFSZ, SIG_IGN) == SIG_ERR || setrlimit(RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A trace that cannot be written (here a file size limit; a full disk is
/// the same) is reported once, with the reason, however many threads hit
/// it, and tracing stops there: the program runs on, and the trace is what
/// was written before.
fn trace_write_error(version: &str) {
    let so = traced(version);
    let dir = trace_dir(&format!("write-error-{version}"));
    let exe = &program("trace", Abi::Host);
    // Eight threads writing at once; and a header that does not fit, before
    // a fork.
    for (format, mode, limit) in [
        ("mtrace", &["threads", "8", "2000"][..], 4096),
        ("jsonl", &["fork"][..], 64),
    ] {
        let file = dir.join(format);
        let mut cmd = preloaded(&so, exe);
        cmd.args(mode)
            .env("MALLOC_STANDALONE_TRACE", &file)
            .env("MALLOC_STANDALONE_TRACE_FORMAT", format);
        limit_file_size(&mut cmd, limit);
        let o = run_within(&mut cmd, Duration::from_secs(60));
        let messages = tracer_messages(&o);
        let expected = format!(
            "malloc-standalone: MALLOC_STANDALONE_TRACE={}: cannot write the trace: File too \
             large; tracing stopped here (the trace ends early)",
            file.display()
        );
        assert!(
            o.status.success() && messages == [expected.clone()],
            "glibc {version}: {format} {mode:?}: the first write error should be reported once \
             as {expected:?}, the program running on; got {} and:\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        let written = std::fs::metadata(&file).unwrap().len();
        assert!(
            written > 0 && written <= limit,
            "glibc {version}: {written} bytes"
        );
        // Tracing stopped before the fork: the child traced nothing.
        let kids: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("{format}.")))
            .collect();
        assert!(kids.is_empty(), "glibc {version}: {kids:?}");
    }
}

/// Setuid and setgid programs ignore MALLOC_STANDALONE_TRACE, as glibc's
/// mtrace () ignored MALLOC_TRACE. A setuid-root copy of the program, linked
/// against the traced .so by an absolute runpath (ld.so drops LD_PRELOAD
/// paths in secure mode, not DT_RUNPATH), is run as `nobody`; the same
/// program without the setuid bit is the control. Needs root.
#[test]
fn setuid_programs_are_not_traced() {
    if unsafe { libc_geteuid() } != 0 {
        panic!("this test needs root (CI runs as root): it makes a setuid-root program");
    }
    let so = traced("2.36");
    let dir = trace_dir("setuid");
    let lib_dir = so.parent().unwrap();
    let exe = dir.join("prog");
    run_ok(
        clean("gcc")
            .args(["-O2", "-o"])
            .arg(&exe)
            .arg(common::project().join("tests/c/trace.c"))
            .arg(format!("-L{}", lib_dir.display()))
            .arg(format!("-l:{}", so.file_name().unwrap().to_string_lossy()))
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
            .arg("-pthread"),
    );
    // `nobody` must reach the program and write the trace directory.
    for d in dir.ancestors().take_while(|d| *d != Path::new("/")) {
        let _ = std::process::Command::new("chmod")
            .arg("o+x")
            .arg(d)
            .status();
    }
    run_ok(std::process::Command::new("chmod").arg("0777").arg(&dir));
    let control = dir.join("control");
    std::fs::copy(&exe, &control).unwrap();
    run_ok(
        std::process::Command::new("chmod")
            .arg("0755")
            .arg(&control),
    );
    run_ok(std::process::Command::new("chmod").arg("4755").arg(&exe));
    let as_nobody = |prog: &Path, file: &Path| {
        let mut c = clean("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(prog)
            .arg("leak")
            .env("MALLOC_STANDALONE_TRACE", file);
        run_ok(&mut c)
    };
    as_nobody(&control, &dir.join("control.trace"));
    assert!(
        dir.join("control.trace").exists(),
        "the control (no setuid bit) should be traced"
    );
    as_nobody(&exe, &dir.join("setuid.trace"));
    assert!(
        !dir.join("setuid.trace").exists(),
        "a setuid program must ignore MALLOC_STANDALONE_TRACE"
    );
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
