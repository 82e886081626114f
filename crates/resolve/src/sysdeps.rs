//! The sysdeps include chain, derived from the tree the way glibc's
//! `configure` derives it: candidate directories from the target triplet,
//! then each directory's `Implies`, `Implies-before` and `Implies-after`
//! files and its parent, breadth as configure does, ending in `generic`.
//!
//! Nothing here is a per-version list: a version whose Implies files differ
//! gets a different chain.

use std::collections::HashSet;
use std::path::Path;

/// The configuration `configure` would see for a target.
#[derive(Clone, Debug)]
pub struct Target {
    /// `machine` after the machine's preconfigure fragment, e.g. `x86_64/64`.
    pub machine: String,
    /// The triplet's vendor, e.g. `pc`.
    pub vendor: String,
    /// The triplet's os, e.g. `linux-gnu`.
    pub os: String,
    /// `base_os` as configure sets it for that os, e.g. `unix/sysv`.
    pub base_os: String,
    /// Whether the target has an FPU (`libc_cv_with_fp`).
    pub with_fp: bool,
    /// Whether multi-arch (ifunc) directories are used.
    pub multi_arch: bool,
}

impl Target {
    /// x86_64 Linux as glibc configures it by default (`x86_64-pc-linux-gnu`).
    pub fn x86_64_linux() -> Target {
        Target {
            machine: "x86_64/64".into(),
            vendor: "pc".into(),
            os: "linux-gnu".into(),
            base_os: "unix/sysv".into(),
            with_fp: true,
            multi_arch: true,
        }
    }
}

/// The add-ons of a tree whose own sysdeps directories glibc's `configure`
/// would search before the main tree's (up to 2.19 the thread library,
/// `nptl/sysdeps/...`, was one): top-level directories with a `configure`
/// fragment that names the add-on (`libc_add_on_canonical=`) and a
/// `sysdeps` directory, in a tree whose `configure.ac` still has add-ons
/// (`--enable-add-ons`, gone after 2.26: Debian's later trees carry an
/// `fbtl` add-on that their configure never looks at). [`chain`] does not
/// emulate that search, so a tree with such add-ons cannot be resolved
/// faithfully.
pub fn add_ons_with_sysdeps(root: &Path) -> Vec<String> {
    // configure.in up to 2.17.
    let configure_ac = ["configure.ac", "configure.in"]
        .iter()
        .find_map(|f| std::fs::read_to_string(root.join(f)).ok())
        .unwrap_or_default();
    if !configure_ac.contains("enable-add-ons") {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("sysdeps").is_dir())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("configure"))
                .is_ok_and(|t| t.contains("libc_add_on_canonical="))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Splits `a/b/c` into `/a/b/c /a/b /a` as configure's `sed` loops do.
fn prefixes(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut tail = path.to_owned();
    while !tail.is_empty() {
        out.push(format!("/{tail}"));
        match tail.rfind('/') {
            Some(i) => tail.truncate(i),
            None => break,
        }
    }
    out
}

/// configure's `ostry`: `linux-gnu` -> `/linux-gnu /linux`.
fn os_candidates(os: &str) -> Vec<String> {
    let mut out = vec![format!("/{os}")];
    let mut tail = os.to_owned();
    // sunos4.1.1 -> sunos4.1 -> sunos4
    while let Some(i) = tail.rfind('.') {
        tail.truncate(i);
        out.push(format!("/{tail}"));
    }
    let no_digits = tail
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .to_owned();
    if no_digits != tail {
        out.push(format!("/{no_digits}"));
        tail = no_digits;
    }
    if let Some(i) = tail.find('-') {
        out.push(format!("/{}", &tail[..i]));
    }
    out
}

/// configure's `mach`: each machine prefix with and without `/fpu`, `/multiarch`.
fn machine_candidates(t: &Target) -> Vec<String> {
    let fpu = if t.with_fp { "/fpu" } else { "/nofpu" };
    let multi = if t.multi_arch {
        Some("/multiarch")
    } else {
        None
    };
    let mut out = Vec::new();
    for m in prefixes(&t.machine) {
        for f in [fpu, ""] {
            for mu in multi.into_iter().chain([""]) {
                out.push(format!("{m}{f}{mu}"));
            }
        }
    }
    out
}

