//! What pix2pix learns from, at the model's size: each example's input pictures (the sketch,
//! and for `warp` the target's nearest keyframe moved onto its landmarks), the real frame and
//! the L1 weights, drawn from a reenactment dataset or from pictures paired by name, with a few
//! held out for the previews.

use candle_core::{Device, Tensor};

use crate::data::dataset::{Dataset, Pair};
use crate::data::imageset::PairedSet;
use crate::face::reference::{Pick, Reference};
use crate::face::Landmarks;
use crate::frame::Rgb8;
use crate::reenact::retarget::TargetNeutral;
use crate::reenact::sketch::SketchRenderer;
use crate::train::images::{batch_to_tensor, to_tensor};
use crate::train::{run, weight, TrainError};

/// The L1 weight of a pixel outside the face (the face counts 1, eyes and mouth
/// [`weight::FEATURES`]). Unlike the swap's blend, a reenactment shows the whole frame: at the
/// swap's 0.1 the adversarial term alone shaped the hair and background, and painted them
/// with noise (d3, 2500 steps: whole-frame PSNR 22.97 dB at 0.1, 24.26 dB at 1; face 26.40 and
/// 26.23, mouth 24.29 and 24.66).
const BACKGROUND_WEIGHT: f32 = 1.0;
/// Keyframes a `warp` model keeps: enough to hold a clip's range of mouths and poses, few
/// enough that the model's reference picture stays a few megabytes.
const KEYFRAMES: usize = 32;
/// Samples shown in each preview grid.
const PREVIEW_ROWS: usize = 3;

/// One step's tensors: the generator's input (the sketch, and the moved reference beside it
/// for `warp`), the real frame and the L1 weights.
pub struct Batch {
    pub input: Tensor,
    pub real: Tensor,
    pub weight: Option<Tensor>,
}

/// One training example at the model's size: the generator's input pictures, the real frame
/// and the loss weights (`None`: every pixel alike).
#[derive(Clone)]
pub(super) struct Example {
    pub(super) sketch: Rgb8,
    /// The reference moved onto this frame's landmarks (the `warp` generator's second input).
    pub(super) warped: Option<Rgb8>,
    pub(super) frame: Rgb8,
    weight: Option<Rgb8>,
}

impl Example {
    /// The generator's input for this example as a [1, C, S, S] tensor.
    pub(super) fn input_tensor(&self, device: &Device) -> Result<Tensor, TrainError> {
        let sketch = to_tensor(&self.sketch, device)?;
        match &self.warped {
            Some(warped) => Ok(Tensor::cat(&[&sketch, &to_tensor(warped, device)?], 1)?),
            None => Ok(sketch),
        }
    }

    pub(super) fn batch(&self, device: &Device) -> Result<Batch, TrainError> {
        let weight = self
            .weight
            .as_ref()
            .map(|w| batch_to_tensor(std::slice::from_ref(w), [0.0, weight::FEATURES], device))
            .transpose()?;
        Ok(Batch {
            input: self.input_tensor(device)?,
            real: to_tensor(&self.frame, device)?,
            weight,
        })
    }
}

/// The examples a run trains on and previews, at the model's size.
pub(super) struct TrainingSet {
    pub(super) examples: Vec<Example>,
    pub(super) previews: Vec<Example>,
    /// "256 px pairs resized to 128 px", when they were.
    pub(super) resized: Option<String>,
}

