//! `mimic train pix2pix`: the book's paired image-to-image GAN, trained on a dataset from
//! `mimic extract reenact` (sketch → frame of the target) or on any pictures paired by name
//! (`--pairs`: edges → photo, grey → colour…), and exported to ONNX with its model card.
//!
//! Each step follows the book's order: the generator makes a frame from the sketch; the
//! discriminator learns real pairs as 1 and generated pairs as 0 (LSGAN); the generator learns
//! to be scored 1 while staying close to the real frame (+100 × L1). Adam 2e-4, β1 0.5.
//!
//! Two generators ([`Arch`]): the book's U-Net, and by default on reenactment data the same
//! U-Net given the target's nearest keyframe moved onto the sketch's landmarks
//! ([`crate::face::reference`]), which it blends into its output. The L1 term is weighted to the eyes
//! and mouth ([`super::weight`], the swap trainer's map, with the rest of the frame counting
//! as much as the face). Runs go through the one
//! training loop ([`super::driver`]): on the CPU presets a 15-minute budget by default, the
//! learning rate held for the first half and then brought down to nothing.

pub mod model;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use self::model::Architecture;
use super::adam::{Adam, AdamConfig};
use super::driver::{self, Run, RunOptions, Schedule, Trainer};
use super::images::{batch_to_tensor, to_image, to_tensor};
use super::layers::{l1, mse_to, weighted_l1, NormKind};
use super::params::{load_tensors, save_tensors, Params, Rng};
use super::report::save_preview;
use super::unet::{PatchGan, UNet};
use super::{run, weight, TrainDevice, TrainError};
use crate::data::dataset::{Dataset, Pair};
use crate::data::imageset::PairedSet;
use crate::face::reference::{Pick, Reference, ReferenceSpec};
use crate::face::Landmarks;
use crate::frame::Rgb8;
use crate::infer::{ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};
use crate::reenact::retarget::TargetNeutral;
use crate::reenact::sketch::SketchRenderer;

