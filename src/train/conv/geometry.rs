//! The sizes of one convolution and the moves its CPU op makes over them: output-row bands
//! sized to stay in cache, each unfolded (im2col) or folded back (col2im), and the band-wise
//! forward product with the weights. The backward pass ([`super::backward`]) walks the same
//! bands.

use rayon::prelude::*;

use super::matrix::{matmul, Mat};
use crate::train::pad::Pad;

/// Floats in one band's column buffer (1 MiB; measured best of 64 KiB to 16 MiB on the tiny step).
const BAND_FLOATS: usize = 256 * 1024;

/// Sizes of one convolution: input C×H×W, O filters of k×k, stride, padding, output Ho×Wo.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    pub(super) c: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) o: usize,
    pub(super) k: usize,
    pub(super) stride: usize,
    pub(super) pad: Pad,
    pub(super) ho: usize,
    pub(super) wo: usize,
}

impl Geometry {
    pub(super) fn new(
        x: &[usize],
        weight: &[usize],
        stride: usize,
        pad: Pad,
    ) -> candle_core::Result<Geometry> {
        let ([_, c, h, w], [o, wc, k, k2]) = (x, weight) else {
            candle_core::bail!("conv2d needs 4-d input and weights, got {x:?} and {weight:?}")
        };
        if wc != c || k != k2 || h + pad.top + pad.bottom < *k || w + pad.left + pad.right < *k {
            candle_core::bail!(
                "conv2d: weights {weight:?} do not fit input {x:?} with padding {pad:?}"
            )
        }
        let ho = (h + pad.top + pad.bottom - k) / stride + 1;
        let wo = (w + pad.left + pad.right - k) / stride + 1;
        Ok(Geometry {
            c: *c,
            h: *h,
            w: *w,
            o: *o,
            k: *k,
            stride,
            pad,
            ho,
            wo,
        })
    }

    /// Rows of the unfolded matrix: one per (channel, kernel row, kernel column).
    pub(super) fn kdim(&self) -> usize {
        self.c * self.k * self.k
    }

    pub(super) fn in_plane(&self) -> usize {
        self.c * self.h * self.w
    }

    pub(super) fn out_plane(&self) -> usize {
        self.o * self.ho * self.wo
    }

    /// Output-row bands `[oy0, oy1)`, sized so a band's columns fill about [`BAND_FLOATS`].
    pub(super) fn bands(&self) -> Vec<(usize, usize)> {
        let rows = (BAND_FLOATS / (self.kdim() * self.wo)).clamp(1, self.ho);
        (0..self.ho)
            .step_by(rows)
            .map(|r| (r, (r + rows).min(self.ho)))
            .collect()
    }

    /// The input rows a band reads: `[first, last)`, clipped to the image.
    pub(super) fn input_rows(&self, (oy0, oy1): (usize, usize)) -> (usize, usize) {
        let first = (oy0 * self.stride).saturating_sub(self.pad.top);
        let last = ((oy1 - 1) * self.stride + self.k)
            .saturating_sub(self.pad.top)
            .min(self.h);
        (first, last.max(first))
    }

    /// The output columns `ox0..ox1` whose input column at kernel column `kj` lies inside the
    /// image, and the input column of `ox0`: inner loops run over this range without branches.
    fn valid_columns(&self, kj: usize) -> (usize, usize, usize) {
        let s = self.stride;
        let ox0 = self.pad.left.saturating_sub(kj).div_ceil(s);
        let ox1 = (self.w + self.pad.left - kj).div_ceil(s).min(self.wo);
        let ix0 = (ox0 * s + kj).saturating_sub(self.pad.left);
        (ox0, ox1.max(ox0), ix0)
    }

    /// The input row read by output row `oy` at kernel row `ki`, if inside.
    fn source_row(&self, oy: usize, ki: usize) -> Option<usize> {
        let iy = (oy * self.stride + ki).checked_sub(self.pad.top)?;
        (iy < self.h).then_some(iy)
    }

