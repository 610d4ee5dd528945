//! Command-line flags, parsed into plain values; nothing heavy is built here. Each group of
//! commands has its file, and its flags turn into the library's configurations there
//! (`live.rs`: the live loop's; `values.rs`: the choices flags take).

mod data;
mod live;
mod train;
pub mod values;

pub use data::*;
pub use live::*;
pub use train::*;

use clap::{Args, Parser, Subcommand};

use values::Detector;

#[derive(Debug, Parser)]
#[command(name = "mimic", version, about = "Real-time webcam face reenactment and face swap", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check everything mimic needs and say how to fix what is missing.
    Doctor(JsonFlag),
    /// List cameras: index, name, formats.
    Devices(JsonFlag),
    /// Find faces and their 68 landmarks in images.
    Detect(DetectArgs),
    /// The live loop with no camera: the bundled portrait drives the bundled model.
    Demo(DemoArgs),
    /// Reenact a driving video with a generator: window, recording, or both.
    Live(LiveArgs),
    /// Record your neutral face (a couple of seconds, still and frontal) for retargeting.
    Calibrate(CalibrateArgs),
    /// Per-stage and end-to-end latency of the live path on a video.
    Bench(BenchArgs),
    /// Per-frame landmarks of the main face of a video, as the live loop tracks them.
    Track(TrackArgs),
    /// An INT8 copy of a generator, calibrated on frames of the target's own data.
    Quantize(QuantizeArgs),
    /// Make training sets from videos.
    #[command(subcommand)]
    Extract(ExtractCommand),
    /// Train generators and export them to ONNX.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Measure models against real frames.
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Self-reenactment quality on frames of the target (default: the held-out frames of the
    /// training video), against the mean training frame.
    Reenact(EvalReenactArgs),
    /// Face-swap quality on frames of the source person: identity against the target's
    /// reference, expression kept.
    Swap(EvalSwapArgs),
    /// Translation quality: round trip, and how far outputs moved toward domain B.
    Translate(EvalTranslateArgs),
    /// Another person drives a reenactment model: how often the generated frames show a face,
    /// and whether it stays inside the target's usual framing.
    Drive(EvalDriveArgs),
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// pix2pix reenactment: sketch → frame of the target, on a dataset from `extract reenact`.
    Pix2pix(TrainPix2PixArgs),
    /// Face swap: the shared-encoder autoencoder, on two face sets from `extract faces`.
    Swap(TrainSwapArgs),
    /// Unpaired translation (CycleGAN, DiscoGAN, DualGAN) between two domains of pictures.
    Cyclegan(TrainCycleganArgs),
}

#[derive(Debug, Subcommand)]
pub enum ExtractCommand {
    /// Sketch/frame pairs of a target person for pix2pix reenactment.
    Reenact(ExtractReenactArgs),
    /// Aligned faces of one person (for the swap) from photos, videos and image folders.
    Faces(ExtractFacesArgs),
    /// Edge→photo or grey→colour pairs of any photos or videos, for `train pix2pix --pairs`.
    Pairs(ExtractPairsArgs),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Which face detector finds faces (and, in a video, finds them again).
#[derive(Debug, Args)]
pub struct DetectorFlag {
    /// mtcnn (the book's three-network cascade, with five points: finds the most faces at
    /// the live loop's cost), hog (dlib's; frontal faces) or cnn (dlib's MMOD CNN: seconds a
    /// photo on a CPU); docs/measurements.md, "Face detectors, measured".
    #[arg(long, value_enum, default_value_t = Detector::Mtcnn)]
    pub detector: Detector,
}
