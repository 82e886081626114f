//! `resolver view`: a trace replayed under several allocators with the
//! replayer's `--view` mode (`tools/view.c` walks the allocator's own
//! chunks and bins after each call), drawn into one self-contained HTML
//! file (`view.html`: inline CSS and JavaScript, the data as JSON).
//!
//! Large traces: every call keeps its line in the file (call, size,
//! caller, each version's returned address), but the heap is recorded
//! after every `every`-th call only (`every` = calls / `MAX_SNAPSHOTS`,
//! rounded up), and if the recorded chunks still exceed
//! `MAX_CHUNK_RECORDS` every other snapshot is dropped until they fit. A
//! step between two snapshots shows the heap of the one before it, and
//! says so.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::ReplayError;

/// Heap snapshots recorded per version at most (before thinning).
pub const MAX_SNAPSHOTS: usize = 2000;
/// Chunk records (all versions together) the file holds at most.
pub const MAX_CHUNK_RECORDS: usize = 1_500_000;

/// Errors reading a trace for viewing.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot read the trace {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: {what} (each line of a jsonl trace is one JSON object, as a \
         --trace build writes with MALLOC_STANDALONE_TRACE_FORMAT=jsonl)"
    )]
    Line {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error("{path}: no calls in the trace")]
    Empty { path: PathBuf },
}

/// One call of the trace, in `seq` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub seq: u64,
    pub op: String,
    /// Bytes asked for (`nmemb * size` for calloc), 0 for free.
    pub size: u64,
    pub caller: String,
    pub line: usize,
}

/// The calls a jsonl trace may hold (the tracer's `op` names).
pub const OPS: &[&str] = &[
    "malloc",
    "calloc",
    "realloc",
    "reallocarray",
    "free",
    "free_sized",
    "free_aligned_sized",
    "memalign",
    "aligned_alloc",
    "posix_memalign",
    "valloc",
    "pvalloc",
];

/// Reads and checks a jsonl trace; a bad line is named by its number.
pub fn read_trace(path: &Path) -> Result<Vec<Call>, TraceError> {
    let text = std::fs::read(path).map_err(|source| TraceError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |line: usize, what: String| TraceError::Line {
        path: path.to_owned(),
        line,
        what,
    };
    let mut calls = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let last = lines.len();
    for (i, raw) in lines.into_iter().enumerate() {
        let n = i + 1;
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(raw).map_err(|e| {
            let cut = if n == last || (n + 1 == last && !text.ends_with(b"\n")) {
                " (the trace may be truncated)"
            } else {
                ""
            };
            bad(n, format!("not a JSON object: {e}{cut}"))
        })?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(n, "not a JSON object".into()))?;
        let op = obj
            .get("op")
            .and_then(|o| o.as_str())
            .ok_or_else(|| bad(n, "no \"op\"".into()))?;
        if op == "start" {
            continue;
        }
        if !OPS.contains(&op) {
            return Err(bad(n, format!("unknown op {op:?}")));
        }
        let num = |k: &str| -> Result<u64, TraceError> {
            obj.get(k)
                .and_then(|x| x.as_u64())
                .ok_or_else(|| bad(n, format!("\"{k}\" is missing or not a number")))
        };
        let ptr = |k: &str| -> Result<(), TraceError> {
            match obj.get(k).and_then(|x| x.as_str()) {
                Some(s) if s.starts_with("0x") && u64::from_str_radix(&s[2..], 16).is_ok() => {
                    Ok(())
                }
                _ => Err(bad(n, format!("\"{k}\" must be a \"0x...\" string"))),
            }
        };
        let seq = num("seq")?;
        if !seen.insert(seq) {
            return Err(bad(n, format!("\"seq\" {seq} repeats")));
        }
        let frees = op.starts_with("free");
        let mut size = if op == "free" { 0 } else { num("size")? };
        if op == "calloc" || op == "reallocarray" {
            size = size.saturating_mul(num("nmemb")?);
        }
        if matches!(
            op,
            "memalign" | "aligned_alloc" | "posix_memalign" | "free_aligned_sized"
        ) {
            num("alignment")?;
        }
        if frees || op.starts_with("realloc") {
            ptr("ptr")?;
        }
        if !frees {
            ptr("ret")?;
        }
        let caller = obj
            .get("caller")
            .and_then(|c| c.as_str())
            .unwrap_or("")
            .to_string();
        calls.push(Call {
            seq,
            op: op.to_string(),
            size: if frees { 0 } else { size },
            caller,
            line: n,
        });
    }
    if calls.is_empty() {
        return Err(TraceError::Empty {
            path: path.to_owned(),
        });
    }
    calls.sort_by_key(|c| c.seq);
    Ok(calls)
}

