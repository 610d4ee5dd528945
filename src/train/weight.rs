//! Where the trainers' L1 looks (the swap autoencoder's and pix2pix reenactment's): a weight
//! per pixel of each training picture. The face with its forehead counts fully, its eyes and
//! mouth [`FEATURES`] times as much (they carry who someone is and what they express, and
//! they are where people look), and the hair and background around it as much as the trainer
//! says: barely for the swap ([`BACKGROUND`]: its blend never shows them, and a small network
//! should not spend itself on them), fully for reenactment (it shows the whole frame). The
//! weights are drawn once per picture from its landmarks (the swap then moves them with its
//! target, so they always cover the target's face).

use image::Rgb;

use crate::face::{parts, FaceRegion, Landmarks};
use crate::frame::Rgb8;
use crate::geometry::Point;

/// Weight of a pixel outside the face in the swap's loss (its blend never shows them).
pub const BACKGROUND: f32 = 0.1;
/// Weight of the eyes and the mouth.
pub const FEATURES: f32 = 3.0;
/// Features are grown by this share of the face's width, so their whole surroundings (lids,
/// lips) count.
const FEATURE_MARGIN: f32 = 0.04;
/// The face's edge fades over this share of its width.
const FEATHER: f32 = 0.03;

/// The weight map of a face in its own crop, stored in 8 bits as a share of [`FEATURES`] (the
/// picture form lets the map move through the same warps as the face).
/// `background` is the weight of a pixel outside the face (the face counts 1).
pub fn weight_map(landmarks: &Landmarks, side: u32, background: f32) -> Rgb8 {
    let p = landmarks.points();
    let width = p[parts::JAW.start].distance(p[parts::JAW.end - 1]).max(1.0);
    let face = FaceRegion::with_forehead(landmarks);
    let features = [parts::RIGHT_EYE, parts::LEFT_EYE, parts::OUTER_LIP]
        .map(|range| FaceRegion::around(&p[range]));
    let (margin, feather) = (FEATURE_MARGIN * width, FEATHER * width);
    Rgb8::from_fn(side, side, |x, y| {
        let at = Point::new(x as f32, y as f32);
        let inside = (face.depth(at) / feather + 0.5).clamp(0.0, 1.0);
        let feature = features
            .iter()
            .map(|f| ((f.depth(at) + margin) / feather + 0.5).clamp(0.0, 1.0))
            .fold(0.0, f32::max);
        let weight = background + (1.0 - background) * inside + (FEATURES - 1.0) * feature;
        let v = (weight / FEATURES * 255.0).round() as u8;
        Rgb([v, v, v])
    })
}
