//! The book's face-swap autoencoder (DESIGN §5): one encoder shared by both people, one
//! decoder each. A face of A encoded and decoded by B's decoder comes out as B with A's pose
//! and expression.
//!
//! Encoder (`tiny`, `small`, `base`): 64×64×3 → four Conv 5×5 stride 2 + LeakyReLU 0.1 (f, 2f, 4f, 8f filters) → Dense
//! 8f → Dense 4·4·8f → reshape 4×4×8f → upscale(4f) = 8×8×4f. Decoder: upscale(8f) →
//! upscale(4f) → upscale(2f) → Conv 5×5 → 3 channels, sigmoid; upscale(n) is Conv 3×3 with n
//! filters → LeakyReLU 0.1 → UpSampling ×2. At f = 128 (`base`) this is the book's network:
//! 1024-wide dense layers, decoder convolutions of 1024, 512 and 256 filters, ≈77 M parameters.
//!
//! At 128 px (the `tiny128` preset) the encoder has a fifth convolution (8f filters) down to
//! the same 4×4 bottleneck and the decoder a fourth upscale (f filters) up to 128: the wide
//! layers stay at low resolution and the full-size ones are the narrowest, so a CPU can
//! train it.

use candle_core::Tensor;

use super::super::graph::OnnxGraph;
use super::super::layers::{self, Conv, Dense, Init, Pad};
use super::super::params::Params;
use super::super::TrainError;

const SLOPE: f64 = 0.1;
/// The encoder's convolutions shrink the face to 4×4.
const BOTTLENECK: usize = 4;

/// The stride-2 convolutions that take a face of `size` down to the bottleneck (4 at 64 px).
fn halvings(size: usize) -> usize {
    (size / BOTTLENECK).max(1).ilog2() as usize
}

/// A convolution followed by LeakyReLU 0.1, optionally then ×2 upsampling.
struct Block {
    conv: Conv,
    upsample: bool,
}

/// What a block does to the picture's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Conv 5×5 stride 2: half the side.
    Down,
    /// Conv 3×3, then ×2 upsampling: twice the side.
    Upscale,
}

