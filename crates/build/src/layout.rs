//! `--layout-like FILE`: a second link of a built `.so`, padded so that
//! each group of the allocator's globals (one unit's variables of one input
//! section: malloc.c's `.data`, `.bss`, `.tdata`, `.tbss`, and another
//! unit's `.data` the real libc has below `main_arena`) lies at the
//! distance from `main_arena` (TLS: at the offset in the TLS block) that it
//! has in a given real libc (an unstripped `libc.so.6`, or its debug file
//! from `libc6-dbg`).
//!
//! The distances between groups in a real libc are the sizes of the rest
//! of glibc (docs/globals.md), so they cannot come from the manifest: this
//! is not part of the plan, and the Nix builder does not do it. Within a
//! group the compiler already gives the real distances; the padding moves
//! whole groups. How: malloc.c's object is first linked with `-r` together
//! with a `.data` pad (which then lies between its `.data` and its
//! `.data.rel.local`, where `main_arena` is: the real libc has the rest of
//! libc's `.data` there), then each other unit whose `.data` the real libc
//! has there with a pad of its own; the pads of `.bss`, `.tdata` and
//! `.tbss` are linked before it (the real libc has the rest of libc's
//! `.bss` and TLS there). The pads' sizes are found by linking, measuring
//! and linking again, until every group lies where the real one does.
//! Then every variable must lie where the real libc has it; if one does
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
/// block), by name, a local of `first_file` before a global of the same
/// name before another file's local; GCC's `.N` suffix dropped when
/// `base`, versions (`@GLIBC_...`) always.
fn offsets(path: &Path, base: bool, first_file: &str) -> Result<BTreeMap<String, i64>, BuildError> {
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
        } else if current == first_file {
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

/// An object's variables in each padded section, by section.
fn groups_of(obj: &Path) -> Result<BTreeMap<String, Vec<String>>, BuildError> {
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

/// A pad and the group it moves.
#[derive(Clone, Debug)]
struct Slot {
    /// The pad's section.
    section: String,
    /// The group's representative (its object's symbol name) and where
    /// the real libc has it.
    symbol: String,
    target: i64,
    /// For a `.data` group below `main_arena` of another unit: its object,
    /// merged after malloc.c's (and the pads before it).
    object: Option<std::path::PathBuf>,
    /// The pad's size.
    pad: u64,
}

impl Slot {
    fn below(&self) -> bool {
        self.section == ".data"
    }
}

/// Links `so` again from `link` (the plan's link arguments, substituted,
/// without `-o`), padded as `real` is laid out; `malloc_obj` is malloc.c's
/// object among the link's inputs, `others` the objects of the version's
/// other units (glibc's files), `dir` a directory for the pads.
pub fn link_like(
    compiler: &str,
    real: &Path,
    link: &[String],
    malloc_obj: &Path,
    others: &[(String, std::path::PathBuf)],
    dir: &Path,
    so: &Path,
) -> Result<Padded, BuildError> {
    let want = offsets(real, true, "malloc.c")?;
    let groups = groups_of(malloc_obj)?;
    // Each group's representative: its first variable the real libc has.
    let rep = |names: &[String], want: &BTreeMap<String, i64>| {
        names
            .iter()
            .find_map(|n| want.get(base_name(n)).map(|o| (n.clone(), *o)))
    };
    let mut slots: Vec<Slot> = Vec::new();
    for (section, names) in &groups {
        if let Some((symbol, target)) = rep(names, &want) {
            slots.push(Slot {
                section: section.clone(),
                symbol,
                target,
                object: None,
                pad: 0,
            });
        }
    }
    if slots.is_empty() {
        return Err(layout_error(
            real,
            "none of malloc.c's variables is in its symbol table: is it a glibc of this version?"
                .to_string(),
        ));
    }
    // Other units' .data that the real libc has between malloc.c's .data
    // and main_arena (from 2.41 setvmaname.c's): merged after it, in the
    // real order, each with a pad of its own.
    let data_target = slots
        .iter()
        .find(|s| s.section == ".data")
        .map(|s| s.target);
    let mut checked: Vec<(String, String, i64)> = Vec::new();
    let mut extra: Vec<Slot> = Vec::new();
    for (unit, obj) in others {
        let file = Path::new(unit)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let theirs = offsets(real, true, &file)?;
        let Some(names) = groups_of(obj)?.remove(".data") else {
            continue;
        };
        let Some((symbol, target)) = rep(&names, &theirs) else {
            continue;
        };
        if data_target.is_some_and(|d| d < target) && target < 0 {
            for n in &names {
                if let Some(w) = theirs.get(base_name(n)) {
                    checked.push((n.clone(), base_name(n).to_string(), *w));
                }
            }
            extra.push(Slot {
                section: ".data".to_string(),
                symbol,
                target,
                object: Some(obj.clone()),
                pad: 0,
            });
        }
    }
    extra.sort_by_key(|s| s.target);
    slots.extend(extra);
    for names in groups.values() {
        for n in names {
            if let Some(w) = want.get(base_name(n)) {
                checked.push((n.clone(), base_name(n).to_string(), *w));
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(
        ".tmp-{}",
        so.file_name().unwrap_or_default().to_string_lossy()
    ));
    let result = passes(
        compiler, real, link, malloc_obj, dir, so, &tmp, slots, &checked,
    );
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Links with pads resized until every slot's representative lies where
/// it should and every variable of `checked` (symbol, name, wanted offset)
/// too; then renames `tmp` to `so`.
#[allow(clippy::too_many_arguments)]
fn passes(
    compiler: &str,
    real: &Path,
    link: &[String],
    malloc_obj: &Path,
    dir: &Path,
    so: &Path,
    tmp: &Path,
    mut slots: Vec<Slot>,
    checked: &[(String, String, i64)],
) -> Result<Padded, BuildError> {
    let merged_away: Vec<&Path> = slots.iter().filter_map(|s| s.object.as_deref()).collect();
    let merged_away: Vec<std::path::PathBuf> =
        merged_away.into_iter().map(Path::to_path_buf).collect();
    for _ in 0..MAX_PASSES {
        let mut pad_objs = Vec::new();
        for (i, slot) in slots.iter().enumerate() {
            let stem = format!("pad{i}{}", slot.section.replace('.', "_"));
            let src = dir.join(format!("{stem}.s"));
            let obj = dir.join(format!("{stem}.o"));
            manifest::write_atomic(&src, pad_source(&slot.section, slot.pad).as_bytes())?;
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
            pad_objs.push(obj.display().to_string());
        }
        // malloc.c's object, its .data pad, then each other unit's object
        // with its pad: one relocatable object, as glibc's `ld -r`.
        let merged = dir.join("malloc-padded.o");
        let mut r = vec![
            "-r".to_string(),
            "-nostdlib".into(),
            "-o".into(),
            merged.display().to_string(),
            malloc_obj.display().to_string(),
        ];
        for (slot, pad) in slots.iter().zip(&pad_objs) {
            if slot.below() {
                if let Some(o) = &slot.object {
                    r.push(o.display().to_string());
                }
                r.push(pad.clone());
            }
        }
        cc(compiler, &r, &merged)?;
        let mut args: Vec<String> = Vec::new();
        for a in link {
            if Path::new(a) == malloc_obj {
                for (slot, pad) in slots.iter().zip(&pad_objs) {
                    if !slot.below() {
                        args.push(pad.clone());
                    }
                }
                args.push(merged.display().to_string());
            } else if !merged_away.iter().any(|m| Path::new(a) == m) {
                args.push(a.clone());
            }
        }
        args.extend(["-o".into(), tmp.display().to_string()]);
        cc(compiler, &args, so)?;
        let have = offsets(tmp, false, "malloc.c")?;
        let mut got = Vec::new();
        for slot in &slots {
            let Some(&g) = have.get(&slot.symbol) else {
                return Err(layout_error(
                    so,
                    format!("{} is missing after the link", slot.symbol),
                ));
            };
            got.push(g);
        }
        // How far each group must still move away from main_arena.
        let deltas: Vec<i64> = slots
            .iter()
            .zip(&got)
            .map(|(s, g)| {
                if s.below() {
                    g - s.target
                } else {
                    s.target - g
                }
            })
            .collect();
        if deltas.iter().all(|d| *d == 0) {
            let differing: Vec<String> = checked
                .iter()
                .filter_map(|(sym, name, w)| {
                    let h = have.get(sym)?;
                    (h != w).then(|| {
                        format!("{name} (there {}, here {})", signed_hex(*w), signed_hex(*h))
                    })
                })
                .collect();
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
            return Ok(Padded {
                groups: slots
                    .iter()
                    .zip(&got)
                    .map(|(s, g)| (s.section.clone(), s.pad, s.symbol.clone(), *g))
                    .collect(),
            });
        }
        // The pads below main_arena are stacked: each moves its own group
        // and every group merged before it.
        let below: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].below()).collect();
        let mut next_pads: Vec<i64> = slots.iter().map(|s| s.pad as i64).collect();
        for (k, &i) in below.iter().enumerate() {
            let after = below.get(k + 1).map(|&j| deltas[j]).unwrap_or(0);
            next_pads[i] += deltas[i] - after;
        }
        for i in (0..slots.len()).filter(|&i| !slots[i].below()) {
            next_pads[i] += deltas[i];
        }
        for (slot, (next, g)) in slots.iter_mut().zip(next_pads.into_iter().zip(&got)) {
            if next < 0 {
                return Err(layout_error(
                    real,
                    format!(
                        "the {} group of {} lies closer to main_arena there ({}) than it can \
                         in our .so ({} with no padding): not reproducible by padding",
                        slot.section,
                        slot.symbol,
                        signed_hex(slot.target),
                        signed_hex(*g)
                    ),
                ));
            }
            slot.pad = next as u64;
        }
    }
    Err(layout_error(
        real,
        format!("the padded link did not converge in {MAX_PASSES} passes (alignment)"),
    ))
}
