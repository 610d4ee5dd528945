//! A fast CPU convolution for training, as a candle custom op with its own backward.
//!
//! candle's CPU `conv2d` is a direct loop (10–17 GFLOP/s here) and its backward goes through
//! `conv_transpose2d`, slower still. Here each band of output rows is unfolded (im2col) into a
//! small column buffer that stays in cache and multiplied with the weights by `gemm`, the
//! matrix kernel candle itself uses; the backward pass walks the same bands to get the weight
//! gradient (a product with the columns) and the input gradient (the weights' transpose times
//! the output gradient, folded back by col2im). Bands run in parallel on rayon's threads.
//! Other devices keep candle's convolution (cuDNN on CUDA).

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::layers::Pad;

/// Floats in one band's column buffer (1 MiB; measured best of 64 KiB to 16 MiB on the tiny step).
const BAND_FLOATS: usize = 256 * 1024;

/// Sizes of one convolution: input C×H×W, O filters of k×k, stride, padding, output Ho×Wo.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: usize,
    stride: usize,
    pad: Pad,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn new(
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
    fn kdim(&self) -> usize {
        self.c * self.k * self.k
    }

    fn in_plane(&self) -> usize {
        self.c * self.h * self.w
    }

    fn out_plane(&self) -> usize {
        self.o * self.ho * self.wo
    }

    /// Output-row bands `[oy0, oy1)`, sized so a band's columns fill about [`BAND_FLOATS`].
    fn bands(&self) -> Vec<(usize, usize)> {
        let rows = (BAND_FLOATS / (self.kdim() * self.wo)).clamp(1, self.ho);
        (0..self.ho)
            .step_by(rows)
            .map(|r| (r, (r + rows).min(self.ho)))
            .collect()
    }

    /// The input rows a band reads: `[first, last)`, clipped to the image.
    fn input_rows(&self, (oy0, oy1): (usize, usize)) -> (usize, usize) {
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
    fn im2col(&self, image: &[f32], (oy0, oy1): (usize, usize), cols: &mut [f32]) {
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
    fn col2im(
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
}

/// A row-major matrix view: element (i, j) at `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Mat<'a> {
    fn rows(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        Mat {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    fn t(self) -> Mat<'a> {
        Mat {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `dst` (m × n, row stride `dst_rs`) = a · b, or += a · b when `accumulate`.
fn matmul(dst: &mut [f32], dst_rs: usize, a: Mat, b: Mat, accumulate: bool) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert!(a.fits() && b.fits() && b.rows == k, "matmul shapes");
    assert!(
        m == 0 || n == 0 || (m - 1) * dst_rs + n <= dst.len(),
        "matmul destination"
    );
    // SAFETY: the asserts above keep every element gemm reads inside `a.data` and `b.data`
    // and every element it writes inside `dst`, which is borrowed mutably for the call.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The forward op: (x, weight) → y.
struct Conv(Geometry);

impl CustomOp2 for Conv {
    fn name(&self) -> &'static str {
        "mimic-conv2d"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        super::on_candle_threads(|| self.forward(xs, xl, ws, wl))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.0;
        // The first layer's input (a sketch, a detached image) needs no gradient: skip col2im.
        let need_x = x.track_op();
        let grads = x.apply_op3_no_bwd(weight, &grad_y.contiguous()?, &ConvGrads { g, need_x })?;
        let n = x.dim(0)?;
        let x_len = if need_x { n * g.in_plane() } else { 0 };
        let grad_w = grads
            .narrow(0, x_len, g.o * g.kdim())?
            .reshape(weight.shape())?;
        let grad_x = need_x
            .then(|| grads.narrow(0, 0, x_len)?.reshape(x.shape()))
            .transpose()?;
        Ok((grad_x, Some(grad_w)))
    }
}

impl Conv {
    fn forward(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0;
        let (x, weight) = (super::cpu_slice(xs, xl)?, super::cpu_slice(ws, wl)?);
        let n = xl.dims()[0];
        let y = g.forward(x, weight, n);
        Ok((CpuStorage::F32(y), Shape::from((n, g.o, g.ho, g.wo))))
    }
}

impl Geometry {
    /// The convolution of `n` images in `x` with `weight` (O × kdim, row-major).
    fn forward(&self, x: &[f32], weight: &[f32], n: usize) -> Vec<f32> {
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
    fn input_gradient(&self, weight: &[f32]) -> (Geometry, Vec<f32>) {
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

/// The backward op: (x, weight, grad_y) → [grad_x, grad_weight] flattened into one tensor
/// (grad_x left out when `need_x` is false).
struct ConvGrads {
    g: Geometry,
    need_x: bool,
}

/// One band's share of the gradients: its input rows' gradient and a weight gradient.
struct BandGrad {
    first: usize,
    rows: usize,
    grad_x: Vec<f32>,
}

impl CustomOp3 for ConvGrads {
    fn name(&self) -> &'static str {
        "mimic-conv2d-backward"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        super::on_candle_threads(|| self.grads(xs, xl, ws, wl, gs, gl))
    }
}

impl ConvGrads {
    #[allow(clippy::too_many_arguments)]
    fn grads(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, need_x) = (self.g, self.need_x);
        let (x, weight, grad_y) = (
            super::cpu_slice(xs, xl)?,
            super::cpu_slice(ws, wl)?,
            super::cpu_slice(gs, gl)?,
        );
        let n = xl.dims()[0];
        let (kdim, l) = (g.kdim(), g.ho * g.wo);
        let w_t = Mat::rows(weight, g.o, kdim).t();
        let x_len = if need_x { n * g.in_plane() } else { 0 };
        let mut out = vec![0f32; x_len + g.o * kdim];
        let (grad_x_all, grad_w) = out.split_at_mut(x_len);
        // A stride-1 layer's input gradient is itself a convolution of the output gradient,
        // far cheaper than col2im when the layer has few output channels (the decoder's last
        // layers); strided layers fold columns back.
        let fold_columns = need_x && g.stride != 1;
        if need_x && !fold_columns {
            let (gt, flipped) = g.input_gradient(weight);
            grad_x_all.copy_from_slice(&gt.forward(grad_y, &flipped, n));
        }
        for (i, (image, gy)) in x
            .chunks(g.in_plane())
            .zip(grad_y.chunks(g.out_plane()))
            .enumerate()
        {
            // Each band's share comes back in band order and is summed in that order, so the
            // result does not depend on how rayon scheduled the bands: a seed gives the same
            // run twice.
            let shares: Vec<(Vec<f32>, Option<BandGrad>)> = g
                .bands()
                .into_par_iter()
                .map_init(
                    || (Vec::<f32>::new(), Vec::<f32>::new()),
                    |(cols, gcols), band| {
                        let t = (band.1 - band.0) * g.wo;
                        cols.resize(kdim * t, 0.0);
                        g.im2col(image, band, cols);
                        // The band's output gradient: O rows of t values, row stride L.
                        let gy_band = Mat {
                            data: &gy[band.0 * g.wo..],
                            rows: g.o,
                            cols: t,
                            rs: l,
                            cs: 1,
                        };
                        let mut gw = vec![0f32; g.o * kdim];
                        matmul(&mut gw, kdim, gy_band, Mat::rows(cols, kdim, t).t(), false);
                        let part = fold_columns.then(|| {
                            gcols.resize(kdim * t, 0.0);
                            matmul(gcols, t, w_t, gy_band, false);
                            let (first, last) = g.input_rows(band);
                            let rows = last - first;
                            let mut grad = vec![0f32; g.c * rows * g.w];
                            g.col2im(gcols, band, first, rows, &mut grad);
                            BandGrad {
                                first,
                                rows,
                                grad_x: grad,
                            }
                        });
                        (gw, part)
                    },
                )
                .collect();
            for (gw, part) in shares {
                grad_w.iter_mut().zip(&gw).for_each(|(d, s)| *d += s);
                let Some(part) = part else { continue };
                let grad_x = &mut grad_x_all[i * g.in_plane()..][..g.in_plane()];
                for c in 0..g.c {
                    let dst = &mut grad_x[(c * g.h + part.first) * g.w..][..part.rows * g.w];
                    let src = &part.grad_x[c * part.rows * g.w..][..part.rows * g.w];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
            }
        }
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

/// Convolution of `x` [N, C, H, W] with `weight` [O, C, k, k] (no bias), any padding.
pub fn conv2d(x: &Tensor, weight: &Tensor, stride: usize, pad: Pad) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        let x = x
            .pad_with_zeros(2, pad.top, pad.bottom)?
            .pad_with_zeros(3, pad.left, pad.right)?;
        return x.conv2d(weight, 0, stride, 1, 1);
    }
    let geometry = Geometry::new(x.dims(), weight.dims(), stride, pad)?;
    x.contiguous()?
        .apply_op2(&weight.contiguous()?, Conv(geometry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Forward and both gradients agree with candle's own convolution.
    #[test]
    fn matches_candle_conv2d_and_its_gradients() {
        let dev = Device::Cpu;
        let mut rng = super::super::params::Rng::new(1);
        let mut rand = |shape: &[usize]| {
            let n: usize = shape.iter().product();
            Tensor::from_vec(
                (0..n).map(|_| rng.normal()).collect::<Vec<f32>>(),
                shape,
                &dev,
            )
            .unwrap()
        };
        // Square inputs: candle's own conv backward mishandles non-square odd sizes. Batch 2
        // and a size that splits into several bands exercise the band bookkeeping.
        for (stride, pad, side, c) in [
            (2, Pad::same(1), 10, 3),
            (1, Pad::keras_same(4), 9, 3),
            (2, Pad::same(1), 64, 40),
            (1, Pad::keras_same(4), 48, 70),
        ] {
            let x = Var::from_tensor(&rand(&[2, c, side, side])).unwrap();
            let w = Var::from_tensor(&rand(&[5, c, 4, 4])).unwrap();
            let ours = conv2d(&x, &w, stride, pad).unwrap();
            let padded = x
                .pad_with_zeros(2, pad.top, pad.bottom)
                .unwrap()
                .pad_with_zeros(3, pad.left, pad.right)
                .unwrap();
            let theirs = padded.conv2d(&w, 0, stride, 1, 1).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            // Largest difference relative to the largest value.
            let max = |t: &Tensor| {
                t.abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            };
            let diff = |a: &Tensor, b: &Tensor| max(&(a - b).unwrap()) / max(b);
            assert!(diff(&ours, &theirs) < 1e-5, "forward");
            let g_ours = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let g_theirs = theirs.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            assert!(
                diff(g_ours.get(&x).unwrap(), g_theirs.get(&x).unwrap()) < 1e-5,
                "input gradient"
            );
            assert!(
                diff(g_ours.get(&w).unwrap(), g_theirs.get(&w).unwrap()) < 1e-5,
                "weight gradient"
            );
        }
    }
}
