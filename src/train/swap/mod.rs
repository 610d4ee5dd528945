//! Training the face-swap autoencoder on two face sets (`mimic train swap`): warped faces in,
//! the unwarped faces out, the face-weighted absolute error (and DSSIM with `--loss
//! l1-dssim`), both people each step through the shared encoder; previews (A, A→A, A→B, B,
//! B→B, B→A), loss curves and a validation MAE on held-out faces; checkpoints and `--resume`;
//! exports `NAME_a2b.onnx` (encoder + B's decoder) and `NAME_b2a.onnx` with their cards, each
//! checked against candle.

pub mod model;
mod warp;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use self::model::{Decoder, Encoder};
use self::warp::TrainingPair;
use super::adam::{Adam, AdamConfig};
use super::driver::{self, RunOptions, Trainer};
use super::images::{batch_to_tensor, tensor_to_image, SIGMOID};
use super::layers::{l1, weighted_dssim, weighted_l1};
use super::params::{Params, Rng};
use super::report::save_preview;
use super::weight;
use super::{run, TrainDevice, TrainError};
use crate::data::faceset::FaceSet;
use crate::face::reference::Reference;
use crate::face::{AlignedCrop, DetectOptions, FaceAnalyzer, Landmarks, LANDMARK_COUNT};
use crate::frame::Rgb8;
use crate::geometry::{Point, Similarity};
use crate::infer::{AlignmentSpec, ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};
use crate::swap::detail::DetailSpec;

/// The model's crop: the mean-face template with a tenth of the side around it, so brows,
/// cheeks and the upper chin are in view (the book's network sees the inner face).
pub const MODEL_PADDING: f32 = 0.1;
/// Faces per person in a preview grid.
const PREVIEW_ROWS: usize = 3;

/// Network size presets (DESIGN §5): `base` is the book's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
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

/// The encoder, both decoders and their one optimiser.
pub struct Autoencoders {
    pub encoder: Encoder,
    pub decoder_a: Decoder,
    pub decoder_b: Decoder,
    params: Params,
    adam: Adam,
    loss: SwapLoss,
}

/// A run: the networks, both people's faces, the held-out faces and the latest validation
/// error.
struct SwapRun {
    net: Autoencoders,
    people: (Person, Person),
    validation: (Tensor, Tensor),
    mae: f32,
    rng: Rng,
    batch: usize,
    device: Device,
    about: toml::Table,
}

impl Trainer<3> for SwapRun {
    const LOSSES: [&'static str; 3] = ["loss_a", "loss_b", "validation_mae"];

    fn start(&mut self, step: u64, seed: u64) -> Result<(), TrainError> {
        self.rng = Rng::new(seed ^ step.wrapping_mul(0x9E37_79B9));
        Ok(())
    }

    fn step(&mut self, lr_scale: f64) -> Result<[f32; 3], TrainError> {
        self.net.adam.set_lr_scale(lr_scale);
        let (a, b) = &self.people;
        let batch_a = a.batch(self.batch, &mut self.rng, &self.device)?;
        let batch_b = b.batch(self.batch, &mut self.rng, &self.device)?;
        let [loss_a, loss_b] = self.net.step(&batch_a, &batch_b)?;
        Ok([loss_a, loss_b, self.mae])
    }

    fn preview(&mut self, dir: &Path, step: u64) -> Result<PathBuf, TrainError> {
        self.mae = validation_mae(&self.net, &self.validation)?;
        write_preview(&self.net, &self.validation, dir, step)
    }

    fn save(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.net.params.save(&dir.join("params.safetensors"))?;
        self.net.adam.save(&dir.join("adam.safetensors"))
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.net.params.load(&dir.join("params.safetensors"))?;
        self.net.adam.load(&dir.join("adam.safetensors"))
    }

    fn about(&self) -> toml::Table {
        self.about.clone()
    }
}

impl Autoencoders {
    pub fn new(
        preset: SwapPreset,
        loss: SwapLoss,
        device: &Device,
        seed: u64,
    ) -> Result<Autoencoders, TrainError> {
        let mut params = Params::new(device, seed);
        let (f, size) = (preset.filters(), preset.size());
        let encoder = Encoder::new(&mut params, f, size)?;
        let decoder_a = Decoder::new(&mut params, "dec_a", f, size)?;
        let decoder_b = Decoder::new(&mut params, "dec_b", f, size)?;
        let config = AdamConfig {
            lr: preset.learning_rate(),
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-7,
        };
        let adam = Adam::new(params.vars(), config)?;
        Ok(Autoencoders {
            encoder,
            decoder_a,
            decoder_b,
            params,
            adam,
            loss,
        })
    }

