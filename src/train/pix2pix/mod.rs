//! `mimic train pix2pix`: the book's paired image-to-image GAN, trained on a dataset from
//! `mimic extract reenact` (sketch → frame of the target) or on any pictures paired by name
//! (`--pairs`: edges → photo, grey → colour…), and exported to ONNX with its model card.
//!
//! Each step follows the book's order: the generator makes a frame from the sketch; the
//! discriminator learns real pairs as 1 and generated pairs as 0 (LSGAN); the generator learns
//! to be scored 1 while staying close to the real frame (+100 × L1). Adam 2e-4, β1 0.5.

pub mod model;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use self::model::Architecture;
use super::adam::{Adam, AdamConfig};
use super::images::{to_image, to_tensor};
use super::layers::{l1, mse_to, NormKind};
use super::params::{load_tensors, save_tensors, Params, Rng};
use super::report::{save_preview, LossLog, LossRecord};
use super::unet::{PatchGan, UNet};
use super::{run, TrainDevice, TrainError};
use crate::dataset::Dataset;
use crate::face::Landmarks;
use crate::frame::Rgb8;
use crate::imageset::PairedSet;
use crate::infer::{ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};
use crate::retarget::TargetNeutral;

/// Weight of the L1 term in the generator's loss (the book's 100).
pub const L1_WEIGHT: f64 = 100.0;
const ADAM: AdamConfig = AdamConfig {
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-8,
};
/// Samples shown in each preview grid.
const PREVIEW_ROWS: usize = 3;

/// Network size presets (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// 128 px, f = 8 (≈0.75 M): small enough to ship inside mimic (the demo model).
    Micro,
    /// 128 px, f = 16 (≈3 M generator parameters): trains on a CPU.
    Tiny,
    /// 256 px, f = 32.
    Small,
    /// 256 px, f = 64 (≈47 M): the book's network, for a GPU.
    Base,
}

impl Preset {
    pub fn size(self) -> u32 {
        match self {
            Preset::Micro | Preset::Tiny => 128,
            Preset::Small | Preset::Base => 256,
        }
    }

