//! A fast CPU convolution for training: im2col as a candle custom op (with col2im as its
//! backward) followed by candle's matrix multiply, whose own backward gives the weight and
//! column gradients.
//!
//! candle's CPU `conv2d` is a direct loop (10–17 GFLOP/s here) and its backward goes through
//! `conv_transpose2d`, slower still; a matrix multiply runs several times faster on the same
//! cores. Other devices keep candle's convolution (cuDNN on CUDA).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::layers::Pad;

/// Unfolds every k×k patch of a [N, C, H, W] tensor into a column: [N, C·k·k, Ho·Wo].
#[derive(Debug, Clone, Copy)]
struct Im2Col {
    k: usize,
    stride: usize,
    pad: Pad,
    /// Input size, for the backward pass.
    c: usize,
    h: usize,
    w: usize,
}

impl Im2Col {
    fn out_size(&self) -> (usize, usize) {
        let ho = (self.h + self.pad.top + self.pad.bottom - self.k) / self.stride + 1;
        let wo = (self.w + self.pad.left + self.pad.right - self.k) / self.stride + 1;
        (ho, wo)
    }

    /// The input row read by output row `oy` at kernel row `ki`, if inside.
    #[inline]
    fn source_row(&self, oy: usize, ki: usize) -> Option<usize> {
        let iy = (oy * self.stride + ki).checked_sub(self.pad.top)?;
        (iy < self.h).then_some(iy)
    }

    /// The output columns `ox0..ox1` whose input column at kernel column `kj` is inside, and
    /// the input column of `ox0`. Branch-free inner loops run over this range only.
    #[inline]
    fn valid_columns(&self, wo: usize, kj: usize) -> (usize, usize, usize) {
        let s = self.stride;
        // ix = ox·s + kj − left must lie in [0, w).
        let ox0 = self.pad.left.saturating_sub(kj).div_ceil(s);
        let limit = self.w + self.pad.left - kj; // ox·s < limit
        let ox1 = limit.div_ceil(s).min(wo);
        let ix0 = (ox0 * s + kj).saturating_sub(self.pad.left);
        (ox0, ox1.max(ox0), ix0)
    }
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout)?;
        let n = layout.dims()[0];
        let (ho, wo) = self.out_size();
        let (k, l) = (self.c * self.k * self.k, ho * wo);
        let mut cols = vec![0f32; n * k * l];
        // One task per (image, kernel row): each writes its own row of columns.
        cols.par_chunks_mut(l).enumerate().for_each(|(row, out)| {
            let (b, r) = (row / k, row % k);
            let (c, ki, kj) = (r / (self.k * self.k), (r / self.k) % self.k, r % self.k);
            let plane = &x[(b * self.c + c) * self.h * self.w..][..self.h * self.w];
            let (ox0, ox1, ix0) = self.valid_columns(wo, kj);
            for oy in 0..ho {
                let Some(iy) = self.source_row(oy, ki) else { continue };
                let src = &plane[iy * self.w..][..self.w];
                let dst = &mut out[oy * wo..][ox0..ox1];
                if self.stride == 1 {
                    dst.copy_from_slice(&src[ix0..ix0 + dst.len()]);
                } else {
                    for (d, v) in dst.iter_mut().zip(src[ix0..].iter().step_by(self.stride)) {
                        *d = *v;
                    }
                }
            }
        });
        Ok((CpuStorage::F32(cols), Shape::from((n, k, l))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad_res.contiguous()?.apply_op1_no_bwd(&Col2Im(*self))?))
    }
}

/// Folds column gradients back onto the input: the adjoint of [`Im2Col`].
struct Col2Im(Im2Col);

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = &self.0;
        let cols = contiguous_f32(storage, layout)?;
        let n = layout.dims()[0];
        let (ho, wo) = op.out_size();
        let (kk, l) = (op.k * op.k, ho * wo);
        let mut grad = vec![0f32; n * op.c * op.h * op.w];
        // One task per (image, channel): only that channel's kernel rows write into it.
        grad.par_chunks_mut(op.h * op.w).enumerate().for_each(|(plane_index, plane)| {
            let (b, c) = (plane_index / op.c, plane_index % op.c);
            for r in 0..kk {
                let (ki, kj) = (r / op.k, r % op.k);
                let row = &cols[((b * op.c + c) * kk + r) * l..][..l];
                let (ox0, ox1, ix0) = op.valid_columns(wo, kj);
                for oy in 0..ho {
                    let Some(iy) = op.source_row(oy, ki) else { continue };
                    let dst = &mut plane[iy * op.w..][..op.w];
                    let src = &row[oy * wo..][ox0..ox1];
                    for (d, v) in dst[ix0..].iter_mut().step_by(op.stride).zip(src) {
                        *d += *v;
                    }
                }
            }
        });
        Ok((CpuStorage::F32(grad), Shape::from((n, op.c, op.h, op.w))))
    }
}

fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("im2col needs a contiguous input"),
    }
}

/// Convolution of `x` [N, C, H, W] with `weight` [O, C, k, k] (no bias), any padding.
pub fn conv2d(x: &Tensor, weight: &Tensor, stride: usize, pad: Pad) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (o, _, k, _) = weight.dims4()?;
    if !x.device().is_cpu() {
        let x = x.pad_with_zeros(2, pad.top, pad.bottom)?.pad_with_zeros(3, pad.left, pad.right)?;
        return x.conv2d(weight, 0, stride, 1, 1);
    }
    let op = Im2Col { k, stride, pad, c, h, w };
    let (ho, wo) = op.out_size();
    let cols = x.contiguous()?.apply_op1(op)?;
    let y = weight.reshape((1, o, c * k * k))?.broadcast_matmul(&cols)?;
    y.reshape((n, o, ho, wo))
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
            Tensor::from_vec((0..n).map(|_| rng.normal()).collect::<Vec<f32>>(), shape, &dev).unwrap()
        };
        for (stride, pad) in [(2, Pad::same(1)), (1, Pad::keras_same(4))] {
            // Square inputs: candle's own conv backward mishandles non-square odd sizes.
            let x = Var::from_tensor(&rand(&[2, 3, 10, 10])).unwrap();
            let w = Var::from_tensor(&rand(&[5, 3, 4, 4])).unwrap();
            let ours = conv2d(&x, &w, stride, pad).unwrap();
            let padded = x.pad_with_zeros(2, pad.top, pad.bottom).unwrap().pad_with_zeros(3, pad.left, pad.right).unwrap();
            let theirs = padded.conv2d(&w, 0, stride, 1, 1).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            let diff = |a: &Tensor, b: &Tensor| (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff(&ours, &theirs) < 1e-4);
            let g_ours = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let g_theirs = theirs.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            assert!(diff(g_ours.get(&x).unwrap(), g_theirs.get(&x).unwrap()) < 1e-3, "input gradient");
            assert!(diff(g_ours.get(&w).unwrap(), g_theirs.get(&w).unwrap()) < 1e-3, "weight gradient");
        }
    }
}
