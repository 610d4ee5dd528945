//! The flags of the commands that read pictures and videos and write data or figures:
//! `detect`, `track`, `extract`, `quantize`, `eval`.

use std::path::PathBuf;

use clap::Args;
use mimic::face::DEFAULT_IDENTITY_THRESHOLD;

use super::live::{BlendFlags, RetargetFlags, SessionFlags, SmoothFlags, SteadyFlags};
use super::train::DomainFlags;
use super::values::{Calibration, Detector};
use super::{DetectorFlag, JsonFlag};

/// Detection on photos, where time matters less than finding every face.
#[derive(Debug, Args)]
pub struct DetectionFlags {
    /// hog (dlib's, with --upsample 1: finds every annotated face in testdata), mtcnn (the
    /// book's cascade, with five points; 7 times faster, missed one face of 44) or cnn
    /// (dlib's MMOD CNN); docs/measurements.md, "Face detectors, measured".
    #[arg(long, value_enum, default_value_t = Detector::Hog)]
    pub detector: Detector,
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
    /// Replace annotated copies already there.
    #[arg(long, requires = "annotate")]
    pub force: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct TrackArgs {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// A video file or a folder of images.
    pub video: PathBuf,
    /// Run the face detector on every N-th frame; landmarks follow the face in between.
    #[arg(long, default_value_t = 4)]
    pub detect_every: u32,
    /// Detect on the frame resized by this factor (landmarks always use the full frame).
    #[arg(long, default_value_t = 1.0)]
    pub detect_scale: f32,
    /// Which face to follow, by size: 0 the largest, 1 the next, and so on.
    #[arg(long, default_value_t = 0)]
    pub face_index: usize,
    /// Report the landmarks as the live loop smooths them (for reenactment), with the jitter
    /// before and after and the lag smoothing adds.
    #[arg(long)]
    pub smooth: bool,
    #[command(flatten)]
    pub smoothing: SmoothFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct ExtractReenactArgs {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// Video of the target person (MP4, MOV, MKV, AVI, GIF or a folder of images).
    pub video: PathBuf,
    /// Folder to write the dataset into.
    #[arg(long)]
    pub out: PathBuf,
    /// Side of each frame and sketch in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Share of pairs held out for evaluation, taken from the end of the video.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f32,
    /// Times each frame is doubled before detection (talking-head faces are large: 0).
    #[arg(long, default_value_t = 0)]
    pub upsample: u32,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct ExtractFacesArgs {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// Photos, videos or folders of images.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Folder to write the face set into.
    #[arg(long)]
    pub out: PathBuf,
    /// A photo of the person to keep; without it a frame with several faces is skipped.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Face-descriptor distance within which a face is the reference person.
    #[arg(long, default_value_t = DEFAULT_IDENTITY_THRESHOLD)]
    pub threshold: f32,
    /// Side of each aligned face in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Margin around the mean-face template, as a fraction of the side.
    #[arg(long, default_value_t = 0.2)]
    pub padding: f32,
    /// Take every N-th frame of a video.
    #[arg(long, default_value_t = 1)]
    pub every: u64,
    /// Only these frames of each video, START..END (END excluded) or START.. (to keep a
    /// clip's end out of training and judge the model there: `eval swap --frames`).
    #[arg(long)]
    pub frames: Option<String>,
    /// Times each frame is doubled before detection. MTCNN's smallest face is 40 pixels
    /// (halved for each), HOG's about 80: smaller faces make poor training pictures, and at
    /// 20 pixels MTCNN took a blurred sleeve in obama.jpg for a face.
    #[arg(long, default_value_t = 0)]
    pub upsample: u32,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["edges", "gray"])))]
pub struct ExtractPairsArgs {
    /// Photos, videos or folders of them.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The input of each pair is the picture's edge map (black lines on white).
    #[arg(long)]
    pub edges: bool,
    /// The input of each pair is the picture in grey (colourisation).
    #[arg(long)]
    pub gray: bool,
    /// Folder to write DIR/a (inputs) and DIR/b (targets) into.
    #[arg(long)]
    pub out: PathBuf,
    /// Side of every picture (each is cut to its centred square).
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// At most this many frames of each video, evenly spaced.
    #[arg(long, default_value_t = 200)]
    pub frames_per_video: u64,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The float generator (ONNX, its card beside it).
    pub model: PathBuf,
    /// Frames to calibrate on, run through the live path as a camera's would be: a video,
    /// an image folder, a dataset (`extract reenact`) or a face set (`extract faces`).
    #[arg(long)]
    pub calibration: PathBuf,
    /// Where the INT8 model goes (its card beside it); default MODEL.int8.onnx.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Frames with a face to use, spread over the source; the last fifth are held out to
    /// compare the INT8 model with its parent.
    #[arg(long, default_value_t = mimic::live::int8::DEFAULT_FRAMES)]
    pub frames: usize,
    /// How activation ranges are chosen; default: both tried, the closer to the parent kept.
    #[arg(long, value_enum)]
    pub method: Option<Calibration>,
    /// Replace an INT8 model (and its card) already at --out.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct EvalReenactArgs {
    /// The reenactment model (its card and mean frame beside it).
    #[arg(long)]
    pub model: PathBuf,
    /// A video of the target person.
    #[arg(long)]
    pub video: PathBuf,
    /// Source frames to evaluate, START..END (END excluded) or START..
    #[arg(long)]
    pub frames: Option<String>,
    /// Times each frame is doubled before detection.
    #[arg(long, default_value_t = 0)]
    pub upsample: u32,
    /// Also write a PNG grid of four evaluated frames: sketch | mean frame | nearest training
    /// frame | model | real.
    #[arg(long, value_name = "OUT.png")]
    pub preview: Option<PathBuf>,
    /// Replace a preview already there.
    #[arg(long, requires = "preview")]
    pub force: bool,
    #[command(flatten)]
    pub retargeting: RetargetFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct EvalSwapArgs {
    /// The swap model (NAME_a2b.onnx, its card beside it).
    #[arg(long)]
    pub model: PathBuf,
    /// A video of the source person (A).
    #[arg(long)]
    pub video: PathBuf,
    /// Source frames to evaluate, START..END (END excluded) or START.. (the part of A's clip
    /// kept out of training with `extract faces --frames`).
    #[arg(long)]
    pub frames: Option<String>,
    /// A photo of the target person (B), or a video whose first frame shows B alone.
    #[arg(long)]
    pub target_ref: PathBuf,
    /// Also write a PNG grid of four judged frames' faces: input | swapped.
    #[arg(long, value_name = "OUT.png")]
    pub preview: Option<PathBuf>,
    /// Replace a preview already there.
    #[arg(long, requires = "preview")]
    pub force: bool,
    #[command(flatten)]
    pub blend: BlendFlags,
    #[command(flatten)]
    pub steadying: SteadyFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct EvalTranslateArgs {
    /// The model to measure (NAME_a2b.onnx; the other direction beside it gives the round
    /// trip).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub domains: DomainFlags,
    /// The domains are faces: also report whether outputs look like B's person (dlib).
    #[arg(long)]
    pub faces: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct EvalDriveArgs {
    #[command(flatten)]
    pub session: SessionFlags,
    /// A video of someone else driving the model.
    #[arg(long)]
    pub driver: PathBuf,
    /// Stop after this many driver frames.
    #[arg(long)]
    pub max_frames: Option<u64>,
    #[command(flatten)]
    pub json: JsonFlag,
}
