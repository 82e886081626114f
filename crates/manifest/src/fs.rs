//! Writing files so that a reader never sees half of one.

use std::path::Path;

use crate::ManifestError;

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// then renames it over `path`: a reader sees the old file or the new one,
/// never a mix. Creates the directory; the file is mode 0644. The
/// temporary file is named `.tmp-<name>-XXXXXX`, the prefix the source
/// cache sweeps when a writer was interrupted.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ManifestError> {
    use std::io::Write;
    let err = |cause| ManifestError::Write {
        path: path.display().to_string(),
        cause,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let prefix = format!(".tmp-{}-", name.as_deref().unwrap_or("file"));
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    // NamedTempFile is created 0600; a manifest is an ordinary shared file.
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(err)?;
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_makes_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o644);
        // Nothing else is left in the directory.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