impl Block {
    fn new(
        params: &mut Params,
        name: &str,
        step: Step,
        (c_in, c_out): (usize, usize),
    ) -> Result<Block, TrainError> {
        let (k, stride, pad) = match step {
            Step::Down => (5, 2, Pad::same(2)),
            Step::Upscale => (3, 1, Pad::same(1)),
        };
        Ok(Block {
            conv: Conv::new(params, name, (c_in, c_out, k), (stride, pad), Init::He)?,
            upsample: step == Step::Upscale,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, TrainError> {
        let y = layers::leaky_relu(&self.conv.forward(x)?, SLOPE)?;
        match self.upsample {
            true => layers::upsample2(&y),
            false => Ok(y),
        }
    }

    fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        let y = self.conv.export(g, x)?;
        let y = layers::export_leaky_relu(g, &y, SLOPE as f32);
        Ok(match self.upsample {
            true => layers::export_upsample2(g, &y),
            false => y,
        })
    }
}

/// The shared encoder: a face in [0, 1] to the 8×8×4f embedding.
pub struct Encoder {
    size: usize,
    filters: usize,
    down: Vec<Block>,
    dense_in: Dense,
    dense_out: Dense,
    up: Block,
}

impl Encoder {
    /// The encoder of faces of `size` (64 or 128) pixels.
    pub fn new(params: &mut Params, filters: usize, size: usize) -> Result<Encoder, TrainError> {
        let f = filters;
        // 3 → f → 2f → 4f → 8f, then 8f for every further halving.
        let width = |i: usize| if i == 0 { 3 } else { f << (i - 1).min(3) };
        let down = (0..halvings(size))
            .map(|i| {
                Block::new(
                    params,
                    &format!("enc.down{i}"),
                    Step::Down,
                    (width(i), width(i + 1)),
                )
            })
            .collect::<Result<_, _>>()?;
        let flat = 8 * f * BOTTLENECK * BOTTLENECK;
        Ok(Encoder {
            size,
            filters,
            down,
            dense_in: Dense::new(params, "enc.dense_in", (flat, 8 * f))?,
            dense_out: Dense::new(params, "enc.dense_out", (8 * f, flat))?,
            up: Block::new(params, "enc.up", Step::Upscale, (8 * f, 4 * f))?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TrainError> {
        let mut y = x.clone();
        for block in &self.down {
            y = block.forward(&y)?;
        }
        let n = y.dim(0)?;
        let y = self.dense_in.forward(&y.flatten_from(1)?)?;
        let y = self.dense_out.forward(&y)?;
        let y = y.reshape((n, 8 * self.filters, BOTTLENECK, BOTTLENECK))?;
        self.up.forward(&y)
    }

    fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        let mut y = x.to_string();
        for block in &self.down {
            y = block.export(g, &y)?;
        }
        let y = g.node("Flatten", &[&y], vec![("axis", crate::onnx::Attr::Int(1))]);
        let y = self.dense_in.export(g, &y)?;
        let y = self.dense_out.export(g, &y)?;
        let shape = g.constant(
            "shape",
            vec![4],
            crate::onnx::TensorData::Int64(vec![
                -1,
                (8 * self.filters) as i64,
                BOTTLENECK as i64,
                BOTTLENECK as i64,
            ]),
        );
        let y = g.node("Reshape", &[&y, &shape], vec![]);
        self.up.export(g, &y)
    }
}

/// One person's decoder: the embedding to a face in [0, 1] (64 or 128 pixels).
pub struct Decoder {
    up: Vec<Block>,
    out: Conv,
}

impl Decoder {
    /// The decoder of faces of `size` (64 or 128) pixels.
    pub fn new(
        params: &mut Params,
        name: &str,
        filters: usize,
        size: usize,
    ) -> Result<Decoder, TrainError> {
        let f = filters;
        // 4f (the embedding) → 8f → 4f → 2f → f: one upscale per doubling from 8×8.
        let widths = [4 * f, 8 * f, 4 * f, 2 * f, f];
        let ups = halvings(size) - 1;
        let up = (0..ups)
            .map(|i| {
                Block::new(
                    params,
                    &format!("{name}.up{i}"),
                    Step::Upscale,
                    (widths[i], widths[i + 1]),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Decoder {
            up,
            out: Conv::new(
                params,
                &format!("{name}.out"),
                (widths[ups], 3, 5),
                (1, Pad::same(2)),
                Init::He,
            )?,
        })
    }

    pub fn forward(&self, embedding: &Tensor) -> Result<Tensor, TrainError> {
        let mut y = embedding.clone();
        for block in &self.up {
            y = block.forward(&y)?;
        }
        Ok(candle_nn::ops::sigmoid(&self.out.forward(&y)?)?)
    }

    fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        let mut y = x.to_string();
        for block in &self.up {
            y = block.export(g, &y)?;
        }
        let y = self.out.export(g, &y)?;
        Ok(g.node("Sigmoid", &[&y], vec![]))
    }
}

/// The encoder followed by one decoder in DeepFaceLive's `.dfm` signature (DESIGN §4): input
/// `in_face:0` NHWC BGR in [0, 1]; outputs `out_face_mask:0`, `out_celeb_face:0` and
/// `out_celeb_face_mask:0`, in DeepFaceLive's order. This network learns no mask, so both masks
/// are the whole crop (mimic's blend masks by landmarks).
pub fn export_dfm(encoder: &Encoder, decoder: &Decoder) -> Result<crate::onnx::Model, TrainError> {
    use crate::infer::{DFM_FACE, DFM_INPUT};
    use crate::onnx::{Attr, TensorData};
    let side = encoder.size as i64;
    let mut g = OnnxGraph::new("mimic-swap-dfm", DFM_INPUT, vec![1, side, side, 3]);
    let perm = |p: [i64; 4]| vec![("perm", Attr::Ints(p.to_vec()))];
    let reverse = g.constant("bgr", vec![3], TensorData::Int64(vec![2, 1, 0]));
    let flip =
        |g: &mut OnnxGraph, x: &str| g.node("Gather", &[x, &reverse], vec![("axis", Attr::Int(1))]);
    let nchw = g.node("Transpose", &[DFM_INPUT], perm([0, 3, 1, 2]));
    let rgb = flip(&mut g, &nchw);
    let embedding = encoder.export(&mut g, &rgb)?;
    let face = decoder.export(&mut g, &embedding)?;
    let bgr = flip(&mut g, &face);
    let nhwc = g.node("Transpose", &[&bgr], perm([0, 2, 3, 1]));
    let plane = (side * side) as usize;
    let ones = g.constant(
        "mask",
        vec![1, side, side, 1],
        TensorData::Float(vec![1.0; plane]),
    );
    let mask_dims = vec![1, side, side, 1];
    Ok(g.finish_many(&[
        (&ones, "out_face_mask:0", mask_dims.clone()),
        (&nhwc, DFM_FACE, vec![1, side, side, 3]),
        (&ones, "out_celeb_face_mask:0", mask_dims),
    ]))
}

/// The encoder followed by one decoder, as one ONNX graph: NCHW, [0, 1] in and out.
pub fn export(encoder: &Encoder, decoder: &Decoder) -> Result<crate::onnx::Model, TrainError> {
    let side = encoder.size as i64;
    let mut g = OnnxGraph::new("mimic-swap", "face", vec![1, 3, side, side]);
    let embedding = encoder.export(&mut g, "face")?;
    let y = decoder.export(&mut g, &embedding)?;
    Ok(g.finish(&y, "swapped", vec![1, 3, side, side]))
}
