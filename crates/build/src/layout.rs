//! `--layout-like FILE`: a second link of a built `.so`, padded so that
//! each of malloc.c's groups (its variables of one input section: `.data`,
//! `.bss`, `.tdata`, `.tbss`) lies at the distance from `main_arena` (TLS:
//! at the offset in the TLS block) that it has in a given real libc (an
//! unstripped `libc.so.6`, or its debug file from `libc6-dbg`).
//!
//! The distances between groups in a real libc are the sizes of the rest
//! of glibc (docs/globals.md), so they cannot come from the manifest: this
//! is not part of the plan, and the Nix builder does not do it. Within a
//! group the compiler already gives the real distances; the padding moves
//! whole groups. How: malloc.c's object is first linked with `-r` together
//! with a `.data` pad (which then lies between its `.data` and its
//! `.data.rel.local`, where `main_arena` is: the real libc has the rest of
//! libc's `.data` there), and the pads of `.bss`, `.tdata` and `.tbss` are
//! linked before it (the real libc has the rest of libc's `.bss` and TLS
//! there). The pads' sizes are found by linking, measuring and linking
//! again, until every group lies where the real one does. Then every
//! variable of malloc.c must lie where the real libc has it; if one does
//! not (another version's libc, or one compiled otherwise), the build is
//! refused, naming them, and nothing is written.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use crate::{io, render, BuildError};

/// The sections whose groups are moved; `.data` lies below `main_arena`.
const PADDED: [&str; 4] = [".data", ".bss", ".tdata", ".tbss"];

/// Links with more passes than this do not converge (alignment).
const MAX_PASSES: usize = 8;

/// What the padded link achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Padded {
    /// Each moved group's section, the pad's size and the representative
    /// variable's offset (from `main_arena`, or in the TLS block).
    pub groups: Vec<(String, u64, String, i64)>,
}

/// `-0x920`, `+0x6840`.
pub fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("+{v:#x}")
    }
}

fn layout_error(path: &Path, what: String) -> BuildError {
    BuildError::Layout {
        path: path.to_path_buf(),
        what,
    }
}

/// A shared object's data symbols: offsets from `main_arena` (TLS: in the
/// block), by name; locals of `malloc.c` and globals, with GCC's `.N`
/// suffix dropped when `base` and versions (`@GLIBC_...`) always.
fn offsets(path: &Path, base: bool) -> Result<BTreeMap<String, i64>, BuildError> {
    let data = std::fs::read(path).map_err(io(path))?;
    let file = object::File::parse(&*data)
        .map_err(|e| layout_error(path, format!("not an ELF file ({e})")))?;
    let mut current = String::new();
    // (name, address, tls, rank): malloc.c's locals first, then globals,
    // then other locals (a global a version script made local is listed
    // after every file's locals).
    let mut raw: Vec<(String, u64, bool, u8)> = Vec::new();
    for s in file.symbols() {
        if s.kind() == SymbolKind::File {
            current = s.name().unwrap_or_default().to_string();
            continue;
        }
        if !matches!(s.kind(), SymbolKind::Data | SymbolKind::Tls) || s.is_undefined() {
            continue;
        }
        let name = s.name().unwrap_or_default();
        let name = name.split('@').next().unwrap_or(name);
        let name = if base { base_name(name) } else { name };
        let rank = if !s.is_local() {
            1
        } else if current == "malloc.c" {
            0
        } else {
            2
        };
        raw.push((
            name.to_string(),
            s.address(),
            s.kind() == SymbolKind::Tls,
            rank,
        ));
    }
    raw.sort_by_key(|r| r.3);
    let arena = raw
        .iter()
        .find(|(n, _, tls, _)| n == "main_arena" && !tls)
        .map(|(_, a, _, _)| *a)
        .ok_or_else(|| {
            layout_error(
                path,
                "no symbol main_arena: give an unstripped libc.so.6, or its debug file \
                 (Debian's libc6-dbg: usr/lib/debug/.build-id/<xx>/<rest>.debug, <xx><rest> \
                 being the build-id `readelf -n libc.so.6` prints)"
                    .to_string(),
            )
        })?;
    let mut out = BTreeMap::new();
    for (n, a, tls, _) in raw {
        let off = if tls {
            a as i64
        } else {
            a as i64 - arena as i64
        };
        out.entry(n).or_insert(off);
    }
    Ok(out)
}

