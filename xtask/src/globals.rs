//! `cargo xtask globals`: where the allocator's global variables lie
//! relative to `main_arena`, in our .so and in the real Debian libc of the
//! same version (its `libc6-dbg` debug file, found by the build-id of the
//! reference `libc.so.6`), written to docs/globals.md with `--write`.
//!
//! The allocator's globals are the data objects that the version's own
//! units (malloc.c and the other glibc files of the build, never our stubs)
//! define, as their objects' symbol tables list them: each with the input
//! section the compiler put it in (`.data`, `.data.rel.local`, `.bss`, ...).
//! Both .so files are read by name (locals under their unit's `FILE`
//! symbol, GCC's `.N` suffix dropped; globals without their `@version`).
//! Every variable of one input section of one unit is a *group*: the linker
//! moves a group as a whole, so within a group the distances are the
//! compiler's, and between groups the link's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use build::{build, BuildOptions};
use manifest::plan::Plan;
use manifest::Manifest;

/// The page the report is written to, relative to the project.
pub const PAGE: &str = "docs/globals.md";

/// The page's markers; everything between them is the generated report.
pub const BEGIN: &str = "<!-- globals:begin -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- globals:end -->";

/// A data object of a unit, as its object file lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitVar {
    /// The name without GCC's `.N` suffix of function-local statics.
    pub name: String,
    /// The name in the object (and so in our .so), suffix kept.
    pub symbol: String,
    /// The unit's source file name (`malloc.c`): the `FILE` symbol.
    pub file: String,
    /// The input section (`.data`, `.data.rel.local`, `.bss`, `.tbss`, ...).
    pub section: String,
    /// Whether it is local to the unit.
    pub local: bool,
}

/// Where a variable lies in one shared object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    /// Its address minus `main_arena`'s (TLS: its offset in the TLS block).
    pub offset: i64,
    /// Its size.
    pub size: u64,
}

/// One variable of the report: ours and the real one's placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The variable.
    pub var: UnitVar,
    /// In our .so.
    pub ours: Option<Placed>,
    /// In the real libc.so.6.
    pub real: Option<Placed>,
    /// The output section in the real libc (`.data`, `.bss`, `.tbss`).
    pub real_section: String,
}

impl Row {
    /// Whether both lie at the same distance from `main_arena` (TLS: at the
    /// same offset in their TLS block) with the same size.
    pub fn equal(&self) -> bool {
        matches!((self.ours, self.real), (Some(a), Some(b)) if a == b)
    }
}

/// The report of one version and build variant.
#[derive(Clone, Debug)]
pub struct Report {
    /// `2.31`.
    pub version: String,
    /// The build options (`[]` or `["hooks"]`).
    pub options: Vec<String>,
    /// Whether this is the `--layout-like` build, padded as the real libc.
    pub layout: bool,
    /// The real libc's Debian version.
    pub debian_version: String,
    /// The real libc's build-id.
    pub build_id: String,
    /// Every allocator global, sorted by the real offset, then ours.
    pub rows: Vec<Row>,
    /// Our stubs' data objects that lie between two of the allocator's
    /// globals of one group in our .so.
    pub intruders: Vec<String>,
    /// The groups: one unit's variables of one input section.
    pub groups: Vec<Group>,
}

/// One unit's variables of one input section, which the linker moves as
/// a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The unit's source file name.
    pub file: String,
    /// The input section.
    pub section: String,
    /// Its variables' names, in the real layout's order.
    pub vars: Vec<String>,
    /// Whether every variable is in both, of the same size, at the same
    /// distance from the group's others.
    pub internal_equal: bool,
    /// Where the group starts (its lowest variable), from `main_arena`
    /// (TLS: in the TLS block), real and ours.
    pub real_start: Option<i64>,
    /// See [`Group::real_start`].
    pub ours_start: Option<i64>,
    /// What lies between this group and `main_arena`'s (TLS: before the
    /// group in the TLS block), real and ours.
    pub real_between: Between,
    /// See [`Group::real_between`].
    pub ours_between: Between,
}

