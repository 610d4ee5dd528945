//! The blend's mask: where, at the crop's size, the generated face replaces the frame and how
//! softly its edge fades, and the skin inside it that the colour match measures (the face
//! without the eyes, brows and mouth: hair, background, teeth and eye whites would pull the
//! statistics away from the skin tone the face must meet at its edge).

use std::borrow::Cow;

use super::{BlendOptions, MaskKind};
use crate::face::{parts, FaceRegion, Landmarks};
use crate::geometry::{FaceBox, Point};

/// Eyes, brows and mouth are kept out of the colour statistics with this share of the crop's
/// side around them (lids, lips).
const FEATURE_MARGIN: f32 = 0.03;
/// Fewer skin weights than this (a face mostly hidden) and the whole mask is measured.
const MIN_SKIN: f64 = 16.0;
/// The colour statistics are taken on every this-many-th pixel each way: a mean over a
/// quarter of the face's pixels is the same mean, at a quarter of the cost.
const SKIN_STRIDE: usize = 2;
/// The mask's depth into the face is worked out on a grid this many pixels apart and
/// interpolated between: a distance to a convex outline is smooth (linear along each edge),
/// so the feathered edge hardly moves, and the crop's size no longer sets the cost.
const DEPTH_GRID: u32 = 4;

/// A hull's depth ([`FaceRegion::depth`]) at the nodes of a [`DEPTH_GRID`] over a crop.
struct Depths {
    nodes: usize,
    depth: Vec<f32>,
}

impl Depths {
    fn of(hull: &FaceRegion, side: u32) -> Depths {
        let nodes = ((side.saturating_sub(1)) / DEPTH_GRID + 2) as usize;
        let depth = (0..nodes * nodes)
            .map(|k| {
                let (i, j) = ((k % nodes) as u32, (k / nodes) as u32);
                hull.depth(Point::new((i * DEPTH_GRID) as f32, (j * DEPTH_GRID) as f32))
            })
            .collect();
        Depths { nodes, depth }
    }

