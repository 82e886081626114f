//! `cargo xtask bench workloads`: real and synthetic workloads under every
//! allocator: the host's glibc malloc, our .so of every pinned version, and
//! Debian's jemalloc, mimalloc and tcmalloc (installed with apt-get when
//! missing). Fixed-work single-threaded runs are counted in instructions
//! (valgrind, whole process, children included); every workload is also
//! timed, each round running every allocator once in turn (A/B
//! interleaved, each round starting at the next allocator) and reporting
//! the median of the per-round ratios to the host's malloc; peak RSS comes
//! from the kernel (wait4's ru_maxrss).
//! Results: `bench/results/workloads.md` and `bench/results/workloads.svg`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use build::{build, BuildOptions};
use manifest;
use source::Cache;

use super::{bench_program, instructions};

/// An allocator: a name and what to preload (nothing: the host's malloc).
struct Allocator {
    name: String,
    preload: Option<PathBuf>,
}

/// A workload: how to run it, and whether it is fixed-work and
/// single-threaded (so that its instruction count means something).
struct Workload {
    name: &'static str,
    what: String,
    count_instructions: bool,
    command: Box<dyn Fn() -> Command>,
    /// Where the workload reports its own figure (bench-malloc-thread's
    /// time per iteration), instead of wall time.
    own_metric: Option<fn(&str) -> Option<f64>>,
}

const DEBIAN_ALLOCATORS: &[(&str, &str, &str)] = &[
    ("jemalloc", "libjemalloc2", "libjemalloc.so.2"),
    ("mimalloc", "libmimalloc2.0", "libmimalloc.so.2"),
    (
        "tcmalloc",
        "libtcmalloc-minimal4",
        "libtcmalloc_minimal.so.4",
    ),
];
const LIB: &str = "/usr/lib/x86_64-linux-gnu";

/// Installs what the benchmarks need, or says what to install.
fn ensure_packages() -> Result<()> {
    let mut missing: Vec<&str> = DEBIAN_ALLOCATORS
        .iter()
        .filter(|(_, _, so)| !Path::new(LIB).join(so).exists())
        .map(|(_, pkg, _)| *pkg)
        .collect();
    for (bin, pkg) in [
        ("/usr/bin/sqlite3", "sqlite3"),
        ("/usr/bin/valgrind", "valgrind"),
        ("/usr/bin/python3", "python3"),
    ] {
        if !Path::new(bin).exists() {
            missing.push(pkg);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "missing packages: {}; install them with: sudo apt-get install -y {}",
            missing.join(", "),
            missing.join(" ")
        );
    }
    eprintln!("installing {}", missing.join(" "));
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-q"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()?
        .success()
        || (Command::new("apt-get")
            .args(["update", "-q"])
            .status()?
            .success()
            && Command::new("apt-get")
                .args(["install", "-y", "-q"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()?
                .success());
    if !ok {
        bail!("apt-get install {} failed", missing.join(" "));
    }
    Ok(())
}

/// A C file that keeps gcc -O2 busy: many functions with loops, switches
/// and inlining opportunities.
fn gcc_source(dir: &Path) -> Result<PathBuf> {
    let mut s = String::from("#include <string.h>\n");
    for i in 0..600 {
        s.push_str(&format!(
            "static int f{i} (int *a, int n) {{ int s = 0; for (int j = 0; j < n; j++) \
             {{ switch ((a[j] + {i}) & 7) {{ case 0: s += a[j] * {i}; break; case 1: s ^= a[j]; break; \
             case 2: s -= j; break; default: s += (a[j] >> 1) + {i}; }} }} return s; }}\n\
             int g{i} (int *a, int n) {{ int b[64]; memcpy (b, a, sizeof b); return f{i} (b, n) + f{i} (a, n / 2); }}\n"
        ));
    }
    let p = dir.join("big.c");
    std::fs::write(&p, s)?;
    Ok(p)
}

const PYTHON: &str = "import json\n\
d = {str(i): [i, str(i) * 3, {'k': i}] for i in range(60000)}\n\
s = json.dumps(d)\n\
e = json.loads(s)\n\
l = sorted(e.items(), key=lambda kv: len(kv[1][1]))\n\
print(len(l))";

const SQL: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v BLOB);\n\
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000)\n\
  INSERT INTO t SELECT x, printf('name-%d-%s', x, hex(randomblob(8))), zeroblob(x % 300) FROM c;\n\