    /// Unfolds a band of `image` (C×H×W) into `cols` (kdim rows × band columns). Every
    /// element is written once: padding as zeros, the rest copied.
    pub(super) fn im2col(&self, image: &[f32], (oy0, oy1): (usize, usize), cols: &mut [f32]) {
        let t = (oy1 - oy0) * self.wo;
        for (r, row) in cols.chunks_mut(t).take(self.kdim()).enumerate() {
            let (c, ki, kj) = (r / (self.k * self.k), (r / self.k) % self.k, r % self.k);
            let plane = &image[c * self.h * self.w..][..self.h * self.w];
            let (ox0, ox1, ix0) = self.valid_columns(kj);
            for (oy, dst) in (oy0..oy1).zip(row.chunks_mut(self.wo)) {
                let Some(iy) = self.source_row(oy, ki) else {
                    dst.fill(0.0);
                    continue;
                };
                dst[..ox0].fill(0.0);
                dst[ox1..].fill(0.0);
                let src = &plane[iy * self.w + ix0..];
                let dst = &mut dst[ox0..ox1];
                if self.stride == 1 {
                    dst.copy_from_slice(&src[..dst.len()]);
                } else {
                    for (d, v) in dst.iter_mut().zip(src.iter().step_by(self.stride)) {
                        *d = *v;
                    }
                }
            }
        }
    }

    /// Adds a band's column gradients back onto `grad` (C × (last − first) × W, the band's
    /// input rows only).
    pub(super) fn col2im(
        &self,
        cols: &[f32],
        (oy0, oy1): (usize, usize),
        first: usize,
        rows: usize,
        grad: &mut [f32],
    ) {
        let t = (oy1 - oy0) * self.wo;
        for (r, row) in cols.chunks(t).take(self.kdim()).enumerate() {
            let (c, ki, kj) = (r / (self.k * self.k), (r / self.k) % self.k, r % self.k);
            let plane = &mut grad[c * rows * self.w..][..rows * self.w];
            let (ox0, ox1, ix0) = self.valid_columns(kj);
            for oy in oy0..oy1 {
                let Some(iy) = self.source_row(oy, ki) else {
                    continue;
                };
                let dst = &mut plane[(iy - first) * self.w..][ix0..];
                let src = &row[(oy - oy0) * self.wo..][ox0..ox1];
                for (d, v) in dst.iter_mut().step_by(self.stride).zip(src) {
                    *d += *v;
                }
            }
        }
    }

    /// The convolution of `n` images in `x` with `weight` (O × kdim, row-major).
    pub(super) fn forward(&self, x: &[f32], weight: &[f32], n: usize) -> Vec<f32> {
        let g = *self;
        let (kdim, l) = (g.kdim(), g.ho * g.wo);
        let mut y = vec![0f32; n * g.out_plane()];
        let w_mat = Mat::rows(weight, g.o, kdim);
        for (image, out) in x.chunks(g.in_plane()).zip(y.chunks_mut(g.out_plane())) {
            let bands: Vec<(usize, Vec<f32>)> = g
                .bands()
                .into_par_iter()
                .map_init(Vec::new, |cols, band| {
                    let t = (band.1 - band.0) * g.wo;
                    cols.resize(kdim * t, 0.0);
                    g.im2col(image, band, cols);
                    let mut part = vec![0f32; g.o * t];
                    matmul(&mut part, t, w_mat, Mat::rows(cols, kdim, t), false);
                    (band.0 * g.wo, part)
                })
                .collect();
            for (start, part) in bands {
                let t = part.len() / g.o;
                for (dst, src) in out.chunks_mut(l).zip(part.chunks(t)) {
                    dst[start..start + t].copy_from_slice(src);
                }
            }
        }
        y
    }

    /// For a stride-1 convolution: the convolution that maps its output gradient to its input
    /// gradient (the same kernel flipped, input and output channels swapped, padding
    /// mirrored), and that kernel.
    pub(super) fn input_gradient(&self, weight: &[f32]) -> (Geometry, Vec<f32>) {
        let (k, kk) = (self.k, self.k * self.k);
        let mut flipped = vec![0f32; weight.len()];
        for o in 0..self.o {
            for c in 0..self.c {
                for tap in 0..kk {
                    flipped[(c * self.o + o) * kk + (kk - 1 - tap)] =
                        weight[(o * self.c + c) * kk + tap];
                }
            }
        }
        let p = self.pad;
        let pad = Pad {
            top: k - 1 - p.top,
            left: k - 1 - p.left,
            bottom: k - 1 - p.bottom,
            right: k - 1 - p.right,
        };
        let g = Geometry {
            c: self.o,
            h: self.ho,
            w: self.wo,
            o: self.c,
            k,
            stride: 1,
            pad,
            ho: self.h,
            wo: self.w,
        };
        (g, flipped)
    }
}