    pub fn parameters(&self) -> usize {
        self.params.count()
    }

    /// One step on a batch of each person; returns the two losses. Both autoencoders' losses
    /// are summed into one update, so the shared encoder learns from both faces in every step.
    pub fn step(&mut self, a: &Batch, b: &Batch) -> Result<[f32; 2], TrainError> {
        super::on_candle_threads(|| {
            let loss = |decoder: &Decoder, batch: &Batch| -> Result<Tensor, TrainError> {
                let made = decoder.forward(&self.encoder.forward(&batch.input)?)?;
                let error = weighted_l1(&made, &batch.target, &batch.weight)?;
                match self.loss {
                    SwapLoss::L1 => Ok(error),
                    SwapLoss::L1Dssim => {
                        let dssim = weighted_dssim(&made, &batch.target, &batch.weight, 1.0)?;
                        Ok((error + dssim)?)
                    }
                }
            };
            let (loss_a, loss_b) = (loss(&self.decoder_a, a)?, loss(&self.decoder_b, b)?);
            self.adam.backward_step(&(&loss_a + &loss_b)?)?;
            Ok([loss_a.to_scalar()?, loss_b.to_scalar()?])
        })
    }

    /// Faces through the encoder and one decoder (`to_b`: B's).
    pub fn swap(&self, faces: &Tensor, to_b: bool) -> Result<Tensor, TrainError> {
        let embedding = self.encoder.forward(faces)?;
        match to_b {
            true => self.decoder_b.forward(&embedding),
            false => self.decoder_a.forward(&embedding),
        }
    }
}

/// Warped faces in [0, 1], their unwarped targets and the targets' loss weights.
pub struct Batch {
    pub input: Tensor,
    pub target: Tensor,
    pub weight: Tensor,
}

/// One person's faces, as the model sees them.
struct Person {
    train: Vec<Rgb8>,
    /// The landmarks of each training face, in the model's crop.
    landmarks: Vec<Landmarks>,
    /// The loss weights of each training face, in the set's crop.
    weights: Vec<Rgb8>,
    held_out: Vec<Rgb8>,
    to_model: Similarity,
    /// The side of the model's faces.
    size: u32,
}

impl Person {
    /// `set`'s faces for a model of `size` pixels.
    fn load(set: &FaceSet, size: u32) -> Result<Person, TrainError> {
        let (trained_on, held) = run::hold_out(&set.entries);
        let crop = AlignedCrop::new(set.manifest.size, set.manifest.padding as f32);
        let to_model = warp::set_to_model(crop, model_crop(size));
        let (mut train, mut landmarks, mut weights) = (Vec::new(), Vec::new(), Vec::new());
        for entry in trained_on {
            let points = entry.landmarks()?;
            weights.push(weight::weight_map(
                &points,
                set.manifest.size,
                weight::BACKGROUND,
            ));
            landmarks.push(points.map(|p| to_model.apply(p)));
            train.push(set.load(entry)?);
        }
        let mut held_out = held
            .into_iter()
            .map(|entry| set.load(entry))
            .collect::<Result<Vec<_>, _>>()?;
        if held_out.is_empty() {
            held_out.push(train[train.len() - 1].clone());
        }
        Ok(Person {
            train,
            landmarks,
            weights,
            held_out,
            to_model,
            size,
        })
    }

