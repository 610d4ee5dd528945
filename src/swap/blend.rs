//! Putting a generated face back into the frame (face swap): a soft mask in the model's crop,
//! the generated face's colours matched to the face it replaces (optionally also a seamless,
//! Poisson, correction), and the blend through the inverse of the alignment. Pixels outside
//! the mask's footprint are never touched.
//!
//! The colours are matched on skin only: the landmarks' face without the eyes, brows and
//! mouth, where the mask shows it. Hair, background, teeth and eye whites would pull the
//! statistics away from the skin tone the face must meet at its edge.

use std::borrow::Cow;

use serde::Serialize;

use crate::face::{parts, AlignedCrop, FaceRegion, Landmarks};
use crate::frame::sample::Bordered;
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point, Similarity};
use crate::swap::lab::{lab_to_rgb, rgb_to_lab};

/// Which part of the generated crop replaces the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaskKind {
    /// The whole crop.
    Rect,
    /// The convex hull of the face's landmarks and its forehead.
    Hull,
    /// The hull, kept inside the crop (the default).
    #[default]
    HullRect,
}

impl MaskKind {
    pub fn next(self) -> MaskKind {
        match self {
            MaskKind::Rect => MaskKind::Hull,
            MaskKind::Hull => MaskKind::HullRect,
            MaskKind::HullRect => MaskKind::Rect,
        }
    }
}

/// How the generated face's colours are matched to the face it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMatch {
    None,
    /// Each channel's mean inside the mask moved to the original's (the book's adjustment).
    Mean,
    /// Reinhard colour transfer: mean and spread of each Lab channel matched.
    #[default]
    Rct,
}

impl ColorMatch {
    pub fn next(self) -> ColorMatch {
        match self {
            ColorMatch::None => ColorMatch::Mean,
            ColorMatch::Mean => ColorMatch::Rct,
            ColorMatch::Rct => ColorMatch::None,
        }
    }
}

/// Mask and colour settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BlendOptions {
    pub mask: MaskKind,
    /// The mask is shrunk by this share of the crop's side…
    pub erode: f32,
    /// …and fades in over this share, so the seam is soft.
    pub blur: f32,
    pub color: ColorMatch,
    /// Poisson blending: the generated face keeps its gradients and takes its edge values
    /// from the frame (after the colour match).
    pub seamless: bool,
    /// The target's fine detail from its keyframes, where the model's card keeps them
    /// ([`crate::swap::detail`]).
    pub detail: bool,
}

impl Default for BlendOptions {
    fn default() -> Self {
        Self {
            mask: MaskKind::HullRect,
            erode: 0.03,
            blur: 0.08,
            color: ColorMatch::Rct,
            seamless: false,
            detail: true,
        }
    }
}

/// The blend of one face, its mask worked out once per frame at the crop's size.
pub struct Blend {
    options: BlendOptions,
    side: u32,
    mask: Vec<f32>,
    /// The mask on skin only, on a lattice (pixel index, weight): what the colour match
    /// measures.
    skin: Vec<(usize, f32)>,
    /// The crop rectangle outside which the mask is zero.
    extent: (Point, Point),
    /// The generated face as the paste samples it, kept from frame to frame.
    paste_source: Bordered,
    /// The colour match of the last frames, per channel (scale, offset), followed smoothly so
    /// the face's tone does not flicker with the mask's edge or the light.
    colour: Option<[(f64, f64); 3]>,
}

/// The weight of the new frame's colour match against the last ones' (about a 3-frame
/// memory: fast enough for a light switched on, slow enough to stop flicker).
const COLOUR_FOLLOW: f64 = 0.35;
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

impl Blend {
    pub fn new(options: BlendOptions, side: u32) -> Blend {
        Blend {
            options,
            side,
            mask: vec![0.0; (side * side) as usize],
            skin: Vec::new(),
            extent: (Point::new(0.0, 0.0), Point::new(side as f32, side as f32)),
            paste_source: Bordered::default(),
            colour: None,
        }
    }

    pub fn options(&self) -> BlendOptions {
        self.options
    }

    pub fn set_options(&mut self, options: BlendOptions) {
        self.options = options;
        self.forget();
    }

    /// Forgets the last frames' colour match (the face was lost, or the options changed).
    pub fn forget(&mut self) {
        self.colour = None;
    }

