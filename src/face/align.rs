//! Similarity alignment of a face to the mean-face template, and the warps between a frame
//! and its aligned crop.
//!
//! The transform is the least-squares similarity (rotation, uniform scale, translation) that
//! takes the inner-face landmarks (points 17–67: brows, nose, eyes, mouth; the jaw is left out
//! because it moves with the mouth) onto the template. For 2-D points this closed form is what
//! Umeyama's method gives when no reflection is allowed.

use image::Rgb;

use super::landmarks::{parts, Landmarks, Point};
use crate::frame::Rgb8;

/// The mean face for landmarks 17–67 in a unit square: the template used by the deepfakes
/// face-swap lineage (faceswap's `landmarks_2D`, also in the book's chapter), x then y.
pub const TEMPLATE: [[f32; 2]; 51] = [
    [0.000213256, 0.106454],
    [0.0752622, 0.038915],
    [0.18113, 0.0187482],
    [0.29077, 0.0344891],
    [0.393397, 0.0773906],
    [0.586856, 0.0773906],
    [0.689483, 0.0344891],
    [0.799124, 0.0187482],
    [0.904991, 0.038915],
    [0.98004, 0.106454],
    [0.490127, 0.203352],
    [0.490127, 0.307009],
    [0.490127, 0.409805],
    [0.490127, 0.515625],
    [0.36688, 0.587326],
    [0.426036, 0.609345],
    [0.490127, 0.628106],
    [0.554217, 0.609345],
    [0.613373, 0.587326],
    [0.121737, 0.216423],
    [0.187122, 0.178758],
    [0.265825, 0.179852],
    [0.334606, 0.231733],
    [0.260918, 0.245099],
    [0.182743, 0.244077],
    [0.645647, 0.231733],
    [0.714428, 0.179852],
    [0.793132, 0.178758],
    [0.858516, 0.216423],
    [0.79751, 0.244077],
    [0.719335, 0.245099],
    [0.254149, 0.780233],
    [0.340985, 0.745405],
    [0.428858, 0.727388],
    [0.490127, 0.742578],
    [0.551395, 0.727388],
    [0.639268, 0.745405],
    [0.726104, 0.780233],
    [0.642159, 0.864805],
    [0.556721, 0.902192],
    [0.490127, 0.909281],
    [0.423532, 0.902192],
    [0.338094, 0.864805],
    [0.290379, 0.784792],
    [0.428096, 0.778746],
    [0.490127, 0.785343],
    [0.552157, 0.778746],
    [0.689874, 0.784792],
    [0.553364, 0.824182],
    [0.490127, 0.831803],
    [0.42689, 0.824182],
];

