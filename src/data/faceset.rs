//! Aligned face sets on disk: what `mimic extract faces` writes and `mimic train swap` reads.
//!
//! ```text
//! DIR/faceset.toml   the manifest: crop size and padding, reference identity, counts
//! DIR/faces.json     one entry per face: image file, where it came from, its landmarks in crop
//!                    pixels, the frame-to-crop transform, its distance to the reference
//! DIR/faces/N.png    the face aligned to the mean-face template (crop pixels outside the
//!                    source picture are black)
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::face::Landmarks;
use crate::files;
use crate::frame::{read_image, Rgb8};
use crate::geometry::{Point, Similarity};

pub const MANIFEST: &str = "faceset.toml";
pub const ENTRIES: &str = "faces.json";
pub const FACES_DIR: &str = "faces";

/// The largest face side a set may say it holds (`extract faces --size` goes up to 1024; a
/// set claiming more is damaged, and its size would be allocated per face).
pub const MAX_FACE_SIZE: u32 = 4096;

/// Whether `name` names a file inside one folder: not empty, no separator, not `.` or `..`
/// (an entry like `../../x.png` would read outside the set).
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(std::path::Component::Normal(n)), None) if n == name
    ) && !name.contains(['/', '\\'])
}

#[derive(Debug, thiserror::Error)]
pub enum FaceSetError {
    #[error("'{0}' is not a mimic face set (no faceset.toml): make one with `mimic extract faces INPUT... --out DIR`")]
    NotAFaceSet(PathBuf),
    #[error("cannot read face set file '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write face set file '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("face '{file}' in '{}' has {count} landmarks, not 68: extract the set again with `mimic extract faces`", ENTRIES)]
    Landmarks { file: String, count: usize },
    #[error("face set '{0}' holds no faces")]
    Empty(PathBuf),
    #[error("'{}' names the face '{file}', which is not a plain file name in its faces/ folder: extract the set again with `mimic extract faces`", ENTRIES)]
    FileName { file: String },
    #[error("'{path}' says faces are {size} pixels; mimic's faces are 16 to {MAX_FACE_SIZE} pixels: extract the set again with `mimic extract faces`")]
    Size { path: PathBuf, size: u32 },
    #[error("face image '{path}' is {got}×{got} but the face set says {expected}×{expected}")]
    FaceSize {
        path: PathBuf,
        got: u32,
        expected: u32,
    },
}

/// `faceset.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Side of every aligned face, in pixels.
    pub size: u32,
    /// The template fills the crop less this fraction of its side on every side.
    pub padding: f64,
    /// The photo whose identity every kept face matches, if one was given.
    pub reference: Option<PathBuf>,
    /// The largest descriptor distance to the reference a kept face had to be within.
    pub threshold: f64,
    pub inputs: Vec<PathBuf>,
    pub frames: u64,
    pub kept: u64,
    /// Faces that did not match the reference.
    pub rejected: u64,
    pub frames_without_face: u64,
    /// Frames skipped for showing several faces when there was no reference to choose by.
    pub frames_with_several_faces: u64,
}

/// One aligned face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The image's file name in `faces/`.
    pub file: String,
    /// The photo or video it came from, and the frame's index and time there.
    pub source: PathBuf,
    pub index: u64,
    pub t: f64,
    /// The 68 landmarks in crop pixels.
    pub landmarks: Vec<Point>,
    /// Source-frame pixels to crop pixels.
    pub to_crop: Similarity,
    /// Descriptor distance to the reference, when there was one.
    pub distance: Option<f32>,
}

impl Entry {
    /// The face's landmarks in crop pixels.
    pub fn landmarks(&self) -> Result<Landmarks, FaceSetError> {
        Landmarks::from_slice(&self.landmarks).ok_or_else(|| FaceSetError::Landmarks {
            file: self.file.clone(),
            count: self.landmarks.len(),
        })
    }
}

/// A face set opened from disk.
#[derive(Debug, Clone)]
pub struct FaceSet {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub entries: Vec<Entry>,
}

impl FaceSet {
    pub fn open(dir: &Path) -> Result<FaceSet, FaceSetError> {
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(FaceSetError::NotAFaceSet(dir.to_path_buf()));
        }
        let manifest: Manifest =
            toml::from_str(&read_text(&manifest_path)?).map_err(|e| FaceSetError::Read {
                path: manifest_path,
                reason: e.message().to_string(),
            })?;
        let entries_path = dir.join(ENTRIES);
        let entries: Vec<Entry> =
            serde_json::from_str(&read_text(&entries_path)?).map_err(|e| FaceSetError::Read {
                path: entries_path,
                reason: e.to_string(),
            })?;
        if entries.is_empty() {
            return Err(FaceSetError::Empty(dir.to_path_buf()));
        }
        if let Some(entry) = entries.iter().find(|e| !is_plain_file_name(&e.file)) {
            return Err(FaceSetError::FileName {
                file: entry.file.clone(),
            });
        }
        if !(16..=MAX_FACE_SIZE).contains(&manifest.size) {
            return Err(FaceSetError::Size {
                path: dir.join(MANIFEST),
                size: manifest.size,
            });
        }
        Ok(FaceSet {
            dir: dir.to_path_buf(),
            manifest,
            entries,
        })
    }

    pub fn face_path(&self, entry: &Entry) -> PathBuf {
        self.dir.join(FACES_DIR).join(&entry.file)
    }

    /// Reads a face, checking it has the set's size.
    pub fn load(&self, entry: &Entry) -> Result<Rgb8, FaceSetError> {
        let path = self.face_path(entry);
        let image = read_image(&path).map_err(|e| FaceSetError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let size = self.manifest.size;
        if image.dimensions() != (size, size) {
            return Err(FaceSetError::FaceSize {
                path,
                got: image.width(),
                expected: size,
            });
        }
        Ok(image)
    }
}

/// File name of the `n`-th kept face.
pub fn face_file(n: u64) -> String {
    format!("{n:06}.png")
}

fn read_text(path: &Path) -> Result<String, FaceSetError> {
    std::fs::read_to_string(path).map_err(|e| FaceSetError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes the manifest and the entries (atomically, and the manifest last, so an interrupted
/// extraction never leaves a face set that opens as complete).
pub fn write_index(dir: &Path, manifest: &Manifest, entries: &[Entry]) -> Result<(), FaceSetError> {
    let fail = |path: PathBuf, reason: String| FaceSetError::Write { path, reason };
    let json = serde_json::to_vec(entries).map_err(|e| fail(dir.join(ENTRIES), e.to_string()))?;
    files::write_atomically(&dir.join(ENTRIES), &json)
        .map_err(|e| fail(dir.join(ENTRIES), e.to_string()))?;
    let text =
        toml::to_string_pretty(manifest).map_err(|e| fail(dir.join(MANIFEST), e.to_string()))?;
    files::write_atomically(&dir.join(MANIFEST), text.as_bytes())
        .map_err(|e| fail(dir.join(MANIFEST), e.to_string()))
}
