//! Element-wise layers as single candle custom ops with their own backward pass.
//!
//! Written with candle's tensor algebra, a leaky ReLU is five operations (and ten more in the
//! backward pass) and instance standardisation nine, and candle differentiates upsampling with
//! a grouped convolution; on a small CPU each op is a pass over memory and an allocation,
//! which costs more than the arithmetic. One pass each here.
//!
//! Each op is a kernel on contiguous slices (`kernel.rs` turns it into a candle op).

use candle_core::{Layout, Shape, Tensor};
use rayon::prelude::*;

use super::kernel::{CpuOp, Grads3, Kernel1, Kernel2, Kernel3, Output};

/// Planes smaller than this are not split across threads.
const PAR_CHUNK: usize = 16 * 1024;

/// `max(x, 0) + slope · min(x, 0)`.
struct LeakyRelu(f32);

impl Kernel1 for LeakyRelu {
    const NAME: &'static str = "mimic-leaky-relu";

    fn cpu(&self, x: &[f32], l: &Layout) -> Output {
        super::on_candle_threads(|| {
            let slope = self.0;
            let mut y = vec![0f32; x.len()];
            y.par_chunks_mut(PAR_CHUNK)
                .zip(x.par_chunks(PAR_CHUNK))
                .for_each(|(y, x)| {
                    for (y, &x) in y.iter_mut().zip(x) {
                        *y = if x > 0.0 { x } else { slope * x };
                    }
                });
            Ok((y, l.shape().clone()))
        })
    }

    fn backward(&self, x: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(x.contiguous()?.apply_op2_no_bwd(
            &grad.contiguous()?,
            &CpuOp(LeakyReluGrad(self.0)),
        )?))
    }
}

/// The leaky ReLU's backward: `grad · (1 if x > 0 else slope)`.
struct LeakyReluGrad(f32);

impl Kernel2 for LeakyReluGrad {
    const NAME: &'static str = "mimic-leaky-relu-grad";

    fn cpu(&self, [x, g]: [&[f32]; 2], l: &Layout) -> Output {
        let slope = self.0;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(PAR_CHUNK)
            .zip(x.par_chunks(PAR_CHUNK).zip(g.par_chunks(PAR_CHUNK)))
            .for_each(|(o, (x, g))| {
                for ((o, &x), &g) in o.iter_mut().zip(x).zip(g) {
                    *o = if x > 0.0 { g } else { slope * g };
                }
            });
        Ok((out, l.shape().clone()))
    }
}

/// Instance normalisation with a learned per-channel scale and shift:
/// `y = (x − mean) / √(var + eps) · gamma + beta`, statistics per (image, channel) plane.
struct InstanceNorm(f32);