impl TrainingSet {
    /// A reenactment dataset's pairs at `size`: sketches drawn anew from the landmarks at that
    /// size (the live loop's renderer), frames resized when the dataset's size differs, loss
    /// weights from the landmarks, and with `reference` the target's keyframes
    /// ([`choose_keyframes`]), the nearest ones moved onto each frame's landmarks.
    pub(super) fn from_dataset(
        dataset: &Dataset,
        size: u32,
        reference: bool,
    ) -> Result<(TrainingSet, Option<Reference>), TrainError> {
        let mut renderer = SketchRenderer::new(size, size, dataset.manifest.sketch);
        let mut load = |pair: &Pair| -> Result<Option<Shot>, TrainError> {
            let Some(landmarks) = dataset.landmarks_at(pair, size) else {
                return Ok(None);
            };
            Ok(Some(Shot {
                t: pair.t,
                sketch: renderer.render(&landmarks).clone(),
                frame: dataset.frame_at(pair, size)?,
                landmarks,
            }))
        };
        let mut training = Vec::new();
        for pair in dataset.training_pairs() {
            training.extend(load(pair)?);
        }
        if training.is_empty() {
            return Err(TrainError::NoTrainingPairs);
        }
        let mut held_out = Vec::new();
        for pair in preview_pairs(dataset) {
            held_out.extend(load(pair)?);
        }
        let keyframes = reference.then(|| choose_keyframes(&training)).flatten();
        // A frame gets the nearest keyframes that are not itself: a held-out frame or a live
        // driver is never a keyframe's own picture.
        let example = |shot: Shot| Example {
            warped: keyframes.as_ref().map(|(reference, times)| {
                let pick = reference
                    .pick(&shot.landmarks, |k| times[k] != shot.t)
                    .unwrap_or(Pick::only(0));
                reference.warped(pick, &shot.landmarks)
            }),
            weight: Some(weight::weight_map(&shot.landmarks, size, BACKGROUND_WEIGHT)),
            sketch: shot.sketch,
            frame: shot.frame,
        };
        let resized = (dataset.manifest.size != size).then(|| {
            format!(
                "the dataset's {0}×{0} pairs were resized to the preset's {size}×{size}",
                dataset.manifest.size
            )
        });
        let set = TrainingSet {
            examples: training.into_iter().map(example).collect(),
            previews: held_out.into_iter().map(example).collect(),
            resized,
        };
        Ok((set, keyframes.map(|(reference, _)| reference)))
    }

    /// Paired pictures (already at the preset's size): every tenth held out for the previews.
    pub(super) fn from_pairs(set: &PairedSet) -> Result<TrainingSet, TrainError> {
        let example = |(sketch, frame): (Rgb8, Rgb8)| Example {
            sketch,
            warped: None,
            frame,
            weight: None,
        };
        let (train, mut held_out) = run::hold_out(set.pairs.iter().cloned());
        if train.is_empty() {
            return Err(TrainError::NoTrainingPairs);
        }
        held_out.truncate(PREVIEW_ROWS);
        Ok(TrainingSet {
            examples: train.into_iter().map(example).collect(),
            previews: held_out.into_iter().map(example).collect(),
            resized: None,
        })
    }
}

/// One frame of the dataset at the model's size.
struct Shot {
    /// Its time in the clip (seconds).
    t: f64,
    landmarks: Landmarks,
    sketch: Rgb8,
    frame: Rgb8,
}

/// The target's keyframes and the times they were filmed at: the training frame closest to
/// its neutral face first, then [`KEYFRAMES`] − 1 more spread over its expressions and poses.
fn choose_keyframes(training: &[Shot]) -> Option<(Reference, Vec<f64>)> {
    let landmarks: Vec<Landmarks> = training.iter().map(|s| s.landmarks.clone()).collect();
    let neutral = TargetNeutral::from_frames(&landmarks)?;
    let at_rest = Landmarks::new(neutral.shape.0.map(|p| neutral.placement.apply(p)));
    let first = crate::face::reference::closest_to(&landmarks, &at_rest)?;
    let chosen = crate::face::reference::spread_from(&landmarks, first, KEYFRAMES);
    let times = chosen.iter().map(|&i| training[i].t).collect();
    let frames = chosen
        .iter()
        .map(|&i| (training[i].frame.clone(), training[i].landmarks.clone()))
        .collect();
    Some((Reference::new(frames)?, times))
}

/// Held-out pairs spread over the hold-out (or training pairs when none are held out).
fn preview_pairs(dataset: &Dataset) -> Vec<&Pair> {
    let mut chosen: Vec<&Pair> = dataset.holdout_pairs().collect();
    if chosen.is_empty() {
        chosen = dataset.training_pairs().collect();
    }
    let step = (chosen.len() / PREVIEW_ROWS).max(1);
    chosen
        .into_iter()
        .step_by(step)
        .take(PREVIEW_ROWS)
        .collect()
}
