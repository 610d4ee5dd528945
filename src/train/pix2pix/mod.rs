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
//!
//! The networks are in `model.rs`, the trainer and its step in `trainer.rs`, the examples it
//! learns from in `examples.rs`, and what a run writes beside the model in `files.rs`.

mod examples;
mod files;
pub mod model;
mod trainer;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

pub use self::examples::Batch;
use self::examples::TrainingSet;
pub use self::files::{mean_frame_path, reference_path};
use self::files::{model_card, pairs_card, write_mean_frame, write_reference};
use self::model::Architecture;
pub use self::trainer::{Losses, Pix2Pix};
use super::driver::{self, RunOptions, Schedule};
use super::layers::NormKind;
use super::{run, TrainDevice, TrainError};
use crate::data::dataset::Dataset;
use crate::data::imageset::PairedSet;

/// Weight of the L1 term in the generator's loss (the book's 100).
pub const L1_WEIGHT: f64 = 100.0;
/// Passes over the training pairs a default CPU run stops at, if its time budget has not
/// stopped it first. A small set learnt for longer is learnt by heart: d0's 70 frames trained
/// for 15 minutes (148 passes) lost to the nearest training frame on its held-out frames.
pub const DEFAULT_EPOCHS: u64 = 20;

/// Network size presets (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    run::check_outputs(&[model.to_path_buf()], options.run.may_replace())?;
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
    let resized = training.resized.clone();
    let about = toml::toml! {
        preset = (options.preset.name())
        arch = (arch_kind.name())
        norm = (format!("{:?}", options.norm).to_lowercase())
    };
    net.learn_from(training, about);
    let run = options.bounded(net.examples());
    let dir = run_dir(model);
    let done = driver::drive(&mut net, &dir, &run, stop)?;
    let card = match source {
        Source::Reenact(dataset) => {
            write_mean_frame(dataset, size, model)?;
            let reference = match &reference {
                Some(r) => Some(write_reference(r, model)?),
                None => None,
            };
            model_card(dataset, options, arch_kind, &done, reference, model)
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
        resized,
    })
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
