//! The four networks of unpaired translation and one training step of each variant, as the
//! book's loop runs them: the discriminators learn real from generated, then the generators
//! learn to fool them while translating back recovers the input.
//!
//! - CycleGAN: U-Net generators (4 down, 3 up, skips), PatchGAN discriminators with instance
//!   norm, LSGAN; cycle L1 × 10 and identity L1 × 1 (0.1 × the cycle weight).
//! - DiscoGAN: the same generators without their skips (encoder–decoders), LSGAN, a
//!   reconstruction loss of choice (MSE, cosine or hinge) × 10, no identity loss.
//! - DualGAN: U-Net generators, Wasserstein critics (no norm, weights clipped to ±0.01, two
//!   critic updates per generator update), reconstruction L1 × 100; Adam with β1 = 0 and
//!   β2 = 0.9 at 5e-5 stands in for the paper's RMSProp.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::super::adam::{Adam, AdamConfig};
use super::super::layers::{l1, mse_to, NormKind};
use super::super::params::Params;
use super::super::unet::{PatchGan, UNet, UNetShape};
use super::super::TrainError;

/// Which unpaired method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Cyclegan,
    Discogan,
    Dualgan,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Cyclegan => "cyclegan",
            Variant::Discogan => "discogan",
            Variant::Dualgan => "dualgan",
        }
    }

    fn reconstruction_weight(self) -> f64 {
        match self {
            Variant::Cyclegan | Variant::Discogan => 10.0,
            Variant::Dualgan => 100.0,
        }
    }

    fn adam(self) -> AdamConfig {
        match self {
            Variant::Cyclegan | Variant::Discogan => AdamConfig {
                lr: 2e-4,
                beta1: 0.5,
                beta2: 0.999,
                eps: 1e-7,
            },
            Variant::Dualgan => AdamConfig {
                lr: 5e-5,
                beta1: 0.0,
                beta2: 0.9,
                eps: 1e-7,
            },
        }
    }
}

/// DiscoGAN's reconstruction loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reconstruction {
    /// Mean squared error.
    #[default]
    Mse,
    /// One minus the cosine similarity of each picture with its reconstruction.
    Cosine,
    /// Absolute errors beyond a margin of [`HINGE_MARGIN`] (smaller ones cost nothing).
    Hinge,
}

/// The hinge reconstruction's margin, in the [-1, 1] pixel range (about 6 of 255 levels).
pub const HINGE_MARGIN: f64 = 0.05;
/// Identity weight as a share of the cycle weight (CycleGAN).
const IDENTITY_SHARE: f64 = 0.1;
/// The Wasserstein critic's weights stay within ± this.
const CLIP: f64 = 0.01;
/// Critic updates per generator update (DualGAN).
const CRITIC_STEPS: usize = 2;

/// Network widths: image side, the generators' base width and the discriminators'.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Widths {
    pub size: usize,
    pub generator: usize,
    pub discriminator: usize,
}

/// One step's losses: discriminators (or critics), the generators' adversarial term, the
/// reconstruction after a round trip, and the identity term (CycleGAN; 0 otherwise).
pub type Losses = [f32; 4];

/// Both generators, both discriminators and their two optimisers.
pub struct Translators {
    pub variant: Variant,
    pub reconstruction: Reconstruction,
    pub a2b: UNet,
    pub b2a: UNet,
    d_a: PatchGan,
    d_b: PatchGan,
    pub(super) g_params: Params,
    pub(super) d_params: Params,
    pub(super) g_opt: Adam,
    pub(super) d_opt: Adam,
}

impl Translators {
    pub fn new(
        variant: Variant,
        reconstruction: Reconstruction,
        widths: Widths,
        device: &Device,
        seed: u64,
    ) -> Result<Translators, TrainError> {
        let shape = UNetShape {
            size: widths.size,
            filters: widths.generator,
            down: vec![1, 2, 4, 8],
            up: vec![4, 2, 1],
            skips: variant != Variant::Discogan,
            norm: NormKind::Instance,
            dropout: 0.0,
            reference: false,
        };
        let norm = match variant {
            Variant::Dualgan => None,
            _ => Some(NormKind::Instance),
        };
        let mut g_params = Params::new(device, seed);
        let mut d_params = Params::new(device, seed.wrapping_add(1));
        let a2b = UNet::new(&mut g_params, "g_ab", shape.clone())?;
        let b2a = UNet::new(&mut g_params, "g_ba", shape)?;
        let d_a = PatchGan::new(&mut d_params, "d_a", 3, widths.discriminator, norm)?;
        let d_b = PatchGan::new(&mut d_params, "d_b", 3, widths.discriminator, norm)?;
        let g_opt = Adam::new(g_params.vars(), variant.adam())?;
        let d_opt = Adam::new(d_params.vars(), variant.adam())?;
        Ok(Translators {
            variant,
            reconstruction,
            a2b,
            b2a,
            d_a,
            d_b,
            g_params,
            d_params,
            g_opt,
            d_opt,
        })
    }

    pub fn generator_parameters(&self) -> usize {
        self.g_params.count() / 2
    }