/// Mean and 1/√(var + eps) of a plane.
fn plane_stats(plane: &[f32], eps: f32) -> (f32, f32) {
    let n = plane.len() as f32;
    let mean = plane.iter().sum::<f32>() / n;
    let var = plane.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

/// Channels and plane size of an NCHW layout.
fn planes(l: &Layout) -> candle_core::Result<(usize, usize)> {
    match l.dims() {
        [_, c, h, w] => Ok((*c, h * w)),
        dims => candle_core::bail!("instance norm takes NCHW tensors, got {dims:?}"),
    }
}

impl Kernel3 for InstanceNorm {
    const NAME: &'static str = "mimic-instance-norm";

    fn cpu(&self, [x, gamma, beta]: [&[f32]; 3], l: &Layout) -> Output {
        let (c, hw) = planes(l)?;
        let mut y = vec![0f32; x.len()];
        super::on_candle_threads(|| {
            y.par_chunks_mut(hw)
                .zip(x.par_chunks(hw))
                .enumerate()
                .for_each(|(p, (y, x))| {
                    let (mean, inv_std) = plane_stats(x, self.0);
                    let (scale, shift) = (gamma[p % c] * inv_std, beta[p % c]);
                    for (y, &x) in y.iter_mut().zip(x) {
                        *y = (x - mean) * scale + shift;
                    }
                })
        });
        Ok((y, l.shape().clone()))
    }

    fn backward(
        &self,
        [x, gamma, beta]: [&Tensor; 3],
        grad: &Tensor,
    ) -> candle_core::Result<Grads3> {
        let grads = x.contiguous()?.apply_op3_no_bwd(
            gamma,
            &grad.contiguous()?,
            &CpuOp(InstanceNormGrad(self.0)),
        )?;
        let (n, c) = (x.elem_count(), gamma.elem_count());
        let dx = grads.narrow(0, 0, n)?.reshape(x.shape())?;
        let dgamma = grads.narrow(0, n, c)?.reshape(gamma.shape())?;
        let dbeta = grads.narrow(0, n + c, c)?.reshape(beta.shape())?;
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

/// The instance norm's backward: [dx, dgamma, dbeta] flattened into one tensor. Per plane,
/// with x̂ the standardised input and ĝ = grad · gamma:
/// `dx = (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)) / std`, `dgamma = Σ grad · x̂`, `dbeta = Σ grad`.
struct InstanceNormGrad(f32);

impl Kernel3 for InstanceNormGrad {
    const NAME: &'static str = "mimic-instance-norm-grad";

    fn cpu(&self, [x, gamma, grad]: [&[f32]; 3], l: &Layout) -> Output {
        let (c, hw) = planes(l)?;
        let mut dx = vec![0f32; x.len()];
        // Per plane: (Σ grad · x̂, Σ grad), summed over images per channel afterwards.
        let sums: Vec<(f32, f32)> = super::on_candle_threads(|| {
            dx.par_chunks_mut(hw)
                .zip(x.par_chunks(hw).zip(grad.par_chunks(hw)))
                .enumerate()
                .map(|(p, (dx, (x, g)))| {
                    let (mean, inv_std) = plane_stats(x, self.0);
                    let gm = gamma[p % c];
                    let n = hw as f32;
                    let (mut sum_g, mut sum_gx) = (0f32, 0f32);
                    for (&g, &x) in g.iter().zip(x) {
                        sum_g += g;
                        sum_gx += g * (x - mean) * inv_std;
                    }
                    let (mean_gh, mean_ghx) = (gm * sum_g / n, gm * sum_gx / n);
                    for ((d, &g), &x) in dx.iter_mut().zip(g).zip(x) {
                        let xhat = (x - mean) * inv_std;
                        *d = (g * gm - mean_gh - xhat * mean_ghx) * inv_std;
                    }
                    (sum_gx, sum_g)
                })
                .collect()
        });
        let mut out = dx;
        out.resize(x.len() + 2 * c, 0.0);
        for (p, (gx, g)) in sums.iter().enumerate() {
            out[x.len() + p % c] += gx;
            out[x.len() + c + p % c] += g;
        }
        let len = out.len();
        Ok((out, Shape::from(len)))
    }
}

/// The four dimensions of an NCHW layout; `refusal` when it has another rank.
fn nchw(l: &Layout, refusal: &str) -> candle_core::Result<[usize; 4]> {
    match *l.dims() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => candle_core::bail!("{refusal}"),
    }
}

/// Nearest-neighbour ×2 upsampling of each plane of an NCHW tensor. candle's own backward for
/// it is a grouped convolution; here it is a sum over each 2×2 block.
struct Upsample2;

impl Kernel1 for Upsample2 {
    const NAME: &'static str = "mimic-upsample2";

    fn cpu(&self, x: &[f32], l: &Layout) -> Output {
        let [n, c, h, w] = nchw(l, "upsampling takes NCHW tensors")?;
        let mut y = vec![0f32; x.len() * 4];
        y.par_chunks_mut(4 * h * w)
            .zip(x.par_chunks(h * w))
            .for_each(|(y, x)| {
                for (row, src) in x.chunks(w).enumerate() {
                    let (top, bottom) = y[row * 4 * w..][..4 * w].split_at_mut(2 * w);
                    for (pair, &v) in top.chunks_mut(2).zip(src) {
                        pair.fill(v);
                    }
                    bottom.copy_from_slice(top);
                }
            });
        Ok((y, Shape::from((n, c, 2 * h, 2 * w))))
    }

    fn backward(&self, _x: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            grad.contiguous()?.apply_op1_no_bwd(&CpuOp(SumBlocks2))?,
        ))
    }
}

/// The upsampling's backward: each output is the sum of its 2×2 block.
struct SumBlocks2;

impl Kernel1 for SumBlocks2 {
    const NAME: &'static str = "mimic-sum-blocks2";

    fn cpu(&self, g: &[f32], l: &Layout) -> Output {
        let [n, c, h2, w2] = nchw(l, "block sums take NCHW tensors")?;
        let (h, w) = (h2 / 2, w2 / 2);
        let mut out = vec![0f32; n * c * h * w];
        out.par_chunks_mut(h * w)
            .zip(g.par_chunks(h2 * w2))
            .for_each(|(o, g)| {
                for (row, dst) in o.chunks_mut(w).enumerate() {
                    let (top, bottom) = g[2 * row * w2..][..2 * w2].split_at(w2);
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = top[2 * i] + top[2 * i + 1] + bottom[2 * i] + bottom[2 * i + 1];
                    }
                }
            });
        Ok((out, Shape::from((n, c, h, w))))
    }
}