/// The heap after one call, as the replayer read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub step: usize,
    pub base: u64,
    pub top: u64,
    pub arenas: u64,
    /// (size, kind) from `base` on, the last the top chunk (kind 7).
    pub chunks: Vec<(u64, u8)>,
    /// (chunk address, size).
    pub mmapped: Vec<(u64, u64)>,
    /// A walk met a bad size or pointer.
    pub broken: bool,
}

impl Snapshot {
    /// (chunk address, size, kind) of each chunk of the main heap.
    pub fn placed(&self) -> Vec<(u64, u64, u8)> {
        let mut at = self.base;
        self.chunks
            .iter()
            .map(|&(size, kind)| {
                let c = (at, size, kind);
                at += size;
                c
            })
            .collect()
    }
}

/// Names of the chunk kinds in `Snapshot::chunks`.
pub const KINDS: [&str; 8] = [
    "in use", "tcache", "fastbin", "unsorted", "small", "large", "free", "top",
];

/// One allocator's replay in view mode.
#[derive(Clone, Debug, Default)]
pub struct ViewRun {
    /// Per call: (returned, freed or moved, main heap start), 0 for none.
    pub steps: Vec<(u64, u64, u64)>,
    pub snapshots: Vec<Snapshot>,
    /// The replayer died (an allocator's check aborted it) after this many
    /// calls, with what it said.
    pub died: Option<(usize, String)>,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

/// Parses the replayer's `--view` output (see `tools/view.c`).
pub fn parse_view(out: &str) -> Result<ViewRun, String> {
    let mut run = ViewRun::default();
    for (i, line) in out.lines().enumerate() {
        let bad = || format!("line {}: {line:?}", i + 1);
        let mut w = line.split(' ');
        match w.next() {
            Some("s") => {
                let f: Vec<u64> = w.map(hex).collect::<Option<_>>().ok_or_else(bad)?;
                if f.len() != 4 {
                    return Err(bad());
                }
                run.steps.push((f[1], f[2], f[3]));
            }
            Some("h") => {
                let (head, rest) = line.split_once(" : ").ok_or_else(bad)?;
                let mut parts = rest.split(';');
                let (chunks, mm, err) = (parts.next(), parts.next(), parts.next());
                let (chunks, mm, err) = match (chunks, mm, err) {
                    (Some(c), Some(m), Some(e)) => (c, m, e),
                    _ => return Err(bad()),
                };
                let h: Vec<&str> = head.split(' ').collect();
                if h.len() != 5 {
                    return Err(bad());
                }
                let chunks: Vec<(u64, u8)> = chunks
                    .split_whitespace()
                    .map(|x| x.parse::<u64>().map(|v| (v & !15, (v & 15) as u8)))
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad())?;
                let mmv: Vec<&str> = mm.split_whitespace().collect();
                let mut mmapped = Vec::new();
                for p in mmv.chunks(2) {
                    match p {
                        [a, s] => {
                            mmapped.push((hex(a).ok_or_else(bad)?, s.parse().map_err(|_| bad())?))
                        }
                        _ => return Err(bad()),
                    }
                }
                run.snapshots.push(Snapshot {
                    step: h[1].parse().map_err(|_| bad())?,
                    base: hex(h[2]).ok_or_else(bad)?,
                    top: hex(h[3]).ok_or_else(bad)?,
                    arenas: h[4].parse().map_err(|_| bad())?,
                    chunks,
                    mmapped,
                    broken: err.trim() != "0",
                });
            }
            Some("e") => {}
            _ => return Err(bad()),
        }
    }
    Ok(run)
}

