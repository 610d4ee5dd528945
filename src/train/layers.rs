//! The layers the book's generators and discriminators are made of, each with its forward
//! pass in candle and its export to ONNX nodes, so the exported graph is the trained one.

use candle_core::{DType, Tensor};

use super::graph::OnnxGraph;
pub use super::pad::Pad;
use super::params::Params;
use super::TrainError;
use crate::onnx::{Attr, TensorData};

/// Standard deviation of the normal initialisation (pix2pix).
const INIT_STD: f32 = 0.02;
const NORM_EPS: f64 = 1e-5;
const BATCH_NORM_MOMENTUM: f64 = 0.1;

/// A 2-D convolution with bias.
pub struct Conv {
    weight: Tensor,
    bias: Tensor,
    stride: usize,
    pad: Pad,
}

/// How a convolution's weights and biases start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// As pix2pix does: weights from N(0, 0.02²), biases at 0.
    Pix2Pix,
    /// He: weights from N(0, 2/fan-in), biases at 0, for a network without normalisation, so
    /// activations keep their scale through many layers.
    He,
    /// pix2pix's weights, the biases starting at this value.
    Bias(f32),
}

impl Init {
    /// The weights' standard deviation and the biases' value, for `fan_in` inputs to each
    /// output.
    fn std_and_bias(self, fan_in: usize) -> (f32, f32) {
        match self {
            Init::Pix2Pix => (INIT_STD, 0.0),
            Init::He => ((2.0 / fan_in as f32).sqrt(), 0.0),
            Init::Bias(bias) => (INIT_STD, bias),
        }
    }
}

impl Conv {
    /// A k×k convolution from `c_in` to `c_out` channels, initialised as `init` says.
    pub fn new(
        params: &mut Params,
        name: &str,
        (c_in, c_out, k): (usize, usize, usize),
        (stride, pad): (usize, Pad),
        init: Init,
    ) -> Result<Conv, TrainError> {
        let (std, bias) = init.std_and_bias(c_in * k * k);
        let weight = params.normal(&format!("{name}.weight"), &[c_out, c_in, k, k], std)?;
        let bias = params.constant(&format!("{name}.bias"), &[c_out], bias)?;
        Ok(Conv {
            weight: weight.as_tensor().clone(),
            bias: bias.as_tensor().clone(),
            stride,
            pad,
        })
    }

    /// This convolution and `other` (same input, stride and padding) as one, `other`'s output
    /// channels after this one's: one pass over the input instead of two.
    pub fn stacked(&self, other: &Conv) -> Result<Conv, TrainError> {
        Ok(Conv {
            weight: Tensor::cat(&[&self.weight, &other.weight], 0)?,
            bias: Tensor::cat(&[&self.bias, &other.bias], 0)?,
            stride: self.stride,
            pad: self.pad,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TrainError> {
        let y = super::conv::conv2d(x, &self.weight, self.stride, self.pad)?;
        Ok(y.broadcast_add(&self.bias.reshape((1, (), 1, 1))?)?)
    }

    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        let w = g.weight("conv_w", &self.weight)?;
        let b = g.weight("conv_b", &self.bias)?;
        let k = self.weight.dim(2)? as i64;
        let p = self.pad;
        let attrs = vec![
            ("kernel_shape", Attr::Ints(vec![k, k])),
            ("strides", Attr::Ints(vec![self.stride as i64; 2])),
            (
                "pads",
                Attr::Ints(vec![
                    p.top as i64,
                    p.left as i64,
                    p.bottom as i64,
                    p.right as i64,
                ]),
            ),
        ];
        Ok(g.node("Conv", &[x, &w, &b], attrs))
    }
}

/// Which normalisation follows a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormKind {
    /// Per image and channel: the same at training and inference, so export is exact.
    Instance,
    /// Per channel over the batch, with running statistics for inference (the book's choice).
    Batch,
}

/// A normalisation layer with learned scale and shift.
pub enum Norm {
    Instance { gamma: Tensor, beta: Tensor },
    Batch(BatchNorm),
}

/// Batch normalisation: a learned scale and shift, and the running statistics inference uses.
pub struct BatchNorm {
    gamma: Tensor,
    beta: Tensor,
    mean: Tensor,
    var: Tensor,
}

impl Norm {
    pub fn new(
        params: &mut Params,
        name: &str,
        kind: NormKind,
        channels: usize,
    ) -> Result<Norm, TrainError> {
        let gamma = params
            .constant(&format!("{name}.gamma"), &[channels], 1.0)?
            .as_tensor()
            .clone();
        let beta = params
            .constant(&format!("{name}.beta"), &[channels], 0.0)?
            .as_tensor()
            .clone();
        Ok(match kind {
            NormKind::Instance => Norm::Instance { gamma, beta },
            NormKind::Batch => Norm::Batch(BatchNorm {
                gamma,
                beta,
                mean: Tensor::zeros(channels, DType::F32, params.device())?,
                var: Tensor::ones(channels, DType::F32, params.device())?,
            }),
        })
    }

