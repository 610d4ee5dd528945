//! `mimic eval drive`: another person drives a reenactment model through the live loop's own
//! path, and the generated frames are judged by whether they still show a face, and whether
//! that face stays inside the target's usual framing (where the target sat and moved in its
//! training frames; a generator asked for framings it never saw draws garbled faces), and
//! whether it does what the driver does: the landmarks the detector finds in it against those
//! the sketch was drawn from (`sketch_nme`).

use std::path::Path;

use serde::Serialize;

use super::EvalError;
use crate::face::track::FaceTracker;
use crate::face::FaceAnalyzer;
use crate::geometry::{FaceBox, Point};
use crate::pipeline::{Process, Reenactor, Tracked};
use crate::video::VideoReader;

#[derive(Debug, Clone, Serialize)]
pub struct DriveReport {
    /// Driver frames read.
    pub frames: u64,
    /// Driver frames in which the tracker found the driver's face (a frame was generated).
    pub frames_with_face: u64,
    /// Generated frames in which the face detector finds a face, over those generated.
    pub faces_found: f64,
    /// Found faces whose landmarks lie inside the target's usual framing, over those found;
    /// absent for a card without the target's usual framing.
    pub inside_framing: Option<f64>,
    /// How far outside the usual framing the landmarks reached at most, as a share of its
    /// width (0 when always inside).
    pub overshoot: Option<f64>,
    /// Mean NME of the landmarks found in each generated frame against the landmarks its
    /// sketch was drawn from (after retargeting), over the frames whose face was found.
    pub sketch_nme: Option<f64>,
}

/// Drives `reenactor` with `video` (at most `max_frames` frames), its face followed by
/// `tracker`, and judges each generated frame with `judge`.
pub fn evaluate(
    reenactor: &mut Reenactor,
    tracker: &mut FaceTracker,
    judge: &FaceAnalyzer,
    video: &Path,
    max_frames: Option<u64>,
) -> Result<DriveReport, EvalError> {
    let framing = reenactor
        .generator()
        .card()
        .and_then(|c| c.neutral)
        .and_then(|n| n.framing);
    let mut reader = VideoReader::open(video)?;
    let (mut frames, mut generated, mut found, mut inside) = (0u64, 0u64, 0u64, 0u64);
    let mut overshoot = 0f32;
    let mut nme = Vec::new();
    let scale =
        reenactor.generator().output_size() as f32 / reenactor.generator().input_size() as f32;
    while let Some(frame) = reader.next_frame()? {
        if max_frames.is_some_and(|m| frames >= m) {
            break;
        }
        frames += 1;
        let tracked = Tracked::by(tracker, &frame.image);
        if !reenactor.process(&frame.image, &tracked, frame.t.as_secs_f64())? {
            continue;
        }
        generated += 1;
        let Some(face) = judge.faces(reenactor.outputs().1)?.into_iter().next() else {
            continue;
        };
        found += 1;
        if let Some(drawn) = reenactor.drawn() {
            let drawn = drawn.map(|p| Point::new(p.x * scale, p.y * scale));
            nme.push(f64::from(face.landmarks.nme(&drawn)));
        }
        if let Some(framing) = framing {
            let beyond = outside(&framing, &face.landmarks.bounds());
            inside += u64::from(beyond <= 0.0);
            overshoot = overshoot.max(beyond / framing.width());
        }
    }
    if generated == 0 {
        return Err(EvalError::NothingToEvaluate(video.to_path_buf()));
    }
    Ok(DriveReport {
        frames,
        frames_with_face: generated,
        faces_found: found as f64 / generated as f64,
        inside_framing: framing.map(|_| inside as f64 / found.max(1) as f64),
        overshoot: framing.map(|_| f64::from(overshoot)),
        sketch_nme: (!nme.is_empty()).then(|| nme.iter().sum::<f64>() / nme.len() as f64),
    })
}

/// How far `inner` reaches outside `outer` at most, in pixels (0 or less: inside).
fn outside(outer: &FaceBox, inner: &FaceBox) -> f32 {
    (outer.left - inner.left)
        .max(inner.right - outer.right)
        .max(outer.top - inner.top)
        .max(inner.bottom - outer.bottom)
}
