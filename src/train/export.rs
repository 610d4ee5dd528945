//! Writing a trained generator as ONNX (opset 17, NCHW, [-1, 1]) with its model card, and the
//! parity check every export must pass: the file, run by ONNX Runtime, must agree with
//! candle's forward pass on the same input to within [`PARITY_TOLERANCE`]. Every trainer's
//! card starts from [`trained_card`].

use std::path::Path;

use candle_core::{Device, Tensor};
use ort::session::Session;
use ort::value::TensorRef;

use super::params::Rng;
use super::TrainError;
use crate::infer::{runtime, ColorOrder, InferError, Layout, ModelCard, ModelKind, TensorSpec};
use crate::onnx::Model;

/// Largest allowed absolute difference between ONNX Runtime and candle.
pub const PARITY_TOLERANCE: f32 = 1e-4;

/// The card of a generator trained here: NCHW RGB pictures of `size` pixels, black and white
/// at `range`, in and out; what it is and how it was trained. Trainers add what else their
/// kind of model needs (framing, alignment…).
pub fn trained_card(
    kind: ModelKind,
    (size, range): (u32, [f32; 2]),
    description: String,
    training: toml::Table,
) -> ModelCard {
    let spec = TensorSpec {
        size,
        layout: Layout::Nchw,
        range,
        color: ColorOrder::Rgb,
    };
    ModelCard {
        description,
        training: Some(training),
        ..ModelCard::new(kind, spec)
    }
}

/// Writes `model` and `card` beside it after the parity check against `forward` passes.
/// Nothing is left at `path` when the check fails.
pub fn export_checked(
    model: &Model,
    card: &ModelCard,
    path: &Path,
    forward: impl FnOnce(&Tensor) -> Result<Tensor, TrainError>,
) -> Result<f32, TrainError> {
    export_checked_output(model, card, path, 0, forward)
}

/// [`export_checked`] for a model with several outputs: `forward` is compared with the
/// output at index `output`. A model with several image inputs (a reference beside the
/// condition) gets one probe each, and `forward` gets them joined on the channel axis.
pub fn export_checked_output(
    model: &Model,
    card: &ModelCard,
    path: &Path,
    output: usize,
    forward: impl FnOnce(&Tensor) -> Result<Tensor, TrainError>,
) -> Result<f32, TrainError> {
    let bytes = model.encode();
    let probes = model
        .inputs
        .iter()
        .enumerate()
        .map(|(i, io)| {
            let dims: Vec<usize> = io.dims.iter().map(|&d| d.max(1) as usize).collect();
            probe_input(&dims, i as u64)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let expected = forward(&Tensor::cat(&probes, 1)?)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let got = run_onnx(&bytes, &probes, output, path)?;
    let diff = max_abs_diff(&expected, &got);
    // NaN fails too: only a measured difference within tolerance passes.
    if diff.is_nan() || diff > PARITY_TOLERANCE {
        return Err(TrainError::Parity {
            diff,
            allowed: PARITY_TOLERANCE,
        });
    }
    card.write_with(path, Some(&bytes))?;
    Ok(diff)
}

/// A fixed pseudo-random input in [-1, 1] of a model input's shape (`n`: which input).
fn probe_input(dims: &[usize], n: u64) -> Result<Tensor, TrainError> {
    let mut rng = Rng::new(0x5eed + n);
    let values: Vec<f32> = (0..dims.iter().product())
        .map(|_| rng.uniform() * 2.0 - 1.0)
        .collect();
    Ok(Tensor::from_vec(values, dims, &Device::Cpu)?)
}

fn run_onnx(
    bytes: &[u8],
    inputs: &[Tensor],
    output: usize,
    path: &Path,
) -> Result<Vec<f32>, TrainError> {
    let invalid = |reason: String| {
        TrainError::Infer(InferError::ModelInvalid {
            path: path.to_path_buf(),
            reason,
        })
    };
    let rt = runtime().map_err(InferError::from)?;
    let mut session = Session::builder(&rt.environment)
        .and_then(|mut b| b.commit_from_memory(bytes))
        .map_err(|e| invalid(e.to_string()))?;
    let arrays = inputs
        .iter()
        .map(|input| {
            let data = input.flatten_all()?.to_vec1::<f32>()?;
            ndarray::ArrayD::from_shape_vec(input.dims().to_vec(), data)
                .map_err(|e| invalid(e.to_string()))
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    let tensors = arrays
        .iter()
        .map(|a| TensorRef::from_array_view(a).map(ort::session::SessionInputValue::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let outputs = session
        .run(tensors.as_slice())
        .map_err(|e| invalid(e.to_string()))?;
    let out = outputs[output]
        .try_extract_array::<f32>()
        .map_err(|e| invalid(e.to_string()))?;
    Ok(out.iter().copied().collect())
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