    /// Normalises; batch norm uses (and updates) batch statistics when `train`.
    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        match self {
            Norm::Instance { gamma, beta } => {
                Ok(super::fused::instance_norm(x, gamma, beta, NORM_EPS)?)
            }
            Norm::Batch(norm) => norm.forward(x, train),
        }
    }

    /// Instance norm as ONNX InstanceNormalization; batch norm folded into x·scale + shift.
    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        match self {
            Norm::Instance { gamma, beta } => {
                let s = g.weight("in_scale", gamma)?;
                let b = g.weight("in_bias", beta)?;
                Ok(g.node(
                    "InstanceNormalization",
                    &[x, &s, &b],
                    vec![("epsilon", Attr::Float(NORM_EPS as f32))],
                ))
            }
            Norm::Batch(norm) => norm.export(g, x),
        }
    }

    /// The running statistics (batch norm only), for checkpoints.
    pub fn running_stats(&self) -> Option<(&Tensor, &Tensor)> {
        match self {
            Norm::Batch(norm) => Some((&norm.mean, &norm.var)),
            Norm::Instance { .. } => None,
        }
    }

    pub fn set_running_stats(&mut self, new_mean: Tensor, new_var: Tensor) {
        if let Norm::Batch(norm) = self {
            norm.mean = new_mean;
            norm.var = new_var;
        }
    }
}

impl BatchNorm {
    /// Standardises by the batch's statistics when `train` (the running ones follow them),
    /// else by the running ones; then scales and shifts.
    fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        let normalised = match train {
            true => self.standardise_by_batch(x)?,
            false => {
                let m = self.mean.reshape((1, (), 1, 1))?;
                let s = (self.var.reshape((1, (), 1, 1))? + NORM_EPS)?.sqrt()?;
                x.broadcast_sub(&m)?.broadcast_div(&s)?
            }
        };
        let g = self.gamma.reshape((1, (), 1, 1))?;
        let b = self.beta.reshape((1, (), 1, 1))?;
        Ok(normalised.broadcast_mul(&g)?.broadcast_add(&b)?)
    }

    /// `x` standardised by its batch's statistics, which the running ones move toward.
    fn standardise_by_batch(&mut self, x: &Tensor) -> Result<Tensor, TrainError> {
        let (batch_mean, batch_var) = moments(x, &[0, 2, 3])?;
        let keep = 1.0 - BATCH_NORM_MOMENTUM;
        self.mean = (self.mean.affine(keep, 0.0)?
            + batch_mean.flatten_all()?.affine(BATCH_NORM_MOMENTUM, 0.0)?)?
        .detach();
        self.var = (self.var.affine(keep, 0.0)?
            + batch_var.flatten_all()?.affine(BATCH_NORM_MOMENTUM, 0.0)?)?
        .detach();
        Ok(x.broadcast_sub(&batch_mean)?
            .broadcast_div(&(batch_var + NORM_EPS)?.sqrt()?)?)
    }

    /// Folded into x·scale + shift.
    fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        let scale = self.gamma.div(&(&self.var + NORM_EPS)?.sqrt()?)?;
        let shift = self.beta.sub(&self.mean.mul(&scale)?)?;
        let c = scale.dim(0)?;
        let s = g.weight("bn_scale", &scale.reshape((1, c, 1, 1))?)?;
        let b = g.weight("bn_shift", &shift.reshape((1, c, 1, 1))?)?;
        let scaled = g.node("Mul", &[x, &s], vec![]);
        Ok(g.node("Add", &[&scaled, &b], vec![]))
    }
}

