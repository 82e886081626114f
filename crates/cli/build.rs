//! Embeds the project files an installed resolver needs (`src/embedded.rs`):
//! `shims/` and `stubs/` (what a build compiles and a resolution parses),
//! `gdb/` (the heap command `resolver gdb` loads), `tools/` (the trace
//! replayer) and the committed manifests (`nix/manifests/`). Writes
//! `$OUT_DIR/embedded.rs`: every file's project-relative path and bytes
//! (`include_bytes!`), and a sha256 over all of them that names the copy
//! extracted into the cache.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The project's directories that are embedded, relative to its root.
const DIRS: [&str; 5] = ["shims", "stubs", "gdb", "tools", "nix/manifests"];

fn main() {
    let crate_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let project = crate_dir.join("../..");
    let mut files = Vec::new();
    for dir in DIRS {
        let path = project.join(dir);
        if !path.is_dir() {
            panic!(
                "{} is missing: the resolver embeds the project's {} (build it from a whole \
                 checkout; the Nix package's src must include {dir})",
                path.display(),
                DIRS.join(", ")
            );
        }
        println!("cargo:rerun-if-changed={}", path.display());
        walk(&project, &path, &mut files);
    }
    files.sort();
    let mut hash = Sha256::new();
    let mut table = String::new();
    for rel in &files {
        let abs = project.join(rel).canonicalize().expect("an embedded file");
        let bytes = std::fs::read(&abs).expect("reading an embedded file");
        // Each file as its path, its length and its bytes: no two sets of
        // files hash alike.
        hash.update(rel.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
        writeln!(
            table,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a string");
    }
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    let text = format!(
        "/// sha256 over every embedded file (path, length, bytes).\n\
         pub const DIGEST: &str = {digest:?};\n\
         /// Every embedded file: its path relative to the project, and its bytes.\n\
         pub static FILES: &[(&str, &[u8])] = &[\n{table}];\n"
    );
    std::fs::write(&out, text).expect("writing embedded.rs");
}

/// Every regular file under `dir` (hidden names skipped), relative to `root`
/// with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("reading an embedded directory") {
        let entry = entry.expect("reading an embedded directory");
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            walk(root, &path, out);
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).expect("under the root");
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(rel.join("/"));
        }
    }
}