/// The ordered list of sysdeps directories (relative to the tree root, e.g.
/// `sysdeps/unix/sysv/linux/x86_64/64`) that glibc's build searches for `t`.
pub fn chain(root: &Path, t: &Target) -> Vec<String> {
    let is_dir = |rel: &str| root.join(rel).is_dir();
    let mach = machine_candidates(t);
    let ostry = os_candidates(&t.os);
    let base = prefixes(&t.base_os);
    let vendors: Vec<String> = if t.vendor.is_empty() {
        vec![String::new()]
    } else {
        vec![format!("/{}", t.vendor), String::new()]
    };

    let mut sysnames = Vec::new();
    let with_empty = |v: &[String]| v.iter().cloned().chain([String::new()]).collect::<Vec<_>>();
    for b in with_empty(&base) {
        for m0 in with_empty(&mach) {
            for v in &vendors {
                for o in with_empty(&ostry) {
                    for m in with_empty(&mach) {
                        let suffix = format!("{m0}{b}{v}{o}{m}");
                        if suffix.is_empty() {
                            continue;
                        }
                        let dir = format!("sysdeps{suffix}");
                        if is_dir(&dir) {
                            sysnames.push(dir);
                        }
                    }
                }
            }
        }
    }

    // Expand each name by its Implies files and its parent, in configure's order:
    // Implies, the rest of the queue, Implies-before, parent, Implies-after.
    let mut queue = std::collections::VecDeque::from(sysnames);
    let mut names: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    while let Some(name) = queue.pop_front() {
        if seen.contains(&name) {
            continue;
        }
        let implied = |file: &str| -> Vec<String> {
            let Ok(text) = std::fs::read_to_string(root.join(&name).join(file)) else {
                return Vec::new();
            };
            text.lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .flat_map(str::split_whitespace)
                .map(|x| format!("sysdeps/{x}"))
                .filter(|d| is_dir(d))
                .collect()
        };
        let implies = implied("Implies");
        let before = implied("Implies-before");
        let after = implied("Implies-after");
        seen.insert(name.clone());
        names.push(name.clone());
        let parent = match name.rfind('/') {
            Some(i) if &name[..i] != "sysdeps" => vec![name[..i].to_owned()],
            _ => Vec::new(),
        };
        let rest: Vec<String> = queue.drain(..).collect();
        queue.extend(
            implies
                .into_iter()
                .chain(rest)
                .chain(before)
                .chain(parent)
                .chain(after),
        );
    }
    names.push("sysdeps/generic".into());
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_ons_with_their_own_sysdeps() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path();
        for dir in ["nptl/sysdeps/pthread", "libidn", "malloc"] {
            std::fs::create_dir_all(t.join(dir)).unwrap();
        }
        std::fs::write(t.join("nptl/configure"), "libc_add_on_canonical=nptl\n").unwrap();
        std::fs::write(t.join("libidn/configure"), "libc_add_on_canonical=libidn\n").unwrap();
        // A configure without add-ons (2.27 on) never searches them.
        assert!(add_ons_with_sysdeps(t).is_empty());
        std::fs::write(
            t.join("configure.ac"),
            "AC_ARG_ENABLE([add-ons],\n [AS_HELP_STRING([--enable-add-ons[=DIRS...]]",
        )
        .unwrap();
        assert_eq!(add_ons_with_sysdeps(t), ["nptl"]);
        std::fs::remove_file(t.join("nptl/configure")).unwrap();
        assert!(add_ons_with_sysdeps(t).is_empty());
    }

    #[test]
    fn os_candidates_follow_configure() {
        assert_eq!(os_candidates("linux-gnu"), ["/linux-gnu", "/linux"]);
        assert_eq!(
            os_candidates("sunos4.1.1"),
            ["/sunos4.1.1", "/sunos4.1", "/sunos4", "/sunos"]
        );
    }

    #[test]
    fn machine_candidates_follow_configure() {
        let t = Target::x86_64_linux();
        assert_eq!(
            machine_candidates(&t),
            [
                "/x86_64/64/fpu/multiarch",
                "/x86_64/64/fpu",
                "/x86_64/64/multiarch",
                "/x86_64/64",
                "/x86_64/fpu/multiarch",
                "/x86_64/fpu",
                "/x86_64/multiarch",
                "/x86_64"
            ]
        );
    }

    /// A miniature tree whose Implies files exercise every ordering rule.
    #[test]
    fn implies_parent_and_generic_order() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for d in [
            "sysdeps/unix/sysv/linux/x86_64/64",
            "sysdeps/unix/sysv/linux/x86",
            "sysdeps/x86_64/64",
            "sysdeps/x86",
            "sysdeps/pthread",
            "sysdeps/generic",
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::write(
            r.join("sysdeps/unix/sysv/linux/x86_64/Implies"),
            "# comment\nunix/sysv/linux/x86\n",
        )
        .unwrap();
        std::fs::write(r.join("sysdeps/x86_64/Implies"), "x86\n").unwrap();
        std::fs::write(r.join("sysdeps/unix/sysv/linux/Implies-after"), "pthread\n").unwrap();
        let c = chain(r, &Target::x86_64_linux());
        assert_eq!(
            c,
            [
                "sysdeps/unix/sysv/linux/x86_64/64",
                "sysdeps/unix/sysv/linux/x86_64",
                "sysdeps/unix/sysv/linux/x86",
                "sysdeps/unix/sysv/linux",
                "sysdeps/unix/sysv",
                "sysdeps/unix",
                "sysdeps/x86_64/64",
                "sysdeps/x86_64",
                "sysdeps/x86",
                // Implies-after comes after the parent, which was queued first.
                "sysdeps/pthread",
                "sysdeps/generic",
            ]
        );
    }
}
