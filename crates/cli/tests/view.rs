//! `resolver view` in a real browser: a hand-written trace whose heap is
//! known (a fastbin in 2.23 where 2.35 has a tcache bin, unsorted, small
//! and large bins, an mmapped chunk, a call the two versions serve from
//! different blocks) drawn under glibc 2.23 and 2.35; headless Chromium
//! loads the file from disk at a given step, and the chunks it drew (the
//! DOM) must be the chunks the replayer read from the allocator at that
//! step; a screenshot is taken with no console errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{build_so, project, scratch};
use replay::view::{self, Snapshot, KINDS};

const VERSIONS: [&str; 2] = ["2.23", "2.35"];

fn chromium() -> &'static str {
    for c in ["chromium", "chromium-browser"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c;
        }
    }
    panic!("no chromium: install Debian's chromium package (./dev setup does)");
}

/// Runs headless Chromium on `page`; returns (stdout, stderr).
fn browse(page: &Path, step: usize, extra: &[&str]) -> (String, String) {
    chromium_on(&format!("file://{}#step={step}", page.display()), extra)
}

fn browse_url(url: &str) -> (String, String) {
    chromium_on(url, &["--dump-dom"])
}

fn chromium_on(url: &str, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "chromium failed ({}):\n{err}", o.status);
    (out, err)
}

/// The page's console messages, as Chromium logs them.
fn console(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("CONSOLE")).collect()
}

/// Every chunk drawn in column `col`: (address, size, kind).
fn drawn(dom: &str, col: usize) -> Vec<(u64, u64, String)> {
    let heaps: Vec<&str> = dom.split("<div class=\"heap\"").skip(1).collect();
    let heap = heaps
        .get(col)
        .unwrap_or_else(|| panic!("no column {col}:\n{dom}"));
    let heap = heap
        .split("class=\"col\"")
        .next()
        .unwrap()
        .split("<script")
        .next()
        .unwrap();
    let attr = |tag: &str, name: &str| -> String {
        let k = format!("{name}=\"");
        let at = tag.find(&k).unwrap_or_else(|| panic!("no {name} in {tag}")) + k.len();
        tag[at..].split('"').next().unwrap().to_string()
    };
    heap.split("<div class=\"chunk")
        .skip(1)
        .map(|tag| {
            let tag = tag.split('>').next().unwrap();
            (
                u64::from_str_radix(attr(tag, "data-addr").trim_start_matches("0x"), 16).unwrap(),
                attr(tag, "data-size").parse().unwrap(),
                attr(tag, "data-kind"),
            )
        })
        .collect()
}

/// The same as the replayer recorded it.
fn recorded(s: &Snapshot) -> Vec<(u64, u64, String)> {
    let kind = [
        "inuse", "tcache", "fastbin", "unsorted", "small", "large", "free", "top",
    ];
    let mut v: Vec<(u64, u64, String)> = s
        .placed()
        .into_iter()
        .map(|(a, size, k)| (a, size, kind[k as usize].to_string()))
        .collect();
    v.extend(
        s.mmapped
            .iter()
            .map(|&(a, size)| (a, size, "mmapped".to_string())),
    );
    v
}

