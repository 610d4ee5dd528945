//! Command-line flags, parsed into plain values; nothing heavy is built here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mimic::face::DetectorKind;

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
    /// Run the pipeline on the bundled portrait; needs no camera, display or network.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DetectionFlags {
    /// Which dlib detector to use.
    #[arg(long, value_enum, default_value_t = DetectorKind::Hog)]
    pub detector: DetectorKind,
    /// Times the image is doubled before detection (finds faces below ~80 px).
    #[arg(long, default_value_t = 1)]
    pub upsample: u32,
    /// Detect on the image resized by this factor (below 1 is faster).
    #[arg(long, default_value_t = 1.0)]
    pub detect_scale: f32,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Images to analyse (PNG, JPEG, BMP, GIF).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    #[command(flatten)]
    pub detection: DetectionFlags,
    /// Write a copy of the image with boxes and landmarks drawn (with several images,
    /// OUT-1.png, OUT-2.png, …).
    #[arg(long, value_name = "OUT.png")]
    pub annotate: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to write the demo's pictures into.
    #[arg(long, default_value = "demo-output")]
    pub out: PathBuf,
    #[command(flatten)]
    pub json: JsonFlag,
}