/// `name.123` -> `name`.
fn base_name(symbol: &str) -> &str {
    match symbol.rsplit_once('.') {
        Some((b, n)) if !b.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => b,
        _ => symbol,
    }
}

/// malloc.c's object: for each padded section, its variables' names.
fn groups(obj: &Path) -> Result<BTreeMap<String, Vec<String>>, BuildError> {
    let data = std::fs::read(obj).map_err(io(obj))?;
    let file = object::File::parse(&*data)
        .map_err(|e| layout_error(obj, format!("not an object file ({e})")))?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in file.symbols() {
        if !matches!(s.kind(), SymbolKind::Data | SymbolKind::Tls) || s.is_undefined() {
            continue;
        }
        let Some(idx) = s.section_index() else {
            continue;
        };
        let Ok(section) = file.section_by_index(idx) else {
            continue;
        };
        let section = section.name().unwrap_or_default().to_string();
        if PADDED.contains(&section.as_str()) {
            out.entry(section)
                .or_default()
                .push(s.name().unwrap_or_default().to_string());
        }
    }
    Ok(out)
}

/// The assembler text of a pad of `size` bytes in `section`.
fn pad_source(section: &str, size: u64) -> String {
    let flags = match section {
        ".data" => "\"aw\",@progbits",
        ".bss" => "\"aw\",@nobits",
        ".tdata" => "\"awT\",@progbits",
        _ => "\"awT\",@nobits",
    };
    format!(
        "/* Generated by --layout-like: moves malloc.c's {section} group.  */\n\
         \t.section {section},{flags}\n\t.zero {size}\n\
         \t.section .note.GNU-stack,\"\",@progbits\n"
    )
}

