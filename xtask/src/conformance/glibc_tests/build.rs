//! Building one version's malloc tests outside glibc's build system: the
//! toolchain (the host's, or for a version older than the host a sysroot
//! made of that version's own `libc6-dev` and `libc6`, so the binaries
//! record only symbol versions it has), an include directory with a few of
//! the tree's internal headers copied in (never the tree root: its `bits/`
//! would shadow the C library's), `libsupport.a` from the tree's
//! `support/`, the test binaries and modules, all cached by command line
//! and input times; and the check of each binary's ELF version needs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use harness::ReferenceLibc;
use object::read::elf::ElfFile64;
use object::Endianness;

use super::plan::Tree;
use harness::process::command_line;

/// Internal headers of the tree that the tests and `support/` (or, up to
/// 2.24, `test-skeleton.c`: siglist.h) include, copied
/// into the include directory (with what they include in turn that neither
/// the C library nor the compiler provides). Looked up along the sysdeps
/// chain, then in `include/`.
pub const INTERNAL_HEADERS: &[&str] = &[
    "array_length.h",
    "hugepages.h",
    "intprops.h",
    "libc-diag.h",
    "libc-pointer-arith.h",
    "malloc-size.h",
    "scratch_buffer.h",
    "siglist.h",
    "stackinfo.h",
];

/// The stand-in library for allocator API the linked C library lacks.
pub const API_STUB: &str = "libglibc-tests-api-stub.so";

/// Flags every support file, test and module is compiled with (glibc's
/// Makeconfig: `-std=gnu11 -O2`, `+merge-constants`, `+math-flags`; and the
/// `_GNU_SOURCE` that its libc-symbols.h defines).
pub const COMMON_FLAGS: &[&str] = &[
    "-std=gnu11",
    "-O2",
    "-g",
    "-fmerge-all-constants",
    "-frounding-math",
    "-D_GNU_SOURCE",
    "-DMODULE_NAME=testsuite",
];

/// Libraries every test is linked with, as needed.
pub const LINK_LIBS: &[&str] = &["-Wl,--as-needed", "-lpthread", "-lrt", "-ldl"];

/// How programs are compiled and linked for one version.
#[derive(Clone, Debug)]
pub struct Toolchain {
    pub cc: String,
    /// Flags that choose the C library's headers, startup files and libraries.
    pub flags: Vec<String>,
    /// Where `#include <...>` finds the C library's and the compiler's headers.
    pub system_includes: Vec<PathBuf>,
    /// For the notes.
    pub describe: String,
    /// Identity for the build cache.
    pub id: String,
    /// The reference whose libraries a sysroot links against.
    pub sysroot_of: Option<ReferenceLibc>,
}

impl Toolchain {
    /// The host's compiler, headers and libraries.
    pub fn host(cc: &str, host_version: &str, debian_version: Option<&str>) -> Result<Toolchain> {
        let gcc_include = gcc_include(cc)?;
        Ok(Toolchain {
            cc: cc.to_string(),
            flags: Vec::new(),
            system_includes: vec![
                gcc_include,
                PathBuf::from("/usr/local/include"),
                PathBuf::from("/usr/include/x86_64-linux-gnu"),
                PathBuf::from("/usr/include"),
            ],
            describe: format!("built with the host's glibc {host_version} headers and libraries"),
            id: format!("host {host_version} {}", debian_version.unwrap_or("")),
            sysroot_of: None,
        })
    }

    /// The host's compiler with a sysroot at `dir` made of `dev` (an
    /// unpacked `libc6-dev`) and the reference's libraries: headers, crt
    /// files, `libc.so` and `libc_nonshared.a` of that version, kernel
    /// headers from the host.
    pub fn sysroot(
        cc: &str,
        dev: &Path,
        reference: &ReferenceLibc,
        dir: &Path,
    ) -> Result<Toolchain> {
        make_sysroot(dev, reference, dir)?;
        let lib = dir.join("usr/lib/x86_64-linux-gnu");
        Ok(Toolchain {
            cc: cc.to_string(),
            flags: vec![
                format!("--sysroot={}", dir.display()),
                format!("-B{}/", lib.display()),
                format!("-L{}", lib.display()),
            ],
            system_includes: vec![
                gcc_include(cc)?,
                dir.join("usr/include/x86_64-linux-gnu"),
                dir.join("usr/include"),
            ],
            describe: format!(
                "built against glibc {}'s own libc6-dev {} (a sysroot), so they record only its symbol versions",
                reference.version,
                reference.debian_version.as_deref().unwrap_or("?")
            ),
            id: format!("sysroot {} {}", dev.display(), reference.lib_dir.display()),
            sysroot_of: Some(reference.clone()),
        })
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.cc);
        c.args(&self.flags);
        c
    }

    pub fn version(&self) -> String {
        super::super::compiler_version(&self.cc)
    }
}