    /// A batch of warped inputs and their targets.
    fn batch(&self, n: usize, rng: &mut Rng, device: &Device) -> Result<Batch, TrainError> {
        let pairs: Vec<TrainingPair> = (0..n)
            .map(|_| {
                let i = rng.below(self.train.len());
                let (face, weight) = (&self.train[i], &self.weights[i]);
                warp::training_pair(face, weight, &self.to_model, self.size, rng)
            })
            .collect();
        let pictures = |pick: fn(&TrainingPair) -> &Rgb8| -> Vec<Rgb8> {
            pairs.iter().map(|p| pick(p).clone()).collect()
        };
        Ok(Batch {
            input: batch_to_tensor(&pictures(|p| &p.input), SIGMOID, device)?,
            target: batch_to_tensor(&pictures(|p| &p.target), SIGMOID, device)?,
            weight: batch_to_tensor(&pictures(|p| &p.weight), [0.0, weight::FEATURES], device)?,
        })
    }

    /// The mean of the training faces' landmarks (model pixels): this person's face shape.
    fn mean_shape(&self) -> Option<Landmarks> {
        let n = self.landmarks.len() as f32;
        let mut sum = [Point::new(0.0, 0.0); LANDMARK_COUNT];
        for face in &self.landmarks {
            for (s, p) in sum.iter_mut().zip(face.points()) {
                *s = Point::new(s.x + p.x / n, s.y + p.y / n);
            }
        }
        (!self.landmarks.is_empty()).then(|| Landmarks::new(sum))
    }

    /// This person's keyframes for the detail of faces made of theirs: the training face
    /// nearest their mean shape first, then [`DETAIL_KEYFRAMES`] − 1 more spread over their
    /// expressions and poses, at the model's size.
    fn keyframes(&self) -> Option<Reference> {
        let first = crate::face::reference::closest_to(&self.landmarks, &self.mean_shape()?)?;
        let chosen = crate::face::reference::spread_from(&self.landmarks, first, DETAIL_KEYFRAMES);
        let frames = chosen
            .iter()
            .map(|&i| {
                let face = warp::view(&self.train[i], &self.to_model, self.size);
                (face, self.landmarks[i].clone())
            })
            .collect();
        Reference::new(frames)
    }

