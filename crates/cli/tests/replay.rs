//! `resolver replay`: a jsonl trace replayed by `tools/replay.c` under each
//! version's allocator. A hand-written trace whose numbers are known, and a
//! real workload's trace (python3 under a `--trace` build) compared across
//! every pinned version and the host's own malloc. (The errors a bad trace
//! gets: `cli.rs`.)

mod common;

use std::path::Path;

use common::run::{clean, run_ok};
use common::{build_with, project, scratch};
use replay::{self, Measurement};

/// The replayer, compiled once per test binary.
fn replayer() -> std::path::PathBuf {
    static EXE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        replay::compile("cc", &project(), &scratch("replay")).expect("compile tools/replay.c")
    })
    .clone()
}

fn write(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

#[test]
fn known_trace_gives_known_numbers() {
    let so = common::build_so("2.36");
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![r#"{"op":"start","format":1,"version":"2.36","pid":1}"#.to_string()];
    let mut seq = 0;
    let mut rec = |body: String| {
        lines.push(format!(
            r#"{{"seq":{seq},"t_ns":0,"tid":1,{body},"caller":"0x1"}}"#
        ));
        seq += 1;
    };
    // Ten 1000-byte blocks, five freed, one grown to 3000, a calloc of
    // 4 x 250, a free of a pointer the trace never returned.
    for i in 0..10 {
        rec(format!(
            r#""op":"malloc","size":1000,"ret":"0x{:x}""#,
            0x10000 + i * 0x1000
        ));
    }
    for i in 0..5 {
        rec(format!(
            r#""op":"free","ptr":"0x{:x}""#,
            0x10000 + i * 0x1000
        ));
    }
    rec(r#""op":"realloc","ptr":"0x19000","size":3000,"ret":"0x30000""#.to_string());
    rec(r#""op":"calloc","nmemb":4,"size":250,"ret":"0x40000""#.to_string());
    rec(r#""op":"free","ptr":"0x99999""#.to_string());
    // Records out of order in the file are replayed in seq order.
    let last = lines.pop().unwrap();
    lines.insert(3, last);
    let trace = write(dir.path(), "known.jsonl", &lines);
    let m: Measurement = replay::replay(&replayer(), &trace, Some(&so)).unwrap();
    assert_eq!(m.ops, 18);
    assert_eq!(m.unmatched, 1);
    assert_eq!(m.peak_live, 10_000);
    assert_eq!(m.end_live, 4 * 1000 + 3000 + 1000);
    assert!(m.end_heap >= m.end_live && m.peak_heap >= m.live_at_peak_heap);
    // The host's malloc replays the same calls.
    let host = replay::replay(&replayer(), &trace, None).unwrap();
    assert_eq!(
        (host.ops, host.peak_live, host.end_live),
        (18, 10_000, 8_000)
    );
}

/// python3 traced by the 2.36 `--trace` build, replayed on every version.
#[test]
fn real_workload_across_versions() {
    let traced = build_with("2.36", &["trace"]);
    let dir = scratch("replay");
    let trace = dir.join("python3.jsonl");
    run_ok(
        clean("/usr/bin/python3")
            .args([
                "-c",
                "d = {str(i): [i] * 5 for i in range(30000)}; l = sorted(d); print(len(l))",
            ])
            .env("LD_PRELOAD", &traced)
            .env("PYTHONMALLOC", "malloc")
            .env("MALLOC_STANDALONE_TRACE", &trace)
            .env("MALLOC_STANDALONE_TRACE_FORMAT", "jsonl"),
    );
    let mut args: Vec<String> = vec!["replay".into(), trace.display().to_string()];
    for v in common::VERSIONS {
        args.push("--manifest".into());
        args.push(common::pinned_path(v).display().to_string());
    }
    args.extend(["--rounds".into(), "1".into(), "--out".into()]);
    args.push(scratch("malloc").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::resolver(&args);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with("| host") || l.starts_with("| glibc"))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 1 + common::VERSIONS.len(), "{table}");
    for v in common::VERSIONS {
        assert!(
            rows.iter().any(|r| r[1] == format!("glibc {v} (ours)")),
            "no row for glibc {v}:\n{table}"
        );
    }
    for r in &rows {
        // time, peak RSS, peak heap, live then, heap / live: all measured.
        let nums: Vec<f64> = r[2..7].iter().map(|c| c.parse().unwrap()).collect();
        assert!(
            nums[0] > 0.0 && nums[2] > 0.0 && nums[3] > 0.0 && nums[4] >= 1.0,
            "{r:?}"
        );
    }
    assert!(table.contains("calls, single-threaded"), "{table}");
}
