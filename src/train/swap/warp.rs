//! Training pairs for the swap, as the book makes them: the aligned face moved a little at
//! random (rotation ±10°, zoom ±5 %, shift ±5 %, mirrored 40 % of the time) is the target, and
//! the same face bent by a smooth random grid is the input, so the shared encoder has to learn
//! what a face is rather than copy pixels.

use image::{imageops, Rgb};

use super::super::params::Rng;
use crate::face::AlignedCrop;
use crate::frame::sample::sample_bilinear;
use crate::frame::Rgb8;
use crate::geometry::{Point, Similarity};

const TURN: f32 = 10.0 * std::f32::consts::PI / 180.0;
const ZOOM: f32 = 0.05;
const SHIFT: f32 = 0.05;
const MIRROR: f32 = 0.4;
/// Control points per side of the bending grid, and their random offset (standard deviation,
/// as a fraction of the side: the book's 5 pixels over a 160-pixel region).
const GRID: usize = 5;
const BEND: f32 = 5.0 / 160.0;

/// The transform from a face set's crops to the model's crop: both are [`AlignedCrop`]s of the
/// same template, so it is a scale and a shift.
pub fn set_to_model(set: AlignedCrop, model: AlignedCrop) -> Similarity {
    let (s, m) = (set.size as f32, model.size as f32);
    let scale = (m * (1.0 - 2.0 * model.padding)) / (s * (1.0 - 2.0 * set.padding));
    let shift = m * model.padding - s * set.padding * scale;
    Similarity {
        a: scale,
        b: 0.0,
        tx: shift,
        ty: shift,
    }
}

/// The face as the model sees it, without augmentation (validation, previews).
pub fn view(face: &Rgb8, to_model: &Similarity, side: u32) -> Rgb8 {
    to_model.warp(face, side, side)
}

/// One training example from an aligned face of the set and its loss weights (in the set's
/// crop, see [`super::weight`]): the bent input, the target, and the weights moved with it.
pub struct TrainingPair {
    pub input: Rgb8,
    pub target: Rgb8,
    pub weight: Rgb8,
}

/// One (input, target) pair from an aligned face of the set, with its weights.
pub fn training_pair(
    face: &Rgb8,
    weight: &Rgb8,
    to_model: &Similarity,
    side: u32,
    rng: &mut Rng,
) -> TrainingPair {
    let moved = random_move(side as f32, rng).then(to_model);
    let mut pair = TrainingPair {
        target: moved.warp(face, side, side),
        weight: moved.warp(weight, side, side),
        input: bend(face, &moved, side, rng),
    };
    if rng.uniform() < MIRROR {
        for picture in [&mut pair.input, &mut pair.target, &mut pair.weight] {
            imageops::flip_horizontal_in_place(picture);
        }
    }
    pair
}

/// A random turn, zoom and shift about the centre of a `side`-pixel crop, applied after the
/// set-to-model transform.
fn random_move(side: f32, rng: &mut Rng) -> RandomMove {
    let spread = |rng: &mut Rng| rng.uniform() * 2.0 - 1.0;
    RandomMove {
        turn: TURN * spread(rng),
        zoom: 1.0 + ZOOM * spread(rng),
        shift: (SHIFT * side * spread(rng), SHIFT * side * spread(rng)),
        centre: side / 2.0,
    }
}

struct RandomMove {
    turn: f32,
    zoom: f32,
    shift: (f32, f32),
    centre: f32,
}

impl RandomMove {
    /// `first`, then this move.
    fn then(&self, first: &Similarity) -> Similarity {
        let (a, b) = (self.zoom * self.turn.cos(), self.zoom * self.turn.sin());
        let c = self.centre;
        let moved = Similarity {
            a,
            b,
            tx: c + self.shift.0 - (a * c - b * c),
            ty: c + self.shift.1 - (b * c + a * c),
        };
        Similarity {
            a: moved.a * first.a - moved.b * first.b,
            b: moved.b * first.a + moved.a * first.b,
            tx: moved.a * first.tx - moved.b * first.ty + moved.tx,
            ty: moved.b * first.tx + moved.a * first.ty + moved.ty,
        }
    }
}

/// The face seen through `to_crop`, each output pixel displaced by a smooth random field: a
/// 5×5 grid of normal offsets, interpolated bilinearly between the control points.
fn bend(face: &Rgb8, to_crop: &Similarity, side: u32, rng: &mut Rng) -> Rgb8 {
    let sigma = BEND * side as f32;
    let offsets: Vec<(f32, f32)> = (0..GRID * GRID)
        .map(|_| (rng.normal() * sigma, rng.normal() * sigma))
        .collect();
    let to_face = to_crop.inverse();
    let cell = (side - 1) as f32 / (GRID - 1) as f32;
    Rgb8::from_fn(side, side, |x, y| {
        let (gx, gy) = (x as f32 / cell, y as f32 / cell);
        let (i, j) = ((gx as usize).min(GRID - 2), (gy as usize).min(GRID - 2));
        let (fx, fy) = (gx - i as f32, gy - j as f32);
        let at = |i: usize, j: usize| offsets[j * GRID + i];
        let lerp =
            |a: (f32, f32), b: (f32, f32), t: f32| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        let top = lerp(at(i, j), at(i + 1, j), fx);
        let bottom = lerp(at(i, j + 1), at(i + 1, j + 1), fx);
        let (dx, dy) = lerp(top, bottom, fy);
        let p = to_face.apply(Point::new(x as f32 + dx, y as f32 + dy));
        sample_bilinear(face, p).unwrap_or(Rgb([0, 0, 0]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_crop_maps_onto_the_model_crop_through_the_template() {
        let (set, model) = (AlignedCrop::new(256, 0.2), AlignedCrop::new(64, 0.1));
        let to_model = set_to_model(set, model);
        for (p, q) in set.template_points().iter().zip(model.template_points()) {
            let moved = to_model.apply(*p);
            assert!((moved.x - q.x).abs() < 1e-3 && (moved.y - q.y).abs() < 1e-3);
        }
    }

    #[test]
    fn pairs_are_the_model_size_and_the_input_is_bent_away_from_the_target() {
        let face = Rgb8::from_fn(256, 256, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
        let to_model = set_to_model(AlignedCrop::new(256, 0.2), AlignedCrop::new(64, 0.1));
        let mut rng = Rng::new(7);
        let weight = Rgb8::new(256, 256);
        let TrainingPair { input, target, .. } =
            training_pair(&face, &weight, &to_model, 64, &mut rng);
        assert_eq!(
            (input.dimensions(), target.dimensions()),
            ((64, 64), (64, 64))
        );
        let differ = input
            .pixels()
            .zip(target.pixels())
            .filter(|(a, b)| a != b)
            .count();
        assert!(differ > 64 * 64 / 2, "{differ} pixels bent");
    }
}