impl Group {
    /// Whether the group holds `main_arena`.
    pub fn is_main_arena(&self) -> bool {
        self.vars.iter().any(|v| v == "main_arena")
    }
    /// Whether it is thread-local.
    pub fn is_tls(&self) -> bool {
        self.section.starts_with(".t")
    }
}

/// Other objects' data between two places of a shared object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Between {
    /// The distance, in bytes.
    pub bytes: u64,
    /// How many other data objects lie there.
    pub vars: usize,
    /// The largest of them, with their sizes, largest first.
    pub largest: Vec<(String, u64)>,
}

/// The reports of `versions` (each a pinned version), or of every pinned
/// version from Debian's archive when `versions` is empty; then the
/// versions left out because the archive has no `libc6` of theirs.
pub fn collect(versions: &[String]) -> Result<(Vec<Report>, Vec<String>)> {
    let cache = source::Cache::default_location()?;
    let manifests: Vec<Manifest> = if versions.is_empty() {
        crate::pinned()?
            .into_iter()
            .filter(|m| matches!(m.source.origin, manifest::Origin::Debian { .. }))
            .collect()
    } else {
        versions
            .iter()
            .map(|v| {
                Manifest::load(&manifest::committed_path(&crate::project(), v))
                    .with_context(|| format!("no pinned manifest for glibc {v}"))
            })
            .collect::<Result<_>>()?
    };
    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    for m in &manifests {
        let reference = match harness::reference_libc(&m.version, &cache, None) {
            Ok(r) => r,
            Err(harness::ReferenceError::NoReferenceLibc { .. }) if versions.is_empty() => {
                skipped.push(m.version.clone());
                continue;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("the real glibc {}", m.version));
            }
        };
        let debug = harness::libc_debug_file(&reference, &cache)
            .with_context(|| format!("the debug file of the real glibc {}", m.version))?;
        let src = crate::pinned_source(m, &cache)?;
        for (options, layout) in variants(m) {
            reports.push(report(m, &src.root, &options, layout, &reference, &debug)?);
        }
    }
    Ok((reports, skipped))
}

/// The variants worth reporting for `m`, as (options, padded): the
/// default build, `hooks` where the manifest offers it (before 2.34 the
/// default has the hooks), and the default build padded as the real libc
/// (`--layout-like`).
pub fn variants(m: &Manifest) -> Vec<(Vec<String>, bool)> {
    let mut v = vec![(Vec::new(), false)];
    if m.options.contains_key("hooks") {
        v.push((vec!["hooks".to_string()], false));
    }
    v.push((Vec::new(), true));
    v
}

