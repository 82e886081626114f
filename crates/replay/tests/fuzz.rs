//! Property tests of the trace reader (issue 15, item 8): `tools/replay.c`
//! reads a jsonl trace (docs/experimenting.md, "Tracing") before it replays
//! it. Whatever the file holds: the replayer ends, in bounded time, either
//! with its measurements (exit 0, one JSON line) or with one line
//! `replay: <trace>:<line>: <what>` naming a line of the file (or
//! `replay: <trace>: <what>` for the file as a whole) and exit 1; never a
//! signal, never another exit. A well-formed trace replays every call.
//!
//! The replayer runs on the host's malloc (no `.so`), so this needs only a C
//! compiler: fast tier. A longer run:
//! `PROPTEST_CASES=100000 cargo test -p replay --test fuzz` (docs/testing.md).

#[path = "../../../tests/proptest/support.rs"]
mod support;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestRunner;
use replay::view::OPS;
use support::{config, HANG};

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a property with the replayer, compiled into a temporary directory
/// of the test's own (removed at its end).
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(&Path, S::Value) -> Result<(), TestCaseError>,
) {
    let dir = tempfile::tempdir().unwrap();
    let exe = replay::compile("cc", &project(), dir.path()).expect("compile tools/replay.c");
    let mut runner = TestRunner::new(config(cases));
    if let Err(e) = runner.run(&strategy, |v| test(&exe, v)) {
        panic!("{e}");
    }
}

/// How a run ended.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the replayer on `trace` on the host's malloc, killed after [`HANG`].
fn run(replayer: &Path, trace: &Path) -> Ran {
    let mut cmd = Command::new(replayer);
    cmd.arg(trace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if name.starts_with("MALLOC_") || name.starts_with("LD_") || name == "GLIBC_TUNABLES" {
            cmd.env_remove(&k);
        }
    }
    let mut child = cmd.spawn().expect("run the replayer");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let mut stderr = Vec::new();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the replayer did not finish within {HANG:?} on {}",
                trace.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let _ = err.read_to_end(&mut stderr);
    Ran {
        code: status.code(),
        signal: status.signal(),
        stdout: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The lines of a trace as the replayer counts them: split at `\n`, a last
/// unterminated one included.
fn line_count(bytes: &[u8]) -> usize {
    let n = bytes.iter().filter(|&&b| b == b'\n').count();
    if bytes.last().is_some_and(|&b| b != b'\n') {
        n + 1
    } else {
        n
    }
}

/// Writes `bytes` as a trace, replays it and checks the way it ended;
/// returns the measurements when it replayed.
fn replay_checked(
    replayer: &Path,
    bytes: &[u8],
) -> Result<Option<replay::Measurement>, TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    std::fs::write(&trace, bytes).unwrap();
    let r = run(replayer, &trace);
    prop_assert_eq!(r.signal, None, "killed by a signal: {:?}", r);
    match r.code {
        Some(0) => {
            let m: replay::Measurement = serde_json::from_str(r.stdout.trim())
                .map_err(|e| TestCaseError::fail(format!("{e}: {r:?}")))?;
            Ok(Some(m))
        }
        Some(1) => {
            let prefix = format!("replay: {}:", trace.display());
            let msg = r.stderr.strip_prefix(&prefix).unwrap_or_else(|| {
                panic!("error without the trace's name: {r:?}");
            });
            prop_assert!(
                msg.ends_with('\n') && msg.matches('\n').count() == 1,
                "not one line: {:?}",
                r
            );
            // `:<line>: <what>` or ` <what>`.
            if let Some(rest) = msg.strip_prefix(|c: char| c.is_ascii_digit()).map(|_| msg) {
                let (n, what) = rest.split_once(": ").expect("`<line>: <what>`");
                let n: usize = n.parse().expect("a line number");
                prop_assert!(
                    n >= 1 && n <= line_count(bytes),
                    "line {} of a {}-line trace: {:?}",
                    n,
                    line_count(bytes),
                    r
                );
                prop_assert!(!what.trim().is_empty(), "{:?}", r);
            } else {
                prop_assert!(msg.starts_with(' ') && msg.trim().len() > 1, "{:?}", r);
            }
            prop_assert!(r.stdout.is_empty(), "{:?}", r);
            Ok(None)
        }
        _ => Err(TestCaseError::fail(format!("unexpected exit: {r:?}"))),
    }
}

/// Sizes and alignments, small and absurd.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0u64..5000,
        2 => prop::sample::select(vec![8u64, 16, 32, 64, 4096, 1 << 16]),
        1 => prop::sample::select(vec![
            0u64,
            3,
            1 << 20,
            1 << 40,
            (1 << 63) + 1,
            u64::MAX,
            u64::MAX - 15,
        ]),
    ]
}

/// A call record as the tracer writes it; the pointers come from a small
/// set so that frees and reallocs find what earlier calls returned.
fn record() -> impl Strategy<Value = (String, u64, u64, u64, u64, u64)> {
    (
        prop::sample::select(OPS).prop_map(String::from),
        number(),
        number(),
        number(),
        0u64..24,
        0u64..24,
    )
}

