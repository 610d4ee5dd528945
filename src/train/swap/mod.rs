//! Training the face-swap autoencoder on two face sets (`mimic train swap`): warped faces in,
//! the unwarped faces out, the face-weighted absolute error (and DSSIM with `--loss
//! l1-dssim`), both people each step through the shared encoder; previews (A, A→A, A→B, B,
//! B→B, B→A), loss curves and a validation MAE on held-out faces; checkpoints and `--resume`;
//! exports `NAME_a2b.onnx` (encoder + B's decoder) and `NAME_b2a.onnx` with their cards, each
//! checked against candle.
//!
//! The networks and their step are in `autoencoders.rs`, each person's faces in `person.rs`,
//! the detail the cards carry in `detail.rs`, and the files a run writes in `files.rs`.

mod autoencoders;
mod detail;
mod files;
pub mod model;
mod person;
mod warp;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

pub use self::autoencoders::Autoencoders;
use self::autoencoders::{validation_mae, SwapRun};
use self::detail::{drawn_by, write_detail};
use self::files::{dfm_card, dfm_forward, model_card};
pub use self::files::{dfm_path, model_paths};
pub use self::person::Batch;
use self::person::Person;
use super::driver::{self, Run, RunOptions};
use super::export::{export_checked, export_checked_output};
use super::paired::PairedRun;
use super::{run, TrainDevice, TrainError};
use crate::data::faceset::FaceSet;
use crate::face::{AlignedCrop, DetectOptions, FaceAnalyzer};
use crate::infer::ModelCard;
use crate::swap::detail::DetailSpec;

/// The model's crop: the mean-face template with a tenth of the side around it, so brows,
/// cheeks and the upper chin are in view (the book's network sees the inner face).
pub const MODEL_PADDING: f32 = 0.1;

/// Network size presets (DESIGN §5): `base` is the book's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SwapPreset {
    /// 64 px, f = 16 (≈1.2 M parameters), batch 16, Adam 5e-4: trains on a CPU within the hour.
    Tiny,
    /// 128 px, f = 16 (≈1.6 M), batch 8, Adam 5e-4: twice the detail, for a CPU's 45 minutes (the
    /// default).
    Tiny128,
    /// 64 px, f = 32 (≈4.8 M), batch 32, Adam 1e-4.
    Small,
    /// 64 px, f = 128 (≈77 M), batch 64, Adam 5e-5: the book's network, for a GPU.
    Base,
}

impl SwapPreset {
    /// The side of the faces the network sees and makes.
    pub fn size(self) -> usize {
        match self {
            SwapPreset::Tiny128 => 128,
            SwapPreset::Tiny | SwapPreset::Small | SwapPreset::Base => 64,
        }
    }

    pub fn filters(self) -> usize {
        match self {
            SwapPreset::Tiny | SwapPreset::Tiny128 => 16,
            SwapPreset::Small => 32,
            SwapPreset::Base => 128,
        }
    }

    pub fn batch(self) -> usize {
        match self {
            SwapPreset::Tiny => 16,
            SwapPreset::Tiny128 => 8,
            SwapPreset::Small => 32,
            SwapPreset::Base => 64,
        }
    }

    /// The book's 5e-5 suits its batch of 64 and days of training; the CPU presets take
    /// larger steps so they get somewhere within an hour.
    pub fn learning_rate(self) -> f64 {
        match self {
            SwapPreset::Tiny | SwapPreset::Tiny128 => 5e-4,
            SwapPreset::Small => 1e-4,
            SwapPreset::Base => 5e-5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SwapPreset::Tiny => "tiny",
            SwapPreset::Tiny128 => "tiny128",
            SwapPreset::Small => "small",
            SwapPreset::Base => "base",
        }
    }
}