    /// The depth at crop pixel (x, y), bilinear between the nodes.
    fn at(&self, x: u32, y: u32) -> f32 {
        let (i, j) = ((x / DEPTH_GRID) as usize, (y / DEPTH_GRID) as usize);
        let (fx, fy) = (
            (x % DEPTH_GRID) as f32 / DEPTH_GRID as f32,
            (y % DEPTH_GRID) as f32 / DEPTH_GRID as f32,
        );
        let at = |i: usize, j: usize| self.depth[j * self.nodes + i];
        let top = at(i, j) * (1.0 - fx) + at(i + 1, j) * fx;
        let bottom = at(i, j + 1) * (1.0 - fx) + at(i + 1, j + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// A facial feature as the skin mask leaves it out: its hull grown by a margin, with a box
/// around it to skip the far pixels cheaply.
struct Feature {
    hull: FaceRegion,
    margin: f32,
    lo: Point,
    hi: Point,
}

impl Feature {
    fn around(points: &[Point], margin: f32) -> Feature {
        let b = FaceBox::around(points);
        Feature {
            hull: FaceRegion::around(points),
            margin,
            lo: Point::new(b.left - margin, b.top - margin),
            hi: Point::new(b.right + margin, b.bottom + margin),
        }
    }

    fn covers(&self, p: Point) -> bool {
        let in_box = p.x >= self.lo.x && p.x <= self.hi.x && p.y >= self.lo.y && p.y <= self.hi.y;
        in_box && self.hull.depth(p) > -self.margin
    }
}

/// The mask of one face at the crop's size, worked out once per frame.
pub(super) struct Mask {
    side: u32,
    /// The weights, row-major.
    pub(super) weights: Vec<f32>,
    /// The mask on skin only, on a lattice (pixel index, weight): what the colour match
    /// measures.
    skin: Vec<(usize, f32)>,
    /// The crop rectangle outside which the mask is zero.
    pub(super) extent: (Point, Point),
}

impl Mask {
    pub(super) fn new(side: u32) -> Mask {
        Mask {
            side,
            weights: vec![0.0; (side * side) as usize],
            skin: Vec::new(),
            extent: (Point::new(0.0, 0.0), Point::new(side as f32, side as f32)),
        }
    }

    /// The side of the crop.
    pub(super) fn side(&self) -> u32 {
        self.side
    }

    /// The mask for a face whose landmarks are `in_crop` (crop pixels): 0 outside, rising to 1
    /// over the blur width inside the eroded region.
    pub(super) fn shape(&mut self, in_crop: &Landmarks, options: &BlendOptions) {
        let side = self.side as f32;
        let (erode, blur) = (options.erode * side, (options.blur * side).max(1e-3));
        let kind = options.mask;
        let hull = match kind {
            MaskKind::Rect => None,
            MaskKind::Hull | MaskKind::HullRect => {
                Some(Depths::of(&FaceRegion::with_forehead(in_crop), self.side))
            }
        };
        for (i, value) in self.weights.iter_mut().enumerate() {
            let (x, y) = (i as u32 % self.side, i as u32 / self.side);
            let (px, py) = (x as f32, y as f32);
            let edge = px.min(py).min(side - 1.0 - px).min(side - 1.0 - py);
            let depth = match (kind, &hull) {
                (MaskKind::Hull, Some(hull)) => hull.at(x, y),
                (MaskKind::HullRect, Some(hull)) => hull.at(x, y).min(edge),
                _ => edge,
            };
            *value = ((depth - erode) / blur).clamp(0.0, 1.0);
        }
        self.extent = self.nonzero_extent();
        self.shape_skin(in_crop);
    }

    /// The skin weights, on every [`SKIN_STRIDE`]-th pixel each way (they only feed means):
    /// the mask inside the landmarks' hull, away from the eyes, brows and mouth (grown by
    /// [`FEATURE_MARGIN`] of the crop's side).
    fn shape_skin(&mut self, in_crop: &Landmarks) {
        let side = self.side as f32;
        let margin = FEATURE_MARGIN * side;
        let face = FaceRegion::of(in_crop);
        let features = [
            parts::RIGHT_BROW,
            parts::LEFT_BROW,
            parts::RIGHT_EYE,
            parts::LEFT_EYE,
            parts::OUTER_LIP,
        ]
        .map(|range| Feature::around(in_crop.part(range), margin));
        self.skin.clear();
        for y in (0..self.side).step_by(SKIN_STRIDE) {
            for x in (0..self.side).step_by(SKIN_STRIDE) {
                let i = (y * self.side + x) as usize;
                let mask = self.weights[i];
                let p = Point::new(x as f32, y as f32);
                if mask > 0.0 && face.contains(p) && !features.iter().any(|f| f.covers(p)) {
                    self.skin.push((i, mask));
                }
            }
        }
    }

    /// The pixels the colour match measures and their weights: the skin, or the whole mask
    /// (on the same lattice) when too little skin shows.
    pub(super) fn measured(&self) -> Cow<'_, [(usize, f32)]> {
        let skin: f64 = self.skin.iter().map(|&(_, w)| f64::from(w)).sum();
        if skin * (SKIN_STRIDE * SKIN_STRIDE) as f64 >= MIN_SKIN {
            return Cow::Borrowed(&self.skin);
        }
        let side = self.side as usize;
        (0..side)
            .step_by(SKIN_STRIDE)
            .flat_map(|y| (0..side).step_by(SKIN_STRIDE).map(move |x| y * side + x))
            .map(|i| (i, self.weights[i]))
            .filter(|&(_, w)| w > 0.0)
            .collect::<Vec<_>>()
            .into()
    }

    /// The smallest crop rectangle holding every pixel the mask weighs above zero.
    fn nonzero_extent(&self) -> (Point, Point) {
        let (mut lo, mut hi) = (Point::new(f32::MAX, f32::MAX), Point::new(-1.0, -1.0));
        for (i, _) in self.weights.iter().enumerate().filter(|(_, &m)| m > 0.0) {
            let (x, y) = ((i as u32 % self.side) as f32, (i as u32 / self.side) as f32);
            lo = Point::new(lo.x.min(x - 1.0), lo.y.min(y - 1.0));
            hi = Point::new(hi.x.max(x + 1.0), hi.y.max(y + 1.0));
        }
        (lo, hi)
    }

    /// The mask at a crop point (bilinear; 0 outside the crop).
    pub(super) fn weight(&self, p: Point) -> f32 {
        sample(&self.weights, self.side, p)
    }
}

/// Weights kept row-major at a crop of `side` pixels, at a crop point (bilinear; 0 outside the
/// crop).
pub(super) fn sample(weights: &[f32], side: u32, p: Point) -> f32 {
    let max = (side - 1) as f32;
    if !(p.x >= 0.0 && p.y >= 0.0 && p.x <= max && p.y <= max) {
        return 0.0;
    }
    let (x0, y0) = (p.x.floor() as usize, p.y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(max as usize), (y0 + 1).min(max as usize));
    let (fx, fy) = (p.x - x0 as f32, p.y - y0 as f32);
    let at = |x: usize, y: usize| weights[y * side as usize + x];
    let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}
