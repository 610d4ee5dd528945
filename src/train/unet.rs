//! The image-to-image networks the GAN trainers share (DESIGN §5): a U-Net generator of any
//! depth (pix2pix's 7 down / 6 up, CycleGAN's and DualGAN's 4 down / 3 up), the same network
//! without its skips (DiscoGAN's encoder–decoder), and the PatchGAN discriminator.
//!
//! Down block: Conv 4×4 stride 2 → LeakyReLU 0.2 → norm (none on the first, nor on a 1×1 map,
//! where instance norm would make a constant). Up block: UpSampling ×2 → Conv 4×4 stride 1 →
//! ReLU → dropout (training only) → norm → concat skip. Then UpSampling → Conv 4×4 → tanh.
//! PatchGAN: down blocks (f, 2f, 4f, 8f) → Conv 4×4 → one channel per patch.
//!
//! A U-Net may also be given a picture to copy ([`UNetShape::reference`]): its input's last
//! three channels are that picture, and beside its own frame it makes a mask (Conv 4×4 →
//! sigmoid) saying where to show the picture instead. Reenactment feeds it the target's
//! reference moved onto the sketch's landmarks, so the network only paints what moving a
//! still picture cannot show.

use candle_core::Tensor;

use super::graph::OnnxGraph;
use super::layers::{self, Conv, Init, Norm, NormKind, Pad};
use super::params::Params;
use super::TrainError;

pub const KERNEL: usize = 4;
const SLOPE: f64 = 0.2;
/// The PatchGAN's widths, as multiples of its base width.
pub const PATCHGAN_WIDTHS: [usize; 4] = [1, 2, 4, 8];

/// The shape of a U-Net: image side, base width f, the width multiples of its down and up
/// blocks (one fewer up than down), whether up blocks take the skips, norm and dropout.
#[derive(Debug, Clone, PartialEq)]
pub struct UNetShape {
    pub size: usize,
    pub filters: usize,
    pub down: Vec<usize>,
    pub up: Vec<usize>,
    pub skips: bool,
    pub norm: NormKind,
    /// Dropout rate in the up blocks while training (0 disables it).
    pub dropout: f32,
    /// Whether the last three input channels are a reference picture the output blends with
    /// (exported as a second input, `reference`), after the three of the condition.
    pub reference: bool,
}

impl UNetShape {
    /// Channels of the network's input: the condition, and the reference when it takes one.
    pub fn channels(&self) -> usize {
        match self.reference {
            true => 6,
            false => 3,
        }
    }
}

/// Where the blend mask starts: sigmoid(2) ≈ 0.88 of the reference, so a short run begins
/// from the moved picture instead of from grey.
const MASK_BIAS: f32 = 2.0;

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
        skip: Option<&Tensor>,
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
        match skip {
            Some(skip) => Ok(Tensor::cat(&[&y, skip], 1)?),
            None => Ok(y),
        }
    }

    fn export(&self, g: &mut OnnxGraph, x: &str, skip: Option<&str>) -> Result<String, TrainError> {
        let y = layers::export_upsample2(g, x);
        let y = self.conv.export(g, &y)?;
        let mut y = g.node("Relu", &[&y], vec![]);
        if let Some(norm) = &self.norm {
            y = norm.export(g, &y)?;
        }
        Ok(match skip {
            Some(skip) => g.node(
                "Concat",
                &[&y, skip],
                vec![("axis", crate::onnx::Attr::Int(1))],
            ),
            None => y,
        })
    }
}

/// The U-Net (or, without skips, encoder–decoder) generator: image in, image out, both in
/// [-1, 1].
pub struct UNet {
    shape: UNetShape,
    down: Vec<Down>,
    up: Vec<Up>,
    last: Conv,
    /// The blend mask's convolution, for a network with a reference.
    mask: Option<Conv>,
}

