//! Mirrors of small glibc-looking trees, built by the tests: what the
//! mirror tests of both tiers (`mirror.rs`, `mirror_shared.rs`) make their
//! tarballs and pins from.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use manifest::PinnedFile;
use source::fetch::FetchOptions;
use source::mirror::Pins;

use manifest::digest::sha256;

/// The mirror only: no Debian, no GNU.
pub fn mirror_only(dir: &Path) -> FetchOptions {
    FetchOptions {
        debian: false,
        gnu: false,
        mirror: Some(dir.to_path_buf()),
        ..FetchOptions::default()
    }
}

/// A small glibc-looking tree of `version`, as `(path, content)`.
pub fn small_tree(version: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "version.h",
            format!("#define RELEASE \"stable\"\n#define VERSION \"{version}\"\n"),
        ),
        ("malloc/arena.c", "/* arena */\n".to_string()),
        (
            "malloc/malloc.c",
            "/* Malloc implementation */\n".to_string(),
        ),
    ]
}

/// Pins of every file of `tree` but version.h, sorted by path.
pub fn pins_of(version: &str, tree: &[(&str, String)]) -> Pins {
    let mut files: Vec<PinnedFile> = tree
        .iter()
        .filter(|(p, _)| *p != "version.h")
        .map(|(p, c)| PinnedFile {
            path: p.to_string(),
            sha256: sha256(c.as_bytes()),
        })
        .collect();
    files.sort();
    Pins {
        version: version.to_string(),
        from: "the test's pins".to_string(),
        files,
    }
}

/// Writes `tree` as `<dir>/glibc-<version>.tar.xz` (top directory
/// `glibc-<version>/`, as GNU's tarballs are packed).
pub fn write_tarball(dir: &Path, version: &str, tree: &[(&str, String)]) -> PathBuf {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in tree {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                format!("glibc-{version}/{path}"),
                content.as_bytes(),
            )
            .unwrap();
    }
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&builder.into_inner().unwrap()).unwrap();
    fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("glibc-{version}.tar.xz"));
    fs::write(&path, xz.finish().unwrap()).unwrap();
    path
}
