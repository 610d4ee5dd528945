//! A fast CPU convolution for training, as a candle custom op with its own backward.
//!
//! candle's CPU `conv2d` is a direct loop (10–17 GFLOP/s here) and its backward goes through
//! `conv_transpose2d`, slower still. Here each band of output rows is unfolded (im2col) into a
//! small column buffer that stays in cache and multiplied with the weights by `gemm`, the
//! matrix kernel candle itself uses; the backward pass walks the same bands to get the weight
//! gradient (a product with the columns) and the input gradient (the weights' transpose times
//! the output gradient, folded back by col2im). Bands run in parallel on rayon's threads.
//! Other devices keep candle's convolution (cuDNN on CUDA).
//!
//! The op's parts: the convolution's sizes and band moves (`geometry.rs`), the matrix product
//! (`matrix.rs`) and the backward pass (`backward.rs`).

mod backward;
mod geometry;
mod matrix;

use candle_core::{Layout, Shape, Tensor};

use self::backward::ConvGrads;
use self::geometry::Geometry;
use super::kernel::{CpuOp, Grads2, Kernel2, Output};
use super::on_candle_threads;
use super::pad::Pad;

/// The forward op: (x, weight) → y.
struct Conv(Geometry);

impl Kernel2 for Conv {
    const NAME: &'static str = "mimic-conv2d";

    fn cpu(&self, [x, weight]: [&[f32]; 2], l: &Layout) -> Output {
        let g = self.0;
        let n = l.dims()[0];
        let y = on_candle_threads(|| g.forward(x, weight, n));
        Ok((y, Shape::from((n, g.o, g.ho, g.wo))))
    }

    fn backward(&self, [x, weight]: [&Tensor; 2], grad_y: &Tensor) -> candle_core::Result<Grads2> {
        let g = self.0;
        // The first layer's input (a sketch, a detached image) needs no gradient: skip col2im.
        let need_x = x.track_op();
        let grads = x.apply_op3_no_bwd(
            weight,
            &grad_y.contiguous()?,
            &CpuOp(ConvGrads { g, need_x }),
        )?;
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

/// Convolution of `x` [N, C, H, W] with `weight` [O, C, k, k] (no bias), any padding.
pub fn conv2d(x: &Tensor, weight: &Tensor, stride: usize, pad: Pad) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return pad.apply(x)?.conv2d(weight, 0, stride, 1, 1);
    }
    let geometry = Geometry::new(x.dims(), weight.dims(), stride, pad)?;
    x.contiguous()?
        .apply_op2(&weight.contiguous()?, CpuOp(Conv(geometry)))
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
            let theirs = pad.apply(&x).unwrap().conv2d(&w, 0, stride, 1, 1).unwrap();
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