    /// The held-out faces, unwarped.
    fn validation(&self, device: &Device) -> Result<Tensor, TrainError> {
        let faces: Vec<Rgb8> = self
            .held_out
            .iter()
            .map(|f| warp::view(f, &self.to_model, self.size))
            .collect();
        batch_to_tensor(&faces, SIGMOID, device)
    }
}

/// How many of the target's faces a model keeps for the detail ([`crate::swap::detail`]).
const DETAIL_KEYFRAMES: usize = 16;

/// Writes the keyframes of `to` beside the model at `model` (`MODEL.detail.png`) and says in
/// a card's terms what they are: the detail of `to`'s faces, which the model draws `drawn` away
/// from the driver's landmarks.
fn write_detail(
    to: &Person,
    drawn: [Point; LANDMARK_COUNT],
    model: &Path,
) -> Result<Option<DetailSpec>, TrainError> {
    let Some(reference) = to.keyframes() else {
        return Ok(None);
    };
    let path = model.with_extension("detail.png");
    crate::frame::save_png(&reference.strip(), &path).map_err(|e| TrainError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(Some(DetailSpec {
        image: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        landmarks: reference.landmarks(),
        drawn: drawn.to_vec(),
    }))
}

/// Driver faces the model's drawing is measured on, and how many of them must show a face
/// the landmark detector finds for the measure to count.
const DRAWN_FACES: usize = 32;
const MIN_DRAWN: usize = 8;

/// Where the model draws `to`'s features on `from`'s faces, per landmark, against `from`'s own
/// (model pixels): the mean offset of the landmarks dlib finds on its outputs for up to
/// [`DRAWN_FACES`] of `from`'s faces. An autoencoder keeps much of the driver's geometry, so
/// moving the detail by the two people's whole difference in face shape would draw the
/// target's brows and lids beside the model's. Too few outputs with a face (a model early
/// in training): that whole difference, the target's mean landmarks less the driver's.
fn drawn_by(
    net: &Autoencoders,
    from: &Person,
    to: &Person,
    to_b: bool,
    analyzer: &FaceAnalyzer,
    device: &Device,
) -> Result<[Point; LANDMARK_COUNT], TrainError> {
    let stride = from.train.len().div_ceil(DRAWN_FACES).max(1);
    let chosen: Vec<usize> = (0..from.train.len()).step_by(stride).collect();
    let faces: Vec<Rgb8> = chosen
        .iter()
        .map(|&i| warp::view(&from.train[i], &from.to_model, from.size))
        .collect();
    let made = net.swap(&batch_to_tensor(&faces, SIGMOID, device)?, to_b)?;
    let mut sum = [Point::new(0.0, 0.0); LANDMARK_COUNT];
    let mut found = 0usize;
    for (n, &i) in chosen.iter().enumerate() {
        let output = tensor_to_image(&made, n, SIGMOID)?;
        let Some(face) = analyzer.faces(&output)?.into_iter().next() else {
            continue;
        };
        for ((s, p), q) in sum
            .iter_mut()
            .zip(face.landmarks.points())
            .zip(from.landmarks[i].points())
        {
            *s = Point::new(s.x + p.x - q.x, s.y + p.y - q.y);
        }
        found += 1;
    }
    if found >= MIN_DRAWN {
        let n = found as f32;
        return Ok(sum.map(|s| Point::new(s.x / n, s.y / n)));
    }
    let (Some(target), Some(driver)) = (to.mean_shape(), from.mean_shape()) else {
        return Ok([Point::new(0.0, 0.0); LANDMARK_COUNT]);
    };
    Ok(std::array::from_fn(|k| {
        let (t, d) = (target.points()[k], driver.points()[k]);
        Point::new(t.x - d.x, t.y - d.y)
    }))
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
    run::check_output_folder(out)?;
    super::init_cpu_threads();
    let device = options.device.device()?;
    let size = options.preset.size() as u32;
    let people = (Person::load(a, size)?, Person::load(b, size)?);
    let net = Autoencoders::new(options.preset, options.loss, &device, options.run.seed)?;
    let validation = (people.0.validation(&device)?, people.1.validation(&device)?);
    let validation_mae_start = validation_mae(&net, &validation)?;
    let mut trainer = SwapRun {
        net,
        people,
        validation,
        mae: validation_mae_start,
        rng: Rng::new(options.run.seed),
        batch: options.preset.batch(),
        device,
        about: toml::toml! {
            preset = (options.preset.name())
            loss = (options.loss.name())
        },
    };
    let dir = out.with_extension("train");
    let done = driver::drive(&mut trainer, &dir, &options.run, stop)?;
    let (net, mae) = (
        &trainer.net,
        validation_mae(&trainer.net, &trainer.validation)?,
    );
    let (a2b, b2a) = model_paths(out);
    let (person_a, person_b) = &trainer.people;
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
    let diff_a2b = super::export::export_checked(
        &model::export(&net.encoder, &net.decoder_b)?,
        &card(a, b, &detail.0),
        &a2b,
        |x| net.swap(x, true),
    )?;
    let diff_b2a = super::export::export_checked(
        &model::export(&net.encoder, &net.decoder_a)?,
        &card(b, a, &detail.1),
        &b2a,
        |x| net.swap(x, false),
    )?;
    let (dfm, diff_dfm) = match options.dfm {
        true => {
            let path = dfm_path(out);
            let card = dfm_card(card(a, b, &detail.0));
            let diff = super::export::export_checked_output(
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
    Ok(SwapSummary {
        a2b,
        b2a,
        dfm,
        steps: done.steps,
        seconds: done.seconds,
        steps_per_second: done.steps_per_second(),
        losses: [done.losses[0], done.losses[1]],
        validation_mae_start,
        validation_mae: mae,
        parity_max_abs_diff: diff_a2b.max(diff_b2a).max(diff_dfm),
        parameters: net.parameters(),
        previews: done.preview,
        stopped_early: done.stopped_early,
    })
}

/// `NAME_a2b.onnx` and `NAME_b2a.onnx` for `NAME`.
pub fn model_paths(out: &Path) -> (PathBuf, PathBuf) {
    let stem = out
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".onnx").to_string())
        .unwrap_or_default();
    (
        out.with_file_name(format!("{stem}_a2b.onnx")),
        out.with_file_name(format!("{stem}_b2a.onnx")),
    )
}

/// `NAME.dfm` for `NAME`.
pub fn dfm_path(out: &Path) -> PathBuf {
    let (a2b, _) = model_paths(out);
    let stem = a2b
        .file_stem()
        .map(|s| s.to_string_lossy().trim_end_matches("_a2b").to_string());
    a2b.with_file_name(format!("{}.dfm", stem.unwrap_or_default()))
}

/// The A→B card for the `.dfm` signature: NHWC and BGR.
fn dfm_card(card: ModelCard) -> ModelCard {
    let spec = TensorSpec {
        layout: Layout::Nhwc,
        color: ColorOrder::Bgr,
        ..card.input
    };
    ModelCard {
        input: spec,
        output: spec,
        description: format!("{} (DeepFaceLive .dfm)", card.description),
        ..card
    }
}

/// What the `.dfm` graph computes, in candle: NHWC BGR in, the A→B face NHWC BGR out.
fn dfm_forward(net: &Autoencoders, x: &Tensor) -> Result<Tensor, TrainError> {
    let reverse = Tensor::new(&[2u32, 1, 0], x.device())?;
    let rgb = x
        .permute((0, 3, 1, 2))?
        .contiguous()?
        .index_select(&reverse, 1)?;
    let face = net.swap(&rgb, true)?.index_select(&reverse, 1)?;
    Ok(face.permute((0, 2, 3, 1))?.contiguous()?)
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

/// Mean absolute error of A→A and B→B on the held-out faces.
fn validation_mae(net: &Autoencoders, (a, b): &(Tensor, Tensor)) -> Result<f32, TrainError> {
    let error_a = l1(&net.swap(a, false)?, a)?.to_scalar::<f32>()?;
    let error_b = l1(&net.swap(b, true)?, b)?.to_scalar::<f32>()?;
    Ok((error_a + error_b) / 2.0)
}

/// Rows of A, A→A, A→B, B, B→B, B→A on held-out faces.
fn write_preview(
    net: &Autoencoders,
    (a, b): &(Tensor, Tensor),
    dir: &Path,
    step: u64,
) -> Result<PathBuf, TrainError> {
    let rows_a = PREVIEW_ROWS.min(a.dim(0)?);
    let rows_b = PREVIEW_ROWS.min(b.dim(0)?);
    let (a, b) = (a.narrow(0, 0, rows_a)?, b.narrow(0, 0, rows_b)?);
    let outputs = [
        a.clone(),
        net.swap(&a, false)?,
        net.swap(&a, true)?,
        b.clone(),
        net.swap(&b, true)?,
        net.swap(&b, false)?,
    ];
    let mut rows = Vec::new();
    for n in 0..rows_a.min(rows_b) {
        let row: Vec<Rgb8> = outputs
            .iter()
            .map(|t| tensor_to_image(t, n, SIGMOID))
            .collect::<Result<_, _>>()?;
        rows.push(row);
    }
    save_preview(&rows, dir, step)
}

/// The card of the model that turns `from`'s faces into `to`'s.
fn model_card(from: &FaceSet, to: &FaceSet, options: &Options, steps: u64, mae: f32) -> ModelCard {
    let size = options.preset.size() as u32;
    let spec = TensorSpec {
        size,
        layout: Layout::Nchw,
        range: [0.0, 1.0],
        color: ColorOrder::Rgb,
    };
    let training = toml::toml! {
        architecture = "autoencoder"
        preset = (options.preset.name())
        loss = (options.loss.name())
        steps = (steps as i64)
        seed = (options.run.seed as i64)
        source_faces = (from.dir.display().to_string())
        target_faces = (to.dir.display().to_string())
        target_reference = (to.manifest.reference.as_ref().map(|p| p.display().to_string()).unwrap_or_default())
        validation_mae = (f64::from(mae))
    };
    ModelCard {
        description: format!(
            "face swap autoencoder ({} preset): faces of {} become faces of {}",
            options.preset.name(),
            from.dir.display(),
            to.dir.display()
        ),
        alignment: Some(AlignmentSpec {
            size,
            padding: MODEL_PADDING,
        }),
        training: Some(training),
        ..ModelCard::new(ModelKind::Swap, spec)
    }
}
