//! What a pix2pix run writes beside its model: the mean training frame (eval's baseline), the
//! `warp` generator's keyframes, and the model card that names them.

use std::path::{Path, PathBuf};

use super::{Arch, Options};
use crate::data::dataset::Dataset;
use crate::data::imageset::PairedSet;
use crate::face::reference::{Reference, ReferenceSpec};
use crate::face::Landmarks;
use crate::frame::Rgb8;
use crate::infer::{ModelCard, ModelKind};
use crate::reenact::retarget::TargetNeutral;
use crate::train::driver::Run;
use crate::train::export::trained_card;
use crate::train::images::TANH;
use crate::train::{run, TrainError};

/// The mean of the training frames at the model's `size`, saved beside the model: eval's
/// baseline.
pub(super) fn write_mean_frame(
    dataset: &Dataset,
    size: u32,
    model: &Path,
) -> Result<(), TrainError> {
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
pub(super) fn write_reference(
    reference: &Reference,
    model: &Path,
) -> Result<ReferenceSpec, TrainError> {
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

pub(super) fn model_card(
    dataset: &Dataset,
    options: &Options,
    arch: Arch,
    run: &Run<3>,
    reference: Option<ReferenceSpec>,
    model: &Path,
) -> ModelCard {
    let size = options.preset.size();
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
    let description = format!(
        "pix2pix reenactment ({} preset, {} generator) trained on {}",
        options.preset.name(),
        arch.name(),
        dataset.manifest.source.display()
    );
    ModelCard {
        sketch: Some(dataset.manifest.sketch),
        framing: Some(dataset.manifest.window),
        neutral: target_neutral(dataset, size),
        reference,
        ..trained_card(ModelKind::Reenact, (size, TANH), description, training)
    }
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
pub(super) fn pairs_card(set: &PairedSet, options: &Options, run: &Run<3>) -> ModelCard {
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
    let description = format!(
        "pix2pix ({} preset): pictures like {} become pictures like {}",
        options.preset.name(),
        set.a.display(),
        set.b.display()
    );
    let size = options.preset.size();
    trained_card(ModelKind::Stylize, (size, TANH), description, training)
}
