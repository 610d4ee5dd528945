//! The target's own fine detail on a swapped face. A swap autoencoder trained for an hour on a
//! CPU gets the target's shape, tone and expression right, but draws them soft: the lashes, lip
//! lines and skin grain come last in training. The target's face set has them. So a swap model
//! keeps a few of the target's faces (keyframes, moved by the face mesh exactly as a
//! reenactment's [`Reference`] is), and each frame the nearest ones are moved onto the face
//! the model drew (the driver's landmarks moved to where the model puts the target's
//! features), and their fine detail, what a small Gaussian blur takes out of their
//! brightness, is added to the generated face. The detail is the target's own, so it sharpens
//! who the face is, and it lands where the driver's expression puts it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::face::reference::{KeyframeChoice, Reference, ReferenceError};
use crate::face::{Landmarks, LANDMARK_COUNT};
use crate::frame::Rgb8;
use crate::geometry::Point;

/// What a swap model's card says of its detail: the keyframes (a picture beside the model, the
/// keyframes side by side at the model's size), their landmarks in model pixels (68 per
/// keyframe), and where the model draws the target's features against the driver's (68
/// offsets, model pixels: see `train::swap`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetailSpec {
    pub image: String,
    pub landmarks: Vec<Point>,
    pub drawn: Vec<Point>,
}

/// The blur that splits a face into what the model draws and the detail, as a share of the
/// crop's side (2.6 pixels in a 128-pixel face). Measured with `eval swap` on A's held-out
/// frames (tiny128 model, 2198 steps), the sharpness ratio was 0.07 without the detail, 0.29
/// with 0.012, 0.34 with 0.02 and 0.03, 0.34 with 0.045; past 0.02 the seam grew (ΔE 0.8 →
/// 1.7) and lids and lips showed twice, the model's and the keyframe's.
const SIGMA: f32 = 0.02;

/// What the face mesh's Catmull-Rom sampling keeps of a keyframe's fine detail (the variance
/// of its Laplacian) when it moves the keyframe by a fraction of a pixel, on average over the
/// fractions: 0.69–0.74 on five faces of B, each moved by 16 sub-pixel offsets
/// (`tests/swap.rs`). The detail is added at 1/√ of it (×1.19), giving back what moving the
/// keyframe took; on A's held-out frames this took the sharpness ratio from 0.47 to 0.59
/// with the look otherwise unchanged.
pub const WARP_KEEPS: f32 = 0.71;

/// The target's detail, ready to add to one generated face a frame, buffers kept.
pub struct Detail {
    reference: Reference,
    drawn: [Point; LANDMARK_COUNT],
    choice: KeyframeChoice,
    warped: Rgb8,
    luma: Vec<f32>,
    blurred: Vec<f32>,
    scratch: Vec<f32>,
    /// One padded line of the blur.
    line: Vec<f32>,
    kernel: Vec<f32>,
}

impl Detail {
    /// The detail a card names, for a model at `model` making faces of `size` pixels.
    pub fn load(spec: &DetailSpec, model: &Path, size: u32) -> Result<Detail, ReferenceError> {
        let reference = Reference::load_strip(&spec.image, &spec.landmarks, model, size)?;
        let drawn = <[Point; LANDMARK_COUNT]>::try_from(spec.drawn.as_slice()).map_err(|_| {
            ReferenceError::Landmarks {
                points: spec.drawn.len(),
                keyframes: 1,
            }
        })?;
        Ok(Detail::new(reference, drawn, size))
    }

    /// Detail from `reference`'s keyframes for faces of `size` pixels, from a model that draws
    /// each of the target's features `drawn` away from the driver's landmark (model pixels).
    pub fn new(reference: Reference, drawn: [Point; LANDMARK_COUNT], size: u32) -> Detail {
        let n = (size * size) as usize;
        Detail {
            reference,
            drawn,
            choice: KeyframeChoice::default(),
            warped: Rgb8::new(size, size),
            luma: vec![0.0; n],
            blurred: vec![0.0; n],
            scratch: vec![0.0; n],
            line: Vec::with_capacity(2 * size as usize),
            kernel: gaussian(SIGMA * size as f32),
        }
    }

