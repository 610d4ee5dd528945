//! Unpaired image-to-image translation (`mimic train cyclegan`, DESIGN §5): two domains of
//! pictures (photos, video frames), two generators (A→B, B→A) and two discriminators trained
//! together every step (see [`model`] for the variants); previews (A, A→B, A→B→A, B, B→A,
//! B→A→B), loss curves with the held-out round-trip error, checkpoints and `--resume`;
//! exports `NAME_a2b.onnx` and `NAME_b2a.onnx` as style models, each checked against candle.

pub mod model;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use image::imageops;
use serde::{Deserialize, Serialize};

pub use self::model::{Reconstruction, Translators, Variant, Widths};
use super::images::{batch_to_tensor, tensor_to_image, TANH};
use super::layers::l1;
use super::params::Rng;
use super::report::{save_preview, LossLog, LossRecord};
use super::{run, TrainDevice, TrainError};
use crate::frame::Rgb8;
use crate::imageset::{ImageSet, ImageSetReport};
use crate::infer::{ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};

/// Pictures per domain in a preview grid.
const PREVIEW_ROWS: usize = 3;

/// Network size presets: `base` is the book's (128 px, generators f = 32, discriminators
/// f = 64); the smaller ones train on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
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
    pub steps: u64,
    pub max_minutes: Option<f64>,
    pub device: TrainDevice,
    pub seed: u64,
    pub preview_every: u64,
    pub checkpoint_every: u64,
    pub resume: bool,
}