/// Weight of the L1 term in the generator's loss (the book's 100).
pub const L1_WEIGHT: f64 = 100.0;
const ADAM: AdamConfig = AdamConfig {
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-8,
};
/// The L1 weight of a pixel outside the face (the face counts 1, eyes and mouth
/// [`weight::FEATURES`]). Unlike the swap's blend, a reenactment shows the whole frame: at the
/// swap's 0.1 the adversarial term alone shaped the hair and background, and painted them
/// with noise (d3, 2500 steps: whole-frame PSNR 22.97 dB at 0.1, 24.26 dB at 1; face 26.40 and
/// 26.23, mouth 24.29 and 24.66).
const BACKGROUND_WEIGHT: f32 = 1.0;
/// Passes over the training pairs a default CPU run stops at, if its time budget has not
/// stopped it first. A small set learnt for longer is learnt by heart: d0's 70 frames trained
/// for 15 minutes (148 passes) lost to the nearest training frame on its held-out frames.
pub const DEFAULT_EPOCHS: u64 = 20;
/// Keyframes a `warp` model keeps: enough to hold a clip's range of mouths and poses, few
/// enough that the model's reference picture stays a few megabytes.
const KEYFRAMES: usize = 32;
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

    /// The default length of a run: a time budget on the CPU presets (a good tiny model in a
    /// coffee break), none on the GPU ones ([`Preset::default_steps`] bounds those).
    pub fn default_minutes(self) -> Option<f64> {
        match self {
            Preset::Micro | Preset::Tiny => Some(15.0),
            Preset::Small | Preset::Base => None,
        }
    }

    /// The default step count for `pairs` training pairs: on the CPU presets at most
    /// [`DEFAULT_EPOCHS`] passes over them (within the time budget), a fixed count on the others.
    pub fn default_steps(self, pairs: usize) -> u64 {
        match self {
            Preset::Micro | Preset::Tiny => DEFAULT_EPOCHS * pairs as u64,
            Preset::Small => 20_000,
            Preset::Base => 100_000,
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

/// The generator: the book's U-Net, or the same U-Net given the target's reference picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// The U-Net also sees the target's reference picture moved onto the sketch's landmarks
    /// and blends it into its output, so it paints only what the moved picture cannot show.
    Warp,
    /// The book's U-Net: the sketch alone.
    Book,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Warp => "warp",
            Arch::Book => "book",
        }
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct Options {
    pub preset: Preset,
    /// The generator (`None`: `warp` on a reenactment dataset, `book` on paired pictures).
    pub arch: Option<Arch>,
    pub norm: NormKind,
    pub dropout: f32,
    /// Passes over the training pairs, when the run's step count is not given.
    pub epochs: Option<u64>,
    pub device: TrainDevice,
    /// Steps, time budget, schedule and the rest (without a step count, epochs or a time
    /// budget, the preset's default budget: [`Preset::default_minutes`]).
    pub run: RunOptions,
}

impl Options {
    /// The defaults `mimic train pix2pix` uses, for `preset`, stopping after `steps` (the
    /// preset's default budget when `None`).
    pub fn new(preset: Preset, steps: Option<u64>) -> Options {
        Options {
            preset,
            arch: None,
            norm: NormKind::Instance,
            dropout: 0.0,
            epochs: None,
            device: TrainDevice::Cpu,
            run: RunOptions {
                steps,
                schedule: Schedule::LinearDecay,
                ..RunOptions::steps(0)
            },
        }
    }

    /// The run's bounds for `pairs` training pairs: the step count given, or epochs of them,
    /// or the preset's default (a time budget on a CPU preset, a step count on the others).
    fn bounded(&self, pairs: usize) -> RunOptions {
        let mut run = self.run.clone();
        if run.steps.is_none() && run.max_minutes.is_none() {
            match self.epochs {
                Some(e) => run.steps = Some(e * pairs as u64),
                None => {
                    run.max_minutes = self.preset.default_minutes();
                    run.steps = Some(self.preset.default_steps(pairs));
                }
            }
        }
        run
    }

    pub fn seed(&self) -> u64 {
        self.run.seed
    }

    fn arch(&self, source: &Source) -> Result<Arch, TrainError> {
        match (self.arch, source) {
            (Some(Arch::Warp), Source::Pairs(_)) => Err(TrainError::WarpNeedsLandmarks),
            (Some(arch), _) => Ok(arch),
            (None, Source::Reenact(_)) => Ok(Arch::Warp),
            (None, Source::Pairs(_)) => Ok(Arch::Book),
        }
    }
}

/// One training example at the model's size: the generator's input pictures, the real frame
/// and the loss weights (`None`: every pixel alike).
#[derive(Clone)]
struct Example {
    sketch: Rgb8,
    /// The reference moved onto this frame's landmarks (the `warp` generator's second input).
    warped: Option<Rgb8>,
    frame: Rgb8,
    weight: Option<Rgb8>,
}

/// The two networks of a run, their optimisers and their data.
pub struct Pix2Pix {
    pub arch: Architecture,
    pub generator: UNet,
    pub discriminator: PatchGan,
    g_params: Params,
    d_params: Params,
    g_opt: Adam,
    d_opt: Adam,
    device: Device,
    examples: Arc<Vec<Example>>,
    previews: Vec<Example>,
    batches: Option<mpsc::Receiver<Result<Batch, TrainError>>>,
    about: toml::Table,
}

/// The losses of one step: discriminator, generator's adversarial term, generator's L1.
pub type Losses = [f32; 3];

/// One step's tensors: the generator's input (the sketch, and the moved reference beside it
/// for `warp`), the real frame and the L1 weights.
pub struct Batch {
    pub input: Tensor,
    pub real: Tensor,
    pub weight: Option<Tensor>,
}

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
            device: device.clone(),
            examples: Arc::new(Vec::new()),
            previews: Vec::new(),
            batches: None,
            about: toml::Table::new(),
        })
    }

    pub fn generator_parameters(&self) -> usize {
        self.g_params.count()
    }

    /// One training step on a batch. It runs on candle's thread pool (`on_candle_threads`), so
    /// the parallel ops inside it run inline instead of each handing work to the pool and
    /// waiting.
    pub fn train_step(&mut self, batch: &Batch) -> Result<Losses, TrainError> {
        super::on_candle_threads(|| self.step_inline(batch))
    }

    fn step_inline(&mut self, batch: &Batch) -> Result<Losses, TrainError> {
        let Batch {
            input,
            real,
            weight,
        } = batch;
        let sketch = input.narrow(1, 0, 3)?;
        let fake = self.generator.forward(input, true)?;

        let pair = |image: &Tensor| Tensor::cat(&[image, &sketch], 1);
        let d_real = self.discriminator.forward(&pair(real)?, true)?;
        let d_fake = self.discriminator.forward(&pair(&fake.detach())?, true)?;
        let d_loss = ((mse_to(&d_real, 1.0)? + mse_to(&d_fake, 0.0)?)? * 0.5)?;
        self.d_opt.backward_step(&d_loss)?;

        let scored = self.discriminator.forward(&pair(&fake)?, true)?;
        let g_gan = mse_to(&scored, 1.0)?;
        let g_l1 = match weight {
            Some(weight) => weighted_l1(&fake, real, weight)?,
            None => l1(&fake, real)?,
        };
        let g_loss = (&g_gan + (&g_l1 * L1_WEIGHT)?)?;
        self.g_opt.backward_step(&g_loss)?;

        Ok([d_loss.to_scalar()?, g_gan.to_scalar()?, g_l1.to_scalar()?])
    }

    /// The generator's output for its input (a sketch, and the moved reference beside it for
    /// `warp`), at inference (no dropout, running statistics).
    pub fn generate(&mut self, input: &Tensor) -> Result<Tensor, TrainError> {
        self.generator.forward(input, false)
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

impl Trainer<3> for Pix2Pix {
    const LOSSES: [&'static str; 3] = ["d_loss", "g_gan", "g_l1"];

    fn start(&mut self, step: u64, seed: u64) -> Result<(), TrainError> {
        self.batches = Some(spawn_loader(
            Arc::clone(&self.examples),
            seed,
            step,
            self.device.clone(),
        ));
        Ok(())
    }

    fn step(&mut self, lr_scale: f64) -> Result<Losses, TrainError> {
        self.g_opt.set_lr_scale(lr_scale);
        self.d_opt.set_lr_scale(lr_scale);
        let batch = self
            .batches
            .as_ref()
            .ok_or(TrainError::Internal("the batch loader was not started"))?
            .recv()
            .map_err(|_| TrainError::Internal("batch loader stopped"))??;
        self.train_step(&batch)
    }

    /// Rows of sketch | (moved reference |) generated | real on held-out pairs.
    fn preview(&mut self, dir: &Path, step: u64) -> Result<PathBuf, TrainError> {
        let device = Device::Cpu;
        let mut rows = Vec::with_capacity(self.previews.len());
        for example in self.previews.clone() {
            let input = example.input_tensor(&device)?;
            let generated = to_image(&self.generate(&input)?)?;
            let mut row = vec![example.sketch.clone()];
            row.extend(example.warped.clone());
            row.extend([generated, example.frame.clone()]);
            rows.push(row);
        }
        save_preview(&rows, dir, step)
    }

    fn save(&mut self, dir: &Path) -> Result<(), TrainError> {
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

    fn about(&self) -> toml::Table {
        self.about.clone()
    }
}

impl Example {
    /// The generator's input for this example as a [1, C, S, S] tensor.
    fn input_tensor(&self, device: &Device) -> Result<Tensor, TrainError> {
        let sketch = to_tensor(&self.sketch, device)?;
        match &self.warped {
            Some(warped) => Ok(Tensor::cat(&[&sketch, &to_tensor(warped, device)?], 1)?),
            None => Ok(sketch),
        }
    }

    fn batch(&self, device: &Device) -> Result<Batch, TrainError> {
        let weight = self
            .weight
            .as_ref()
            .map(|w| batch_to_tensor(std::slice::from_ref(w), [0.0, weight::FEATURES], device))
            .transpose()?;
        Ok(Batch {
            input: self.input_tensor(device)?,
            real: to_tensor(&self.frame, device)?,
            weight,
        })
    }
}

/// Where a run keeps its checkpoint, previews and losses: `MODEL.train/` beside the model.
pub fn run_dir(model: &Path) -> PathBuf {
    model.with_extension("train")
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub model: PathBuf,
    pub arch: Arch,
    pub steps: u64,
    pub seconds: f64,
    pub steps_per_second: f64,
    pub losses: Losses,
    pub parity_max_abs_diff: f32,
    pub generator_parameters: usize,
    pub previews: PathBuf,
    pub stopped_early: bool,
    /// What was done to the training pictures to fit the model (resizing), if anything.
    pub resized: Option<String>,
}

/// What pix2pix learns from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// A reenactment dataset: sketch → frame of the target.
    Reenact(&'a Dataset),
    /// Any pictures paired by name, gathered at the preset's size (every tenth held out for
    /// the previews).
    Pairs(&'a PairedSet),
}

/// Trains on `source` and exports to `model` (with its card, and for `warp` the reference
/// picture), checkpointing into [`run_dir`]. `stop` ends the run cleanly (checkpoint and
/// export) when set.
pub fn train(
    source: Source,
    model: &Path,
    options: &Options,
    stop: &AtomicBool,
) -> Result<TrainSummary, TrainError> {
    let size = options.preset.size();
    let arch_kind = options.arch(&source)?;
    run::check_output_folder(model)?;
    super::init_cpu_threads();
    let device = options.device.device()?;
    let arch = Architecture {
        size: size as usize,
        filters: options.preset.filters(),
        norm: options.norm,
        dropout: options.dropout,
        reference: arch_kind == Arch::Warp,
    };
    let mut net = Pix2Pix::new(arch, &device, options.seed())?;
    let (training, reference) = match &source {
        Source::Reenact(dataset) => TrainingSet::from_dataset(dataset, size, arch.reference)?,
        Source::Pairs(set) => (TrainingSet::from_pairs(set)?, None),
    };
    net.examples = Arc::new(training.examples);
    net.previews = training.previews;
    net.about = toml::toml! {
        preset = (options.preset.name())
        arch = (arch_kind.name())
        norm = (format!("{:?}", options.norm).to_lowercase())
    };
    let run = options.bounded(net.examples.len());
    let dir = run_dir(model);
    let done = driver::drive(&mut net, &dir, &run, stop)?;
    let card = match source {
        Source::Reenact(dataset) => {
            write_mean_frame(dataset, size, model)?;
            let reference = match &reference {
                Some(r) => Some(write_reference(r, model)?),
                None => None,
            };
            model_card(dataset, options, arch_kind, &done, reference, model)?
        }
        Source::Pairs(set) => pairs_card(set, options, &done),
    };
    let diff = super::export::export_checked(
        &net.generator.export("pix2pix_generator")?,
        &card,
        model,
        |x| net.generate(x),
    )?;
    Ok(TrainSummary {
        model: model.to_path_buf(),
        arch: arch_kind,
        steps: done.steps,
        seconds: done.seconds,
        steps_per_second: done.steps_per_second(),
        losses: done.losses,
        parity_max_abs_diff: diff,
        generator_parameters: net.generator_parameters(),
        previews: done.preview,
        stopped_early: done.stopped_early,
        resized: training.resized,
    })
}

/// The examples a run trains on and previews, at the model's size.
struct TrainingSet {
    examples: Vec<Example>,
    previews: Vec<Example>,
    /// "256 px pairs resized to 128 px", when they were.
    resized: Option<String>,
}

impl TrainingSet {
    /// A reenactment dataset's pairs at `size`: sketches drawn anew from the landmarks at that
    /// size (the live loop's renderer), frames resized when the dataset's size differs, loss
    /// weights from the landmarks, and with `reference` the target's keyframes
    /// ([`choose_keyframes`]), the nearest ones moved onto each frame's landmarks.
    fn from_dataset(
        dataset: &Dataset,
        size: u32,
        reference: bool,
    ) -> Result<(TrainingSet, Option<Reference>), TrainError> {
        let mut renderer = SketchRenderer::new(size, size, dataset.manifest.sketch);
        let mut load = |pair: &Pair| -> Result<Option<Shot>, TrainError> {
            let Some(landmarks) = dataset.landmarks_at(pair, size) else {
                return Ok(None);
            };
            Ok(Some(Shot {
                t: pair.t,
                sketch: renderer.render(&landmarks).clone(),
                frame: dataset.frame_at(pair, size)?,
                landmarks,
            }))
        };
        let mut training = Vec::new();
        for pair in dataset.training_pairs() {
            training.extend(load(pair)?);
        }
        if training.is_empty() {
            return Err(TrainError::NoTrainingPairs);
        }
        let mut held_out = Vec::new();
        for pair in preview_pairs(dataset) {
            held_out.extend(load(pair)?);
        }
        let keyframes = reference.then(|| choose_keyframes(&training)).flatten();
        // A frame gets the nearest keyframes that are not itself: a held-out frame or a live
        // driver is never a keyframe's own picture.
        let example = |shot: Shot| Example {
            warped: keyframes.as_ref().map(|(reference, times)| {
                let pick = reference
                    .pick(&shot.landmarks, |k| times[k] != shot.t)
                    .unwrap_or(Pick::only(0));
                reference.warped(pick, &shot.landmarks)
            }),
            weight: Some(weight::weight_map(&shot.landmarks, size, BACKGROUND_WEIGHT)),
            sketch: shot.sketch,
            frame: shot.frame,
        };
        let resized = (dataset.manifest.size != size).then(|| {
            format!(
                "the dataset's {0}×{0} pairs were resized to the preset's {size}×{size}",
                dataset.manifest.size
            )
        });
        let set = TrainingSet {
            examples: training.into_iter().map(example).collect(),
            previews: held_out.into_iter().map(example).collect(),
            resized,
        };
        Ok((set, keyframes.map(|(reference, _)| reference)))
    }

    /// Paired pictures (already at the preset's size): every tenth held out for the previews.
    fn from_pairs(set: &PairedSet) -> Result<TrainingSet, TrainError> {
        let example = |(sketch, frame): (Rgb8, Rgb8)| Example {
            sketch,
            warped: None,
            frame,
            weight: None,
        };
        let (train, mut held_out) = run::hold_out(set.pairs.iter().cloned());
        if train.is_empty() {
            return Err(TrainError::NoTrainingPairs);
        }
        held_out.truncate(PREVIEW_ROWS);
        Ok(TrainingSet {
            examples: train.into_iter().map(example).collect(),
            previews: held_out.into_iter().map(example).collect(),
            resized: None,
        })
    }
}

/// One frame of the dataset at the model's size.
struct Shot {
    /// Its time in the clip (seconds).
    t: f64,
    landmarks: Landmarks,
    sketch: Rgb8,
    frame: Rgb8,
}

/// The target's keyframes and the times they were filmed at: the training frame closest to
/// its neutral face first, then [`KEYFRAMES`] − 1 more spread over its expressions and poses.
fn choose_keyframes(training: &[Shot]) -> Option<(Reference, Vec<f64>)> {
    let landmarks: Vec<Landmarks> = training.iter().map(|s| s.landmarks.clone()).collect();
    let neutral = TargetNeutral::from_frames(&landmarks)?;
    let at_rest = Landmarks::new(neutral.shape.0.map(|p| neutral.placement.apply(p)));
    let first = crate::face::reference::closest_to(&landmarks, &at_rest)?;
    let chosen = crate::face::reference::spread_from(&landmarks, first, KEYFRAMES);
    let times = chosen.iter().map(|&i| training[i].t).collect();
    let frames = chosen
        .iter()
        .map(|&i| (training[i].frame.clone(), training[i].landmarks.clone()))
        .collect();
    Some((Reference::new(frames)?, times))
}

/// Held-out pairs spread over the hold-out (or training pairs when none are held out).
fn preview_pairs(dataset: &Dataset) -> Vec<&Pair> {
    let mut chosen: Vec<&Pair> = dataset.holdout_pairs().collect();
    if chosen.is_empty() {
        chosen = dataset.training_pairs().collect();
    }
    let step = (chosen.len() / PREVIEW_ROWS).max(1);
    chosen
        .into_iter()
        .step_by(step)
        .take(PREVIEW_ROWS)
        .collect()
}

/// Prepares batches on its own thread, in a seeded order that a resumed run reproduces: each
/// epoch is a permutation drawn from (seed, epoch).
fn spawn_loader(
    examples: Arc<Vec<Example>>,
    seed: u64,
    start: u64,
    device: Device,
) -> mpsc::Receiver<Result<Batch, TrainError>> {
    let (tx, rx) = mpsc::sync_channel(2);
    std::thread::spawn(move || {
        let n = examples.len() as u64;
        let mut step = start;
        loop {
            let epoch = step / n;
            let order = permutation(examples.len(), seed ^ epoch.wrapping_mul(0x9E37_79B9));
            let batch = examples[order[(step % n) as usize]].batch(&device);
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

/// The mean of the training frames at the model's `size`, saved beside the model: eval's
/// baseline.
fn write_mean_frame(dataset: &Dataset, size: u32, model: &Path) -> Result<(), TrainError> {
    let mut sum = vec![0f64; (size * size * 3) as usize];
    let mut count = 0;
    for pair in dataset.training_pairs() {
        let frame = dataset.frame_at(pair, size)?;
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
    crate::frame::save_png(&mean, &path).map_err(|e| TrainError::Write {
        path,
        reason: e.to_string(),
    })
}

/// `MODEL.mean.png`: the mean training frame beside the model.
pub fn mean_frame_path(model: &Path) -> PathBuf {
    model.with_extension("mean.png")
}

/// `MODEL.reference.png`: the `warp` generator's keyframes, side by side, beside the model.
pub fn reference_path(model: &Path) -> PathBuf {
    model.with_extension("reference.png")
}

/// Writes the keyframes beside the model and returns what the card says of them.
fn write_reference(reference: &Reference, model: &Path) -> Result<ReferenceSpec, TrainError> {
    let path = reference_path(model);
    crate::frame::save_png(&reference.strip(), &path).map_err(|e| run::write_error(&path, e))?;
    Ok(ReferenceSpec {
        input: crate::infer::REFERENCE_INPUT.into(),
        image: file_name(&path),
        landmarks: reference.landmarks(),
    })
}

/// `path` as an absolute path where it can be made one, so a card read from elsewhere still
/// finds the training data.
fn absolute(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// The file name of `path`, as a card names a file beside the model.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn model_card(
    dataset: &Dataset,
    options: &Options,
    arch: Arch,
    run: &Run<3>,
    reference: Option<ReferenceSpec>,
    model: &Path,
) -> Result<ModelCard, TrainError> {
    let size = options.preset.size();
    let spec = TensorSpec {
        size,
        layout: Layout::Nchw,
        range: [-1.0, 1.0],
        color: ColorOrder::Rgb,
    };
    let training = toml::toml! {
        architecture = "pix2pix"
        generator = (arch.name())
        preset = (options.preset.name())
        norm = (format!("{:?}", options.norm).to_lowercase())
        dropout = (f64::from(options.dropout))
        steps = (run.steps as i64)
        minutes = ((run.seconds / 60.0 * 10.0).round() / 10.0)
        seed = (options.seed() as i64)
        dataset = (absolute(&dataset.dir))
        source = (absolute(&dataset.manifest.source))
        holdout_from = (dataset.manifest.holdout_from.min(i64::MAX as u64) as i64)
        mean_frame = (file_name(&mean_frame_path(model)))
        final_d_loss = (f64::from(run.losses[0]))
        final_g_gan = (f64::from(run.losses[1]))
        final_g_l1 = (f64::from(run.losses[2]))
    };
    Ok(ModelCard {
        description: format!(
            "pix2pix reenactment ({} preset, {} generator) trained on {}",
            options.preset.name(),
            arch.name(),
            dataset.manifest.source.display()
        ),
        sketch: Some(dataset.manifest.sketch),
        framing: Some(dataset.manifest.window),
        neutral: target_neutral(dataset, size),
        reference,
        training: Some(training),
        ..ModelCard::new(ModelKind::Reenact, spec)
    })
}

/// The target's neutral face from the training pairs' landmarks, in model pixels.
fn target_neutral(dataset: &Dataset, size: u32) -> Option<TargetNeutral> {
    let frames: Vec<Landmarks> = dataset
        .training_pairs()
        .filter_map(|p| dataset.landmarks_at(p, size))
        .collect();
    TargetNeutral::from_frames(&frames)
}

/// The card of a model trained on pictures paired by name: a style model.
fn pairs_card(set: &PairedSet, options: &Options, run: &Run<3>) -> ModelCard {
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
        steps = (run.steps as i64)
        seed = (options.seed() as i64)
        inputs = (set.a.display().to_string())
        targets = (set.b.display().to_string())
        pairs = (set.pairs.len() as i64)
        final_g_l1 = (f64::from(run.losses[2]))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_cpu_run_stops_at_twenty_passes_or_fifteen_minutes() {
        let run = Options::new(Preset::Tiny, None).bounded(70);
        assert_eq!((run.steps, run.max_minutes), (Some(1400), Some(15.0)));
        assert_eq!(run.schedule, Schedule::LinearDecay);
        let run = Options::new(Preset::Small, None).bounded(70);
        assert_eq!((run.steps, run.max_minutes), (Some(20_000), None));
        let given = Options::new(Preset::Tiny, Some(300)).bounded(70);
        assert_eq!((given.steps, given.max_minutes), (Some(300), None));
        let epochs = Options {
            epochs: Some(3),
            ..Options::new(Preset::Tiny, None)
        };
        assert_eq!(epochs.bounded(70).steps, Some(210));
    }
}
