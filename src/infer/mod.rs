//! Running generators through ONNX Runtime: loading the library, building a session on the
//! best execution provider, checking the model's signature against its card before the first
//! frame, and converting frames to and from tensors.

pub mod quantize;

mod card;
mod generator;

use std::path::PathBuf;

pub use crate::runtime::{
    cuda_libraries, cuda_status, int8_kernels, runtime, DevicePreference, Provider, Runtime,
    RuntimeError,
};
pub use card::{
    AlignmentSpec, ColorOrder, Layout, ModelCard, ModelKind, QuantizationSpec, TensorSpec,
    MAX_MODEL_SIDE,
};
pub use generator::{
    Generator, GeneratorTimings, Graph, Loading, DFM_FACE, DFM_INPUT, DFM_PADDING, REFERENCE_INPUT,
};

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("model file '{0}' does not exist")]
    ModelMissing(PathBuf),
    #[error("cannot load model '{path}': {reason}")]
    ModelInvalid { path: PathBuf, reason: String },
    #[error("model '{path}' is not an image generator mimic can run: {reason}")]
    Signature { path: PathBuf, reason: String },
    #[error("model card '{path}' is invalid: {reason}")]
    Card { path: PathBuf, reason: String },
    #[error("the generator takes {expected}×{expected} images but was given {width}×{height}")]
    InputSize {
        expected: u32,
        width: u32,
        height: u32,
    },
    #[error("model '{0}' takes the target's reference picture as a second input, but none was given: run it through mimic's reenactment path (live, eval reenact), with its card beside it")]
    ReferenceNeeded(PathBuf),
    #[error("model '{path}' failed on a frame: {reason}")]
    Run { path: PathBuf, reason: String },
}