impl Options {
    pub fn new(variant: Variant, preset: Preset, steps: u64) -> Options {
        Options {
            variant,
            reconstruction: Reconstruction::default(),
            preset,
            size: None,
            steps,
            max_minutes: None,
            device: TrainDevice::Cpu,
            seed: 0,
            preview_every: 100,
            checkpoint_every: 500,
            resume: false,
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

/// The run's position, saved with each checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    step: u64,
    seed: u64,
    variant: Variant,
    preset: Preset,
    size: u64,
    seconds: f64,
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
    run::check_output_folder(out)?;
    super::init_cpu_threads();
    let device = options.device.device()?;
    let widths = options.widths();
    let mut net = Translators::new(
        options.variant,
        options.reconstruction,
        widths,
        &device,
        options.seed,
    )?;
    let dir = out.with_extension("train");
    let checkpoint = dir.join("checkpoint");
    let mut state = RunState {
        step: 0,
        seed: options.seed,
        variant: options.variant,
        preset: options.preset,
        size: widths.size as u64,
        seconds: 0.0,
    };
    if options.resume {
        state = run::load_state(&checkpoint)?;
        load(&mut net, &checkpoint)?;
    }
    run::create_dir(&dir)?;
    let mut log = LossLog::open(
        &dir,
        [
            "discriminators",
            "adversarial",
            "reconstruction",
            "validation_cycle",
        ],
        options.resume.then_some(state.step),
    )?;
    let validation = (a.validation(&device)?, b.validation(&device)?);
    let cycle_start = validation_cycle(&mut net, &validation)?;
    let bar = crate::progress::progress(Some(options.steps), "training");
    bar.set_position(state.step);
    let started = Instant::now();
    let deadline = options
        .max_minutes
        .map(|m| started + Duration::from_secs_f64(m * 60.0));
    let mut rng = Rng::new(options.seed ^ state.step.wrapping_mul(0x9E37_79B9));
    let (mut losses, mut cycle) = ([0.0; 4], cycle_start);
    let first_step = state.step;
    while state.step < options.steps
        && !stop.load(Ordering::Relaxed)
        && deadline.is_none_or(|d| Instant::now() < d)
    {
        let (pa, pb) = (a.sample(&mut rng, &device)?, b.sample(&mut rng, &device)?);
        losses = net.step(&pa, &pb)?;
        if losses.iter().any(|l| !l.is_finite()) {
            return Err(TrainError::Diverged {
                step: state.step + 1,
            });
        }
        state.step += 1;
        bar.set_position(state.step);
        bar.set_message(format!(
            "D {:.3} G {:.3} rec {:.3} val {cycle:.3}",
            losses[0], losses[1], losses[2]
        ));
        if state.step.is_multiple_of(options.preview_every) {
            cycle = validation_cycle(&mut net, &validation)?;
            write_preview(&mut net, &validation, &dir, state.step)?;
        }
        log.push(LossRecord {
            step: state.step,
            values: [losses[0], losses[1], losses[2], cycle],
            seconds: state.seconds + started.elapsed().as_secs_f64(),
        })?;
        if state.step.is_multiple_of(options.preview_every) {
            log.plot()?;
        }
        if state.step.is_multiple_of(options.checkpoint_every) {
            save(&net, &checkpoint, &state, started)?;
        }
    }
    bar.finish_and_clear();
    let stopped_early = state.step < options.steps;
    cycle = validation_cycle(&mut net, &validation)?;
    save(&net, &checkpoint, &state, started)?;
    let previews = write_preview(&mut net, &validation, &dir, state.step)?;
    log.plot()?;
    let (a2b, b2a) = super::swap::model_paths(out);
    let card =
        |to_b: bool| model_card(options, &state, widths, cycle, to_b, (&a_report, &b_report));
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
        steps: state.step,
        seconds: state.seconds + started.elapsed().as_secs_f64(),
        steps_per_second: (state.step - first_step) as f64
            / started.elapsed().as_secs_f64().max(1e-9),
        losses,
        validation_cycle_start: cycle_start,
        validation_cycle: cycle,
        parity_max_abs_diff: parity_a2b.max(parity_b2a),
        parameters: net.generator_parameters(),
        previews,
        stopped_early,
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

fn save(
    net: &Translators,
    dir: &Path,
    state: &RunState,
    started: Instant,
) -> Result<(), TrainError> {
    run::create_dir(dir)?;
    net.g_params.save(&dir.join("generators.safetensors"))?;
    net.d_params.save(&dir.join("discriminators.safetensors"))?;
    net.g_opt.save(&dir.join("adam_generators.safetensors"))?;
    net.d_opt
        .save(&dir.join("adam_discriminators.safetensors"))?;
    let state = RunState {
        seconds: state.seconds + started.elapsed().as_secs_f64(),
        ..state.clone()
    };
    run::save_state(dir, &state)
}

fn load(net: &mut Translators, dir: &Path) -> Result<(), TrainError> {
    net.g_params.load(&dir.join("generators.safetensors"))?;
    net.d_params.load(&dir.join("discriminators.safetensors"))?;
    net.g_opt.load(&dir.join("adam_generators.safetensors"))?;
    net.d_opt.load(&dir.join("adam_discriminators.safetensors"))
}

/// The card of one direction: a style model, NCHW RGB in [-1, 1] at the run's size.
fn model_card(
    options: &Options,
    state: &RunState,
    widths: Widths,
    cycle: f32,
    to_b: bool,
    (a, b): (&ImageSetReport, &ImageSetReport),
) -> ModelCard {
    let spec = TensorSpec {
        size: widths.size as u32,
        layout: Layout::Nchw,
        range: [-1.0, 1.0],
        color: ColorOrder::Rgb,
    };
    let (from, to) = match to_b {
        true => ("A", "B"),
        false => ("B", "A"),
    };
    let training = toml::toml! {
        architecture = (options.variant.name())
        preset = (options.preset.name())
        steps = (state.step as i64)
        seed = (options.seed as i64)
        direction = (format!("{from}→{to}"))
        images_a = (a.images as i64)
        images_b = (b.images as i64)
        validation_cycle_l1 = (f64::from(cycle))
    };
    ModelCard {
        description: format!(
            "{} ({} preset): pictures of domain {from} become pictures of domain {to}",
            options.variant.name(),
            options.preset.name()
        ),
        training: Some(training),
        ..ModelCard::new(ModelKind::Stylize, spec)
    }
}
