//! One person's faces as the swap model sees them: the face set's faces held out or trained
//! on, each training face warped at random into a batch ([`super::warp`]), their landmarks and
//! loss weights in the model's crop, and the keyframes that carry their fine detail.

use candle_core::{Device, Tensor};

use super::model_crop;
use super::warp::{self, TrainingPair};
use crate::data::faceset::FaceSet;
use crate::face::reference::Reference;
use crate::face::{AlignedCrop, Landmarks, LANDMARK_COUNT};
use crate::frame::Rgb8;
use crate::geometry::{Point, Similarity};
use crate::train::images::{batch_to_tensor, SIGMOID};
use crate::train::params::Rng;
use crate::train::{run, weight, TrainError};

/// How many of the target's faces a model keeps for the detail ([`crate::swap::detail`]).
const DETAIL_KEYFRAMES: usize = 16;

/// Warped faces in [0, 1], their unwarped targets and the targets' loss weights.
pub struct Batch {
    pub input: Tensor,
    pub target: Tensor,
    pub weight: Tensor,
}

/// One person's faces, as the model sees them.
pub(super) struct Person {
    pub(super) train: Vec<Rgb8>,
    /// The landmarks of each training face, in the model's crop.
    pub(super) landmarks: Vec<Landmarks>,
    /// The loss weights of each training face, in the set's crop.
    weights: Vec<Rgb8>,
    held_out: Vec<Rgb8>,
    pub(super) to_model: Similarity,
    /// The side of the model's faces.
    pub(super) size: u32,
}

impl Person {
    /// `set`'s faces for a model of `size` pixels.
    pub(super) fn load(set: &FaceSet, size: u32) -> Result<Person, TrainError> {
        let (trained_on, held) = run::hold_out(&set.entries);
        let crop = AlignedCrop::new(set.manifest.size, set.manifest.padding as f32);
        let to_model = warp::set_to_model(crop, model_crop(size));
        let (mut train, mut landmarks, mut weights) = (Vec::new(), Vec::new(), Vec::new());
        for entry in trained_on {
            let points = entry.landmarks()?;
            weights.push(weight::weight_map(
                &points,
                set.manifest.size,
                weight::BACKGROUND,
            ));
            landmarks.push(points.map(|p| to_model.apply(p)));
            train.push(set.load(entry)?);
        }
        let mut held_out = held
            .into_iter()
            .map(|entry| set.load(entry))
            .collect::<Result<Vec<_>, _>>()?;
        if held_out.is_empty() {
            held_out.push(train[train.len() - 1].clone());
        }
        Ok(Person {
            train,
            landmarks,
            weights,
            held_out,
            to_model,
            size,
        })
    }

    /// A batch of warped inputs and their targets.
    pub(super) fn batch(
        &self,
        n: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Batch, TrainError> {
        let pairs: Vec<TrainingPair> = (0..n)
            .map(|_| {
                let i = rng.below(self.train.len());
                let (face, weight) = (&self.train[i], &self.weights[i]);
                warp::training_pair(face, weight, &self.to_model, self.size, rng)
            })
            .collect();
        let pictures = |pick: fn(&TrainingPair) -> &Rgb8| -> Vec<Rgb8> {
            pairs.iter().map(|p| pick(p).clone()).collect()
        };
        Ok(Batch {
            input: batch_to_tensor(&pictures(|p| &p.input), SIGMOID, device)?,
            target: batch_to_tensor(&pictures(|p| &p.target), SIGMOID, device)?,
            weight: batch_to_tensor(&pictures(|p| &p.weight), [0.0, weight::FEATURES], device)?,
        })
    }

    /// The mean of the training faces' landmarks (model pixels): this person's face shape.
    pub(super) fn mean_shape(&self) -> Option<Landmarks> {
        let n = self.landmarks.len() as f32;
        let mut sum = [Point::new(0.0, 0.0); LANDMARK_COUNT];
        for face in &self.landmarks {
            for (s, p) in sum.iter_mut().zip(face.points()) {
                *s = Point::new(s.x + p.x / n, s.y + p.y / n);
            }
        }
        (!self.landmarks.is_empty()).then(|| Landmarks::new(sum))
    }

    /// This person's keyframes for the detail of faces made of theirs: the training face
    /// nearest their mean shape first, then [`DETAIL_KEYFRAMES`] − 1 more spread over their
    /// expressions and poses, at the model's size.
    pub(super) fn keyframes(&self) -> Option<Reference> {
        let first = crate::face::reference::closest_to(&self.landmarks, &self.mean_shape()?)?;
        let chosen = crate::face::reference::spread_from(&self.landmarks, first, DETAIL_KEYFRAMES);
        let frames = chosen
            .iter()
            .map(|&i| {
                let face = warp::view(&self.train[i], &self.to_model, self.size);
                (face, self.landmarks[i].clone())
            })
            .collect();
        Reference::new(frames)
    }

    /// The held-out faces, unwarped.
    pub(super) fn validation(&self, device: &Device) -> Result<Tensor, TrainError> {
        let faces: Vec<Rgb8> = self
            .held_out
            .iter()
            .map(|f| warp::view(f, &self.to_model, self.size))
            .collect();
        batch_to_tensor(&faces, SIGMOID, device)
    }
}