/// Mean and (biased) variance over `dims`, kept as size-1 axes.
fn moments(x: &Tensor, dims: &[usize]) -> Result<(Tensor, Tensor), TrainError> {
    let mean = x.mean_keepdim(dims)?;
    let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(dims)?;
    Ok((mean, var))
}

pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor, TrainError> {
    Ok(super::fused::leaky_relu(x, slope)?)
}

pub fn export_leaky_relu(g: &mut OnnxGraph, x: &str, slope: f32) -> String {
    g.node("LeakyRelu", &[x], vec![("alpha", Attr::Float(slope))])
}

/// Nearest-neighbour ×2 upsampling.
pub fn upsample2(x: &Tensor) -> Result<Tensor, TrainError> {
    Ok(super::fused::upsample2(x)?)
}

pub fn export_upsample2(g: &mut OnnxGraph, x: &str) -> String {
    let scales = g.constant(
        "scales",
        vec![4],
        TensorData::Float(vec![1.0, 1.0, 2.0, 2.0]),
    );
    g.node(
        "Resize",
        &[x, "", &scales],
        vec![
            ("mode", Attr::Str("nearest".into())),
            ("nearest_mode", Attr::Str("floor".into())),
            (
                "coordinate_transformation_mode",
                Attr::Str("asymmetric".into()),
            ),
        ],
    )
}

/// A fully connected layer on flat features, He-initialised.
pub struct Dense {
    /// [out, in], as ONNX's Gemm with transB takes it.
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    pub fn new(
        params: &mut Params,
        name: &str,
        (n_in, n_out): (usize, usize),
    ) -> Result<Dense, TrainError> {
        let std = (2.0 / n_in as f32).sqrt();
        let weight = params.normal(&format!("{name}.weight"), &[n_out, n_in], std)?;
        let bias = params.constant(&format!("{name}.bias"), &[n_out], 0.0)?;
        Ok(Dense {
            weight: weight.as_tensor().clone(),
            bias: bias.as_tensor().clone(),
        })
    }

    /// `x` is [batch, in].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TrainError> {
        Ok(x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)?)
    }

    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        let w = g.weight("dense_w", &self.weight)?;
        let b = g.weight("dense_b", &self.bias)?;
        Ok(g.node("Gemm", &[x, &w, &b], vec![("transB", Attr::Int(1))]))
    }
}

/// Mean absolute error.
pub fn l1(a: &Tensor, b: &Tensor) -> Result<Tensor, TrainError> {
    Ok((a - b)?.abs()?.mean_all()?)
}

/// Mean absolute error with each element weighted by `weight` (broadcast to `a`'s shape).
pub fn weighted_l1(a: &Tensor, b: &Tensor, weight: &Tensor) -> Result<Tensor, TrainError> {
    let error = (a - b)?.abs()?.mul(weight)?.sum_all()?;
    Ok(error.div(&weight.sum_all()?)?)
}

/// Mean squared error against a constant target (LSGAN).
pub fn mse_to(x: &Tensor, target: f64) -> Result<Tensor, TrainError> {
    Ok((x - target)?.sqr()?.mean_all()?)
}