impl UNet {
    /// A new network whose parameters are named `{prefix}.down0`… (pix2pix's are `g`).
    pub fn new(params: &mut Params, prefix: &str, shape: UNetShape) -> Result<UNet, TrainError> {
        if shape.up.len() + 1 != shape.down.len() {
            return Err(TrainError::Internal(
                "a U-Net has one up block fewer than down blocks",
            ));
        }
        let f = shape.filters;
        let mut down = Vec::new();
        let (mut c_in, mut side) = (shape.channels(), shape.size);
        for (i, w) in shape.down.iter().enumerate() {
            let c_out = w * f;
            side /= 2;
            let conv = Conv::new(
                params,
                &format!("{prefix}.down{i}"),
                (c_in, c_out, KERNEL),
                (2, Pad::same(1)),
                Init::Pix2Pix,
            )?;
            let norm = (i > 0 && side > 1)
                .then(|| Norm::new(params, &format!("{prefix}.down{i}.norm"), shape.norm, c_out))
                .transpose()?;
            down.push(Down { conv, norm });
            c_in = c_out;
        }
        let mut up = Vec::new();
        for (i, w) in shape.up.iter().enumerate() {
            let c_out = w * f;
            let skip = match shape.skips {
                true => shape.down[shape.down.len() - 2 - i] * f,
                false => 0,
            };
            let conv = Conv::new(
                params,
                &format!("{prefix}.up{i}"),
                (c_in, c_out, KERNEL),
                (1, Pad::keras_same(KERNEL)),
                Init::Pix2Pix,
            )?;
            let norm = Some(Norm::new(
                params,
                &format!("{prefix}.up{i}.norm"),
                shape.norm,
                c_out,
            )?);
            up.push(Up { conv, norm });
            c_in = c_out + skip;
        }
        let last = Conv::new(
            params,
            &format!("{prefix}.last"),
            (c_in, 3, KERNEL),
            (1, Pad::keras_same(KERNEL)),
            Init::Pix2Pix,
        )?;
        let mask = shape
            .reference
            .then(|| {
                Conv::new(
                    params,
                    &format!("{prefix}.mask"),
                    (c_in, 1, KERNEL),
                    (1, Pad::keras_same(KERNEL)),
                    Init::Bias(MASK_BIAS),
                )
            })
            .transpose()?;
        Ok(UNet {
            shape,
            down,
            up,
            last,
            mask,
        })
    }

    pub fn shape(&self) -> &UNetShape {
        &self.shape
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
            let skip = self.shape.skips.then_some(&skip);
            y = block.forward(&y, skip, self.shape.dropout, train)?;
        }
        let y = layers::upsample2(&y)?;
        let Some(mask) = &self.mask else {
            return Ok(self.last.forward(&y)?.tanh()?);
        };
        // Picture and mask from one convolution (the last layer's input is the network's
        // largest: one pass over it, not two), then painted + m · (reference − painted): m = 1
        // shows the reference, 0 the painting.
        let heads = self.last.stacked(mask)?.forward(&y)?;
        let painted = heads.narrow(1, 0, 3)?.tanh()?;
        let m = candle_nn::ops::sigmoid(&heads.narrow(1, 3, 1)?)?;
        let reference = x.narrow(1, 3, 3)?;
        Ok((&painted + (reference - &painted)?.broadcast_mul(&m)?)?)
    }

    /// The network as an ONNX graph: input `input` [1,3,S,S] (and `reference` [1,3,S,S] for
    /// a network with a reference), output `output` [1,3,S,S].
    pub fn export(&self, name: &str) -> Result<crate::onnx::Model, TrainError> {
        let s = self.shape.size as i64;
        let mut g = OnnxGraph::new(name, "input", vec![1, 3, s, s]);
        let mut skips = Vec::new();
        let mut y = "input".to_string();
        if self.mask.is_some() {
            g.add_input(crate::infer::REFERENCE_INPUT, vec![1, 3, s, s]);
            let axis = vec![("axis", crate::onnx::Attr::Int(1))];
            y = g.node("Concat", &["input", crate::infer::REFERENCE_INPUT], axis);
        }
        for block in &self.down {
            y = block.export(&mut g, &y)?;
            skips.push(y.clone());
        }
        skips.pop();
        for block in &self.up {
            let skip = skips
                .pop()
                .ok_or(TrainError::Internal("U-Net skip count"))?;
            let skip = self.shape.skips.then_some(skip.as_str());
            y = block.export(&mut g, &y, skip)?;
        }
        let y = layers::export_upsample2(&mut g, &y);
        let out = match &self.mask {
            Some(mask) => {
                let heads = self.last.stacked(mask)?.export(&mut g, &y)?;
                let painted = channels(&mut g, &heads, 0..3);
                let painted = g.node("Tanh", &[&painted], vec![]);
                let m = channels(&mut g, &heads, 3..4);
                let m = g.node("Sigmoid", &[&m], vec![]);
                let away = g.node("Sub", &[crate::infer::REFERENCE_INPUT, &painted], vec![]);
                let moved = g.node("Mul", &[&away, &m], vec![]);
                g.node("Add", &[&painted, &moved], vec![])
            }
            None => {
                let painted = self.last.export(&mut g, &y)?;
                g.node("Tanh", &[&painted], vec![])
            }
        };
        Ok(g.finish(&out, "output", vec![1, 3, s, s]))
    }

    /// Every norm layer, in a fixed order (batch-norm statistics go into checkpoints).
    pub fn norms_mut(&mut self) -> impl Iterator<Item = &mut Norm> {
        let down = self.down.iter_mut().filter_map(|b| b.norm.as_mut());
        let up = self.up.iter_mut().filter_map(|b| b.norm.as_mut());
        down.chain(up)
    }
}