CREATE INDEX t_name ON t (name);\n\
DELETE FROM t WHERE id % 3 = 0;\n\
UPDATE t SET name = name || '-updated' WHERE id % 5 = 0;\n\
SELECT count(*), sum(length(name)) FROM t;\n";

fn workloads(work: &Path, tree: &Path) -> Result<Vec<Workload>> {
    let churn = bench_program("churn", work)?;
    let prodcons = bench_program("prodcons", work)?;
    let big = gcc_source(work)?;
    let (simple, thread) = glibc_benchtests(tree, work)?;
    let obj = work.join("big.o");
    let sql = work.join("workload.sql");
    std::fs::write(&sql, SQL)?;
    let w = vec![
        Workload {
            name: "churn",
            what: "bench/c/churn.c: 1,000,000 malloc/free/realloc/calloc calls, one thread".into(),
            count_instructions: true,
            command: Box::new(move || {
                let mut c = Command::new(&churn);
                c.arg("1000000");
                c
            }),
            own_metric: None,
        },
        Workload {
            name: "bench-malloc-simple",
            what: "glibc 2.36's benchtests/bench-malloc-simple, built from the fetched tree".into(),
            count_instructions: true,
            command: Box::new(move || Command::new(&simple)),
            own_metric: None,
        },
        Workload {
            name: "python3",
            what: "python3 (PYTHONMALLOC=malloc): a 60,000-entry dict through json and sorted"
                .into(),
            count_instructions: true,
            command: Box::new(|| {
                let mut c = Command::new("/usr/bin/python3");
                c.args(["-c", PYTHON]).env("PYTHONMALLOC", "malloc");
                c
            }),
            own_metric: None,
        },
        Workload {
            name: "gcc -O2",
            what: "gcc -O2 -c on a generated 1,200-function C file (driver, cc1 and as)".into(),
            count_instructions: true,
            command: Box::new(move || {
                let mut c = Command::new("/usr/bin/gcc");
                c.args(["-O2", "-c"]).arg(&big).arg("-o").arg(&obj);
                c
            }),
            own_metric: None,
        },
        Workload {
            name: "sqlite3",
            what: "sqlite3 in memory: insert 60,000 rows, index, delete a third, update a fifth"
                .into(),
            count_instructions: true,
            command: Box::new(move || {
                let mut c = Command::new("/usr/bin/sqlite3");
                c.arg(":memory:").arg(format!(".read {}", sql.display()));
                c
            }),
            own_metric: None,
        },
        Workload {
            name: "prodcons",
            what: "bench/c/prodcons.c: a producer thread passes 2,000,000 blocks, 64 at a time, to a consumer thread that frees them".into(),
            count_instructions: false,
            command: Box::new(move || Command::new(&prodcons)),
            own_metric: None,
        },
        Workload {
            name: "bench-malloc-thread",
            what: "glibc 2.36's benchtests/bench-malloc-thread with 2 threads (10 s; its time per \
                   iteration, not wall time)"
                .into(),
            count_instructions: false,
            command: Box::new(move || {
                let mut c = Command::new(&thread);
                c.arg("2");
                c
            }),
            own_metric: Some(|out| {
                let i = out.find("\"time_per_iteration\":")?;
                out[i + 21..]
                    .trim_start()
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .next()?
                    .parse()
                    .ok()
            }),
        },
    ];
    Ok(w)
}

