//! The user's files: an output the user named is never replaced unless they say so
//! ([`refuse_existing`]), one they did not name takes the first free name beside it
//! ([`free_path`]), and a result file at its final path is always complete: each is written
//! beside its destination under a temporary name and renamed into place only when whole (a
//! model and its card both written before either is renamed, [`write_all_atomically`]).

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("'{}' already exists: give --force to replace it, or another name", .0.display())]
    Exists(PathBuf),
}

/// The one overwrite rule: an output the user named that is already there is refused, unless
/// `force`.
pub fn refuse_existing(path: &Path, force: bool) -> Result<(), FileError> {
    match path.exists() && !force {
        true => Err(FileError::Exists(path.to_path_buf())),
        false => Ok(()),
    }
}

/// `path` when it is free, else the first of `NAME-2.ext`, `NAME-3.ext`, … that is: where an
/// output the user did not name goes (a snapshot, a recording started with a key, the
/// demo's video), so that nothing already there is replaced.
pub fn free_path(path: &Path) -> PathBuf {
    match path.exists() {
        true => continued_path(path),
        false => path.to_path_buf(),
    }
}

/// Where a recording continues after a break (a camera that came back): `out.mp4` → the first
/// of `out-2.mp4`, `out-3.mp4`, … that is free, so nothing recorded is replaced.
pub fn continued_path(path: &Path) -> PathBuf {
    first_free(path, |stem, n| format!("{stem}-{}", n + 1))
}

/// `out.mp4` → `out.partial.mp4`, or the first of `out.partial-2.mp4`, … that is free: where
/// a recording that could not be finished is kept.
pub fn kept_partial_path(path: &Path) -> PathBuf {
    first_free(path, |stem, n| match n {
        1 => format!("{stem}.partial"),
        n => format!("{stem}.partial-{n}"),
    })
}

/// The first name `name(stem, n)` (n = 1, 2, …, with the extension kept) that no file has.
fn first_free(path: &Path, name: impl Fn(&str, u32) -> String) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let named = |n| path.with_file_name(format!("{}{ext}", name(&stem, n)));
    (1..)
        .map(&named)
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| named(1))
}

/// Writes every file whole under a temporary name first, then renames them into place in
/// order: a failure while writing leaves every destination as it was. (Two renames are not
/// one, but the moment between them is a rename's, not a write's.)
pub fn write_all_atomically(files: &[(&Path, &[u8])]) -> Result<(), FileError> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let partial = partial_path(path);
        if let Err(e) = write_whole(&partial, bytes) {
            let _ = std::fs::remove_file(&partial);
            written.iter().for_each(|(p, _)| {
                let _ = std::fs::remove_file(p);
            });
            return Err(FileError::Write {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
        }
        written.push((partial, path));
    }
    for (partial, path) in &written {
        std::fs::rename(partial, path).map_err(|e| FileError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_all_atomically(&[(path, bytes)])
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

    #[test]
    fn a_pair_that_cannot_be_written_whole_replaces_neither() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, b"old").unwrap();
        let card = dir.path().join("missing-folder/m.toml");
        let both: [(&Path, &[u8]); 2] = [(&model, b"new"), (&card, b"card")];
        assert!(write_all_atomically(&both).is_err());
        assert_eq!(std::fs::read(&model).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn named_outputs_are_refused_and_unnamed_ones_take_a_free_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.png");
        assert!(refuse_existing(&out, false).is_ok());
        assert_eq!(free_path(&out), out);
        std::fs::write(&out, b"x").unwrap();
        assert!(matches!(
            refuse_existing(&out, false),
            Err(FileError::Exists(_))
        ));
        assert!(refuse_existing(&out, true).is_ok());
        assert_eq!(free_path(&out), dir.path().join("out-2.png"));
    }
}
