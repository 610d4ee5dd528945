//! Training sets from videos and photos: sketch/frame pairs of a target for reenactment
//! ([`reenact`]), aligned faces of one person for the swap ([`faces`]), and edge or grey
//! pairs of any pictures for paired translation ([`pairs`]).

mod faces;
mod pairs;
mod reenact;

use std::path::{Path, PathBuf};

pub use faces::{extract_faces, FacesOptions, FacesSummary};
pub use pairs::{edges, extract_pairs, grey, PairInput, PairsSummary};
pub use reenact::{extract_reenact, ExtractSummary, ReenactOptions};

use crate::data::dataset::DatasetError;
use crate::data::faceset::FaceSetError;
use crate::face::FaceError;
use crate::frame::ImageReadError;
use crate::video::VideoError;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Face(#[from] FaceError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("no face was found in any of the {frames} frames of '{path}': extraction needs a video of the target's face")]
    NoFace { path: PathBuf, frames: u64 },
    #[error("cannot create dataset folder '{path}': {reason}")]
    CreateDir { path: PathBuf, reason: String },
    #[error("size {0} is out of range: use 64 to 1024 pixels")]
    BadSize(u32),
    #[error("holdout share {0} is out of range: use 0 to 0.5")]
    BadHoldout(f32),
    #[error("'{0}' changed size part-way through; extraction needs frames of one size")]
    FrameSize(PathBuf),
    #[error(transparent)]
    FaceSet(#[from] FaceSetError),
    #[error(transparent)]
    Image(#[from] ImageReadError),
    #[error("no face to keep in {inputs}: {rejected} faces did not match the reference, {no_face} frames had no face, {several} had several faces (without --reference such frames are skipped)")]
    NothingKept {
        inputs: String,
        rejected: u64,
        no_face: u64,
        several: u64,
    },
    #[error("padding {0} is out of range: use 0 to 0.4")]
    BadPadding(f32),
    #[error("--every must be at least 1")]
    BadEvery,
    #[error(transparent)]
    Pictures(#[from] crate::data::imageset::ImageSetError),
}

/// Creates `out` and the given folders inside it.
fn create_dirs(out: &Path, dirs: &[&str]) -> Result<(), ExtractError> {
    for dir in dirs {
        let path = out.join(dir);
        std::fs::create_dir_all(&path).map_err(|e| ExtractError::CreateDir {
            path,
            reason: e.to_string(),
        })?;
    }
    Ok(())
}
