//! The build options of the manifests (`resolver build --hooks`, `--trace`)
//! in real programs under `LD_PRELOAD`:
//! - hooks: `tests/c/hooks.c` prints which hook each entry point calls and
//!   with what; the real glibc 2.31 (Debian's `libc6`), our 2.31 (native
//!   hooks) and our `--hooks` builds of every later version must print the
//!   same transcript;
//! - trace: `tests/c/trace.c` under `MALLOC_STANDALONE_TRACE`, read back in
//!   both formats (glibc's own `mtrace` script must report the planted
//!   leak), with threads, fork, exec, a symlink at the path, tracing off, a
//!   setuid program, and python3.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::run::{clean, compile, preloaded, run, run_ok, Abi};
use common::{build_so, build_with, pinned, reference, scratch};

// One test module per version with a committed manifest.
common::per_version! {
    hooks_behave_as_in_glibc => hooks,
    trace_in_mtrace_format => trace_mtrace,
    trace_in_jsonl_format => trace_jsonl,
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
