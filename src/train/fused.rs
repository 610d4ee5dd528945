//! Element-wise layers as single candle custom ops with their own backward pass.
//!
//! Written with candle's tensor algebra, a leaky ReLU is five operations (and ten more in the
//! backward pass) and instance standardisation nine; on a small CPU each one is a pass over
//! memory and an allocation, which costs more than the arithmetic. One pass each here.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

/// Planes smaller than this are not split across threads.
const PAR_CHUNK: usize = 16 * 1024;

fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("fused ops need contiguous tensors"),
    }
}

/// `max(x, 0) + slope · min(x, 0)`.
struct LeakyRelu(f32);

impl CustomOp1 for LeakyRelu {
    fn name(&self) -> &'static str {
        "mimic-leaky-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        super::on_candle_threads(|| self.forward(s, l))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(x.contiguous()?.apply_op2_no_bwd(
            &grad.contiguous()?,
            &LeakyReluGrad(self.0),
        )?))
    }
}

impl LeakyRelu {
    fn forward(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous(s, l)?;
        let slope = self.0;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(PAR_CHUNK)
            .zip(x.par_chunks(PAR_CHUNK))
            .for_each(|(y, x)| {
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = if x > 0.0 { x } else { slope * x };
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
}

/// The leaky ReLU's backward: `grad · (1 if x > 0 else slope)`.
struct LeakyReluGrad(f32);

impl CustomOp2 for LeakyReluGrad {
    fn name(&self) -> &'static str {
        "mimic-leaky-relu-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, g) = (contiguous(xs, xl)?, contiguous(gs, gl)?);
        let slope = self.0;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(PAR_CHUNK)
            .zip(x.par_chunks(PAR_CHUNK).zip(g.par_chunks(PAR_CHUNK)))
            .for_each(|(o, (x, g))| {
                for ((o, &x), &g) in o.iter_mut().zip(x).zip(g) {
                    *o = if x > 0.0 { g } else { slope * g };
                }
            });
        Ok((CpuStorage::F32(out), xl.shape().clone()))
    }
}

/// Each (image, channel) plane of an NCHW tensor to zero mean and unit variance.
struct Standardise(f32);

/// Mean and 1/√(var + eps) of a plane.
fn plane_stats(plane: &[f32], eps: f32) -> (f32, f32) {
    let n = plane.len() as f32;
    let mean = plane.iter().sum::<f32>() / n;
    let var = plane.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

fn plane_size(l: &Layout) -> candle_core::Result<usize> {
    match l.dims() {
        [_, _, h, w] => Ok(h * w),
        dims => candle_core::bail!("instance norm takes NCHW tensors, got {dims:?}"),
    }
}

impl CustomOp1 for Standardise {
    fn name(&self) -> &'static str {
        "mimic-standardise"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous(s, l)?;
        let hw = plane_size(l)?;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .for_each(|(y, x)| {
                let (mean, inv_std) = plane_stats(x, self.0);
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = (x - mean) * inv_std;
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        Ok(Some(x.contiguous()?.apply_op3_no_bwd(
            y,
            &grad,
            &StandardiseGrad(self.0),
        )?))
    }
}

/// The standardisation's backward, per plane: `(g − mean(g) − y · mean(g·y)) / std`.
struct StandardiseGrad(f32);

impl CustomOp3 for StandardiseGrad {
    fn name(&self) -> &'static str {
        "mimic-standardise-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ys: &CpuStorage,
        yl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, y, g) = (
            contiguous(xs, xl)?,
            contiguous(ys, yl)?,
            contiguous(gs, gl)?,
        );
        let hw = plane_size(xl)?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(hw)
            .zip(x.par_chunks(hw).zip(y.par_chunks(hw).zip(g.par_chunks(hw))))
            .for_each(|(o, (x, (y, g)))| {
                let (_, inv_std) = plane_stats(x, self.0);
                let n = hw as f32;
                let mean_g = g.iter().sum::<f32>() / n;
                let mean_gy = g.iter().zip(y).map(|(g, y)| g * y).sum::<f32>() / n;
                for ((o, &g), &y) in o.iter_mut().zip(g).zip(y) {
                    *o = (g - mean_g - y * mean_gy) * inv_std;
                }
            });
        Ok((CpuStorage::F32(out), xl.shape().clone()))
    }
}

/// Leaky ReLU in one pass (candle's algebra on other devices).
pub fn leaky_relu(x: &Tensor, slope: f64) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return candle_nn::ops::leaky_relu(x, slope);
    }
    x.contiguous()?.apply_op1(LeakyRelu(slope as f32))
}

/// Instance standardisation of an NCHW tensor over H×W in one pass.
pub fn standardise(x: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        let mean = x.mean_keepdim(&[2, 3][..])?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(&[2, 3][..])?;
        return centred.broadcast_div(&(var + eps)?.sqrt()?);
    }
    x.contiguous()?.apply_op1(Standardise(eps as f32))
}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// Both ops and their gradients agree with candle's own algebra.
    #[test]
    fn fused_ops_match_candle_algebra() {
        let x = Var::from_tensor(&random(&[2, 3, 5, 7], 1)).unwrap();
        let weight = random(&[2, 3, 5, 7], 2);
        type Op<'a> = &'a dyn Fn(&Tensor) -> Tensor;
        let cases: [(Op, Op); 2] = [
            (&|t| leaky_relu(t, 0.2).unwrap(), &|t| {
                candle_nn::ops::leaky_relu(t, 0.2).unwrap()
            }),
            (&|t| standardise(t, 1e-5).unwrap(), &|t| {
                let mean = t.mean_keepdim(&[2, 3][..]).unwrap();
                let c = t.broadcast_sub(&mean).unwrap();
                let var = c.sqr().unwrap().mean_keepdim(&[2, 3][..]).unwrap();
                c.broadcast_div(&(var + 1e-5).unwrap().sqrt().unwrap())
                    .unwrap()
            }),
        ];
        for (ours, theirs) in cases {
            let (a, b) = (ours(&x), theirs(&x));
            assert!(max_diff(&a, &b) < 1e-5);
            let ga = (a * &weight)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gb = (b * &weight)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            assert!(max_diff(ga.get(&x).unwrap(), gb.get(&x).unwrap()) < 1e-4);
        }
    }
}