/// Replays `trace` on `so` in view mode, the heap recorded every `every`
/// calls. A replayer killed by the allocator (an abort) is not an error:
/// the run says where it died.
pub fn replay_view(
    replayer: &Path,
    trace: &Path,
    so: &Path,
    every: usize,
) -> Result<ViewRun, ReplayError> {
    let on = so.display().to_string();
    let mut cmd = crate::replayer_command(replayer, Some(so));
    cmd.arg("--view").arg(every.max(1).to_string()).arg(trace);
    let out = cmd.output().map_err(|source| ReplayError::Io {
        path: replayer.to_owned(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    use std::os::unix::process::ExitStatusExt;
    if !out.status.success() && out.status.signal().is_none() {
        // The replayer's own refusal (a bad trace, a .so it cannot read).
        return Err(ReplayError::Run {
            on,
            status: out.status.to_string(),
            stderr,
        });
    }
    let mut run = parse_view(&stdout).map_err(|message| ReplayError::Output {
        on: on.clone(),
        message,
        stdout: stdout.chars().take(2000).collect(),
    })?;
    if let Some(sig) = out.status.signal() {
        let said = stderr.trim();
        run.died = Some((
            run.steps.len(),
            format!(
                "killed by signal {sig}{}{said}",
                if said.is_empty() { "" } else { ": " }
            ),
        ));
    }
    Ok(run)
}

/// How many calls apart the replayer records the heap.
pub fn snapshot_every(calls: usize) -> usize {
    calls.div_ceil(MAX_SNAPSHOTS).max(1)
}

/// Drops every other snapshot (the same steps in every run) until the
/// chunk records fit `MAX_CHUNK_RECORDS`; returns the steps kept.
pub fn thin(runs: &mut [(String, ViewRun)]) -> usize {
    let total = |runs: &[(String, ViewRun)]| -> usize {
        runs.iter()
            .flat_map(|(_, r)| r.snapshots.iter())
            .map(|s| s.chunks.len() + s.mmapped.len())
            .sum()
    };
    let mut keep_every = 1;
    while total(runs) > MAX_CHUNK_RECORDS && runs.iter().any(|(_, r)| r.snapshots.len() > 1) {
        keep_every *= 2;
        for (_, r) in runs.iter_mut() {
            let n = r.snapshots.len();
            let mut i = 0;
            // The last snapshot (after the last call) always stays.
            r.snapshots.retain(|_| {
                i += 1;
                (i - 1) % 2 == 0 || i == n
            });
        }
    }
    keep_every
}

/// Where a call's block came from, comparable across versions (whose
/// heaps differ by the chunks a version keeps for itself, such as the
/// tcache): the block a given earlier call freed, or new memory (from the
/// top or a part of a free chunk), or mmap, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    None,
    Reuses(usize),
    New,
    Mmapped,
}

/// Each call's `Place` in one run (`None` after it died).
pub fn places(r: &ViewRun) -> Vec<Place> {
    let mut freed: HashMap<u64, usize> = HashMap::new();
    r.steps
        .iter()
        .enumerate()
        .map(|(i, &(ret, old, base))| {
            let place = if ret == 0 {
                Place::None
            } else if let Some(j) = freed.remove(&ret) {
                Place::Reuses(j)
            } else if base != 0 && ret >= base && ret - base < (1 << 40) {
                Place::New
            } else {
                Place::Mmapped
            };
            if old != 0 && old != ret {
                freed.insert(old, i);
            }
            place
        })
        .collect()
}

/// Steps where the versions disagree: a call's block came from a
/// different place (`Place`), or a version died at or before it.
pub fn disagreements(calls: &[Call], runs: &[(String, ViewRun)]) -> Vec<usize> {
    let all: Vec<Vec<Place>> = runs.iter().map(|(_, r)| places(r)).collect();
    (0..calls.len())
        .filter(|&i| {
            let mut it = all.iter().map(|p| p.get(i));
            let first = it.next().flatten();
            first.is_none() || it.any(|p| p != first)
        })
        .collect()
}

fn js_str(s: &str) -> String {
    // JSON is JavaScript; "</" is broken up so a caller string cannot close
    // the script element.
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace("</", "<\\/")
}

/// The self-contained HTML page.
pub fn render(trace: &Path, calls: &[Call], runs: &[(String, ViewRun)], every: usize) -> String {
    let mut d = String::with_capacity(1 << 20);
    d.push_str("{\"trace\":");
    d.push_str(&js_str(&trace.display().to_string()));
    let _ = write!(d, ",\"every\":{every},\"kinds\":[");
    for (i, k) in KINDS.iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        d.push_str(&js_str(k));
    }
    // Calls: op index, size, caller index.
    let mut callers: HashMap<&str, usize> = HashMap::new();
    let mut caller_list: Vec<&str> = Vec::new();
    d.push_str("],\"ops\":[");
    for (i, o) in OPS.iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        d.push_str(&js_str(o));
    }
    d.push_str("],\"calls\":[");
    for (i, c) in calls.iter().enumerate() {
        let ci = *callers.entry(&c.caller).or_insert_with(|| {
            caller_list.push(&c.caller);
            caller_list.len() - 1
        });
        let op = OPS.iter().position(|o| *o == c.op).unwrap_or(0);
        if i > 0 {
            d.push(',');
        }
        let _ = write!(d, "{op},{},{ci},{}", c.size, c.line);
    }
    d.push_str("],\"callers\":[");
    for (i, c) in caller_list.iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        d.push_str(&js_str(c));
    }
    d.push_str("],\"differ\":[");
    for (i, s) in disagreements(calls, runs).iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        let _ = write!(d, "{s}");
    }
    d.push_str("],\"versions\":[");
    for (vi, (name, r)) in runs.iter().enumerate() {
        if vi > 0 {
            d.push(',');
        }
        let base = r
            .steps
            .iter()
            .rev()
            .map(|s| s.2)
            .find(|&b| b != 0)
            .unwrap_or(0);
        d.push_str("{\"name\":");
        d.push_str(&js_str(name));
        let _ = write!(d, ",\"base\":{base},\"steps\":{}", r.steps.len());
        match &r.died {
            Some((at, why)) => {
                let _ = write!(d, ",\"died\":[{at},{}]", js_str(why));
            }
            None => d.push_str(",\"died\":null"),
        }
        // Returned and freed addresses as offsets from base (0: none).
        d.push_str(",\"ret\":[");
        for (i, &(ret, old, _)) in r.steps.iter().enumerate() {
            if i > 0 {
                d.push(',');
            }
            let off = |a: u64| {
                if a == 0 {
                    0
                } else {
                    a.wrapping_sub(base) as i64
                }
            };
            let _ = write!(d, "{},{}", off(ret), off(old));
        }
        d.push_str("],\"snaps\":[");
        for (i, s) in r.snapshots.iter().enumerate() {
            if i > 0 {
                d.push(',');
            }
            let _ = write!(
                d,
                "[{},{},{},{},[",
                s.step,
                s.base.wrapping_sub(base) as i64,
                s.arenas,
                u8::from(s.broken)
            );
            for (j, &(size, kind)) in s.chunks.iter().enumerate() {
                if j > 0 {
                    d.push(',');
                }
                let _ = write!(d, "{}", size | kind as u64);
            }
            d.push_str("],[");
            for (j, &(a, size)) in s.mmapped.iter().enumerate() {
                if j > 0 {
                    d.push(',');
                }
                let _ = write!(d, "{},{size}", a.wrapping_sub(base) as i64);
            }
            d.push_str("]]");
        }
        d.push_str("]}");
    }
    d.push_str("]}");
    include_str!("view.html").replace("/*DATA*/null", &d)
}

