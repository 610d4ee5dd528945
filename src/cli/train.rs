//! The trainers' flags (`train pix2pix`, `train swap`, `train cyclegan`).

use std::path::PathBuf;

use clap::Args;
use mimic::train::driver::{RunOptions, Schedule};

use super::values::{
    ArchChoice, CyclePresetChoice, Norm, PresetChoice, ReconstructionChoice, ScheduleChoice,
    SwapLossChoice, SwapPresetChoice, TrainOn, VariantChoice,
};
use super::JsonFlag;

#[derive(Debug, Args)]
pub struct TrainPix2PixArgs {
    /// Dataset folder made by `mimic extract reenact`.
    #[arg(required_unless_present = "pairs", conflicts_with = "pairs")]
    pub dataset: Option<PathBuf>,
    /// Instead of a dataset: two folders of pictures paired by file name, inputs then
    /// targets (`mimic extract pairs` makes them from any photos or videos).
    #[arg(long, num_args = 2, value_names = ["DIR_A", "DIR_B"])]
    pub pairs: Option<Vec<PathBuf>>,
    /// Where to write the ONNX model (its card, mean frame and MODEL.train/ go beside it).
    #[arg(long)]
    pub out: PathBuf,
    /// Network size: tiny (128 px, CPU), small (256 px), base (256 px, the book's, GPU).
    #[arg(long, value_enum, default_value_t = PresetChoice::Tiny)]
    pub preset: PresetChoice,
    /// The generator: warp (the U-Net also sees the target's reference picture moved onto
    /// the sketch; the default on a reenactment dataset) or book (the book's U-Net; the
    /// default with --pairs).
    #[arg(long, value_enum)]
    pub arch: Option<ArchChoice>,
    /// Normalisation layers.
    #[arg(long, value_enum, default_value_t = Norm::Instance)]
    pub norm: Norm,
    /// Dropout rate in the decoder while training.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Stop after this many steps (default: 20 passes over the training pairs or 15 minutes,
    /// whichever comes first, for micro and tiny; 20000 steps small, 100000 base).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Stop after this many passes over the training pairs (when --steps is not given).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Also write an INT8 copy (NAME.int8.onnx), calibrated on the training data as
    /// `mimic quantize` does.
    #[arg(long)]
    pub int8: bool,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct TrainSwapArgs {
    /// Face set of person A (the one whose faces get replaced live).
    #[arg(long)]
    pub a: PathBuf,
    /// Face set of person B (the face put in their place).
    #[arg(long)]
    pub b: PathBuf,
    /// Name of the models: writes NAME_a2b.onnx and NAME_b2a.onnx (with cards), and the run
    /// (previews, losses, checkpoint) into NAME.train/.
    #[arg(long)]
    pub out: PathBuf,
    /// Network size: tiny128 (128 px, the default), tiny (64 px) and small train on a CPU;
    /// base is the book's network.
    #[arg(long, value_enum, default_value_t = SwapPresetChoice::Tiny128)]
    pub preset: SwapPresetChoice,
    /// What training brings down, weighted to the face: the absolute error with the structural
    /// dissimilarity (DSSIM, for sharper faces; the default), or the error alone.
    #[arg(long, value_enum, default_value_t = SwapLossChoice::L1Dssim)]
    pub loss: SwapLossChoice,
    /// Training steps (each one batch of A and one of B).
    #[arg(long, default_value_t = 5000)]
    pub steps: u64,
    /// `dfm` also writes NAME.dfm (A→B in DeepFaceLive's signature, card NAME.toml).
    #[arg(long, value_enum, default_value_t = SwapFormat::Onnx)]
    pub format: SwapFormat,
    /// Also write INT8 copies (NAME_a2b.int8.onnx, NAME_b2a.int8.onnx), each calibrated on
    /// its input face set as `mimic quantize` does.
    #[arg(long)]
    pub int8: bool,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// What `train swap` exports besides the two ONNX models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SwapFormat {
    /// NAME_a2b.onnx and NAME_b2a.onnx.
    Onnx,
    /// Those and NAME.dfm, for DeepFaceLive.
    Dfm,
}

#[derive(Debug, Args)]
pub struct TrainCycleganArgs {
    #[command(flatten)]
    pub domains: DomainFlags,
    /// Name of the models: writes NAME_a2b.onnx and NAME_b2a.onnx (with cards), and the run
    /// (previews, losses, checkpoint) into NAME.train/.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = VariantChoice::Cyclegan)]
    pub variant: VariantChoice,
    /// DiscoGAN's reconstruction loss.
    #[arg(long, value_enum, default_value_t = ReconstructionChoice::Mse)]
    pub reconstruction: ReconstructionChoice,
    /// Network size: tiny (64 px) and small (128 px) train on a CPU; base is the book's.
    #[arg(long, value_enum, default_value_t = CyclePresetChoice::Tiny)]
    pub preset: CyclePresetChoice,
    /// Picture side, instead of the preset's (a multiple of 16).
    #[arg(long)]
    pub size: Option<u32>,
    /// Training steps (each one picture of A and one of B, as in the book).
    #[arg(long, default_value_t = 5000)]
    pub steps: u64,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// Two domains of pictures, for unpaired training and its evaluation.
#[derive(Debug, Args)]
pub struct DomainFlags {
    /// Domain A: photos, videos (frames sampled) or folders of them.
    #[arg(long, num_args = 1.., required = true)]
    pub a: Vec<PathBuf>,
    /// Domain B, the same way.
    #[arg(long, num_args = 1.., required = true)]
    pub b: Vec<PathBuf>,
    /// At most this many frames of each video, evenly spaced.
    #[arg(long, default_value_t = 200)]
    pub frames_per_video: u64,
}

impl DomainFlags {
    /// How to gather both domains at `size`.
    pub fn options(&self, size: u32) -> mimic::data::imageset::ImageSetOptions {
        mimic::data::imageset::ImageSetOptions {
            size,
            frames_per_video: self.frames_per_video.max(1),
        }
    }
}

/// How every trainer runs: when it stops, where, and what it writes along the way.
#[derive(Debug, Args)]
pub struct RunFlags {
    /// Stop after this many minutes, checkpointing and exporting as usual.
    #[arg(long)]
    pub max_minutes: Option<f64>,
    #[arg(long, value_enum, default_value_t = TrainOn::Cpu)]
    pub device: TrainOn,
    /// Seed for initialisation and batch order: the same seed gives the same run on a CPU.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a preview grid and the loss plot (with the swap's validation MAE) every N steps.
    #[arg(long, default_value_t = 100)]
    pub preview_every: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: u64,
    /// Continue from the checkpoint in NAME.train/ (its models are written anew).
    #[arg(long)]
    pub resume: bool,
    /// Replace models and cards already at --out (without it, or --resume, they are kept
    /// and the run is refused before it starts).
    #[arg(long)]
    pub force: bool,
    /// The learning rate's course: constant, or linear-decay (held for the first half of the
    /// run, then down to nothing; pix2pix's default).
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleChoice>,
}

impl RunFlags {
    /// The run these flags ask for, stopping after `steps` (or the time budget), with
    /// `schedule` unless the flags name one.
    pub fn options(&self, steps: Option<u64>, schedule: Schedule) -> RunOptions {
        RunOptions {
            steps,
            max_minutes: self.max_minutes,
            seed: self.seed,
            preview_every: self.preview_every.max(1),
            checkpoint_every: self.checkpoint_every.max(1),
            resume: self.resume,
            replace: self.force,
            schedule: self.schedule.map_or(schedule, Schedule::from),
        }
    }
}
