//! Unpaired image-to-image translation (`mimic train cyclegan`, DESIGN §5): two domains of
//! pictures (photos, video frames), two generators (A→B, B→A) and two discriminators trained
//! together every step (see [`model`] for the variants); previews (A, A→B, A→B→A, B, B→A,
//! B→A→B), loss curves with the held-out round-trip error, checkpoints and `--resume`;
//! exports `NAME_a2b.onnx` and `NAME_b2a.onnx` as style models, each checked against candle.

pub mod model;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::{Device, Tensor};
use image::imageops;
use serde::{Deserialize, Serialize};

pub use self::model::{Reconstruction, Translators, Variant, Widths};
use super::driver::{self, RunOptions, Trainer};
use super::export::trained_card;
use super::images::{batch_to_tensor, tensor_to_image, TANH};
use super::layers::l1;
use super::paired::PairedRun;
use super::params::Rng;
use super::report::save_preview;
use super::{run, TrainDevice, TrainError};
use crate::data::imageset::{ImageSet, ImageSetReport};
use crate::frame::Rgb8;
use crate::infer::{ModelCard, ModelKind};

/// Pictures per domain in a preview grid.
const PREVIEW_ROWS: usize = 3;

/// Network size presets: `base` is the book's (128 px, generators f = 32, discriminators
/// f = 64); the smaller ones train on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// 64 px, f = 16 / 32.
    Tiny,
    /// 128 px, f = 16 / 32.
    Small,
    /// 128 px, f = 32 / 64: the book's networks.
    Base,
}

