//! Patches as a build input (`resolver build --patch FILE.diff`): unified
//! diffs applied, in order, to a build's staged copies of the manifest's
//! verbatim files, shims and stubs, never to the cache, the source tree or
//! the project.
//!
//! A diff's paths name files as `git diff` writes them from a checkout with
//! the glibc tree at its root and the project's `shims/` and `stubs/` beside
//! it: `a/malloc/malloc.c`, `a/shims/prelude.h` (one leading component is
//! stripped, as `patch -p1` does; the nixpkgs way). A diff is parsed here
//! first: a malformed one is refused with its line, and one touching any
//! file outside the build's pinned set with that path. Then GNU patch
//! applies it in a private copy of the staged files, `--dry-run` first,
//! with no fuzz (offsets are allowed: a hunk whose context matches exactly
//! elsewhere applies there, and is reported), never reversing a patch that
//! looks applied. Nix's builder (nix/package.nix) runs the same `patch`
//! with the same flags, so both give the same files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use manifest::digest::sha256;
use manifest::plan::PatchId;

/// The flags GNU patch runs with, here and in nix/package.nix: strip one
/// leading component, no fuzz, never ask, never reverse, no backups or
/// reject files.
pub const PATCH_FLAGS: &[&str] = &[
    "-p1",
    "--fuzz=0",
    "--batch",
    "--forward",
    "--no-backup-if-mismatch",
    "--reject-file=-",
];

/// Errors from reading or applying patches.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("cannot read patch {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "patch {}: its name `{name}` (the file name without .diff/.patch) may hold only \
         letters, digits, `.`, `_` and `-`, and must not be empty; it names the .so \
         (libmalloc-glibc-<version>+<name>.so): rename the file",
        path.display()
    )]
    BadName { path: PathBuf, name: String },
    #[error(
        "patch {} is not a unified diff: line {line}: {what}; make it with `git diff` or \
         `diff -u` (see docs/experimenting.md)",
        path.display()
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error(
        "patch {} (line {line}) touches {file}, which glibc {version}'s build does not use: a \
         patch may change only the manifest's verbatim files, shims and stubs (the paths in its \
         `verbatim`, `shims`, `stubs`, written as `a/<path>`); nothing was built",
        path.display()
    )]
    Outside {
        path: PathBuf,
        line: usize,
        file: String,
        version: String,
    },
    #[error("{}", .0)]
    DoesNotApply(Box<Failure>),
    #[error("cannot run GNU patch (`patch`): {0}; install it (apt-get install patch)")]
    NoPatchProgram(std::io::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A patch that does not apply to one version.
#[derive(Debug, Clone)]
pub struct Failure {
    pub version: String,
    /// The patch file.
    pub patch: PathBuf,
    /// The file whose hunk failed, and the hunk, when GNU patch said which.
    pub hunks: Vec<FailedHunk>,
    /// What GNU patch said.
    pub output: String,
}

/// One hunk that did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedHunk {
    pub file: String,
    /// 1-based, counted within the file's part of the diff (as GNU patch counts).
    pub hunk: usize,
    /// The hunk's `@@` line in the patch file (1-based), and its text.
    pub line: usize,
    pub header: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "patch {} does not apply to glibc {}",
            self.patch.display(),
            self.version
        )?;
        if self.hunks.is_empty() {
            write!(f, ":\n{}", self.output.trim_end())?;
        } else {
            for h in &self.hunks {
                write!(
                    f,
                    "\n  {}: hunk #{} (patch line {}: {}) does not match",
                    h.file, h.hunk, h.line, h.header
                )?;
            }
        }
        write!(
            f,
            "\nnothing was built; rebase the patch on glibc {}'s files (its context lines must \
             match exactly; only their position may differ)",
            self.version
        )
    }
}

/// One file's part of a diff.
#[derive(Debug, Clone)]
pub struct FileDiff {
    /// The path after stripping one component (`malloc/malloc.c`).
    pub path: String,
    /// The line of its `+++` header.
    pub line: usize,
    /// Its hunks' `@@` lines: (line in the patch file, text).
    pub hunks: Vec<(usize, String)>,
}

/// A patch file, read and parsed.
#[derive(Debug, Clone)]
pub struct Patch {
    pub path: PathBuf,
    pub id: PatchId,
    pub bytes: Vec<u8>,
    pub files: Vec<FileDiff>,
}

