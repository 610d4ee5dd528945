//! Reading a picture between its pixels (bilinear or Catmull-Rom), and moving a picture by a
//! similarity: the one sampler alignment, the face mesh, the swap trainer's warps and the
//! swap's paste share.

use image::Rgb;

use super::Rgb8;
use crate::geometry::{Point, Similarity};

// The transform is geometry's; moving pictures by it needs pictures, so it is done here.
impl Similarity {
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
    pub(crate) fn fill(&mut self, image: &Rgb8, weight: Option<&[f32]>) {
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
    pub(crate) fn weight(&self, x: f32, y: f32) -> f32 {
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
    pub(crate) fn cubic(&self, x: f32, y: f32) -> [f32; 4] {
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