/// A similarity transform `p' = [a -b; b a] p + t`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub const IDENTITY: Similarity = Similarity {
        a: 1.0,
        b: 0.0,
        tx: 0.0,
        ty: 0.0,
    };

    /// The least-squares similarity taking `src` onto `dst` (same length, at least 2 points
    /// that are not all equal); `None` when the points are degenerate.
    pub fn estimate(src: &[Point], dst: &[Point]) -> Option<Similarity> {
        if src.len() != dst.len() || src.len() < 2 {
            return None;
        }
        let n = src.len() as f64;
        let mean = |pts: &[Point]| {
            let (sx, sy) = pts.iter().fold((0.0, 0.0), |(sx, sy), p| {
                (sx + f64::from(p.x), sy + f64::from(p.y))
            });
            (sx / n, sy / n)
        };
        let (mx, my) = mean(src);
        let (nx, ny) = mean(dst);
        let (mut dot, mut cross, mut norm) = (0.0f64, 0.0f64, 0.0f64);
        for (p, q) in src.iter().zip(dst) {
            let (x, y) = (f64::from(p.x) - mx, f64::from(p.y) - my);
            let (u, v) = (f64::from(q.x) - nx, f64::from(q.y) - ny);
            dot += x * u + y * v;
            cross += x * v - y * u;
            norm += x * x + y * y;
        }
        if norm < 1e-12 {
            return None;
        }
        let (a, b) = (dot / norm, cross / norm);
        Some(Similarity {
            a: a as f32,
            b: b as f32,
            tx: (nx - (a * mx - b * my)) as f32,
            ty: (ny - (b * mx + a * my)) as f32,
        })
    }

    pub fn apply(&self, p: Point) -> Point {
        Point::new(
            self.a * p.x - self.b * p.y + self.tx,
            self.b * p.x + self.a * p.y + self.ty,
        )
    }

    /// `self ∘ first`: `first` applied, then `self`.
    pub fn after(&self, first: &Similarity) -> Similarity {
        Similarity {
            a: self.a * first.a - self.b * first.b,
            b: self.a * first.b + self.b * first.a,
            tx: self.a * first.tx - self.b * first.ty + self.tx,
            ty: self.b * first.tx + self.a * first.ty + self.ty,
        }
    }

    /// The exact inverse (a similarity is always invertible unless its scale is zero).
    pub fn inverse(&self) -> Similarity {
        let s = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / s, -self.b / s);
        Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }

    /// The uniform scale factor.
    pub fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }

    /// `image` moved by this transform into a `width` × `height` picture (bilinear; what
    /// falls outside `image` is black).
    pub fn warp(&self, image: &Rgb8, width: u32, height: u32) -> Rgb8 {
        let mut out = Rgb8::new(width, height);
        self.warp_into(image, &mut out);
        out
    }

    /// [`Self::warp`] into a picture that already has the output's size (the live path reuses
    /// one each frame).
    pub fn warp_into(&self, image: &Rgb8, out: &mut Rgb8) {
        let to_image = self.inverse();
        let sampler = Sampler::new(image);
        let width = out.width() as usize;
        for (y, row) in out.as_mut().chunks_exact_mut(3 * width.max(1)).enumerate() {
            // Along a row the source point moves by a constant step.
            let mut p = to_image.apply(Point::new(0.0, y as f32));
            for pixel in row.chunks_exact_mut(3) {
                let colour = match sampler.contains(p.x, p.y) {
                    true => sampler.clamped(p.x, p.y),
                    false => [0, 0, 0],
                };
                pixel.copy_from_slice(&colour);
                p = Point::new(p.x + to_image.a, p.y + to_image.b);
            }
        }
    }
}

/// A square crop of a face aligned to [`TEMPLATE`]: the template fills the crop less
/// `padding` (a fraction of `size`) on every side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlignedCrop {
    pub size: u32,
    pub padding: f32,
}

impl AlignedCrop {
    pub fn new(size: u32, padding: f32) -> Self {
        Self { size, padding }
    }

    /// The template points in crop pixels.
    pub fn template_points(&self) -> Vec<Point> {
        let side = self.size as f32;
        let inner = side * (1.0 - 2.0 * self.padding);
        let offset = side * self.padding;
        TEMPLATE
            .iter()
            .map(|[x, y]| Point::new(offset + x * inner, offset + y * inner))
            .collect()
    }

    /// The transform from frame pixels to crop pixels for a face; `None` for a degenerate face.
    pub fn transform(&self, landmarks: &Landmarks) -> Option<Similarity> {
        Similarity::estimate(landmarks.part(parts::INNER_FACE), &self.template_points())
    }

    /// The aligned crop of `frame` under `to_crop` (bilinear; outside the frame is black).
    pub fn warp(&self, frame: &Rgb8, to_crop: &Similarity) -> Rgb8 {
        to_crop.warp(frame, self.size, self.size)
    }

    /// Writes `crop` back into `frame` under the inverse of `to_crop` (Catmull-Rom), blending
    /// each frame pixel by the `mask` weight (row-major at the crop's size, 0 to 1: 1 takes
    /// the crop; `None`: all 1) at its crop point. Only the crop's footprint in the frame is
    /// visited.
    pub fn unwarp_into(
        &self,
        crop: &Rgb8,
        to_crop: &Similarity,
        frame: &mut Rgb8,
        mask: Option<&[f32]>,
    ) {
        let s = self.size as f32;
        let whole = (Point::new(0.0, 0.0), Point::new(s, s));
        let mut source = Bordered::default();
        self.unwarp_within(crop, to_crop, frame, whole, mask, &mut source);
    }

