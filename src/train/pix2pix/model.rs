//! The book's pix2pix networks (DESIGN §5): a U-Net generator and a PatchGAN discriminator.
//!
//! Generator: 7 encoder blocks (Conv 4×4 stride 2 → LeakyReLU 0.2 → norm, none on the first;
//! filters f,2f,4f,8f,8f,8f,8f), 6 decoder blocks (UpSampling ×2 → Conv 4×4 stride 1 → ReLU →
//! dropout → norm → concat skip; filters 8f,8f,8f,8f,2f,f), UpSampling → Conv 4×4 → tanh.
//! Discriminator: PatchGAN on (image, condition), 4 blocks (f,2f,4f,8f, stride 2) → Conv 4×4
//! → one channel. A norm on a 1×1 map (the tiny preset's bottleneck) is left out: instance
//! norm would turn it into a constant.

use candle_core::Tensor;

use super::super::graph::OnnxGraph;
use super::super::layers::{self, Conv, Norm, NormKind, Pad};
use super::super::params::Params;
use super::super::TrainError;

const KERNEL: usize = 4;
const SLOPE: f64 = 0.2;
const ENCODER_WIDTHS: [usize; 7] = [1, 2, 4, 8, 8, 8, 8];
const DECODER_WIDTHS: [usize; 6] = [8, 8, 8, 8, 2, 1];
const DISCRIMINATOR_WIDTHS: [usize; 4] = [1, 2, 4, 8];

/// Network sizes: image side and base width f.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Architecture {
    pub size: usize,
    pub filters: usize,
    pub norm: NormKind,
    /// Dropout rate in the decoder while training (0 disables it).
    pub dropout: f32,
}

impl Architecture {
    /// Multiply-adds of the generator's and the discriminator's convolutions in one forward
    /// pass, counted ×2 as FLOPs: (generator, discriminator).
    pub fn forward_flops(&self) -> (u64, u64) {
        let f = self.filters as u64;
        let conv = |c_in: u64, c_out: u64, side: u64| {
            2 * c_in * c_out * (KERNEL * KERNEL) as u64 * side * side
        };
        let (mut g, mut c_in, mut side) = (0, 3, self.size as u64);
        for w in ENCODER_WIDTHS {
            side /= 2;
            g += conv(c_in, w as u64 * f, side);
            c_in = w as u64 * f;
        }
        for (i, w) in DECODER_WIDTHS.iter().enumerate() {
            side *= 2;
            g += conv(c_in, *w as u64 * f, side);
            c_in = *w as u64 * f + ENCODER_WIDTHS[ENCODER_WIDTHS.len() - 2 - i] as u64 * f;
        }
        g += conv(c_in, 3, self.size as u64);
        let (mut d, mut c_in, mut side) = (0, 6, self.size as u64);
        for w in DISCRIMINATOR_WIDTHS {
            side /= 2;
            d += conv(c_in, w as u64 * f, side);
            c_in = w as u64 * f;
        }
        d += conv(c_in, 1, side);
        (g, d)
    }

    /// Convolution FLOPs of one training step: the generator runs forward once and backward
    /// once (input and weight gradients: twice its forward cost); the discriminator runs
    /// forward three times (real, generated, generated again for the generator's loss) and
    /// backward three times.
    pub fn step_flops(&self) -> u64 {
        let (g, d) = self.forward_flops();
        3 * g + 9 * d
    }
}

struct Down {
    conv: Conv,
    norm: Option<Norm>,
}

impl Down {
    fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        let y = layers::leaky_relu(&self.conv.forward(x)?, SLOPE)?;
        match &mut self.norm {
            Some(norm) => norm.forward(&y, train),
            None => Ok(y),
        }
    }

    fn export(&self, g: &mut OnnxGraph, x: &str) -> Result<String, TrainError> {
        let y = self.conv.export(g, x)?;
        let y = layers::export_leaky_relu(g, &y, SLOPE as f32);
        match &self.norm {
            Some(norm) => norm.export(g, &y),
            None => Ok(y),
        }
    }
}

struct Up {
    conv: Conv,
    norm: Option<Norm>,
}

impl Up {
    fn forward(
        &mut self,
        x: &Tensor,
        skip: &Tensor,
        dropout: f32,
        train: bool,
    ) -> Result<Tensor, TrainError> {
        // ReLU is the leaky op with slope 0: one fused pass each way.
        let mut y = layers::leaky_relu(&self.conv.forward(&layers::upsample2(x)?)?, 0.0)?;
        if train && dropout > 0.0 {
            y = candle_nn::ops::dropout(&y, dropout)?;
        }
        if let Some(norm) = &mut self.norm {
            y = norm.forward(&y, train)?;
        }
        Ok(Tensor::cat(&[&y, skip], 1)?)
    }

    fn export(&self, g: &mut OnnxGraph, x: &str, skip: &str) -> Result<String, TrainError> {
        let y = layers::export_upsample2(g, x);
        let y = self.conv.export(g, &y)?;
        let mut y = g.node("Relu", &[&y], vec![]);
        if let Some(norm) = &self.norm {
            y = norm.export(g, &y)?;
        }
        Ok(g.node(
            "Concat",
            &[&y, skip],
            vec![("axis", crate::onnx::Attr::Int(1))],
        ))
    }
}

