//! Measuring models with the figures of DESIGN §6: how close a reenactment comes to the real
//! frames of its target (`mimic eval reenact`), and whether a swap looks like its target while
//! keeping the source's expression (`mimic eval swap`), whether a translation moved its
//! pictures toward the other domain (`mimic eval translate`), and whether another person
//! driving a reenactment still gets a face at the target's framing (`mimic eval drive`).

pub mod drive;
pub mod metrics;
pub mod realism;
pub mod reenact;
pub mod swap;
pub mod translate;

use std::path::PathBuf;

pub use crate::video::FrameRange;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Infer(#[from] crate::infer::InferError),
    #[error(transparent)]
    Video(#[from] crate::video::VideoError),
    #[error(transparent)]
    Face(#[from] crate::face::FaceError),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    #[error(transparent)]
    Dataset(#[from] crate::data::dataset::DatasetError),
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("model '{0}' is not a reenactment model with a card: its card must say kind = \"reenact\" and give [framing] and [sketch]")]
    NotReenact(PathBuf),
    #[error("cannot read the mean training frame '{path}' named by the model card: {reason}")]
    MeanFrame { path: PathBuf, reason: String },
    #[error("the video is {got_w}×{got_h} but the model was trained on {want_w}×{want_h} frames of its target")]
    FrameSize {
        got_w: u32,
        got_h: u32,
        want_w: u32,
        want_h: u32,
    },
    #[error("model '{0}' is not a swap model with a card: train one with `mimic train swap`")]
    NotSwap(PathBuf),
    #[error("no picture of one of the domains shows a face: leave out --faces for domains that are not faces")]
    NoFaces,
    #[error("no frame of '{0}' in the chosen range shows a face: nothing to evaluate")]
    NothingToEvaluate(PathBuf),
}