/// Channels `range` of an NCHW value, as an ONNX Slice.
fn channels(g: &mut OnnxGraph, x: &str, range: std::ops::Range<i64>) -> String {
    let constant = |g: &mut OnnxGraph, name: &str, v: i64| {
        g.constant(name, vec![1], crate::onnx::TensorData::Int64(vec![v]))
    };
    let starts = constant(g, "slice_start", range.start);
    let ends = constant(g, "slice_end", range.end);
    let axes = constant(g, "slice_axis", 1);
    g.node("Slice", &[x, &starts, &ends, &axes], vec![])
}

/// The PatchGAN discriminator: scores each patch of its input as real or fake.
pub struct PatchGan {
    blocks: Vec<Down>,
    last: Conv,
}

impl PatchGan {
    /// A discriminator of `channels` input channels (pix2pix: image and condition, 6), base
    /// width `filters`, parameters named `{prefix}.block0`… (pix2pix's are `d`); `norm: None`
    /// leaves every block unnormalised (a Wasserstein critic).
    pub fn new(
        params: &mut Params,
        prefix: &str,
        channels: usize,
        filters: usize,
        norm: Option<NormKind>,
    ) -> Result<PatchGan, TrainError> {
        let mut blocks = Vec::new();
        let mut c_in = channels;
        for (i, w) in PATCHGAN_WIDTHS.iter().enumerate() {
            let c_out = w * filters;
            let conv = Conv::new(
                params,
                &format!("{prefix}.block{i}"),
                (c_in, c_out, KERNEL),
                (2, Pad::same(1)),
                Init::Pix2Pix,
            )?;
            let norm = match norm {
                Some(kind) if i > 0 => Some(Norm::new(
                    params,
                    &format!("{prefix}.block{i}.norm"),
                    kind,
                    c_out,
                )?),
                _ => None,
            };
            blocks.push(Down { conv, norm });
            c_in = c_out;
        }
        let last = Conv::new(
            params,
            &format!("{prefix}.last"),
            (c_in, 1, KERNEL),
            (1, Pad::keras_same(KERNEL)),
            Init::Pix2Pix,
        )?;
        Ok(PatchGan { blocks, last })
    }

    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        let mut y = x.clone();
        for block in &mut self.blocks {
            y = block.forward(&y, train)?;
        }
        self.last.forward(&y)
    }

    pub fn norms_mut(&mut self) -> impl Iterator<Item = &mut Norm> {
        self.blocks.iter_mut().filter_map(|b| b.norm.as_mut())
    }
}