fn gcc_include(cc: &str) -> Result<PathBuf> {
    let out = Command::new(cc)
        .arg("-print-file-name=include")
        .output()
        .with_context(|| format!("running {cc}"))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Directories of kernel headers (Debian's linux-libc-dev) that a sysroot
/// borrows from the host: the C library's headers include them.
const KERNEL_HEADER_DIRS: &[&str] = &[
    "linux",
    "asm-generic",
    "drm",
    "misc",
    "mtd",
    "rdma",
    "scsi",
    "sound",
    "video",
    "xen",
];

fn symlink(target: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("symlink {} -> {}", link.display(), target.display()))
}

/// `<dir>/usr/include` (the libc6-dev headers plus the host's kernel
/// headers), `<dir>/usr/lib/x86_64-linux-gnu` (its startup files, archives
/// and linker scripts, with its absolute `.so` symlinks pointed at the
/// reference's libraries), `<dir>/lib/x86_64-linux-gnu` and
/// `<dir>/lib64/ld-linux-x86-64.so.2` (the reference's). Linker scripts are
/// copied, not linked: ld prefixes the sysroot to the paths of a script
/// only when the script itself lies inside it.
fn make_sysroot(dev: &Path, r: &ReferenceLibc, dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let inc = dir.join("usr/include");
    let inc_arch = inc.join("x86_64-linux-gnu");
    let lib = dir.join("usr/lib/x86_64-linux-gnu");
    for d in [&inc_arch, &lib, &dir.join("lib"), &dir.join("lib64")] {
        fs::create_dir_all(d)?;
    }
    let entries = |d: &Path| -> Result<Vec<fs::DirEntry>> {
        let mut v: Vec<_> = fs::read_dir(d)
            .with_context(|| format!("reading {}", d.display()))?
            .collect::<std::io::Result<_>>()?;
        v.sort_by_key(|e| e.file_name());
        Ok(v)
    };
    for e in entries(&dev.join("usr/include"))? {
        if e.file_name() != "x86_64-linux-gnu" {
            symlink(&e.path(), &inc.join(e.file_name()))?;
        }
    }
    for e in entries(&dev.join("usr/include/x86_64-linux-gnu"))? {
        symlink(&e.path(), &inc_arch.join(e.file_name()))?;
    }
    for k in KERNEL_HEADER_DIRS {
        let host = Path::new("/usr/include").join(k);
        if host.is_dir() && !inc.join(k).exists() {
            symlink(&host, &inc.join(k))?;
        }
    }
    let host_asm = Path::new("/usr/include/x86_64-linux-gnu/asm");
    if host_asm.is_dir() && !inc_arch.join("asm").exists() {
        symlink(host_asm, &inc_arch.join("asm"))?;
    }
    let dev_lib = dev.join("usr/lib/x86_64-linux-gnu");
    for e in entries(&dev_lib)? {
        let path = e.path();
        let link = lib.join(e.file_name());
        if let Ok(target) = fs::read_link(&path) {
            let resolved = if target.is_absolute() {
                // /lib/x86_64-linux-gnu/libpthread.so.0: the reference's.
                match target.file_name() {
                    Some(f) if r.lib_dir.join(f).exists() => r.lib_dir.join(f),
                    _ => continue,
                }
            } else {
                dev_lib.join(target)
            };
            symlink(&resolved, &link)?;
            continue;
        }
        let head = fs::read(&path)
            .map(|b| b.into_iter().take(8).collect::<Vec<u8>>())
            .unwrap_or_default();
        if path.is_file() && !head.starts_with(b"\x7fELF") && !head.starts_with(b"!<arch>") {
            fs::copy(&path, &link).with_context(|| format!("copying {}", path.display()))?;
        } else {
            symlink(&path, &link)?;
        }
    }
    symlink(&r.lib_dir, &dir.join("lib/x86_64-linux-gnu"))?;
    symlink(&r.ld_so, &dir.join("lib64/ld-linux-x86-64.so.2"))?;
    Ok(())
}

/// The include directories: in `dir`, `support` and `malloc` as links to
/// the tree's (for `<support/check.h>`, `<malloc/tst-malloc-usable.c>`)
/// and the internal headers copied, with what they include that neither
/// the C library, the compiler nor our stand-ins provide; in `next`, the
/// header that a copied one reaches with `#include_next` (x86_64's
/// hugepages.h wraps the generic one). Returns the headers copied, by name,
/// with where they came from.
pub fn prepare_include(
    tree: &Tree,
    tc: &Toolchain,
    stand_ins: &Path,
    dir: &Path,
    next: &Path,
) -> Result<BTreeMap<String, PathBuf>> {
    for d in [dir, next] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("removing {}", d.display()))?;
        }
        fs::create_dir_all(d)?;
    }
    symlink(&tree.root.join("support"), &dir.join("support"))?;
    symlink(&tree.root.join("malloc"), &dir.join("malloc"))?;
    let ours: BTreeSet<String> = files_under(stand_ins)?
        .iter()
        .filter_map(|f| f.strip_prefix(stand_ins).ok())
        .map(|f| f.display().to_string())
        .collect();
    // Along the sysdeps chain, then include/.
    let candidates = |name: &str| -> Vec<PathBuf> {
        tree.chain
            .iter()
            .map(|d| tree.root.join(d).join(name))
            .chain([tree.root.join("include").join(name)])
            .filter(|p| p.is_file())
            .collect()
    };
    let mut copied = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<String> = INTERNAL_HEADERS.iter().map(|s| s.to_string()).collect();
    let include_re = regex::Regex::new(r#"(?m)^\s*#\s*include(_next)?\s*[<"]([^>"]+)[>"]"#)
        .expect("static regex");
    while let Some(name) = queue.pop() {
        if ours.contains(&name) || !seen.insert(name.clone()) {
            continue;
        }
        let found = candidates(&name);
        let Some(src) = found.first() else { continue };
        let mut texts = vec![(dir.join(&name), src.clone())];
        let text = fs::read_to_string(src).with_context(|| format!("reading {}", src.display()))?;
        for c in include_re.captures_iter(&text) {
            if c.get(1).is_some() && c[2] == *name {
                if let Some(n) = found.get(1) {
                    texts.push((next.join(&name), n.clone()));
                }
            }
        }
        for (dest, src) in texts {
            if let Some(p) = dest.parent() {
                fs::create_dir_all(p)?;
            }
            let text =
                fs::read_to_string(&src).with_context(|| format!("reading {}", src.display()))?;
            fs::write(&dest, &text)?;
            for c in include_re.captures_iter(&text) {
                let inc = c[2].to_string();
                let provided = tc.system_includes.iter().any(|d| d.join(&inc).exists());
                if c.get(1).is_none() && !provided && !seen.contains(&inc) {
                    queue.push(inc);
                }
            }
            copied.insert(
                dest.strip_prefix(dir.parent().unwrap_or(dir))
                    .unwrap_or(&dest)
                    .display()
                    .to_string(),
                src,
            );
        }
    }
    Ok(copied)
}