/// Taps of the Gaussian window SSIM is computed over (σ 1.5, as its authors and faceswap use).
const SSIM_TAPS: usize = 11;
const SSIM_SIGMA: f64 = 1.5;

/// Structural dissimilarity, (1 − SSIM) / 2, of each pixel of `a` against `b` (N, C, H, W,
/// values spanning `range`) over a Gaussian window, averaged with each pixel weighted by
/// `weight` (broadcast to `a`'s shape). Where L1 is content with a blurred face that is right
/// on average, DSSIM asks for the local contrast and structure of the real one: what keeps
/// pores, lashes and edges. Pixels closer to the border than half the window are left out.
pub fn weighted_dssim(
    a: &Tensor,
    b: &Tensor,
    weight: &Tensor,
    range: f64,
) -> Result<Tensor, TrainError> {
    let (n, c, h, w) = a.dims4()?;
    if h < SSIM_TAPS || w < SSIM_TAPS {
        return Err(TrainError::Internal(
            "pictures smaller than the SSIM window",
        ));
    }
    let taps: Vec<f32> = (0..SSIM_TAPS)
        .map(|i| {
            let d = i as f64 - (SSIM_TAPS / 2) as f64;
            (-d * d / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp() as f32
        })
        .collect();
    let total: f32 = taps.iter().sum();
    let taps: Vec<f32> = taps.iter().map(|t| t / total).collect();
    let r = SSIM_TAPS / 2;
    let (h_out, w_out) = (h - 2 * r, w - 2 * r);
    // The window is separable, and each pass a product with a banded matrix (`len` ×
    // `len − 2r`, column j holding the taps on rows j..j + taps): one matrix product per pass
    // is far cheaper on a CPU than a convolution with a one-channel kernel, forward and back.
    let band = |len: usize| -> Result<Tensor, TrainError> {
        let out = len - 2 * r;
        let mut m = vec![0f32; len * out];
        for j in 0..out {
            for (k, tap) in taps.iter().enumerate() {
                m[(j + k) * out + j] = *tap;
            }
        }
        Ok(Tensor::from_vec(m, (len, out), a.device())?.to_dtype(a.dtype())?)
    };
    let (along_rows, along_columns) = (band(w)?, band(h)?);
    // Each channel of each picture on its own: (N·C, H, W) → (N·C, H − 2r, W − 2r).
    let local_mean = |x: &Tensor| -> Result<Tensor, TrainError> {
        let x = x.reshape((n * c, h, w))?;
        let rows = x.broadcast_matmul(&along_rows)?;
        let both = rows.transpose(1, 2)?.broadcast_matmul(&along_columns)?;
        Ok(both.transpose(1, 2)?)
    };
    let (mean_a, mean_b) = (local_mean(a)?, local_mean(b)?);
    let mean_ab = (&mean_a * &mean_b)?;
    let var_a = (local_mean(&a.sqr()?)? - mean_a.sqr()?)?;
    let var_b = (local_mean(&b.sqr()?)? - mean_b.sqr()?)?;
    let covariance = (local_mean(&(a * b)?)? - &mean_ab)?;
    let (c1, c2) = ((0.01 * range).powi(2), (0.03 * range).powi(2));
    let numerator = ((mean_ab * 2.0)? + c1)?.mul(&((covariance * 2.0)? + c2)?)?;
    let denominator = ((mean_a.sqr()? + mean_b.sqr()?)? + c1)?.mul(&((var_a + var_b)? + c2)?)?;
    let ssim = numerator.div(&denominator)?;
    let dssim = ((1.0 - ssim)? * 0.5)?.reshape((n, c, h_out, w_out))?;
    let weight = weight
        .broadcast_as(a.shape())?
        .narrow(2, r, h_out)?
        .narrow(3, r, w_out)?;
    Ok(dssim.mul(&weight)?.sum_all()?.div(&weight.sum_all()?)?)
}