    /// [`Self::unwarp_into`] for the part of the crop inside the rectangle `within` (crop
    /// pixels, corners low and high): a mask that is zero outside it need not be visited.
    /// `source` is the crop's sampling buffer, kept by the caller from frame to frame.
    pub(crate) fn unwarp_within(
        &self,
        crop: &Rgb8,
        to_crop: &Similarity,
        frame: &mut Rgb8,
        within: (Point, Point),
        mask: Option<&[f32]>,
        source: &mut Bordered,
    ) {
        let (w, h) = frame.dimensions();
        let Some((x0, y0, x1, y1)) = footprint(to_crop, within, w, h) else {
            return;
        };
        // The crop is enlarged into the frame by Catmull-Rom: bilinear enlarging takes half
        // the face's fine detail (variance of the Laplacian) with it, and sampling a
        // Catmull-Rom doubling of the crop bilinearly, faster, took 13 % (`eval swap`'s
        // sharpness ratio 0.60 → 0.52). The mask is sampled with the colour.
        source.fill(crop, mask);
        let max = (crop.width() as f32 - 1.0, crop.height() as f32 - 1.0);
        let stride = 3 * w as usize;
        let rows = frame.as_mut()[y0 as usize * stride..y1 as usize * stride].chunks_mut(stride);
        for (y, row) in (y0..y1).zip(rows) {
            // Along a row the crop point moves by a constant step.
            let mut q = to_crop.apply(Point::new(x0 as f32, y as f32));
            for dst in row[3 * x0 as usize..3 * x1 as usize].chunks_exact_mut(3) {
                let here = q;
                q = Point::new(q.x + to_crop.a, q.y + to_crop.b);
                if !(here.x >= 0.0 && here.y >= 0.0 && here.x <= max.0 && here.y <= max.1) {
                    continue;
                }
                // The weight first, bilinearly: a fifth of the footprint lies outside the
                // mask, and there the colour is not needed.
                if source.weight(here.x, here.y) <= 0.0 {
                    continue; // outside the mask: the frame keeps its pixel
                }
                let src = source.cubic(here.x, here.y);
                let alpha = src[3].clamp(0.0, 1.0);
                for c in 0..3 {
                    let v = src[c] * alpha + f32::from(dst[c]) * (1.0 - alpha);
                    dst[c] = (v + 0.5).clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

/// The frame pixel rectangle `[x0, x1) × [y0, y1)` covered by the crop rectangle `within`.
fn footprint(
    to_crop: &Similarity,
    (lo, hi): (Point, Point),
    w: u32,
    h: u32,
) -> Option<(u32, u32, u32, u32)> {
    let to_frame = to_crop.inverse();
    let corners = [(lo.x, lo.y), (hi.x, lo.y), (lo.x, hi.y), (hi.x, hi.y)]
        .map(|(x, y)| to_frame.apply(Point::new(x, y)));
    let (mut a, mut b) = (corners[0], corners[0]);
    for c in &corners[1..] {
        a = Point::new(a.x.min(c.x), a.y.min(c.y));
        b = Point::new(b.x.max(c.x), b.y.max(c.y));
    }
    let x0 = a.x.floor().max(0.0) as u32;
    let y0 = a.y.floor().max(0.0) as u32;
    let x1 = (b.x.ceil().max(0.0) as u32).min(w);
    let y1 = (b.y.ceil().max(0.0) as u32).min(h);
    (x0 < x1 && y0 < y1).then_some((x0, y0, x1, y1))
}

/// Sampling of an RGB picture's raw pixels, bilinear or Catmull-Rom: the one sampler the
/// alignment, the swap trainer's warps and the face mesh share.
pub(crate) struct Sampler<'a> {
    pixels: &'a [u8],
    width: usize,
    max: (f32, f32),
}

impl<'a> Sampler<'a> {
    pub(crate) fn new(image: &'a Rgb8) -> Sampler<'a> {
        let (w, h) = image.dimensions();
        Sampler {
            pixels: image.as_raw(),
            width: w as usize,
            max: (w.saturating_sub(1) as f32, h.saturating_sub(1) as f32),
        }
    }

    /// Whether (x, y) lies on the picture (between its first and last pixel centres).
    pub(crate) fn contains(&self, x: f32, y: f32) -> bool {
        x >= 0.0 && y >= 0.0 && x <= self.max.0 && y <= self.max.1
    }

    /// The colour at (x, y), the point first clamped onto the picture.
    pub(crate) fn clamped(&self, x: f32, y: f32) -> [u8; 3] {
        let (x, y) = (x.clamp(0.0, self.max.0), y.clamp(0.0, self.max.1));
        let (x0, y0) = (x as usize, y as usize);
        let x1 = (x0 + 1).min(self.max.0 as usize);
        let y1 = (y0 + 1).min(self.max.1 as usize);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let corner = |x: usize, y: usize| 3 * (y * self.width + x);
        let (i00, i10, i01, i11) = (
            corner(x0, y0),
            corner(x1, y0),
            corner(x0, y1),
            corner(x1, y1),
        );
        let weights = [
            (1.0 - fx) * (1.0 - fy),
            fx * (1.0 - fy),
            (1.0 - fx) * fy,
            fx * fy,
        ];
        let p = self.pixels;
        std::array::from_fn(|c| {
            let v = f32::from(p[i00 + c]) * weights[0]
                + f32::from(p[i10 + c]) * weights[1]
                + f32::from(p[i01 + c]) * weights[2]
                + f32::from(p[i11 + c]) * weights[3];
            // Non-negative, so adding a half and truncating rounds.
            (v + 0.5) as u8
        })
    }

    /// The colour at (x, y) by Catmull-Rom interpolation over the 4 × 4 pixels around it (the
    /// picture's edge repeated), the point first clamped onto the picture. Sharper than
    /// bilinear: a picture moved by half a pixel keeps its fine detail.
    pub(crate) fn cubic(&self, x: f32, y: f32) -> [u8; 3] {
        let (x, y) = (x.clamp(0.0, self.max.0), y.clamp(0.0, self.max.1));
        // Truncation is the floor here (the point is on the picture), and a cast is an
        // instruction where `floor` is a call on baseline x86-64.
        let (x0, y0) = ((x as u32) as f32, (y as u32) as f32);
        let (wx, wy) = (catmull_rom(x - x0), catmull_rom(y - y0));
        let column = |i: i32| (x0 as i32 + i).clamp(0, self.max.0 as i32) as usize;
        let row = |j: i32| (y0 as i32 + j).clamp(0, self.max.1 as i32) as usize;
        let columns = [column(-1), column(0), column(1), column(2)];
        let mut sum = [0f32; 3];
        for (j, wy) in (-1..=2).zip(wy) {
            let start = row(j) * self.width;
            for (&cx, wx) in columns.iter().zip(wx) {
                let i = 3 * (start + cx);
                let w = wx * wy;
                for (s, v) in sum.iter_mut().zip(&self.pixels[i..i + 3]) {
                    *s += f32::from(*v) * w;
                }
            }
        }
        sum.map(|v| (v + 0.5).clamp(0.0, 255.0) as u8)
    }
}

/// A picture in floats, four lanes a pixel (the fourth a weight) and its edge repeated
/// [`BORDER`] pixels out, for sampling many points of it by Catmull-Rom without a clamp or a
/// conversion per tap: what the swap pastes every face pixel of the frame from.
#[derive(Debug, Default)]
pub(crate) struct Bordered {
    pixels: Vec<[f32; 4]>,
    stride: usize,
}

const BORDER: usize = 2;

impl Bordered {
    /// Holds `image` with `weight` (row-major, the image's size; `None`: all 1) in the fourth
    /// lane.
    fn fill(&mut self, image: &Rgb8, weight: Option<&[f32]>) {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let stride = w + 2 * BORDER;
        let pixels = &mut self.pixels;
        pixels.clear();
        let raw = image.as_raw();
        for y in 0..h + 2 * BORDER {
            let sy = y.saturating_sub(BORDER).min(h.saturating_sub(1));
            for x in 0..stride {
                let sx = x.saturating_sub(BORDER).min(w.saturating_sub(1));
                let i = sy * w + sx;
                let alpha = weight.map_or(1.0, |m| m.get(i).copied().unwrap_or(0.0));
                let i = 3 * i;
                pixels.push([
                    f32::from(raw[i]),
                    f32::from(raw[i + 1]),
                    f32::from(raw[i + 2]),
                    alpha,
                ]);
            }
        }
        self.stride = stride;
    }

    /// The weight at (x, y), a point on the picture, bilinearly.
    fn weight(&self, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x as usize, y as usize);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let i = (y0 + BORDER) * self.stride + x0 + BORDER;
        let at = |i: usize| self.pixels.get(i).map_or(0.0, |p| p[3]);
        let top = at(i) + (at(i + 1) - at(i)) * fx;
        let bottom = at(i + self.stride) + (at(i + self.stride + 1) - at(i + self.stride)) * fx;
        top + (bottom - top) * fy
    }

    /// The colour and weight at (x, y), a point on the picture, by Catmull-Rom over the 4 × 4
    /// pixels around it.
    fn cubic(&self, x: f32, y: f32) -> [f32; 4] {
        // Truncation is the floor (the point is on the picture), and a cast is an instruction
        // where `floor` is a call on baseline x86-64.
        let (x0, y0) = (x as usize, y as usize);
        let (wx, wy) = (catmull_rom(x - x0 as f32), catmull_rom(y - y0 as f32));
        // The first tap, one pixel up and left, in the bordered picture.
        let start = (y0 + BORDER - 1) * self.stride + x0 + BORDER - 1;
        let mut sum = [0f32; 4];
        for (j, wy) in wy.into_iter().enumerate() {
            let at = start + j * self.stride;
            let Some(&[a, b, c, d]) = self.pixels.get(at..at + 4) else {
                continue;
            };
            for k in 0..4 {
                let across = a[k] * wx[0] + b[k] * wx[1] + c[k] * wx[2] + d[k] * wx[3];
                sum[k] += across * wy;
            }
        }
        sum
    }
}

/// The Catmull-Rom weights of the four samples around a point `t` ∈ [0, 1) past the second.
fn catmull_rom(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// The colour at `p` by bilinear interpolation; `None` off the picture.
pub(crate) fn sample_bilinear(image: &Rgb8, p: Point) -> Option<Rgb<u8>> {
    let sampler = Sampler::new(image);
    sampler
        .contains(p.x, p.y)
        .then(|| Rgb(sampler.clamped(p.x, p.y)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_recovers_a_known_similarity() {
        let truth = Similarity {
            a: 0.8,
            b: 0.3,
            tx: 12.0,
            ty: -5.0,
        };
        let src: Vec<Point> = (0..10)
            .map(|i| Point::new(i as f32 * 7.0, (i * i) as f32))
            .collect();
        let dst: Vec<Point> = src.iter().map(|&p| truth.apply(p)).collect();
        let got = Similarity::estimate(&src, &dst).unwrap();
        assert!((got.a - truth.a).abs() < 1e-4 && (got.b - truth.b).abs() < 1e-4);
        assert!((got.tx - truth.tx).abs() < 1e-2 && (got.ty - truth.ty).abs() < 1e-2);
        let back = got.inverse().apply(got.apply(Point::new(3.0, 4.0)));
        assert!((back.x - 3.0).abs() < 1e-4 && (back.y - 4.0).abs() < 1e-4);
    }

    #[test]
    fn degenerate_points_give_none() {
        let same = vec![Point::new(1.0, 1.0); 5];
        assert!(Similarity::estimate(&same, &same).is_none());
    }
}