    /// The mask for a face whose landmarks are `in_crop` (crop pixels): 0 outside, rising to 1
    /// over the blur width inside the eroded region.
    pub fn shape(&mut self, in_crop: &Landmarks) {
        let side = self.side as f32;
        let (erode, blur) = (
            self.options.erode * side,
            (self.options.blur * side).max(1e-3),
        );
        let kind = self.options.mask;
        let hull = match kind {
            MaskKind::Rect => None,
            MaskKind::Hull | MaskKind::HullRect => {
                Some(Depths::of(&FaceRegion::with_forehead(in_crop), self.side))
            }
        };
        for (i, value) in self.mask.iter_mut().enumerate() {
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
                let mask = self.mask[i];
                let p = Point::new(x as f32, y as f32);
                if mask > 0.0 && face.contains(p) && !features.iter().any(|f| f.covers(p)) {
                    self.skin.push((i, mask));
                }
            }
        }
    }

    /// The pixels the colour match measures and their weights: the skin, or the whole mask
    /// (on the same lattice) when too little skin shows.
    fn measured(&self) -> Cow<'_, [(usize, f32)]> {
        let skin: f64 = self.skin.iter().map(|&(_, w)| f64::from(w)).sum();
        if skin * (SKIN_STRIDE * SKIN_STRIDE) as f64 >= MIN_SKIN {
            return Cow::Borrowed(&self.skin);
        }
        let side = self.side as usize;
        (0..side)
            .step_by(SKIN_STRIDE)
            .flat_map(|y| (0..side).step_by(SKIN_STRIDE).map(move |x| y * side + x))
            .map(|i| (i, self.mask[i]))
            .filter(|&(_, w)| w > 0.0)
            .collect::<Vec<_>>()
            .into()
    }

    /// The smallest crop rectangle holding every pixel the mask weighs above zero.
    fn nonzero_extent(&self) -> (Point, Point) {
        let (mut lo, mut hi) = (Point::new(f32::MAX, f32::MAX), Point::new(-1.0, -1.0));
        for (i, _) in self.mask.iter().enumerate().filter(|(_, &m)| m > 0.0) {
            let (x, y) = ((i as u32 % self.side) as f32, (i as u32 / self.side) as f32);
            lo = Point::new(lo.x.min(x - 1.0), lo.y.min(y - 1.0));
            hi = Point::new(hi.x.max(x + 1.0), hi.y.max(y + 1.0));
        }
        (lo, hi)
    }

    /// The mask's weights, row-major at the crop's size.
    pub fn mask(&self) -> &[f32] {
        &self.mask
    }

    /// The mask at a crop point (bilinear; 0 outside the crop).
    pub fn weight(&self, p: Point) -> f32 {
        let max = (self.side - 1) as f32;
        if !(p.x >= 0.0 && p.y >= 0.0 && p.x <= max && p.y <= max) {
            return 0.0;
        }
        let (x0, y0) = (p.x.floor() as usize, p.y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(max as usize), (y0 + 1).min(max as usize));
        let (fx, fy) = (p.x - x0 as f32, p.y - y0 as f32);
        let at = |x: usize, y: usize| self.mask[y * self.side as usize + x];
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Matches `generated`'s colours to `original`'s (both crops) inside the mask.
    pub fn match_colors(&mut self, generated: &mut Rgb8, original: &Rgb8) {
        match self.options.color {
            ColorMatch::None => {}
            ColorMatch::Mean => self.transfer(generated, original, false),
            ColorMatch::Rct => self.transfer(generated, original, true),
        }
    }

    /// With `seamless`, solves Poisson's equation in the crop so the generated face keeps its
    /// own gradients but meets `original` where the mask ends: the correction added to it is
    /// the harmonic function that equals `original - generated` outside the mask. The
    /// correction is smooth, so it is solved on a grid of at most [`SEAMLESS_GRID`] cells a side
    /// and spread back bilinearly.
    pub fn make_seamless(&self, generated: &mut Rgb8, original: &Rgb8) {
        if !self.options.seamless {
            return;
        }
        let side = self.side as usize;
        let cell = side.div_ceil(SEAMLESS_GRID);
        let n = side.div_ceil(cell);
        // Each coarse cell: inside the mask (unknown) or outside it (fixed at the mean difference).
        let mut inside = vec![false; n * n];
        let mut correction = vec![[0f32; 3]; n * n];
        let mut counts = vec![0f32; n * n];
        for y in 0..side {
            for x in 0..side {
                let i = (y / cell) * n + x / cell;
                inside[i] |= self.mask[y * side + x] > 0.0;
                let (o, g) = (
                    original.get_pixel(x as u32, y as u32),
                    generated.get_pixel(x as u32, y as u32),
                );
                for c in 0..3 {
                    correction[i][c] += f32::from(o[c]) - f32::from(g[c]);
                }
                counts[i] += 1.0;
            }
        }
        for (value, count) in correction.iter_mut().zip(&counts) {
            *value = value.map(|v| v / count.max(1.0));
        }
        solve_laplace(&mut correction, &inside, n);
        self.add_correction(generated, &correction, n, cell);
    }

    /// Adds the coarse correction, interpolated bilinearly between cell centres, to the
    /// generated face wherever the mask weighs it.
    fn add_correction(&self, generated: &mut Rgb8, correction: &[[f32; 3]], n: usize, cell: usize) {
        let side = self.side as usize;
        let at = |x: usize, y: usize| correction[y.min(n - 1) * n + x.min(n - 1)];
        for (i, p) in generated.pixels_mut().enumerate() {
            if self.mask[i] <= 0.0 {
                continue;
            }
            let centre = |v: usize| ((v as f32 + 0.5) / cell as f32 - 0.5).max(0.0);
            let (gx, gy) = (centre(i % side), centre(i / side));
            let (x0, y0) = (gx as usize, gy as usize);
            let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
            for c in 0..3 {
                let top = at(x0, y0)[c] * (1.0 - fx) + at(x0 + 1, y0)[c] * fx;
                let bottom = at(x0, y0 + 1)[c] * (1.0 - fx) + at(x0 + 1, y0 + 1)[c] * fx;
                let v = f32::from(p[c]) + top * (1.0 - fy) + bottom * fy;
                p[c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }

    /// Moves each channel's mean on the skin (and with `lab`, its spread, in Lab) to the
    /// original's, through a per-channel scale and offset that follow the last frames'
    /// smoothly.
    fn transfer(&mut self, generated: &mut Rgb8, original: &Rgb8, lab: bool) {
        let convert = |p: &[u8]| match lab {
            true => rgb_to_lab([p[0], p[1], p[2]]),
            false => [p[0], p[1], p[2]].map(f32::from),
        };
        let measured = self.measured();
        let stats = |image: &Rgb8| {
            let (mut sum, mut sq, mut weight) = ([0f64; 3], [0f64; 3], 0f64);
            let pixels = image.as_raw();
            for &(i, w) in measured.iter() {
                let v = convert(&pixels[3 * i..3 * i + 3]);
                for c in 0..3 {
                    sum[c] += f64::from(w * v[c]);
                    sq[c] += f64::from(w * v[c] * v[c]);
                }
                weight += f64::from(w);
            }
            let w = weight.max(1e-6);
            let mean = sum.map(|s| s / w);
            let spread: [f64; 3] =
                std::array::from_fn(|c| (sq[c] / w - mean[c] * mean[c]).max(0.0).sqrt());
            (mean, spread, weight)
        };
        let (gm, gs, weight) = stats(generated);
        if weight < 1.0 {
            return; // nothing masked: nothing to match
        }
        let (om, os, _) = stats(original);
        let now: [(f64, f64); 3] = std::array::from_fn(|c| {
            let scale = match lab {
                true => (os[c] / gs[c].max(1e-3)).min(4.0),
                false => 1.0,
            };
            (scale, om[c] - gm[c] * scale)
        });
        let colour = match self.colour {
            Some(last) => std::array::from_fn(|c| {
                let follow = |a: f64, b: f64| a + COLOUR_FOLLOW * (b - a);
                (follow(last[c].0, now[c].0), follow(last[c].1, now[c].1))
            }),
            None => now,
        };
        self.colour = Some(colour);
        // Only what is pasted, unless the seamless correction reads the rest.
        let everywhere = self.options.seamless;
        for (p, &m) in generated.pixels_mut().zip(&self.mask) {
            if m <= 0.0 && !everywhere {
                continue;
            }
            let v = convert(&p.0);
            let moved: [f32; 3] = std::array::from_fn(|c| {
                let (scale, offset) = colour[c];
                (f64::from(v[c]) * scale + offset) as f32
            });
            p.0 = match lab {
                true => lab_to_rgb(moved),
                false => moved.map(|v| v.round().clamp(0.0, 255.0) as u8),
            };
        }
    }

    /// Blends the generated crop into `frame` through the inverse of `to_crop`, weighted by
    /// the mask.
    pub fn paste(
        &mut self,
        generated: &Rgb8,
        crop: &AlignedCrop,
        to_crop: &Similarity,
        frame: &mut Rgb8,
    ) {
        if self.extent.0.x > self.extent.1.x {
            return; // an empty mask
        }
        let source = &mut self.paste_source;
        crop.unwarp_within(
            generated,
            to_crop,
            frame,
            self.extent,
            Some(&self.mask),
            source,
        );
    }
}

/// The side of the grid the seamless correction is solved on, at most.
pub const SEAMLESS_GRID: usize = 64;

/// Makes `values` harmonic where `inside` (Laplace's equation, the fixed cells outside as the
/// boundary) by successive over-relaxation, starting from the boundary's mean. Cells on the
/// grid's edge count as boundary even when inside, so the crop's border holds the frame.
fn solve_laplace(values: &mut [[f32; 3]], inside: &[bool], n: usize) {
    let interior = |i: usize| {
        let (x, y) = (i % n, i / n);
        inside[i] && x > 0 && x < n - 1 && y > 0 && y < n - 1
    };
    let boundary: Vec<usize> = (0..n * n).filter(|&i| !interior(i)).collect();
    let unknowns: Vec<usize> = (0..n * n).filter(|&i| interior(i)).collect();
    if unknowns.is_empty() || boundary.is_empty() {
        return;
    }
    let mut mean = [0f32; 3];
    for &i in &boundary {
        for c in 0..3 {
            mean[c] += values[i][c] / boundary.len() as f32;
        }
    }
    for &i in &unknowns {
        values[i] = mean;
    }
    // The optimal over-relaxation for a square grid of side n.
    let omega = 2.0 / (1.0 + (std::f32::consts::PI / n as f32).sin());
    for _ in 0..2 * n {
        for &i in &unknowns {
            let (l, r, u, d) = (values[i - 1], values[i + 1], values[i - n], values[i + n]);
            for c in 0..3 {
                let average = (l[c] + r[c] + u[c] + d[c]) / 4.0;
                values[i][c] += omega * (average - values[i][c]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn square_face(side: f32) -> Landmarks {
        // 68 points around a square in the middle of the crop.
        let points: Vec<Point> = (0..68)
            .map(|i| {
                let t = i as f32 / 68.0 * 4.0;
                let (lo, hi) = (side * 0.25, side * 0.75);
                let k = t.fract() * (hi - lo);
                match t as u32 {
                    0 => Point::new(lo + k, lo),
                    1 => Point::new(hi, lo + k),
                    2 => Point::new(hi - k, hi),
                    _ => Point::new(lo, hi - k),
                }
            })
            .collect();
        Landmarks::from_slice(&points).unwrap()
    }

    #[test]
    fn the_mask_is_bounded_and_soft_inside_the_hull() {
        let mut blend = Blend::new(BlendOptions::default(), 64);
        blend.shape(&square_face(64.0));
        assert!(blend.mask.iter().all(|&m| (0.0..=1.0).contains(&m)));
        assert_eq!(
            blend.weight(Point::new(32.0, 32.0)),
            1.0,
            "full in the middle"
        );
        assert_eq!(
            blend.weight(Point::new(5.0, 5.0)),
            0.0,
            "nothing outside the hull"
        );
        let edge = blend.weight(Point::new(17.0 + 64.0 * 0.03 + 1.0, 32.0));
        assert!(edge > 0.0 && edge < 1.0, "soft near the edge: {edge}");
    }

    #[test]
    fn pasting_leaves_pixels_outside_the_mask_untouched() {
        let mut blend = Blend::new(BlendOptions::default(), 64);
        blend.shape(&square_face(64.0));
        let frame = Rgb8::from_fn(200, 160, |x, y| Rgb([x as u8, y as u8, 77]));
        let mut out = frame.clone();
        let crop = AlignedCrop::new(64, 0.1);
        // The crop sits at (50, 40) in the frame, at half scale.
        let to_crop = Similarity {
            a: 0.5,
            b: 0.0,
            tx: -25.0,
            ty: -20.0,
        };
        blend.paste(
            &Rgb8::from_pixel(64, 64, Rgb([255, 0, 0])),
            &crop,
            &to_crop,
            &mut out,
        );
        let mut changed = 0;
        for (x, y, p) in out.enumerate_pixels() {
            let q = to_crop.apply(Point::new(x as f32, y as f32));
            if blend.weight(q) == 0.0 {
                assert_eq!(
                    p,
                    frame.get_pixel(x, y),
                    "({x}, {y}) outside the mask changed"
                );
            } else {
                changed += 1;
            }
        }
        assert!(changed > 500);
        assert_eq!(
            out.get_pixel(114, 104).0,
            [255, 0, 0],
            "the crop's centre is the face"
        );
    }

    #[test]
    fn colour_transfer_moves_the_generated_face_to_the_original_tone() {
        let mut blend = Blend::new(BlendOptions::default(), 32);
        blend.shape(&square_face(32.0));
        let original = Rgb8::from_fn(32, 32, |x, _| Rgb([150 + (x % 4) as u8, 100, 80]));
        for color in [ColorMatch::Mean, ColorMatch::Rct] {
            blend.set_options(BlendOptions {
                color,
                ..BlendOptions::default()
            });
            let mut generated = Rgb8::from_fn(32, 32, |x, _| Rgb([60 + (x % 4) as u8, 120, 160]));
            blend.match_colors(&mut generated, &original);
            let p = generated.get_pixel(16, 16).0;
            assert!((i32::from(p[0]) - 151).abs() <= 3, "{color:?}: {p:?}");
            assert!((i32::from(p[2]) - 80).abs() <= 3, "{color:?}: {p:?}");
        }
    }

    #[test]
    fn the_colour_match_follows_a_change_of_tone_over_a_few_frames() {
        let mut blend = Blend::new(BlendOptions::default(), 32);
        blend.shape(&square_face(32.0));
        let tone = |r: u8| Rgb8::from_fn(32, 32, |x, _| Rgb([r + (x % 4) as u8, 100, 80]));
        let generated = || Rgb8::from_fn(32, 32, |x, _| Rgb([60 + (x % 4) as u8, 120, 160]));
        let red_after = |blend: &mut Blend, r: u8| {
            let mut g = generated();
            blend.match_colors(&mut g, &tone(r));
            i32::from(g.get_pixel(16, 16)[0])
        };
        assert!((red_after(&mut blend, 150) - 151).abs() <= 3);
        // The light changes: the next frame moves part of the way, later ones the rest.
        let first = red_after(&mut blend, 200);
        assert!(first > 160 && first < 190, "one frame after: {first}");
        let later = (0..12).map(|_| red_after(&mut blend, 200)).last().unwrap();
        assert!((later - 201).abs() <= 3, "a dozen frames after: {later}");
        // A lost face starts afresh.
        blend.forget();
        assert!((red_after(&mut blend, 150) - 151).abs() <= 3);
    }

    #[test]
    fn seamless_keeps_the_faces_detail_and_meets_the_frame_at_the_edge() {
        let side = 64;
        let options = BlendOptions {
            seamless: true,
            color: ColorMatch::None,
            ..BlendOptions::default()
        };
        let mut blend = Blend::new(options, side);
        blend.shape(&square_face(side as f32));
        // A frame with a brightness ramp, a generated face of another tone with a stripe.
        let original = Rgb8::from_fn(side, side, |x, _| Rgb([100 + x as u8, 90, 80]));
        let stripe = |x: u32| if x == 32 { 40 } else { 0 };
        let mut generated = Rgb8::from_fn(side, side, |x, _| Rgb([200 + stripe(x), 20, 20]));
        blend.make_seamless(&mut generated, &original);
        // Just inside the mask's edge the face has the frame's values…
        let edge = blend.extent.0.x as u32 + 2;
        let (g, o) = (
            generated.get_pixel(edge, 32).0,
            original.get_pixel(edge, 32).0,
        );
        for c in 0..3 {
            assert!(
                (i32::from(g[c]) - i32::from(o[c])).abs() <= 8,
                "{g:?} vs {o:?}"
            );
        }
        // …and inside it keeps its own detail: the stripe stands out from its neighbours.
        let (s, n) = (
            generated.get_pixel(32, 32).0[0],
            generated.get_pixel(30, 32).0[0],
        );
        assert!(i32::from(s) - i32::from(n) >= 35, "stripe {s} vs {n}");
        // The smooth ramp of the frame is followed: the middle is between the two edges.
        let (left, mid) = (
            generated.get_pixel(24, 40).0[0],
            generated.get_pixel(31, 40).0[0],
        );
        assert!(mid > left, "{left} → {mid}");
    }
}