    pub fn filters(self) -> usize {
        match self {
            Preset::Micro => 8,
            Preset::Tiny => 16,
            Preset::Small => 32,
            Preset::Base => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Micro => "micro",
            Preset::Tiny => "tiny",
            Preset::Small => "small",
            Preset::Base => "base",
        }
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct Options {
    pub preset: Preset,
    pub norm: NormKind,
    pub dropout: f32,
    pub steps: Option<u64>,
    pub epochs: Option<u64>,
    pub max_minutes: Option<f64>,
    pub device: TrainDevice,
    pub seed: u64,
    pub preview_every: u64,
    pub checkpoint_every: u64,
    pub resume: bool,
}

impl Options {
    /// The defaults `mimic train pix2pix` uses, for `preset`, stopping after `steps` (the
    /// preset's default when `None`).
    pub fn new(preset: Preset, steps: Option<u64>) -> Options {
        Options {
            preset,
            norm: NormKind::Instance,
            dropout: 0.0,
            steps,
            epochs: None,
            max_minutes: None,
            device: TrainDevice::Cpu,
            seed: 0,
            preview_every: 100,
            checkpoint_every: 500,
            resume: false,
        }
    }
}

/// The two networks of a run and their optimisers.
pub struct Pix2Pix {
    pub arch: Architecture,
    pub generator: UNet,
    pub discriminator: PatchGan,
    g_params: Params,
    d_params: Params,
    g_opt: Adam,
    d_opt: Adam,
}

/// The losses of one step: discriminator, generator's adversarial term, generator's L1.
pub type Losses = [f32; 3];

impl Pix2Pix {
    pub fn new(arch: Architecture, device: &Device, seed: u64) -> Result<Pix2Pix, TrainError> {
        let mut g_params = Params::new(device, seed);
        let mut d_params = Params::new(device, seed.wrapping_add(1));
        let generator = model::generator(&mut g_params, arch)?;
        let discriminator = model::discriminator(&mut d_params, arch)?;
        let g_opt = Adam::new(g_params.vars(), ADAM)?;
        let d_opt = Adam::new(d_params.vars(), ADAM)?;
        Ok(Pix2Pix {
            arch,
            generator,
            discriminator,
            g_params,
            d_params,
            g_opt,
            d_opt,
        })
    }

    pub fn generator_parameters(&self) -> usize {
        self.g_params.count()
    }

    /// One training step on a (sketch, real frame) batch. It runs on candle's thread pool
    /// (`on_candle_threads`), so the parallel ops inside it run inline instead of each handing
    /// work to the pool and waiting.
    pub fn step(&mut self, sketch: &Tensor, real: &Tensor) -> Result<Losses, TrainError> {
        super::on_candle_threads(|| self.step_inline(sketch, real))
    }

    fn step_inline(&mut self, sketch: &Tensor, real: &Tensor) -> Result<Losses, TrainError> {
        let fake = self.generator.forward(sketch, true)?;

        let pair = |image: &Tensor| Tensor::cat(&[image, sketch], 1);
        let d_real = self.discriminator.forward(&pair(real)?, true)?;
        let d_fake = self.discriminator.forward(&pair(&fake.detach())?, true)?;
        let d_loss = ((mse_to(&d_real, 1.0)? + mse_to(&d_fake, 0.0)?)? * 0.5)?;
        self.d_opt.backward_step(&d_loss)?;

        let scored = self.discriminator.forward(&pair(&fake)?, true)?;
        let g_gan = mse_to(&scored, 1.0)?;
        let g_l1 = l1(&fake, real)?;
        let g_loss = (&g_gan + (&g_l1 * L1_WEIGHT)?)?;
        self.g_opt.backward_step(&g_loss)?;

        Ok([d_loss.to_scalar()?, g_gan.to_scalar()?, g_l1.to_scalar()?])
    }

    /// The generator's output for a sketch, at inference (no dropout, running statistics).
    pub fn generate(&mut self, sketch: &Tensor) -> Result<Tensor, TrainError> {
        self.generator.forward(sketch, false)
    }

    fn save(&mut self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::Write {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        self.g_params.save(&dir.join("generator.safetensors"))?;
        self.d_params.save(&dir.join("discriminator.safetensors"))?;
        self.g_opt.save(&dir.join("adam_generator.safetensors"))?;
        self.d_opt
            .save(&dir.join("adam_discriminator.safetensors"))?;
        save_tensors(&self.norm_stats(), &dir.join("norm_stats.safetensors"))
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.g_params.load(&dir.join("generator.safetensors"))?;
        self.d_params.load(&dir.join("discriminator.safetensors"))?;
        self.g_opt.load(&dir.join("adam_generator.safetensors"))?;
        self.d_opt
            .load(&dir.join("adam_discriminator.safetensors"))?;
        let path = dir.join("norm_stats.safetensors");
        let stats = load_tensors(&path, self.g_params.device())?;
        let norms = self
            .generator
            .norms_mut()
            .chain(self.discriminator.norms_mut());
        for (i, norm) in norms.enumerate() {
            if norm.running_stats().is_some() {
                let (Some(m), Some(v)) = (
                    stats.get(&format!("mean.{i}")),
                    stats.get(&format!("var.{i}")),
                ) else {
                    return Err(TrainError::Checkpoint {
                        path,
                        reason: format!("batch-norm statistics {i} are missing"),
                    });
                };
                norm.set_running_stats(m.clone(), v.clone());
            }
        }
        Ok(())
    }

    fn norm_stats(&mut self) -> std::collections::HashMap<String, Tensor> {
        let mut stats = std::collections::HashMap::new();
        let norms = self
            .generator
            .norms_mut()
            .chain(self.discriminator.norms_mut());
        for (i, norm) in norms.enumerate() {
            if let Some((m, v)) = norm.running_stats() {
                stats.insert(format!("mean.{i}"), m.clone());
                stats.insert(format!("var.{i}"), v.clone());
            }
        }
        stats
    }
}

/// Where a run keeps its checkpoint, previews and losses: `MODEL.train/` beside the model.
pub fn run_dir(model: &Path) -> PathBuf {
    model.with_extension("train")
}

/// The run's position, saved with each checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    step: u64,
    seed: u64,
    preset: Preset,
    norm: NormKind,
    seconds: f64,
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub model: PathBuf,
    pub steps: u64,
    pub seconds: f64,
    pub steps_per_second: f64,
    pub losses: Losses,
    pub parity_max_abs_diff: f32,
    pub generator_parameters: usize,
    pub previews: PathBuf,
    pub stopped_early: bool,
}

/// What pix2pix learns from.
pub enum Source<'a> {
    /// A reenactment dataset: sketch → frame of the target.
    Reenact(&'a Dataset),
    /// Any pictures paired by name, gathered at the preset's size (every tenth held out for
    /// the previews).
    Pairs(&'a PairedSet),
}

/// Trains on `source` and exports to `model` (with its card), checkpointing into
/// [`run_dir`]. `stop` ends the run cleanly (checkpoint and export) when set.
pub fn train(
    source: Source,
    model: &Path,
    options: &Options,
    stop: &AtomicBool,
) -> Result<TrainSummary, TrainError> {
    let size = options.preset.size();
    if let Source::Reenact(dataset) = source {
        if dataset.manifest.size != size {
            return Err(TrainError::SizeMismatch {
                dataset: dataset.manifest.size,
                preset: options.preset.name().into(),
                preset_size: size,
            });
        }
    }
    run::check_output_folder(model)?;
    super::init_cpu_threads();
    let device = options.device.device()?;
    let arch = Architecture {
        size: size as usize,
        filters: options.preset.filters(),
        norm: options.norm,
        dropout: options.dropout,
    };
    let mut net = Pix2Pix::new(arch, &device, options.seed)?;
    let (pairs, previews) = match source {
        Source::Reenact(dataset) => (load_training_pairs(dataset)?, load_preview_pairs(dataset)?),
        Source::Pairs(set) => split_pairs(set)?,
    };
    let dir = run_dir(model);
    let checkpoint = dir.join("checkpoint");
    let mut state = RunState {
        step: 0,
        seed: options.seed,
        preset: options.preset,
        norm: options.norm,
        seconds: 0.0,
    };
    if options.resume {
        state = run::load_state(&checkpoint)?;
        net.load(&checkpoint)?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::Write {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    let mut log = LossLog::open(
        &dir,
        ["d_loss", "g_gan", "g_l1"],
        options.resume.then_some(state.step),
    )?;
    let total = total_steps(options, pairs.len());
    let bar = crate::progress::progress(Some(total), "training");
    bar.set_position(state.step);
    let started = Instant::now();
    let deadline = options
        .max_minutes
        .map(|m| started + Duration::from_secs_f64(m * 60.0));
    let batches = spawn_loader(pairs, options.seed, state.step, device.clone());
    let mut losses = [0.0; 3];
    let first_step = state.step;
    while state.step < total
        && !stop.load(Ordering::Relaxed)
        && deadline.is_none_or(|d| Instant::now() < d)
    {
        let (sketch, real) = batches
            .recv()
            .map_err(|_| TrainError::Internal("batch loader stopped"))??;
        losses = net.step(&sketch, &real)?;
        state.step += 1;
        bar.set_position(state.step);
        bar.set_message(format!(
            "D {:.3} G {:.3} L1 {:.3}",
            losses[0], losses[1], losses[2]
        ));
        let seconds = state.seconds + started.elapsed().as_secs_f64();
        log.push(LossRecord {
            step: state.step,
            values: losses,
            seconds,
        })?;
        if state.step.is_multiple_of(options.preview_every) {
            write_preview(&mut net, &previews, &dir, state.step)?;
            log.plot()?;
        }
        if state.step.is_multiple_of(options.checkpoint_every) {
            write_checkpoint(&mut net, &checkpoint, &state, started)?;
        }
    }
    bar.finish_and_clear();
    let stopped_early = state.step < total;
    write_checkpoint(&mut net, &checkpoint, &state, started)?;
    let preview = write_preview(&mut net, &previews, &dir, state.step)?;
    log.plot()?;
    let seconds = state.seconds + started.elapsed().as_secs_f64();
    let steps_run = state.step - first_step;
    let card = match source {
        Source::Reenact(dataset) => {
            write_mean_frame(dataset, model)?;
            model_card(dataset, options, &state, losses, model)?
        }
        Source::Pairs(set) => pairs_card(set, options, &state, losses),
    };
    let diff = super::export::export_checked(
        &net.generator.export("pix2pix_generator")?,
        &card,
        model,
        |x| net.generate(x),
    )?;
    Ok(TrainSummary {
        model: model.to_path_buf(),
        steps: state.step,
        seconds,
        steps_per_second: steps_run as f64 / started.elapsed().as_secs_f64().max(1e-9),
        losses,
        parity_max_abs_diff: diff,
        generator_parameters: net.generator_parameters(),
        previews: preview,
        stopped_early,
    })
}

fn total_steps(options: &Options, pairs: usize) -> u64 {
    match (options.steps, options.epochs) {
        (Some(s), _) => s,
        (None, Some(e)) => e * pairs as u64,
        (None, None) => match options.preset {
            Preset::Micro | Preset::Tiny => 3000,
            Preset::Small => 20_000,
            Preset::Base => 100_000,
        },
    }
}

fn write_checkpoint(
    net: &mut Pix2Pix,
    dir: &Path,
    state: &RunState,
    started: Instant,
) -> Result<(), TrainError> {
    net.save(dir)?;
    let state = RunState {
        seconds: state.seconds + started.elapsed().as_secs_f64(),
        ..state.clone()
    };
    run::save_state(dir, &state)
}

type Pair = (Rgb8, Rgb8);

fn load_training_pairs(dataset: &Dataset) -> Result<Vec<Pair>, TrainError> {
    let pairs: Vec<Pair> = dataset
        .training_pairs()
        .map(|p| dataset.load_pair(p))
        .collect::<Result<_, _>>()?;
    if pairs.is_empty() {
        return Err(TrainError::NoTrainingPairs);
    }
    Ok(pairs)
}

/// Paired pictures: every tenth held out for the previews, the rest trained on.
fn split_pairs(set: &PairedSet) -> Result<(Vec<Pair>, Vec<Pair>), TrainError> {
    let (train, mut held_out) = run::hold_out(set.pairs.iter().cloned());
    if train.is_empty() {
        return Err(TrainError::NoTrainingPairs);
    }
    held_out.truncate(PREVIEW_ROWS);
    Ok((train, held_out))
}

/// Held-out pairs spread over the hold-out (or training pairs when none are held out).
fn load_preview_pairs(dataset: &Dataset) -> Result<Vec<Pair>, TrainError> {
    let mut chosen: Vec<_> = dataset.holdout_pairs().collect();
    if chosen.is_empty() {
        chosen = dataset.training_pairs().collect();
    }
    let step = (chosen.len() / PREVIEW_ROWS).max(1);
    chosen
        .iter()
        .step_by(step)
        .take(PREVIEW_ROWS)
        .map(|p| Ok(dataset.load_pair(p)?))
        .collect()
}

/// Prepares batches on its own thread, in a seeded order that a resumed run reproduces: each
/// epoch is a permutation drawn from (seed, epoch).
fn spawn_loader(
    pairs: Vec<Pair>,
    seed: u64,
    start: u64,
    device: Device,
) -> mpsc::Receiver<Result<(Tensor, Tensor), TrainError>> {
    let (tx, rx) = mpsc::sync_channel(2);
    std::thread::spawn(move || {
        let n = pairs.len() as u64;
        let mut step = start;
        loop {
            let epoch = step / n;
            let order = permutation(pairs.len(), seed ^ epoch.wrapping_mul(0x9E37_79B9));
            let (sketch, frame) = &pairs[order[(step % n) as usize]];
            let batch =
                to_tensor(sketch, &device).and_then(|s| Ok((s, to_tensor(frame, &device)?)));
            if tx.send(batch).is_err() {
                return;
            }
            step += 1;
        }
    });
    rx
}

fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

fn write_preview(
    net: &mut Pix2Pix,
    pairs: &[Pair],
    dir: &Path,
    step: u64,
) -> Result<PathBuf, TrainError> {
    let device = Device::Cpu;
    let mut rows = Vec::with_capacity(pairs.len());
    for (sketch, frame) in pairs {
        let generated = to_image(&net.generate(&to_tensor(sketch, &device)?)?)?;
        rows.push([sketch.clone(), generated, frame.clone()]);
    }
    save_preview(&rows, dir, step)
}

/// The mean of the training frames, saved beside the model: eval's baseline.
fn write_mean_frame(dataset: &Dataset, model: &Path) -> Result<(), TrainError> {
    let size = dataset.manifest.size;
    let mut sum = vec![0f64; (size * size * 3) as usize];
    let mut count = 0;
    for pair in dataset.training_pairs() {
        let (_, frame) = dataset.load_pair(pair)?;
        for (s, v) in sum.iter_mut().zip(frame.as_raw()) {
            *s += f64::from(*v);
        }
        count += 1;
    }
    let pixels: Vec<u8> = sum
        .iter()
        .map(|s| (s / f64::from(count.max(1))).round() as u8)
        .collect();
    let mean = Rgb8::from_raw(size, size, pixels).ok_or(TrainError::Internal("mean frame size"))?;
    let path = mean_frame_path(model);
    crate::files::save_png(&mean, &path).map_err(|e| TrainError::Write {
        path,
        reason: e.to_string(),
    })
}

/// `MODEL.mean.png`: the mean training frame beside the model.
pub fn mean_frame_path(model: &Path) -> PathBuf {
    model.with_extension("mean.png")
}

fn model_card(
    dataset: &Dataset,
    options: &Options,
    state: &RunState,
    losses: Losses,
    model: &Path,
) -> Result<ModelCard, TrainError> {
    let spec = TensorSpec {
        size: options.preset.size(),
        layout: Layout::Nchw,
        range: [-1.0, 1.0],
        color: ColorOrder::Rgb,
    };
    let mean_frame = mean_frame_path(model)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let training = toml::toml! {
        architecture = "pix2pix"
        preset = (options.preset.name())
        norm = (format!("{:?}", options.norm).to_lowercase())
        dropout = (f64::from(options.dropout))
        steps = (state.step as i64)
        seed = (options.seed as i64)
        dataset = (dataset.dir.display().to_string())
        source = (dataset.manifest.source.display().to_string())
        holdout_from = (dataset.manifest.holdout_from.min(i64::MAX as u64) as i64)
        mean_frame = mean_frame
        final_d_loss = (f64::from(losses[0]))
        final_g_gan = (f64::from(losses[1]))
        final_g_l1 = (f64::from(losses[2]))
    };
    Ok(ModelCard {
        description: format!(
            "pix2pix reenactment ({} preset) trained on {}",
            options.preset.name(),
            dataset.manifest.source.display()
        ),
        sketch: Some(dataset.manifest.sketch),
        framing: Some(dataset.manifest.window),
        neutral: target_neutral(dataset),
        training: Some(training),
        ..ModelCard::new(ModelKind::Reenact, spec)
    })
}

/// The target's neutral face from the training pairs' landmarks (already in model pixels).
fn target_neutral(dataset: &Dataset) -> Option<TargetNeutral> {
    let frames: Vec<Landmarks> = dataset
        .training_pairs()
        .filter_map(|p| Landmarks::from_slice(&p.landmarks))
        .collect();
    TargetNeutral::from_frames(&frames)
}

/// The card of a model trained on pictures paired by name: a style model.
fn pairs_card(set: &PairedSet, options: &Options, state: &RunState, losses: Losses) -> ModelCard {
    let spec = TensorSpec {
        size: options.preset.size(),
        layout: Layout::Nchw,
        range: [-1.0, 1.0],
        color: ColorOrder::Rgb,
    };
    let training = toml::toml! {
        architecture = "pix2pix"
        preset = (options.preset.name())
        norm = (format!("{:?}", options.norm).to_lowercase())
        steps = (state.step as i64)
        seed = (options.seed as i64)
        inputs = (set.a.display().to_string())
        targets = (set.b.display().to_string())
        pairs = (set.pairs.len() as i64)
        final_g_l1 = (f64::from(losses[2]))
    };
    ModelCard {
        description: format!(
            "pix2pix ({} preset): pictures like {} become pictures like {}",
            options.preset.name(),
            set.a.display(),
            set.b.display()
        ),
        training: Some(training),
        ..ModelCard::new(ModelKind::Stylize, spec)
    }
}
