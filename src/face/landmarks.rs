//! The 68-point landmark set (iBUG 300-W order) and the measures taken on it.
//!
//! Points are in pixel coordinates of the image they were found in. The index ranges below
//! name the parts of the face every other module draws or aligns by.

use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// A point in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    pub fn distance(self, other: Point) -> f32 {
        // Not `hypot`: pixel coordinates cannot overflow a square, and the masks measure
        // thousands of distances a frame.
        let (dx, dy) = (self.x - other.x, self.y - other.y);
        (dx * dx + dy * dy).sqrt()
    }

    /// Distance to the segment from `p` to `q` (to `p` when the segment is a point).
    pub fn distance_to_segment(self, p: Point, q: Point) -> f32 {
        let (dx, dy) = (q.x - p.x, q.y - p.y);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((self.x - p.x) * dx + (self.y - p.y) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.distance(Point::new(p.x + t * dx, p.y + t * dy))
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.x, self.y].serialize(serializer)
    }
}

/// An axis-aligned box `[left, top, right, bottom]` in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaceBox {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl FaceBox {
    /// The tightest box around `points` (inverted, left > right, for none).
    pub fn around(points: &[Point]) -> FaceBox {
        points.iter().fold(
            FaceBox {
                left: f32::INFINITY,
                top: f32::INFINITY,
                right: f32::NEG_INFINITY,
                bottom: f32::NEG_INFINITY,
            },
            |b, p| FaceBox {
                left: b.left.min(p.x),
                top: b.top.min(p.y),
                right: b.right.max(p.x),
                bottom: b.bottom.max(p.y),
            },
        )
    }

    pub fn width(&self) -> f32 {
        self.right - self.left
    }

    pub fn height(&self) -> f32 {
        self.bottom - self.top
    }

    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    pub fn center(&self) -> Point {
        Point::new(
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }

    /// Intersection over union with another box (0 when they do not overlap).
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let inter = FaceBox {
            left: self.left.max(other.left),
            top: self.top.max(other.top),
            right: self.right.min(other.right),
            bottom: self.bottom.min(other.bottom),
        };
        let inter_area = if inter.width() > 0.0 && inter.height() > 0.0 {
            inter.area()
        } else {
            0.0
        };
        let union = self.area() + other.area() - inter_area;
        if union > 0.0 {
            inter_area / union
        } else {
            0.0
        }
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [x, y] = <[f32; 2]>::deserialize(deserializer)?;
        Ok(Point::new(x, y))
    }
}

impl Serialize for FaceBox {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.left, self.top, self.right, self.bottom].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FaceBox {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [left, top, right, bottom] = <[f32; 4]>::deserialize(deserializer)?;
        Ok(FaceBox {
            left,
            top,
            right,
            bottom,
        })
    }
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
