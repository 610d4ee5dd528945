//! Training generators in Rust with candle, and exporting them to ONNX for the runtime.
//!
//! Each architecture lives in its own file (`pix2pix/model.rs`) and its loop in another
//! (`pix2pix/mod.rs`). Weights are plain named variables ([`params`]) initialised from a seed,
//! optimised by [`adam`], checkpointed as safetensors, and exported through [`export`], which
//! checks the ONNX file against candle's own forward pass before it counts as written.

pub mod adam;
pub mod conv;
pub mod cyclegan;
pub mod driver;
pub mod export;
pub mod fused;
pub mod graph;
pub mod images;
mod kernel;
pub mod layers;
pub mod pad;
pub mod paired;
pub mod params;
pub mod pix2pix;
pub mod report;
pub mod run;
pub mod swap;
pub mod unet;
pub mod weight;

use std::path::PathBuf;

use candle_core::Device;

pub use layers::NormKind;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Dataset(#[from] crate::data::dataset::DatasetError),
    #[error("cannot read checkpoint '{path}': {reason}; delete the checkpoint folder to start over, or point --resume at a good one")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("'{}' already exists: give --force to replace it, --resume to continue its run, or another --out", .0.display())]
    Exists(PathBuf),
    #[error(
        "the dataset has no training pairs (all are held out): extract with a smaller --holdout"
    )]
    NoTrainingPairs,
    #[error("the warp generator needs a reenactment dataset (landmarks to move the reference by): train paired pictures with --arch book")]
    WarpNeedsLandmarks,
    #[error("CUDA was asked for but {0}")]
    Cuda(String),
    #[error("export check failed: the ONNX file differs from candle's forward pass by {diff:.2e} (allowed {allowed:.0e})")]
    Parity { diff: f32, allowed: f32 },
    #[error(transparent)]
    Infer(#[from] crate::infer::InferError),
    #[error(transparent)]
    FaceSet(#[from] crate::data::faceset::FaceSetError),
    #[error(transparent)]
    Face(#[from] crate::face::FaceError),
    #[error("the two face sets were cut differently (A: {a}; B: {b}): extract both with the same --size and --padding")]
    FaceSetsDiffer { a: String, b: String },
    #[error("the face sets' faces are {size}×{size} (padding {padding}) but the {preset} preset makes {model}×{model} faces of a tighter crop, which would only be theirs enlarged: extract them again with --size {needed} or more, or train a smaller preset")]
    FacesTooSmall {
        size: u32,
        padding: f64,
        model: u32,
        needed: u32,
        preset: &'static str,
    },
    #[error("training diverged at step {step} (a loss is not a number): resume from the last checkpoint, or start again with another --seed")]
    Diverged { step: u64 },
    #[error("--size {0} does not suit the networks: give a multiple of 16 from 32 to 512")]
    BadSize(u32),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// Fixes candle's CPU threading once, before training. Two defaults of candle 0.11 cost a
/// small CPU dearly: without `RAYON_NUM_THREADS` it works the thread count out again for every
/// matrix product by reading `/proc/cpuinfo` (about 1500 times per tiny pix2pix step), and its
/// element-wise ops keep helper threads spinning while they wait, taking a core from the
/// convolutions. Element-wise ops are memory-bound anyway, so `CANDLE_NUM_THREADS=1`. Measured
/// on the tiny step here: 142 ms → 108 ms. Users' own settings win.
pub fn init_cpu_threads() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// Runs `f` on candle's CPU thread pool, so mimic's parallel ops and candle's share one set of
/// threads instead of two pools competing for the same cores.
pub fn on_candle_threads<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    candle_core::utils::with_threadpool(f)
}

/// The f32 values of a contiguous CPU tensor, for custom ops (which all need contiguous
/// inputs; callers make them so).
pub(crate) fn cpu_slice<'a>(
    storage: &'a candle_core::CpuStorage,
    layout: &candle_core::Layout,
) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("mimic's CPU ops need contiguous tensors"),
    }
}

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

#[cfg(feature = "cuda-train")]
fn cuda_device() -> Result<Device, TrainError> {
    Device::new_cuda(0)
        .map_err(|e| TrainError::Cuda(format!("no CUDA device could be opened: {e}")))
}

#[cfg(not(feature = "cuda-train"))]
fn cuda_device() -> Result<Device, TrainError> {
    Err(TrainError::Cuda(
        "mimic was built without CUDA training: rebuild with --features cuda-train (needs the CUDA toolkit)".into(),
    ))
}