/// Builds our .so of `m` with `options` into `target/globals/<v>` and
/// compares it with the real libc `reference` (its debug file `debug`).
pub fn report(
    m: &Manifest,
    tree: &Path,
    options: &[String],
    layout: bool,
    reference: &harness::ReferenceLibc,
    debug: &Path,
) -> Result<Report> {
    let out = crate::project().join("target/globals").join(&m.version);
    let mut opts = BuildOptions::new(out, false);
    opts.options = options.to_vec();
    opts.layout_like = layout.then(|| debug.to_path_buf());
    opts.jobs = 1;
    let built = build(m, tree, &crate::project(), &opts)
        .with_context(|| format!("building glibc {} {options:?}", m.version))?;
    let build_dir = built
        .so
        .parent()
        .expect("the .so's directory")
        .join(format!("build-{}", m.version));
    let plan = Plan::of(m);
    let variant = plan
        .variant(options)
        .with_context(|| format!("glibc {}: no variant {options:?}", m.version))?;
    let build_dir =
        build_dir.with_file_name(format!("build-{}{}", m.version, variant.suffix.release));
    // The version's own units (glibc's files), not our stubs.
    let mut vars = Vec::new();
    for c in &variant.compile {
        if !c.source.starts_with(manifest::plan::TREE) {
            continue;
        }
        let obj = PathBuf::from(
            c.object
                .replace(manifest::plan::BUILD, &build_dir.to_string_lossy()),
        );
        vars.extend(unit_vars(&obj, &c.unit)?);
    }
    let stub_vars: Vec<String> = variant
        .compile
        .iter()
        .filter(|c| !c.source.starts_with(manifest::plan::TREE))
        .map(|c| {
            let obj = c
                .object
                .replace(manifest::plan::BUILD, &build_dir.to_string_lossy());
            unit_vars(Path::new(&obj), &c.unit)
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .map(|v| v.symbol)
        .collect();

    let ours = SymbolMap::read(&built.so, false)?;
    let real_libc = reference.lib_dir.join("libc.so.6");
    let build_id = harness::build_id(&real_libc)?;
    let real = SymbolMap::read(debug, true)?;
    let (Some(ours_arena), Some(real_arena)) = (ours.main_arena(), real.main_arena()) else {
        bail!(
            "main_arena is missing from {} or {}",
            built.so.display(),
            debug.display()
        );
    };
    let mut rows: Vec<Row> = vars
        .into_iter()
        .map(|var| {
            let place = |map: &SymbolMap, arena: u64, exact: bool| {
                map.find(&var, exact).map(|s| Placed {
                    offset: if s.tls {
                        s.address as i64
                    } else {
                        s.address as i64 - arena as i64
                    },
                    size: s.size,
                })
            };
            let real_section = real
                .find(&var, false)
                .map(|s| s.section.clone())
                .unwrap_or_default();
            Row {
                ours: place(&ours, ours_arena, true),
                real: place(&real, real_arena, false),
                real_section,
                var,
            }
        })
        .collect();
    rows.sort_by_key(|r| {
        (
            r.var.section.starts_with(".t"),
            r.real.map(|p| p.offset).unwrap_or(i64::MAX),
            r.ours.map(|p| p.offset).unwrap_or(i64::MAX),
        )
    });
    // A stub's variable between two of one group's variables in our .so.
    let mut intruders = Vec::new();
    let mut groups: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    for r in &rows {
        if let Some(p) = r.ours {
            let e = groups
                .entry((&r.var.file, &r.var.section))
                .or_insert((p.offset, p.offset));
            e.0 = e.0.min(p.offset);
            e.1 = e.1.max(p.offset);
        }
    }
    for s in &stub_vars {
        let Some(sym) = ours.by_symbol.get(s.as_str()) else {
            continue;
        };
        if sym.tls {
            continue;
        }
        let off = sym.address as i64 - ours_arena as i64;
        for ((file, section), (lo, hi)) in &groups {
            if *lo < off && off < *hi && !section.starts_with(".t") {
                intruders.push(format!("{s} (inside {file}'s {section})"));
            }
        }
    }
    let groups = groups_of(&rows, &real, real_arena, &ours, ours_arena);
    Ok(Report {
        groups,
        version: m.version.clone(),
        options: options.to_vec(),
        layout,
        debian_version: reference.debian_version.clone().unwrap_or_default(),
        build_id,
        rows,
        intruders,
    })
}

/// The groups of `rows`, in the order of their first row.
fn groups_of(
    rows: &[Row],
    real: &SymbolMap,
    real_arena: u64,
    ours: &SymbolMap,
    ours_arena: u64,
) -> Vec<Group> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.var.file.clone(), r.var.section.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mine: Vec<&str> = rows.iter().map(|r| r.var.name.as_str()).collect();
    keys.into_iter()
        .map(|(file, section)| {
            let members: Vec<&Row> = rows
                .iter()
                .filter(|r| r.var.file == file && r.var.section == section)
                .collect();
            let span = |pick: fn(&Row) -> Option<Placed>| {
                let placed: Vec<Placed> = members.iter().filter_map(|r| pick(r)).collect();
                let lo = placed.iter().map(|p| p.offset).min()?;
                let hi = placed.iter().map(|p| p.offset + p.size as i64).max()?;
                Some((lo, hi))
            };
            let real_span = span(|r| r.real);
            let ours_span = span(|r| r.ours);
            let shifts: Vec<Option<(i64, u64, u64)>> = members
                .iter()
                .map(|r| match (r.real, r.ours) {
                    (Some(a), Some(b)) => Some((b.offset - a.offset, a.size, b.size)),
                    _ => None,
                })
                .collect();
            let internal_equal = shifts
                .iter()
                .all(|s| matches!(s, Some((_, a, b)) if a == b))
                && shifts
                    .windows(2)
                    .all(|w| w[0].map(|s| s.0) == w[1].map(|s| s.0));
            let tls = section.starts_with(".t");
            let arena_group = members.iter().any(|r| r.var.name == "main_arena");
            let between = |map: &SymbolMap, arena: u64, exact: bool, span: Option<(i64, i64)>| {
                let Some((lo, hi)) = span else {
                    return Between::default();
                };
                // The main_arena group's own span in this object.
                let arena_span = rows
                    .iter()
                    .filter(|r| r.var.file == "malloc.c" && r.var.section == ".data.rel.local")
                    .filter_map(|r| {
                        map.find(&r.var, exact)
                            .map(|s| (s.address as i64 - arena as i64, s.size))
                    })
                    .fold((0i64, 0i64), |(a, b), (o, sz)| {
                        (a.min(o), b.max(o + sz as i64))
                    });
                let (from, to) = if tls {
                    (0, lo)
                } else if arena_group {
                    return Between::default();
                } else if hi <= arena_span.0 {
                    (hi, arena_span.0)
                } else {
                    (arena_span.1, lo)
                };
                let mut out = Between {
                    bytes: (to - from).max(0) as u64,
                    ..Between::default()
                };
                let mut inside: Vec<(i64, u64, &str)> = map
                    .all
                    .iter()
                    .filter(|(s, name, _)| s.tls == tls && !mine.contains(&name.as_str()))
                    .filter_map(|(s, name, _)| {
                        let off = if tls {
                            s.address as i64
                        } else {
                            s.address as i64 - arena as i64
                        };
                        (off >= from && off < to).then_some((off, s.size, name.as_str()))
                    })
                    .collect();
                // Aliases (tzname and __tzname) count once, by the first name.
                inside.sort();
                inside.dedup_by_key(|v| v.0);
                inside.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(b.2)));
                out.vars = inside.len();
                out.largest = inside
                    .iter()
                    .take(4)
                    .map(|(_, size, name)| (name.to_string(), *size))
                    .collect();
                out
            };
            Group {
                vars: members.iter().map(|r| r.var.name.clone()).collect(),
                internal_equal,
                real_start: real_span.map(|s| s.0),
                ours_start: ours_span.map(|s| s.0),
                real_between: between(real, real_arena, false, real_span),
                ours_between: between(ours, ours_arena, true, ours_span),
                file,
                section,
            }
        })
        .collect()
}