fn write_record(seq: usize, r: &(String, u64, u64, u64, u64, u64)) -> String {
    let (op, size, nmemb, alignment, ptr, ret) = r;
    let p = |x: &u64| format!("\"0x{:x}\"", x * 0x1000);
    let mut fields = vec![
        format!("\"seq\":{seq}"),
        "\"t_ns\":0".to_string(),
        "\"tid\":1".to_string(),
        format!("\"op\":\"{op}\""),
    ];
    let op = op.as_str();
    if op != "free" {
        fields.push(format!("\"size\":{size}"));
    }
    if matches!(op, "calloc" | "reallocarray") {
        fields.push(format!("\"nmemb\":{nmemb}"));
    }
    if matches!(
        op,
        "memalign" | "aligned_alloc" | "posix_memalign" | "free_aligned_sized"
    ) {
        fields.push(format!("\"alignment\":{alignment}"));
    }
    if matches!(
        op,
        "realloc" | "reallocarray" | "free" | "free_sized" | "free_aligned_sized"
    ) {
        fields.push(format!("\"ptr\":{}", p(ptr)));
    }
    if !matches!(op, "free" | "free_sized" | "free_aligned_sized") {
        fields.push(format!("\"ret\":{}", p(ret)));
    }
    fields.push("\"caller\":\"0x1\"".to_string());
    format!("{{{}}}", fields.join(","))
}

/// A well-formed trace: the start record, then the calls in a shuffled
/// order (the file holds them as they returned; the replayer sorts by seq).
fn trace() -> impl Strategy<Value = (Vec<String>, usize)> {
    prop::collection::vec(record(), 1..60)
        .prop_flat_map(|recs| {
            let n = recs.len();
            let lines: Vec<String> = recs
                .iter()
                .enumerate()
                .map(|(seq, r)| write_record(seq, r))
                .collect();
            (Just(lines).prop_shuffle(), Just(n))
        })
        .prop_map(|(mut lines, n)| {
            lines.insert(
                0,
                r#"{"op":"start","format":1,"version":"2.36","pid":1}"#.to_string(),
            );
            (lines, n)
        })
}

/// Pieces of trace lines, for lines that are almost right.
const PIECES: &[&str] = &[
    "{",
    "}",
    "\"",
    ":",
    ",",
    "\"op\":",
    "\"op\":\"malloc\"",
    "\"op\":\"start\"",
    "\"op\":\"free\"",
    "\"op\":\"x\"",
    "\"seq\":",
    "\"seq\":0",
    "\"seq\":1",
    "\"seq\":-1",
    "\"seq\":99999999999999999999",
    "\"size\":",
    "\"size\":16",
    "\"size\":-5",
    "\"size\":x",
    "\"ptr\":",
    "\"ptr\":\"0x10\"",
    "\"ptr\":\"0x\"",
    "\"ptr\":16",
    "\"ret\":\"0x20\"",
    "\"ret\":\"0xffffffffffffffffffff\"",
    "\"nmemb\":2",
    "\"alignment\":64",
    "0x",
    " ",
    "\t",
    "\r",
    "\0",
    "\n",
    "\u{feff}",
    "é",
];

/// One edit of a trace's lines.
#[derive(Clone, Debug)]
enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index),
    Truncate(Index),
    ReplaceLine(Index, String),
    InsertBytes(Index, Vec<u8>),
    DropField(Index, Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let pieces =
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat());
    prop_oneof![
        any::<Index>().prop_map(Edit::DeleteLine),
        any::<Index>().prop_map(Edit::DuplicateLine),
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), pieces).prop_map(|(i, s)| Edit::ReplaceLine(i, s)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Edit::InsertBytes(i, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::DropField(a, b)),
    ]
}

fn apply(bytes: &[u8], e: &Edit) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    match e {
        Edit::DeleteLine(i) => {
            lines.remove(i.index(n));
        }
        Edit::DuplicateLine(i) => {
            let at = i.index(n);
            lines.insert(at, lines[at].clone());
        }
        Edit::Truncate(i) => return bytes[..i.index(bytes.len() + 1)].to_vec(),
        Edit::ReplaceLine(i, s) => lines[i.index(n)] = s.clone().into_bytes(),
        Edit::InsertBytes(i, b) => {
            let at = i.index(bytes.len() + 1);
            return [&bytes[..at], b, &bytes[at..]].concat();
        }
        Edit::DropField(l, f) => {
            let line = &mut lines[l.index(n)];
            let text = String::from_utf8_lossy(line).into_owned();
            if let Some(body) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                let mut fields: Vec<&str> = body.split(',').collect();
                fields.remove(f.index(fields.len()));
                *line = format!("{{{}}}", fields.join(",")).into_bytes();
            }
        }
    }
    lines.join(&b'\n')
}

/// Any bytes: measurements or one message naming a line.
#[test]
fn any_bytes() {
    check(
        96,
        prop::collection::vec(any::<u8>(), 0..600),
        |exe, bytes| replay_checked(exe, &bytes).map(|_| ()),
    );
}

/// Lines made of trace syntax.
#[test]
fn lines_of_trace_pieces() {
    let line = prop::collection::vec(prop::sample::select(PIECES), 0..14).prop_map(|p| p.concat());
    check(96, prop::collection::vec(line, 0..20), |exe, lines| {
        replay_checked(exe, (lines.join("\n") + "\n").as_bytes()).map(|_| ())
    });
}

/// A well-formed trace replays every call.
#[test]
fn well_formed_traces_replay() {
    check(96, trace(), |exe, (lines, calls)| {
        let m = replay_checked(exe, (lines.join("\n") + "\n").as_bytes())?;
        let m = m.ok_or_else(|| TestCaseError::fail("a well-formed trace was refused"))?;
        prop_assert_eq!(m.ops, calls as u64);
        Ok(())
    });
}

/// A well-formed trace with a few edits: replays, or names a line.
#[test]
fn edited_traces() {
    let edits = prop::collection::vec(edit(), 1..4);
    check(96, (trace(), edits), |exe, ((lines, _), edits)| {
        let mut bytes = (lines.join("\n") + "\n").into_bytes();
        for e in &edits {
            bytes = apply(&bytes, e);
        }
        replay_checked(exe, &bytes).map(|_| ())
    });
}