/// A jsonl trace of `calls` calls for the large-trace test and benchmark:
/// a fixed pseudo-random mix (seeded) of malloc (sizes spread over 16
/// bytes to 256 KiB, most small), calloc, realloc and free of a random
/// live block, about 4,000 blocks live at once.
pub fn synthetic_trace(calls: usize, seed: u64) -> String {
    let mut x = seed | 1;
    let mut rnd = move || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut live: Vec<u64> = Vec::new();
    let mut next = 0x1000u64;
    let mut out = String::with_capacity(calls * 90);
    out.push_str("{\"op\":\"start\",\"format\":\"jsonl\",\"synthetic\":true}\n");
    for seq in 0..calls {
        let r = rnd();
        let size = {
            let s = rnd();
            match s % 100 {
                0..=79 => 16 + s / 100 % 240,
                80..=97 => 256 + s / 100 % 4000,
                _ => 4096 + s / 100 % (256 * 1024),
            }
        };
        let caller = format!("0x4{:05x}", r % 64 * 16);
        let want_free = !live.is_empty() && (r % 100 < 35 || live.len() > 4000);
        let line = if want_free {
            let i = (r / 100) as usize % live.len();
            let p = live.swap_remove(i);
            if r % 7 == 0 {
                next += 16;
                live.push(next);
                format!(
                    "\"op\":\"realloc\",\"ptr\":\"{p:#x}\",\"size\":{size},\"ret\":\"{next:#x}\""
                )
            } else {
                format!("\"op\":\"free\",\"ptr\":\"{p:#x}\"")
            }
        } else {
            next += 16;
            live.push(next);
            if r % 10 == 0 {
                format!("\"op\":\"calloc\",\"nmemb\":1,\"size\":{size},\"ret\":\"{next:#x}\"")
            } else {
                format!("\"op\":\"malloc\",\"size\":{size},\"ret\":\"{next:#x}\"")
            }
        };
        let _ = writeln!(
            out,
            "{{\"seq\":{seq},\"t_ns\":0,\"tid\":1,{line},\"caller\":\"{caller}\"}}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(snaps: usize, chunks: usize) -> ViewRun {
        ViewRun {
            steps: vec![(0, 0, 0); snaps],
            snapshots: (0..snaps)
                .map(|i| Snapshot {
                    step: i * 10,
                    base: 0x1000,
                    top: 0x2000,
                    arenas: 1,
                    chunks: vec![(32, 0); chunks],
                    mmapped: vec![],
                    broken: false,
                })
                .collect(),
            died: None,
        }
    }

    /// Thinning keeps the same steps in every version, always the last,
    /// and fits the budget.
    #[test]
    fn thinning_keeps_common_steps_and_the_last() {
        let per = MAX_CHUNK_RECORDS / 100;
        let mut runs = vec![
            ("a".to_string(), run(301, per)),
            ("b".to_string(), run(301, per)),
        ];
        let kept = thin(&mut runs);
        assert!(kept >= 4, "{kept}");
        let steps = |r: &ViewRun| r.snapshots.iter().map(|s| s.step).collect::<Vec<_>>();
        assert_eq!(steps(&runs[0].1), steps(&runs[1].1));
        assert_eq!(runs[0].1.snapshots.last().unwrap().step, 3000);
        let total: usize = runs.iter().map(|(_, r)| r.snapshots.len() * per).sum();
        assert!(total <= MAX_CHUNK_RECORDS, "{total}");
        assert!(steps(&runs[0].1)
            .iter()
            .all(|s| s % (10 * kept) == 0 || *s == 3000));
    }

    /// A block's place: reused from the call that freed it, new, mmapped.
    #[test]
    fn places_name_the_freeing_call() {
        let base = 0x5555_0000;
        let r = ViewRun {
            steps: vec![
                (base + 0x10, 0, base),
                (0, base + 0x10, base),
                (base + 0x10, 0, base),
                (0x7fff_0000_0010, 0, base),
                (base + 0x40, 0, base),
            ],
            ..ViewRun::default()
        };
        assert_eq!(
            places(&r),
            vec![
                Place::New,
                Place::None,
                Place::Reuses(1),
                Place::Mmapped,
                Place::New
            ]
        );
    }

    #[test]
    fn view_lines_parse() {
        let r = parse_view("s 0 1010 0 1000\nh 0 1000 1050 1 : 33 48 7 ; 7000 4096 ; 0\ne 1\n")
            .unwrap();
        assert_eq!(r.steps, vec![(0x1010, 0, 0x1000)]);
        let s = &r.snapshots[0];
        assert_eq!(
            s.placed(),
            vec![(0x1000, 32, 1), (0x1020, 48, 0), (0x1050, 0, 7)]
        );
        assert_eq!(s.mmapped, vec![(0x7000, 4096)]);
        assert!(parse_view("h 0 1000 : 1 ;\n").is_err());
    }
}
