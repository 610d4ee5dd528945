//! The convolution's backward pass as one CPU op: from the input, the weights and the output
//! gradient to the weight gradient (a product with each band's columns) and, when the input
//! needs one, the input gradient (the weights' transpose times the output gradient, folded
//! back by col2im; for a stride-1 layer, a convolution of the output gradient instead).

use candle_core::{Layout, Shape};
use rayon::prelude::*;

use super::geometry::Geometry;
use super::matrix::{matmul, Mat};
use crate::train::kernel::{Kernel3, Output};
use crate::train::on_candle_threads;

/// The backward op: (x, weight, grad_y) → [grad_x, grad_weight] flattened into one tensor
/// (grad_x left out when `need_x` is false).
pub(super) struct ConvGrads {
    pub(super) g: Geometry,
    pub(super) need_x: bool,
}

/// One band's share of the gradients: its input rows' gradient and a weight gradient.
struct BandGrad {
    first: usize,
    rows: usize,
    grad_x: Vec<f32>,
}

impl BandGrad {
    /// Adds this band's rows into `grad_x`, one image's input gradient (C × H × W).
    fn add_into(&self, grad_x: &mut [f32], g: &Geometry) {
        for c in 0..g.c {
            let dst = &mut grad_x[(c * g.h + self.first) * g.w..][..self.rows * g.w];
            let src = &self.grad_x[c * self.rows * g.w..][..self.rows * g.w];
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        }
    }
}

/// One image's inputs to its band shares.
struct ImageGrads<'a> {
    image: &'a [f32],
    grad_y: &'a [f32],
    /// The weights transposed (kdim × O), to fold columns back with.
    w_t: Mat<'a>,
    fold_columns: bool,
}

impl Kernel3 for ConvGrads {
    const NAME: &'static str = "mimic-conv2d-backward";

    fn cpu(&self, [x, weight, grad_y]: [&[f32]; 3], l: &Layout) -> Output {
        let n = l.dims()[0];
        let out = on_candle_threads(|| self.grads(x, weight, grad_y, n));
        let len = out.len();
        Ok((out, Shape::from(len)))
    }
}

impl ConvGrads {
    /// [grad_x, grad_weight] for `n` images.
    fn grads(&self, x: &[f32], weight: &[f32], grad_y: &[f32], n: usize) -> Vec<f32> {
        let (g, need_x) = (self.g, self.need_x);
        let kdim = g.kdim();
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
            let inputs = ImageGrads {
                image,
                grad_y: gy,
                w_t,
                fold_columns,
            };
            for (gw, part) in self.band_shares(&inputs) {
                grad_w.iter_mut().zip(&gw).for_each(|(d, s)| *d += s);
                let Some(part) = part else { continue };
                part.add_into(&mut grad_x_all[i * g.in_plane()..][..g.in_plane()], &g);
            }
        }
        out
    }

    /// Each band's share of one image's gradients: its weight gradient, and its input rows'
    /// gradient when columns are folded back. The shares come back in band order and are
    /// summed in that order, so the result does not depend on how rayon scheduled the bands:
    /// a seed gives the same run twice.
    fn band_shares(&self, inputs: &ImageGrads) -> Vec<(Vec<f32>, Option<BandGrad>)> {
        let g = self.g;
        let (kdim, l) = (g.kdim(), g.ho * g.wo);
        g.bands()
            .into_par_iter()
            .map_init(
                || (Vec::<f32>::new(), Vec::<f32>::new()),
                |(cols, gcols), band| {
                    let t = (band.1 - band.0) * g.wo;
                    cols.resize(kdim * t, 0.0);
                    g.im2col(inputs.image, band, cols);
                    // The band's output gradient: O rows of t values, row stride L.
                    let gy_band = Mat {
                        data: &inputs.grad_y[band.0 * g.wo..],
                        rows: g.o,
                        cols: t,
                        rs: l,
                        cs: 1,
                    };
                    let mut gw = vec![0f32; g.o * kdim];
                    matmul(&mut gw, kdim, gy_band, Mat::rows(cols, kdim, t).t(), false);
                    let part = inputs.fold_columns.then(|| {
                        gcols.resize(kdim * t, 0.0);
                        matmul(gcols, t, inputs.w_t, gy_band, false);
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
            .collect()
    }
}