/// What the autoencoders learn to bring down, each term weighted to the face (eyes and mouth
/// most, [`weight`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SwapLoss {
    /// Mean absolute error plus structural dissimilarity (DSSIM), as DeepFaceLab and faceswap
    /// train: the error keeps the colours right, DSSIM the detail that an average blurs away.
    /// The default: with `tiny128`, 45 minutes on A's and B's clips, the face alone is twice as
    /// sharp as the 64-pixel network's with the error alone (README, "Face swap, measured").
    L1Dssim,
    /// Mean absolute error alone (the book's).
    L1,
}

impl SwapLoss {
    pub fn name(self) -> &'static str {
        match self {
            SwapLoss::L1Dssim => "l1-dssim",
            SwapLoss::L1 => "l1",
        }
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct Options {
    pub preset: SwapPreset,
    pub loss: SwapLoss,
    pub device: TrainDevice,
    /// Steps, time budget, seed, schedule and the rest.
    pub run: RunOptions,
    /// Also export A→B as `NAME.dfm` (DeepFaceLive's signature).
    pub dfm: bool,
}

impl Options {
    pub fn new(preset: SwapPreset, steps: u64) -> Options {
        Options {
            preset,
            loss: SwapLoss::L1Dssim,
            device: TrainDevice::Cpu,
            run: RunOptions::steps(steps),
            dfm: false,
        }
    }
}

/// The crop a model of `size` pixels sees.
pub fn model_crop(size: u32) -> AlignedCrop {
    AlignedCrop::new(size, MODEL_PADDING)
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct SwapSummary {
    pub a2b: PathBuf,
    pub b2a: PathBuf,
    pub steps: u64,
    pub seconds: f64,
    pub steps_per_second: f64,
    pub losses: [f32; 2],
    /// Mean absolute error of A→A and B→B on held-out faces, before and after this run.
    pub validation_mae_start: f32,
    pub validation_mae: f32,
    pub parity_max_abs_diff: f32,
    /// `NAME.dfm`, when asked for.
    pub dfm: Option<PathBuf>,
    pub parameters: usize,
    pub previews: PathBuf,
    pub stopped_early: bool,
}

/// Trains on face sets `a` and `b`; writes `NAME_a2b.onnx` and `NAME_b2a.onnx` (with cards)
/// for `name` = `out`'s path, and keeps the run in `NAME.train/`.
pub fn train(
    a: &FaceSet,
    b: &FaceSet,
    out: &Path,
    options: &Options,
    stop: &AtomicBool,
) -> Result<SwapSummary, TrainError> {
    check_sets(a, b, options.preset)?;
    let (a2b, b2a) = model_paths(out);
    let dfm = options.dfm.then(|| dfm_path(out));
    let outputs: Vec<_> = [Some(a2b), Some(b2a), dfm].into_iter().flatten().collect();
    run::check_outputs(&outputs, options.run.may_replace())?;
    super::init_cpu_threads();
    let mut trainer = start_run(a, b, options)?;
    let validation_mae_start = trainer.measured;
    let dir = out.with_extension("train");
    let done = driver::drive(&mut trainer, &dir, &options.run, stop)?;
    let mae = validation_mae(&trainer.net, &trainer.validation)?;
    let exported = export_models(&trainer, (a, b), out, options, (&done, mae))?;
    Ok(SwapSummary {
        a2b: exported.a2b,
        b2a: exported.b2a,
        dfm: exported.dfm,
        steps: done.steps,
        seconds: done.seconds,
        steps_per_second: done.steps_per_second(),
        losses: [done.losses[0], done.losses[1]],
        validation_mae_start,
        validation_mae: mae,
        parity_max_abs_diff: exported.parity,
        parameters: trainer.net.parameters(),
        previews: done.preview,
        stopped_early: done.stopped_early,
    })
}

/// The networks, both people's faces and the held-out faces' error before the first step.
fn start_run(a: &FaceSet, b: &FaceSet, options: &Options) -> Result<SwapRun, TrainError> {
    let device = options.device.device()?;
    let size = options.preset.size() as u32;
    let people = (Person::load(a, size)?, Person::load(b, size)?);
    let net = Autoencoders::new(options.preset, options.loss, &device, options.run.seed)?;
    let validation = (people.0.validation(&device)?, people.1.validation(&device)?);
    let mae = validation_mae(&net, &validation)?;
    let about = toml::toml! {
        preset = (options.preset.name())
        loss = (options.loss.name())
    };
    let seed = options.run.seed;
    Ok(PairedRun::new(
        net, people, validation, mae, seed, device, about,
    ))
}

/// The files a run wrote and the largest difference between them and candle.
struct Exported {
    a2b: PathBuf,
    b2a: PathBuf,
    dfm: Option<PathBuf>,
    parity: f32,
}

/// Writes both models (and with `--dfm` the `.dfm`), each with its card and detail, each
/// checked against candle.
fn export_models(
    trainer: &SwapRun,
    (a, b): (&FaceSet, &FaceSet),
    out: &Path,
    options: &Options,
    (done, mae): (&Run<3>, f32),
) -> Result<Exported, TrainError> {
    let net = &trainer.net;
    let (a2b, b2a) = model_paths(out);
    let (person_a, person_b) = &trainer.sides;
    let analyzer = FaceAnalyzer::new(DetectOptions::default())?;
    let drawn = |from: &Person, to: &Person, to_b: bool| {
        drawn_by(net, from, to, to_b, &analyzer, &trainer.device)
    };
    let detail = (
        write_detail(person_b, drawn(person_a, person_b, true)?, &a2b)?,
        write_detail(person_a, drawn(person_b, person_a, false)?, &b2a)?,
    );
    let card = |from: &FaceSet, to: &FaceSet, detail: &Option<DetailSpec>| ModelCard {
        detail: detail.clone(),
        ..model_card(from, to, options, done.steps, mae)
    };
    let diff_a2b = export_checked(
        &model::export(&net.encoder, &net.decoder_b)?,
        &card(a, b, &detail.0),
        &a2b,
        |x| net.swap(x, true),
    )?;
    let diff_b2a = export_checked(
        &model::export(&net.encoder, &net.decoder_a)?,
        &card(b, a, &detail.1),
        &b2a,
        |x| net.swap(x, false),
    )?;
    let (dfm, diff_dfm) = match options.dfm {
        true => {
            let path = dfm_path(out);
            let card = dfm_card(card(a, b, &detail.0));
            let diff = export_checked_output(
                &model::export_dfm(&net.encoder, &net.decoder_b)?,
                &card,
                &path,
                1,
                |x| dfm_forward(net, x),
            )?;
            (Some(path), diff)
        }
        false => (None, 0.0),
    };
    Ok(Exported {
        a2b,
        b2a,
        dfm,
        parity: diff_a2b.max(diff_b2a).max(diff_dfm),
    })
}

/// The two sets must have been cut alike, so one crop fits both, and at least as large as
/// the preset's faces.
fn check_sets(a: &FaceSet, b: &FaceSet, preset: SwapPreset) -> Result<(), TrainError> {
    let (ma, mb) = (&a.manifest, &b.manifest);
    if ma.size != mb.size || (ma.padding - mb.padding).abs() > 1e-6 {
        return Err(TrainError::FaceSetsDiffer {
            a: format!("{}×{} padding {}", ma.size, ma.size, ma.padding),
            b: format!("{}×{} padding {}", mb.size, mb.size, mb.padding),
        });
    }
    // The model's crop is tighter than the set's (padding 0.1 against the set's): the face
    // fills more of it, so a set of the model's size would be enlarged into it.
    let model = preset.size() as u32;
    let face = f64::from(model) * (1.0 - 2.0 * f64::from(MODEL_PADDING));
    let needed = (face / (1.0 - 2.0 * ma.padding).max(1e-3)).ceil() as u32;
    if ma.size < needed {
        return Err(TrainError::FacesTooSmall {
            size: ma.size,
            padding: ma.padding,
            model,
            needed,
            preset: preset.name(),
        });
    }
    Ok(())
}
