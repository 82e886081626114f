//! sha256, as every pin in a manifest is written: lowercase hex. The one
//! implementation the workspace uses (the resolver pinning files, the
//! source crate checking downloads and trees, the builder checking what it
//! stages, the tests and xtask).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// sha256 of `bytes`, lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// sha256 of a file's content, lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    sha256_copy(&mut File::open(path)?, &mut io::sink())
}

/// Copies `from` to `to` and returns the sha256 of what passed through,
/// lowercase hex: a download or an extracted file checked as it is written.
pub fn sha256_copy(from: &mut impl Read, to: &mut impl Write) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
    to.flush()?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_file_and_copy_agree() {
        const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256(b""), EMPTY);
        assert_eq!(sha256(b"abc"), ABC);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(sha256_file(&path).unwrap(), ABC);
        let mut copy = Vec::new();
        assert_eq!(sha256_copy(&mut &b"abc"[..], &mut copy).unwrap(), ABC);
        assert_eq!(copy, b"abc");
    }
}
