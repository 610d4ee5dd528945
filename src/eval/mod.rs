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
    Dataset(#[from] crate::dataset::DatasetError),
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("model '{0}' is not a reenactment model with a card: its card must say kind = \"reenact\" and give [framing] and [sketch]")]
    NotReenact(PathBuf),
    #[error("cannot read the mean training frame '{path}' named by the model card: {reason}")]
    MeanFrame { path: PathBuf, reason: String },
    #[error("frame range '{0}' is not valid: write START..END (END excluded) or START..")]
    BadRange(String),
    #[error("the video is {got_w}×{got_h} but the model was trained on {want_w}×{want_h} frames of its target")]
    FrameSize {
        got_w: u32,
        got_h: u32,
        want_w: u32,
        want_h: u32,
    },
    #[error("model '{0}' is not a swap model with a card: train one with `mimic train swap`")]
    NotSwap(PathBuf),
    #[error("the target reference '{path}' must show exactly one face, and it shows {faces}")]
    Reference { path: PathBuf, faces: usize },
    #[error("no picture of one of the domains shows a face: leave out --faces for domains that are not faces")]
    NoFaces,
    #[error("no frame of '{0}' in the chosen range shows a face: nothing to evaluate")]
    NothingToEvaluate(PathBuf),
}

/// Source frame indices `start..end` (`end` open when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRange {
    pub start: u64,
    pub end: Option<u64>,
}

impl FrameRange {
    pub fn all() -> FrameRange {
        FrameRange {
            start: 0,
            end: None,
        }
    }

    pub fn contains(&self, index: u64) -> bool {
        index >= self.start && self.end.is_none_or(|e| index < e)
    }

    pub fn parse(text: &str) -> Result<FrameRange, EvalError> {
        let bad = || EvalError::BadRange(text.to_string());
        let (a, b) = text.split_once("..").ok_or_else(bad)?;
        let start = if a.is_empty() {
            0
        } else {
            a.trim().parse().map_err(|_| bad())?
        };
        let end = if b.is_empty() {
            None
        } else {
            Some(b.trim().parse().map_err(|_| bad())?)
        };
        if end.is_some_and(|e| e <= start) {
            return Err(bad());
        }
        Ok(FrameRange { start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(
            FrameRange::parse("10..20").unwrap(),
            FrameRange {
                start: 10,
                end: Some(20)
            }
        );
        assert_eq!(
            FrameRange::parse("528..").unwrap(),
            FrameRange {
                start: 528,
                end: None
            }
        );
        assert!(FrameRange::parse("20..10").is_err());
        assert!(FrameRange::parse("ten").is_err());
    }
}
