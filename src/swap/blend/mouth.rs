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

#[cfg(test)]
mod tests {
    use super::super::{Blend, BlendOptions};
    use super::*;
    use crate::face::AlignedCrop;
    use crate::frame::Rgb8;
    use crate::geometry::Similarity;
    use image::Rgb;

    /// A face in a crop of `side` pixels: the template's points 17–67 where the alignment puts
    /// them (padding 0.1), and a jaw on an arc from beside the eyes down round the chin.
    fn template_face(side: u32) -> Landmarks {
        let crop = AlignedCrop::new(side, 0.1);
        let s = side as f32;
        let jaw = (0..17).map(|i| {
            let angle = std::f32::consts::PI * (1.0 - i as f32 / 16.0);
            Point::new(
                s / 2.0 + 0.4 * s * angle.cos(),
                0.3 * s + 0.68 * s * angle.sin(),
            )
        });
        let points: Vec<Point> = jaw.chain(crop.template_points()).collect();
        Landmarks::from_slice(&points).unwrap()
    }

    fn mean_of(points: &[Point]) -> Point {
        let n = points.len() as f32;
        points.iter().fold(Point::new(0.0, 0.0), |c, p| {
            Point::new(c.x + p.x / n, c.y + p.y / n)
        })
    }

    fn with_mouth() -> BlendOptions {
        BlendOptions {
            mouth: true,
            ..BlendOptions::default()
        }
    }

    #[test]
    fn the_mouth_mask_covers_the_lips_and_fades_out_over_its_feather() {
        let side = 128;
        let face = template_face(side);
        let mut blend = Blend::new(with_mouth(), side);
        blend.shape(&face);
        let p = face.points();
        let mouth = mean_of(face.part(crate::face::parts::INNER_LIP));
        let width = p[48].distance(p[54]);
        assert_eq!(blend.mouth_weight(mouth), 1.0, "the mouth itself");
        for corner in [p[48], p[54]] {
            assert_eq!(blend.mouth_weight(corner), 1.0, "the corners: {corner:?}");
        }
        let below = Point::new(p[57].x, p[57].y + 0.1 * width);
        assert_eq!(blend.mouth_weight(below), 1.0, "just below the lower lip");
        let above = Point::new(p[51].x, p[51].y - 0.03 * width);
        assert_eq!(blend.mouth_weight(above), 1.0, "just above the upper lip");
        for (name, far) in [("an eye", p[37]), ("the nose", p[30]), ("the chin", p[8])] {
            assert_eq!(blend.mouth_weight(far), 0.0, "{name}");
        }
        // Down from the lower lip the weight stays 1 a while, then falls to 0, gradually,
        // over the feather (the hull's lower edge is level there).
        let step = 0.25;
        let along: Vec<f32> = (0..120)
            .map(|k| blend.mouth_weight(Point::new(p[57].x, p[57].y + k as f32 * step)))
            .collect();
        assert!(along.windows(2).all(|w| w[1] <= w[0]), "{along:?}");
        let count = |keep: fn(f32) -> bool| along.iter().filter(|&&w| keep(w)).count() as f32;
        let (full, feathered) = (
            count(|w| w == 1.0) * step,
            count(|w| w > 0.0 && w < 1.0) * step,
        );
        let feather = MOUTH_FEATHER * side as f32;
        assert!(
            (feathered - feather).abs() <= 1.0,
            "{feathered} px of feather, {feather} expected"
        );
        assert!(
            (full - 0.15 * width).abs() <= 1.0,
            "full for {full} px below the lip, the mouth {width} px wide"
        );
    }

    #[test]
    fn with_the_mouth_mask_the_frame_keeps_its_mouth_and_without_it_nothing_changes() {
        let side = 64;
        let face = template_face(side);
        let frame = Rgb8::from_fn(200, 160, |x, y| Rgb([x as u8, y as u8, 77]));
        // The crop sits at (50, 40) in the frame, at half scale.
        let to_crop = Similarity {
            a: 0.5,
            b: 0.0,
            tx: -25.0,
            ty: -20.0,
        };
        let red = Rgb8::from_pixel(side, side, Rgb([255, 0, 0]));
        let crop = AlignedCrop::new(side, 0.1);
        let pasted = |options: BlendOptions| {
            let mut blend = Blend::new(options, side);
            blend.shape(&face);
            let mut out = frame.clone();
            blend.paste(&red, &crop, &to_crop, &mut out);
            (blend, out)
        };
        let (off, without) = pasted(BlendOptions::default());
        assert!(off.mouth.weights.is_empty(), "off, no mouth is drawn");
        let (on, with) = pasted(with_mouth());
        let (mut kept, mut feathered) = (0, 0);
        for (x, y, p) in with.enumerate_pixels() {
            let q = to_crop.apply(Point::new(x as f32, y as f32));
            assert_eq!(off.mouth_weight(q), 0.0);
            let (mouth, face) = (on.mouth_weight(q), on.weight(q));
            if mouth == 1.0 {
                kept += 1;
                assert_eq!(p, frame.get_pixel(x, y), "({x}, {y}) in the mouth");
                if face == 1.0 {
                    assert_eq!(without.get_pixel(x, y).0, [255, 0, 0], "without, swapped");
                }
            } else if mouth == 0.0 {
                // Catmull-Rom reaches a pixel past the mouth's edge: a level or two.
                let w = without.get_pixel(x, y);
                let off = (0..3).map(|c| p[c].abs_diff(w[c])).max().unwrap();
                assert!(off <= 2, "({x}, {y}) away from the mouth: {p:?} vs {w:?}");
            } else if face == 1.0 {
                feathered += 1;
                let r = i32::from(p[0]);
                let (lo, hi) = (i32::from(frame.get_pixel(x, y)[0]), 255);
                assert!(
                    r >= lo - 1 && r <= hi,
                    "({x}, {y}): {r} outside {lo}..={hi}"
                );
            }
        }
        assert!(
            kept > 40 && feathered > 40,
            "{kept} kept, {feathered} feathered"
        );
    }
}