/// `name.123` -> `name`; `name@GLIBC_2.2.5` -> `name`.
fn base_name(symbol: &str) -> &str {
    let s = symbol.split('@').next().unwrap_or(symbol);
    match s.rsplit_once('.') {
        Some((b, n)) if !b.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => b,
        _ => s,
    }
}

/// The data objects an object file defines, with their input sections.
fn unit_vars(obj: &Path, unit: &str) -> Result<Vec<UnitVar>> {
    let data = std::fs::read(obj).with_context(|| format!("reading {}", obj.display()))?;
    let file = object::File::parse(&*data).with_context(|| format!("parsing {}", obj.display()))?;
    let source = Path::new(unit)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for s in file.symbols() {
        if !matches!(s.kind(), SymbolKind::Data | SymbolKind::Tls) || s.is_undefined() {
            continue;
        }
        let Some(idx) = s.section_index() else {
            continue;
        };
        let section = file.section_by_index(idx)?.name()?.to_string();
        if !is_writable_data(&section) {
            continue;
        }
        let symbol = s.name()?.to_string();
        out.push(UnitVar {
            name: base_name(&symbol).to_string(),
            symbol,
            file: source.clone(),
            section,
            local: s.is_local(),
        });
    }
    Ok(out)
}

/// Sections of writable data: what exploits overwrite.
fn is_writable_data(section: &str) -> bool {
    [".data", ".bss", ".tbss", ".tdata"]
        .iter()
        .any(|p| section == *p || section.starts_with(&format!("{p}.")))
}