/// Nearest-neighbour ×2 upsampling (candle's own op on other devices).
pub fn upsample2(x: &Tensor) -> candle_core::Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    if !x.device().is_cpu() {
        return x.upsample_nearest2d(2 * h, 2 * w);
    }
    x.contiguous()?.apply_op1(CpuOp(Upsample2))
}

/// Leaky ReLU in one pass (candle's algebra on other devices).
pub fn leaky_relu(x: &Tensor, slope: f64) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return candle_nn::ops::leaky_relu(x, slope);
    }
    x.contiguous()?.apply_op1(CpuOp(LeakyRelu(slope as f32)))
}

/// Instance normalisation of an NCHW tensor with per-channel `gamma` and `beta`, one pass
/// each way (candle's algebra on other devices).
pub fn instance_norm(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return instance_norm_by_algebra(x, gamma, beta, eps);
    }
    x.contiguous()?.apply_op3(
        &gamma.contiguous()?,
        &beta.contiguous()?,
        CpuOp(InstanceNorm(eps as f32)),
    )
}

/// Instance normalisation in candle's tensor algebra, which differentiates it by itself.
fn instance_norm_by_algebra(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(&[2, 3][..])?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(&[2, 3][..])?;
    let y = centred.broadcast_div(&(var + eps)?.sqrt()?)?;
    y.broadcast_mul(&gamma.reshape((1, (), 1, 1))?)?
        .broadcast_add(&beta.reshape((1, (), 1, 1))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::backprop::GradStore;
    use candle_core::{Device, Var};

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = super::super::params::Rng::new(seed);
        let n: usize = shape.iter().product();
        Tensor::from_vec(
            (0..n)
                .map(|_| rng.normal() * 3.0 + 1.0)
                .collect::<Vec<f32>>(),
            shape,
            &Device::Cpu,
        )
        .unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// The gradients of the sum of `y` weighted by `weight`: a fixed weighting of the
    /// outputs, so every output's gradient differs.
    fn weighted_grads(y: Tensor, weight: &Tensor) -> GradStore {
        (y * weight).unwrap().sum_all().unwrap().backward().unwrap()
    }

    /// Both ops and their gradients agree with candle's own algebra.
    #[test]
    fn fused_ops_match_candle_algebra() {
        let x = Var::from_tensor(&random(&[2, 3, 5, 7], 1)).unwrap();
        type Op<'a> = &'a dyn Fn(&Tensor) -> Tensor;
        let cases: [(Op, Op); 2] = [
            (&|t| upsample2(t).unwrap(), &|t| {
                t.upsample_nearest2d(10, 14).unwrap()
            }),
            (&|t| leaky_relu(t, 0.2).unwrap(), &|t| {
                candle_nn::ops::leaky_relu(t, 0.2).unwrap()
            }),
        ];
        for (ours, theirs) in cases {
            let (a, b) = (ours(&x), theirs(&x));
            assert!(max_diff(&a, &b) < 1e-5);
            let weight = random(a.dims(), 2);
            let (ga, gb) = (weighted_grads(a, &weight), weighted_grads(b, &weight));
            assert!(max_diff(ga.get(&x).unwrap(), gb.get(&x).unwrap()) < 1e-4);
        }
    }

    /// Instance norm and its three gradients agree with candle's algebra.
    #[test]
    fn instance_norm_matches_candle_algebra() {
        let x = Var::from_tensor(&random(&[2, 3, 5, 7], 3)).unwrap();
        let gamma = Var::from_tensor(&random(&[3], 4)).unwrap();
        let beta = Var::from_tensor(&random(&[3], 5)).unwrap();
        let ours = instance_norm(&x, &gamma, &beta, 1e-5).unwrap();
        let theirs = instance_norm_by_algebra(&x, &gamma, &beta, 1e-5).unwrap();
        assert!(max_diff(&ours, &theirs) < 1e-4);
        let weight = random(ours.dims(), 6);
        let (ga, gb) = (
            weighted_grads(ours, &weight),
            weighted_grads(theirs, &weight),
        );
        for v in [x.as_tensor(), gamma.as_tensor(), beta.as_tensor()] {
            assert!(max_diff(ga.get(v).unwrap(), gb.get(v).unwrap()) < 1e-3);
        }
    }
}
