//! Paired reenactment training sets on disk: what `mimic extract reenact` writes and
//! `mimic train pix2pix` and `mimic eval reenact` read.
//!
//! ```text
//! DIR/dataset.toml     the manifest: source, crop window, size, sketch style, split
//! DIR/landmarks.json   one entry per pair: source frame index, time, landmarks (crop pixels)
//! DIR/frames/N.png     the target's frame, cropped to the window, at `size`
//! DIR/sketches/N.png   the sketch of that frame's landmarks, at `size`
//! ```
//! Held-out pairs are the last ones of the video (not a random sample), so evaluation sees
//! frames the model never trained on, nor their neighbours.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::face::Landmarks;
use crate::frame::{read_image, CropWindow, Rgb8};
use crate::geometry::Point;
use crate::reenact::sketch::SketchStyle;

pub const MANIFEST: &str = "dataset.toml";
pub const LANDMARKS: &str = "landmarks.json";
pub const FRAMES_DIR: &str = "frames";
pub const SKETCHES_DIR: &str = "sketches";

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("'{0}' is not a mimic dataset (no dataset.toml): make one with `mimic extract reenact VIDEO --out DIR`")]
    NotADataset(PathBuf),
    #[error("cannot read dataset file '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write dataset file '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("dataset '{0}' has no landmarks.json (it was made by an older mimic, or copied without it): extract it again with `mimic extract reenact VIDEO --out DIR`")]
    NoLandmarks(PathBuf),
    #[error("dataset '{0}' has no training pairs")]
    Empty(PathBuf),
    #[error("pair image '{path}' is {got}×{got} but the dataset says {expected}×{expected}")]
    PairSize {
        path: PathBuf,
        got: u32,
        expected: u32,
    },
}

/// `dataset.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The video the pairs came from.
    pub source: PathBuf,
    /// Side of every frame and sketch, in pixels.
    pub size: u32,
    /// Frames per second of the source.
    pub fps: f64,
    pub frames_total: u64,
    pub frames_without_face: u64,
    /// The fixed window of the source every pair was cut from.
    pub window: CropWindow,
    pub sketch: SketchStyle,
    /// Share of pairs held out at the end of the video.
    pub holdout: f32,
    /// Source frame index of the first held-out pair (pairs from here on are held out).
    pub holdout_from: u64,
}

/// One sketch/frame pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    /// Index of the frame in the source video.
    pub index: u64,
    /// Presentation time in seconds.
    pub t: f64,
    pub holdout: bool,
    /// The 68 landmarks in crop pixels (at `size`).
    pub landmarks: Vec<Point>,
}

/// A dataset opened from disk.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub pairs: Vec<Pair>,
}

impl Dataset {
    pub fn open(dir: &Path) -> Result<Dataset, DatasetError> {
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(DatasetError::NotADataset(dir.to_path_buf()));
        }
        let manifest: Manifest =
            toml::from_str(&read_text(&manifest_path)?).map_err(|e| DatasetError::Read {
                path: manifest_path,
                reason: e.message().to_string(),
            })?;
        let landmarks_path = dir.join(LANDMARKS);
        if !landmarks_path.is_file() {
            return Err(DatasetError::NoLandmarks(dir.to_path_buf()));
        }
        let pairs: Vec<Pair> =
            serde_json::from_str(&read_text(&landmarks_path)?).map_err(|e| DatasetError::Read {
                path: landmarks_path,
                reason: e.to_string(),
            })?;
        if pairs.is_empty() {
            return Err(DatasetError::Empty(dir.to_path_buf()));
        }
        Ok(Dataset {
            dir: dir.to_path_buf(),
            manifest,
            pairs,
        })
    }

    pub fn frame_path(&self, pair: &Pair) -> PathBuf {
        self.dir.join(FRAMES_DIR).join(pair_file(pair.index))
    }

    pub fn sketch_path(&self, pair: &Pair) -> PathBuf {
        self.dir.join(SKETCHES_DIR).join(pair_file(pair.index))
    }

    pub fn training_pairs(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.iter().filter(|p| !p.holdout)
    }

    pub fn holdout_pairs(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.iter().filter(|p| p.holdout)
    }

    /// Reads a pair's (sketch, frame), checking both have the dataset's size.
    pub fn load_pair(&self, pair: &Pair) -> Result<(Rgb8, Rgb8), DatasetError> {
        Ok((
            self.load_image(self.sketch_path(pair))?,
            self.load_frame(pair)?,
        ))
    }

    /// A pair's landmarks in the pixels of a `size`-pixel model (the dataset keeps them at its
    /// own size); `None` when the entry does not hold 68.
    pub fn landmarks_at(&self, pair: &Pair, size: u32) -> Option<Landmarks> {
        let scale = size as f32 / self.manifest.size as f32;
        Landmarks::from_slice(&pair.landmarks)
            .map(|l| l.map(|p| Point::new(p.x * scale, p.y * scale)))
    }

    /// A pair's frame at a `size`-pixel model's size.
    pub fn frame_at(&self, pair: &Pair, size: u32) -> Result<Rgb8, DatasetError> {
        Ok(crate::frame::square(self.load_frame(pair)?, size))
    }

    /// Reads a pair's frame, checking it has the dataset's size.
    pub fn load_frame(&self, pair: &Pair) -> Result<Rgb8, DatasetError> {
        self.load_image(self.frame_path(pair))
    }

    fn load_image(&self, path: PathBuf) -> Result<Rgb8, DatasetError> {
        let image = read_image(&path).map_err(|e| DatasetError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let size = self.manifest.size;
        if image.dimensions() != (size, size) {
            return Err(DatasetError::PairSize {
                path,
                got: image.width(),
                expected: size,
            });
        }
        Ok(image)
    }
}

/// File name of a pair's images: the source frame index, zero-padded.
pub fn pair_file(index: u64) -> String {
    format!("{index:06}.png")
}

fn read_text(path: &Path) -> Result<String, DatasetError> {
    std::fs::read_to_string(path).map_err(|e| DatasetError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes the manifest and the pair list (atomically, so an interrupted extraction never
/// leaves a dataset that opens as complete).
pub fn write_index(dir: &Path, manifest: &Manifest, pairs: &[Pair]) -> Result<(), DatasetError> {
    let fail = |path: PathBuf, reason: String| DatasetError::Write { path, reason };
    let landmarks =
        serde_json::to_vec(pairs).map_err(|e| fail(dir.join(LANDMARKS), e.to_string()))?;
    crate::files::write_atomically(&dir.join(LANDMARKS), &landmarks)
        .map_err(|e| fail(dir.join(LANDMARKS), e.to_string()))?;
    let text =
        toml::to_string_pretty(manifest).map_err(|e| fail(dir.join(MANIFEST), e.to_string()))?;
    crate::files::write_atomically(&dir.join(MANIFEST), text.as_bytes())
        .map_err(|e| fail(dir.join(MANIFEST), e.to_string()))
}
