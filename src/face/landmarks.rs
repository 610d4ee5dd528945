//! The 68-point landmark set (iBUG 300-W order) and the measures taken on it.
//!
//! Points are in pixel coordinates of the image they were found in. The index ranges below
//! name the parts of the face every other module draws or aligns by.

use std::ops::Range;

use serde::{Serialize, Serializer};

use crate::geometry::{FaceBox, Point};

/// How many points a landmark set has.
pub const LANDMARK_COUNT: usize = 68;

/// Index ranges of the face parts (iBUG 300-W scheme).
pub mod parts {
    use std::ops::Range;
    pub const JAW: Range<usize> = 0..17;
    pub const RIGHT_BROW: Range<usize> = 17..22;
    pub const LEFT_BROW: Range<usize> = 22..27;
    pub const NOSE_BRIDGE: Range<usize> = 27..31;
    pub const LOWER_NOSE: Range<usize> = 30..36;
    pub const RIGHT_EYE: Range<usize> = 36..42;
    pub const LEFT_EYE: Range<usize> = 42..48;
    pub const OUTER_LIP: Range<usize> = 48..60;
    pub const INNER_LIP: Range<usize> = 60..68;
    /// Outer corners of the eyes: the inter-ocular distance that normalises errors.
    pub const OUTER_EYE_CORNERS: (usize, usize) = (36, 45);
    /// Everything but the jaw line: the points alignment fits (the jaw moves with the mouth).
    pub const INNER_FACE: Range<usize> = 17..68;
}

/// The 68 points of one face.
#[derive(Debug, Clone, PartialEq)]
pub struct Landmarks([Point; LANDMARK_COUNT]);

impl Landmarks {
    pub fn new(points: [Point; LANDMARK_COUNT]) -> Self {
        Self(points)
    }

    /// Builds a set from exactly 68 points; `None` for any other count.
    pub fn from_slice(points: &[Point]) -> Option<Self> {
        let points: [Point; LANDMARK_COUNT] = points.try_into().ok()?;
        Some(Self(points))
    }

    pub fn points(&self) -> &[Point; LANDMARK_COUNT] {
        &self.0
    }

    pub fn part(&self, range: Range<usize>) -> &[Point] {
        &self.0[range]
    }

    /// Distance between the outer eye corners (36, 45), the scale NME divides by.
    pub fn inter_ocular(&self) -> f32 {
        let (a, b) = parts::OUTER_EYE_CORNERS;
        self.0[a].distance(self.0[b])
    }

    /// Normalised mean error against a reference set: mean point distance divided by the
    /// reference's inter-ocular distance.
    pub fn nme(&self, reference: &Landmarks) -> f32 {
        let total: f32 = self
            .0
            .iter()
            .zip(reference.0.iter())
            .map(|(p, q)| p.distance(*q))
            .sum();
        total / LANDMARK_COUNT as f32 / reference.inter_ocular()
    }

    /// The tightest box around all points.
    pub fn bounds(&self) -> FaceBox {
        FaceBox::around(&self.0)
    }

    /// The same face with every point moved by `f` (a warp, a crop offset, a scale).
    pub fn map(&self, f: impl Fn(Point) -> Point) -> Landmarks {
        Landmarks(self.0.map(f))
    }
}

impl Serialize for Landmarks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Landmarks {
        Landmarks::new(std::array::from_fn(|i| {
            Point::new((i % 10) as f32 * 10.0, (i / 10) as f32 * 10.0)
        }))
    }

    #[test]
    fn nme_of_a_shift_is_shift_over_inter_ocular() {
        let reference = grid();
        let shifted = reference.map(|p| Point::new(p.x + 3.0, p.y + 4.0));
        let iod = reference.inter_ocular();
        assert!((shifted.nme(&reference) - 5.0 / iod).abs() < 1e-6);
        assert_eq!(reference.nme(&reference), 0.0);
    }

    #[test]
    fn iou_of_half_overlap() {
        let a = FaceBox {
            left: 0.0,
            top: 0.0,
            right: 10.0,
            bottom: 10.0,
        };
        let b = FaceBox {
            left: 5.0,
            top: 0.0,
            right: 15.0,
            bottom: 10.0,
        };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        let far = FaceBox {
            left: 20.0,
            top: 20.0,
            right: 30.0,
            bottom: 30.0,
        };
        assert_eq!(a.iou(&far), 0.0);
    }
}
