//! Training generators in Rust with candle, and exporting them to ONNX for the runtime.
//!
//! Each architecture lives in its own file (`pix2pix/model.rs`) and its loop in another
//! (`pix2pix/mod.rs`). Weights are plain named variables ([`params`]) initialised from a seed,
//! optimised by [`adam`], checkpointed as safetensors, and exported through [`export`], which
//! checks the ONNX file against candle's own forward pass before it counts as written.

pub mod adam;
pub mod conv;
pub mod export;
pub mod graph;
pub mod images;
pub mod layers;
pub mod params;
pub mod pix2pix;
pub mod report;

use std::path::PathBuf;

use candle_core::Device;

pub use layers::NormKind;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    #[error("cannot read checkpoint '{path}': {reason}; delete the checkpoint folder to start over, or point --resume at a good one")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("the dataset's pairs are {dataset}×{dataset} pixels but preset '{preset}' trains at {preset_size}×{preset_size}: extract again with --size {preset_size}, or pick a preset of that size")]
    SizeMismatch {
        dataset: u32,
        preset: String,
        preset_size: u32,
    },
    #[error(
        "the dataset has no training pairs (all are held out): extract with a smaller --holdout"
    )]
    NoTrainingPairs,
    #[error("CUDA was asked for but {0}")]
    Cuda(String),
    #[error("export check failed: the ONNX file differs from candle's forward pass by {diff:.2e} (allowed {allowed:.0e})")]
    Parity { diff: f32, allowed: f32 },
    #[error(transparent)]
    Infer(#[from] crate::infer::InferError),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TrainDevice {
    #[default]
    Cpu,
    Cuda,
}

impl TrainDevice {
    pub fn device(self) -> Result<Device, TrainError> {
        match self {
            TrainDevice::Cpu => Ok(Device::Cpu),
            TrainDevice::Cuda => cuda_device(),
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device, TrainError> {
    Device::new_cuda(0)
        .map_err(|e| TrainError::Cuda(format!("no CUDA device could be opened: {e}")))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<Device, TrainError> {
    Err(TrainError::Cuda(
        "mimic was built without CUDA support: rebuild with --features cuda".into(),
    ))
}
