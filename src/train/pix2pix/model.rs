//! The book's pix2pix networks (DESIGN §5): a U-Net generator and a PatchGAN discriminator.
//!
//! Generator: 7 encoder blocks (Conv 4×4 stride 2 → LeakyReLU 0.2 → norm, none on the first;
//! filters f,2f,4f,8f,8f,8f,8f), 6 decoder blocks (UpSampling ×2 → Conv 4×4 stride 1 → ReLU →
//! dropout → norm → concat skip; filters 8f,8f,8f,8f,2f,f), UpSampling → Conv 4×4 → tanh.
//! Discriminator: PatchGAN on (image, condition), 4 blocks (f,2f,4f,8f, stride 2) → Conv 4×4
//! → one channel. A norm on a 1×1 map (the tiny preset's bottleneck) is left out: instance
//! norm would turn it into a constant.

use super::super::layers::NormKind;
use super::super::params::Params;
use super::super::unet::{PatchGan, UNet, UNetShape, KERNEL, PATCHGAN_WIDTHS};
use super::super::TrainError;

const ENCODER_WIDTHS: [usize; 7] = [1, 2, 4, 8, 8, 8, 8];
const DECODER_WIDTHS: [usize; 6] = [8, 8, 8, 8, 2, 1];
const DISCRIMINATOR_WIDTHS: [usize; 4] = PATCHGAN_WIDTHS;

/// Network sizes: image side and base width f.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Architecture {
    pub size: usize,
    pub filters: usize,
    pub norm: NormKind,
    /// Dropout rate in the decoder while training (0 disables it).
    pub dropout: f32,
    /// Whether the generator takes the target's reference picture beside the sketch.
    pub reference: bool,
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

    fn shape(&self) -> UNetShape {
        UNetShape {
            size: self.size,
            filters: self.filters,
            down: ENCODER_WIDTHS.to_vec(),
            up: DECODER_WIDTHS.to_vec(),
            skips: true,
            norm: self.norm,
            dropout: self.dropout,
            reference: self.reference,
        }
    }
}

/// The U-Net generator: sketch in, frame out, both in [-1, 1].
pub fn generator(params: &mut Params, arch: Architecture) -> Result<UNet, TrainError> {
    UNet::new(params, "g", arch.shape())
}

/// The PatchGAN discriminator on (image, condition) concatenated.
pub fn discriminator(params: &mut Params, arch: Architecture) -> Result<PatchGan, TrainError> {
    PatchGan::new(params, "d", 6, arch.filters, Some(arch.norm))
}