/// Every file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// C source of the stand-in library for allocator API the linked C library
/// lacks: each name a function that traps (it is never reached: the real
/// glibc or our .so comes first in the lookup order).
pub fn api_stub_source(names: &[String]) -> String {
    let mut s = String::from(
        "/* Generated by `cargo xtask conformance --suite glibc-tests`: lets tests that call\n   allocator API the linked C library lacks link; at run time the real glibc or our\n   .so, earlier in the lookup order, defines it.  */\n",
    );
    for n in names {
        s.push_str(&format!("void {n} (void) {{ __builtin_trap (); }}\n"));
    }
    s
}

/// The names a shared library defines in its dynamic symbol table.
pub fn dynamic_symbols(path: &Path) -> Result<BTreeSet<String>> {
    dynamic_symbols_where(path, true)
}

/// The names an ELF file needs from others (undefined dynamic symbols).
pub fn undefined_dynamic_symbols(path: &Path) -> Result<BTreeSet<String>> {
    dynamic_symbols_where(path, false)
}

fn dynamic_symbols_where(path: &Path, defined: bool) -> Result<BTreeSet<String>> {
    use object::{Object, ObjectSymbol};
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file =
        object::File::parse(&*data).with_context(|| format!("parsing {}", path.display()))?;
    Ok(file
        .dynamic_symbols()
        .filter(|s| {
            if defined {
                s.is_definition()
            } else {
                s.is_undefined()
            }
        })
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect())
}

/// Whether `out` was made by exactly `cmd` (recorded beside it), after
/// every file among `inputs` last changed.
pub fn fresh(out: &Path, cmd: &str, inputs: &[PathBuf]) -> bool {
    let Ok(made) = fs::metadata(out).and_then(|m| m.modified()) else {
        return false;
    };
    fs::read_to_string(cmd_file(out)).is_ok_and(|c| c == cmd)
        && inputs.iter().all(|i| {
            fs::metadata(i)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t <= made)
        })
}

pub fn record(out: &Path, cmd: &str) -> Result<()> {
    fs::write(cmd_file(out), cmd).with_context(|| format!("writing {}", cmd_file(out).display()))
}

fn cmd_file(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".cmd");
    PathBuf::from(s)
}