fn trace(dir: &Path) -> PathBuf {
    let calls = [
        r#""op":"malloc","size":24,"ret":"0xa0""#,      // 0 A
        r#""op":"malloc","size":24,"ret":"0xb0""#,      // 1 B
        r#""op":"malloc","size":1500,"ret":"0xc0""#,    // 2 C
        r#""op":"malloc","size":24,"ret":"0xd0""#,      // 3 D
        r#""op":"malloc","size":1000,"ret":"0xe0""#,    // 4 H
        r#""op":"malloc","size":24,"ret":"0xf0""#,      // 5 guard
        r#""op":"free","ptr":"0xa0""#,                  // 6 A: fastbin / tcache
        r#""op":"free","ptr":"0xc0""#,                  // 7 C: unsorted
        r#""op":"free","ptr":"0xe0""#,                  // 8 H: unsorted / tcache
        r#""op":"malloc","size":2000,"ret":"0x100""#,   // 9 C large, H small / tcache
        r#""op":"malloc","size":200000,"ret":"0x200""#, // 10 mmapped
        r#""op":"free","ptr":"0x200""#,                 // 11
        r#""op":"malloc","size":500,"ret":"0x300""#,    // 12 splits H / C
        r#""op":"malloc","size":24,"ret":"0x400""#,     // 13 A again
    ];
    let mut text = String::from("{\"op\":\"start\",\"format\":\"jsonl\"}\n");
    for (i, c) in calls.iter().enumerate() {
        text.push_str(&format!(
            "{{\"seq\":{i},\"t_ns\":0,\"tid\":1,{c},\"caller\":\"0x40{i:02x}\"}}\n"
        ));
    }
    let p = dir.join("known.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_drawn_heap_is_the_allocators() {
    let dir = scratch("view");
    let trace = trace(&dir);
    let sos: Vec<PathBuf> = VERSIONS.iter().map(|v| build_so(v)).collect();
    let page = dir.join("known.html");
    let _ = std::fs::remove_file(&page);
    let mut args = vec!["view".to_string(), trace.display().to_string()];
    for v in VERSIONS {
        args.extend(["--version".into(), v.into()]);
    }
    args.extend([
        "--out".into(),
        page.display().to_string(),
        "--build-dir".into(),
    ]);
    args.push(scratch("malloc").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::resolver(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for outside in ["http:", "https:", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "the page refers to {outside}");
    }

    // What the replayer reads from each allocator, independently of the page.
    let replayer = replay::compile("cc", &project(), &scratch("view-replayer")).unwrap();
    let runs: Vec<view::ViewRun> = sos
        .iter()
        .map(|so| view::replay_view(&replayer, &trace, so, 1).unwrap())
        .collect();
    let snap = |v: usize, step: usize| -> &Snapshot {
        runs[v].snapshots.iter().find(|s| s.step == step).unwrap()
    };
    let kind_of = |v: usize, step: usize, user: u64| -> &str {
        let s = snap(v, step);
        s.placed()
            .into_iter()
            .find(|&(a, _, _)| a + 16 == user)
            .map(|(_, _, k)| KINDS[k as usize])
            .unwrap_or_else(|| panic!("no chunk at {user:#x} in glibc {}: {s:?}", VERSIONS[v]))
    };
    let ret = |v: usize, step: usize| runs[v].steps[step].0;
    // The allocators' bins, as glibc documents them.
    let (a, c, h) = (ret(0, 0), ret(0, 2), ret(0, 4));
    assert_eq!(kind_of(0, 6, a), "fastbin");
    assert_eq!(kind_of(1, 6, ret(1, 0)), "tcache");
    assert_eq!(kind_of(0, 7, c), "unsorted");
    assert_eq!(kind_of(1, 7, ret(1, 2)), "unsorted");
    assert_eq!(kind_of(0, 8, h), "unsorted");
    assert_eq!(kind_of(1, 8, ret(1, 4)), "tcache");
    assert_eq!(kind_of(0, 9, c), "large");
    assert_eq!(kind_of(0, 9, h), "small");
    assert_eq!(kind_of(1, 9, ret(1, 2)), "large");
    for v in 0..2 {
        assert!(snap(v, 9).mmapped.is_empty());
        let mm = &snap(v, 10).mmapped;
        assert!(
            mm.len() == 1 && mm[0].0 + 16 == ret(v, 10) && mm[0].1 >= 200_000,
            "{mm:?}"
        );
        assert!(snap(v, 11).mmapped.is_empty());
        assert_eq!(
            snap(v, 13).chunks.last().unwrap().1,
            7,
            "the top chunk ends the heap"
        );
    }
    // Call 12: 2.23 splits H (a small bin), 2.35 splits C (H is in the tcache).
    assert_eq!((ret(0, 12), ret(1, 12)), (h, ret(1, 2)));

    // The disagreements the page marks: call 12 only.
    let data = html
        .split("\"differ\":[")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap();
    assert_eq!(data, "12", "steps marked as differing");

    // What the browser drew, at several steps, is what the replayer read.
    for step in [6, 9, 10, 12] {
        let (dom, err) = browse(&page, step, &["--dump-dom"]);
        let body = dom
            .split("<body")
            .nth(1)
            .unwrap()
            .split('>')
            .next()
            .unwrap();
        assert!(body.contains(&format!("data-step=\"{step}\"")), "{body}");
        assert!(body.contains("data-ready=\"1\""), "{body}");
        assert!(!body.contains("data-errors"), "script errors: {body}");
        assert!(console(&err).is_empty(), "console: {:?}", console(&err));
        for (v, version) in VERSIONS.iter().enumerate() {
            assert_eq!(
                drawn(&dom, v),
                recorded(snap(v, step)),
                "glibc {version} at step {step}"
            );
        }
        // The chunk the call returned or freed is highlighted.
        let hl: Vec<&str> = dom
            .split("<div class=\"chunk")
            .filter(|t| t.starts_with(" k-") && t.split('>').next().unwrap().contains(" hl\""))
            .collect();
        assert_eq!(
            hl.len(),
            2,
            "one highlighted chunk per version at step {step}"
        );
        if step == 12 {
            assert!(dom.contains("[versions differ]"), "{dom}");
        }
    }

    // A screenshot, with nothing on the console.
    let png = dir.join("known.png");
    let _ = std::fs::remove_file(&png);
    let (_, err) = browse(&page, 9, &[&format!("--screenshot={}", png.display())]);
    assert!(console(&err).is_empty(), "console: {:?}", console(&err));
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}",
        bytes.len()
    );
}