    /// Forgets the keyframes in use (the face was lost).
    pub fn forget(&mut self) {
        self.choice = KeyframeChoice::default();
    }

    /// Adds the target's detail to `face` (a generated face of the model's size), moved onto
    /// the driver's landmarks `in_crop` (model pixels) and weighted by `weight` (row-major,
    /// the face's size, 0 to 1).
    pub fn add_to(&mut self, face: &mut Rgb8, in_crop: &Landmarks, weight: &[f32]) {
        let target = self.as_drawn(in_crop);
        let pick = self.choice.choose(&self.reference, &target);
        self.reference.warp_into(pick, &target, &mut self.warped);
        if self.warped.dimensions() != face.dimensions() {
            return; // a face of another size than the keyframes: nothing lines up
        }
        for (l, p) in self.luma.iter_mut().zip(self.warped.pixels()) {
            *l = luma(p.0);
        }
        let side = face.width() as usize;
        let gain = WARP_KEEPS.sqrt().recip();
        blur(
            &self.luma,
            &mut self.blurred,
            &mut self.scratch,
            &mut self.line,
            side,
            &self.kernel,
        );
        for (i, p) in face.pixels_mut().enumerate() {
            let w = weight.get(i).copied().unwrap_or(0.0);
            if w <= 0.0 {
                continue;
            }
            let fine = gain * w * (self.luma[i] - self.blurred[i]);
            p.0 =
                p.0.map(|v| (f32::from(v) + fine + 0.5).clamp(0.0, 255.0) as u8);
        }
    }

    /// Where the model draws the features of a driver's face with `driver`'s landmarks.
    fn as_drawn(&self, driver: &Landmarks) -> Landmarks {
        let p = driver.points();
        Landmarks::new(std::array::from_fn(|i| {
            Point::new(p[i].x + self.drawn[i].x, p[i].y + self.drawn[i].y)
        }))
    }
}

fn luma(p: [u8; 3]) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

/// A normalised Gaussian kernel of standard deviation `sigma`, three deviations each side.
fn gaussian(sigma: f32) -> Vec<f32> {
    let sigma = sigma.max(0.3);
    let radius = (3.0 * sigma).ceil() as i32;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|x| (-(x * x) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = kernel.iter().sum();
    kernel.into_iter().map(|k| k / sum).collect()
}

/// `values` (a `side`² square, row-major) blurred by the separable `kernel` into `out`, edges
/// repeated; `scratch` holds the rows' pass (the square's size), `line` a padded line.
fn blur(
    values: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
    line: &mut Vec<f32>,
    side: usize,
    kernel: &[f32],
) {
    for (row, blurred) in values.chunks(side).zip(scratch.chunks_mut(side)) {
        blur_line(row.iter().copied(), blurred.iter_mut(), kernel, line);
    }
    // Down the columns.
    for x in 0..side {
        let column = (0..side).map(|y| scratch[y * side + x]);
        let blurred = out.iter_mut().skip(x).step_by(side);
        blur_line(column, blurred, kernel, line);
    }
}

/// One line (`values`) blurred by `kernel` into `out`, its ends repeated; `padded` is reused.
fn blur_line<'a>(
    values: impl Iterator<Item = f32>,
    out: impl Iterator<Item = &'a mut f32>,
    kernel: &[f32],
    padded: &mut Vec<f32>,
) {
    let radius = kernel.len() / 2;
    padded.clear();
    padded.extend(values);
    let (Some(&first), Some(&last)) = (padded.first(), padded.last()) else {
        return;
    };
    let n = padded.len();
    padded.extend(std::iter::repeat_n(last, radius));
    padded.splice(0..0, std::iter::repeat_n(first, radius));
    for (o, window) in out.zip(padded.windows(kernel.len())).take(n) {
        *o = window.iter().zip(kernel).map(|(v, k)| v * k).sum();
    }
}