impl Preset {
    pub fn widths(self) -> Widths {
        let (size, generator, discriminator) = match self {
            Preset::Tiny => (64, 16, 32),
            Preset::Small => (128, 16, 32),
            Preset::Base => (128, 32, 64),
        };
        Widths {
            size,
            generator,
            discriminator,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Small => "small",
            Preset::Base => "base",
        }
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct Options {
    pub variant: Variant,
    pub reconstruction: Reconstruction,
    pub preset: Preset,
    /// The pictures' side, when not the preset's (a multiple of 16).
    pub size: Option<u32>,
    pub device: TrainDevice,
    /// Steps, time budget, seed, schedule and the rest.
    pub run: RunOptions,
}

impl Options {
    pub fn new(variant: Variant, preset: Preset, steps: u64) -> Options {
        Options {
            variant,
            reconstruction: Reconstruction::default(),
            preset,
            size: None,
            device: TrainDevice::Cpu,
            run: RunOptions::steps(steps),
        }
    }

    /// Refuses a size the networks cannot take (four halvings, then a PatchGAN).
    pub fn check(&self) -> Result<(), TrainError> {
        match self.size {
            Some(size) if size % 16 != 0 || !(32..=512).contains(&size) => {
                Err(TrainError::BadSize(size))
            }
            _ => Ok(()),
        }
    }

    /// The widths this run trains: the preset's, at `size` when given.
    pub fn widths(&self) -> Widths {
        let widths = self.preset.widths();
        Widths {
            size: self.size.map_or(widths.size, |s| s as usize),
            ..widths
        }
    }
}

/// One domain split for training and for previews and validation.
pub struct Domain {
    train: Vec<Rgb8>,
    held_out: Vec<Rgb8>,
}

impl Domain {
    pub fn new(set: ImageSet) -> Domain {
        let (train, held_out) = run::hold_out(set.images);
        Domain { train, held_out }
    }

    /// A random training picture, mirrored half the time.
    fn sample(&self, rng: &mut Rng, device: &Device) -> Result<Tensor, TrainError> {
        let mut picture = self.train[rng.below(self.train.len())].clone();
        if rng.uniform() < 0.5 {
            imageops::flip_horizontal_in_place(&mut picture);
        }
        batch_to_tensor(&[picture], TANH, device)
    }

    fn validation(&self, device: &Device) -> Result<Tensor, TrainError> {
        batch_to_tensor(&self.held_out, TANH, device)
    }
}

/// A run: both translators, both domains and the latest held-out round-trip error.
type CycleRun = PairedRun<Translators, Domain>;

impl Trainer<4> for CycleRun {
    const LOSSES: [&'static str; 4] = [
        "discriminators",
        "adversarial",
        "reconstruction",
        "validation_cycle",
    ];

    fn start(&mut self, step: u64, seed: u64) -> Result<(), TrainError> {
        self.restart_rng(seed, step);
        Ok(())
    }

    fn step(&mut self, lr_scale: f64) -> Result<[f32; 4], TrainError> {
        self.net.g_opt.set_lr_scale(lr_scale);
        self.net.d_opt.set_lr_scale(lr_scale);
        let (a, b) = &self.sides;
        let (pa, pb) = (
            a.sample(&mut self.rng, &self.device)?,
            b.sample(&mut self.rng, &self.device)?,
        );
        let [d, g, rec, _identity] = self.net.step(&pa, &pb)?;
        Ok([d, g, rec, self.measured])
    }

    fn preview(&mut self, dir: &Path, step: u64) -> Result<PathBuf, TrainError> {
        self.measured = validation_cycle(&mut self.net, &self.validation)?;
        write_preview(&mut self.net, &self.validation, dir, step)
    }

    fn save(&mut self, dir: &Path) -> Result<(), TrainError> {
        let net = &self.net;
        net.g_params.save(&dir.join("generators.safetensors"))?;
        net.d_params.save(&dir.join("discriminators.safetensors"))?;
        net.g_opt.save(&dir.join("adam_generators.safetensors"))?;
        net.d_opt.save(&dir.join("adam_discriminators.safetensors"))
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        let net = &mut self.net;
        net.g_params.load(&dir.join("generators.safetensors"))?;
        net.d_params.load(&dir.join("discriminators.safetensors"))?;
        net.g_opt.load(&dir.join("adam_generators.safetensors"))?;
        net.d_opt.load(&dir.join("adam_discriminators.safetensors"))
    }

    fn about(&self) -> toml::Table {
        self.about.clone()
    }
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct TranslateSummary {
    pub a2b: PathBuf,
    pub b2a: PathBuf,
    pub variant: Variant,
    pub size: usize,
    pub steps: u64,
    pub seconds: f64,
    pub steps_per_second: f64,
    /// The last step's losses: discriminators, adversarial, reconstruction, identity.
    pub losses: [f32; 4],
    /// Round-trip L1 (A→B→A and B→A→B, averaged) on held-out pictures, before and after.
    pub validation_cycle_start: f32,
    pub validation_cycle: f32,
    pub parity_max_abs_diff: f32,
    pub parameters: usize,
    pub previews: PathBuf,
    pub stopped_early: bool,
    pub a: ImageSetReport,
    pub b: ImageSetReport,
}

/// Trains on domains `a` and `b` (gathered at `options.widths().size`); writes
/// `NAME_a2b.onnx` and `NAME_b2a.onnx` (with cards) for `NAME` = `out`, and keeps the run in
/// `NAME.train/`.
pub fn train(
    (a, a_report): (Domain, ImageSetReport),
    (b, b_report): (Domain, ImageSetReport),
    out: &Path,
    options: &Options,
    stop: &AtomicBool,
) -> Result<TranslateSummary, TrainError> {
    let (a2b, b2a) = super::swap::model_paths(out);
    run::check_outputs(&[a2b, b2a], options.run.may_replace())?;
    super::init_cpu_threads();
    let device = options.device.device()?;
    let widths = options.widths();
    let mut net = Translators::new(
        options.variant,
        options.reconstruction,
        widths,
        &device,
        options.run.seed,
    )?;
    let validation = (a.validation(&device)?, b.validation(&device)?);
    let cycle_start = validation_cycle(&mut net, &validation)?;
    let about = toml::toml! {
        variant = (options.variant.name())
        preset = (options.preset.name())
        size = (widths.size as i64)
    };
    let (domains, seed) = ((a, b), options.run.seed);
    let mut trainer = PairedRun::new(net, domains, validation, cycle_start, seed, device, about);
    let dir = out.with_extension("train");
    let done = driver::drive(&mut trainer, &dir, &options.run, stop)?;
    let cycle = validation_cycle(&mut trainer.net, &trainer.validation)?;
    let net = &mut trainer.net;
    let (a2b, b2a) = super::swap::model_paths(out);
    let card = |to_b: bool| {
        model_card(
            options,
            done.steps,
            widths,
            cycle,
            to_b,
            (&a_report, &b_report),
        )
    };
    let parity_a2b =
        super::export::export_checked(&net.a2b.export("mimic_a2b")?, &card(true), &a2b, |x| {
            net.a2b.forward(x, false)
        })?;
    let parity_b2a =
        super::export::export_checked(&net.b2a.export("mimic_b2a")?, &card(false), &b2a, |x| {
            net.b2a.forward(x, false)
        })?;
    Ok(TranslateSummary {
        a2b,
        b2a,
        variant: options.variant,
        size: widths.size,
        steps: done.steps,
        seconds: done.seconds,
        steps_per_second: done.steps_per_second(),
        losses: done.losses,
        validation_cycle_start: cycle_start,
        validation_cycle: cycle,
        parity_max_abs_diff: parity_a2b.max(parity_b2a),
        parameters: net.generator_parameters(),
        previews: done.preview,
        stopped_early: done.stopped_early,
        a: a_report,
        b: b_report,
    })
}

/// Round-trip L1 of the held-out pictures, A→B→A and B→A→B averaged.
fn validation_cycle(net: &mut Translators, (a, b): &(Tensor, Tensor)) -> Result<f32, TrainError> {
    let mut round_trip = |x: &Tensor, to_b: bool| -> Result<f32, TrainError> {
        let there = net.translate(x, to_b)?;
        let back = net.translate(&there, !to_b)?;
        Ok(l1(&back, x)?.to_scalar::<f32>()?)
    };
    Ok((round_trip(a, true)? + round_trip(b, false)?) / 2.0)
}

/// Rows of A, A→B, A→B→A, B, B→A, B→A→B on held-out pictures.
fn write_preview(
    net: &mut Translators,
    (a, b): &(Tensor, Tensor),
    dir: &Path,
    step: u64,
) -> Result<PathBuf, TrainError> {
    let rows = PREVIEW_ROWS.min(a.dim(0)?).min(b.dim(0)?);
    let (a, b) = (a.narrow(0, 0, rows)?, b.narrow(0, 0, rows)?);
    let a2b = net.translate(&a, true)?;
    let a2b2a = net.translate(&a2b, false)?;
    let b2a = net.translate(&b, false)?;
    let b2a2b = net.translate(&b2a, true)?;
    let columns = [a, a2b, a2b2a, b, b2a, b2a2b];
    let grid: Vec<Vec<Rgb8>> = (0..rows)
        .map(|n| {
            columns
                .iter()
                .map(|t| tensor_to_image(t, n, TANH))
                .collect::<Result<_, _>>()
        })
        .collect::<Result<_, _>>()?;
    save_preview(&grid, dir, step)
}

/// The card of one direction: a style model, NCHW RGB in [-1, 1] at the run's size.
fn model_card(
    options: &Options,
    steps: u64,
    widths: Widths,
    cycle: f32,
    to_b: bool,
    (a, b): (&ImageSetReport, &ImageSetReport),
) -> ModelCard {
    let (from, to) = match to_b {
        true => ("A", "B"),
        false => ("B", "A"),
    };
    let training = toml::toml! {
        architecture = (options.variant.name())
        preset = (options.preset.name())
        steps = (steps as i64)
        seed = (options.run.seed as i64)
        direction = (format!("{from}→{to}"))
        images_a = (a.images as i64)
        images_b = (b.images as i64)
        validation_cycle_l1 = (f64::from(cycle))
    };
    let description = format!(
        "{} ({} preset): pictures of domain {from} become pictures of domain {to}",
        options.variant.name(),
        options.preset.name()
    );
    let size = widths.size as u32;
    trained_card(ModelKind::Stylize, (size, TANH), description, training)
}