fn cc(cc: &str, args: &[String], output: &Path) -> Result<(), BuildError> {
    let out = Command::new(cc)
        .args(args)
        .output()
        .map_err(io(Path::new(cc)))?;
    if !out.status.success() {
        return Err(BuildError::Link {
            output: output.to_path_buf(),
            command: render(cc, args),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

/// Links `so` again from `link` (the plan's link arguments, substituted,
/// without `-o`), padded as `real` is laid out; `malloc_obj` is malloc.c's
/// object among the link's inputs, `dir` a directory for the pads.
pub fn link_like(
    compiler: &str,
    real: &Path,
    link: &[String],
    malloc_obj: &Path,
    dir: &Path,
    so: &Path,
) -> Result<Padded, BuildError> {
    let want = offsets(real, true)?;
    let groups = groups(malloc_obj)?;
    // Each group's representative: its first variable the real libc has.
    let mut reps: Vec<(String, String, i64)> = Vec::new();
    for (section, names) in &groups {
        if let Some((sym, off)) = names
            .iter()
            .find_map(|n| want.get(base_name(n)).map(|o| (n.clone(), *o)))
        {
            reps.push((section.clone(), sym, off));
        }
    }
    if reps.is_empty() {
        return Err(layout_error(
            real,
            "none of malloc.c's variables is in its symbol table: is it a glibc of this version?"
                .to_string(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(
        ".tmp-{}",
        so.file_name().unwrap_or_default().to_string_lossy()
    ));
    let result = passes(
        compiler, real, link, malloc_obj, dir, so, &tmp, &reps, &groups, &want,
    );
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Links with pads resized until every representative of `reps`
/// (section, symbol, wanted offset) lies where it should; then renames
/// `tmp` to `so`.
#[allow(clippy::too_many_arguments)]
fn passes(
    compiler: &str,
    real: &Path,
    link: &[String],
    malloc_obj: &Path,
    dir: &Path,
    so: &Path,
    tmp: &Path,
    reps: &[(String, String, i64)],
    groups: &BTreeMap<String, Vec<String>>,
    want: &BTreeMap<String, i64>,
) -> Result<Padded, BuildError> {
    let mut pads: BTreeMap<String, u64> = PADDED.iter().map(|s| (s.to_string(), 0)).collect();
    for _ in 0..MAX_PASSES {
        let mut pad_objs = BTreeMap::new();
        for (section, size) in &pads {
            let stem = format!("pad{}", section.replace('.', "_"));
            let src = dir.join(format!("{stem}.s"));
            let obj = dir.join(format!("{stem}.o"));
            manifest::write_atomic(&src, pad_source(section, *size).as_bytes())?;
            cc(
                compiler,
                &[
                    "-c".into(),
                    src.display().to_string(),
                    "-o".into(),
                    obj.display().to_string(),
                ],
                &obj,
            )?;
            pad_objs.insert(section.clone(), obj);
        }
        let merged = dir.join("malloc-padded.o");
        cc(
            compiler,
            &[
                "-r".into(),
                "-nostdlib".into(),
                "-o".into(),
                merged.display().to_string(),
                malloc_obj.display().to_string(),
                pad_objs[".data"].display().to_string(),
            ],
            &merged,
        )?;
        let mut args: Vec<String> = Vec::new();
        for a in link {
            if Path::new(a) == malloc_obj {
                for s in [".bss", ".tdata", ".tbss"] {
                    args.push(pad_objs[s].display().to_string());
                }
                args.push(merged.display().to_string());
            } else {
                args.push(a.clone());
            }
        }
        args.extend(["-o".into(), tmp.display().to_string()]);
        cc(compiler, &args, so)?;
        let have = offsets(tmp, false)?;
        let mut done = true;
        let mut result = Vec::new();
        for (section, sym, target) in reps {
            let Some(&got) = have.get(sym) else {
                return Err(layout_error(so, format!("{sym} is missing after the link")));
            };
            let pad = pads.get_mut(section).expect("a padded section");
            let delta = if section == ".data" {
                got - target
            } else {
                target - got
            };
            if delta != 0 {
                done = false;
                let next = *pad as i64 + delta;
                if next < 0 {
                    return Err(layout_error(
                        real,
                        format!(
                            "malloc.c's {section} group lies closer to main_arena there ({} \
                             for {sym}) than it can in our .so ({} with no padding): not \
                             reproducible by padding",
                            signed_hex(*target),
                            signed_hex(got)
                        ),
                    ));
                }
                *pad = next as u64;
            }
            result.push((section.clone(), *pad, sym.clone(), got));
        }
        if done {
            let mut differing = Vec::new();
            for names in groups.values() {
                for n in names {
                    if let (Some(w), Some(h)) = (want.get(base_name(n)), have.get(n)) {
                        if w != h {
                            differing.push(format!(
                                "{} (there {}, here {})",
                                base_name(n),
                                signed_hex(*w),
                                signed_hex(*h)
                            ));
                        }
                    }
                }
            }
            if !differing.is_empty() {
                return Err(layout_error(
                    real,
                    format!(
                        "malloc.c's variables are laid out otherwise there, even with every \
                         group moved: {}. Give the libc (or debug file) of exactly this glibc \
                         version, built by a compiler that lays out malloc.c as ours does",
                        differing.join(", ")
                    ),
                ));
            }
            std::fs::rename(tmp, so).map_err(io(so))?;
            return Ok(Padded { groups: result });
        }
    }
    Err(layout_error(
        real,
        format!("the padded link did not converge in {MAX_PASSES} passes (alignment)"),
    ))
}