    /// One step on a picture of each domain ([1, 3, S, S] in [-1, 1]), on candle's threads.
    pub fn step(&mut self, a: &Tensor, b: &Tensor) -> Result<Losses, TrainError> {
        super::super::on_candle_threads(|| self.step_inline(a, b))
    }

    fn step_inline(&mut self, a: &Tensor, b: &Tensor) -> Result<Losses, TrainError> {
        let fake_b = self.a2b.forward(a, true)?;
        let fake_a = self.b2a.forward(b, true)?;
        let (fake_a_seen, fake_b_seen) = (fake_a.detach(), fake_b.detach());
        let mut d_loss = Tensor::new(0f32, a.device())?;
        let critic_steps = match self.variant {
            Variant::Dualgan => CRITIC_STEPS,
            _ => 1,
        };
        for _ in 0..critic_steps {
            let real_a = self.d_a.forward(a, true)?;
            let seen_a = self.d_a.forward(&fake_a_seen, true)?;
            let real_b = self.d_b.forward(b, true)?;
            let seen_b = self.d_b.forward(&fake_b_seen, true)?;
            d_loss = (self.critic_loss(&real_a, &seen_a)? + self.critic_loss(&real_b, &seen_b)?)?;
            self.d_opt.backward_step(&d_loss)?;
            if self.variant == Variant::Dualgan {
                self.clip_critics()?;
            }
        }

        let (scored_b, scored_a) = (
            self.d_b.forward(&fake_b, true)?,
            self.d_a.forward(&fake_a, true)?,
        );
        let g_adv = (self.fooling_loss(&scored_b)? + self.fooling_loss(&scored_a)?)?;
        let back_a = self.b2a.forward(&fake_b, true)?;
        let back_b = self.a2b.forward(&fake_a, true)?;
        let cycle =
            (self.reconstruction_loss(&back_a, a)? + self.reconstruction_loss(&back_b, b)?)?;
        let weight = self.variant.reconstruction_weight();
        let mut g_loss = (&g_adv + (&cycle * weight)?)?;
        let mut identity = Tensor::new(0f32, a.device())?;
        if self.variant == Variant::Cyclegan {
            identity = (l1(&self.b2a.forward(a, true)?, a)? + l1(&self.a2b.forward(b, true)?, b)?)?;
            g_loss = (g_loss + (&identity * (weight * IDENTITY_SHARE))?)?;
        }
        self.g_opt.backward_step(&g_loss)?;
        Ok([
            d_loss.to_scalar()?,
            g_adv.to_scalar()?,
            cycle.to_scalar()?,
            identity.to_scalar()?,
        ])
    }

    /// What a discriminator (critic) minimises on real and generated pictures' scores.
    fn critic_loss(&self, real: &Tensor, fake: &Tensor) -> Result<Tensor, TrainError> {
        match self.variant {
            Variant::Dualgan => Ok((fake.mean_all()? - real.mean_all()?)?),
            _ => Ok(((mse_to(real, 1.0)? + mse_to(fake, 0.0)?)? * 0.5)?),
        }
    }

    /// What a generator minimises on the scores of its pictures.
    fn fooling_loss(&self, scored: &Tensor) -> Result<Tensor, TrainError> {
        match self.variant {
            Variant::Dualgan => Ok(scored.mean_all()?.neg()?),
            _ => mse_to(scored, 1.0),
        }
    }

    /// How far a round trip landed from where it started.
    fn reconstruction_loss(&self, back: &Tensor, start: &Tensor) -> Result<Tensor, TrainError> {
        match (self.variant, self.reconstruction) {
            (Variant::Discogan, Reconstruction::Mse) => Ok((back - start)?.sqr()?.mean_all()?),
            (Variant::Discogan, Reconstruction::Cosine) => cosine_distance(back, start),
            (Variant::Discogan, Reconstruction::Hinge) => Ok(((back - start)?.abs()?
                - HINGE_MARGIN)?
                .relu()?
                .mean_all()?),
            _ => l1(back, start),
        }
    }

    fn clip_critics(&self) -> Result<(), TrainError> {
        for var in self.d_params.vars() {
            var.set(&var.as_tensor().clamp(-CLIP, CLIP)?)?;
        }
        Ok(())
    }

    /// A picture translated (`to_b`: A→B) at inference.
    pub fn translate(&mut self, x: &Tensor, to_b: bool) -> Result<Tensor, TrainError> {
        match to_b {
            true => self.a2b.forward(x, false),
            false => self.b2a.forward(x, false),
        }
    }
}

/// One minus the cosine similarity of each picture with its counterpart, averaged.
fn cosine_distance(x: &Tensor, y: &Tensor) -> Result<Tensor, TrainError> {
    let (x, y) = (x.flatten_from(1)?, y.flatten_from(1)?);
    let dot = (&x * &y)?.sum(1)?;
    let norms = (x.sqr()?.sum(1)?.sqrt()? * y.sqr()?.sum(1)?.sqrt()?)?;
    let cosine = (dot / (norms + 1e-8)?)?;
    Ok(cosine.affine(-1.0, 1.0)?.mean_all()?)
}
