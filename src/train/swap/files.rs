//! What a swap run writes: the two models' paths (and the `.dfm`'s), their cards, and the
//! candle forward pass the `.dfm` export is checked against.

use std::path::{Path, PathBuf};

use candle_core::Tensor;

use super::autoencoders::Autoencoders;
use super::{Options, MODEL_PADDING};
use crate::data::faceset::FaceSet;
use crate::infer::{AlignmentSpec, ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};
use crate::train::export::trained_card;
use crate::train::images::SIGMOID;
use crate::train::TrainError;

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
pub(super) fn dfm_card(card: ModelCard) -> ModelCard {
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
pub(super) fn dfm_forward(net: &Autoencoders, x: &Tensor) -> Result<Tensor, TrainError> {
    let reverse = Tensor::new(&[2u32, 1, 0], x.device())?;
    let rgb = x
        .permute((0, 3, 1, 2))?
        .contiguous()?
        .index_select(&reverse, 1)?;
    let face = net.swap(&rgb, true)?.index_select(&reverse, 1)?;
    Ok(face.permute((0, 2, 3, 1))?.contiguous()?)
}

/// The card of the model that turns `from`'s faces into `to`'s.
pub(super) fn model_card(
    from: &FaceSet,
    to: &FaceSet,
    options: &Options,
    steps: u64,
    mae: f32,
) -> ModelCard {
    let size = options.preset.size() as u32;
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
    let description = format!(
        "face swap autoencoder ({} preset): faces of {} become faces of {}",
        options.preset.name(),
        from.dir.display(),
        to.dir.display()
    );
    ModelCard {
        alignment: Some(AlignmentSpec {
            size,
            padding: MODEL_PADDING,
        }),
        ..trained_card(ModelKind::Swap, (size, SIGMOID), description, training)
    }
}
