//! The mouth mask: the driver's own mouth (lips, teeth, tongue, and whatever is in front of it:
//! a hand, a microphone) kept from the camera frame over the swapped face, as the live swap
//! tools' "mouth mask" keeps it. A swap model draws a talking mouth worst of all (teeth and
//! tongue come late in training, a hand in front of the mouth never), and the mouth is what a
//! viewer watches when someone speaks.
//!
//! The region is the hull of the outer lip (points 48–59) widened sideways and down, so the
//! corners and what the open jaw shows below the lower lip are covered, and raised a little
//! (the steadied landmarks trail a fast-moving lip by a few pixels), at weight 1, fading to
//! 0 over a feather sized to the crop (so to the face) outside it. It is worked out at the
//! crop's size once per frame from the steadied landmarks, in buffers kept from frame to frame;
//! the paste then weighs the generated face by the face mask less the mouth, so inside the
//! mouth the frame keeps its own pixels, untouched.

use super::mask::sample;
use crate::face::{parts, Landmarks};
use crate::geometry::Point;

/// Each mouth corner is moved out by this share of the mouth's width (corner to corner)…
const SIDEWAYS: f32 = 0.1;
/// …the lower lip down by this share: the teeth and tongue below it as the jaw opens…
const DOWN: f32 = 0.15;
/// …and the upper lip up by this share, so its edge is kept whole when the steadied landmarks
/// trail it.
const UP: f32 = 0.05;
/// The mask fades from 1 at the widened hull's edge to 0 this share of the crop's side outside
/// it (3.8 pixels in a 64-pixel crop, a sixth of the mouth's width).
pub const MOUTH_FEATHER: f32 = 0.06;

/// The outer lip's points.
const LIP_POINTS: usize = parts::OUTER_LIP.end - parts::OUTER_LIP.start;

/// The mouth's weights at the crop's size, and the paste weights they leave of a face mask.
pub(super) struct Mouth {
    side: u32,
    /// The mouth's weights, row-major (empty until the mouth is first shaped).
    pub(super) weights: Vec<f32>,
}

impl Mouth {
    /// A mouth for a crop of `side` pixels; its buffers are made when it is first shaped, so a
    /// swap that never turns it on never pays for them.
    pub(super) fn new(side: u32) -> Mouth {
        Mouth {
            side,
            weights: Vec::new(),
        }
    }

    /// The mouth of a face whose landmarks are `in_crop` (crop pixels).
    pub(super) fn shape(&mut self, in_crop: &Landmarks) {
        let n = (self.side * self.side) as usize;
        self.weights.clear();
        self.weights.resize(n, 0.0);
        let hull = Hull::of_mouth(in_crop);
        let side = self.side as f32;
        let feather = (MOUTH_FEATHER * side).max(1e-3);
        // Only the hull's box, grown by the feather, can weigh anything.
        let (lo, hi) = hull.bounds();
        let first = |v: f32| (v - feather).floor().clamp(0.0, side - 1.0) as u32;
        let last = |v: f32| (v + feather).ceil().clamp(0.0, side - 1.0) as u32;
        for y in first(lo.y)..=last(hi.y) {
            let row = &mut self.weights[(y * self.side) as usize..][..self.side as usize];
            for x in first(lo.x)..=last(hi.x) {
                row[x as usize] = hull.weight(Point::new(x as f32, y as f32), feather);
            }
        }
    }

    /// The mouth's weight at a crop point (bilinear; 0 outside the crop, or before it was
    /// shaped).
    pub(super) fn weight(&self, p: Point) -> f32 {
        match self.weights.is_empty() {
            true => 0.0,
            false => sample(&self.weights, self.side, p),
        }
    }
}

/// The convex hull of the widened outer lip, held in place (no allocation a frame).
struct Hull {
    points: [Point; 2 * LIP_POINTS],
    len: usize,
}

impl Hull {
    /// The outer lip of `in_crop`, its corners moved out by [`SIDEWAYS`] of the mouth's width
    /// (the points between in proportion), its lower half down by [`DOWN`] of it and its upper
    /// half up by [`UP`]. The crop is upright (the face aligned to the template), so down is
    /// towards the chin.
    fn of_mouth(in_crop: &Landmarks) -> Hull {
        let lip = in_crop.part(parts::OUTER_LIP);
        let n = lip.len() as f32;
        let centre = lip.iter().fold(Point::new(0.0, 0.0), |c, p| {
            Point::new(c.x + p.x / n, c.y + p.y / n)
        });
        // Corner to corner: points 48 and 54.
        let width = lip[0].distance(lip[6]);
        let widen = 1.0 + 2.0 * SIDEWAYS;
        let mut widened = [Point::new(0.0, 0.0); LIP_POINTS];
        for (i, (w, p)) in widened.iter_mut().zip(lip).enumerate() {
            // 49–53: the upper lip between the corners; 55–59: the lower.
            let drop = match i {
                1..=5 => -UP * width,
                7.. => DOWN * width,
                _ => 0.0,
            };
            *w = Point::new(centre.x + (p.x - centre.x) * widen, p.y + drop);
        }
        Hull::around(widened)
    }

    /// Andrew's monotone chain, as [`crate::face::FaceRegion`] builds its hull (the same
    /// orientation, so the same test for inside).
    fn around(mut points: [Point; LIP_POINTS]) -> Hull {
        points.sort_unstable_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
        let mut hull = Hull {
            points: [Point::new(0.0, 0.0); 2 * LIP_POINTS],
            len: 0,
        };
        for pass in 0..2 {
            let start = hull.len;
            let mut add = |p: Point| {
                while hull.len >= start + 2
                    && cross(hull.points[hull.len - 2], hull.points[hull.len - 1], p) <= 0.0
                {
                    hull.len -= 1;
                }
                hull.points[hull.len] = p;
                hull.len += 1;
            };
            match pass {
                0 => points.iter().for_each(|&p| add(p)),
                _ => points.iter().rev().for_each(|&p| add(p)),
            }
            hull.len -= 1; // the last point starts the other chain
        }
        hull
    }

    fn edges(&self) -> impl Iterator<Item = (Point, Point)> + '_ {
        let points = &self.points[..self.len];
        (0..self.len).map(move |i| (points[i], points[(i + 1) % points.len()]))
    }

    /// The weight at `p`: 1 inside the hull, falling to 0 over `feather` outside it (the
    /// distance to its nearest edge is only worked out there).
    fn weight(&self, p: Point, feather: f32) -> f32 {
        if self.len >= 3 && self.edges().all(|(a, b)| cross(a, b, p) >= 0.0) {
            return 1.0;
        }
        let distance = self
            .edges()
            .map(|(a, b)| p.distance_to_segment(a, b))
            .fold(f32::INFINITY, f32::min);
        (1.0 - distance / feather).max(0.0)
    }

    /// The hull's box, corners low and high.
    fn bounds(&self) -> (Point, Point) {
        let points = &self.points[..self.len];
        points.iter().fold(
            (
                Point::new(f32::MAX, f32::MAX),
                Point::new(f32::MIN, f32::MIN),
            ),
            |(lo, hi), p| {
                (
                    Point::new(lo.x.min(p.x), lo.y.min(p.y)),
                    Point::new(hi.x.max(p.x), hi.y.max(p.y)),
                )
            },
        )
    }
}

fn cross(o: Point, a: Point, b: Point) -> f32 {
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
}
