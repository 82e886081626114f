//! The project's committed manifests: where they are and how to list them
//! (the one listing the CLI, the tests and xtask use).

use std::path::{Path, PathBuf};

use crate::ManifestError;

/// Where a project keeps its committed manifests (each YAML with its JSON
/// twin): what the tests, `cargo xtask` and `resolver resolve --pinned`
/// work through, and what the Nix flake builds.
pub const COMMITTED_DIR: &str = "nix/manifests";

/// Where the committed manifest of `version` is (or would be), relative to
/// the project: `nix/manifests/glibc-<version>.yaml`.
pub fn committed_rel(version: &str) -> String {
    format!("{COMMITTED_DIR}/glibc-{version}.yaml")
}

/// The committed manifest of `version` in `project` ([`committed_rel`]).
pub fn committed_path(project: &Path, version: &str) -> PathBuf {
    project.join(committed_rel(version))
}

/// The project's committed manifests ([`COMMITTED_DIR`]), as [`in_dir`]
/// lists them.
pub fn committed(project: &Path) -> Result<Vec<(String, PathBuf)>, ManifestError> {
    in_dir(&project.join(COMMITTED_DIR))
}

/// The manifests in `dir`: `(version, path)` of every `glibc-<version>.yaml`
/// (the JSON twin is the same path with `.json`), in version order (2.9
/// before 2.10). Nothing is parsed.
pub fn in_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>, ManifestError> {
    let read_err = |cause| ManifestError::Read {
        path: dir.display().to_string(),
        cause,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(version) = name
            .strip_prefix("glibc-")
            .and_then(|n| n.strip_suffix(".yaml"))
        {
            out.push((version.to_owned(), path.clone()));
        }
    }
    let key = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    out.sort_by(|(a, _), (b, _)| key(a).cmp(&key(b)).then_with(|| a.cmp(b)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_dir_lists_yaml_manifests_in_version_order() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "glibc-2.10.yaml",
            "glibc-2.10.json",
            "glibc-2.9.yaml",
            "glibc-2.36.yaml",
            "README",
            "other-2.1.yaml",
        ] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        let listed: Vec<(String, PathBuf)> = in_dir(d.path()).unwrap();
        assert_eq!(
            listed,
            ["2.9", "2.10", "2.36"]
                .map(|v| (v.to_string(), d.path().join(format!("glibc-{v}.yaml"))))
        );
        assert!(matches!(
            in_dir(&d.path().join("missing")),
            Err(ManifestError::Read { .. })
        ));
    }
}