/// The U-Net generator: sketch in, frame out, both in [-1, 1].
pub struct Generator {
    arch: Architecture,
    down: Vec<Down>,
    up: Vec<Up>,
    last: Conv,
}

impl Generator {
    pub fn new(params: &mut Params, arch: Architecture) -> Result<Generator, TrainError> {
        let f = arch.filters;
        let mut down = Vec::new();
        let (mut c_in, mut side) = (3, arch.size);
        for (i, w) in ENCODER_WIDTHS.iter().enumerate() {
            let c_out = w * f;
            side /= 2;
            let conv = Conv::new(
                params,
                &format!("g.down{i}"),
                (c_in, c_out, KERNEL),
                2,
                Pad::same(1),
            )?;
            let norm = (i > 0 && side > 1)
                .then(|| Norm::new(params, &format!("g.down{i}.norm"), arch.norm, c_out))
                .transpose()?;
            down.push(Down { conv, norm });
            c_in = c_out;
        }
        let mut up = Vec::new();
        for (i, w) in DECODER_WIDTHS.iter().enumerate() {
            let c_out = w * f;
            let skip = ENCODER_WIDTHS[ENCODER_WIDTHS.len() - 2 - i] * f;
            let conv = Conv::new(
                params,
                &format!("g.up{i}"),
                (c_in, c_out, KERNEL),
                1,
                Pad::keras_same(KERNEL),
            )?;
            let norm = Some(Norm::new(
                params,
                &format!("g.up{i}.norm"),
                arch.norm,
                c_out,
            )?);
            up.push(Up { conv, norm });
            c_in = c_out + skip;
        }
        let last = Conv::new(
            params,
            "g.last",
            (c_in, 3, KERNEL),
            1,
            Pad::keras_same(KERNEL),
        )?;
        Ok(Generator {
            arch,
            down,
            up,
            last,
        })
    }

    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        let mut skips = Vec::with_capacity(self.down.len());
        let mut y = x.clone();
        for block in &mut self.down {
            y = block.forward(&y, train)?;
            skips.push(y.clone());
        }
        skips.pop();
        for block in &mut self.up {
            let skip = skips
                .pop()
                .ok_or(TrainError::Internal("U-Net skip count"))?;
            y = block.forward(&y, &skip, self.arch.dropout, train)?;
        }
        Ok(self.last.forward(&layers::upsample2(&y)?)?.tanh()?)
    }

    /// The generator as an ONNX graph: input `input` [1,3,S,S], output `output` [1,3,S,S].
    pub fn export(&self) -> Result<crate::onnx::Model, TrainError> {
        let s = self.arch.size as i64;
        let mut g = OnnxGraph::new("pix2pix_generator", "input", vec![1, 3, s, s]);
        let mut skips = Vec::new();
        let mut y = "input".to_string();
        for block in &self.down {
            y = block.export(&mut g, &y)?;
            skips.push(y.clone());
        }
        skips.pop();
        for block in &self.up {
            let skip = skips
                .pop()
                .ok_or(TrainError::Internal("U-Net skip count"))?;
            y = block.export(&mut g, &y, &skip)?;
        }
        let y = layers::export_upsample2(&mut g, &y);
        let y = self.last.export(&mut g, &y)?;
        let y = g.node("Tanh", &[&y], vec![]);
        Ok(g.finish(&y, "output", vec![1, 3, s, s]))
    }

    /// Every norm layer, in a fixed order (batch-norm statistics go into checkpoints).
    pub fn norms_mut(&mut self) -> impl Iterator<Item = &mut Norm> {
        let down = self.down.iter_mut().filter_map(|b| b.norm.as_mut());
        let up = self.up.iter_mut().filter_map(|b| b.norm.as_mut());
        down.chain(up)
    }
}

/// The PatchGAN discriminator: scores each patch of (image, condition) as real or fake.
pub struct Discriminator {
    blocks: Vec<Down>,
    last: Conv,
}

impl Discriminator {
    pub fn new(params: &mut Params, arch: Architecture) -> Result<Discriminator, TrainError> {
        let f = arch.filters;
        let mut blocks = Vec::new();
        let mut c_in = 6;
        for (i, w) in DISCRIMINATOR_WIDTHS.iter().enumerate() {
            let c_out = w * f;
            let conv = Conv::new(
                params,
                &format!("d.block{i}"),
                (c_in, c_out, KERNEL),
                2,
                Pad::same(1),
            )?;
            let norm = (i > 0)
                .then(|| Norm::new(params, &format!("d.block{i}.norm"), arch.norm, c_out))
                .transpose()?;
            blocks.push(Down { conv, norm });
            c_in = c_out;
        }
        let last = Conv::new(
            params,
            "d.last",
            (c_in, 1, KERNEL),
            1,
            Pad::keras_same(KERNEL),
        )?;
        Ok(Discriminator { blocks, last })
    }

    pub fn forward(
        &mut self,
        image: &Tensor,
        condition: &Tensor,
        train: bool,
    ) -> Result<Tensor, TrainError> {
        let mut y = Tensor::cat(&[image, condition], 1)?;
        for block in &mut self.blocks {
            y = block.forward(&y, train)?;
        }
        self.last.forward(&y)
    }

    pub fn norms_mut(&mut self) -> impl Iterator<Item = &mut Norm> {
        self.blocks.iter_mut().filter_map(|b| b.norm.as_mut())
    }
}
