//! The target's reference picture: one real frame of the target at rest, with its landmarks,
//! moved onto any other landmarks by the face mesh ([`crate::face::mesh`]). A reenactment
//! generator of the `warp` architecture gets it beside the sketch, so it spends itself only on
//! what moving a still picture cannot show (the inside of the mouth, eyelids, creases) while
//! the hair, glasses and background come for free and sharp. Training, evaluation and the live
//! loop all build this input here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::face::mesh::{control_points, CONTROL_POINTS};
use crate::face::{Landmarks, Mesh, Point};
use crate::frame::{read_image, Rgb8};

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("cannot read the model's reference picture '{path}': {reason}; it is written beside the model by `mimic train pix2pix` (train again, or copy it back)")]
    Read { path: PathBuf, reason: String },
    #[error("the model's reference picture '{path}' is {width}×{height} but the model takes {size}×{size}: use the picture written with this model")]
    Size {
        path: PathBuf,
        width: u32,
        height: u32,
        size: u32,
    },
    #[error("the model takes the target's reference picture as a second input but its card names none: use the card written with the model")]
    NotInCard,
    #[error("the model card's reference has {0} landmarks instead of 68: train the model again")]
    Landmarks(usize),
}

/// What a card says of a model's reference: the input it goes into, the picture (a file beside
/// the model) and its landmarks in model pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSpec {
    /// The name of the model's second input.
    pub input: String,
    /// The picture's file name, beside the model.
    pub image: String,
    pub landmarks: Vec<Point>,
}

/// The reference, ready to be moved onto any landmarks.
#[derive(Debug, Clone)]
pub struct Reference {
    image: Rgb8,
    from: [Point; CONTROL_POINTS],
    mesh: Mesh,
}

impl Reference {
    /// A reference from a square picture and its landmarks (in its pixels).
    pub fn new(image: Rgb8, landmarks: &Landmarks) -> Reference {
        let from = control_points(landmarks, image.width());
        let mesh = Mesh::delaunay(&from);
        Reference { image, from, mesh }
    }

    /// Loads the reference a card names, for a model at `model` taking `size` pixels.
    pub fn load(
        spec: &ReferenceSpec,
        model: &Path,
        size: u32,
    ) -> Result<Reference, ReferenceError> {
        let path = model.with_file_name(&spec.image);
        let image = read_image(&path).map_err(|e| ReferenceError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if image.dimensions() != (size, size) {
            return Err(ReferenceError::Size {
                path,
                width: image.width(),
                height: image.height(),
                size,
            });
        }
        let landmarks = Landmarks::from_slice(&spec.landmarks)
            .ok_or(ReferenceError::Landmarks(spec.landmarks.len()))?;
        Ok(Reference::new(image, &landmarks))
    }

    pub fn image(&self) -> &Rgb8 {
        &self.image
    }

    /// Draws the reference into `out` (the reference's size) moved onto `landmarks`.
    pub fn warp_into(&self, landmarks: &Landmarks, out: &mut Rgb8) {
        if out.dimensions() != self.image.dimensions() {
            *out = Rgb8::new(self.image.width(), self.image.height());
        }
        let to = control_points(landmarks, self.image.width());
        self.mesh.warp(&self.image, &self.from, &to, out);
    }

    /// The reference moved onto `landmarks`.
    pub fn warped(&self, landmarks: &Landmarks) -> Rgb8 {
        let mut out = Rgb8::new(self.image.width(), self.image.height());
        self.warp_into(landmarks, &mut out);
        out
    }
}

/// The frame a reference is taken from: the one whose landmarks lie closest to `neutral`
/// (mean squared distance over the 68 points); `None` for no frames.
pub fn closest_to(frames: &[Landmarks], neutral: &Landmarks) -> Option<usize> {
    let distance = |l: &Landmarks| -> f32 {
        l.points()
            .iter()
            .zip(neutral.points())
            .map(|(p, q)| (p.x - q.x).powi(2) + (p.y - q.y).powi(2))
            .sum()
    };
    frames
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| distance(a).total_cmp(&distance(b)))
        .map(|(i, _)| i)
}