/// Runs a compiler command line, unless `out` is fresh for `key` + the
/// command (the files the command names are its inputs). Ok(true) if it
/// ran; Err(the compiler's message) if it failed.
pub fn run_cached(mut cmd: Command, out: &Path, key: &str) -> std::result::Result<bool, String> {
    let line = format!("{key}\n{}", command_line(&cmd));
    let inputs: Vec<PathBuf> = cmd
        .get_args()
        .map(PathBuf::from)
        .filter(|p| p != out && p.is_file())
        .collect();
    if fresh(out, &line, &inputs) {
        return Ok(false);
    }
    let _ = fs::remove_file(out);
    let o = cmd
        .output()
        .map_err(|e| format!("{}: {e}", command_line(&cmd)))?;
    if !o.status.success() {
        let _ = fs::remove_file(out);
        return Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        ));
    }
    record(out, &line).map_err(|e| e.to_string())?;
    Ok(true)
}

/// The first error line of a compiler's output (or its first line).
pub fn first_error(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains("error") || l.contains("undefined reference"))
        .or_else(|| text.lines().next())
        .unwrap_or("")
        .trim();
    // `/.../glibc-2.31/support/x.c:1:2: error` reads as `support/x.c:1:2: error`.
    let re =
        regex::Regex::new(r"^/\S*?/(glibc-[0-9.]+/)?([^/\s]+/[^/\s]+:)").expect("static regex");
    re.replace(line, "$2").into_owned()
}

/// The symbols a link failed on (`undefined reference to 'x'`).
pub fn undefined_references(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"undefined reference to [`']([^`']+)'").expect("static regex");
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

// ------------------------------------------------------------ ELF versions

/// `(file, version)` for every `GLIBC_*`-style version an ELF file needs.
pub fn version_needs(path: &Path) -> Result<Vec<(String, String)>> {
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file = ElfFile64::<Endianness>::parse(&*data)
        .with_context(|| format!("parsing {}", path.display()))?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let mut out = Vec::new();
    if let Some((mut iter, link)) = sections.gnu_verneed(endian, &*data)? {
        let strings = sections.strings(endian, &*data, link)?;
        while let Some((need, mut aux)) = iter.next()? {
            let lib = String::from_utf8_lossy(need.file(endian, strings)?).into_owned();
            while let Some(a) = aux.next()? {
                let v = String::from_utf8_lossy(a.name(endian, strings)?).into_owned();
                out.push((lib.clone(), v));
            }
        }
    }
    Ok(out)
}

/// The versions a shared library defines.
pub fn version_defs(path: &Path) -> Result<BTreeSet<String>> {
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file = ElfFile64::<Endianness>::parse(&*data)
        .with_context(|| format!("parsing {}", path.display()))?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let mut out = BTreeSet::new();
    if let Some((mut iter, link)) = sections.gnu_verdef(endian, &*data)? {
        let strings = sections.strings(endian, &*data, link)?;
        while let Some((_def, mut aux)) = iter.next()? {
            if let Some(a) = aux.next()? {
                out.insert(String::from_utf8_lossy(a.name(endian, strings)?).into_owned());
            }
        }
    }
    Ok(out)
}

/// The libraries of one C library (a directory), with their version
/// definitions read once.
pub struct LibDir {
    pub dir: PathBuf,
    pub label: String,
    defs: std::sync::Mutex<BTreeMap<String, Option<BTreeSet<String>>>>,
}

impl LibDir {
    pub fn new(dir: &Path, label: String) -> LibDir {
        LibDir {
            dir: dir.to_owned(),
            label,
            defs: Default::default(),
        }
    }

    /// What of `needs` this C library cannot satisfy, one message each.
    pub fn missing(&self, needs: &[(String, String)]) -> Vec<String> {
        let mut out = Vec::new();
        for (lib, v) in needs {
            let mut defs = self.defs.lock().expect("lock");
            let d = defs
                .entry(lib.clone())
                .or_insert_with(|| version_defs(&self.dir.join(lib)).ok());
            match d {
                None => out.push(format!("{lib} (needed for {v}) is not in {}", self.label)),
                Some(set) if !set.contains(v) => {
                    out.push(format!("{v} from {lib}, which {} lacks", self.label))
                }
                Some(_) => {}
            }
        }
        out
    }
}

/// Fails unless `path` looks like a glibc tree: its tests' Makefiles, and
/// the support library (2.25 on) or the test skeleton it replaced.
pub fn check_tree(tree: &Path) -> Result<()> {
    for f in ["malloc/Makefile", "Rules"] {
        if !tree.join(f).is_file() {
            bail!("{} has no {f}: not a glibc source tree", tree.display());
        }
    }
    if !tree.join("support/Makefile").is_file() && !tree.join("test-skeleton.c").is_file() {
        bail!(
            "{} has neither support/Makefile nor test-skeleton.c: not a glibc source tree",
            tree.display()
        );
    }
    Ok(())
}