/// The console check can fail: a page with a script error is caught.
#[test]
fn a_script_error_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<html><body><script>undefinedFunction();</script></body></html>",
    )
    .unwrap();
    let (_, err) = browse(&page, 0, &["--dump-dom"]);
    assert!(!console(&err).is_empty(), "{err}");
}

/// 100,000 calls: the page stays small, each step is drawn quickly, and
/// what is drawn between two snapshots is the snapshot before, said so;
/// runs of sub-pixel chunks cover exactly the chunks recorded.
#[test]
fn a_large_trace_stays_small_and_steps() {
    let dir = scratch("view-large");
    let trace = dir.join("large.jsonl");
    std::fs::write(&trace, view::synthetic_trace(100_000, 18)).unwrap();
    let sos: Vec<PathBuf> = VERSIONS.iter().map(|v| build_so(v)).collect();
    let page = dir.join("large.html");
    let mut args = vec!["view".to_string(), trace.display().to_string()];
    for v in VERSIONS {
        args.extend(["--version".into(), v.into()]);
    }
    args.extend([
        "--out".into(),
        page.display().to_string(),
        "--build-dir".into(),
    ]);
    args.push(scratch("malloc").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::resolver(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let bytes = std::fs::metadata(&page).unwrap().len();
    assert!(bytes < 20_000_000, "{bytes} bytes");
    let every: usize = stderr
        .split("the heap recorded every ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(every > 1, "{stderr}");

    // Steps drawn in the browser, layout included.
    let (dom, err) = browse_url(&format!("file://{}#step=0&bench", page.display()));
    let body = dom
        .split("<body")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let times = body
        .split("data-bench=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let (worst, mean) = times.split_once(' ').unwrap();
    let (worst, mean): (f64, f64) = (worst.parse().unwrap(), mean.parse().unwrap());
    assert!(
        mean < 200.0 && worst < 2000.0,
        "worst {worst} ms, mean {mean} ms"
    );
    assert!(console(&err).is_empty(), "console: {:?}", console(&err));

    // A step between snapshots: the one before, at every + 1.
    let step = every + every / 2;
    let replayer = replay::compile("cc", &project(), &scratch("view-replayer")).unwrap();
    // As the command ran it (the replayer's own mappings depend on how
    // often it records, and so do the allocator's mmapped addresses).
    let run = view::replay_view(&replayer, &trace, &sos[0], view::snapshot_every(100_000)).unwrap();
    let snap = run.snapshots.iter().find(|s| s.step == every).unwrap();
    let (dom, _) = browse(&page, step, &["--dump-dom"]);
    assert!(
        dom.contains(&format!("heap as after call {every}")),
        "no note"
    );
    // Each drawn element covers whole recorded chunks of its kind (or a
    // run of several, "mixed").
    let recorded = recorded(snap);
    let mut i = 0;
    for (addr, size, kind) in drawn(&dom, 0) {
        if kind == "mmapped" {
            assert!(snap.mmapped.contains(&(addr, size)), "{addr:#x}");
            continue;
        }
        assert_eq!(recorded[i].0, addr, "a drawn run starts on a chunk");
        let mut covered = 0;
        let mut kinds = std::collections::BTreeSet::new();
        while covered < size {
            covered += recorded[i].1;
            kinds.insert(recorded[i].2.clone());
            i += 1;
        }
        assert_eq!(covered, size, "a drawn run ends on a chunk");
        if kind != "mixed" {
            assert_eq!(kinds.into_iter().collect::<Vec<_>>(), vec![kind]);
        }
    }
    assert_eq!(i, snap.chunks.len(), "every chunk drawn");
}

/// A program's double free, recorded where it passed: 2.23's fastbin takes
/// A, B, A (its check looks at the top entry only); 2.35's tcache check
/// aborts. The page says where 2.35 died and marks every call from there.
#[test]
fn an_abort_in_one_version_is_shown() {
    let dir = scratch("view-abort");
    let calls = [
        r#""op":"malloc","size":24,"ret":"0xa0""#,
        r#""op":"malloc","size":24,"ret":"0xb0""#,
        r#""op":"free","ptr":"0xa0""#,
        r#""op":"free","ptr":"0xb0""#,
        r#""op":"free","ptr":"0xa0""#,
        r#""op":"malloc","size":24,"ret":"0xa0""#,
        r#""op":"malloc","size":24,"ret":"0xb0""#,
    ];
    let trace = dir.join("double-free.jsonl");
    let text: String = calls
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{{\"seq\":{i},{c},\"caller\":\"0x1\"}}\n"))
        .collect();
    std::fs::write(&trace, text).unwrap();
    let sos: Vec<PathBuf> = VERSIONS.iter().map(|v| build_so(v)).collect();
    let replayer = replay::compile("cc", &project(), &scratch("view-replayer")).unwrap();
    let old = view::replay_view(&replayer, &trace, &sos[0], 1).unwrap();
    let new = view::replay_view(&replayer, &trace, &sos[1], 1).unwrap();
    assert!(old.died.is_none(), "{:?}", old.died);
    assert_eq!(old.steps[5].0, old.steps[0].0, "2.23 gives A out again");
    let (at, why) = new.died.clone().expect("2.35 aborts");
    assert_eq!(at, 4);
    assert!(why.contains("double free detected in tcache"), "{why}");

    let page = dir.join("double-free.html");
    let mut args = vec!["view".to_string(), trace.display().to_string()];
    for v in VERSIONS {
        args.extend(["--version".into(), v.into()]);
    }
    args.extend([
        "--out".into(),
        page.display().to_string(),
        "--build-dir".into(),
    ]);
    args.push(scratch("malloc").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::resolver(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("glibc 2.35: 4 calls replayed") && stderr.contains("died at call 4"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let data = html
        .split("\"differ\":[")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap();
    assert_eq!(data, "4,5,6");
    let (dom, err) = browse(&page, 5, &["--dump-dom"]);
    assert!(console(&err).is_empty(), "console: {:?}", console(&err));
    assert!(
        dom.contains(
            "died at call 4: </span>killed by signal 6: free(): double free detected in tcache 2"
        ),
        "{dom}"
    );
    assert!(dom.contains("[versions differ]"));
}