/// glibc's own malloc benchmarks, compiled from the host version's tree
/// (its timing headers want a little of glibc's build environment).
fn glibc_benchtests(tree: &Path, work: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for name in ["bench-malloc-simple", "bench-malloc-thread"] {
        let exe = work.join(name);
        let o = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args([
                "-O2",
                "-pthread",
                "-DUSE_CLOCK_GETTIME",
                "-DIS_IN(x)=0",
                "-D__timespec64=timespec",
                "-D__clock_gettime64=clock_gettime",
            ])
            .arg("-I")
            .arg(tree.join("benchtests"))
            .arg("-idirafter")
            .arg(tree)
            .arg("-idirafter")
            .arg(tree.join("sysdeps/generic"))
            .arg("-o")
            .arg(&exe)
            .arg(tree.join(format!("benchtests/{name}.c")))
            .arg(tree.join("benchtests/json-lib.c"))
            .output()?;
        if !o.status.success() {
            bail!(
                "compiling glibc's benchtests/{name}.c:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        out.push(exe);
    }
    Ok((out[0].clone(), out[1].clone()))
}

/// Runs once; returns (seconds, peak RSS in KiB, stdout).
fn timed(mut c: Command, preload: Option<&Path>) -> Result<(f64, i64, String)> {
    if let Some(p) = preload {
        c.env("LD_PRELOAD", p);
    }
    c.stdout(Stdio::piped()).stderr(Stdio::null());
    // No workload takes an hour; the limit only guards against a hang.
    let ran =
        harness::process::run(&mut c, Duration::from_secs(3600)).context("starting a workload")?;
    match ran.status {
        Some(s) if s.success() => {}
        Some(s) => bail!("a workload failed ({s})"),
        None => bail!("a workload ran for an hour and was killed"),
    }
    Ok((
        ran.took.as_secs_f64(),
        ran.max_rss_kib,
        String::from_utf8_lossy(&ran.stdout).into_owned(),
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// What `bench workloads` runs.
pub struct Selection {
    /// Interleaved timing rounds.
    pub rounds: usize,
    pub skip_instructions: bool,
    /// Workload names (empty: all).
    pub only: Vec<String>,
    /// Our pinned versions (empty: all).
    pub versions: Vec<String>,
}

impl Selection {
    /// A focused A/B run: the host's malloc against our .so only.
    fn focused(&self) -> bool {
        !self.only.is_empty() || !self.versions.is_empty()
    }

    /// The command line that reproduces this run.
    fn command(&self) -> String {
        let mut c: Vec<String> = ["cargo", "xtask", "bench", "workloads", "--rounds"]
            .map(String::from)
            .into();
        c.push(self.rounds.to_string());
        if self.skip_instructions {
            c.push("--no-instructions".into());
        }
        for w in &self.only {
            c.extend(["--only".into(), w.clone()]);
        }
        for v in &self.versions {
            c.extend(["--version".into(), v.clone()]);
        }
        shell_words::join(c)
    }
}

pub fn run(sel: &Selection) -> Result<()> {
    let (rounds, skip_instructions) = (sel.rounds, sel.skip_instructions);
    if !sel.focused() {
        ensure_packages()?;
    }
    let cache = Cache::default_location()?;
    let work = crate::project().join("target/bench/workloads");
    std::fs::create_dir_all(&work)?;
    let manifests = crate::pinned()?;
    for v in &sel.versions {
        if !manifests.iter().any(|m| &m.version == v) {
            bail!(
                "--version {v}: no pinned manifest of glibc {v} in nix/manifests (pinned: {})",
                manifests
                    .iter()
                    .map(|m| m.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    // The workloads first (glibc's benchtests come from the host version's
    // tree), so that a wrong --only fails before any allocator is built.
    let host = source::fetch::host_glibc()?;
    let host_manifest = manifests
        .iter()
        .find(|m| m.version == host.version)
        .with_context(|| {
            format!(
                "no pinned manifest of the host's glibc {} in nix/manifests",
                host.version
            )
        })?;
    let tree = crate::source_info(host_manifest, &cache)?.root;
    let mut workloads = workloads(&work, &tree)?;
    for w in &sel.only {
        if !workloads.iter().any(|x| x.name == w) {
            bail!(
                "--only {w}: no such workload (workloads: {})",
                workloads
                    .iter()
                    .map(|x| x.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let mut allocators = vec![Allocator {
        name: format!("host glibc {}", host.version),
        preload: None,
    }];
    for m in manifests
        .iter()
        .filter(|m| sel.versions.is_empty() || sel.versions.contains(&m.version))
    {
        let root = if m.version == host.version {
            tree.clone()
        } else {
            crate::source_info(m, &cache)?.root
        };
        let so = build(
            m,
            &root,
            &crate::project(),
            &BuildOptions::new(work.join("so"), false),
        )?
        .so;
        allocators.push(Allocator {
            name: format!("ours {}", m.version),
            preload: Some(so),
        });
    }
    for (name, _, so) in DEBIAN_ALLOCATORS.iter().filter(|_| !sel.focused()) {
        allocators.push(Allocator {
            name: name.to_string(),
            preload: Some(Path::new(LIB).join(so)),
        });
    }
    if !sel.only.is_empty() {
        workloads.retain(|w| sel.only.iter().any(|o| o == w.name));
    }

    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    // instructions[w][a], time ratios[w][a], rss[w][a]
    let mut instr: Vec<Vec<Option<u64>>> = Vec::new();
    let mut time: Vec<Vec<f64>> = Vec::new();
    let mut rss: Vec<Vec<i64>> = Vec::new();
    for w in &workloads {
        let mut counts = Vec::new();
        for a in &allocators {
            if w.count_instructions && !skip_instructions {
                let mut c = (w.command)();
                if let Some(p) = &a.preload {
                    c.env("LD_PRELOAD", p);
                }
                let n = instructions(c).with_context(|| format!("{} under {}", w.name, a.name))?;
                eprintln!("{}: {}: {n} instructions", w.name, a.name);
                counts.push(Some(n));
            } else {
                counts.push(None);
            }
        }
        instr.push(counts);
        // Interleaved rounds: every allocator once per round.
        let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); allocators.len()];
        let mut peak: Vec<i64> = vec![0; allocators.len()];
        let n_rounds = if w.own_metric.is_some() {
            1
        } else {
            rounds.max(1)
        };
        for round in 0..n_rounds {
            // Each round starts at the next allocator, so none always runs
            // first (or right after the same neighbour).
            let mut values = vec![0.0; allocators.len()];
            for k in 0..allocators.len() {
                let i = (round + k) % allocators.len();
                let a = &allocators[i];
                let (secs, kb, out) = timed((w.command)(), a.preload.as_deref())?;
                values[i] = match w.own_metric {
                    Some(f) => {
                        f(&out).with_context(|| format!("{}: no figure in {out}", w.name))?
                    }
                    None => secs,
                };
                peak[i] = peak[i].max(kb);
            }
            for (i, v) in values.iter().enumerate() {
                per_round[i].push(v / values[0]);
            }
        }
        eprintln!("{}: timed", w.name);
        time.push(per_round.into_iter().map(median).collect());
        rss.push(peak);
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let names: Vec<&str> = allocators.iter().map(|a| a.name.as_str()).collect();
    let others = if sel.focused() {
        "a focused A/B run: no third-party allocators".to_string()
    } else {
        format!(
            "Debian's {}",
            DEBIAN_ALLOCATORS
                .iter()
                .map(|(n, pkg, _)| format!("{n} ({pkg} {})", package_version(pkg)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let ours = if sel.versions.is_empty() {
        "each pinned version".to_string()
    } else {
        format!("glibc {}", sel.versions.join(", "))
    };
    let mut md = format!(
        "# Workloads under each allocator\n\nCommand: `{}`. \
         Machine: {}. Date: {}. {}. Load average before: {}; after: {}.\n\n\
         Allocators: the host's glibc malloc (nothing preloaded), our `.so` of {ours}; \
         {others}.\n\nWorkloads:\n\n",
        sel.command(),
        crate::machine(),
        crate::date(),
        crate::cc_version(),
        load_before.trim(),
        load_after.trim(),
    );
    for w in &workloads {
        md.push_str(&format!("- **{}**: {}\n", w.name, w.what));
    }
    md.push_str(
        "\n## Instructions (valgrind --tool=cachegrind --cache-sim=no, whole process), ratio to \
         the host's malloc\n\n",
    );
    md.push_str(&header(&names));
    for (w, counts) in workloads.iter().zip(&instr) {
        if counts.iter().all(Option::is_none) {
            continue;
        }
        let base = counts[0].unwrap_or(1) as f64;
        let cells: Vec<String> = counts
            .iter()
            .map(|c| c.map_or("-".into(), |n| format!("{:.3}", n as f64 / base)))
            .collect();
        md.push_str(&format!("| {} | {} |\n", w.name, cells.join(" | ")));
    }
    md.push_str(&format!(
        "\n## Time, ratio to the host's malloc (median over {rounds} interleaved rounds, each starting at the next allocator; \
         bench-malloc-thread: its time per iteration, one run)\n\n"
    ));
    md.push_str(&header(&names));
    for (w, ratios) in workloads.iter().zip(&time) {
        let cells: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
        md.push_str(&format!("| {} | {} |\n", w.name, cells.join(" | ")));
    }
    md.push_str("\n## Peak RSS (MiB, the most over the rounds)\n\n");
    md.push_str(&header(&names));
    for (w, kb) in workloads.iter().zip(&rss) {
        let cells: Vec<String> = kb
            .iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect();
        md.push_str(&format!("| {} | {} |\n", w.name, cells.join(" | ")));
    }
    md.push_str(
        "\nTargets (issue 7): ours 2.36 against the host's 2.36: instructions at most 1.01 and \
         time at most 1.02 on every workload, peak RSS within 1%. Time on this shared 2-core \
         machine is noisy; instruction counts are exact and repeatable.\n",
    );
    // A focused run has its own table and no plot, so that it never
    // replaces the full comparison.
    let out = crate::project().join(if sel.focused() {
        "bench/results/workloads-focused.md"
    } else {
        "bench/results/workloads.md"
    });
    manifest::write_atomic(&out, md.as_bytes())?;
    if !sel.focused() {
        let svg = plot(&names, &workloads, &instr, &time);
        manifest::write_atomic(&out.with_extension("svg"), svg.as_bytes())?;
    }
    print!("{md}");
    println!("{}", out.display());
    Ok(())
}

fn header(names: &[&str]) -> String {
    format!(
        "| workload | {} |\n|---|{}\n",
        names.join(" | "),
        "---|".repeat(names.len())
    )
}

fn package_version(pkg: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// One bar group per workload: each allocator's ratio to the host's malloc
/// (instructions where counted, else time); a line at 1.0.
fn plot(
    names: &[&str],
    workloads: &[Workload],
    instr: &[Vec<Option<u64>>],
    time: &[Vec<f64>],
) -> String {
    let colors = [
        "#444444", "#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#8c564b", "#e377c2", "#ff7f0e",
        "#d62728", "#bcbd22",
    ];
    let groups: Vec<(String, Vec<f64>)> = workloads
        .iter()
        .enumerate()
        .map(|(i, w)| match instr[i].first().copied().flatten() {
            Some(base) => (
                format!("{} (instructions)", w.name),
                instr[i]
                    .iter()
                    .map(|c| c.map_or(0.0, |n| n as f64 / base as f64))
                    .collect(),
            ),
            None => (format!("{} (time)", w.name), time[i].clone()),
        })
        .collect();
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(1.0f64, f64::max)
        .min(3.0);
    let (bar, gap, left, top, height) = (9.0, 24.0, 60.0, 30.0, 300.0);
    let group_w = bar * names.len() as f64 + gap;
    let width = left + group_w * groups.len() as f64 + 20.0;
    let total_h = top + height + 120.0 + 18.0 * names.len() as f64;
    let y = |v: f64| top + height - (v.min(max) / max) * height;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{total_h:.0}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\" font-size=\"13\">Ratio to the host's glibc malloc (lower is better; capped at {max:.1})</text>\n"
    );
    for t in [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0] {
        if t <= max {
            s.push_str(&format!(
                "<line x1=\"{left}\" x2=\"{:.0}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\"/>\
                 <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{t:.1}</text>\n",
                width - 10.0,
                y(t),
                y(t),
                if t == 1.0 { "#000" } else { "#ddd" },
                left - 6.0,
                y(t) + 4.0
            ));
        }
    }
    for (g, (label, values)) in groups.iter().enumerate() {
        let x0 = left + gap / 2.0 + g as f64 * group_w;
        for (i, v) in values.iter().enumerate() {
            s.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {v:.3}</title></rect>\n",
                x0 + i as f64 * bar,
                y(*v),
                top + height - y(*v),
                colors[i % colors.len()],
                names[i]
            ));
        }
        s.push_str(&format!(
            "<text transform=\"translate({:.1},{:.1}) rotate(30)\">{}</text>\n",
            x0,
            top + height + 14.0,
            label
        ));
    }
    for (i, n) in names.iter().enumerate() {
        let ly = top + height + 110.0 + 18.0 * i as f64;
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{:.0}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\">{n}</text>\n",
            ly - 10.0,
            colors[i % colors.len()],
            left + 18.0,
            ly
        ));
    }
    s.push_str("</svg>\n");
    s
}