/// A symbol of a shared object.
#[derive(Clone, Debug)]
struct Sym {
    address: u64,
    size: u64,
    section: String,
    tls: bool,
}

/// A shared object's data symbols: locals by (file, name), globals by name.
struct SymbolMap {
    locals: BTreeMap<(String, String), Vec<Sym>>,
    globals: BTreeMap<String, Sym>,
    /// Every symbol by its exact name (the first of a name).
    by_symbol: BTreeMap<String, Sym>,
    /// Every data symbol with its name and file, in symbol table order.
    all: Vec<(Sym, String, String)>,
}

impl SymbolMap {
    fn read(path: &Path, strip_suffixes: bool) -> Result<SymbolMap> {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let file =
            object::File::parse(&*data).with_context(|| format!("parsing {}", path.display()))?;
        let mut map = SymbolMap {
            locals: BTreeMap::new(),
            globals: BTreeMap::new(),
            by_symbol: BTreeMap::new(),
            all: Vec::new(),
        };
        let mut current_file = String::new();
        let names: BTreeMap<usize, String> = file
            .sections()
            .map(|s| (s.index().0, s.name().unwrap_or_default().to_string()))
            .collect();
        for s in file.symbols() {
            if s.kind() == SymbolKind::File {
                current_file = s.name().unwrap_or_default().to_string();
                continue;
            }
            if !matches!(s.kind(), SymbolKind::Data | SymbolKind::Tls) || s.is_undefined() {
                continue;
            }
            let Some(idx) = s.section_index() else {
                continue;
            };
            let symbol = s.name()?.to_string();
            let sym = Sym {
                address: s.address(),
                size: s.size(),
                section: names.get(&idx.0).cloned().unwrap_or_default(),
                tls: s.kind() == SymbolKind::Tls,
            };
            let key = if strip_suffixes {
                base_name(&symbol).to_string()
            } else {
                symbol.split('@').next().unwrap_or(&symbol).to_string()
            };
            map.by_symbol.entry(symbol.clone()).or_insert(sym.clone());
            map.all
                .push((sym.clone(), key.clone(), current_file.clone()));
            if s.is_local() {
                map.locals
                    .entry((current_file.clone(), key))
                    .or_default()
                    .push(sym);
            } else {
                map.globals.entry(key).or_insert(sym);
            }
        }
        Ok(map)
    }

    fn main_arena(&self) -> Option<u64> {
        self.locals
            .get(&("malloc.c".to_string(), "main_arena".to_string()))
            .and_then(|v| v.first())
            .map(|s| s.address)
    }

    /// `var` in this object: a local under its unit's `FILE` symbol (the
    /// only one of that name there), else a global of its name.
    fn find(&self, var: &UnitVar, exact: bool) -> Option<&Sym> {
        let key = if exact { &var.symbol } else { &var.name };
        if var.local {
            return match self.locals.get(&(var.file.clone(), key.clone())) {
                Some(v) if v.len() == 1 => v.first(),
                _ => None,
            };
        }
        // A global stays global, or the version script made it local (then
        // the linker lists it after every file's locals).
        if let Some(s) = self.globals.get(key.as_str()) {
            return Some(s);
        }
        let mut named = self
            .locals
            .iter()
            .filter(|((_, n), _)| n == key)
            .flat_map(|(_, v)| v);
        match (named.next(), named.next()) {
            (Some(s), None) => Some(s),
            _ => None,
        }
    }
}

fn hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", -v)
    } else {
        format!("+{v:#x}")
    }
}