/// A build's staged files: path (as a diff names it, `malloc/malloc.c`,
/// `shims/prelude.h`) -> bytes.
pub type Files = BTreeMap<String, Vec<u8>>;

/// The patches of a build, in the order they apply. Empty: the unpatched
/// build.
#[derive(Debug, Clone, Default)]
pub struct PatchSet {
    pub patches: Vec<Patch>,
}

/// The name a patch file gives a build: its file name without `.diff` or
/// `.patch`, and without the hash of a Nix store path (`<32 chars>-`).
pub fn patch_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = match file.split_once('-') {
        Some((h, rest))
            if h.len() == 32
                && h.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            rest.to_owned()
        }
        _ => file,
    };
    file.strip_suffix(".diff")
        .or_else(|| file.strip_suffix(".patch"))
        .unwrap_or(&file)
        .to_owned()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl PatchSet {
    /// Reads and parses each patch file, in order.
    pub fn load(paths: &[PathBuf]) -> Result<PatchSet, PatchError> {
        let patches = paths
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).map_err(|source| PatchError::Read {
                    path: p.clone(),
                    source,
                })?;
                Patch::parse(p, bytes)
            })
            .collect::<Result<_, _>>()?;
        Ok(PatchSet { patches })
    }

    pub fn is_empty(&self) -> bool {
        self.patches.is_empty()
    }

    /// What the build records and is named after.
    pub fn ids(&self) -> Vec<PatchId> {
        self.patches.iter().map(|p| p.id.clone()).collect()
    }

    /// Applies every patch, in order, to `files` (path -> bytes, the staged
    /// set), returning the patched set and what GNU patch noted (hunks
    /// applied at an offset). Each patch is checked first: its paths must be
    /// in `files`, and it must apply (`--dry-run`) to the result of the ones
    /// before it; the first that fails is the error, and `files` is left as
    /// it was.
    pub fn apply(
        &self,
        version: &str,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(Files, Vec<String>), PatchError> {
        for p in &self.patches {
            p.check_paths(version, files)?;
        }
        let work = tempfile::Builder::new()
            .prefix(".tmp-patch-")
            .tempdir()
            .map_err(|source| PatchError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let root = work.path().join("root");
        for (rel, bytes) in files {
            let path = root.join(rel);
            let io = |source| PatchError::Io {
                path: path.clone(),
                source,
            };
            std::fs::create_dir_all(path.parent().expect("a file has a parent")).map_err(io)?;
            std::fs::write(&path, bytes).map_err(io)?;
        }
        let mut notes = Vec::new();
        for p in &self.patches {
            let input = work.path().join("input.diff");
            std::fs::write(&input, &p.bytes).map_err(|source| PatchError::Io {
                path: input.clone(),
                source,
            })?;
            let dry = run_patch(&root, &input, true)?;
            if !dry.0 {
                return Err(PatchError::DoesNotApply(Box::new(
                    p.failure(version, &dry.1),
                )));
            }
            let real = run_patch(&root, &input, false)?;
            if !real.0 {
                return Err(PatchError::DoesNotApply(Box::new(
                    p.failure(version, &real.1),
                )));
            }
            for line in real.1.lines().filter(|l| l.contains("(offset")) {
                notes.push(format!("{}: {}", p.id.name, line.trim()));
            }
        }
        let mut out = BTreeMap::new();
        for rel in files.keys() {
            let path = root.join(rel);
            let bytes = std::fs::read(&path).map_err(|source| PatchError::Io {
                path: path.clone(),
                source,
            })?;
            out.insert(rel.clone(), bytes);
        }
        Ok((out, notes))
    }
}

/// Runs GNU patch on `input` in `root`: (whether it exited 0, its output).
fn run_patch(root: &Path, input: &Path, dry_run: bool) -> Result<(bool, String), PatchError> {
    let mut cmd = Command::new("patch");
    cmd.args(PATCH_FLAGS)
        .arg("-d")
        .arg(root)
        .arg("-i")
        .arg(input)
        .env_remove("POSIXLY_CORRECT")
        .env_remove("PATCH_GET")
        .env_remove("PATCH_VERSION_CONTROL")
        .env_remove("VERSION_CONTROL")
        .env_remove("SIMPLE_BACKUP_SUFFIX")
        .env("LC_ALL", "C");
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.output().map_err(PatchError::NoPatchProgram)?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

impl Patch {
    /// Parses a unified diff (text before the first `--- ` line, such as a
    /// `git format-patch` message or `diff --git` lines, is ignored).
    pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Patch, PatchError> {
        let name = patch_name(path);
        if !valid_name(&name) {
            return Err(PatchError::BadName {
                path: path.to_owned(),
                name,
            });
        }
        let malformed = |line: usize, what: String| PatchError::Malformed {
            path: path.to_owned(),
            line,
            what,
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            malformed(line, "not UTF-8 text".into())
        })?;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut files: Vec<FileDiff> = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i].trim_end_matches(['\n', '\r']);
            if !l.starts_with("--- ") {
                if l.starts_with("@@ ") {
                    return Err(malformed(
                        i + 1,
                        "a hunk (`@@`) outside a file's part: each file's hunks follow its \
                         `--- a/<path>` and `+++ b/<path>` lines"
                            .into(),
                    ));
                }
                i += 1;
                continue;
            }
            let old = header_path(&l[4..]);
            let Some(next) = lines.get(i + 1).map(|n| n.trim_end_matches(['\n', '\r'])) else {
                return Err(malformed(i + 1, "`---` is not followed by `+++`".into()));
            };
            let Some(new) = next.strip_prefix("+++ ").map(header_path) else {
                return Err(malformed(
                    i + 2,
                    format!("expected `+++ b/<path>` after `--- {old}`, found `{next}`"),
                ));
            };
            let header_line = i + 2;
            let target = if new == "/dev/null" { &old } else { &new };
            let stripped = match target.split_once('/') {
                Some((_, rest)) if !rest.is_empty() && target != "/dev/null" => rest.to_owned(),
                _ => {
                    return Err(malformed(
                        header_line,
                        format!(
                            "the path `{target}` has no leading directory to strip (write \
                             `a/<path>` and `b/<path>`, as git diff does)"
                        ),
                    ))
                }
            };
            let mut fd = FileDiff {
                path: if old == "/dev/null" || new == "/dev/null" {
                    // Creating or deleting a file: refused as outside the set.
                    format!("{stripped} (created or deleted)")
                } else {
                    stripped
                },
                line: header_line,
                hunks: Vec::new(),
            };
            i += 2;
            // Hunks.
            while i < lines.len() {
                let h = lines[i].trim_end_matches(['\n', '\r']);
                if !h.starts_with("@@") {
                    break;
                }
                let (mut old_n, mut new_n) = hunk_counts(h)
                    .ok_or_else(|| malformed(i + 1, format!("a bad hunk header `{h}`")))?;
                fd.hunks.push((i + 1, h.to_owned()));
                i += 1;
                while old_n > 0 || new_n > 0 {
                    let Some(body) = lines.get(i) else {
                        return Err(malformed(
                            i,
                            format!(
                                "the diff ends inside the hunk at line {}: {old_n} old and \
                                 {new_n} new line(s) missing (was it cut, or edited by hand \
                                 without fixing the `@@` counts?)",
                                fd.hunks.last().unwrap().0
                            ),
                        ));
                    };
                    let b = body.trim_end_matches(['\n', '\r']);
                    match b.as_bytes().first() {
                        Some(b' ') | None => {
                            old_n = old_n.saturating_sub(1);
                            new_n = new_n.saturating_sub(1);
                        }
                        Some(b'-') => old_n = old_n.saturating_sub(1),
                        Some(b'+') => new_n = new_n.saturating_sub(1),
                        Some(b'\\') => {}
                        _ => {
                            return Err(malformed(
                                i + 1,
                                format!(
                                    "`{}` in the hunk at line {}, which still expects {old_n} \
                                     old and {new_n} new line(s) (each starts with ` `, `-` or \
                                     `+`; do the `@@` counts match?)",
                                    b.chars().take(60).collect::<String>(),
                                    fd.hunks.last().unwrap().0
                                ),
                            ))
                        }
                    }
                    i += 1;
                }
                // "\ No newline at end of file" after the last line.
                while lines.get(i).is_some_and(|n| n.starts_with('\\')) {
                    i += 1;
                }
            }
            if fd.hunks.is_empty() {
                return Err(malformed(
                    header_line,
                    format!("the part for `{}` has no hunk (`@@ ... @@`)", fd.path),
                ));
            }
            files.push(fd);
        }
        if files.is_empty() {
            return Err(malformed(
                1,
                "no file in it: a unified diff has `--- a/<path>`, `+++ b/<path>` and `@@` \
                 hunks"
                    .into(),
            ));
        }
        Ok(Patch {
            path: path.to_owned(),
            id: PatchId {
                name,
                sha256: sha256(&bytes),
            },
            bytes,
            files,
        })
    }

    /// Refuses a patch touching a file outside `files`.
    fn check_paths(
        &self,
        version: &str,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), PatchError> {
        for f in &self.files {
            if !files.contains_key(&f.path) {
                return Err(PatchError::Outside {
                    path: self.path.clone(),
                    line: f.line,
                    file: f.path.clone(),
                    version: version.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The failure GNU patch reported in `output`, with each failed hunk
    /// found in the parsed diff.
    fn failure(&self, version: &str, output: &str) -> Failure {
        let mut hunks = Vec::new();
        let mut current: Option<String> = None;
        for l in output.lines() {
            if let Some(f) = l
                .strip_prefix("checking file ")
                .or_else(|| l.strip_prefix("patching file "))
            {
                current = Some(f.trim().trim_matches('\'').to_owned());
            } else if let Some(rest) = l.strip_prefix("Hunk #") {
                if let (Some((n, _)), Some(file)) = (rest.split_once(' '), &current) {
                    if rest.contains("FAILED") {
                        let n: usize = n.parse().unwrap_or(0);
                        let (line, header) = self
                            .files
                            .iter()
                            .find(|f| &f.path == file)
                            .and_then(|f| f.hunks.get(n.wrapping_sub(1)))
                            .cloned()
                            .unwrap_or((0, String::new()));
                        hunks.push(FailedHunk {
                            file: file.clone(),
                            hunk: n,
                            line,
                            header,
                        });
                    }
                }
            }
        }
        Failure {
            version: version.to_owned(),
            patch: self.path.clone(),
            hunks,
            output: output.to_owned(),
        }
    }
}

/// A `---`/`+++` header's path: up to a tab (a timestamp follows), quotes
/// removed.
fn header_path(s: &str) -> String {
    let p = s.split('\t').next().unwrap_or("").trim_end();
    p.trim_matches('"').to_owned()
}

/// The old and new line counts of `@@ -a[,b] +c[,d] @@`.
fn hunk_counts(h: &str) -> Option<(usize, usize)> {
    let rest = h.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| -> Option<usize> {
        match r.split_once(',') {
            Some((start, n)) => {
                start.parse::<usize>().ok()?;
                n.parse().ok()
            }
            None => {
                r.parse::<usize>().ok()?;
                Some(1)
            }
        }
    };
    Some((count(old)?, count(new)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Patch, PatchError> {
        Patch::parse(Path::new("x/my-change.diff"), text.as_bytes().to_vec())
    }

    const GOOD: &str = "diff --git a/m/f.c b/m/f.c\nindex 1..2 100644\n--- a/m/f.c\n+++ b/m/f.c\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -10 +10 @@\n-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n--- a/shims/s.h\t2024-01-01\n+++ b/shims/s.h\t2024-01-01\n@@ -2,2 +2,3 @@\n p\n+q\n r\n";

    fn files() -> BTreeMap<String, Vec<u8>> {
        let mut f = BTreeMap::new();
        let mut text = String::from("a\nb\nc\n");
        for i in 4..10 {
            text.push_str(&format!("{i}\n"));
        }
        text.push('x');
        f.insert("m/f.c".to_string(), text.into_bytes());
        f.insert("shims/s.h".to_string(), b"o\np\nr\ns\n".to_vec());
        f
    }

    #[test]
    fn parses_files_hunks_and_the_name() {
        let p = parse(GOOD).unwrap();
        assert_eq!(p.id.name, "my-change");
        assert_eq!(p.id.sha256, sha256(GOOD.as_bytes()));
        let paths: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["m/f.c", "shims/s.h"]);
        assert_eq!(p.files[0].hunks[1], (10, "@@ -10 +10 @@".to_string()));
        assert_eq!(p.files[1].hunks[0].0, 17);
    }

    #[test]
    fn names_strip_the_store_hash_and_the_extension() {
        assert_eq!(
            patch_name(Path::new(
                "/nix/store/0123456789abcdefghijklmnopqrstuv-count-bins.diff"
            )),
            "count-bins"
        );
        assert_eq!(patch_name(Path::new("a/b.patch")), "b");
        assert!(matches!(
            Patch::parse(Path::new("a b.diff"), GOOD.as_bytes().to_vec()),
            Err(PatchError::BadName { .. })
        ));
    }

    #[test]
    fn malformed_diffs_name_their_line() {
        let line = |r: Result<Patch, PatchError>| match r {
            Err(PatchError::Malformed { line, .. }) => line,
            other => panic!("{other:?}"),
        };
        assert_eq!(line(parse("hello\n")), 1);
        assert_eq!(
            line(parse("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n?b\n")),
            5
        );
        assert_eq!(line(parse("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n")), 4);
        assert_eq!(line(parse("--- a/f\nxx\n")), 2);
        assert_eq!(line(parse("--- a/f\n+++ b/f\n@@ -x +1 @@\n")), 3);
        assert_eq!(line(parse("@@ -1 +1 @@\n-a\n+b\n")), 1);
        assert_eq!(line(parse("--- f\n+++ f\n@@ -1 +1 @@\n-a\n+b\n")), 2);
    }

    #[test]
    fn applies_in_order_with_offsets_and_no_newline_at_end() {
        let set = PatchSet {
            patches: vec![parse(GOOD).unwrap()],
        };
        let (out, _) = set.apply("9.9", &files()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out["m/f.c"]),
            "a\nB\nc\n4\n5\n6\n7\n8\n9\ny"
        );
        assert_eq!(out["shims/s.h"], b"o\np\nq\nr\ns\n");
        // Shifted by two lines: applies at an offset, and says so.
        let mut shifted = files();
        let f = shifted.get_mut("m/f.c").unwrap();
        f.splice(0..0, b"0\n0\n".iter().copied());
        let (out, notes) = set.apply("9.9", &shifted).unwrap();
        assert!(String::from_utf8_lossy(&out["m/f.c"]).starts_with("0\n0\na\nB\n"));
        assert!(notes.iter().any(|n| n.contains("offset 2")), "{notes:?}");
    }

    #[test]
    fn a_failing_hunk_is_named_and_nothing_changes() {
        let mut changed = files();
        changed.insert("shims/s.h".into(), b"o\nP\nr\ns\n".to_vec());
        let set = PatchSet {
            patches: vec![parse(GOOD).unwrap()],
        };
        match set.apply("9.9", &changed) {
            Err(PatchError::DoesNotApply(f)) => {
                assert_eq!(
                    f.hunks,
                    [FailedHunk {
                        file: "shims/s.h".into(),
                        hunk: 1,
                        line: 17,
                        header: "@@ -2,2 +2,3 @@".into()
                    }]
                );
                let text = f.to_string();
                assert!(text.contains("shims/s.h: hunk #1 (patch line 17"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        // A patch applied twice is not reversed: the second one fails.
        let twice = PatchSet {
            patches: vec![parse(GOOD).unwrap(), parse(GOOD).unwrap()],
        };
        assert!(matches!(
            twice.apply("9.9", &files()),
            Err(PatchError::DoesNotApply(_))
        ));
    }

    #[test]
    fn a_file_outside_the_set_is_refused_with_its_path() {
        let p = parse("--- a/elf/dl-open.c\n+++ b/elf/dl-open.c\n@@ -1 +1 @@\n-a\n+b\n").unwrap();
        match (PatchSet { patches: vec![p] }).apply("9.9", &files()) {
            Err(e @ PatchError::Outside { .. }) => {
                assert!(e.to_string().contains("touches elf/dl-open.c"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let new = parse("--- /dev/null\n+++ b/m/new.c\n@@ -0,0 +1 @@\n+a\n").unwrap();
        assert!(matches!(
            (PatchSet { patches: vec![new] }).apply("9.9", &files()),
            Err(PatchError::Outside { .. })
        ));
    }
}
