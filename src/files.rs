//! Writing result files so that a file at its final path is always complete: each is written
//! beside its destination under a temporary name and renamed into place only when whole.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let fail = |reason: String| FileError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let partial = partial_path(path);
    let result = std::fs::File::create(&partial)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&partial, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(fail(e.to_string()));
    }
    Ok(())
}

/// `name.ext` → `.name.ext.partial` in the same folder (same file system, so rename is atomic).
fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_destination_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-folder/out.png");
        assert!(write_atomically(&path, b"x").is_err());
        assert!(!path.exists());
        let ok = dir.path().join("out.bin");
        write_atomically(&ok, b"abc").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"abc");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no partial file left"
        );
    }
}