fn between_text(b: &Between) -> String {
    if b.vars == 0 {
        format!(
            "{:#x} bytes holding no variable (alignment, padding)",
            b.bytes
        )
    } else {
        format!(
            "{:#x} bytes: {} other variable{}, the largest {}",
            b.bytes,
            b.vars,
            if b.vars == 1 { "" } else { "s" },
            b.largest
                .iter()
                .map(|(n, size)| format!("`{n}` ({size:#x})"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Why a group lies where it does, ours against the real one.
pub fn why(g: &Group) -> String {
    if !g.internal_equal {
        return "**differs within the group**: a variable is missing, has another size, \
                or lies at another distance from the group's others (see the variables)"
            .to_string();
    }
    if g.is_main_arena() {
        return "equal: one input section of malloc.c's object, laid out by the compiler \
                (same source, same flags, same order of emission); the linker keeps it whole"
            .to_string();
    }
    let (Some(real), Some(ours)) = (g.real_start, g.ours_start) else {
        return "absent from one side".to_string();
    };
    if g.is_tls() {
        return if real == ours {
            format!(
                "equal: in front of it the real TLS block has {}; ours {}",
                between_text(&g.real_between),
                between_text(&g.ours_between)
            )
        } else {
            format!(
                "distances within the group equal; the group starts at {} in the real TLS \
                 block, {} in ours: in front of it the real libc has {}, ours {}",
                hex(real),
                hex(ours),
                between_text(&g.real_between),
                between_text(&g.ours_between)
            )
        };
    }
    if real == ours {
        return if g.real_between.bytes == 0 {
            "equal: the group follows `main_arena`'s directly in both".to_string()
        } else {
            format!(
                "equal: between it and `main_arena`'s group the real libc has {}; ours the \
                 same distance, {}",
                between_text(&g.real_between),
                between_text(&g.ours_between)
            )
        };
    }
    format!(
        "distances within the group equal; the whole group lies {} from `main_arena` in \
         the real libc, {} in ours. Between it and `main_arena`'s group the real libc has {}; \
         ours has {}",
        hex(real),
        hex(ours),
        between_text(&g.real_between),
        between_text(&g.ours_between)
    )
}

fn variant_name(r: &Report) -> String {
    if r.layout {
        "`--layout-like` (the debug file)".to_string()
    } else if r.options.is_empty() {
        "default".to_string()
    } else {
        r.options
            .iter()
            .map(|o| format!("`--{o}`"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The generated part of docs/globals.md: a summary, then per version and
/// build variant the groups and the variables.
pub fn page(reports: &[Report]) -> String {
    let mut md = String::from(
        "| glibc | build | real libc6 (build-id) | variables equal | groups laid out alike inside | groups placed alike |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in reports {
        let eq = r.rows.iter().filter(|x| x.equal()).count();
        let inside = r.groups.iter().filter(|g| g.internal_equal).count();
        let placed = r
            .groups
            .iter()
            .filter(|g| g.internal_equal && g.real_start.is_some() && g.real_start == g.ours_start)
            .count();
        let _ = writeln!(
            md,
            "| {} | {} | {} ({}) | {eq} of {} | {inside} of {n} | {placed} of {n} |",
            r.version,
            variant_name(r),
            r.debian_version,
            &r.build_id[..12.min(r.build_id.len())],
            r.rows.len(),
            n = r.groups.len(),
        );
    }
    md.push('\n');
    let mut previous: Option<&Report> = None;
    for r in reports {
        let same_as_default = previous.is_some_and(|p| {
            p.version == r.version && p.rows == r.rows && p.intruders == r.intruders
        });
        let _ = writeln!(md, "### glibc {}, {} build\n", r.version, variant_name(r));
        if same_as_default {
            md.push_str("Laid out exactly as the default build (every row of its tables).\n\n");
            continue;
        }
        if !r.layout {
            previous = Some(r);
        }
        md.push_str(&render(r));
    }
    md
}

/// The tables of one version and variant: the groups, then every variable.
pub fn render(r: &Report) -> String {
    let mut md = String::new();
    md.push_str("| group (unit, input section) | variables | real start | ours | why |\n|---|---|---|---|---|\n");
    for g in &r.groups {
        let cell = |o: Option<i64>| o.map(hex).unwrap_or_else(|| "absent".to_string());
        let _ = writeln!(
            md,
            "| {}, `{}`{} | {} | {} | {} | {} |",
            g.file,
            g.section,
            if g.is_tls() { " (TLS)" } else { "" },
            g.vars.len(),
            cell(g.real_start),
            cell(g.ours_start),
            why(g)
        );
    }
    md.push('\n');
    if !r.intruders.is_empty() {
        let _ = writeln!(
            md,
            "Our stubs' variables inside one of these groups: {}.\n",
            r.intruders.join(", ")
        );
    }
    let rows: Vec<&Row> = r
        .rows
        .iter()
        .filter(|row| !r.layout || !row.equal())
        .collect();
    if r.layout {
        if rows.is_empty() {
            let _ = writeln!(
                md,
                "All {} variables at the real distances.\n",
                r.rows.len()
            );
            return md;
        }
        let _ = writeln!(
            md,
            "{} of {} variables at the real distances; the others:\n",
            r.rows.len() - rows.len(),
            r.rows.len()
        );
    }
    md.push_str("| variable | group | real | ours | |\n|---|---|---|---|---|\n");
    for row in rows {
        let cell = |p: Option<Placed>| match p {
            Some(p) => format!("{} ({:#x})", hex(p.offset), p.size),
            None => "absent".to_string(),
        };
        let _ = writeln!(
            md,
            "| `{}` | {}, `{}` | {} | {} | {} |",
            row.var.name,
            row.var.file,
            row.var.section,
            cell(row.real),
            cell(row.ours),
            if row.equal() { "equal" } else { "differs" }
        );
    }
    md.push('\n');
    md
}

/// `text` with `generated` between its markers, or `None` without them.
pub fn splice(text: &str, generated: &str) -> Option<String> {
    let a = text.find(BEGIN)?;
    let b = text.find(END)?;
    (a < b).then(|| format!("{}{BEGIN}\n{generated}{}", &text[..a], &text[b..]))
}

/// The generated part of a page (between its markers), or `None`.
#[cfg(test)]
pub fn generated(text: &str) -> Option<&str> {
    let a = text.find(BEGIN)? + BEGIN.len();
    let b = text.find(END)?;
    text.get(a..b).map(|s| s.strip_prefix('\n').unwrap_or(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names_drop_gcc_suffixes_and_versions() {
        assert_eq!(base_name("may_shrink_heap.6"), "may_shrink_heap");
        assert_eq!(base_name("__malloc_hook@GLIBC_2.2.5"), "__malloc_hook");
        assert_eq!(base_name("mp_"), "mp_");
        assert_eq!(base_name("x.y"), "x.y");
        assert_eq!(base_name(".5"), ".5");
    }

    #[test]
    fn splice_replaces_only_between_the_markers() {
        let page = format!("intro\n{BEGIN}\nold\n{END}\nafter\n");
        let new = splice(&page, "new\n").unwrap();
        assert_eq!(new, format!("intro\n{BEGIN}\nnew\n{END}\nafter\n"));
        assert_eq!(generated(&new), Some("new\n"));
        assert_eq!(splice("no markers", "x"), None);
        assert_eq!(generated("no markers"), None);
    }

    fn row(name: &str, section: &str, real: i64, ours: i64) -> Row {
        Row {
            var: UnitVar {
                name: name.to_string(),
                symbol: name.to_string(),
                file: "malloc.c".to_string(),
                section: section.to_string(),
                local: true,
            },
            ours: Some(Placed {
                offset: ours,
                size: 8,
            }),
            real: Some(Placed {
                offset: real,
                size: 8,
            }),
            real_section: section.to_string(),
        }
    }

    fn empty() -> SymbolMap {
        SymbolMap {
            locals: BTreeMap::new(),
            globals: BTreeMap::new(),
            by_symbol: BTreeMap::new(),
            all: Vec::new(),
        }
    }

    #[test]
    fn a_group_moved_whole_is_alike_inside_and_one_moved_apart_is_not() {
        let rows = [
            row("main_arena", ".data.rel.local", 0, 0),
            row("mp_", ".data", -0x900, -0xa0),
            row("narenas", ".data", -0x918, -0xb8),
            row("free_list", ".bss", 0x2648, 0xc08),
            row("list_lock", ".bss", 0x2640, 0xc08 - 0x10),
        ];
        let (real, ours) = (empty(), empty());
        let groups = groups_of(&rows, &real, 0, &ours, 0);
        let by = |s: &str| groups.iter().find(|g| g.section == s).unwrap();
        assert!(by(".data.rel.local").internal_equal);
        assert!(by(".data").internal_equal);
        assert_eq!(by(".data").real_start, Some(-0x918));
        assert_eq!(by(".data").ours_start, Some(-0xb8));
        assert!(!by(".bss").internal_equal);
        assert!(why(by(".bss")).contains("differs within the group"));
        assert!(why(by(".data")).contains("-0x918"));
    }

    /// The real Debian libcs against our .so of every pinned version that
    /// has one: within every group (one unit's variables of one input
    /// section) every distance is the real one, so `main_arena`'s
    /// neighbours (2.31's hooks at -0x20, -0x18, -0x10) are too; the
    /// `--layout-like` build puts every variable where the real one is;
    /// and docs/globals.md holds exactly this report, so any
    /// distance that changes (equal today or not) makes it stale.
    #[test]
    #[cfg_attr(
        not(feature = "system-tests"),
        ignore = "fetches glibc trees and Debian's libc6-dbg: the system tier (./dev test)"
    )]
    fn every_group_is_laid_out_as_the_real_one_and_docs_globals_md_is_fresh() {
        let (reports, skipped) = collect(&[]).unwrap();
        let reported: Vec<&str> = reports.iter().map(|r| r.version.as_str()).collect();
        for v in ["2.31", "2.36", "2.41", "2.43", "2.44"] {
            assert!(
                reported.contains(&v),
                "glibc {v} is not reported (skipped: {skipped:?})"
            );
        }
        for r in &reports {
            for g in &r.groups {
                assert!(
                    g.internal_equal,
                    "glibc {} {:?}: {}'s {} group is no longer laid out as the real one's: {}",
                    r.version,
                    r.options,
                    g.file,
                    g.section,
                    render(r)
                );
            }
            for row in r.rows.iter().filter(|x| x.var.section == ".data.rel.local") {
                assert!(row.equal(), "glibc {}: {row:?}", r.version);
            }
            assert!(
                r.intruders.is_empty(),
                "glibc {}: {:?}",
                r.version,
                r.intruders
            );
            // Padded as the real libc, every variable lies where the real
            // one does.
            if r.layout {
                for row in &r.rows {
                    assert!(row.equal(), "glibc {} --layout-like: {row:?}", r.version);
                }
            }
        }
        assert_eq!(
            reports.iter().filter(|r| r.layout).count(),
            5,
            "one --layout-like build per version"
        );
        let r231 = reports
            .iter()
            .find(|r| r.version == "2.31" && r.options.is_empty())
            .unwrap();
        for (hook, offset) in [
            ("__memalign_hook", -0x20),
            ("__realloc_hook", -0x18),
            ("__malloc_hook", -0x10),
        ] {
            let row = r231.rows.iter().find(|x| x.var.name == hook).unwrap();
            assert_eq!(row.ours.map(|p| p.offset), Some(offset), "{hook}");
            assert!(row.equal(), "{row:?}");
        }
        let text = std::fs::read_to_string(crate::project().join(PAGE)).unwrap();
        let want = page(&reports);
        assert!(
            generated(&text) == Some(want.as_str()),
            "{PAGE} is stale: run `cargo xtask globals --write` and review the diff. \
             The report now reads:\n{want}"
        );
    }
}
